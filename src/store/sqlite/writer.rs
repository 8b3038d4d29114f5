//! The single writer: assigns `seq`, chains hashes, and commits many waiting batches in one
//! durable transaction (group commit). A batch is acknowledged only after its commit.

use super::WriterStats;
use super::row;
use super::tree::{self, TreeState};
use crate::model::{Appended, NewEvent, from_millis};
use crate::store::StoreError;
use crate::store::chain::{GENESIS, seal};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

/// Where the writer sends a job's answer: the async side awaits it without holding a thread.
pub type Reply<T> = tokio::sync::oneshot::Sender<Result<T, StoreError>>;

/// The most entries one transaction takes before it commits and the rest wait for the next.
const MAX_ENTRIES_PER_COMMIT: usize = 50_000;
/// How often the planner's statistics are refreshed (and once at start).
const ANALYZE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Refreshes the planner's statistics, sampled (milliseconds on a large log). Without them
/// SQLite may walk a whole index for a filter on a column that holds one value everywhere
/// (every target a ticket) — seconds instead of a millisecond. It writes `sqlite_stat1`, so it
/// runs here, on the one write connection, between commits: never a lock against the writer.
fn refresh_statistics(conn: &Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002;") {
        tracing::warn!("refreshing the planner's statistics failed: {e}");
    }
}

/// One batch waiting to be written, and where to send its result.
pub struct Job {
    pub tenant: String,
    pub events: Vec<NewEvent>,
    pub reply: Reply<Vec<Appended>>,
}

/// What the writer thread is asked to do. Maintenance runs alone, between append groups.
pub enum Work {
    Append(Job),
    Prune(super::prune::PruneJob),
    Pseudonymise(super::pseudonymise::PseudonymiseJob),
    Checkpoint(Box<tree::CheckpointJob>),
    /// A small write of the store's own settings (retention, tokens): on the one write
    /// connection, so there is never a second writer to lock against. The closure answers.
    Run(Box<dyn FnOnce(&Connection) + Send>),
}

#[derive(Clone)]
pub(super) struct Head {
    seq: u64,
    hash: String,
    received_ms: i64,
    tree: TreeState,
}

impl Head {
    fn genesis() -> Head {
        Head {
            seq: 0,
            hash: GENESIS.into(),
            received_ms: 0,
            tree: TreeState::new(),
        }
    }
}

/// What the writer keeps between commits.
pub(super) struct Writer {
    heads: HashMap<String, Head>,
    /// Tenants whose tree could not be loaded (the database was changed behind the server's
    /// back): their appends are refused with this reason rather than growing a wrong tree.
    broken: HashMap<String, String>,
    known_actions: HashSet<(String, String)>,
    ulids: ulid::Generator,
    /// Salts come from a CSPRNG seeded once by the OS: a system call per personal field would
    /// cost more than the insert itself.
    rng: StdRng,
}

/// Owns the write connection; runs until every sender is dropped and the queue is drained.
/// A failed maintenance transaction rolled back: the writer's cached chain heads may be ahead
/// of the database, so they are read again.
fn after_maintenance<T>(
    w: &mut Writer,
    conn: &Connection,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    if result.is_err() {
        w.reload(conn);
    }
    result
}

pub fn run(
    mut conn: Connection,
    rx: Receiver<Work>,
    stats: Arc<WriterStats>,
    committed: tokio::sync::watch::Sender<u64>,
    ready: SyncSender<()>,
    owner: bool,
) {
    // Live streams look again after every commit; a watch holds one number, so the writer never
    // waits on, or queues for, a reader however slow it is.
    let signal = || committed.send_modify(|n| *n += 1);
    let started = std::time::Instant::now();
    let loaded = load_state(&conn);
    // The store is handed out only once the tree of what is already there exists: a read
    // before that would see a database with entries and no tree, i.e. a tampered one.
    let _ = ready.send(());
    let heads = match loaded {
        Ok((h, broken, built)) => {
            if built > 0 {
                tracing::info!(
                    leaves = built,
                    seconds = started.elapsed().as_secs_f64(),
                    "built the Merkle tree of the entries already in the database"
                );
            }
            (h, broken)
        }
        Err(e) => {
            tracing::error!("cannot read the chain heads, refusing writes: {e}");
            let refuse = || StoreError::Internal(format!("the chain heads cannot be read: {e}"));
            for work in rx {
                match work {
                    Work::Append(job) => drop(job.reply.send(Err(refuse()))),
                    Work::Prune(job) => drop(job.reply.send(Err(refuse()))),
                    Work::Pseudonymise(job) => drop(job.reply.send(Err(refuse()))),
                    Work::Checkpoint(job) => drop(job.reply.send(Err(refuse()))),
                    // Settings do not depend on the chain.
                    Work::Run(f) => f(&conn),
                }
            }
            return;
        }
    };
    let (heads, broken) = heads;
    let mut w = Writer {
        heads,
        broken,
        known_actions: HashSet::new(),
        ulids: ulid::Generator::new(),
        rng: StdRng::from_os_rng(),
    };
    let mut pending: Option<Work> = None;
    if owner {
        refresh_statistics(&conn);
    }
    let mut analyzed = std::time::Instant::now();
    loop {
        if owner && analyzed.elapsed() >= ANALYZE_EVERY {
            refresh_statistics(&conn);
            analyzed = std::time::Instant::now();
        }
        let first = match pending.take() {
            Some(work) => work,
            None => match rx.recv() {
                Ok(work) => work,
                Err(_) => break,
            },
        };
        let first = match first {
            Work::Prune(job) => {
                let result = super::prune::run(&mut w, &mut conn, &job);
                let _ = job.reply.send(after_maintenance(&mut w, &conn, result));
                signal();
                continue;
            }
            Work::Pseudonymise(job) => {
                let result = super::pseudonymise::run(&mut w, &mut conn, &job);
                let _ = job.reply.send(after_maintenance(&mut w, &conn, result));
                signal();
                continue;
            }
            Work::Checkpoint(job) => {
                let signed = tree::checkpoint(&w, &conn, &job);
                let _ = job.reply.send(signed);
                continue;
            }
            Work::Run(f) => {
                f(&conn);
                continue;
            }
            Work::Append(job) => job,
        };
        let mut jobs = vec![first];
        let mut n = jobs[0].events.len();
        while n < MAX_ENTRIES_PER_COMMIT {
            match rx.try_recv() {
                Ok(Work::Append(job)) => {
                    n += job.events.len();
                    jobs.push(job);
                }
                Ok(other) => {
                    pending = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        match w.commit_group(&mut conn, &jobs) {
            Ok((results, appended)) => {
                stats.record_commit(appended);
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
                if appended > 0 {
                    signal();
                }
            }
            Err(e) => {
                tracing::error!("commit failed; {} batches are refused: {e}", jobs.len());
                let refusal = match StoreError::from(e) {
                    e @ StoreError::Unavailable { .. } => e,
                    other => {
                        StoreError::Internal(format!("the batch could not be committed: {other}"))
                    }
                };
                w.reload(&conn);
                for job in jobs {
                    let _ = job.reply.send(Err(refusal.clone()));
                }
            }
        }
    }
    // Fold the WAL back so the file is complete on its own after a clean shutdown.
    // Only the file's owner: TRUNCATE holds off other writers while it waits for readers, and a
    // short command beside a running server must not do that to it.
    if owner {
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    }
}

type GroupResult = (Vec<Result<Vec<Appended>, StoreError>>, u64);

impl Writer {
    /// Rereads the heads after a failed commit: they advanced in memory for work that never
    /// became durable.
    pub(super) fn reload(&mut self, conn: &Connection) {
        match load_state(conn) {
            Ok((heads, broken, _)) => {
                self.heads = heads;
                self.broken = broken;
            }
            Err(e) => {
                // Nothing can be appended safely until the state can be read again.
                tracing::error!("cannot reread the chain heads: {e}");
                for t in self.heads.keys() {
                    self.broken.insert(t.clone(), e.to_string());
                }
            }
        }
        self.known_actions.clear();
    }

    /// The tenant's tree as the writer holds it.
    pub(super) fn tree(&self, tenant: &str) -> Option<&TreeState> {
        self.heads.get(tenant).map(|h| &h.tree)
    }

    /// Appends `events` inside the caller's transaction and records the new head: for entries
    /// the store writes itself (a prune's record of itself).
    pub(super) fn append_within(
        &mut self,
        tx: &Connection,
        tenant: &str,
        events: &[NewEvent],
    ) -> rusqlite::Result<Vec<Appended>> {
        let head = self
            .heads
            .get(tenant)
            .cloned()
            .unwrap_or_else(Head::genesis);
        let (out, head, _) = self.apply(
            tx,
            tenant,
            events,
            head,
            chrono::Utc::now().timestamp_millis(),
        )?;
        tx.prepare_cached("INSERT OR REPLACE INTO chain_heads (tenant, seq, hash, received_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![tenant, head.seq, head.hash, head.received_ms])?;
        self.heads.insert(tenant.to_string(), head);
        Ok(out)
    }

    /// Writes every job in one transaction, each inside its own savepoint so a failing batch
    /// leaves no trace while the others commit.
    fn commit_group(
        &mut self,
        conn: &mut Connection,
        jobs: &[Job],
    ) -> rusqlite::Result<GroupResult> {
        let mut results = Vec::with_capacity(jobs.len());
        let mut appended = 0u64;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut tx = conn.transaction()?;
        for job in jobs {
            let head = self
                .heads
                .get(&job.tenant)
                .cloned()
                .unwrap_or_else(Head::genesis);
            let sp = tx.savepoint()?;
            match self.apply(&sp, &job.tenant, &job.events, head, now_ms) {
                Ok((out, head, n)) => {
                    sp.commit()?;
                    self.heads.insert(job.tenant.clone(), head);
                    appended += n;
                    results.push(Ok(out));
                }
                // A full or read-only disk may have rolled the whole transaction back: the
                // group as a whole is refused, never committed piecemeal behind its back.
                Err(e) if super::disk_refused(&e) => return Err(e),
                Err(e) => {
                    drop(sp); // rolls the savepoint back
                    results.push(Err(StoreError::from(e)));
                }
            }
        }
        let touched: HashSet<&str> = jobs.iter().map(|j| j.tenant.as_str()).collect();
        {
            let mut put = tx.prepare_cached("INSERT OR REPLACE INTO chain_heads (tenant, seq, hash, received_at) VALUES (?1, ?2, ?3, ?4)")?;
            for t in touched {
                if let Some(h) = self.heads.get(t) {
                    put.execute(params![t, h.seq, h.hash, h.received_ms])?;
                }
            }
        }
        tx.commit()?;
        Ok((results, appended))
    }

    /// Appends one batch: assigns seq, id and received_at, chains the hashes, inserts.
    fn apply(
        &mut self,
        tx: &Connection,
        tenant: &str,
        events: &[NewEvent],
        mut head: Head,
        now_ms: i64,
    ) -> rusqlite::Result<(Vec<Appended>, Head, u64)> {
        let mut out = Vec::with_capacity(events.len());
        let mut in_batch: HashMap<&str, Appended> = HashMap::new();
        let mut insert = tx.prepare_cached(row::INSERT)?;
        let mut find_key = tx.prepare_cached(
            "SELECT id, seq, hash FROM entries WHERE tenant = ?1 AND idempotency_key = ?2",
        )?;
        let mut add_action =
            tx.prepare_cached("INSERT OR IGNORE INTO actions (tenant, action) VALUES (?1, ?2)")?;
        let mut index_text =
            tx.prepare_cached("INSERT INTO entries_fts (rowid, text) VALUES (?1, ?2)")?;
        if let Some(why) = self.broken.get(tenant) {
            return Err(refused(format!(
                "the log of tenant {tenant} takes no entries until it is repaired: {why}"
            )));
        }
        let mut add_leaf =
            tx.prepare_cached("INSERT INTO tree_rows (tenant, leaf, hashes) VALUES (?1, ?2, ?3)")?;
        if head.tree.frontier.size() == 0 {
            tx.prepare_cached("INSERT OR IGNORE INTO trees (tenant, first_seq) VALUES (?1, ?2)")?
                .execute(params![tenant, head.tree.first_seq])?;
        }
        let mut n = 0;
        for ev in events {
            if let Some(key) = ev.idempotency_key.as_deref() {
                if let Some(a) = in_batch.get(key) {
                    out.push(Appended {
                        existing: true,
                        ..a.clone()
                    });
                    continue;
                }
                let found = find_key
                    .query_row(params![tenant, key], |r| {
                        Ok(Appended {
                            id: r.get(0)?,
                            seq: r.get::<_, u64>(1)?,
                            hash: r.get(2)?,
                            existing: true,
                        })
                    })
                    .optional()?;
                if let Some(a) = found {
                    out.push(a);
                    continue;
                }
            }
            // received_at never goes backwards within a tenant, even if the clock does: prune
            // relies on it rising with seq.
            let received_ms = now_ms.max(head.received_ms);
            let received_at = from_millis(received_ms);
            let (entry, commitments) = seal(
                ev,
                tenant,
                head.seq + 1,
                &head.hash,
                received_at,
                &mut self.ulids,
                &mut self.rng,
            );
            // The tree grows in the same transaction: leaf `seq - first_seq`.
            let leaf = head.tree.frontier.size();
            if entry.seq != head.tree.first_seq + leaf {
                return Err(refused(format!(
                    "the tree of tenant {tenant} is out of step with its chain (leaf {leaf} for seq {}); run verify",
                    entry.seq
                )));
            }
            let bytes =
                tree::hash_bytes(&entry.hash).expect("the writer's own hash is 64 hex digits");
            let row = head.tree.frontier.push(&bytes);
            add_leaf.execute(params![tenant, leaf, tree::row_blob(&row)])?;
            insert.execute(rusqlite::params_from_iter(row::to_params(
                &entry,
                &commitments,
            )))?;
            index_text.execute(params![tx.last_insert_rowid(), row::search_text(&entry)])?;
            if self
                .known_actions
                .insert((tenant.to_string(), entry.action.clone()))
            {
                add_action.execute(params![tenant, entry.action])?;
            }
            let appended = Appended {
                id: entry.id,
                seq: entry.seq,
                hash: entry.hash,
                existing: false,
            };
            if let Some(key) = ev.idempotency_key.as_deref() {
                in_batch.insert(key, appended.clone());
            }
            head.seq = appended.seq;
            head.hash = appended.hash.clone();
            head.received_ms = received_ms;
            out.push(appended);
            n += 1;
        }
        Ok((out, head, n))
    }
}

/// A refusal inside a transaction, as the error type the statements use.
fn refused(why: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(why.into())
}

type State = (HashMap<String, Head>, HashMap<String, String>, u64);

/// The chain heads and each tenant's tree, building the trees a database from before them lacks
/// (in one transaction). A tenant whose tree cannot be loaded is listed with the reason.
fn load_state(conn: &Connection) -> Result<State, crate::store::StoreError> {
    let mut heads = load_heads(conn)?;
    let mut broken = HashMap::new();
    let tx = conn.unchecked_transaction()?;
    let mut built = 0;
    for (tenant, head) in heads.iter_mut() {
        match tree::load_or_build(&tx, tenant, head.seq) {
            Ok((state, n)) => {
                head.tree = state;
                built += n;
            }
            Err(e) => {
                tracing::error!("{e}");
                broken.insert(tenant.clone(), e.to_string());
            }
        }
    }
    tx.commit()?;
    Ok((heads, broken, built))
}

fn load_heads(conn: &Connection) -> rusqlite::Result<HashMap<String, Head>> {
    let mut stmt = conn.prepare("SELECT tenant, seq, hash, received_at FROM chain_heads")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Head {
                seq: r.get::<_, u64>(1)?,
                hash: r.get(2)?,
                received_ms: r.get(3)?,
                tree: TreeState::new(),
            },
        ))
    })?;
    rows.collect()
}
