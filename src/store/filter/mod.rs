//! Filters, written once for every store: a [`Query`](crate::model::Query) becomes a [`Plan`]
//! (what a row must meet, in no database's words), and the plan becomes SQL through a small
//! [`Dialect`] — the few places where SQLite and PostgreSQL spell a condition differently.
//!
//! Every statement is a range scan in keyset order over an index that ends in
//! `(occurred_at, seq)`: a page reads its rows in order and stops at its limit, whatever the
//! filter. What a dialect adds for its own engine (SQLite's trigram candidates, PostgreSQL's
//! partition bounds) it adds through [`Filter`]'s few hooks, never by compiling a filter again.

mod any_of;
pub mod counting;
mod counts;
mod plan;
mod statements;
pub mod stats;

pub use plan::{Atom, Column, KnownActions, Plan, action_prefixes};
pub use statements::Statement;

use crate::model::Order;
use any_of::any_of;

/// How one database spells what a [`Plan`] needs. `?` is the placeholder in every fragment:
/// [`Dialect::finish`] turns it into the engine's own.
pub trait Dialect: Sized {
    /// A bound parameter.
    type Value: Clone + std::fmt::Debug;
    /// A text value, as the columns hold it.
    fn text(s: &str) -> Self::Value;
    fn int(n: i64) -> Self::Value;
    /// `col = ?`, ignoring case, in a form the column's index serves.
    fn eq_nocase(col: &str) -> String;
    /// `col` in a form no index serves: a condition checked on the rows another one found.
    fn check_only(col: &str) -> String;
    /// A lowercased search term as a condition on the row.
    fn text_term(term: &str) -> Cond<Self>;
    /// The time bounds of a statement. `cursor` is a page's keyset position (its order and
    /// `occurred_at`), which may already imply one of them.
    fn range(from: Option<i64>, to: Option<i64>, cursor: Option<(Order, i64)>) -> Vec<Cond<Self>>;
    /// One branch of a merged multi-valued page (`SELECT … LIMIT ?`), as the engine accepts
    /// it inside a `UNION`.
    fn branch(select: &str) -> String;
    /// A complete statement in the engine's placeholders.
    fn finish(sql: String) -> String;
    /// A text NULL in a select list (a facet's missing label).
    const NULL_TEXT: &'static str;
    /// The entries as read through the time index alone: a piece of a count under a minute
    /// long is a short range of it, whatever else the filter names (SQLite, without
    /// statistics, grouped a facet's edge by walking the facet column's index instead: 86 ms
    /// for `since:1d` at 1M entries).
    const TIME_ORDERED: &'static str;
    /// The columns a search term reads ([`Dialect::text_term`]), as a select list.
    const TEXT_COLUMNS: &'static str;
    /// For a count: the rows of any of `branches` (complete conditions, each an index range),
    /// and the table expression to read them from; or `None` where the engine ORs them well
    /// itself.
    fn union_of(branches: &[&str]) -> Option<(String, &'static str)>;
    /// Where the engine keeps new entries out of its secondary indexes until a later step adds
    /// them (SQLite: [`crate::store::sqlite::indexer`]); `None` where every index is kept at
    /// commit.
    const DEFERRED: Option<Deferred>;
}

/// How an engine that defers its secondary indexes tells the indexed rows from the pending
/// ones. A read that would use a secondary index reads both and merges them: the indexed rows
/// through their (partial) indexes, the pending few in page order through an index of their own,
/// so every filter sees every committed entry the moment it is committed.
#[derive(Debug, Clone, Copy)]
pub struct Deferred {
    /// The tenant test that reads the indexed rows, in the form their partial indexes serve.
    pub indexed: &'static str,
    /// The tenant test that reads the pending rows.
    pub pending: &'static str,
    /// The table expression the pending rows are read from, in page order.
    pub pending_source: &'static str,
    /// What a count reads of each matching row (see `counts`), as a select list.
    pub counted_columns: &'static str,
}

/// Values of one field a statement may be split into (one index range each) before it is run
/// as one OR instead.
const MAX_BRANCHES: usize = 64;

/// One condition and its bound values, in order.
#[derive(Debug)]
pub struct Cond<D: Dialect> {
    pub sql: String,
    pub params: Vec<D::Value>,
}

impl<D: Dialect> Clone for Cond<D> {
    fn clone(&self) -> Self {
        Cond {
            sql: self.sql.clone(),
            params: self.params.clone(),
        }
    }
}

impl<D: Dialect> Cond<D> {
    pub fn new(sql: impl Into<String>, params: Vec<D::Value>) -> Cond<D> {
        Cond {
            sql: sql.into(),
            params,
        }
    }
}

/// An atom as SQL.
fn atom<D: Dialect>(a: &Atom) -> Cond<D> {
    match a {
        Atom::Eq(col, v) => Cond::new(format!("{} = ?", col.name()), vec![D::text(v)]),
        Atom::EqNoCase(col, v) => Cond::new(D::eq_nocase(col.name()), vec![D::text(v)]),
        // Found by its id: a type is shared by many targets (every ticket), and its index,
        // ordered by time like the id's, would walk them all for one.
        Atom::Target { kind, id } => Cond::new(
            format!("(target_id = ? AND {} = ?)", D::check_only("target_type")),
            vec![D::text(id), D::text(kind)],
        ),
        Atom::Any => Cond::new("true", vec![]),
    }
}

/// Conditions OR-ed as a balanced tree (see [`any_of`]).
fn or<D: Dialect>(conds: Vec<Cond<D>>) -> Cond<D> {
    let sql: Vec<&str> = conds.iter().map(|c| c.sql.as_str()).collect();
    let sql = any_of(&sql);
    Cond::new(sql, conds.into_iter().flat_map(|c| c.params).collect())
}

/// The rows a filter reads where the engine defers its secondary indexes ([`Deferred`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Every row (the engine keeps every index at commit, or the read needs none).
    All,
    /// The rows in the deferred indexes.
    Indexed,
    /// The rows not yet in them.
    Pending,
}

/// A [`Plan`] compiled for one tenant in dialect `D`: what every statement of a read is built
/// from (see `statements`).
#[derive(Debug)]
pub struct Filter<D: Dialect> {
    tenant: String,
    /// How the tenant is tested: `tenant = ?` unless a dialect hides it from its indexes.
    tenant_sql: &'static str,
    /// One OR-group per included field, its atoms apart (a page may split on one).
    groups: Vec<Vec<Cond<D>>>,
    /// Excluded values: conditions every row must meet.
    plain: Vec<Cond<D>>,
    /// What a dialect adds to narrow the rows an index lists (SQLite's trigram candidates): a
    /// row it leaves out is one the search terms leave out too. Not applied to rows no index
    /// lists yet ([`Deferred`]), nor to the stream's new rows.
    narrowing: Vec<Cond<D>>,
    /// The search terms, apart: a dialect may read a page without them first.
    text: Vec<Cond<D>>,
    from: Option<i64>,
    to: Option<i64>,
    /// Further bounds a dialect adds (PostgreSQL's recent partitions).
    bounds: Vec<Cond<D>>,
    /// The table to read from (SQLite may forbid its ordered indexes).
    source: &'static str,
    /// Whether the rollups can count it: it names only the fields they keep (and no search
    /// term, and nothing a dialect required).
    rollup: bool,
    /// Whether a dialect added a condition of its own ([`Filter::narrow`]).
    required: bool,
    /// Which rows it reads where the engine defers its indexes ([`Filter::arms`]).
    side: Side,
}

impl<D: Dialect> Clone for Filter<D> {
    fn clone(&self) -> Self {
        Filter {
            tenant: self.tenant.clone(),
            tenant_sql: self.tenant_sql,
            groups: self.groups.clone(),
            plain: self.plain.clone(),
            narrowing: self.narrowing.clone(),
            text: self.text.clone(),
            from: self.from,
            to: self.to,
            bounds: self.bounds.clone(),
            source: self.source,
            rollup: self.rollup,
            required: self.required,
            side: self.side,
        }
    }
}

impl<D: Dialect> Filter<D> {
    /// Compiles `plan` for `tenant`.
    pub fn new(tenant: &str, plan: &Plan) -> Filter<D> {
        let groups = plan
            .include
            .iter()
            .map(|g| g.iter().map(atom::<D>).collect())
            .collect();
        // No index gives the rows without a value in time order: an exclusion is checked on
        // the rows the other terms (or the time index) bring.
        let plain = plan
            .exclude
            .iter()
            .map(|g| {
                let any = or(g.iter().map(atom::<D>).collect());
                Cond::new(format!("NOT COALESCE(({}), false)", any.sql), any.params)
            })
            .collect();
        Filter {
            tenant: tenant.to_string(),
            tenant_sql: "tenant = ?",
            groups,
            plain,
            narrowing: Vec::new(),
            text: plan.text.iter().map(|t| D::text_term(t)).collect(),
            from: plan.from,
            to: plan.to,
            bounds: Vec::new(),
            source: "entries",
            rollup: plan
                .include
                .iter()
                .chain(&plan.exclude)
                .flatten()
                .all(Atom::in_rollups),
            required: false,
            side: Side::All,
        }
    }

    /// The inclusive `occurred_at` bounds, in ms.
    pub fn time_range(&self) -> (Option<i64>, Option<i64>) {
        (self.from, self.to)
    }

    /// Adds a condition that narrows the rows an index lists to those the search terms may
    /// match (checked before the terms). It is left out wherever rows are read that no index
    /// lists yet.
    pub fn narrow(&mut self, cond: Cond<D>) {
        self.narrowing.push(cond);
        self.required = true;
    }

    /// The filter without what [`Filter::narrow`] added: for rows no index lists yet.
    pub(super) fn unnarrowed(&self) -> Filter<D> {
        let mut f = self.clone();
        f.narrowing.clear();
        f
    }

    /// The two sides of a read where the engine defers its secondary indexes ([`Deferred`]) and
    /// this filter would use one (it names a field, or a dialect narrowed it through an index):
    /// the indexed rows, and the pending ones. `None` where one read sees every row: the time
    /// index is kept at commit, so a filter of exclusions, terms and times needs no second side.
    pub(super) fn arms(&self) -> Option<(Filter<D>, Filter<D>, Deferred)> {
        let deferred = D::DEFERRED?;
        if self.side != Side::All || (self.groups.is_empty() && self.narrowing.is_empty()) {
            return None;
        }
        let mut indexed = self.clone();
        indexed.side = Side::Indexed;
        indexed.tenant_sql = deferred.indexed;
        let mut pending = self.unnarrowed();
        pending.side = Side::Pending;
        pending.tenant_sql = deferred.pending;
        pending.source = deferred.pending_source;
        Some((indexed, pending, deferred))
    }

    /// Adds a bound on the rows read, like the time range.
    pub fn bound(&mut self, cond: Cond<D>) {
        self.bounds.push(cond);
    }

    /// Reads from `source` (a table expression) instead of `entries`.
    pub fn read_from(&mut self, source: &'static str) {
        self.source = source;
    }

    /// Tests the tenant with `sql` (one `?`) instead of `tenant = ?`.
    pub fn tenant_as(&mut self, sql: &'static str) {
        self.tenant_sql = sql;
    }

    /// True when some field's values matched nothing (an action prefix no action has).
    pub fn matches_nothing(&self) -> bool {
        self.groups.iter().any(Vec::is_empty)
    }

    /// `tenant = ? AND …` over every condition, the search terms included when `text`, with
    /// group `skip` left out, and `extra` added last.
    pub(super) fn where_clause(
        &self,
        skip: Option<usize>,
        text: bool,
        extra: &[&Cond<D>],
    ) -> (String, Vec<D::Value>) {
        let tenant = Cond::new(self.tenant_sql, vec![D::text(&self.tenant)]);
        self.conjunction(&tenant, skip, text, extra)
    }

    /// `first AND …`: every condition but group `skip`'s, the search terms when `text`, and
    /// `extra` last.
    pub(super) fn conjunction(
        &self,
        first: &Cond<D>,
        skip: Option<usize>,
        text: bool,
        extra: &[&Cond<D>],
    ) -> (String, Vec<D::Value>) {
        let mut sql = first.sql.clone();
        let mut params = first.params.clone();
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
        let text = self.text.iter().filter(|_| text);
        let all = self.plain.iter().chain(&self.narrowing);
        for c in all.chain(text).chain(extra.iter().copied()) {
            sql.push_str(" AND ");
            sql.push_str(&c.sql);
            params.extend(c.params.iter().cloned());
        }
        (sql, params)
    }

    /// The time bounds and the dialect's own, for a statement at `cursor`.
    pub(super) fn ranges(&self, cursor: Option<(Order, i64)>) -> Vec<Cond<D>> {
        let mut out = D::range(self.from, self.to, cursor);
        out.extend(self.bounds.iter().cloned());
        out
    }

    /// The field of several values a statement is split on (the one with the most, up to
    /// [`MAX_BRANCHES`]), if any. The pending rows are few and walked once, in page order, with
    /// every value tested on each: never one walk per value.
    fn driving_group(&self) -> Option<usize> {
        if self.side == Side::Pending {
            return None;
        }
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.len() > 1 && g.len() <= MAX_BRANCHES)
            .max_by_key(|(_, g)| g.len())
            .map(|(i, _)| i)
    }

    /// The whole filter as one WHERE clause (counts, facets and stats). A field of several
    /// values is counted as one `tenant AND value` index range per value, combined as the
    /// dialect says ([`Dialect::union_of`]): with the tenant only outside an OR, SQLite read
    /// the tenant's every row, and a count of `actor:u_17` (an id, or a name in any case) took
    /// 206 ms for a dozen matches among 60,000 entries (BENCHMARKS.md, issue 27).
    /// Returns the clause, its parameters and the table expression to read the rows from.
    /// Where the engine defers its indexes ([`Filter::arms`]), that expression is the matches
    /// of both sides, and the clause `true`.
    pub fn where_all(&self) -> (String, Vec<D::Value>, String) {
        if let Some((indexed, pending, deferred)) = self.arms() {
            let (w, mut params, source) = indexed.where_all();
            let range = pending.ranges(None);
            let range: Vec<&Cond<D>> = range.iter().collect();
            let (pw, pp) = pending.where_clause(None, true, &range);
            params.extend(pp);
            let cols = deferred.counted_columns;
            let both = format!(
                "(SELECT {cols} FROM {source} WHERE {w} UNION ALL SELECT {cols} FROM {} WHERE {pw}) AS matched",
                pending.source
            );
            return ("true".into(), params, both);
        }
        let range = self.ranges(None);
        let mut extra: Vec<&Cond<D>> = range.iter().collect();
        let all = |extra: &[&Cond<D>]| {
            let (w, params) = self.where_clause(None, true, extra);
            (w, params, self.source.to_string())
        };
        let Some(d) = self.driving_group() else {
            return all(&extra);
        };
        let branches: Vec<Cond<D>> = self.groups[d]
            .iter()
            .map(|a| {
                let mut params = vec![D::text(&self.tenant)];
                params.extend(a.params.iter().cloned());
                Cond::new(format!("{} AND {}", self.tenant_sql, a.sql), params)
            })
            .collect();
        let sql: Vec<&str> = branches.iter().map(|b| b.sql.as_str()).collect();
        let Some((union, source)) = D::union_of(&sql) else {
            return all(&extra);
        };
        let union = Cond::new(union, branches.into_iter().flat_map(|b| b.params).collect());
        extra.push(&union);
        let (w, params) = self.where_clause(Some(d), true, &extra);
        (w, params, source.to_string())
    }
}

/// A count, seq or limit as an SQL integer. They are far below `i64::MAX` (a seq counts
/// entries; a cursor's seq that is not is no row's, and `i64::MAX` matches as no row would),
/// so saturating is exact in practice and never wraps to a negative.
pub fn sql_int(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}
