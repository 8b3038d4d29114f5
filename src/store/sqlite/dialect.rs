//! SQLite's words for the shared filter compiler ([`crate::store::filter`]), and what SQLite
//! adds on its own: a rare search term's candidates read from the trigram index (FTS5) by rowid.

use super::row::COLUMNS;
use crate::model::{Order, Query};
use crate::store::PageRequest;
use crate::store::filter::{self, Cond, Dialect, KnownActions, Plan, Statement, sql_int};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;

/// SQLite.
#[derive(Debug)]
pub enum Sqlite {}

/// A filter compiled for SQLite.
pub type Filter = filter::Filter<Sqlite>;

impl Dialect for Sqlite {
    type Value = SqlValue;

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.to_string())
    }

    fn int(n: i64) -> SqlValue {
        SqlValue::Integer(n)
    }

    /// NOCASE, the collation the name and email indexes are built with (ASCII case only).
    fn eq_nocase(col: &str) -> String {
        format!("{col} = ? COLLATE NOCASE")
    }

    /// SQLite's unary `+`: without statistics it would take an equality on an indexed column
    /// that also gives the page's order (`target_type`, shared by every ticket) over a rarer one.
    fn check_only(col: &str) -> String {
        format!("+{col}")
    }

    fn text_term(term: &str) -> Cond<Sqlite> {
        Cond::new(
            format!("ts_match(?, {})", Self::TEXT_COLUMNS),
            vec![SqlValue::Text(term.to_string())],
        )
    }

    /// A bound the cursor already implies is left out: SQLite uses one upper (or lower) bound
    /// per index range, and it must be the cursor's, or page 1,000 would scan the 49,950 rows
    /// before it.
    fn range(
        from: Option<i64>,
        to: Option<i64>,
        cursor: Option<(Order, i64)>,
    ) -> Vec<Cond<Sqlite>> {
        let mut out = Vec::new();
        if let Some(from) = from
            && !matches!(cursor, Some((Order::Asc, ms)) if ms >= from)
        {
            out.push(Cond::new("occurred_at >= ?", vec![SqlValue::Integer(from)]));
        }
        if let Some(to) = to
            && !matches!(cursor, Some((Order::Desc, ms)) if ms <= to)
        {
            out.push(Cond::new("occurred_at <= ?", vec![SqlValue::Integer(to)]));
        }
        out
    }

    /// SQLite takes no parenthesised SELECT with its own LIMIT in a UNION: a subquery does.
    fn branch(select: &str) -> String {
        format!("SELECT * FROM ({select})")
    }

    fn finish(sql: String) -> String {
        sql
    }

    const NULL_TEXT: &'static str = "NULL";

    const TIME_ORDERED: &'static str = "entries INDEXED BY entries_time";

    /// The secondary indexes and the trigram index are partial (`WHERE indexed = 1`): the
    /// writer commits an entry with its time index alone, and [`super::indexer`] flags it later,
    /// which adds it to them. The pending rows have an index of their own, in page order.
    const DEFERRED: Option<filter::Deferred> = Some(filter::Deferred {
        indexed: "tenant = ? AND indexed = 1",
        pending: "tenant = ? AND indexed IS NULL",
        pending_source: "entries INDEXED BY entries_pending",
        counted_columns: "occurred_at, action, channel, kind, outcome, target_type, actor_id, actor_email, actor_name",
    });

    const TEXT_COLUMNS: &'static str =
        "description, action, actor_name, actor_email, actor_id, target_name, target_id";

    /// SQLite reads an OR of `tenant AND value` terms by the tenant alone, testing the OR on
    /// every row of it; the union of the branches' rowids is one index range each. The rows
    /// are then read by rowid: with any index allowed, SQLite (without statistics) walked the
    /// tenant's every row through one and tested each against the union (181 ms for the 200
    /// entries of `actor:u_17` among 1M).
    fn union_of(branches: &[&str]) -> Option<(String, &'static str)> {
        let selects: Vec<String> = branches
            .iter()
            .map(|b| format!("SELECT rowid FROM entries WHERE {b}"))
            .collect();
        Some((
            format!("rowid IN ({})", selects.join(" UNION ")),
            "entries NOT INDEXED",
        ))
    }
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

/// The tenant's known actions under each of the query's `action:prefix*`.
fn known_actions(conn: &Connection, tenant: &str, query: &Query) -> rusqlite::Result<KnownActions> {
    let mut known = KnownActions::new();
    for prefix in filter::action_prefixes(query) {
        let mut stmt = conn.prepare_cached(
            "SELECT action FROM actions WHERE tenant = ?1 AND action >= ?2 AND action < ?3",
        )?;
        let upper = format!("{prefix}\u{10FFFF}");
        let found = stmt
            .query_map([tenant, prefix.as_str(), upper.as_str()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        known.insert(prefix, found);
    }
    Ok(known)
}

/// Compiles `query` for `tenant`: `action:prefix*` expanded to the tenant's known actions, and
/// each rare search term's candidates read from the trigram index by rowid, never through an
/// ordered index that would walk every row to find a handful.
pub fn compile(
    conn: &Connection,
    tenant: &str,
    query: &Query,
    now: DateTime<Utc>,
) -> rusqlite::Result<Filter> {
    Ok(compile_with_counted(conn, tenant, query, now)?.0)
}

/// [`compile`], and beside it the same filter for an exact count: there every search term's
/// candidates are read from the trigram index, however many (a count reads all of its matches,
/// in no order, and the trigram index lists them; the table has ten or a hundred times as many
/// rows). One plan, one lookup of the known actions, one probe per term for both.
pub fn compile_with_counted(
    conn: &Connection,
    tenant: &str,
    query: &Query,
    now: DateTime<Utc>,
) -> rusqlite::Result<(Filter, Filter)> {
    let plan = Plan::new(query, now, &known_actions(conn, tenant, query)?);
    let mut filter = Filter::new(tenant, &plan);
    let mut counted = Filter::new(tenant, &plan);
    for term in &plan.text {
        let Some(fts) = trigram_query(term) else {
            continue;
        };
        let candidates = || {
            Cond::new(
                "rowid IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?)",
                vec![SqlValue::Text(fts.clone())],
            )
        };
        counted.read_from("entries NOT INDEXED");
        counted.narrow(candidates());
        if rare(conn, &fts)? {
            filter.read_from("entries NOT INDEXED");
            filter.narrow(candidates());
        }
    }
    Ok((filter, counted))
}

/// Whether the trigram query `fts` has at most [`SELECTIVE`] candidates.
fn rare(conn: &Connection, fts: &str) -> rusqlite::Result<bool> {
    let found: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?1 LIMIT ?2)",
        )?
        .query_row(rusqlite::params![fts, SELECTIVE + 1], |r| r.get(0))?;
    Ok(found <= SELECTIVE)
}

/// One keyset page of entries.
pub fn page_sql(filter: &Filter, page: &PageRequest) -> Statement<Sqlite> {
    filter.page_sql(COLUMNS, page)
}

/// Up to `limit` matching entries after a seq, in seq order. It walks the table by rowid from
/// the row that holds that seq: rowids rise with seq within a tenant (entries are only ever
/// appended, and a prune removes the oldest), so the scan starts at the seam and reads only
/// what came after it, whatever the filter. No other index is allowed: one on the filter's
/// column would read the whole history to sort it by seq.
pub fn after_seq_sql(
    filter: &Filter,
    tenant: &str,
    after_seq: u64,
    limit: usize,
) -> Statement<Sqlite> {
    let start = Cond::new(
        "rowid > COALESCE((SELECT rowid FROM entries WHERE tenant = ? AND seq <= ? ORDER BY seq DESC LIMIT 1), 0) AND seq > ?",
        vec![
            SqlValue::Text(tenant.to_string()),
            SqlValue::Integer(sql_int(after_seq)),
            SqlValue::Integer(sql_int(after_seq)),
        ],
    );
    filter.after_seq_sql(COLUMNS, start, "entries NOT INDEXED", "rowid", limit)
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
                    && crate::text::contains_ci(&hay, &needle)
                {
                    return Ok(true);
                }
            }
            Ok(false)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::contains_ci;

    #[test]
    fn substring_ignores_case_beyond_ascii() {
        assert!(contains_ci("Printer ON fire", "on fire"));
        assert!(contains_ci("Jürgen MÜLLER", "müller"));
        assert!(!contains_ci("abc", "abcd"));
    }

    /// The plan SQLite picks for the first page of `filter` over the real schema.
    fn plan(filter: &str) -> String {
        plan_of(filter, |f| page_sql(f, &PageRequest::default()))
    }

    /// The plan SQLite picks for `statement` of `filter` over the real schema.
    fn plan_of(filter: &str, statement: impl Fn(&Filter) -> Statement<Sqlite>) -> String {
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn).unwrap();
        register_functions(&conn).unwrap();
        let q: Query = filter.parse().unwrap();
        let f = compile(&conn, "t", &q, Utc::now()).unwrap();
        let (sql, params) = statement(&f);
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
        let p = plan("actor:grace@example.com");
        assert!(p.contains("entries_email"), "{p}");
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
    fn a_filter_on_an_index_reads_the_pending_rows_through_their_own() {
        // The indexed rows through the partial index, the pending ones in page order through
        // theirs, merged; a filter the time index serves alone has no second side.
        for (filter, index) in [
            ("actor:u_17", "entries_actor"),
            ("action:user.login", "entries_action"),
            ("ip:203.0.113.7", "entries_ip"),
        ] {
            let p = plan(filter);
            assert!(p.contains(index), "{filter}: {p}");
            assert!(p.contains("USING INDEX entries_pending"), "{filter}: {p}");
            assert!(p.contains("MERGE (UNION ALL)"), "{filter}: {p}");
            assert!(!p.contains("SCAN entries"), "{filter}: {p}");
        }
        let p = plan("-channel:auth since:1d");
        assert!(!p.contains("entries_pending"), "{p}");
    }

    #[test]
    fn a_multi_valued_filter_is_one_index_range_per_value_merged() {
        // Each branch reads at most a page from its own index range; only those rows are
        // sorted for the merge, never the whole log.
        let p = plan("kind:created kind:deleted");
        assert!(p.contains("MERGE (UNION)"), "{p}");
        assert_eq!(p.matches("USING INDEX entries_kind").count(), 2, "{p}");
        assert!(!p.contains("SCAN entries"), "{p}");
    }

    #[test]
    fn a_target_is_found_by_its_id_not_walked_to_by_its_type() {
        let p = plan("target:ticket/42");
        assert!(p.contains("entries_target"), "{p}");
        assert!(!p.contains("entries_ttype"), "{p}");
        // A type alone still reads its own index.
        assert!(plan("target_type:ticket").contains("entries_ttype"));
    }

    #[test]
    fn a_count_over_several_values_reads_each_values_index_range() {
        // An actor is an id, or a name in any case; a target the pair, or a bare id: counted,
        // each is one index range per atom, never the whole log.
        for filter in ["actor:u_17", "target:ticket/42", "actor:u_17 channel:admin"] {
            let p = plan_of(filter, Filter::extent_sql);
            assert!(p.contains("UNION"), "{filter}: {p}");
            assert!(!p.contains("SCAN entries"), "{filter}: {p}");
            // The indexed matches are read by rowid, not the tenant's every row tested against
            // them; only the pending rows are walked, through their own index.
            let walked: Vec<&str> = p.lines().filter(|l| l.contains("(tenant=?)")).collect();
            assert!(
                walked
                    .iter()
                    .all(|l| l.contains("USING INDEX entries_pending")),
                "{filter}: {p}"
            );
            assert!(
                p.contains("entries_pending"),
                "{filter}: the pending rows too: {p}"
            );
            let p = plan_of(filter, |f| {
                f.facet_sql(crate::model::FacetField::Action, 10)
            });
            assert!(!p.contains("SCAN entries"), "{filter}: {p}");
        }
    }

    #[test]
    fn counts_on_the_rollups_fields_read_the_rollups_not_the_entries() {
        for filter in [
            "",
            "outcome:failure channel:admin",
            "-channel:auth since:1d",
            "action:user.login from:2026-01-01T00:00:30Z to:2026-01-09T13:00:00Z",
        ] {
            let bars = |f: &Filter| f.histogram_sql(0, 3_600_000);
            let action = |f: &Filter| f.facet_sql(crate::model::FacetField::Action, 10);
            for p in [
                plan_of(filter, Filter::extent_sql),
                plan_of(filter, bars),
                plan_of(filter, action),
            ] {
                assert!(p.contains("rollups"), "{filter}: {p}");
                assert!(!p.contains("SCAN rollups"), "{filter}: {p}");
                assert!(!p.contains("SCAN entries"), "{filter}: {p}");
            }
        }
        // A field the rollups do not keep is counted from its matches.
        let p = plan_of("actor:u_17", Filter::extent_sql);
        assert!(!p.contains("rollups"), "{p}");
    }
}
