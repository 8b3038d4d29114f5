//! Counts, facets and the histogram of a compiled [`Filter`]. A filter on the fields the
//! rollups keep (channel, kind, outcome, action, target type, and time) is counted from them:
//! its range cut into whole days, hours and minutes ([`rollup::cover`]), the rollup rows of
//! each summed, and only the entries at its edges that fill no whole minute counted one by one.
//! Any other filter (an actor, a target, an IP, an id, a search term) counts its matches.

use super::{Cond, Dialect, Filter, Statement, sql_int};
use crate::model::{FacetField, Order};
use crate::store::PageRequest;
use crate::store::rollup::{self, Piece};

/// The value and label a facet counts among the entries.
fn facet_columns<D: Dialect>(field: FacetField) -> (&'static str, &'static str) {
    match field {
        FacetField::Action => ("action", D::NULL_TEXT),
        FacetField::Channel => ("channel", D::NULL_TEXT),
        FacetField::Kind => ("kind", D::NULL_TEXT),
        FacetField::Outcome => ("outcome", D::NULL_TEXT),
        FacetField::TargetType => ("target_type", D::NULL_TEXT),
        FacetField::Actor => ("COALESCE(actor_id, actor_email)", "MAX(actor_name)"),
    }
}

/// Whether the rollups keep `field` (under the column [`facet_columns`] names).
fn in_rollups(field: FacetField) -> bool {
    field != FacetField::Actor
}

/// One part of a count: the `SELECT` that gives its rows, and their parameters.
struct Part<D: Dialect> {
    sql: String,
    params: Vec<D::Value>,
}

/// The parts' rows as one table, `parts`.
fn union_all<D: Dialect>(parts: Vec<Part<D>>) -> Statement<D> {
    let sql: Vec<String> = parts.iter().map(|p| p.sql.clone()).collect();
    let params = parts.into_iter().flat_map(|p| p.params).collect();
    (format!("({}) AS parts", sql.join(" UNION ALL ")), params)
}

/// The value and label a walk reads for a facet of `field`.
fn walk_columns<D: Dialect>(field: Option<FacetField>) -> (&'static str, &'static str) {
    match field {
        None => (D::NULL_TEXT, D::NULL_TEXT),
        Some(FacetField::Actor) => ("COALESCE(actor_id, actor_email)", "actor_name"),
        Some(f) => (facet_columns::<D>(f).0, D::NULL_TEXT),
    }
}

impl<D: Dialect> Filter<D> {
    /// Whether its count may be estimated ([`super::counting`]): it has search terms, and no
    /// dialect has made them cheap to count (SQLite reads a rare term's few candidates).
    pub fn estimable(&self) -> bool {
        !self.text.is_empty() && !self.required && !self.matches_nothing()
    }

    /// The filter without its search terms: the rest of it.
    pub fn without_text(&self) -> Filter<D> {
        let mut rest = self.clone();
        rest.text.clear();
        rest
    }

    /// `occurred_at, hit, value, label` of the newest `window` matches of the rest of the filter
    /// (an ordered walk, as a page reads them): `hit` is 1 where the search terms are in the
    /// row, `value` and `label` the row's `facet`.
    pub fn walk_sql(&self, window: usize, facet: Option<FacetField>) -> Statement<D> {
        let (value, label) = walk_columns::<D>(facet);
        let columns = format!(
            "occurred_at, seq, {value} AS v, {label} AS l, {}",
            D::TEXT_COLUMNS
        );
        let newest = PageRequest {
            limit: window,
            order: Order::Desc,
            cursor: None,
        };
        let (inner, inner_params) = self.without_text().page_select(&columns, &newest);
        let terms: Vec<&str> = self.text.iter().map(|c| c.sql.as_str()).collect();
        let mut params: Vec<D::Value> = self
            .text
            .iter()
            .flat_map(|c| c.params.iter().cloned())
            .collect();
        params.extend(inner_params);
        let sql = format!(
            "SELECT occurred_at, CASE WHEN {} THEN 1 ELSE 0 END, v, l FROM ({inner}) AS newest",
            terms.join(" AND ")
        );
        (D::finish(sql), params)
    }

    /// The pieces of the filter's time range the rollups can count, widest `widest`; `None`
    /// when its matches must be counted.
    fn pieces(&self, widest: Option<usize>) -> Option<Vec<Piece>> {
        if !self.rollup || self.required || !self.text.is_empty() || self.matches_nothing() {
            return None;
        }
        let pieces = rollup::cover(self.from, self.to, widest?);
        if pieces.is_empty() {
            // An empty range (`from` after `to`): one piece that reads no entry, so that every
            // statement still has a part.
            let (from, to) = (self.from.unwrap_or(0), self.to.unwrap_or(0));
            return Some(vec![Piece::Entries { from, to }]);
        }
        Some(pieces)
    }

    /// `tenant = ? AND …` over the rollup rows of `width` in slots `from..=to`.
    fn rollup_where(&self, width: i64, from: Option<i64>, to: Option<i64>) -> Statement<D> {
        let mut extra = vec![Cond::new("width = ?", vec![D::int(width)])];
        if let Some(from) = from {
            extra.push(Cond::new("slot >= ?", vec![D::int(from)]));
        }
        if let Some(to) = to {
            extra.push(Cond::new("slot <= ?", vec![D::int(to)]));
        }
        let extra: Vec<&Cond<D>> = extra.iter().collect();
        let tenant = Cond::new("tenant = ?", vec![D::text(&self.tenant)]);
        self.conjunction(&tenant, None, false, &extra)
    }

    /// The filter over the entries in `from..=to` only.
    fn within(&self, from: i64, to: i64) -> Filter<D> {
        let mut part = self.clone();
        part.from = Some(from);
        part.to = Some(to);
        part
    }

    /// For each piece, `select` over the rollup rows (`counted` is `sum(n)`) or over the
    /// entries (`counted` is `count(*)`): `select(table, where, counted)` → the part's SQL
    /// with its leading parameters.
    fn parts(
        &self,
        pieces: &[Piece],
        select: impl Fn(&str, &str, &str, bool) -> (String, Vec<D::Value>),
    ) -> Vec<Part<D>> {
        pieces
            .iter()
            .map(|piece| {
                let (table, counted, (w, params), rolled) = match *piece {
                    Piece::Slots { width, from, to } => (
                        "rollups",
                        "sum(n)",
                        self.rollup_where(width, from, to),
                        true,
                    ),
                    Piece::Entries { from, to } => {
                        let edge = self.within(from, to);
                        let range = edge.ranges(None);
                        let range: Vec<&Cond<D>> = range.iter().collect();
                        (
                            D::TIME_ORDERED,
                            "count(*)",
                            edge.where_clause(None, true, &range),
                            false,
                        )
                    }
                };
                let (sql, mut lead) = select(table, &w, counted, rolled);
                lead.extend(params);
                Part { sql, params: lead }
            })
            .collect()
    }

    /// One row: how many entries match, and the first and last `occurred_at` among them (the
    /// last two only where the filter has no start: a histogram needs them then alone).
    pub fn extent_sql(&self) -> Statement<D> {
        let Some(pieces) = self.pieces(Some(rollup::WIDTHS.len() - 1)) else {
            let (w, params, source) = self.where_all();
            let sql = format!(
                "SELECT count(*), min(occurred_at), max(occurred_at) FROM {source} WHERE {w}"
            );
            return (D::finish(sql), params);
        };
        let parts = self.parts(&pieces, |table, w, counted, _| {
            (
                format!("SELECT {counted} AS c FROM {table} WHERE {w}"),
                vec![],
            )
        });
        let (parts, mut params) = union_all(parts);
        let mut sql = format!("SELECT (SELECT CAST(COALESCE(sum(c), 0) AS BIGINT) FROM {parts})");
        for order in [Order::Asc, Order::Desc] {
            if self.from.is_some() {
                sql.push_str(", CAST(NULL AS BIGINT)");
                continue;
            }
            let edge = PageRequest {
                limit: 1,
                order,
                cursor: None,
            };
            let (first, p) = self.page_select("occurred_at, seq", &edge);
            sql.push_str(&format!(", (SELECT occurred_at FROM ({first}) AS edge)"));
            params.extend(p);
        }
        (D::finish(sql), params)
    }

    /// `bucket, count` rows: the matches per bar of `width_ms` from `start` (bar 0).
    pub fn histogram_sql(&self, start: i64, width_ms: i64) -> Statement<D> {
        let Some(pieces) = self.pieces(rollup::widest_for_bars(start, width_ms)) else {
            let (w, where_params, source) = self.where_all();
            let mut params = vec![D::int(start), D::int(width_ms)];
            params.extend(where_params);
            let sql = format!(
                "SELECT (occurred_at - ?) / ? AS bucket, count(*) FROM {source} WHERE {w} GROUP BY bucket"
            );
            return (D::finish(sql), params);
        };
        let parts = self.parts(&pieces, |table, w, counted, rolled| {
            let at = if rolled { "slot" } else { "occurred_at" };
            (
                format!(
                    "SELECT ({at} - ?) / ? AS bucket, {counted} AS c FROM {table} WHERE {w} GROUP BY bucket"
                ),
                vec![D::int(start), D::int(width_ms)],
            )
        });
        let (parts, params) = union_all(parts);
        let sql = format!("SELECT bucket, CAST(sum(c) AS BIGINT) FROM {parts} GROUP BY bucket");
        (D::finish(sql), params)
    }

    /// The `limit` most common values of `field` among the matches, with their counts and a
    /// label (an actor's name): `value, count, label` rows.
    pub fn facet_sql(&self, field: FacetField, limit: usize) -> Statement<D> {
        let pieces = self
            .pieces(Some(rollup::WIDTHS.len() - 1))
            .filter(|_| in_rollups(field));
        let (col, label) = facet_columns::<D>(field);
        let Some(pieces) = pieces else {
            let (w, mut params, source) = self.where_all();
            params.push(D::int(sql_int(limit)));
            let sql = format!(
                "SELECT {col} AS v, count(*) AS c, {label} FROM {source} WHERE {w} AND {col} IS NOT NULL \
                 GROUP BY v ORDER BY c DESC, v LIMIT ?"
            );
            return (D::finish(sql), params);
        };
        let parts = self.parts(&pieces, |table, w, counted, rolled| {
            // The rollups hold "no target type" as '' (see `rollup::COLUMNS`).
            let present = if rolled {
                format!("{col} <> ''")
            } else {
                format!("{col} IS NOT NULL")
            };
            (
                format!(
                    "SELECT {col} AS v, {counted} AS c FROM {table} WHERE {w} AND {present} GROUP BY v"
                ),
                vec![],
            )
        });
        let (parts, mut params) = union_all(parts);
        params.push(D::int(sql_int(limit)));
        let sql = format!(
            "SELECT v, CAST(sum(c) AS BIGINT) AS total, {label} FROM {parts} GROUP BY v \
             ORDER BY total DESC, v LIMIT ?"
        );
        (D::finish(sql), params)
    }
}
