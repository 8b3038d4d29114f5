//! Turns a [`Query`] into PostgreSQL over the indexes, as `store::sqlite::sql` does for SQLite:
//! every filter a range scan in keyset order; `q` through the trigram (pg_trgm) index.

use super::i;
use super::row::COLUMNS;
use crate::model::{Cursor, Order, Query};
use crate::store::any_of::any_of;
use crate::store::{PageRequest, StoreError};
use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;

/// Branches a multi-valued filter may be split into before it is run as one OR instead.
const MAX_BRANCHES: usize = 64;

/// How many of the newest rows (in page order, every other filter applied) a `q` page first
/// looks through for its matches: the walk stops as soon as the page is full, so a common word
/// costs only the rows before its matches, and a word in at least one row in 200 fills a page of
/// 50 from here without the trigram index (which narrows a common word little, leaving a bitmap
/// heap scan of nearly every row and a sort: 104 ms p99 at 18,000 entries). A rarer word costs
/// this many rows read (a few ms) before the trigram plan. The same reasoning as
/// `store::sqlite::sql`'s term probe.
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

/// A text value as the columns hold it (see [`super::row::enc`]).
fn text(s: &str) -> Value {
    Value::Text(super::row::enc(s).into_owned())
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

#[derive(Debug, Clone)]
struct Cond {
    sql: String,
    params: Vec<Value>,
}

impl Cond {
    fn new(sql: impl Into<String>, params: Vec<Value>) -> Cond {
        Cond {
            sql: sql.into(),
            params,
        }
    }
}

/// A filter compiled for one tenant: OR-groups (one per filtered field) and plain conditions.
#[derive(Clone)]
pub struct Filter {
    tenant: String,
    /// The tenant as `(tenant || '') = ?`, which no btree index serves: see
    /// [`Filter::text_index_page_sql`].
    tenant_unindexed: bool,
    groups: Vec<Vec<Cond>>,
    plain: Vec<Cond>,
    /// The `q` terms, each a `search LIKE` (kept apart for [`Filter::text_walk_sql`]).
    text: Vec<Cond>,
    from: Option<i64>,
    to: Option<i64>,
    /// Only rows received at or after this (a newest-first page tried on recent partitions
    /// first: [`Filter::received_since`]).
    received_floor: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Action,
    Actor,
    Target,
    Exact(&'static str),
}

/// `LIKE` pattern text for a literal substring.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

async fn atoms(
    client: &tokio_postgres::Client,
    tenant: &str,
    field: Field,
    values: &[String],
) -> Result<Vec<Cond>, StoreError> {
    let mut atoms = Vec::new();
    for v in values {
        match field {
            Field::Action => match v.strip_suffix('*') {
                Some("") => return Ok(vec![Cond::new("true", vec![])]),
                Some(prefix) => {
                    // Expanded to the tenant's known actions: each one an index range.
                    let rows = client
                        .query(
                            "SELECT action FROM actions WHERE tenant = $1 AND starts_with(action, $2)",
                            &[&tenant, &super::row::enc(prefix).as_ref()],
                        )
                        .await
                        .map_err(super::db_error)?;
                    for r in rows {
                        atoms.push(Cond::new("action = ?", vec![Value::Text(r.get(0))]));
                    }
                }
                None => atoms.push(Cond::new("action = ?", vec![text(v)])),
            },
            Field::Actor => {
                atoms.push(Cond::new("actor_id = ?", vec![text(v)]));
                if v.contains('@') {
                    atoms.push(Cond::new("lower(actor_email) = lower(?)", vec![text(v)]));
                }
                atoms.push(Cond::new("lower(actor_name) = lower(?)", vec![text(v)]));
            }
            Field::Target => {
                if let Some((kind, id)) = v.split_once('/') {
                    atoms.push(Cond::new(
                        "(target_id = ? AND target_type = ?)",
                        vec![text(id), text(kind)],
                    ));
                }
                atoms.push(Cond::new("target_id = ?", vec![text(v)]));
            }
            Field::Exact(col) => atoms.push(Cond::new(format!("{col} = ?"), vec![text(v)])),
        }
    }
    Ok(atoms)
}

impl Filter {
    /// Compiles `query`; `action:prefix*` terms are expanded to the tenant's known actions.
    pub async fn new(
        client: &tokio_postgres::Client,
        tenant: &str,
        query: &Query,
        now: DateTime<Utc>,
    ) -> Result<Filter, StoreError> {
        let x = &query.exclude;
        let kinds = |v: &[crate::model::Kind]| -> Vec<String> {
            v.iter().map(|k| k.as_str().to_string()).collect()
        };
        let outcomes = |v: &[crate::model::Outcome]| -> Vec<String> {
            v.iter().map(|o| o.as_str().to_string()).collect()
        };
        let fields: [(Field, &[String], &[String]); 9] = [
            (Field::Action, &query.actions, &x.actions),
            (Field::Actor, &query.actors, &x.actors),
            (Field::Target, &query.targets, &x.targets),
            (
                Field::Exact("target_type"),
                &query.target_types,
                &x.target_types,
            ),
            (Field::Exact("channel"), &query.channels, &x.channels),
            (Field::Exact("kind"), &kinds(&query.kinds), &kinds(&x.kinds)),
            (
                Field::Exact("outcome"),
                &outcomes(&query.outcomes),
                &outcomes(&x.outcomes),
            ),
            (Field::Exact("actor_ip"), &query.ips, &x.ips),
            (Field::Exact("id"), &query.ids, &[]),
        ];
        let mut groups = Vec::new();
        let mut plain = Vec::new();
        for (field, include, exclude) in fields {
            if !include.is_empty() {
                groups.push(atoms(client, tenant, field, include).await?);
            }
            if !exclude.is_empty() {
                let out = atoms(client, tenant, field, exclude).await?;
                if !out.is_empty() {
                    let sql = out.iter().map(|c| c.sql.as_str()).collect::<Vec<_>>();
                    plain.push(Cond::new(
                        format!("NOT COALESCE(({}), false)", any_of(&sql)),
                        out.into_iter().flat_map(|c| c.params).collect(),
                    ));
                }
            }
        }
        let mut text = Vec::new();
        for t in &query.text {
            // `search` is the lowercased searchable text, indexed by pg_trgm for LIKE.
            text.push(Cond::new(
                "search LIKE ?",
                vec![Value::Text(format!(
                    "%{}%",
                    like_escape(&super::row::enc(&t.to_lowercase()))
                ))],
            ));
        }
        let (from, to) = query.range_millis(now);
        Ok(Filter {
            tenant: tenant.to_string(),
            tenant_unindexed: false,
            groups,
            plain,
            text,
            from,
            to,
            received_floor: None,
        })
    }

    /// This filter on the rows received at or after `floor` only, or `None` when its `from`
    /// bounds them as tightly already. A newest-first page read this way is the whole filter's
    /// page when it is full and its last row occurred at or after `floor + RECEIVED_SLACK_MS`:
    /// a row received before `floor` occurred before that (see [`RECEIVED_SLACK_MS`]), so it
    /// would come after the page.
    pub fn received_since(&self, floor: i64) -> Option<Filter> {
        if self
            .from
            .is_some_and(|f| f.saturating_sub(RECEIVED_SLACK_MS) >= floor)
        {
            return None;
        }
        Some(Filter {
            received_floor: Some(floor),
            ..self.clone()
        })
    }

    fn matches_nothing(&self) -> bool {
        self.groups.iter().any(Vec::is_empty)
    }

    fn where_clause(&self, skip: Option<usize>, extra: &[&Cond]) -> (String, Vec<Value>) {
        let with_text: Vec<&Cond> = self.text.iter().chain(extra.iter().copied()).collect();
        self.where_without_text(skip, &with_text)
    }

    /// [`Filter::where_clause`] without the `q` terms (unless `extra` holds them).
    fn where_without_text(&self, skip: Option<usize>, extra: &[&Cond]) -> (String, Vec<Value>) {
        let mut sql = String::from(if self.tenant_unindexed {
            "(tenant || '') = ?"
        } else {
            "tenant = ?"
        });
        let mut params = vec![text(&self.tenant)];
        for (i, group) in self.groups.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            if group.is_empty() {
                sql.push_str(" AND false");
                continue;
            }
            let atoms: Vec<&str> = group.iter().map(|a| a.sql.as_str()).collect();
            sql.push_str(" AND (");
            sql.push_str(&any_of(&atoms));
            sql.push(')');
            params.extend(group.iter().flat_map(|a| a.params.iter().cloned()));
        }
        for c in self.plain.iter().chain(extra.iter().copied()) {
            sql.push_str(" AND ");
            sql.push_str(&c.sql);
            params.extend(c.params.iter().cloned());
        }
        (sql, params)
    }

    fn range(&self) -> Vec<Cond> {
        let mut out = Vec::new();
        if let Some(from) = self.from {
            out.push(Cond::new("occurred_at >= ?", vec![Value::Int(from)]));
            // The partitions are by `received_at`, which no entry has earlier than its
            // `occurred_at` less `RECEIVED_SLACK_MS` (the store refuses such an event): this
            // bound, implied by the one above, lets the planner skip every older partition.
            out.push(Cond::new(
                "received_at >= ?",
                vec![Value::Int(from.saturating_sub(RECEIVED_SLACK_MS))],
            ));
        }
        if let Some(to) = self.to {
            out.push(Cond::new("occurred_at <= ?", vec![Value::Int(to)]));
        }
        if let Some(floor) = self.received_floor {
            out.push(Cond::new("received_at >= ?", vec![Value::Int(floor)]));
        }
        out
    }

    /// The whole filter as one WHERE clause (counts, facets, stats), `?` placeholders.
    pub fn where_all(&self) -> (String, Vec<Value>) {
        let range = self.range();
        self.where_clause(None, &range.iter().collect::<Vec<_>>())
    }

    /// One keyset page. A field with several values is split into one ordered index scan per
    /// value, merged, so a page never sorts everything the OR matches.
    pub fn page_sql(&self, page: &PageRequest) -> (String, Vec<Value>) {
        let dir = if page.order == Order::Desc {
            "DESC"
        } else {
            "ASC"
        };
        let order_by = format!("ORDER BY occurred_at {dir}, seq {dir}");
        let keyset = page.cursor.map(|c: Cursor| {
            let op = if page.order == Order::Desc { "<" } else { ">" };
            Cond::new(
                format!("(occurred_at, seq) {op} (?, ?)"),
                vec![Value::Int(c.occurred_at_ms), Value::Int(i(c.seq))],
            )
        });
        let limit = i(page.limit);
        if self.matches_nothing() {
            return (format!("SELECT {COLUMNS} FROM entries WHERE false"), vec![]);
        }
        let driving = self
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.len() > 1 && g.len() <= MAX_BRANCHES)
            .max_by_key(|(_, g)| g.len())
            .map(|(i, _)| i);
        let range = self.range();
        let extra: Vec<&Cond> = keyset.iter().chain(range.iter()).collect();
        let Some(d) = driving else {
            let (w, mut params) = self.where_clause(None, &extra);
            params.push(Value::Int(limit));
            return (
                numbered(&format!(
                    "SELECT {COLUMNS} FROM entries WHERE {w} {order_by} LIMIT ?"
                )),
                params,
            );
        };
        let mut sql = String::new();
        let mut params = Vec::new();
        for (i, atom) in self.groups[d].iter().enumerate() {
            if i > 0 {
                sql.push_str(" UNION ");
            }
            let mut conds = extra.clone();
            conds.push(atom);
            let (w, p) = self.where_clause(Some(d), &conds);
            sql.push_str(&format!(
                "(SELECT {COLUMNS} FROM entries WHERE {w} {order_by} LIMIT ?)"
            ));
            params.extend(p);
            params.push(Value::Int(limit));
        }
        sql.push_str(&format!(" {order_by} LIMIT ?"));
        params.push(Value::Int(limit));
        (numbered(&sql), params)
    }

    /// A `q` page read from the newest [`TEXT_WINDOW`] rows that match every other filter (in
    /// page order, an index walk), the terms rechecked on each: `None` without `q` terms.
    /// Exact when it returns `page.limit` rows (the window is in page order, so nothing outside
    /// it comes first); with fewer, the caller runs [`Filter::page_sql`].
    pub fn text_walk_sql(&self, page: &PageRequest) -> Option<(String, Vec<Value>)> {
        if self.text.is_empty() || self.matches_nothing() {
            return None;
        }
        let dir = if page.order == Order::Desc {
            "DESC"
        } else {
            "ASC"
        };
        let order_by = format!("ORDER BY occurred_at {dir}, seq {dir}");
        let keyset = page.cursor.map(|c: Cursor| {
            let op = if page.order == Order::Desc { "<" } else { ">" };
            Cond::new(
                format!("(occurred_at, seq) {op} (?, ?)"),
                vec![Value::Int(c.occurred_at_ms), Value::Int(i(c.seq))],
            )
        });
        let range = self.range();
        let extra: Vec<&Cond> = keyset.iter().chain(range.iter()).collect();
        let (inner, mut params) = self.where_without_text(None, &extra);
        params.push(Value::Int(TEXT_WINDOW));
        let terms: Vec<&str> = self.text.iter().map(|c| c.sql.as_str()).collect();
        params.extend(self.text.iter().flat_map(|c| c.params.iter().cloned()));
        params.push(Value::Int(i(page.limit)));
        Some((
            numbered(&format!(
                "SELECT {COLUMNS} FROM (SELECT {COLUMNS}, search FROM entries WHERE {inner} \
                 {order_by} LIMIT ?) AS newest WHERE {} {order_by} LIMIT ?",
                terms.join(" AND ")
            )),
            params,
        ))
    }

    /// [`Filter::page_sql`] for a `q` whose words are rare (the newest rows did not fill the
    /// page): read through the trigram index, its few candidates rechecked and sorted. Every
    /// btree index starts with the tenant, and on a partition without statistics the planner
    /// took `tenant = ?` for a rare condition and scanned the tenant's every row through one of
    /// them (50 ms at 48,000 entries); with the tenant written so that no btree index serves
    /// it, the trigram index is the only index left. (A word rare here but common in other
    /// tenants reads their candidates too, and drops them by the tenant.)
    pub fn text_index_page_sql(&self, page: &PageRequest) -> (String, Vec<Value>) {
        let mut by_text = self.clone();
        by_text.tenant_unindexed = true;
        by_text.page_sql(page)
    }

    /// Up to `limit` matching entries after a seq, in seq order (the primary key's order).
    pub fn after_seq_sql(&self, after_seq: u64, limit: usize) -> (String, Vec<Value>) {
        if self.matches_nothing() {
            return (format!("SELECT {COLUMNS} FROM entries WHERE false"), vec![]);
        }
        let start = Cond::new("seq > ?", vec![Value::Int(i(after_seq))]);
        let range = self.range();
        let mut extra: Vec<&Cond> = vec![&start];
        extra.extend(range.iter());
        let (w, mut params) = self.where_clause(None, &extra);
        params.push(Value::Int(i(limit)));
        (
            numbered(&format!(
                "SELECT {COLUMNS} FROM entries WHERE {w} ORDER BY seq LIMIT ?"
            )),
            params,
        )
    }
}

/// The value column and label column a facet counts.
pub fn facet_columns(field: crate::model::FacetField) -> (&'static str, &'static str) {
    use crate::model::FacetField;
    match field {
        FacetField::Action => ("action", "NULL::text"),
        FacetField::Channel => ("channel", "NULL::text"),
        FacetField::Kind => ("kind", "NULL::text"),
        FacetField::Outcome => ("outcome", "NULL::text"),
        FacetField::TargetType => ("target_type", "NULL::text"),
        FacetField::Actor => ("COALESCE(actor_id, actor_email)", "MAX(actor_name)"),
    }
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
