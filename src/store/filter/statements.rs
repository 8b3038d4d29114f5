//! The statements a read runs, built from a compiled [`Filter`]: keyset pages, the stream's
//! reads after a seq (counts, facets and the histogram are in `counts`).

use super::{Cond, Dialect, Filter, sql_int};
use crate::model::{Cursor, Order};
use crate::store::PageRequest;

/// `ORDER BY` for a page in `order`: the keyset every filter's index ends in.
fn order_by(order: Order) -> &'static str {
    match order {
        Order::Desc => "ORDER BY occurred_at DESC, seq DESC",
        Order::Asc => "ORDER BY occurred_at ASC, seq ASC",
    }
}

/// The rows after a page's cursor, in its order.
fn keyset<D: Dialect>(page: &PageRequest) -> Option<Cond<D>> {
    page.cursor.map(|c: Cursor| {
        let op = if page.order == Order::Desc { "<" } else { ">" };
        Cond::new(
            format!("(occurred_at, seq) {op} (?, ?)"),
            vec![D::int(c.occurred_at_ms), D::int(sql_int(c.seq))],
        )
    })
}

/// A statement and its parameters, in the dialect's placeholders.
pub type Statement<D> = (String, Vec<<D as Dialect>::Value>);

impl<D: Dialect> Filter<D> {
    /// A statement that returns no row, in the shape of a page.
    fn nothing(&self, columns: &str) -> Statement<D> {
        (format!("SELECT {columns} FROM entries WHERE false"), vec![])
    }

    /// One keyset page of `columns`. A field with several values is split into one ordered
    /// index scan per value, merged, so `kind:created kind:deleted` never sorts the whole log.
    pub fn page_sql(&self, columns: &str, page: &PageRequest) -> Statement<D> {
        let (sql, params) = self.page_select(columns, page);
        (D::finish(sql), params)
    }

    /// [`Filter::page_sql`] in `?` placeholders, to be part of a larger statement.
    pub(super) fn page_select(&self, columns: &str, page: &PageRequest) -> Statement<D> {
        if self.matches_nothing() {
            return self.nothing(columns);
        }
        let order_by = order_by(page.order);
        let limit = D::int(sql_int(page.limit));
        if let Some((indexed, pending, _)) = self.arms() {
            // Both sides in page order, each up to a page, merged.
            let (a, mut params) = indexed.page_select(columns, page);
            let (b, p) = pending.page_select(columns, page);
            params.extend(p);
            params.push(limit);
            let sql = format!(
                "{} UNION ALL {} {order_by} LIMIT ?",
                D::branch(&a),
                D::branch(&b)
            );
            return (sql, params);
        }
        let keyset = keyset::<D>(page);
        let range = self.ranges(page.cursor.map(|c| (page.order, c.occurred_at_ms)));
        let extra: Vec<&Cond<D>> = keyset.iter().chain(range.iter()).collect();
        let Some(d) = self.driving_group() else {
            let (w, mut params) = self.where_clause(None, true, &extra);
            params.push(limit);
            let sql = format!(
                "SELECT {columns} FROM {} WHERE {w} {order_by} LIMIT ?",
                self.source
            );
            return (sql, params);
        };
        let mut branches = Vec::new();
        let mut params = Vec::new();
        for atom in &self.groups[d] {
            let mut conds = extra.clone();
            conds.push(atom);
            let (w, p) = self.where_clause(Some(d), true, &conds);
            branches.push(D::branch(&format!(
                "SELECT {columns} FROM {} WHERE {w} {order_by} LIMIT ?",
                self.source
            )));
            params.extend(p);
            params.push(limit.clone());
        }
        params.push(limit);
        let sql = format!("{} {order_by} LIMIT ?", branches.join(" UNION "));
        (sql, params)
    }

    /// A page with search terms, read from the newest `window` rows that match every other
    /// condition (in page order, an index walk), the terms checked on each: `None` without
    /// terms. Exact when it returns a full page (the window is in page order, so nothing
    /// outside it comes first); with fewer rows the caller reads the page another way.
    pub fn text_walk_sql(
        &self,
        columns: &str,
        page: &PageRequest,
        window: i64,
    ) -> Option<Statement<D>> {
        if self.text.is_empty() || self.matches_nothing() {
            return None;
        }
        let order_by = order_by(page.order);
        let keyset = keyset::<D>(page);
        let range = self.ranges(page.cursor.map(|c| (page.order, c.occurred_at_ms)));
        let extra: Vec<&Cond<D>> = keyset.iter().chain(range.iter()).collect();
        let (inner, mut params) = self.where_clause(None, false, &extra);
        params.push(D::int(window));
        let terms: Vec<&str> = self.text.iter().map(|c| c.sql.as_str()).collect();
        params.extend(self.text.iter().flat_map(|c| c.params.iter().cloned()));
        params.push(D::int(sql_int(page.limit)));
        let sql = format!(
            "SELECT {columns} FROM (SELECT {columns}, search FROM {} WHERE {inner} \
             {order_by} LIMIT ?) AS newest WHERE {} {order_by} LIMIT ?",
            self.source,
            terms.join(" AND ")
        );
        Some((D::finish(sql), params))
    }

    /// Up to `limit` matching entries after `after_seq`, in seq order: `start` is the dialect's
    /// condition for "after that seq" and `order` how it walks from there. The rows are the
    /// newest, which no deferred index may list yet: what a dialect narrowed is left out.
    pub fn after_seq_sql(
        &self,
        columns: &str,
        start: Cond<D>,
        source: &str,
        order: &str,
        limit: usize,
    ) -> Statement<D> {
        if self.matches_nothing() {
            return self.nothing(columns);
        }
        let range = self.ranges(None);
        let mut extra: Vec<&Cond<D>> = vec![&start];
        extra.extend(range.iter());
        let (w, mut params) = self.unnarrowed().where_clause(None, true, &extra);
        params.push(D::int(sql_int(limit)));
        let sql = format!("SELECT {columns} FROM {source} WHERE {w} ORDER BY {order} LIMIT ?");
        (D::finish(sql), params)
    }
}
