//! `POST /v1/evidence-packs`: a zip of one kind of evidence over a period, for SOC 2,
//! ISO 27001 and NIS2 reviews, or of everything a filter matches (all about one incident),
//! recorded in the log as `evidence_pack.exported` before it is sent.

use super::AppState;
use super::auth::Caller;
use super::error::Failure;
use crate::export::evidence::{
    self, CUSTOM, KINDS, PackError, PackSpec, kind_title, pack_file_name,
};
use crate::model::{
    ApiError, ErrorCode, Kind, NewEvent, Order, PackRequest, Query, QueryParseError, TimeBound,
    from_millis, names,
};
use crate::store::{PageRequest, Store, StoreError, TokenRecord};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::io::{Read, Seek};

/// The longest title or name accepted, in characters.
const MAX_LABEL: usize = 200;

fn invalid(field: &str, message: String) -> Failure {
    Failure(ApiError::new(ErrorCode::InvalidQuery, message).with_field(field))
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Builds the pack, records it, and streams the zip.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PackRequest>, JsonRejection>,
) -> Result<Response, Failure> {
    caller.require_reader("make evidence packs")?;
    let Json(req) = body.map_err(|e| {
        super::error::body_rejection(
            "the body must be {\"kind\", \"from\", \"to\"} or {\"kind\": \"custom\", \"title\", \"filter\"}",
            e,
        )
    })?;
    let now = chrono::Utc::now();
    let (from, to) = (
        bound("from", req.from.as_deref(), false, now)?,
        bound("to", req.to.as_deref(), true, now)?,
    );
    let name = label("name", req.name.as_deref())?;
    let tenant = caller.tenant().to_string();
    let spec = if req.kind == CUSTOM {
        custom_spec(&state, &tenant, &req, (from, to), now).await?
    } else {
        kind_spec(&state, &req, (from, to))?
    };
    if spec.from > spec.to {
        return Err(invalid("from", "from lies after to".into()));
    }
    let token = caller.0.clone();
    let key = state.signer.clone();
    if let Some(signer) = &key {
        // No pack proves itself from a log the signer refuses to sign.
        signer.checkpoint(state.store.as_ref(), &tenant).await?;
    }
    let internal = |e: String| Failure::from(crate::store::StoreError::Internal(e));
    let out = tempfile::tempfile().map_err(|e| internal(format!("no room for the pack: {e}")))?;
    let (mut file, manifest) = evidence::build(
        state.store.as_ref(),
        &tenant,
        &spec,
        key.as_ref().map(|s| s.key()),
        Some(recorder(spec.title.clone(), name, token)),
        out,
    )
    .await
    .map_err(|e| match e {
        PackError::Store(s) => Failure::from(s),
        PackError::Unrecorded(s) => Failure::unrecorded("this evidence pack", Failure::from(s)),
        other => internal(other.to_string()),
    })?;
    if let Some(signer) = &key {
        // The pack's record was proven against a checkpoint signed after it: the signer takes
        // that tree into its memory too, or the pack is not sent.
        signer.checkpoint(state.store.as_ref(), &tenant).await?;
    }
    file.rewind()
        .map_err(|e| internal(format!("the pack could not be read back: {e}")))?;
    let file_name = pack_file_name(&manifest);
    Ok((
        [
            (CONTENT_TYPE, "application/zip".to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        stream_file(file),
    )
        .into_response())
}

/// A period's end as the request gave it (a date, time or age), resolved at `now`.
fn bound(
    field: &str,
    text: Option<&str>,
    is_end: bool,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Failure> {
    text.map(|t| {
        TimeBound::parse(t)
            .map(|b| b.resolve(now, is_end))
            .ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "{field} `{}` is not a date, time or age such as 2026-10-01 or 30d",
                        clip(t)
                    ),
                )
            })
    })
    .transpose()
}

/// A custom pack: everything its filter matches, over the period asked for or the filter's own.
async fn custom_spec(
    state: &AppState,
    tenant: &str,
    req: &PackRequest,
    (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
) -> Result<PackSpec, Failure> {
    let title = label("title", req.title.as_deref())?;
    let text = req.filter.as_deref().ok_or_else(|| {
        invalid(
            "filter",
            "a custom pack needs a filter, e.g. \"target:incident/INC-42\"".into(),
        )
    })?;
    let query: Query = text
        .parse()
        .map_err(|e: QueryParseError| invalid("filter", format!("filter: {e}")))?;
    let (from, to) = custom_period(state.store.as_ref(), tenant, &query, from, to, now).await?;
    let line = query.to_string();
    Ok(PackSpec {
        kind: CUSTOM.into(),
        title: title.unwrap_or_else(|| {
            if line.is_empty() {
                "Every entry".into()
            } else {
                line.clone()
            }
        }),
        filter_lines: vec![line],
        filters: vec![query],
        from,
        to,
    })
}

/// A pack of one of the configured kinds (access review, …): its filters over a period that
/// must be given; it takes no title or filter of its own.
fn kind_spec(
    state: &AppState,
    req: &PackRequest,
    (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
) -> Result<PackSpec, Failure> {
    let filters = state
        .evidence
        .filters(&req.kind)
        .ok_or_else(|| {
            invalid(
                "kind",
                format!(
                    "kind `{}` is not one of {}, {CUSTOM}",
                    clip(&req.kind),
                    KINDS.join(", ")
                ),
            )
        })?
        .map_err(|e| Failure(ApiError::internal(e.to_string())))?;
    for (field, given) in [("title", &req.title), ("filter", &req.filter)] {
        if given.is_some() {
            return Err(invalid(
                field,
                format!(
                    "only a {CUSTOM} pack takes a {field}; this is a {} pack",
                    req.kind
                ),
            ));
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::bad_request(format!(
            "a {} pack needs a period: {{\"kind\", \"from\", \"to\"}}",
            req.kind
        ))
        .into());
    };
    let lines = match req.kind.as_str() {
        "access_review" => state.evidence.access_review.clone(),
        "change_management" => state.evidence.change_management.clone(),
        _ => state.evidence.incident_response.clone(),
    };
    Ok(PackSpec {
        title: kind_title(&req.kind),
        kind: req.kind.clone(),
        filter_lines: lines,
        filters,
        from,
        to,
    })
}

/// The pack's entry in the log. Built, then recorded, then sent: a pack the log cannot record
/// is not sent (503), the same rule as an export's. The record names the SHA-256 of every file
/// and of the manifest, and goes into the pack with its proof (export/evidence.rs,
/// RECORD_FILE).
fn recorder(title: String, name: Option<String>, token: TokenRecord) -> evidence::Recorder {
    Box::new(move |manifest, manifest_sha| {
        let mut details = json!({"kind": manifest.kind, "title": title, "filters": manifest.filters,
                                 "from": manifest.from, "to": manifest.to, "rows": manifest.rows,
                                 "files": manifest.files, "manifest_sha256": manifest_sha,
                                 "role": token.role.as_str()});
        if let Some(name) = &name {
            details["name"] = json!(name);
        }
        NewEvent {
            action: names::action::PACK_EXPORTED.into(),
            kind: Some(Kind::Other),
            channel: Some(names::channel::AUDIT.into()),
            description: Some(format!(
                "{} evidence pack, {} entries, {} to {}",
                manifest.kind, manifest.rows, manifest.from, manifest.to
            )),
            actor: Some(super::auth::token_actor(&token)),
            details: Some(details.into()),
            ..NewEvent::default()
        }
    })
}

/// A title or name: trimmed, not empty, at most [`MAX_LABEL`] characters.
fn label(field: &str, text: Option<&str>) -> Result<Option<String>, Failure> {
    let Some(t) = text.map(str::trim) else {
        return Ok(None);
    };
    if t.is_empty() {
        return Err(invalid(
            field,
            format!("{field} is empty; leave it out instead"),
        ));
    }
    if t.chars().count() > MAX_LABEL {
        return Err(invalid(
            field,
            format!("{field} is longer than {MAX_LABEL} characters"),
        ));
    }
    Ok(Some(t.to_string()))
}

/// A custom pack's period: the filter's own bounds narrowed by `from`/`to` when given; an open
/// end closes at the first or last entry the filter matches, so the same data gives the same
/// pack whenever it is asked for.
async fn custom_period(
    store: &dyn Store,
    tenant: &str,
    query: &Query,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), StoreError> {
    let (own_from, own_to) = query.range_millis(now);
    let from = [own_from.map(from_millis), from]
        .into_iter()
        .flatten()
        .max();
    let to = [own_to.map(from_millis), to].into_iter().flatten().min();
    let mut bounded = query.clone();
    bounded.from = from.map(TimeBound::Instant);
    bounded.to = to.map(TimeBound::Instant);
    let edge = async |order: Order| -> Result<Option<DateTime<Utc>>, StoreError> {
        let first = PageRequest {
            limit: 1,
            order,
            cursor: None,
        };
        let page = store.page(tenant, &bounded, &first, now).await?;
        Ok(page.entries.first().map(|e| e.occurred_at))
    };
    let to = match to {
        Some(t) => t,
        None => edge(Order::Desc).await?.unwrap_or(now),
    };
    let from = match from {
        Some(f) => f,
        None => edge(Order::Asc).await?.unwrap_or(to).min(to),
    };
    Ok((from, to))
}

/// Streams a file as the response body from the blocking pool, a chunk at a time.
fn stream_file(mut file: std::fs::File) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}
