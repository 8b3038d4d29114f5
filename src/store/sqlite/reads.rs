//! The engine's reads: pages, streams after a seq, lookups, facets, stats, heads. Each runs on
//! a pooled read connection (WAL: never blocked by the writer).

use super::dialect::{self, Sqlite};
use super::{SqliteDb, row};
use crate::model::{ChainHead, Entry, FacetField, FacetValue, Facets, Page, Query, Stats};
use crate::store::filter::counting::{FacetReads, Next, Read, Reads, Rows, StatsReads, Walked};
use crate::store::filter::stats::Extent;
use crate::store::{PageRequest, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

impl SqliteDb {
    pub fn tenants(&self) -> Result<Vec<String>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached("SELECT tenant FROM chain_heads ORDER BY tenant")?;
            Ok(stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn page(
        &self,
        tenant: &str,
        query: &Query,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page, StoreError> {
        self.with_reader(|conn| {
            let filter = dialect::compile(conn, tenant, query, now)?;
            let (sql, params) = dialect::page_sql(&filter, &page.probe());
            let mut stmt = conn.prepare_cached(&sql)?;
            let entries: Vec<Entry> = stmt
                .query_map(params_from_iter(params), row::entry_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(page.page(entries))
        })
    }

    pub fn after_seq(
        &self,
        tenant: &str,
        query: &Query,
        after_seq: u64,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Entry>, StoreError> {
        self.with_reader(|conn| {
            let filter = dialect::compile(conn, tenant, query, now)?;
            let (sql, params) = dialect::after_seq_sql(&filter, tenant, after_seq, limit);
            let mut stmt = conn.prepare_cached(&sql)?;
            let entries = stmt
                .query_map(params_from_iter(params), row::entry_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(entries)
        })
    }

    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.clone()
    }

    pub fn get_seq(&self, tenant: &str, seq: u64) -> Result<Option<Entry>, StoreError> {
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM entries WHERE tenant = ?1 AND seq = ?2",
                row::COLUMNS
            ))?;
            Ok(stmt
                .query_row(params![tenant, seq], row::entry_from_row)
                .optional()?)
        })
    }

    pub fn get(&self, tenant: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM entries WHERE id = ?1 AND tenant = ?2",
                row::COLUMNS
            ))?;
            Ok(stmt
                .query_row(params![id, tenant], row::entry_from_row)
                .optional()?)
        })
    }

    pub fn facets(
        &self,
        tenant: &str,
        field: FacetField,
        query: &Query,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Facets, StoreError> {
        self.with_reader(|conn| {
            let query = query.without(field);
            let (filter, exact) = dialect::compile_with_counted(conn, tenant, &query, now)?;
            run(conn, FacetReads::new(filter, exact, field, limit))
        })
    }

    pub fn stats(
        &self,
        tenant: &str,
        query: &Query,
        buckets: usize,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        self.with_reader(|conn| {
            let (filter, exact) = dialect::compile_with_counted(conn, tenant, query, now)?;
            run(conn, StatsReads::new(filter, exact, now, buckets))
        })
    }

    pub fn head_at(
        &self,
        tenant: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let at = at.map_or(i64::MAX, |t| t.timestamp_millis());
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, hash FROM entries WHERE tenant = ?1 AND received_at <= ?2 ORDER BY seq DESC LIMIT 1",
            )?;
            Ok(stmt
                .query_row(params![tenant, at], |r| Ok(ChainHead { seq: r.get::<_, u64>(0)?, hash: r.get(1)? }))
                .optional()?)
        })
    }
}

/// Runs `reads` to their end.
fn run<R: Reads<Sqlite>>(conn: &Connection, mut reads: R) -> Result<R::Output, StoreError> {
    let mut read = reads.first();
    loop {
        match reads.answer(rows(conn, read)?)? {
            Next::Read(next) => read = next,
            Next::Done(out) => return Ok(out),
        }
    }
}

/// The rows of one read of a count.
fn rows(conn: &Connection, read: Read<Sqlite>) -> rusqlite::Result<Rows> {
    Ok(match read {
        Read::Extent((sql, params)) => Rows::Extent(conn.prepare_cached(&sql)?.query_row(
            params_from_iter(params),
            |r| {
                Ok(Extent {
                    total: r.get(0)?,
                    min: r.get(1)?,
                    max: r.get(2)?,
                })
            },
        )?),
        Read::Bars((sql, params)) => Rows::Bars(
            conn.prepare_cached(&sql)?
                .query_map(params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?,
        ),
        Read::Walk((sql, params)) => Rows::Walk(
            conn.prepare_cached(&sql)?
                .query_map(params_from_iter(params), |r| {
                    Ok(Walked {
                        at: r.get(0)?,
                        hit: r.get(1)?,
                        value: r.get(2)?,
                        label: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?,
        ),
        Read::Facet((sql, params)) => Rows::Facet(
            conn.prepare_cached(&sql)?
                .query_map(params_from_iter(params), |r| {
                    Ok(FacetValue {
                        value: r.get(0)?,
                        count: r.get(1)?,
                        label: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?,
        ),
    })
}
