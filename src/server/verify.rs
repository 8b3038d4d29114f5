//! `GET /v1/verify`: the walk of the caller's tenant's chain, tree and checkpoints. One JSON
//! report when it is done; or, with `Accept: application/x-ndjson`, a 200 at once and NDJSON
//! lines: its progress about once a second, then the report (or the error) as the last line.
//!
//! A walk of millions of entries takes minutes, longer than the first-byte deadline allows a
//! JSON answer; the stream begins at once and shows how far it got. Either way the walk stops
//! when nobody waits for it any more: the request's receiver of its progress is gone (the
//! client left, the deadline passed, the server shuts down).

use super::auth::Caller;
use super::error::Failure;
use super::{AppState, params};
use crate::model::{ApiError, ErrorCode, VerifyLine, VerifyProgress, VerifyReport};
use crate::proof::VerifierKey;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// How often a stream tells its progress: what keeps a client's bar (and every proxy between)
/// sure that the walk goes on.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Walks the caller's tenant's chain and tree and checks every checkpoint: with the key given
/// as `?key=<verifier key>` (pinned by the caller), else with the server's own.
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("verify the chain")?;
    let pairs = params::only(raw.as_deref(), &["key"])?;
    let key = match params::text(&pairs, "key") {
        Some(text) => Some(
            VerifierKey::parse(text)
                .map_err(|e| ApiError::invalid_query(e.to_string()).with_field("key"))?,
        ),
        None => state
            .signer
            .as_ref()
            .map(|s| s.key().verifier_for(caller.tenant())),
    };
    let tenant = caller.tenant().to_string();
    let (progress, watching) = watch::channel(VerifyProgress::default());
    if wants_ndjson(&headers) {
        return Ok(streamed(state, tenant, key, progress, watching));
    }
    // `watching` lives as long as this request: one given up on stops the walk.
    let report = walk(&state, &tenant, key.as_ref(), progress).await?;
    drop(watching);
    Ok(Json(report).into_response())
}

/// Whether the client asked for the stream: `Accept` names NDJSON (not with `q=0`).
fn wants_ndjson(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let kind = parts.next().unwrap_or_default();
            let ndjson = kind.eq_ignore_ascii_case("application/x-ndjson")
                || kind.eq_ignore_ascii_case("application/ndjson");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            ndjson && !refused
        })
}

/// The walk itself, telling `progress` how far it got.
async fn walk(
    state: &AppState,
    tenant: &str,
    key: Option<&VerifierKey>,
    progress: watch::Sender<VerifyProgress>,
) -> Result<VerifyReport, Failure> {
    let Some(signer) = &state.signer else {
        let report = state
            .store
            .verify_watched(tenant, key, None, Some(progress))
            .await?;
        return Ok(report);
    };
    // What grew since the last checkpoint is signed first (an honest log is never "unsigned"),
    // unless the signer refuses: then the walk says where the log left what it signed.
    match signer.checkpoint(state.store.as_ref(), tenant).await {
        Ok(_) | Err(crate::store::StoreError::Tampered(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let mut report = state
        .store
        .verify_watched(tenant, key, signer.remembered(tenant), Some(progress))
        .await?;
    if let Some(alarm) = signer.alarm(tenant) {
        if report.ok {
            report.ok = false;
            report.head = None;
            report.reason = Some("signer_refused".into());
        }
        report.problems.push(format!(
            "the server refuses to sign this log: {}",
            crate::text::inert(&alarm)
        ));
    }
    Ok(report)
}

/// The NDJSON answer: the walk runs on its own task, the body reads its progress.
fn streamed(
    state: AppState,
    tenant: String,
    key: Option<VerifierKey>,
    progress: watch::Sender<VerifyProgress>,
    watching: watch::Receiver<VerifyProgress>,
) -> Response {
    let (done, answer) = oneshot::channel();
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        let out = walk(&state, &tenant, key.as_ref(), progress).await;
        // Nobody to tell when the stream is gone; the walk has stopped already then.
        let _ = done.send(out);
    });
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let lines = Lines {
        watching,
        answer: Some(answer),
        tick,
        shutdown,
        told: None,
    };
    let body = Body::from_stream(futures_util::stream::unfold(lines, Lines::next));
    ([(CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}

/// The stream's state: dropping it (the client left) drops the last receiver of the walk's
/// progress, which stops the walk.
struct Lines {
    watching: watch::Receiver<VerifyProgress>,
    /// The walk's answer; `None` once the last line is sent.
    answer: Option<oneshot::Receiver<Result<VerifyReport, Failure>>>,
    tick: tokio::time::Interval,
    shutdown: watch::Receiver<bool>,
    /// The progress the last line told.
    told: Option<VerifyProgress>,
}

impl Lines {
    /// The next piece of the body: a progress line, or the last lines.
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Lines)> {
        let answer = self.answer.as_mut()?;
        let mut shutdown = self.shutdown.clone();
        let last = tokio::select! {
            biased;
            out = answer => match out {
                Ok(Ok(report)) => VerifyLine::Report(report),
                Ok(Err(Failure(e))) => VerifyLine::Error(e),
                Err(_) => VerifyLine::Error(ApiError::internal(
                    "the verify stopped without an answer; the details are in the server's log",
                )),
            },
            // A server built without a shutdown signal never ends a stream for it.
            Ok(()) = async { shutdown.wait_for(|stop| *stop).await.map(|_| ()) } => {
                VerifyLine::Error(ApiError::new(
                    ErrorCode::Unavailable,
                    "the server is shutting down before the walk was done; verify again once it is back",
                ))
            }
            _ = self.tick.tick() => {
                let now = *self.watching.borrow_and_update();
                self.told = Some(now);
                return Some((Ok(line(&VerifyLine::Progress(now))), self));
            }
        };
        self.answer = None;
        // The walk's own last count (every row, when it finished) comes before its verdict.
        let now = *self.watching.borrow();
        let mut text = Vec::new();
        if self.told != Some(now) && matches!(last, VerifyLine::Report(_)) {
            text.extend_from_slice(&line(&VerifyLine::Progress(now)));
        }
        text.extend_from_slice(&line(&last));
        Some((Ok(Bytes::from(text)), self))
    }
}

/// One NDJSON line.
fn line(l: &VerifyLine) -> Bytes {
    let mut text = serde_json::to_vec(l).unwrap_or_else(|_| {
        br#"{"error":{"code":"internal","message":"the line could not be written"}}"#.to_vec()
    });
    text.push(b'\n');
    Bytes::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, v.parse().unwrap());
        h
    }

    #[test]
    fn only_an_accept_that_names_ndjson_asks_for_the_stream() {
        assert!(wants_ndjson(&accept("application/x-ndjson")));
        assert!(wants_ndjson(&accept(
            "application/json, application/ndjson;q=0.5"
        )));
        assert!(wants_ndjson(&accept("Application/X-NDJSON ; q=1")));
        assert!(!wants_ndjson(&accept("application/x-ndjson;q=0")));
        assert!(!wants_ndjson(&accept("application/json")));
        assert!(!wants_ndjson(&accept("*/*")));
        assert!(!wants_ndjson(&HeaderMap::new()));
    }
}
