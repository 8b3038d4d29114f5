//! `POST /v1/evidence-packs`: a zip of one kind of evidence over a period, for SOC 2,
//! ISO 27001 and NIS2 reviews, recorded in the log as `evidence_pack.exported`.

use super::auth::Caller;
use super::error::Failure;
use super::{AppState, blocking};
use crate::export::evidence::{self, KINDS, PackError};
use crate::model::{ApiError, ErrorCode, Kind, NewEvent, TimeBound};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::io::{Read, Seek};

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackRequest {
    kind: String,
    from: String,
    to: String,
}

/// Builds the pack, records it, and streams the zip.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PackRequest>, JsonRejection>,
) -> Result<Response, Failure> {
    caller.require_reader("make evidence packs")?;
    let Json(req) = body.map_err(|e| {
        super::error::body_rejection("the body must be {\"kind\", \"from\", \"to\"}", e)
    })?;
    let invalid = |field: &str, message: String| {
        Failure(ApiError::new(ErrorCode::InvalidQuery, message).with_field(field))
    };
    let lines = state.evidence.filters(&req.kind).ok_or_else(|| {
        invalid(
            "kind",
            format!(
                "kind `{}` is not one of {}",
                req.kind.chars().take(40).collect::<String>(),
                KINDS.join(", ")
            ),
        )
    })?;
    let filters = lines.map_err(|e| Failure(ApiError::internal(e)))?;
    let now = chrono::Utc::now();
    let bound = |field: &str, text: &str, is_end: bool| {
        TimeBound::parse(text)
            .map(|b| b.resolve(now, is_end))
            .ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "{field} `{}` is not a date, time or age such as 2026-10-01 or 30d",
                        text.chars().take(40).collect::<String>()
                    ),
                )
            })
    };
    let (from, to) = (
        bound("from", &req.from, false)?,
        bound("to", &req.to, true)?,
    );
    if from > to {
        return Err(invalid("from", "from lies after to".into()));
    }
    let kind = req.kind.clone();
    let tenant = caller.tenant().to_string();
    let token = caller.0.clone();
    let lines = match kind.as_str() {
        "access_review" => state.evidence.access_review.clone(),
        "change_management" => state.evidence.change_management.clone(),
        _ => state.evidence.incident_response.clone(),
    };
    let key = state.key.clone();
    let (file, manifest) = blocking(&state, move |store| {
        let out =
            tempfile::tempfile().map_err(|e| crate::store::StoreError::Invalid(e.to_string()))?;
        let (mut file, manifest) = evidence::build(
            store,
            &tenant,
            &kind,
            &lines,
            &filters,
            (from, to),
            key.as_deref(),
            out,
        )
        .map_err(|e| match e {
            PackError::Store(s) => s,
            other => crate::store::StoreError::Invalid(other.to_string()),
        })?;
        file.rewind()
            .map_err(|e| crate::store::StoreError::Invalid(e.to_string()))?;
        Ok((file, manifest))
    })
    .await?;
    // Built, then recorded, then sent: a pack the log cannot record is not sent (503), the same
    // rule as an export's.
    let event = NewEvent {
        action: "evidence_pack.exported".into(),
        kind: Some(Kind::Other),
        channel: Some("audit".into()),
        description: Some(format!(
            "{} evidence pack, {} entries, {} to {}",
            manifest.kind, manifest.rows, manifest.from, manifest.to
        )),
        actor: Some(super::auth::token_actor(&token)),
        details: Some(
            json!({"kind": manifest.kind, "from": manifest.from, "to": manifest.to, "rows": manifest.rows,
                             "files": manifest.files, "role": token.role.as_str()})
            .into(),
        ),
        ..NewEvent::default()
    };
    let tenant = caller.tenant().to_string();
    blocking(&state, move |store| store.append(&tenant, vec![event]))
        .await
        .map_err(|e| Failure::unrecorded("this evidence pack", e))?;
    let name = format!(
        "evidence-{}-{}-{}.zip",
        manifest.kind,
        &manifest.from[..10],
        &manifest.to[..10]
    );
    Ok((
        [
            (CONTENT_TYPE, "application/zip".to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        stream_file(file),
    )
        .into_response())
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
