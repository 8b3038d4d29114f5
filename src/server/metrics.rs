//! `GET /metrics` in the Prometheus text format: requests by route and status, latency,
//! entries appended and commit sizes.

use super::AppState;
use crate::store::COMMIT_SIZE_BUCKETS;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Latency histogram bounds, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Latency {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters, kept in memory since start.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Latency>>,
}

impl Metrics {
    fn record(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *r.entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        drop(r);
        let mut l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = l.entry(route.to_string()).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.buckets[i] += 1;
            }
        }
    }
}

/// The method as a label: the methods HTTP defines for this API, else `other` — a client may
/// send any token as a method, and each would otherwise become a new series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: times each request and counts it under its route pattern (never the raw path)
/// and a known method. Every label comes from a closed set — the routes, eight methods, the
/// status codes — so no caller can grow the series (unknown paths and methods are `other`).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", |m| m.as_str())
        .to_string();
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    state.metrics.record(
        &route,
        method,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

/// The metrics page.
pub async fn render(
    State(state): State<AppState>,
    caller: super::auth::Caller,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), super::error::Failure> {
    caller.require_reader("read the metrics")?;
    let mut out = String::new();
    requests(&state.metrics, &mut out);
    latency(&state.metrics, &mut out);
    writes(&state.store.metrics(), &mut out);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    ))
}

/// Requests counted by route, method and status.
fn requests(metrics: &Metrics, out: &mut String) {
    out.push_str(
        "# HELP trailscope_http_requests_total HTTP requests by route, method and status.\n",
    );
    out.push_str("# TYPE trailscope_http_requests_total counter\n");
    for ((route, method, status), n) in metrics
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        let _ = writeln!(
            out,
            "trailscope_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
        );
    }
}

/// Each route's latency histogram.
fn latency(metrics: &Metrics, out: &mut String) {
    out.push_str("# HELP trailscope_http_request_duration_seconds Request latency by route.\n");
    out.push_str("# TYPE trailscope_http_request_duration_seconds histogram\n");
    for (route, h) in metrics
        .latency
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        for (b, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
            let _ = writeln!(
                out,
                "trailscope_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "trailscope_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "trailscope_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "trailscope_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
            h.count
        );
    }
}

/// What the store wrote: entries, and entries per committed transaction.
fn writes(w: &crate::store::StoreMetrics, out: &mut String) {
    out.push_str("# HELP trailscope_entries_appended_total Entries appended since start.\n");
    out.push_str("# TYPE trailscope_entries_appended_total counter\n");
    let _ = writeln!(out, "trailscope_entries_appended_total {}", w.entries);
    out.push_str(
        "# HELP trailscope_commit_batch_size Entries per committed transaction (group commit).\n",
    );
    out.push_str("# TYPE trailscope_commit_batch_size histogram\n");
    let mut cumulative = 0;
    for (b, n) in COMMIT_SIZE_BUCKETS.iter().zip(&w.commit_size_buckets) {
        cumulative += n;
        let le = if *b == u64::MAX {
            "+Inf".to_string()
        } else {
            b.to_string()
        };
        let _ = writeln!(
            out,
            "trailscope_commit_batch_size_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "trailscope_commit_batch_size_sum {}",
        w.commit_size_sum
    );
    let _ = writeln!(out, "trailscope_commit_batch_size_count {}", w.commits);
    out.push_str(
        "# HELP trailscope_index_pending_entries Entries committed but not yet in the secondary and search indexes.\n",
    );
    out.push_str("# TYPE trailscope_index_pending_entries gauge\n");
    let _ = writeln!(out, "trailscope_index_pending_entries {}", w.pending_index);
}
