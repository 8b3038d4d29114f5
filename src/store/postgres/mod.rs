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

mod error;
mod listen;
mod maintenance;
mod proofs;
mod row;
mod sql;
mod tokens;
mod verify;
mod writer;

pub use error::{db_error, pool_error};

use crate::model::{
    Appended, ChainHead, Cursor, Entry, FacetField, FacetValue, Facets, NewEvent, Page,
    PruneReport, Query, Stats, StatsBucket, from_millis,
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
    degraded: Mutex<Option<String>>,
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
        let config = parse_url(url)?;
        migrate(&config).await?;
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
                .map_err(|e| StoreError::Open(format!("cannot create the partitions: {e}")))?;
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
                *degraded = Some(e.to_string());
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
    pub async fn write_health(&self) -> Result<(), String> {
        let why = self
            .degraded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let write = why.is_some();
        let probe = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            let mut c = self.client().await.map_err(|e| e.to_string())?;
            if !write {
                return c
                    .simple_query("SELECT 1")
                    .await
                    .map(|_| ())
                    .map_err(|e| db_error(e).to_string());
            }
            let tx = c.transaction().await.map_err(|e| db_error(e).to_string())?;
            tx.execute(
                "INSERT INTO write_probe SELECT repeat(md5(random()::text), 250)",
                &[],
            )
            .await
            .map_err(|e| db_error(e).to_string())?;
            tx.rollback().await.map_err(|e| db_error(e).to_string())
        })
        .await
        .unwrap_or_else(|_| Err("the database did not answer within 5 s".to_string()));
        match (probe, why) {
            (Ok(()), None) => Ok(()),
            (Ok(()), Some(_)) => {
                tracing::info!("the database takes writes again");
                *self.degraded.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Ok(())
            }
            (Err(e), None) => Err(e),
            (Err(e), Some(why)) => Err(format!("{why}; {e}")),
        }
    }

    pub async fn page(
        &self,
        tenant: &str,
        query: &Query,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError> {
        let mut client = self.client().await?;
        let filter = sql::Filter::new(&client, tenant, query, now).await?;
        let probe = PageRequest {
            limit: page.limit + 1,
            ..*page
        };
        let rows = match filter.text_walk_sql(&probe) {
            None => {
                let (q, params) = filter.page_sql(&probe);
                read_page(&mut client, &q, &params, true).await?
            }
            Some((walk, walk_params)) => {
                let rows = read_page(&mut client, &walk, &walk_params, true).await?;
                if rows.len() == probe.limit {
                    rows
                } else {
                    // A word too rare to fill the page from the newest rows: the trigram index
                    // (a bitmap scan of its few candidates and a sort is right here).
                    let (q, params) = filter.text_index_page_sql(&probe);
                    read_page(&mut client, &q, &params, false).await?
                }
            }
        };
        let mut entries = rows.iter().map(row::entry).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if entries.len() > page.limit {
            entries.truncate(page.limit);
            entries.last().map(|e| {
                Cursor {
                    occurred_at_ms: e.occurred_at.timestamp_millis(),
                    seq: e.seq,
                    order: page.order,
                }
                .encode()
            })
        } else {
            None
        };
        Ok(Page {
            entries,
            next_cursor,
        })
    }

    pub async fn after_seq(
        &self,
        tenant: &str,
        query: &Query,
        after_seq: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Entry>, StoreError> {
        let client = self.client().await?;
        let filter = sql::Filter::new(&client, tenant, query, now).await?;
        let (q, params) = filter.after_seq_sql(after_seq, limit);
        let rows = client
            .query(&q, &sql::refs(&params))
            .await
            .map_err(db_error)?;
        rows.iter().map(row::entry).collect()
    }

    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.clone()
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        let client = self.client().await?;
        let q = format!(
            "SELECT {} FROM entries WHERE id = $1 AND tenant = $2",
            row::COLUMNS
        );
        let r = client
            .query_opt(&q, &[&row::enc(id).as_ref(), &tenant])
            .await
            .map_err(db_error)?;
        r.as_ref().map(row::entry).transpose()
    }

    pub async fn get_seq(&self, tenant: &str, seq: u64) -> Result<Option<Entry>, StoreError> {
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let q = format!(
            "SELECT {} FROM entries WHERE tenant = $1 AND seq = $2",
            row::COLUMNS
        );
        let r = client
            .query_opt(&q, &[&tenant, &seq])
            .await
            .map_err(db_error)?;
        r.as_ref().map(row::entry).transpose()
    }

    pub async fn facets(
        &self,
        tenant: &str,
        field: FacetField,
        query: &Query,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Facets, StoreError> {
        let client = self.client().await?;
        let filter = sql::Filter::new(&client, tenant, &query.without(field), now).await?;
        let (w, mut params) = filter.where_all();
        let (col, label) = sql::facet_columns(field);
        params.push(sql::Value::Int(i(limit)));
        let q = sql::numbered(&format!(
            "SELECT {col} AS v, count(*) AS c, {label} FROM entries WHERE {w} AND {col} IS NOT NULL \
             GROUP BY v ORDER BY c DESC, v LIMIT ?"
        ));
        let rows = client
            .query(&q, &sql::refs(&params))
            .await
            .map_err(db_error)?;
        let values = rows
            .iter()
            .map(|r| FacetValue {
                value: row::dec(r.get(0)),
                count: u(r.get(1)),
                label: r.get::<_, Option<String>>(2).map(row::dec),
            })
            .collect();
        Ok(Facets { field, values })
    }

    pub async fn stats(
        &self,
        tenant: &str,
        query: &Query,
        buckets: usize,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        let client = self.client().await?;
        let filter = sql::Filter::new(&client, tenant, query, now).await?;
        let (w, params) = filter.where_all();
        let q = sql::numbered(&format!(
            "SELECT count(*), min(occurred_at), max(occurred_at) FROM entries WHERE {w}"
        ));
        let r = client
            .query_one(&q, &sql::refs(&params))
            .await
            .map_err(db_error)?;
        let (total, min, max): (i64, Option<i64>, Option<i64>) = (r.get(0), r.get(1), r.get(2));
        let (qfrom, qto) = query.range_millis(now);
        let from = qfrom.or(min);
        let to = qto.or(if qfrom.is_some() {
            Some(now.timestamp_millis())
        } else {
            max
        });
        let (Some(from), Some(to)) = (from, to) else {
            return Ok(Stats {
                total: u(total),
                from: None,
                to: None,
                bucket_seconds: 0,
                buckets: vec![],
            });
        };
        let to = to.max(from);
        let width = crate::store::sqlite::bucket_seconds(to - from, buckets);
        let width_ms = i(width.saturating_mul(1000));
        let start = from - from.rem_euclid(width_ms);
        let n = usize::try_from((((to - start) / width_ms) + 1).clamp(1, 10_000)).unwrap_or(1);
        let mut counts = vec![0u64; n];
        if total > 0 {
            let mut p = vec![sql::Value::Int(start), sql::Value::Int(width_ms)];
            p.extend(params);
            let q = sql::numbered(&format!(
                "SELECT (occurred_at - ?) / ? AS bucket, count(*) FROM entries WHERE {w} GROUP BY bucket"
            ));
            let rows = client.query(&q, &sql::refs(&p)).await.map_err(db_error)?;
            for r in rows {
                let (b, c): (i64, i64) = (r.get(0), r.get(1));
                if let Some(slot) = usize::try_from(b).ok().and_then(|b| counts.get_mut(b)) {
                    *slot += u(c);
                }
            }
        }
        let buckets = counts
            .into_iter()
            .enumerate()
            .map(|(n, count)| StatsBucket {
                start: from_millis(start + i(n) * width_ms),
                count,
            })
            .collect();
        Ok(Stats {
            total: u(total),
            from: Some(from_millis(from)),
            to: Some(from_millis(to)),
            bucket_seconds: width,
            buckets,
        })
    }

    pub async fn head_at(
        &self,
        tenant: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let at = at.map_or(i64::MAX, |t| t.timestamp_millis());
        let client = self.client().await?;
        let r = client
            .query_opt(
                "SELECT seq, hash FROM entries WHERE tenant = $1 AND received_at <= $2 ORDER BY seq DESC LIMIT 1",
                &[&tenant, &at],
            )
            .await
            .map_err(db_error)?;
        Ok(r.map(|r| ChainHead {
            seq: u(r.get(0)),
            hash: r.get(1),
        }))
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

/// Runs a page query in a read-only transaction of its own settings. JIT is off: a page is a
/// millisecond query, and compiling it took a second once its estimated cost passed
/// `jit_above_cost`. With `walk`, the query runs as the ordered index walk it was written for:
/// every filter has an index ending in the keyset (occurred_at, seq), so a page reads its rows
/// in order and stops at the limit. Left to itself, the planner picks a bitmap scan and a sort
/// of every match whenever its statistics say a filter is rare, and a partition not yet
/// analysed (a new month, a fresh database: autovacuum comes a minute or more later) says every
/// filter is rare: first pages took 13–104 ms at 18,000 entries where the walk takes under
/// 1 ms. So sorting and bitmap scans are discouraged (a sort the query cannot do without, such
/// as merging a multi-valued filter's branches, still runs).
async fn read_page(
    client: &mut deadpool_postgres::Object,
    sql: &str,
    params: &[sql::Value],
    walk: bool,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    let tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(db_error)?;
    tx.batch_execute(if walk {
        "SET LOCAL jit = off; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off"
    } else {
        "SET LOCAL jit = off"
    })
    .await
    .map_err(db_error)?;
    let rows = tx.query(sql, &sql::refs(params)).await.map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(rows)
}

/// Runs the embedded migrations as the URL's role, one replica at a time.
async fn migrate(config: &tokio_postgres::Config) -> Result<(), StoreError> {
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
        let report = embedded::migrations::runner()
            .run_async(&mut client)
            .await
            .map_err(|e| StoreError::Open(format!("the schema could not be migrated: {e}")));
        let _ = client
            .execute(
                "SELECT pg_advisory_unlock(hashtext('trailscope.migrate'))",
                &[],
            )
            .await;
        report.map(|_| ())
    }
    .await;
    drop(client);
    let _ = driver.await;
    result
}

/// The trait, by the methods above (spread over this module's files by job).
#[async_trait::async_trait]
impl crate::store::Store for PostgresStore {
    async fn append(
        &self,
        tenant: &str,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Appended>, StoreError> {
        PostgresStore::append(self, tenant, events).await
    }
    async fn page(
        &self,
        tenant: &str,
        query: &Query,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError> {
        PostgresStore::page(self, tenant, query, page, now).await
    }
    async fn after_seq(
        &self,
        tenant: &str,
        query: &Query,
        after_seq: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Entry>, StoreError> {
        PostgresStore::after_seq(self, tenant, query, after_seq, limit, now).await
    }
    fn commits(&self) -> watch::Receiver<u64> {
        PostgresStore::commits(self)
    }
    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        PostgresStore::get(self, tenant, id).await
    }
    async fn get_seq(&self, tenant: &str, seq: u64) -> Result<Option<Entry>, StoreError> {
        PostgresStore::get_seq(self, tenant, seq).await
    }
    async fn facets(
        &self,
        tenant: &str,
        field: FacetField,
        query: &Query,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Facets, StoreError> {
        PostgresStore::facets(self, tenant, field, query, limit, now).await
    }
    async fn stats(
        &self,
        tenant: &str,
        query: &Query,
        buckets: usize,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        PostgresStore::stats(self, tenant, query, buckets, now).await
    }
    async fn head_at(
        &self,
        tenant: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<ChainHead>, StoreError> {
        PostgresStore::head_at(self, tenant, at).await
    }
    async fn retention_days(&self, tenant: &str) -> Result<Option<u32>, StoreError> {
        PostgresStore::retention_days(self, tenant).await
    }
    async fn set_retention_days(&self, tenant: &str, days: u32) -> Result<(), StoreError> {
        PostgresStore::set_retention_days(self, tenant, days).await
    }
    async fn last_prune(&self, tenant: &str) -> Result<Option<PruneReport>, StoreError> {
        PostgresStore::last_prune(self, tenant).await
    }
    async fn prune(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        archive: Option<Arc<dyn crate::store::ArchiveSink>>,
    ) -> Result<PruneReport, StoreError> {
        PostgresStore::prune(self, tenant, cutoff, archive.as_deref()).await
    }
    async fn pseudonymise(
        &self,
        tenant: &str,
        who: &crate::store::Identity,
        requested_by: &crate::model::Actor,
    ) -> Result<crate::model::PseudonymReport, StoreError> {
        PostgresStore::pseudonymise(self, tenant, who, requested_by).await
    }
    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        PostgresStore::tenants(self).await
    }
    async fn verify(
        &self,
        tenant: &str,
        key: Option<&crate::proof::VerifierKey>,
    ) -> Result<crate::model::VerifyReport, StoreError> {
        PostgresStore::verify(self, tenant, key).await
    }
    async fn checkpoint(
        &self,
        tenant: &str,
        key: &crate::proof::SigningKey,
    ) -> Result<crate::model::SignedCheckpoint, StoreError> {
        PostgresStore::checkpoint(self, tenant, key).await
    }
    async fn export_proof(
        &self,
        tenant: &str,
        seqs: &[u64],
        shows_all: bool,
        key: &crate::proof::SigningKey,
    ) -> Result<crate::model::ProofFile, StoreError> {
        PostgresStore::export_proof(self, tenant, seqs, shows_all, key).await
    }
    async fn inclusion_proof(
        &self,
        tenant: &str,
        seq: u64,
        size: u64,
    ) -> Result<crate::model::InclusionProof, StoreError> {
        PostgresStore::inclusion_proof(self, tenant, seq, size).await
    }
    async fn consistency_proof(
        &self,
        tenant: &str,
        from: u64,
        to: u64,
    ) -> Result<crate::model::ConsistencyProof, StoreError> {
        PostgresStore::consistency_proof(self, tenant, from, to).await
    }
    async fn schema_tampering(&self) -> Result<Vec<String>, StoreError> {
        PostgresStore::schema_tampering(self).await
    }
    async fn authenticate(
        &self,
        secret_hash: &str,
    ) -> Result<Option<crate::store::TokenRecord>, StoreError> {
        PostgresStore::authenticate(self, secret_hash).await
    }
    async fn create_token(
        &self,
        new: crate::store::NewToken,
    ) -> Result<crate::store::TokenRecord, StoreError> {
        PostgresStore::create_token(self, new).await
    }
    async fn list_tokens(&self) -> Result<Vec<crate::store::TokenRecord>, StoreError> {
        PostgresStore::list_tokens(self).await
    }
    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        PostgresStore::revoke_token(self, id).await
    }
    fn metrics(&self) -> crate::store::StoreMetrics {
        PostgresStore::metrics(self)
    }
    async fn write_health(&self) -> Result<(), String> {
        PostgresStore::write_health(self).await
    }
    async fn close(&self) {
        PostgresStore::close(self).await
    }
    async fn claim_scheduled(&self, job: &str, day: chrono::NaiveDate) -> Result<bool, StoreError> {
        PostgresStore::claim_scheduled(self, job, day).await
    }
}
