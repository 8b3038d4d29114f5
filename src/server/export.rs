//! `GET /v1/export`: the filtered log as CSV, JSON or NDJSON, streamed in constant memory,
//! and recorded in the log itself.

use super::auth::Caller;
use super::error::Failure;
use super::{AppState, params};
use crate::export::{ChunkSender, Exporter, Format, filters_json};
use crate::model::{ApiError, Kind, NewEvent, Order, Query};
use crate::store::Store;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::io;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Streams the export and records it.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("export the log")?;
    let (query, rest) = params::filter(raw.as_deref(), &["format", "order", "name"])?;
    let name = export_name(params::text(&rest, "name"))?;
    let format = match params::text(&rest, "format") {
        None => Format::Csv,
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::invalid_query(format!(
                "format=`{}` is not csv, json or ndjson",
                f.chars().take(32).collect::<String>()
            ))
            .with_field("format")
        })?,
    };
    // Oldest first: an export is read as a trail, and a SIEM ingests it in order.
    let order = params::text(&rest, "order")
        .map(Order::parse)
        .transpose()?
        .unwrap_or(Order::Asc);
    let now = Utc::now();
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
    let store = state.store.clone();
    let caller = caller.0.clone();
    tokio::task::spawn_blocking(move || run(store, caller, query, format, order, name, now, tx));
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let disposition = format!("attachment; filename=\"{}\"", format.file_name(&now));
    Ok((
        [
            (CONTENT_TYPE, format.content_type().to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// What the export history calls an export: at most 200 characters, not blank.
fn export_name(name: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(n) = name.map(str::trim) else {
        return Ok(None);
    };
    if n.is_empty() || n.chars().count() > 200 {
        return Err(
            ApiError::invalid_query("name must be 1 to 200 characters (or left out)")
                .with_field("name"),
        );
    }
    Ok(Some(n.to_string()))
}

#[allow(clippy::too_many_arguments)]
fn run(
    store: Arc<dyn Store>,
    caller: crate::store::TokenRecord,
    query: Query,
    format: Format,
    order: Order,
    name: Option<String>,
    now: DateTime<Utc>,
    tx: mpsc::Sender<io::Result<Bytes>>,
) {
    let filters = filters_json(&query, now);
    let errors = tx.clone();
    let sink = ChunkSender::new(tx, |chunk| Ok(Bytes::from(chunk)));
    let mut failure: Option<String> = None;
    let mut rows = 0;
    match Exporter::begin(format, sink, &now, &filters) {
        Err(e) => failure = Some(e.to_string()),
        Ok(mut exporter) => {
            let scanned = store.scan(&caller.tenant, &query, order, now, &mut |e| match exporter
                .entry(&e)
            {
                Ok(()) => true,
                Err(err) => {
                    failure = Some(err.to_string());
                    false
                }
            });
            rows = exporter.rows();
            if let Err(e) = scanned {
                failure.get_or_insert(e.to_string());
            }
            if failure.is_none()
                && let Err(e) = exporter.finish()
            {
                failure = Some(e.to_string());
            }
        }
    }
    if let Some(why) = &failure {
        tracing::warn!(rows, "export stopped: {why}");
        // Ending the body with an error aborts the response, so the client sees a truncated
        // transfer rather than a file that looks complete.
        let _ = errors.blocking_send(Err(io::Error::other(why.clone())));
    }
    let mut details = json!({"format": format.as_str(), "filters": filters, "rows": rows, "complete": failure.is_none(), "role": caller.role.as_str()});
    if let Some(name) = name {
        details["name"] = json!(name);
    }
    let event = NewEvent {
        action: "audit_log.exported".into(),
        kind: Some(Kind::Other),
        channel: Some("audit".into()),
        description: Some(format!(
            "{} entries exported as {}{}",
            rows,
            format.as_str(),
            if failure.is_some() {
                " (stopped before the end)"
            } else {
                ""
            }
        )),
        actor: Some(super::auth::token_actor(&caller)),
        details: Some(details),
        ..NewEvent::default()
    };
    if let Err(e) = store.append(&caller.tenant, vec![event]) {
        tracing::error!("could not record the export in the log: {e}");
    }
}
