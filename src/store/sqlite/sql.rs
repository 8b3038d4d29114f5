//! Turns a [`Query`] into SQL over the indexes: every filter is a range scan in keyset order.

use super::row::COLUMNS;
use crate::model::{Cursor, FacetField, Order, Query};
use crate::store::PageRequest;
use crate::store::any_of::any_of;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;

/// Branches a multi-valued filter may be split into before it is run as one OR instead.
const MAX_BRANCHES: usize = 64;

/// One condition and its bound values.
#[derive(Debug, Clone)]
struct Cond {
    sql: String,
    params: Vec<SqlValue>,
}

impl Cond {
    fn new(sql: impl Into<String>, params: Vec<SqlValue>) -> Cond {
        Cond {
            sql: sql.into(),
            params,
        }
    }
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

/// A filter compiled for one tenant: OR-groups (one per filtered field) and plain conditions.
pub struct Filter {
    tenant: String,
    groups: Vec<Vec<Cond>>,
    plain: Vec<Cond>,
    from: Option<i64>,
    to: Option<i64>,
    /// Some search term is rare: read candidates from the trigram index by rowid.
    by_rowid: bool,
}

/// A search term with at most this many trigram candidates is read through the index; a more
/// common one is found faster by walking the time-ordered index, where it is dense.
const SELECTIVE: i64 = 2000;

/// Trigrams of one search term sent to the index.
const MAX_GRAMS: usize = 32;

/// The FTS5 query for a term: every trigram of it, ANDed (the index keeps no positions).
fn trigram_query(term: &str) -> Option<String> {
    let chars: Vec<char> = term.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let mut grams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    grams.sort();
    grams.dedup();
    // The trigrams only pick candidates (`ts_match` checks each row), so a long term needs no
    // more of them than this: a 512-byte term's 510 would be one FTS5 query of 510 ANDs.
    grams.truncate(MAX_GRAMS);
    Some(
        grams
            .iter()
            .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

/// How a field's values become conditions.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// Exact actions; `prefix*` expands to the tenant's known actions.
    Action,
    /// By id, email (with an `@`) or name, the last two in any ASCII case.
    Actor,
    /// `type/id` or a bare id.
    Target,
    /// One column, exactly.
    Exact(&'static str),
}

/// The OR-ed conditions for `values` of `field`. Empty when no row can match (an action prefix
/// no action has).
fn atoms(
    conn: &Connection,
    tenant: &str,
    field: Field,
    values: &[String],
) -> rusqlite::Result<Vec<Cond>> {
    let mut atoms = Vec::new();
    for v in values {
        match field {
            Field::Action => match v.strip_suffix('*') {
                Some("") => return Ok(vec![Cond::new("1", vec![])]),
                Some(prefix) => {
                    let mut stmt = conn.prepare_cached(
                        "SELECT action FROM actions WHERE tenant = ?1 AND action >= ?2 AND action < ?3",
                    )?;
                    let upper = format!("{prefix}\u{10FFFF}");
                    let found = stmt
                        .query_map([tenant, prefix, upper.as_str()], |r| r.get::<_, String>(0))?;
                    for action in found {
                        atoms.push(Cond::new("action = ?", vec![SqlValue::Text(action?)]));
                    }
                }
                None => atoms.push(Cond::new("action = ?", vec![text(v)])),
            },
            Field::Actor => {
                atoms.push(Cond::new("actor_id = ?", vec![text(v)]));
                if v.contains('@') {
                    atoms.push(Cond::new("actor_email = ?", vec![text(v)]));
                }
                atoms.push(Cond::new("actor_name = ? COLLATE NOCASE", vec![text(v)]));
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
    pub fn new(
        conn: &Connection,
        tenant: &str,
        query: &Query,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<Filter> {
        let x = &query.exclude;
        let kinds = |v: &[crate::model::Kind]| -> Vec<String> {
            v.iter().map(|k| k.as_str().to_string()).collect()
        };
        let outcomes = |v: &[crate::model::Outcome]| -> Vec<String> {
            v.iter().map(|o| o.as_str().to_string()).collect()
        };
        // Each field's values as OR-ed atoms: included, a group the row must meet; excluded, a
        // group it must not.
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
                groups.push(atoms(conn, tenant, field, include)?);
            }
            if !exclude.is_empty() {
                // No index gives the rows without a value in time order: an exclusion is
                // checked on the rows the other terms (or the time index) bring.
                let out = atoms(conn, tenant, field, exclude)?;
                if !out.is_empty() {
                    let sql = out.iter().map(|c| c.sql.as_str()).collect::<Vec<_>>();
                    plain.push(Cond::new(
                        format!("NOT COALESCE(({}), 0)", any_of(&sql)),
                        out.into_iter().flat_map(|c| c.params).collect(),
                    ));
                }
            }
        }
        let (from, to) = query.range_millis(now);
        let mut by_rowid = false;
        for t in &query.text {
            let needle = t.to_lowercase();
            if let Some(fts) = trigram_query(&needle) {
                let candidates: i64 = conn
                    .prepare_cached("SELECT count(*) FROM (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?1 LIMIT ?2)")?
                    .query_row(rusqlite::params![fts, SELECTIVE + 1], |r| r.get(0))?;
                if candidates <= SELECTIVE {
                    by_rowid = true;
                    plain.push(Cond::new(
                        "rowid IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?)",
                        vec![SqlValue::Text(fts)],
                    ));
                }
            }
            plain.push(Cond::new(
                "ts_match(?, description, action, actor_name, actor_email, actor_id, target_name, target_id)",
                vec![SqlValue::Text(t.to_lowercase())],
            ));
        }
        Ok(Filter {
            tenant: tenant.to_string(),
            groups,
            plain,
            from,
            to,
            by_rowid,
        })
    }

    /// True when some field's values matched nothing (an action prefix no action has).
    fn matches_nothing(&self) -> bool {
        self.groups.iter().any(Vec::is_empty)
    }

    /// `WHERE …` over every condition, with `skip` (a group index) left out, and `extra` added.
    fn where_clause(&self, skip: Option<usize>, extra: &[&Cond]) -> (String, Vec<SqlValue>) {
        let mut sql = String::from("tenant = ?");
        let mut params = vec![text(&self.tenant)];
        for (i, group) in self.groups.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            if group.is_empty() {
                sql.push_str(" AND 0");
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

    /// The time bounds as conditions. A bound the cursor already implies is left out: SQLite
    /// uses one upper (or lower) bound per index range, and it must be the cursor's, or page
    /// 1,000 would scan the 49,950 rows before it.
    fn range(&self, page: Option<&PageRequest>) -> Vec<Cond> {
        let cursor = page.and_then(|p| p.cursor.map(|c| (p.order, c.occurred_at_ms)));
        let mut out = Vec::new();
        if let Some(from) = self.from
            && !matches!(cursor, Some((Order::Asc, ms)) if ms >= from)
        {
            out.push(Cond::new("occurred_at >= ?", vec![SqlValue::Integer(from)]));
        }
        if let Some(to) = self.to
            && !matches!(cursor, Some((Order::Desc, ms)) if ms <= to)
        {
            out.push(Cond::new("occurred_at <= ?", vec![SqlValue::Integer(to)]));
        }
        out
    }

    /// The table to read: with a rare search term, only by rowid (the candidates), never by an
    /// ordered index that would walk every row to find a handful.
    pub fn source(&self) -> &'static str {
        if self.by_rowid {
            "entries NOT INDEXED"
        } else {
            "entries"
        }
    }

    /// The whole filter as one WHERE clause (for counts, facets and stats).
    pub fn where_all(&self) -> (String, Vec<SqlValue>) {
        let range = self.range(None);
        self.where_clause(None, &range.iter().collect::<Vec<_>>())
    }

    /// The SQL for one keyset page. A field with several values is split into one ordered
    /// index scan per value, merged, so `kind:created kind:deleted` never sorts the whole table.
    pub fn page_sql(&self, page: &PageRequest) -> (String, Vec<SqlValue>) {
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
                vec![
                    SqlValue::Integer(c.occurred_at_ms),
                    SqlValue::Integer(sql_int(c.seq)),
                ],
            )
        });
        let limit = sql_int(page.limit);
        if self.matches_nothing() {
            return (format!("SELECT {COLUMNS} FROM entries WHERE 0"), vec![]);
        }
        let driving = self
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.len() > 1 && g.len() <= MAX_BRANCHES)
            .max_by_key(|(_, g)| g.len())
            .map(|(i, _)| i);
        let range = self.range(Some(page));
        let extra: Vec<&Cond> = keyset.iter().chain(range.iter()).collect();
        let Some(d) = driving else {
            let (w, mut params) = self.where_clause(None, &extra);
            params.push(SqlValue::Integer(limit));
            return (
                format!(
                    "SELECT {COLUMNS} FROM {} WHERE {w} {order_by} LIMIT ?",
                    self.source()
                ),
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
                "SELECT * FROM (SELECT {COLUMNS} FROM {src} WHERE {w} {order_by} LIMIT ?)",
                src = self.source()
            ));
            params.extend(p);
            params.push(SqlValue::Integer(limit));
        }
        sql.push_str(&format!(" {order_by} LIMIT ?"));
        params.push(SqlValue::Integer(limit));
        (sql, params)
    }
}

impl Filter {
    /// The SQL for up to `limit` matching entries after a seq, in seq order. It walks the table
    /// by rowid from the row that holds that seq: rowids rise with seq within a tenant (entries
    /// are only ever appended, and a prune removes the oldest), so the scan starts at the seam
    /// and reads only what came after it, whatever the filter. No other index is allowed: one
    /// on the filter's column would read the whole history to sort it by seq.
    pub fn after_seq_sql(&self, after_seq: u64, limit: usize) -> (String, Vec<SqlValue>) {
        if self.matches_nothing() {
            return (format!("SELECT {COLUMNS} FROM entries WHERE 0"), vec![]);
        }
        let start = Cond::new(
            "rowid > COALESCE((SELECT rowid FROM entries WHERE tenant = ? AND seq <= ? ORDER BY seq DESC LIMIT 1), 0) AND seq > ?",
            vec![
                text(&self.tenant),
                SqlValue::Integer(sql_int(after_seq)),
                SqlValue::Integer(sql_int(after_seq)),
            ],
        );
        let range = self.range(None);
        let mut extra: Vec<&Cond> = vec![&start];
        extra.extend(range.iter());
        let (w, mut params) = self.where_clause(None, &extra);
        params.push(SqlValue::Integer(sql_int(limit)));
        (
            format!("SELECT {COLUMNS} FROM entries NOT INDEXED WHERE {w} ORDER BY rowid LIMIT ?"),
            params,
        )
    }
}

/// The value column and label column a facet counts.
pub fn facet_columns(field: FacetField) -> (&'static str, &'static str) {
    match field {
        FacetField::Action => ("action", "NULL"),
        FacetField::Channel => ("channel", "NULL"),
        FacetField::Kind => ("kind", "NULL"),
        FacetField::Outcome => ("outcome", "NULL"),
        FacetField::TargetType => ("target_type", "NULL"),
        FacetField::Actor => ("COALESCE(actor_id, actor_email)", "MAX(actor_name)"),
    }
}

/// Registers `ts_match(needle, col…)`: does any column contain the (lowercased) needle,
/// ignoring case? SQLite's own LIKE folds ASCII only; audit logs are full of names that are not.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "ts_match",
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let needle: String = ctx.get(0)?;
            for i in 1..ctx.len() {
                if let Some(hay) = ctx.get::<Option<String>>(i)?
                    && contains_ci(&hay, &needle)
                {
                    return Ok(true);
                }
            }
            Ok(false)
        },
    )
}

pub use crate::text::contains_ci;

/// A seq, count or limit bound as an SQLite integer. They are far below `i64::MAX` (a seq
/// counts entries; a cursor's seq that is not is no row's, and `i64::MAX` matches as no row
/// would), so saturating is exact in practice and never wraps to a negative.
pub fn sql_int(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// The smallest readable bucket width (in seconds) that fits `span_ms` into `buckets` bars.
pub fn bucket_seconds(span_ms: i64, buckets: usize) -> u64 {
    const NICE: [u64; 21] = [
        1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
        172800, 604800, 2_592_000, 31_536_000,
    ];
    let want = span_ms
        .max(1)
        .unsigned_abs()
        .div_ceil(1000)
        .div_ceil(u64::try_from(buckets.max(1)).unwrap_or(u64::MAX));
    NICE.into_iter().find(|n| *n >= want).unwrap_or(want)
}

/// Where the first bar begins: `from` rounded down to a multiple of the width since the epoch,
/// so bars read as whole hours and days; but never before year 0, which RFC 3339 cannot write
/// (a log holding entries dated in year 6, and a bar 33 years wide, once began at "-0018").
pub fn bucket_start(from_ms: i64, width_ms: i64) -> i64 {
    /// 0000-01-01T00:00:00Z.
    const YEAR_ZERO_MS: i64 = -62_167_219_200_000;
    let aligned = from_ms - from_ms.rem_euclid(width_ms.max(1));
    if aligned < YEAR_ZERO_MS {
        from_ms
    } else {
        aligned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bar_never_begins_before_year_zero() {
        let year_six = -61_972_732_800_000; // 0006-03-01
        let width = 1_062_821_808_000;
        assert_eq!(bucket_start(year_six, width), year_six);
        assert_eq!(bucket_start(3_600_500, 3_600_000), 3_600_000);
        assert_eq!(bucket_start(-500, 1000), -1000);
    }

    #[test]
    fn substring_ignores_case_beyond_ascii() {
        assert!(contains_ci("Printer ON fire", "on fire"));
        assert!(contains_ci("Jürgen MÜLLER", "müller"));
        assert!(!contains_ci("abc", "abcd"));
    }

    /// The plan SQLite picks for the first page of `filter` over the real schema.
    fn plan(filter: &str) -> String {
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn).unwrap();
        register_functions(&conn).unwrap();
        let q: Query = filter.parse().unwrap();
        let f = Filter::new(&conn, "t", &q, Utc::now()).unwrap();
        let (sql, params) = f.page_sql(&PageRequest::default());
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn ip_and_actor_names_are_read_from_their_indexes() {
        let p = plan("ip:203.0.113.7");
        assert!(p.contains("USING INDEX entries_ip"), "{p}");
        let p = plan("actor:\"grace whitfield\"");
        assert!(p.contains("entries_aname"), "{p}");
        assert!(p.contains("entries_actor"), "{p}");
        // An exclusion has no index of its own (no index lists the rows without a value in time
        // order): it is checked on the rows the time index, or the other terms, bring in order.
        let p = plan("-channel:writeback");
        assert!(p.contains("USING INDEX entries_time"), "{p}");
        assert!(
            !p.contains("TEMP B-TREE"),
            "never a sort of the whole log: {p}"
        );
        let p = plan("ip:203.0.113.7 -outcome:success");
        assert!(p.contains("USING INDEX entries_ip"), "{p}");
    }

    #[test]
    fn buckets_are_readable_widths() {
        assert_eq!(bucket_seconds(7 * 86_400_000, 60), 3 * 3600);
        assert_eq!(bucket_seconds(3_600_000, 60), 60);
    }
}
