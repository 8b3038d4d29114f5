//! The engine's reads: pages, streams after a seq, lookups, facets, stats, heads. Each runs on
//! a pooled read connection (WAL: never blocked by the writer).

use super::{SqliteDb, dialect, row};
use crate::model::{ChainHead, Entry, FacetField, FacetValue, Facets, Page, Query, Stats};
use crate::store::filter::stats::{Extent, Histogram};
use crate::store::{PageRequest, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params, params_from_iter};

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
            let filter = dialect::compile(conn, tenant, &query.without(field), now)?;
            let (sql, params) = filter.facet_sql(field, limit);
            let mut stmt = conn.prepare_cached(&sql)?;
            let values = stmt
                .query_map(params_from_iter(params), |r| {
                    Ok(FacetValue {
                        value: r.get(0)?,
                        count: r.get::<_, u64>(1)?,
                        label: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(Facets { field, values })
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
            let filter = dialect::compile(conn, tenant, query, now)?;
            let (sql, params) = filter.extent_sql();
            let extent = conn
                .prepare_cached(&sql)?
                .query_row(params_from_iter(params), |r| {
                    Ok(Extent {
                        total: r.get(0)?,
                        min: r.get(1)?,
                        max: r.get(2)?,
                    })
                })?;
            let frame = match Histogram::new(extent, filter.time_range(), now, buckets)? {
                Histogram::Drawn(stats) => return Ok(stats),
                Histogram::Count(frame) => frame,
            };
            let (sql, params) = filter.histogram_sql(frame.start, frame.width_ms);
            let counted = conn
                .prepare_cached(&sql)?
                .query_map(params_from_iter(params), |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, u64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(frame.stats(counted))
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
