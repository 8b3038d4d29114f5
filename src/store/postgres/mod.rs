//! The PostgreSQL store: the same audit log as [`crate::store::SqliteStore`], for several
//! stateless `serve` replicas on one database (API.md "Scale-out: PostgreSQL").
//!
//! **Driver**: `tokio-postgres` with the `deadpool-postgres` pool, rather than sqlx. Both are
//! current and maintained (tokio-postgres 0.7.18 and deadpool-postgres 0.14 are this year's
//! releases); tokio-postgres gives what this store leans on and sqlx hides or makes awkward:
//! LISTEN/NOTIFY on a connection of our own (`Connection::poll_message`), SQLSTATE codes for
//! telling a full disk from a bad row, typed array parameters for one multi-row `unnest` insert
//! per commit, and no compile-time database or macro build step. deadpool reconnects on its own:
//! a lost server costs the requests in flight (503), never a restart. **Migrations**: refinery
//! (embedded SQL files under `migrations/`), run at open under an advisory lock so replicas that
//! start together migrate once.
//!
//! **Roles**: the role in the URL owns the schema and runs the migrations; every pooled
//! connection then acts as `trailscope_app` (`-c role=trailscope_app` at connect), which may read
//! and append but holds no UPDATE or DELETE privilege. Prune and pseudonymise go through SECURITY
//! DEFINER functions that the append-only triggers let through (see the migration).
//!
//! **Appends**: one writer task per replica takes every batch queued while its previous commit
//! ran and commits them in one transaction (group commit), answering each batch after COMMIT.
//! Inside it, each tenant's head row is locked (`SELECT … FOR UPDATE`, tenants in name order so
//! replicas never deadlock): a tenant's chain and tree stay one sequence whichever replica
//! commits. The committing transaction NOTIFYs `trailscope_commits`, which every replica
//! LISTENs to and turns into [`Store::commits`]-style ticks.

mod dialect;
mod error;
mod listen;
mod maintenance;
mod proofs;
mod prune;
mod reads;
mod row;
mod snapshot;
mod store;
mod tokens;
mod verify;
mod writer;

pub use error::{db_error, pool_error};

use crate::model::{
    Appended, ChainHead, Entry, FacetField, FacetValue, Facets, NewEvent, Page, PruneReport, Query,
    Stats,
};
use crate::store::{PageRequest, StoreError};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

mod embedded {
    refinery::embed_migrations!("src/store/postgres/migrations");
}

/// The role every pooled connection acts as (created by the first migration).
pub const APP_ROLE: &str = "trailscope_app";
/// The channel every commit NOTIFYs.
const CHANNEL: &str = "trailscope_commits";
/// Pool size when the config does not say.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long one partition of `entries` is (migration V6). A property of the database, set by
/// [`PostgresStore::open_with`]; a change takes effect from the next period no partition covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionUnit {
    Month,
    Day,
}

impl PartitionUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionUnit::Month => "month",
            PartitionUnit::Day => "day",
        }
    }
}

impl std::str::FromStr for PartitionUnit {
    type Err = NotAPartitionUnit;
    fn from_str(s: &str) -> Result<Self, NotAPartitionUnit> {
        match s {
            "month" => Ok(PartitionUnit::Month),
            "day" => Ok(PartitionUnit::Day),
            _ => Err(NotAPartitionUnit(s.to_string())),
        }
    }
}

/// What `--partition` refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a partition length: month or day")]
pub struct NotAPartitionUnit(pub String);

/// A database integer (bigint) as the model's unsigned number, never by a silent `as`: a
/// negative one (only a hand-edited row has it) reads as `u64::MAX`, which verify reports.
pub(crate) fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// A count, seq or limit as a bigint; past `i64::MAX` (no log gets there) it saturates.
pub(crate) fn i<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

/// A failure inside the store that is neither the caller's input nor the database's
/// availability.
pub(crate) fn internal(why: String) -> StoreError {
    StoreError::Internal(why)
}

/// The counters `/metrics` reads.
#[derive(Default)]
pub(crate) struct Counters {
    entries: AtomicU64,
    commits: AtomicU64,
    buckets: [AtomicU64; crate::store::COMMIT_SIZE_BUCKETS.len()],
    sum: AtomicU64,
}

impl Counters {
    fn record_commit(&self, entries: u64) {
        self.entries.fetch_add(entries, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(entries, Ordering::Relaxed);
        let i = crate::store::COMMIT_SIZE_BUCKETS
            .iter()
            .position(|b| entries <= *b)
            .unwrap_or(crate::store::COMMIT_SIZE_BUCKETS.len() - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// The PostgreSQL implementation of the store.
pub struct PostgresStore {
    pool: deadpool_postgres::Pool,
    jobs: Mutex<Option<mpsc::UnboundedSender<writer::Job>>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
    commits: watch::Receiver<u64>,
    ticks: Arc<watch::Sender<u64>>,
    counters: Arc<Counters>,
    /// Why the last write failed, while the database refuses writes.
    degraded: Mutex<Option<StoreError>>,
}

/// The connection settings from a `postgres://…` URL.
fn parse_url(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    url.parse::<tokio_postgres::Config>().map_err(|e| {
        StoreError::Open(format!(
            "the database URL is not a PostgreSQL connection string: {e}"
        ))
    })
}

impl PostgresStore {
    /// Connects to the database at `url`, migrates it (once, however many replicas start at
    /// once), and starts the writer and the commit listener.
    pub async fn open(url: &str, pool_size: usize) -> Result<PostgresStore, StoreError> {
        Self::open_with(url, pool_size, None).await
    }

    /// [`PostgresStore::open`], first setting the database's partition length when `unit` is
    /// given (as the URL's role: the application's may only read it).
    pub async fn open_with(
        url: &str,
        pool_size: usize,
        unit: Option<PartitionUnit>,
    ) -> Result<PostgresStore, StoreError> {
        let config = parse_url(url)?;
        migrate(&config, unit).await?;
        let mut app = config.clone();
        let options = match config.get_options() {
            Some(o) => format!("{o} -c role={APP_ROLE}"),
            None => format!("-c role={APP_ROLE}"),
        };
        app.options(&options);
        let manager = deadpool_postgres::Manager::from_config(
            app.clone(),
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(pool_size.max(2))
            .wait_timeout(Some(std::time::Duration::from_secs(30)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Open(format!("cannot make the connection pool: {e}")))?;
        // The application's role must work before anything is handed out.
        {
            let client = pool
                .get()
                .await
                .map_err(|e| StoreError::Open(format!("cannot connect as {APP_ROLE}: {e}")))?;
            client
                .execute(
                    "SELECT trailscope_ensure_partitions($1)",
                    &[&Utc::now().timestamp_millis()],
                )
                .await
                .map_err(|e| {
                    let why = e
                        .as_db_error()
                        .map_or(e.to_string(), |d| d.message().to_string());
                    StoreError::Open(format!("cannot create the partitions: {why}"))
                })?;
        }
        let (ticks, commits) = watch::channel(0u64);
        let ticks = Arc::new(ticks);
        let (listening, heard) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(listen::run(app, ticks.clone(), listening));
        // Streams follow the feed from the moment the store is handed out: wait for the LISTEN.
        if !matches!(
            tokio::time::timeout(std::time::Duration::from_secs(10), heard).await,
            Ok(Ok(()))
        ) {
            listener.abort();
            return Err(StoreError::Open(
                "cannot LISTEN for commits within 10 s (the log names why)".into(),
            ));
        }
        let counters = Arc::new(Counters::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(writer::run(
            pool.clone(),
            rx,
            counters.clone(),
            ticks.clone(),
        ));
        Ok(PostgresStore {
            pool,
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            listener: Mutex::new(Some(listener)),
            commits,
            ticks,
            counters,
            degraded: Mutex::new(None),
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Notes how a write went, for [`PostgresStore::write_health`].
    fn note_write<T>(&self, result: &Result<T, StoreError>) {
        let mut degraded = self.degraded.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) => *degraded = None,
            Err(e) if e.is_unavailable() => {
                if degraded.is_none() {
                    tracing::error!("the database cannot write; /healthz reports degraded: {e}");
                }
                *degraded = Some(e.clone());
            }
            Err(_) => {}
        }
    }

    /// Appends a validated batch once durable (after COMMIT).
    pub async fn append(
        &self,
        tenant: &str,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Appended>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // What lets a time-bounded read skip older partitions (`dialect::RECEIVED_SLACK_MS`).
        crate::store::refuse_far_future(&events)?;
        let (reply, answer) = oneshot::channel();
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(writer::Job {
                tenant: tenant.to_string(),
                events,
                reply,
            });
        sent.map_err(|_| StoreError::Closed)?;
        let result = answer.await.map_err(|_| StoreError::Closed)?;
        self.note_write(&result);
        result
    }

    /// Whether the database takes writes, for `/healthz`. Always a round trip through the pool
    /// (bounded: an unreachable server must not hang the probe): a request that failed before
    /// it reached the writer (its token could not be looked up) never noted the outage, so the
    /// last write's outcome alone would report a stopped database as ok. After a write failed
    /// (a full disk answers `SELECT 1` happily), the probe is a write: a page-sized row into
    /// `write_probe`, rolled back. Once it goes in, writes are tried again (and a write that
    /// still fails sets this again: a page autovacuum freed can make the probe pass early).
    pub async fn write_health(&self) -> Result<(), crate::store::Degraded> {
        use crate::store::{Degraded, ProbeFailure};
        const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);
        let why = self
            .degraded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let write = why.is_some();
        let probe = tokio::time::timeout(ANSWER_WITHIN, async {
            let mut c = self.client().await?;
            if !write {
                return c
                    .simple_query("SELECT 1")
                    .await
                    .map(|_| ())
                    .map_err(db_error);
            }
            let tx = c.transaction().await.map_err(db_error)?;
            tx.execute(
                "INSERT INTO write_probe SELECT repeat(md5(random()::text), 250)",
                &[],
            )
            .await
            .map_err(db_error)?;
            tx.rollback().await.map_err(db_error)
        })
        .await
        .map_err(|_| ProbeFailure::NoAnswer(ANSWER_WITHIN))
        .and_then(|r| r.map_err(ProbeFailure::Database));
        match (probe, why) {
            (Ok(()), None) => Ok(()),
            (Ok(()), Some(_)) => {
                tracing::info!("the database takes writes again");
                *self.degraded.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Ok(())
            }
            (Err(e), None) => Err(Degraded::Probe(e)),
            (Err(e), Some(why)) => Err(Degraded::StillFailing {
                write: why,
                probe: e,
            }),
        }
    }

    pub async fn retention_days(&self, tenant: &str) -> Result<Option<u32>, StoreError> {
        let client = self.client().await?;
        let r = client
            .query_opt("SELECT days FROM retention WHERE tenant = $1", &[&tenant])
            .await
            .map_err(db_error)?;
        Ok(r.and_then(|r| u32::try_from(r.get::<_, i32>(0)).ok()))
    }

    pub async fn set_retention_days(&self, tenant: &str, days: u32) -> Result<(), StoreError> {
        let days = i32::try_from(days)
            .map_err(|_| StoreError::Invalid(format!("{days} days is too long a retention")))?;
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO retention (tenant, days) VALUES ($1, $2) \
                 ON CONFLICT (tenant) DO UPDATE SET days = EXCLUDED.days",
                &[&tenant, &days],
            )
            .await
            .map_err(db_error)?;
        Ok(())
    }

    pub async fn last_prune(&self, tenant: &str) -> Result<Option<PruneReport>, StoreError> {
        let client = self.client().await?;
        let r = client
            .query_opt(
                "SELECT report FROM chain_anchors WHERE tenant = $1",
                &[&tenant],
            )
            .await
            .map_err(db_error)?;
        Ok(r.and_then(|r| serde_json::from_str(&r.get::<_, String>(0)).ok()))
    }

    pub async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT tenant FROM chain_heads WHERE seq > 0 ORDER BY tenant",
                &[],
            )
            .await
            .map_err(db_error)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub fn metrics(&self) -> crate::store::StoreMetrics {
        let c = &self.counters;
        crate::store::StoreMetrics {
            entries: c.entries.load(Ordering::Relaxed),
            commits: c.commits.load(Ordering::Relaxed),
            commit_size_buckets: std::array::from_fn(|i| c.buckets[i].load(Ordering::Relaxed)),
            commit_size_sum: c.sum.load(Ordering::Relaxed),
            pending_index: 0,
        }
    }

    /// Lets the writer finish what is queued, then stops it and the listener.
    pub async fn close(&self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = writer {
            let _ = w.await;
        }
        if let Some(l) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            l.abort();
        }
        self.pool.close();
    }

    /// Wakes this replica's live streams now (the NOTIFY reaches them too, a moment later).
    fn tick(&self) {
        self.ticks.send_modify(|n| *n += 1);
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(l) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            l.abort();
        }
    }
}

/// Runs the embedded migrations as the URL's role, one replica at a time.
async fn migrate(
    config: &tokio_postgres::Config,
    unit: Option<PartitionUnit>,
) -> Result<(), StoreError> {
    let (mut client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| StoreError::Open(format!("cannot connect to the database: {e}")))?;
    let driver = tokio::spawn(conn);
    let result = async {
        client
            .execute(
                "SELECT pg_advisory_lock(hashtext('trailscope.migrate'))",
                &[],
            )
            .await
            .map_err(|e| StoreError::Open(format!("cannot take the migration lock: {e}")))?;
        let mut report = embedded::migrations::runner()
            .run_async(&mut client)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Open(format!("the schema could not be migrated: {e}")));
        if let (Ok(()), Some(unit)) = (&report, unit) {
            report = client
                .execute(
                    "SELECT trailscope_set_partition_unit($1)",
                    &[&unit.as_str()],
                )
                .await
                .map(|_| ())
                .map_err(|e| StoreError::Open(format!("cannot set the partition length: {e}")));
        }
        let _ = client
            .execute(
                "SELECT pg_advisory_unlock(hashtext('trailscope.migrate'))",
                &[],
            )
            .await;
        report
    }
    .await;
    drop(client);
    let _ = driver.await;
    result
}
