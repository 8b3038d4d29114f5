//! Every failure leaves the server as the JSON error shape, never a panic or an HTML page.

use crate::model::{ApiError, ErrorBody, ErrorCode};
use crate::store::StoreError;
use axum::Json;
use axum::extract::Request;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::http::header::{ALLOW, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// An [`ApiError`] on its way out as a response.
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed => Failure(ApiError::unavailable(
                "the server is shutting down; retry in a moment",
            )),
            // Nobody reads this: the request it answers was given up on.
            StoreError::Abandoned => Failure(ApiError::unavailable(
                "the request was given up before its answer was ready",
            )),
            e @ StoreError::Unavailable { why, .. } => {
                tracing::error!("store cannot write: {e}");
                Failure(ApiError::unavailable(format!(
                    "the server cannot store anything right now ({why}); nothing was stored, retry later"
                )))
            }
            StoreError::Invalid(why) => Failure(ApiError::invalid_query(why)),
            StoreError::NotFound(why) => Failure(ApiError::not_found(why)),
            StoreError::BadRequest(why) => Failure(ApiError::invalid_query(why)),
            StoreError::Tampered(why) => {
                tracing::error!("integrity: {why}");
                Failure(ApiError::integrity(why))
            }
            other => {
                tracing::error!("store error: {other}");
                Failure(ApiError::internal(
                    "the server could not complete the request; the details are in its log",
                ))
            }
        }
    }
}

/// What a client waits before retrying a 503 or a 429, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 5;

impl Failure {
    /// A 503 for work that must be recorded before it is done (an export, a pack) when the log
    /// cannot record it: the work is refused rather than done unrecorded.
    pub fn unrecorded(what: &str, e: Failure) -> Failure {
        tracing::error!("refusing {what}: the log cannot record it: {}", e.0.message);
        Failure(ApiError::unavailable(format!(
            "the log cannot record {what} right now, so it is not served; retry later ({})",
            e.0.message
        )))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = matches!(self.0.code, ErrorCode::Unavailable | ErrorCode::RateLimited);
        let mut resp = (status, Json(ErrorBody { error: self.0 })).into_response();
        if retry {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        resp
    }
}

/// Whether reading a body failed because it did not arrive in time (see `BODY_CHUNK_TIMEOUT`).
pub fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// 408 for a body that stopped coming.
pub fn body_too_slow() -> Failure {
    Failure(ApiError::new(
        ErrorCode::RequestTimeout,
        format!(
            "the request body stopped arriving (a chunk at least every {} s, all of it within {} s)",
            super::BODY_CHUNK_TIMEOUT.as_secs(),
            super::BODY_DEADLINE.as_secs()
        ),
    ))
}

/// A JSON body that could not be taken: too large (413), not JSON by its content type (415),
/// or not the shape `shape` describes (400).
pub fn body_rejection(shape: &str, e: JsonRejection) -> Failure {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Failure(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the request body is larger than {} MiB",
                super::MAX_BODY_BYTES >> 20
            ),
        )),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Failure(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("{shape}, sent as Content-Type: application/json"),
        )),
        _ if timed_out(&e) => body_too_slow(),
        _ => Failure(ApiError::bad_request(format!("{shape}: {}", e.body_text()))),
    }
}

/// A response for a code and a sentence.
pub fn failure(code: ErrorCode, message: impl Into<String>) -> Response {
    Failure(ApiError::new(code, message)).into_response()
}

/// The code for an HTTP error status that a layer below the handlers chose.
fn code_for(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        408 => ErrorCode::RequestTimeout,
        413 => ErrorCode::PayloadTooLarge,
        414 => ErrorCode::UriTooLong,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::InvalidQuery,
        429 => ErrorCode::RateLimited,
        431 => ErrorCode::HeadersTooLarge,
        503 => ErrorCode::Unavailable,
        s if s >= 500 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    }
}

/// Middleware, outermost: an error answer that some layer made without the JSON shape (axum's
/// extractor rejections, tower-http's limits and timeouts) gets it, keeping its status and its
/// sentence. Handlers' own errors are JSON already and pass untouched.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    // Layers' own error bodies are a line of text; anything longer is not worth repeating.
    let said = axum::body::to_bytes(body, 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let message = said.unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_lowercase()
    });
    let mut out = Failure(ApiError::new(code_for(status), message)).into_response();
    *out.status_mut() = status;
    for name in [ALLOW, RETRY_AFTER, CONNECTION] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
