//! Audited reads: a search of the log writes `audit_log.searched` (the caller, the filter), at
//! most once per token and distinct filter every [`WINDOW`], so reading the log never floods it.
//!
//! What counts as a search: the first page of `GET /v1/events` (no `cursor`) under a filter —
//! what a person does when they ask the log a question. Later pages of the same question
//! (`cursor`), `GET /v1/stats` and `GET /v1/facets` (the count, histogram and filter panes drawn
//! beside it), `GET /v1/stream` (following it live) and `GET /v1/events/{id}` (opening one entry
//! found) are not: they are parts of a search already recorded. Exports and packs are recorded
//! on their own (`audit_log.exported`, `evidence_pack.exported`).
//!
//! Recording is best effort and never blocks the read: a log that cannot take the entry (a full
//! disk) must not blind an investigator; the failure is logged and the next search tries again.
//! Exports, which carry the log away, are the reads that fail closed.
//! The window is kept in this process: replicas behind a load balancer each coalesce their own.

use super::schedule::{Clock, SystemClock};
use crate::export::filters_json;
use crate::model::{Kind, NewEvent, Query, names};
use crate::store::{Store, TokenRecord};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One entry per token and filter in this long.
pub const WINDOW: Duration = Duration::minutes(10);

/// At most this many (token, filter) pairs are remembered; past it the stale ones are dropped
/// (and, should all be fresh, all of them: more entries then, never fewer).
const MAX_REMEMBERED: usize = 100_000;

/// The clock the window is measured with (injectable, so tests need not wait ten minutes).
#[derive(Clone)]
pub struct SearchClock(pub Arc<dyn Clock>);

impl Default for SearchClock {
    fn default() -> Self {
        SearchClock(Arc::new(SystemClock))
    }
}

impl std::fmt::Debug for SearchClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchClock")
    }
}

/// When each (token id, filter) was last recorded; no clock when searches are not audited.
#[derive(Default)]
pub struct SearchAudit {
    clock: Option<SearchClock>,
    recorded: Mutex<HashMap<(String, String), DateTime<Utc>>>,
}

impl SearchAudit {
    pub fn new(clock: Option<SearchClock>) -> SearchAudit {
        SearchAudit {
            clock,
            recorded: Mutex::default(),
        }
    }

    /// Claims the window for (token, filter): true when a new entry is due now.
    fn claim(&self, key: &(String, String)) -> bool {
        let Some(clock) = &self.clock else {
            return false;
        };
        let now = clock.0.now();
        let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        if recorded.get(key).is_some_and(|at| now - *at < WINDOW) {
            return false;
        }
        if recorded.len() >= MAX_REMEMBERED {
            recorded.retain(|_, at| now - *at < WINDOW);
            if recorded.len() >= MAX_REMEMBERED {
                recorded.clear();
            }
        }
        recorded.insert(key.clone(), now);
        true
    }

    /// Gives a claim back when its entry could not be written, so the next search retries.
    fn release(&self, key: &(String, String)) {
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Records that `caller` searched with `query`, unless it did within the window. Runs on
    /// every first page (it may append); never fails the read.
    pub async fn record(
        &self,
        store: &dyn Store,
        caller: &TokenRecord,
        query: &Query,
        now: DateTime<Utc>,
    ) {
        let filter = query.to_string();
        let key = (caller.id.clone(), filter.clone());
        if !self.claim(&key) {
            return;
        }
        let event = NewEvent {
            action: names::action::SEARCHED.into(),
            kind: Some(Kind::Read),
            channel: Some(names::channel::AUDIT.into()),
            description: Some(if filter.is_empty() {
                "searched the whole log".to_string()
            } else {
                format!("searched the log for {filter}")
            }),
            actor: Some(super::auth::token_actor(caller)),
            details: Some(
                json!({"filters": filters_json(query, now), "role": caller.role.as_str()}).into(),
            ),
            ..NewEvent::default()
        };
        if let Err(e) = store.append(&caller.tenant, vec![event]).await {
            self.release(&key);
            tracing::warn!("a search could not be recorded (it was served): {e}");
        }
    }
}
