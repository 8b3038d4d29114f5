//! Accepting connections (plain, or TLS when `serve --tls-cert` gives one: the handshake runs
//! on the connection's own task, held to the header deadline): hyper's HTTP/1.1 server with the limits of API.md "Limits and
//! failure behaviour" — headers within 10 s, idle connections closed, a shutdown that ends
//! within 10 s whatever clients do, and accept errors (too many open files) that never stall
//! the loop for long.
//!
//! `axum::serve` offers none of the timeouts, so this drives hyper's own connection builder
//! (`header_read_timeout` with hyper-util's Tokio timer) directly.
//!
//! Idle keep-alive: hyper has one timer for "the next request's headers", started as soon as a
//! connection is idle, so an idle keep-alive connection is closed after
//! [`HEADER_READ_TIMEOUT`] (10 s) — sooner than the 60 s API.md allows, which only bounds it.
//! hyper 1.12 and hyper-util 0.1.21 (the newest) have no separate idle timeout (hyperium/hyper
//! #3828 made the header timer start at idle and left an `idle_timeout` for later), and a
//! hand-made one would have to know where a request's headers end, which only hyper does.

use super::parse_errors::JsonParseErrors;
use super::tls::Tls;
use super::write_stall::WriteStall;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// A request's headers must all arrive within this long, and an idle connection is closed after it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// After SIGTERM, requests in flight get this long; then every connection is dropped.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);
/// The most request headers hyper reads; more is 431.
pub const MAX_HEADERS: usize = 100;

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, asks every
/// connection to finish its request in flight, and after [`SHUTDOWN_DEADLINE`] drops the rest.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut accept_errors = 0u32;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
            // Reap finished connections so the set holds only live ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                if accept_errors > 0 {
                    tracing::warn!(errors = accept_errors, "accepting connections again");
                }
                accept_errors = 0;
                a
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors or memory: back off briefly (held connections time
                // out and free descriptors), not a second per error as a fixed sleep would.
                // Logged at the 1st, 2nd, 4th, 8th … error of a run, so a long run cannot
                // flood the log; its end is logged once.
                accept_errors = accept_errors.saturating_add(1);
                if accept_errors == 1 || accept_errors.is_power_of_two() {
                    tracing::error!(errors = accept_errors, "accept error: {e}");
                }
                let pause = Duration::from_millis(5 * u64::from(accept_errors.min(20)));
                tokio::select! {
                    _ = tokio::time::sleep(pause) => continue,
                    _ = &mut shutdown => break,
                }
            }
        };
        spawn_connection(
            &mut connections,
            tls.as_ref(),
            &http,
            &app,
            stream,
            peer,
            &stopping,
        );
    }
    drop(listener);
    let _ = stop.send(true);
    drain(connections).await;
    Ok(())
}

/// Serves an accepted connection on its own task in `connections`: plain, or TLS after a
/// handshake held to the same deadline as a request's headers.
fn spawn_connection(
    connections: &mut JoinSet<()>,
    tls: Option<&Tls>,
    http: &hyper::server::conn::http1::Builder,
    app: &Router,
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    stopping: &watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let app = app.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let stopping = stopping.clone();
    let http = http.clone();
    match tls {
        None => {
            let io = WriteStall::new(JsonParseErrors::new(stream));
            connections.spawn(drive(http, io, service, stopping, peer));
        }
        Some(tls) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
            connections.spawn(async move {
                let stream = match tokio::time::timeout(
                    HEADER_READ_TIMEOUT,
                    acceptor.accept(stream),
                )
                .await
                {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, "TLS handshake failed: {e}");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
                let io = WriteStall::new(JsonParseErrors::new(stream));
                drive(http, io, service, stopping, peer).await;
            });
        }
    }
}

/// Waits for the connections to finish their requests in flight, up to
/// [`SHUTDOWN_DEADLINE`]; then drops the rest.
async fn drain(mut connections: JoinSet<()>) {
    let open = connections.len();
    if tokio::time::timeout(SHUTDOWN_DEADLINE, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!(
            open,
            left = connections.len(),
            "shutdown deadline passed; dropping the connections still open"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// Serves one connection until it ends, or until shutdown asks it to finish its request in
/// flight and close.
async fn drive<I, S>(
    http: hyper::server::conn::http1::Builder,
    io: I,
    service: S,
    mut stopping: watch::Receiver<bool>,
    peer: std::net::SocketAddr,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<hyper::Request<Incoming>, Response = axum::response::Response>
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = http.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            return;
        }
        _ = stopping.wait_for(|s| *s) => {}
    }
    // Finish the request in flight, then close; an idle connection closes at once.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Errors about one connection that went away before it was accepted: the next accept is fine.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
