//! The engine's reads: pages, streams after a seq, lookups, facets, stats, heads. Each runs on
//! a pooled read connection (WAL: never blocked by the writer).

use super::{SqliteDb, row, sql};
use crate::model::{
    ChainHead, Entry, FacetField, FacetValue, Facets, Page, Query, Stats, StatsBucket, from_millis,
};
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
            let filter = sql::Filter::new(conn, tenant, query, now)?;
            let probe = page.probe();
            let (sql, params) = filter.page_sql(&probe);
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
            let filter = sql::Filter::new(conn, tenant, query, now)?;
            let (sql, params) = filter.after_seq_sql(after_seq, limit);
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
            let filter = sql::Filter::new(conn, tenant, &query.without(field), now)?;
            let (w, mut params) = filter.where_all();
            let (col, label) = sql::facet_columns(field);
            params.push(rusqlite::types::Value::Integer(sql::sql_int(limit)));
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {col} AS v, count(*) AS c, {label} FROM {src} WHERE {w} AND {col} IS NOT NULL \
                 GROUP BY v ORDER BY c DESC, v LIMIT ?",
                src = filter.source()
            ))?;
            let values = stmt
                .query_map(params_from_iter(params), |r| {
                    Ok(FacetValue { value: r.get(0)?, count: r.get::<_, u64>(1)?, label: r.get(2)? })
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
            let filter = sql::Filter::new(conn, tenant, query, now)?;
            let (w, params) = filter.where_all();
            let (total, min, max): (u64, Option<i64>, Option<i64>) = conn
                .prepare_cached(&format!("SELECT count(*), min(occurred_at), max(occurred_at) FROM {} WHERE {w}", filter.source()))?
                .query_row(params_from_iter(params.iter()), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let (qfrom, qto) = query.range_millis(now);
            let from = qfrom.or(min);
            let to = qto.or(if qfrom.is_some() { Some(now.timestamp_millis()) } else { max });
            let (Some(from), Some(to)) = (from, to) else {
                return Ok(Stats { total, from: None, to: None, bucket_seconds: 0, buckets: vec![] });
            };
            let to = to.max(from);
            let width = sql::bucket_seconds(to - from, buckets);
            let width_ms = i64::try_from(width * 1000).map_err(|_| StoreError::Invalid("the histogram's bucket is too wide".into()))?;
            let start = sql::bucket_start(from, width_ms);
            let n = usize::try_from(((to - start) / width_ms + 1).clamp(1, 10_000)).unwrap_or(1);
            let mut counts = vec![0u64; n];
            if total > 0 {
                let mut p = vec![rusqlite::types::Value::Integer(start), rusqlite::types::Value::Integer(width_ms)];
                p.extend(params.iter().cloned());
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT (occurred_at - ?) / ? AS bucket, count(*) FROM {} WHERE {w} GROUP BY bucket",
                    filter.source()
                ))?;
                let rows = stmt.query_map(params_from_iter(p), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u64>(1)?)))?;
                for row in rows {
                    let (b, c) = row?;
                    if let Some(slot) = usize::try_from(b).ok().and_then(|b| counts.get_mut(b)) {
                        *slot += c;
                    }
                }
            }
            let buckets = counts
                .into_iter()
                .enumerate()
                .map(|(i, count)| StatsBucket { start: from_millis(start + sql::sql_int(i) * width_ms), count })
                .collect();
            Ok(Stats { total, from: Some(from_millis(from)), to: Some(from_millis(to)), bucket_seconds: width, buckets })
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
