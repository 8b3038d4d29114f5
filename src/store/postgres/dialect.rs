//! PostgreSQL's words for the shared filter compiler ([`crate::store::filter`]), and what it
//! adds on its own: `q` through the trigram (pg_trgm) index, and bounds on `received_at` that
//! let the planner skip partitions.

use super::row::COLUMNS;
use super::{db_error, row};
use crate::model::{Order, Query};
use crate::store::filter::{self, Cond, Dialect, KnownActions, Plan, Statement};
use crate::store::{PageRequest, StoreError};
use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;

/// PostgreSQL.
#[derive(Debug)]
pub enum Postgres {}

/// A filter compiled for PostgreSQL.
pub type Filter = filter::Filter<Postgres>;

/// How many of the newest rows (in page order, every other filter applied) a `q` page first
/// looks through for its matches: the walk stops as soon as the page is full, so a common word
/// costs only the rows before its matches, and a word in at least one row in 200 fills a page of
/// 50 from here without the trigram index (which narrows a common word little, leaving a bitmap
/// heap scan of nearly every row and a sort: 104 ms p99 at 18,000 entries). A rarer word costs
/// this many rows read (a few ms) before the trigram plan. The same reasoning as SQLite's term
/// probe (`store::sqlite::dialect`).
pub const TEXT_WINDOW: i64 = 10_000;

/// How far an entry's `occurred_at` may lie after its `received_at` ([`crate::store::MAX_AHEAD`]).
pub const RECEIVED_SLACK_MS: i64 = crate::store::MAX_AHEAD.num_milliseconds();

/// A bound value.
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Int(i64),
}

impl Value {
    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Text(s) => s,
            Value::Int(i) => i,
        }
    }
}

/// The parameters as the driver takes them.
pub fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(Value::as_sql).collect()
}

/// Numbers the `?` placeholders `$1`, `$2` … (our SQL has no `?` of its own).
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `LIKE` pattern text for a literal substring.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Dialect for Postgres {
    type Value = Value;

    /// As the columns hold it (see [`row::enc`]).
    fn text(s: &str) -> Value {
        Value::Text(row::enc(s).into_owned())
    }

    fn int(n: i64) -> Value {
        Value::Int(n)
    }

    /// The name and email indexes are on `lower(…)`.
    fn eq_nocase(col: &str) -> String {
        format!("lower({col}) = lower(?)")
    }

    /// PostgreSQL's planner weighs the two with its statistics: the column as it is.
    fn check_only(col: &str) -> String {
        col.to_string()
    }

    /// `search` is the lowercased searchable text, indexed by pg_trgm for LIKE.
    fn text_term(term: &str) -> Cond<Postgres> {
        Cond::new(
            "search LIKE ?",
            vec![Value::Text(format!("%{}%", like_escape(&row::enc(term))))],
        )
    }

    fn range(
        from: Option<i64>,
        to: Option<i64>,
        _cursor: Option<(Order, i64)>,
    ) -> Vec<Cond<Postgres>> {
        let mut out = Vec::new();
        if let Some(from) = from {
            out.push(Cond::new("occurred_at >= ?", vec![Value::Int(from)]));
            // The partitions are by `received_at`, which no entry has earlier than its
            // `occurred_at` less `RECEIVED_SLACK_MS` (the store refuses such an event): this
            // bound, implied by the one above, lets the planner skip every older partition.
            out.push(Cond::new(
                "received_at >= ?",
                vec![Value::Int(from.saturating_sub(RECEIVED_SLACK_MS))],
            ));
        }
        if let Some(to) = to {
            out.push(Cond::new("occurred_at <= ?", vec![Value::Int(to)]));
        }
        out
    }

    fn branch(select: &str) -> String {
        format!("({select})")
    }

    fn finish(sql: String) -> String {
        numbered(&sql)
    }

    const NULL_TEXT: &'static str = "NULL::text";

    const TEXT_COLUMNS: &'static str = "search";

    /// The planner weighs a short time range against the other conditions with its statistics.
    const TIME_ORDERED: &'static str = "entries";

    /// Every index is kept at commit.
    const DEFERRED: Option<filter::Deferred> = None;

    /// PostgreSQL combines the branches' index scans itself (a bitmap OR).
    fn union_of(_branches: &[&str]) -> Option<(String, &'static str)> {
        None
    }
}

/// Compiles `query` for `tenant`, `action:prefix*` expanded to the tenant's known actions (each
/// one an index range).
pub async fn compile(
    client: &tokio_postgres::Client,
    tenant: &str,
    query: &Query,
    now: DateTime<Utc>,
) -> Result<Filter, StoreError> {
    let mut known = KnownActions::new();
    for prefix in filter::action_prefixes(query) {
        let rows = client
            .query(
                "SELECT action FROM actions WHERE tenant = $1 AND starts_with(action, $2)",
                &[&tenant, &row::enc(&prefix).as_ref()],
            )
            .await
            .map_err(db_error)?;
        known.insert(
            prefix,
            rows.into_iter().map(|r| row::dec(r.get(0))).collect(),
        );
    }
    Ok(Filter::new(tenant, &Plan::new(query, now, &known)))
}

/// `filter` on the rows received at or after `floor` only, or `None` when its `from` bounds
/// them as tightly already. A newest-first page read this way is the whole filter's page when
/// it is full and its last row occurred at or after `floor + RECEIVED_SLACK_MS`: a row received
/// before `floor` occurred before that (see [`RECEIVED_SLACK_MS`]), so it would come after the
/// page.
pub fn received_since(filter: &Filter, floor: i64) -> Option<Filter> {
    let (from, _) = filter.time_range();
    if from.is_some_and(|f| f.saturating_sub(RECEIVED_SLACK_MS) >= floor) {
        return None;
    }
    let mut recent = filter.clone();
    recent.bound(Cond::new("received_at >= ?", vec![Value::Int(floor)]));
    Some(recent)
}

/// One keyset page of entries, an ordered index walk.
pub fn page_sql(filter: &Filter, page: &PageRequest) -> Statement<Postgres> {
    filter.page_sql(COLUMNS, page)
}

/// A `q` page read from the newest [`TEXT_WINDOW`] rows that match every other condition:
/// `None` without `q` terms. See [`filter::Filter::text_walk_sql`].
pub fn text_walk_sql(filter: &Filter, page: &PageRequest) -> Option<Statement<Postgres>> {
    filter.text_walk_sql(COLUMNS, page, TEXT_WINDOW)
}

/// [`page_sql`] for a `q` whose words are rare (the newest rows did not fill the page): read
/// through the trigram index, its few candidates rechecked and sorted. Every btree index starts
/// with the tenant, and on a partition without statistics the planner took `tenant = ?` for a
/// rare condition and scanned the tenant's every row through one of them (50 ms at 48,000
/// entries); with the tenant written so that no btree index serves it, the trigram index is the
/// only index left. (A word rare here but common in other tenants reads their candidates too,
/// and drops them by the tenant.)
pub fn text_index_page_sql(filter: &Filter, page: &PageRequest) -> Statement<Postgres> {
    let mut by_text = filter.clone();
    by_text.tenant_as("(tenant || '') = ?");
    by_text.page_sql(COLUMNS, page)
}

/// Up to `limit` matching entries after a seq, in seq order (the primary key's order).
pub fn after_seq_sql(filter: &Filter, after_seq: u64, limit: usize) -> Statement<Postgres> {
    let start = Cond::new("seq > ?", vec![Value::Int(super::i(after_seq))]);
    filter.after_seq_sql(COLUMNS, start, "entries", "seq", limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(numbered("a = ? AND b = ?"), "a = $1 AND b = $2");
    }

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
    }
}
