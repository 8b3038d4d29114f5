//! The embedded store: one SQLite file in WAL mode, a single group-committing writer thread,
//! and a small pool of read connections.
//!
//! [`SqliteDb`] is the synchronous engine (the offline cache and tools use it directly on their
//! own threads); [`SqliteStore`] is the async [`crate::store::Store`] over it: appends and
//! other writes go to the writer thread and are awaited without holding a thread, reads run on
//! tokio's blocking pool. The server never sees any of it.

mod dialect;
mod heads;
mod indexer;
pub mod local;
mod proofs;
mod prune;
mod pseudonymise;
mod reads;
mod row;
mod schema;
mod sign;
mod token_admin;
mod tree;
mod verify;
mod writer;

mod error;
mod store;

use crate::model::{
    Actor, Appended, ConsistencyProof, Entry, InclusionProof, NewEvent, Order, ProofFile,
    PruneReport, PseudonymReport, Query, SignedCheckpoint, VerifyReport,
};
use crate::proof::{SigningKey, VerifierKey};
use crate::store::{
    ArchiveSink, COMMIT_SIZE_BUCKETS, Identity, PageRequest, Role, StoreError, StoreMetrics,
};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub(crate) use error::disk_refused;
pub use local::{Durability, LocalStore};
pub use store::SqliteStore;
pub use token_admin::TokenAdmin;

/// Counters the single writer keeps; [`SqliteDb::metrics`] snapshots them.
#[derive(Debug, Default)]
pub(crate) struct WriterStats {
    entries: AtomicU64,
    commits: AtomicU64,
    commit_size_buckets: [AtomicU64; COMMIT_SIZE_BUCKETS.len()],
    commit_size_sum: AtomicU64,
    pending_index: AtomicU64,
}

impl WriterStats {
    pub(crate) fn record_commit(&self, entries: u64) {
        self.entries.fetch_add(entries, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.commit_size_sum.fetch_add(entries, Ordering::Relaxed);
        let i = COMMIT_SIZE_BUCKETS
            .iter()
            .position(|b| entries <= *b)
            .unwrap_or(COMMIT_SIZE_BUCKETS.len() - 1);
        self.commit_size_buckets[i].fetch_add(1, Ordering::Relaxed);
    }

    /// How many committed entries wait for the deferred indexes.
    pub(crate) fn record_pending(&self, entries: u64) {
        self.pending_index.store(entries, Ordering::Relaxed);
    }

    fn snapshot(&self) -> StoreMetrics {
        StoreMetrics {
            entries: self.entries.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            commit_size_buckets: std::array::from_fn(|i| {
                self.commit_size_buckets[i].load(Ordering::Relaxed)
            }),
            commit_size_sum: self.commit_size_sum.load(Ordering::Relaxed),
            pending_index: self.pending_index.load(Ordering::Relaxed),
        }
    }
}

/// Idle read connections kept for reuse.
const READ_POOL: usize = 8;

/// The synchronous SQLite engine: every call blocks its thread until the database answers.
/// [`SqliteStore`] is the async [`crate::store::Store`] over it.
pub struct SqliteDb {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    jobs: Mutex<Option<Sender<writer::Work>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    checkpointer: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
    stats: Arc<WriterStats>,
    commits: tokio::sync::watch::Receiver<u64>,
    /// Why the last write failed, while the disk refuses writes, and when it was last probed;
    /// cleared by the next commit or a probe that writes.
    degraded: Mutex<Option<(StoreError, Option<std::time::Instant>)>>,
}

/// Opens a connection with this store's settings and functions, creating the schema if needed.
pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn =
        Connection::open(path).map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    schema::configure(&conn)?;
    schema::migrate(&conn)?;
    dialect::register_functions(&conn)?;
    Ok(conn)
}

/// The writer's answer to one piece of work, to wait for or await.
type Answer<T> = tokio::sync::oneshot::Receiver<Result<T, StoreError>>;

impl SqliteDb {
    /// Hands work to the writer thread; its answer comes on the returned receiver.
    fn send_work<T>(
        &self,
        job: impl FnOnce(writer::Reply<T>) -> writer::Work,
    ) -> Result<Answer<T>, StoreError> {
        let sender = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(StoreError::Closed)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        sender.send(job(reply)).map_err(|_| StoreError::Closed)?;
        Ok(answer)
    }

    /// Hands work to the writer thread and blocks until it answers. Not for async contexts:
    /// [`SqliteStore`] awaits the answer instead.
    fn submit<T>(
        &self,
        job: impl FnOnce(writer::Reply<T>) -> writer::Work,
    ) -> Result<T, StoreError> {
        self.send_work(job)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on the write connection, between the writer's commits: the store's own small
    /// writes (retention, tokens) never become a second writer.
    fn on_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<Answer<T>, StoreError> {
        self.send_work(|reply: writer::Reply<T>| {
            writer::Work::Run(Box::new(move |conn| {
                let _ = reply.send(f(conn));
            }))
        })
    }

    /// Opens (or creates) the database at `path` and starts its writer thread.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteDb, StoreError> {
        SqliteDb::open_as(path.as_ref(), true)
    }

    /// Opens the database without taking over its upkeep: this engine's writer neither
    /// refreshes the planner's statistics nor truncates the WAL when it closes. For a short
    /// command beside the server that owns the file (`trailscope token …`), and for the local
    /// cache, whose own write connection does both (a second writer running ANALYZE raced its
    /// inserts into "database is locked").
    pub fn open_beside(path: impl AsRef<Path>) -> Result<SqliteDb, StoreError> {
        SqliteDb::open_as(path.as_ref(), false)
    }

    fn open_as(path: &Path, owner: bool) -> Result<SqliteDb, StoreError> {
        let path = path.to_path_buf();
        let conn = connect(&path)?;
        // The writer never stops to copy the WAL back: a separate thread does, so a commit
        // waits only for its own fsync. The large limit is a backstop should that thread lag.
        // secure_delete: what pseudonymisation overwrites or prune removes is zeroed in the
        // file, not left in free pages.
        conn.execute_batch(
            "PRAGMA wal_autocheckpoint=20000; PRAGMA cache_size=-262144; PRAGMA secure_delete=ON;",
        )?;
        let checkpointer = spawn_checkpointer(connect(&path)?)?;
        let stats = Arc::new(WriterStats::default());
        let (tx, rx) = mpsc::channel();
        let writer_stats = stats.clone();
        let (committed, commits) = tokio::sync::watch::channel(0u64);
        let (ready, loaded) = mpsc::sync_channel(1);
        let handle = std::thread::Builder::new()
            .name("trailscope-writer".into())
            .spawn(move || writer::run(conn, rx, writer_stats, committed, ready, owner))
            .map_err(|e| StoreError::Open(format!("cannot start the writer thread: {e}")))?;
        loaded
            .recv()
            .map_err(|_| StoreError::Open("the writer thread stopped while starting".into()))?;
        Ok(SqliteDb {
            path,
            readers: Mutex::new(Vec::new()),
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            checkpointer: Mutex::new(Some(checkpointer)),
            stats,
            commits,
            degraded: Mutex::new(None),
        })
    }

    /// Notes how a write went, for [`SqliteDb::write_health`].
    fn note_write<T>(&self, result: &Result<T, StoreError>) {
        let mut degraded = self.degraded.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) => *degraded = None,
            Err(e) if e.is_unavailable() => {
                if degraded.is_none() {
                    tracing::error!("the database cannot write; /healthz reports degraded: {e}");
                }
                *degraded = Some((e.clone(), None));
            }
            Err(_) => {}
        }
    }

    /// Whether the database's directory takes a write again: a file as large as a commit of a
    /// few pages, written, synced and removed. Enough to end the degraded state once space is
    /// freed; should SQLite still fail, its next write says so again.
    fn probe_write(&self) -> std::io::Result<()> {
        use std::io::Write;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let probe = dir.join(format!(
            ".{}.write-probe",
            self.path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("db")
        ));
        let written = std::fs::File::create(&probe).and_then(|mut f| {
            f.write_all(&[0u8; 64 * 1024])?;
            f.sync_all()
        });
        let _ = std::fs::remove_file(&probe);
        written?;
        // The database itself must still be there and writable.
        std::fs::OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < READ_POOL {
            pool.push(conn);
        }
        out
    }
}

impl SqliteDb {
    /// Appends a validated batch; see [`crate::store::Store::append`].
    pub fn append(&self, tenant: &str, events: Vec<NewEvent>) -> Result<Vec<Appended>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let result = self.submit(|reply| {
            writer::Work::Append(writer::Job {
                tenant: tenant.to_string(),
                events,
                reply,
            })
        });
        self.note_write(&result);
        result
    }

    /// Whether a health probe is due at all: false while writes work (the common case, no I/O).
    fn degraded(&self) -> bool {
        self.degraded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    pub fn write_health(&self) -> Result<(), crate::store::Degraded> {
        use crate::store::{Degraded, ProbeFailure};
        // At most one probe a second, however often an unauthenticated /healthz is asked.
        const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
        let why = {
            let mut degraded = self.degraded.lock().unwrap_or_else(|p| p.into_inner());
            let Some((why, probed)) = degraded.as_mut() else {
                return Ok(());
            };
            if probed.is_some_and(|at| at.elapsed() < PROBE_EVERY) {
                return Err(Degraded::Write(why.clone()));
            }
            *probed = Some(std::time::Instant::now());
            why.clone()
        };
        match self.probe_write() {
            Ok(()) => {
                tracing::info!("the database's disk takes writes again");
                *self.degraded.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Ok(())
            }
            Err(e) => Err(Degraded::StillFailing {
                write: why,
                probe: ProbeFailure::Disk(std::sync::Arc::new(e)),
            }),
        }
    }

    pub fn retention_days(&self, tenant: &str) -> Result<Option<u32>, StoreError> {
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached("SELECT days FROM retention WHERE tenant = ?1")?
                .query_row([tenant], |r| r.get::<_, u32>(0))
                .optional()?)
        })
    }

    pub fn set_retention_days(&self, tenant: &str, days: u32) -> Result<(), StoreError> {
        self.set_retention_days_answer(tenant, days)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    fn set_retention_days_answer(&self, tenant: &str, days: u32) -> Result<Answer<()>, StoreError> {
        let tenant = tenant.to_string();
        self.on_writer(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO retention (tenant, days) VALUES (?1, ?2)",
                params![tenant, days],
            )?;
            Ok(())
        })
    }

    pub fn last_prune(&self, tenant: &str) -> Result<Option<PruneReport>, StoreError> {
        self.with_reader(|conn| {
            let report: Option<String> = conn
                .prepare_cached("SELECT report FROM chain_anchors WHERE tenant = ?1")?
                .query_row([tenant], |r| r.get(0))
                .optional()?;
            Ok(report.and_then(|r| serde_json::from_str(&r).ok()))
        })
    }

    pub fn prune(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        archive: Option<Arc<dyn ArchiveSink>>,
    ) -> Result<PruneReport, StoreError> {
        self.prune_answer(tenant, cutoff, archive)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    fn prune_answer(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        archive: Option<Arc<dyn ArchiveSink>>,
    ) -> Result<Answer<PruneReport>, StoreError> {
        self.send_work(|reply| {
            writer::Work::Prune(prune::PruneJob {
                tenant: tenant.to_string(),
                cutoff,
                archive,
                reply,
            })
        })
    }

    pub fn pseudonymise(
        &self,
        tenant: &str,
        who: &Identity,
        requested_by: &Actor,
    ) -> Result<PseudonymReport, StoreError> {
        self.pseudonymise_answer(tenant, who, requested_by)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    fn pseudonymise_answer(
        &self,
        tenant: &str,
        who: &Identity,
        requested_by: &Actor,
    ) -> Result<Answer<PseudonymReport>, StoreError> {
        self.send_work(|reply| {
            writer::Work::Pseudonymise(pseudonymise::PseudonymiseJob {
                tenant: tenant.to_string(),
                who: who.clone(),
                requested_by: requested_by.clone(),
                reply,
            })
        })
    }

    /// What the writer counted since the store opened.
    pub fn metrics(&self) -> StoreMetrics {
        self.stats.snapshot()
    }

    /// Every entry matching `query`, a keyset page of [`crate::store::SCAN_PAGE`] at a time,
    /// handed to `sink` until it returns false; returns how many `sink` took.
    pub fn scan(
        &self,
        tenant: &str,
        query: &Query,
        order: Order,
        now: DateTime<Utc>,
        sink: &mut dyn FnMut(Entry) -> bool,
    ) -> Result<u64, StoreError> {
        let mut req = PageRequest::scan(order);
        let mut taken = 0;
        loop {
            let page = self.page(tenant, query, &req, now)?;
            match req.hand_over(page, sink, &mut taken) {
                Some(next) => req = next,
                None => return Ok(taken),
            }
        }
    }

    pub fn close(&self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((stop, h)) = self
            .checkpointer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            drop(stop);
            let _ = h.join();
        }
        if let Some(h) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        self.close();
    }
}

/// Copies committed WAL frames back into the database every half second (PASSIVE: it never
/// blocks the writer or readers). Stops when the returned sender is dropped.
fn spawn_checkpointer(conn: Connection) -> Result<(Sender<()>, JoinHandle<()>), StoreError> {
    let (stop, stopped) = mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("trailscope-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(std::time::Duration::from_millis(500))
            {
                if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!("checkpoint failed (will retry): {e}");
                }
            }
        })
        .map_err(|e| StoreError::Open(format!("cannot start the checkpoint thread: {e}")))?;
    Ok((stop, handle))
}

/// Parses a stored role.
fn parse_role(s: &str) -> rusqlite::Result<Role> {
    Role::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown role {s}").into(),
        )
    })
}

/// Adds `tally` to the rollups and empties it: what every writer of entries does in the
/// transaction that writes them (the server's writer, the local cache).
fn write_counts(
    tx: &rusqlite::Connection,
    tally: &mut crate::store::rollup::Tally,
) -> rusqlite::Result<()> {
    let mut add = tx.prepare_cached(crate::store::rollup::UPSERT)?;
    for (c, n) in tally.drain() {
        add.execute(rusqlite::params![
            c.tenant,
            c.width,
            c.slot,
            c.channel,
            c.kind,
            c.outcome,
            c.action,
            c.target_type,
            n
        ])?;
    }
    Ok(())
}
