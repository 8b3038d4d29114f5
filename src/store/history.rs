//! The export history: a view over the log's own records of exports and evidence packs, read
//! through [`Store::page`] like any other query, so every store has it and no route needs SQL.
//!
//! An export is recorded twice: `audit_log.exported` before its first byte (details
//! `{"format", "filters", "role", "status": "started", "name"?}`) and
//! `audit_log.export_finished` after its end (`{"export_seq", "rows", "status", "reason"?}`).
//! A start without a finish is `incomplete`: the server stopped mid-way, or it is still running.
//! Exports recorded once, after the end (`{"rows", "complete": bool}`, as the server wrote them
//! before exports were recorded up front), are read too. A pack is recorded once, before it is
//! sent (`evidence_pack.exported`), so it is `completed`.

use super::{PageRequest, Store, StoreError};
use crate::model::names::action::{EXPORT_FINISHED, EXPORTED, PACK_EXPORTED};
use crate::model::names::{channel, export_status};
use crate::model::{Cursor, Entry, ExportRecord, ExportStatus, Order, Query};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;

/// The tenant's `limit` newest exports and packs, newest first; only those recorded before
/// `before_seq` when it is given (the next page).
pub async fn exports(
    store: &dyn Store,
    tenant: &str,
    limit: usize,
    before_seq: Option<u64>,
    now: DateTime<Utc>,
) -> Result<Vec<ExportRecord>, StoreError> {
    let query = Query {
        actions: [EXPORTED, EXPORT_FINISHED, PACK_EXPORTED]
            .map(String::from)
            .to_vec(),
        channels: vec![channel::AUDIT.into()],
        ..Query::default()
    };
    let mut finished: HashMap<u64, Entry> = HashMap::new();
    let mut out = Vec::new();
    let mut req = PageRequest {
        limit: 500,
        order: Order::Desc,
        cursor: None,
    };
    // Records are in (occurred_at, seq) order, which for these server-written entries is the
    // order they were appended in: a finish is always met before its start.
    loop {
        let page = store.page(tenant, &query, &req, now).await?;
        let more = page.next_cursor.is_some();
        let mut last = None;
        for e in page.entries {
            last = Some(Cursor {
                occurred_at_ms: e.occurred_at.timestamp_millis(),
                seq: e.seq,
                order: Order::Desc,
            });
            if e.action == EXPORT_FINISHED {
                if let Some(start) = e
                    .details
                    .as_ref()
                    .and_then(|d| d.to_value()["export_seq"].as_u64())
                {
                    finished.insert(start, e);
                }
                continue;
            }
            if before_seq.is_some_and(|b| e.seq >= b) {
                continue;
            }
            let finish = finished.remove(&e.seq);
            out.push(record(e, finish));
            if out.len() >= limit {
                return Ok(out);
            }
        }
        match (more, last) {
            (true, Some(c)) => req.cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

/// One record from its entry (and, for an export, the entry that recorded its end).
fn record(e: Entry, finish: Option<Entry>) -> ExportRecord {
    let d = e.details.as_ref().map_or(Value::Null, |d| d.to_value());
    let text = |v: &Value| v.as_str().map(str::to_string);
    let pack = e.action == PACK_EXPORTED;
    let filter = if pack {
        match &d["filters"] {
            Value::Array(lines) => lines
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" | "),
            other => text(other).unwrap_or_default(),
        }
    } else {
        text(&d["filters"]["filter"]).unwrap_or_default()
    };
    let (from, to) = if pack {
        (text(&d["from"]), text(&d["to"]))
    } else {
        (text(&d["filters"]["from"]), text(&d["filters"]["to"]))
    };
    let (status, rows, reason) = if pack {
        (ExportStatus::Completed, d["rows"].as_u64(), None)
    } else if d["status"].as_str() == Some(export_status::STARTED) {
        match finish.and_then(|f| f.details).map(|f| f.to_value()) {
            Some(f) => (
                match f["status"].as_str() {
                    Some(export_status::COMPLETED) => ExportStatus::Completed,
                    Some(export_status::FAILED) => ExportStatus::Failed,
                    _ => ExportStatus::Incomplete,
                },
                f["rows"].as_u64(),
                text(&f["reason"]),
            ),
            None => (ExportStatus::Incomplete, None, None),
        }
    } else {
        // Recorded once, after the end.
        let complete = d["complete"].as_bool().unwrap_or(true);
        (
            if complete {
                ExportStatus::Completed
            } else {
                ExportStatus::Incomplete
            },
            d["rows"].as_u64(),
            None,
        )
    };
    ExportRecord {
        seq: e.seq,
        at: e.received_at,
        name: text(&d["name"]),
        actor: e.actor,
        what: if pack { "evidence_pack" } else { "export" }.into(),
        format: if pack { None } else { text(&d["format"]) },
        kind: if pack { text(&d["kind"]) } else { None },
        title: if pack { text(&d["title"]) } else { None },
        filter,
        from,
        to,
        rows,
        status,
        reason,
    }
}
