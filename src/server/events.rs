//! `POST /v1/events`, `GET /v1/events`, `GET /v1/events/{id}`.

use super::auth::Caller;
use super::error::Failure;
use super::{AppState, blocking, params};
use crate::model::details::{MAX_DEPTH, nesting_depth};
use crate::model::{
    ApiError, AppendResponse, Cursor, ErrorCode, MAX_BATCH, Order, validate_event_text,
};
use crate::store::{PageRequest, Role};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde_json::value::RawValue;

/// Appends one event, an array, or NDJSON: validated whole, stored atomically, durable on 201.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    caller.require(&[Role::Writer, Role::Admin], "write events")?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                "the request body is larger than 16 MiB; send fewer events per request",
            )
        } else {
            ApiError::bad_request(format!("the request body could not be read: {e}"))
        }
    })?;
    let ndjson = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/x-ndjson") || v.starts_with("application/ndjson")
        });
    let values = if ndjson {
        parse_ndjson(&body)?
    } else {
        parse_json(&body)?
    };
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
    let entries = blocking(&state, move |s| s.append(&tenant, events)).await?;
    tracing::debug!(count, "appended");
    Ok((StatusCode::CREATED, Json(AppendResponse { entries })).into_response())
}

/// The events of a JSON body, each as its own text: `details` must keep the exact text the
/// producer sent (see `model::Details`), so nothing is parsed into a `Value` here.
fn parse_json(body: &[u8]) -> Result<Vec<&RawValue>, Failure> {
    too_deep(body, "the body")?;
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let parsed = if first == Some(&b'[') {
        serde_json::from_slice::<Vec<&RawValue>>(body)
    } else {
        serde_json::from_slice::<&RawValue>(body).map(|v| vec![v])
    };
    let values = parsed.map_err(|e| ApiError::bad_request(json_error("the body", &e)))?;
    if first != Some(&b'[') && first != Some(&b'{') {
        return Err(ApiError::bad_request("the body must be an event object, a JSON array of events, or NDJSON (Content-Type: application/x-ndjson)").into());
    }
    Ok(values)
}

fn parse_ndjson(body: &[u8]) -> Result<Vec<&RawValue>, Failure> {
    let mut out = Vec::new();
    for (line_no, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if out.len() == MAX_BATCH {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "a batch holds at most {MAX_BATCH} events; send the rest in another request"
                ),
            )
            .into());
        }
        let index = out.len();
        too_deep(line, &format!("line {}", line_no + 1)).map_err(|e| e.with_index(index))?;
        let v = serde_json::from_slice::<&RawValue>(line).map_err(|e| {
            ApiError::bad_request(json_error(&format!("line {}", line_no + 1), &e))
                .with_index(index)
        })?;
        out.push(v);
    }
    Ok(out)
}

/// Nothing below parses a body into a tree with serde_json's own depth limit any more (the
/// events are kept as text), so the limit of 128 levels is checked here, as before, first.
fn too_deep(text: &[u8], what: &str) -> Result<(), ApiError> {
    if nesting_depth(text) > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "{what} is nested too deeply (the limit is {MAX_DEPTH} levels)"
        )));
    }
    Ok(())
}

fn json_error(what: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let why = match e.classify() {
        Category::Eof => "ends before the JSON does".to_string(),
        Category::Syntax if e.to_string().contains("recursion limit") => {
            "is nested too deeply (the limit is 128 levels)".to_string()
        }
        Category::Syntax | Category::Data => format!(
            "is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
        Category::Io => "could not be read".to_string(),
    };
    format!("{what} {why}")
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
    let page = blocking(&state, move |s| s.page(&tenant, &query, &page, now)).await?;
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
        Some(seq) => blocking(&state, move |s| s.get_seq(&tenant, seq)).await?,
        None => blocking(&state, move |s| s.get(&tenant, &lookup)).await?,
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
