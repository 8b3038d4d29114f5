//! The longest any response may take to begin (API.md "Limits and failure behaviour").
//!
//! Bodies have their own limits (a request body must arrive within `BODY_DEADLINE`, a response
//! body that the client does not read is dropped by `write_stall`); this bounds the time between
//! a request and its status line, so no read that the store cannot finish holds a connection
//! and a client forever. Streams and exports begin at once and are not bounded by it.

use super::error::{Failure, RETRY_AFTER_SECONDS};
use crate::model::{ApiError, ErrorCode};
use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// The default: above `BODY_DEADLINE` (60 s), so an upload that is slow but within its limit
/// is still answered.
pub const FIRST_BYTE_DEADLINE: Duration = Duration::from_secs(120);

/// Middleware: a 503 `unavailable` (JSON, `Retry-After`) when the answer has not begun within
/// the deadline. Work the store already took on (a commit, a prune) still finishes and is
/// recorded in the log; the client is told to look rather than left waiting.
pub async fn first_byte(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(
                seconds = limit.as_secs_f64(),
                "a response did not begin within its deadline"
            );
            let mut resp = Failure(ApiError::new(
                ErrorCode::Unavailable,
                format!(
                    "the server did not begin its answer within {} s; work it had already begun may still finish (read the log to see), or retry later",
                    limit.as_secs_f64()
                ),
            ))
            .into_response();
            if let Ok(v) = RETRY_AFTER_SECONDS.to_string().parse() {
                resp.headers_mut().insert(RETRY_AFTER, v);
            }
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app(limit: Duration) -> Router {
        Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    "never"
                }),
            )
            .route("/fast", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(limit, first_byte))
    }

    #[tokio::test]
    async fn a_response_that_does_not_begin_in_time_is_a_json_503() {
        let req = |path: &str| Request::builder().uri(path).body(Body::empty()).unwrap();
        let resp = app(Duration::from_millis(200))
            .oneshot(req("/slow"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 503);
        assert!(resp.headers().contains_key(RETRY_AFTER));
        let body = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "unavailable", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("within 0.2 s")
        );
        let resp = app(Duration::from_millis(200))
            .oneshot(req("/fast"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
}
