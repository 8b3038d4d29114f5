//! The PostgreSQL store's reads: pages, the stream's catch-up, single entries, facets, stats and
//! the chain's head, each on a pooled connection as the application's role.

use super::*;
use crate::store::filter::Statement;
use crate::store::filter::counting::{FacetReads, Next, Read, Reads, Rows, StatsReads, Walked};
use crate::store::filter::stats::Extent;
use dialect::Postgres;

impl PostgresStore {
    pub async fn page(
        &self,
        tenant: &str,
        query: &Query,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError> {
        let mut client = self.client().await?;
        let filter = dialect::compile(&client, tenant, query, now).await?;
        let probe = page.probe();
        // Newest first, the recent partitions are tried before all of them: with daily
        // partitions a page over every partition costs ~100 ms of planning alone
        // (BENCHMARKS.md), one over the last week ~1 ms.
        let mut rows = None;
        if page.order == crate::model::Order::Desc {
            for days in RECENT_WINDOWS_DAYS {
                let floor = now.timestamp_millis() - days * DAY_MS;
                let Some(recent) = dialect::received_since(&filter, floor) else {
                    break;
                };
                let got = page_rows(&mut client, &recent, &probe).await?;
                let last_occurred: Option<i64> = got.last().map(|r| r.get(row::OCCURRED_AT));
                if got.len() == probe.limit
                    && last_occurred.is_some_and(|t| t >= floor + dialect::RECEIVED_SLACK_MS)
                {
                    rows = Some(got);
                    break;
                }
            }
        }
        let rows = match rows {
            Some(rows) => rows,
            None => page_rows(&mut client, &filter, &probe).await?,
        };
        let entries = rows.iter().map(row::entry).collect::<Result<Vec<_>, _>>()?;
        Ok(page.page(entries))
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
        let mut filter = dialect::compile(&client, tenant, query, now).await?;
        // A live stream's seq is recent: when that entry was received in the last two days, so
        // was every later one (`received_at` never goes back within a tenant), and the read
        // skips the older partitions (~1 ms against ~100 ms over 402 daily ones).
        let floor = now.timestamp_millis() - 2 * DAY_MS;
        if let Some(recent) = dialect::received_since(&filter, floor) {
            let in_window = client
                .query_opt(
                    "SELECT 1 FROM entries WHERE tenant = $1 AND seq = $2 AND received_at >= $3",
                    &[&row::enc(tenant).as_ref(), &i(after_seq), &floor],
                )
                .await
                .map_err(db_error)?
                .is_some();
            if in_window {
                filter = recent;
            }
        }
        let (q, params) = dialect::after_seq_sql(&filter, after_seq, limit);
        let rows = client
            .query(&q, &dialect::refs(&params))
            .await
            .map_err(db_error)?;
        rows.iter().map(row::entry).collect()
    }

    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.clone()
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        let client = self.client().await?;
        let id = row::enc(id);
        // An id is a ULID made from the entry's `received_at` (`store::chain::seal`): the day
        // either side of its time is looked in first, a few partitions instead of all of them;
        // only a miss there (no such entry) reads them all.
        if let Ok(ulid) = ulid::Ulid::from_string(&id) {
            let at = i64::try_from(ulid.timestamp_ms()).unwrap_or(i64::MAX);
            let q = format!(
                "SELECT {} FROM entries WHERE id = $1 AND tenant = $2 \
                 AND received_at BETWEEN $3 AND $4",
                row::COLUMNS
            );
            let (lo, hi) = (at.saturating_sub(DAY_MS), at.saturating_add(DAY_MS));
            let r = client
                .query_opt(&q, &[&id.as_ref(), &tenant, &lo, &hi])
                .await
                .map_err(db_error)?;
            if let Some(r) = r {
                return row::entry(&r).map(Some);
            }
        }
        let q = format!(
            "SELECT {} FROM entries WHERE id = $1 AND tenant = $2",
            row::COLUMNS
        );
        let r = client
            .query_opt(&q, &[&id.as_ref(), &tenant])
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
        let filter = dialect::compile(&client, tenant, &query.without(field), now).await?;
        let exact = filter.clone();
        run(&client, FacetReads::new(filter, exact, field, limit)).await
    }

    pub async fn stats(
        &self,
        tenant: &str,
        query: &Query,
        buckets: usize,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        let client = self.client().await?;
        let filter = dialect::compile(&client, tenant, query, now).await?;
        let exact = filter.clone();
        run(&client, StatsReads::new(filter, exact, now, buckets)).await
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
const DAY_MS: i64 = 86_400_000;

/// The windows of recent partitions (days back) a newest-first page is tried on, in turn.
const RECENT_WINDOWS_DAYS: [i64; 2] = [7, 62];

/// One page's rows for `filter`: an ordered index walk, or for `q` the walk through the newest
/// rows and then the trigram index.
async fn page_rows(
    client: &mut deadpool_postgres::Object,
    filter: &dialect::Filter,
    probe: &PageRequest,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    match dialect::text_walk_sql(filter, probe) {
        None => {
            let (q, params) = dialect::page_sql(filter, probe);
            read_page(client, &q, &params, true).await
        }
        Some((walk, walk_params)) => {
            let rows = read_page(client, &walk, &walk_params, true).await?;
            if rows.len() == probe.limit {
                Ok(rows)
            } else {
                // A word too rare to fill the page from the newest rows: the trigram index
                // (a bitmap scan of its few candidates and a sort is right here).
                let (q, params) = dialect::text_index_page_sql(filter, probe);
                read_page(client, &q, &params, false).await
            }
        }
    }
}

async fn read_page(
    client: &mut deadpool_postgres::Object,
    sql: &str,
    params: &[dialect::Value],
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
    let rows = tx
        .query(sql, &dialect::refs(params))
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(rows)
}

/// Runs `reads` to their end.
async fn run<R: Reads<Postgres>>(
    client: &tokio_postgres::Client,
    mut reads: R,
) -> Result<R::Output, StoreError> {
    let mut read = reads.first();
    loop {
        match reads.answer(rows(client, read).await?)? {
            Next::Read(next) => read = next,
            Next::Done(out) => return Ok(out),
        }
    }
}

/// The rows of one read of a count.
async fn rows(client: &tokio_postgres::Client, read: Read<Postgres>) -> Result<Rows, StoreError> {
    let query = |(sql, params): Statement<Postgres>| async move {
        client
            .query(&sql, &dialect::refs(&params))
            .await
            .map_err(db_error)
    };
    let text = |r: &tokio_postgres::Row, i: usize| r.get::<_, Option<String>>(i).map(row::dec);
    Ok(match read {
        Read::Extent(st) => {
            let rows = query(st).await?;
            let r = rows
                .first()
                .ok_or_else(|| StoreError::Internal("a count returned no row".into()))?;
            Rows::Extent(Extent {
                total: u(r.get(0)),
                min: r.get(1),
                max: r.get(2),
            })
        }
        Read::Bars(st) => Rows::Bars(
            query(st)
                .await?
                .iter()
                .map(|r| (r.get::<_, i64>(0), u(r.get(1))))
                .collect(),
        ),
        Read::Walk(st) => Rows::Walk(
            query(st)
                .await?
                .iter()
                .map(|r| Walked {
                    at: r.get(0),
                    hit: r.get::<_, i32>(1) == 1,
                    value: text(r, 2),
                    label: text(r, 3),
                })
                .collect(),
        ),
        Read::Facet(st) => Rows::Facet(
            query(st)
                .await?
                .iter()
                .map(|r| FacetValue {
                    value: row::dec(r.get(0)),
                    count: u(r.get(1)),
                    label: text(r, 2),
                })
                .collect(),
        ),
    })
}
