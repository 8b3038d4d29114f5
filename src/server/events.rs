//! `POST /v1/events`, `GET /v1/events`, `GET /v1/events/{id}`.

use super::MAX_BODY_BYTES;
use super::auth::Caller;
use super::error::Failure;
use super::{AppState, params};
use crate::model::{
    ApiError, AppendResponse, Cursor, ErrorCode, MAX_BATCH, Order, decode_batch,
    validate_event_text,
};
use crate::store::{PageRequest, Role};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// Appends one event, an array, or NDJSON: validated whole, stored atomically, durable on 201.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    caller.require(&[Role::Writer, Role::Admin], "write events")?;
    let body = body.map_err(|e| {
        if super::error::timed_out(&e) {
            super::error::body_too_slow().0
        } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                "the request body is larger than 16 MiB; send fewer events per request",
            )
        } else {
            ApiError::bad_request(format!("the request body could not be read: {e}"))
        }
    })?;
    let ndjson = body_kind(&headers)?;
    let body = decode(&headers, body)?;
    let values = decode_batch(&body, ndjson)?;
    if values.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidEvent, "the batch holds no events").into());
    }
    if values.len() > MAX_BATCH {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "a batch holds at most {MAX_BATCH} events; this one has {}",
                values.len()
            ),
        )
        .into());
    }
    let now = chrono::Utc::now();
    let mut events = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        let e = validate_event_text(v.get(), now).map_err(|fe| {
            let field = (!fe.field.is_empty()).then_some(fe.field);
            ApiError {
                code: ErrorCode::InvalidEvent,
                message: format!("event {i}: {}; nothing was stored", fe.message),
                index: Some(i),
                field,
            }
        })?;
        events.push(e);
    }
    let tenant = caller.tenant().to_string();
    let count = events.len();
    let entries = state.store.append(&tenant, events).await?;
    tracing::debug!(count, "appended");
    Ok((StatusCode::CREATED, Json(AppendResponse { entries })).into_response())
}

/// Whether the body is NDJSON (else JSON), from its media type. A body must say what it is:
/// `application/json` or `application/x-ndjson` (`application/ndjson` too); anything else, or
/// nothing, is 415 — a form post or a text file is never taken for events.
fn body_kind(headers: &HeaderMap) -> Result<bool, Failure> {
    let media = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match media.as_deref() {
        Some("application/json") => Ok(false),
        Some("application/x-ndjson" | "application/ndjson") => Ok(true),
        other => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "send events as Content-Type: application/json or application/x-ndjson, not {}",
                other.map_or("without a Content-Type".to_string(), |m| {
                    m.chars().take(64).collect()
                })
            ),
        )
        .into()),
    }
}

/// The body as sent, or gunzipped for `Content-Encoding: gzip` (at most [`MAX_BODY_BYTES`]
/// once decoded). A body that says gzip but is not, or any other encoding, is refused: events
/// are never guessed from bytes the client mislabelled.
fn decode(headers: &HeaderMap, body: Bytes) -> Result<Bytes, Failure> {
    use std::io::Read;
    let encodings: Vec<String> = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity")
        .collect();
    match encodings.as_slice() {
        [] => Ok(body),
        [gzip] if gzip == "gzip" || gzip == "x-gzip" => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&body[..])
                .take(MAX_BODY_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "the body says Content-Encoding: gzip but is not gzip: {e}"
                    ))
                })?;
            if out.len() > MAX_BODY_BYTES {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "the request body is larger than 16 MiB once decompressed; send fewer events per request",
                )
                .into());
            }
            Ok(Bytes::from(out))
        }
        other => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "Content-Encoding `{}` is not taken; send gzip or no encoding",
                other.join(", ").chars().take(64).collect::<String>()
            ),
        )
        .into()),
    }
}

/// One keyset page of entries under the filter.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("read events")?;
    let (query, rest) = params::filter(raw.as_deref(), &["limit", "order", "cursor"])?;
    let limit = params::number(&rest, "limit", 50, 1, 1000)?;
    let order = params::text(&rest, "order")
        .map(Order::parse)
        .transpose()?
        .unwrap_or_default();
    let cursor = params::text(&rest, "cursor")
        .filter(|c| !c.is_empty())
        .map(|c| Cursor::decode(c, order))
        .transpose()?;
    let page = PageRequest {
        limit,
        order,
        cursor,
    };
    let tenant = caller.tenant().to_string();
    let now = chrono::Utc::now();
    // A first page is a search: recorded (coalesced, best effort) once it is read, so the
    // answer is the log as it was asked, without the record of the asking.
    let audit = page
        .cursor
        .is_none()
        .then(|| (state.searches.clone(), caller.0.clone()));
    let page = state.store.page(&tenant, &query, &page, now).await?;
    if let Some((searches, token)) = audit {
        searches
            .record(state.store.as_ref(), &token, &query, now)
            .await;
    }
    Ok(Json(page).into_response())
}

/// One entry; another tenant's entry is a plain 404.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    caller.require_reader("read events")?;
    let tenant = caller.tenant().to_string();
    let lookup = id.clone();
    // A decimal seq (`/v1/events/4411`) as well as an id: ULIDs never are all digits.
    let by_seq = (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.parse::<u64>().ok())
        .flatten();
    let found = match by_seq {
        Some(seq) => state.store.get_seq(&tenant, seq).await?,
        None => state.store.get(&tenant, &lookup).await?,
    };
    match found {
        Some(entry) => Ok(Json(entry).into_response()),
        None => Err(ApiError::not_found(format!(
            "no entry has the id or seq `{}`",
            id.chars().take(64).collect::<String>()
        ))
        .into()),
    }
}

/// PUT, PATCH and DELETE on an entry: the log is append-only.
pub async fn refuse_change() -> Response {
    super::error::failure(
        ErrorCode::MethodNotAllowed,
        "audit entries are append-only: they can be neither changed nor deleted",
    )
}
