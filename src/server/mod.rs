//! The audit server: axum routes over a [`Store`]. No SQL here.

mod allowlist;
mod auth;
mod deadline;
mod error;
mod events;
mod evidence;
mod export;
mod exports;
mod gdpr;
mod hub;
mod listen;
mod metrics;
mod params;
mod parse_errors;
mod proofs;
mod reads;
pub mod retention;
pub mod schedule;
pub mod searches;
mod stream;
pub mod tls;
mod verify;
mod write_stall;

use crate::export::evidence::PackKinds;
use crate::model::ErrorCode;
use crate::proof::SigningKey;
use crate::store::signer::Signer;
use crate::store::{Store, StoreError};
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router, middleware};
use retention::RetentionConfig;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

pub use allowlist::{Allowlist, deserialize_nets, parse_net};
pub use error::Failure;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The longest wait for the next chunk of a request body.
pub const BODY_CHUNK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The longest a whole request body may take to arrive.
pub const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

pub use deadline::FIRST_BYTE_DEADLINE;
pub use listen::{HEADER_READ_TIMEOUT, MAX_HEADERS, SHUTDOWN_DEADLINE};
pub use stream::{
    BUFFER_BYTES as STREAM_BUFFER_BYTES, KEEP_ALIVE as STREAM_KEEP_ALIVE, STREAMS_PER_TOKEN,
};
pub use write_stall::WRITE_STALL_TIMEOUT;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    metrics: Arc<metrics::Metrics>,
    allow: Arc<Allowlist>,
    evidence: Arc<PackKinds>,
    retention: Arc<RetentionConfig>,
    /// The live fan-out behind `/v1/stream`.
    hub: Arc<hub::Hub>,
    /// Which searches were recorded lately (issue 15: audited reads).
    searches: Arc<searches::SearchAudit>,
    /// Open streams per token, for the limit of [`stream::STREAMS_PER_TOKEN`].
    streams: Arc<stream::StreamCounts>,
    /// Turns true when the server shuts down, so open streams end and shutdown can finish.
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// Signs checkpoints with a key kept outside the database (`serve --signing-key`) and
    /// remembers what it signed, outside the database too.
    signer: Option<Signer>,
    /// The longest silence on an open stream.
    keep_alive: std::time::Duration,
}

/// How a server is set up beyond its store.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub allow: Allowlist,
    /// The filters behind each kind of evidence pack.
    pub evidence: PackKinds,
    /// Retention windows, the floor, the daily prune and its archive.
    pub retention: RetentionConfig,
    /// Run the daily prune (off in tests, which drive it with their own clock).
    pub schedule_prune: bool,
    /// The checkpoint signing key; without one the server signs no checkpoints. Remembers what
    /// it signed only while the process runs, unless `signer` is given.
    pub signing_key: Option<SigningKey>,
    /// The signer with its state file (`trailscope serve`); takes the place of `signing_key`.
    pub signer: Option<Signer>,
    /// Record searches as `audit_log.searched`, coalesced by this clock (tests move it by
    /// hand). `trailscope serve` and the demo turn it on (`audit_searches` in the config file,
    /// default true); it is off in `ServerOptions::default()`, so an embedded router and the
    /// tests that count a log's entries exactly see only what they wrote.
    pub audit_searches: Option<searches::SearchClock>,
    /// The longest silence on an open stream before a keep-alive comment; `None` is
    /// [`STREAM_KEEP_ALIVE`] (15 s). Shorter only where waiting for one would be slow (tests).
    pub stream_keep_alive: Option<std::time::Duration>,
    /// The longest a response may take to begin; `None` is [`FIRST_BYTE_DEADLINE`] (120 s).
    pub first_byte_deadline: Option<std::time::Duration>,
    /// Serve TLS with this configuration (`serve --tls-cert --tls-key`); `None` is plain HTTP.
    pub tls: Option<tls::Tls>,
}

impl From<Allowlist> for ServerOptions {
    fn from(allow: Allowlist) -> Self {
        ServerOptions {
            allow,
            ..ServerOptions::default()
        }
    }
}

/// The API's routes over `store`.
pub fn router(store: Arc<dyn Store>, options: impl Into<ServerOptions>) -> Router {
    // Nothing will ever ask this router's streams to end: the sender is gone at once.
    build_router(store, options.into(), tokio::sync::watch::channel(false).1)
}

/// The signer `options` ask for: theirs, or one that remembers in memory over `signing_key`.
fn signer_of(options: &mut ServerOptions) -> Option<Signer> {
    options
        .signer
        .take()
        .or_else(|| options.signing_key.take().map(Signer::ephemeral))
}

fn build_router(
    store: Arc<dyn Store>,
    mut options: ServerOptions,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Router {
    options.signer = signer_of(&mut options);
    let state = AppState {
        store,
        metrics: Arc::default(),
        allow: Arc::new(options.allow),
        evidence: Arc::new(options.evidence),
        retention: Arc::new(options.retention),
        hub: Arc::default(),
        searches: Arc::new(searches::SearchAudit::new(options.audit_searches.clone())),
        streams: Arc::default(),
        shutdown,
        signer: options.signer,
        keep_alive: options.stream_keep_alive.unwrap_or(stream::KEEP_ALIVE),
    };
    routes()
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A declared Content-Length over the limit is 413 before a byte of the body is read.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        // A body must keep coming (a chunk at least every 10 s) and be whole within a minute
        // (16 MiB in 60 s is 280 KB/s): a trickling client cannot hold a request open.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_CHUNK_TIMEOUT,
        ))
        .layer(tower_http::timeout::RequestBodyDeadlineLayer::new(
            BODY_DEADLINE,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            allowlist::check,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn_with_state(
            options
                .first_byte_deadline
                .unwrap_or(deadline::FIRST_BYTE_DEADLINE),
            deadline::first_byte,
        ))
        .layer(middleware::from_fn(error::json_errors))
        .with_state(state)
}

/// Every route and what answers it, with the JSON answers for a route or method there is not.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/events", get(events::list).post(events::post))
        .route(
            "/v1/events/{id}",
            get(events::get)
                .put(events::refuse_change)
                .patch(events::refuse_change)
                .delete(events::refuse_change),
        )
        .route("/v1/facets/{field}", get(reads::facets))
        .route("/v1/stats", get(reads::stats))
        .route("/v1/verify", get(verify::verify))
        .route("/v1/checkpoint", get(proofs::checkpoint))
        .route("/v1/proof/inclusion", get(proofs::inclusion))
        .route("/v1/proof/consistency", get(proofs::consistency))
        .route("/v1/stream", get(stream::stream))
        .route("/v1/export", get(export::export))
        .route("/v1/exports", get(exports::list))
        .route("/v1/evidence-packs", axum::routing::post(evidence::create))
        .route("/v1/retention", get(retention::get).put(retention::put))
        .route(
            "/v1/retention/prune",
            axum::routing::post(retention::prune_now),
        )
        .route("/v1/pseudonymise", axum::routing::post(gdpr::pseudonymise))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(openapi))
        .fallback(|| async {
            error::failure(
                ErrorCode::NotFound,
                "there is no such route; see /openapi.json for the API",
            )
        })
        .method_not_allowed_fallback(|| async {
            error::failure(
                ErrorCode::MethodNotAllowed,
                "this route does not take that method; see /openapi.json",
            )
        })
}

/// `{"status": "ok"}`, or 503 `{"status": "degraded", "reason"}` while the database cannot
/// write (disk full, read-only, gone), so a load balancer stops sending producers here until it
/// can; the store probes the disk again on each ask (at most once a second).
async fn healthz(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    // Unauthenticated: the alarm says how many logs, not which tenants or what was found.
    let alarm = state
        .signer
        .as_ref()
        .map(|s| s.alarms().len())
        .filter(|n| *n > 0)
        .map(|n| {
            format!(
                "INTEGRITY ALARM: {n} {} no longer {} the checkpoints this server signed; it signs no checkpoint for {} (the server's log and /v1/verify say what was found)",
                if n == 1 { "log" } else { "logs" },
                if n == 1 { "extends" } else { "extend" },
                if n == 1 { "it" } else { "them" },
            )
        });
    match state.store.write_health().await {
        Ok(()) => {
            let mut body = serde_json::json!({"status": "ok"});
            if let Some(alarm) = alarm {
                // Still 200: the server takes entries, and a load balancer that took it out
                // of service would lose evidence; the alarm is for whoever watches `status`.
                body = serde_json::json!({"status": "integrity_alarm", "integrity": alarm});
            }
            Json(body).into_response()
        }
        Err(degraded) => {
            let reason = degraded.to_string();
            let mut body = serde_json::json!({"status": "degraded", "reason": reason});
            if let Some(alarm) = alarm {
                body["integrity"] = alarm.into();
            }
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                [(
                    axum::http::header::RETRY_AFTER,
                    error::RETRY_AFTER_SECONDS.to_string(),
                )],
                Json(body),
            )
                .into_response()
        }
    }
}

/// The contract, machine-readable. It is documentation, so like `/healthz` it takes no token
/// (issue 28); the allowlist still applies.
async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("../../assets/openapi.json"),
    )
}

/// Serves `store` on `listener` until `shutdown` resolves, then lets requests in flight finish
/// (for at most [`SHUTDOWN_DEADLINE`]) and commits what the writer holds before returning.
pub async fn serve(
    store: Arc<dyn Store>,
    options: impl Into<ServerOptions>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut options = options.into();
    options.signer = signer_of(&mut options);
    if let Some(signer) = &options.signer {
        tracing::info!(verifier_key = %signer.key().verifier(), "checkpoints are signed; auditors pin this verifier key");
    }
    check_schema(&store).await;
    if let Some(signer) = &options.signer {
        // Before the first request is served: a log that no longer extends what was signed is
        // said at once, and never signed.
        let alarms = signer.check_all(store.as_ref()).await;
        if !alarms.is_empty() {
            tracing::error!(
                "INTEGRITY ALARM: {} of the logs no longer extend the checkpoints this server signed; it signs none of them (see above, /healthz and /v1/verify)",
                alarms.len()
            );
        }
    }
    if options.schedule_prune {
        match options.retention.check() {
            Ok(at) => {
                let (store, config) = (store.clone(), options.retention.clone());
                tokio::spawn(schedule::run_daily(
                    store,
                    config,
                    at,
                    Arc::new(schedule::SystemClock),
                    None,
                ));
            }
            Err(e) => tracing::error!("the daily prune is off: {e}"),
        }
    }
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let tls = options.tls.clone();
    let app = build_router(store.clone(), options, stopping);
    // Open streams never end by themselves: they are told to, or shutdown would wait forever.
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let result = listen::serve_connections(listener, app, tls, shutdown).await;
    store.close().await;
    result
}

/// What was changed in the schema behind trailscope's back is said loudly at start and recorded
/// in every tenant's log; nothing is recreated, so `verify` keeps showing what was found.
async fn check_schema(store: &Arc<dyn Store>) {
    let found = async {
        let problems = store.schema_tampering().await?;
        if problems.is_empty() {
            return Ok::<_, StoreError>(problems);
        }
        for tenant in store.tenants().await? {
            let event = crate::model::NewEvent {
                action: crate::model::names::action::SCHEMA_CHANGED.into(),
                kind: Some(crate::model::Kind::Other),
                channel: Some(crate::model::names::channel::SECURITY.into()),
                outcome: Some(crate::model::Outcome::Failure),
                description: Some(format!(
                    "At start the server found the database's append-only guarantees changed outside trailscope: {}",
                    problems.join("; ")
                )),
                details: Some(serde_json::json!({ "problems": problems }).into()),
                ..crate::model::NewEvent::default()
            };
            if let Err(e) = store.append(&tenant, vec![event]).await {
                tracing::error!("could not record the schema change in tenant {tenant}: {e}");
            }
        }
        Ok(problems)
    }
    .await;
    match found {
        Ok(problems) => {
            for p in &problems {
                tracing::error!(
                    "INTEGRITY: the database was changed outside trailscope: {p}; nothing was recreated, `trailscope verify` reports it"
                );
            }
        }
        Err(e) => tracing::error!("INTEGRITY: the schema could not be checked at start: {e}"),
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed by this call, not when the future
/// is first polled, so a supervisor (or a test) that signals the moment the server says where
/// it listens gets a clean shutdown rather than the signal's default action. Call it inside a
/// Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (term, int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            async fn recv(s: Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = recv(term) => {},
                _ = recv(int) => {},
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight and committing");
    }
}
