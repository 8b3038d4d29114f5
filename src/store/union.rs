//! Reading several filters as one: entries matching any, in (`occurred_at`, `seq`) order, once
//! each, streamed page by page (an evidence pack's "auth events and role changes").

use super::{PageRequest, Store, StoreError};
use crate::model::{Cursor, Entry, Order, Query};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;

/// Rows fetched per page while merging.
const PAGE: usize = 500;

/// One filter's entries, oldest first, a page at a time.
struct Pages<'a> {
    store: &'a dyn Store,
    tenant: &'a str,
    query: &'a Query,
    now: DateTime<Utc>,
    next: Option<PageRequest>,
    buf: VecDeque<Entry>,
}

impl Pages<'_> {
    async fn peek(&mut self) -> Result<Option<&Entry>, StoreError> {
        if self.buf.is_empty()
            && let Some(req) = self.next.take()
        {
            let page = self
                .store
                .page(self.tenant, self.query, &req, self.now)
                .await?;
            if page.next_cursor.is_some()
                && let Some(last) = page.entries.last()
            {
                let cursor = Cursor {
                    occurred_at_ms: last.occurred_at.timestamp_millis(),
                    seq: last.seq,
                    order: Order::Asc,
                };
                self.next = Some(PageRequest {
                    cursor: Some(cursor),
                    ..req
                });
            }
            self.buf.extend(page.entries);
        }
        Ok(self.buf.front())
    }
}

/// Hands every entry that matches any of `queries` to `sink`, oldest first, each once.
pub async fn scan_any(
    store: &dyn Store,
    tenant: &str,
    queries: &[Query],
    now: DateTime<Utc>,
    sink: &mut (dyn FnMut(Entry) -> Result<(), StoreError> + Send),
) -> Result<u64, StoreError> {
    let first = PageRequest {
        limit: PAGE,
        order: Order::Asc,
        cursor: None,
    };
    let mut streams: Vec<Pages<'_>> = queries
        .iter()
        .map(|query| Pages {
            store,
            tenant,
            query,
            now,
            next: Some(first),
            buf: VecDeque::new(),
        })
        .collect();
    let mut n = 0;
    loop {
        // The smallest key among the streams' heads; every stream holding it advances.
        let mut least: Option<(i64, u64)> = None;
        for s in &mut streams {
            if let Some(e) = s.peek().await? {
                let key = (e.occurred_at.timestamp_millis(), e.seq);
                if least.is_none_or(|l| key < l) {
                    least = Some(key);
                }
            }
        }
        let Some(key) = least else { return Ok(n) };
        let mut taken = None;
        for s in &mut streams {
            if s.peek()
                .await?
                .is_some_and(|e| (e.occurred_at.timestamp_millis(), e.seq) == key)
            {
                taken = s.buf.pop_front();
            }
        }
        if let Some(e) = taken {
            sink(e)?;
            n += 1;
        }
    }
}
