//! `GET /v1/stream`: Server-Sent Events of the entries that match a filter, in seq order.
//!
//! A stream first replays from the store what came after the client's last seq, then takes
//! live entries from the tenant's fan-out (`hub.rs`) and applies its filter in memory. When it
//! falls so far behind that the fan-out moved on, it replays from the store again: a slow client
//! is caught up by seq, never dropped silently, and never slows the writer or another client.

use super::auth::Caller;
use super::error::Failure;
use super::hub::{Batch, LiveEntry};
use super::{AppState, blocking, params};
use crate::model::{ApiError, Query};
use crate::store::Store;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Entries read from the store at a time while replaying or catching up.
const CHUNK: usize = 500;
/// The longest silence on an open stream: proxies and clients see the line is alive.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Streams the caller's tenant's entries matching the filter, after `Last-Event-ID` or
/// `after_seq` when given (a replay), else from now on.
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("follow the log")?;
    let (query, rest) = params::filter(raw.as_deref(), &["after_seq"])?;
    let from_header = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(parse_seq(v.to_str().unwrap_or("?"), "Last-Event-ID")?),
    };
    let from_param = params::text(&rest, "after_seq")
        .map(|v| parse_seq(v, "after_seq"))
        .transpose()?;
    let tenant = caller.tenant().to_string();
    // Subscribe before reading the head: whatever is committed after it comes live.
    let live = state.hub.subscribe(&state.store, &tenant).await?;
    let after = match from_header.or(from_param) {
        Some(seq) => seq,
        None => {
            let t = tenant.clone();
            blocking(&state, move |s| s.head_at(&t, None))
                .await?
                .map_or(0, |h| h.seq)
        }
    };
    let follow = Follow {
        store: state.store.clone(),
        tenant,
        query,
        after,
        buffer: VecDeque::new(),
        live,
        replaying: true,
        shutdown: state.shutdown.clone(),
        announced: false,
        ended: false,
    };
    let sse = Sse::new(follow.into_stream())
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"));
    // Proxies (nginx) must pass events through as they come, not collect them.
    Ok(([("x-accel-buffering", "no")], sse).into_response())
}

fn parse_seq(v: &str, name: &str) -> Result<u64, ApiError> {
    v.trim().parse::<u64>().map_err(|_| {
        ApiError::invalid_query(format!(
            "{name} `{}` is not a seq (a whole number, the `id:` of an event)",
            v.chars().take(32).collect::<String>()
        ))
        .with_field(name)
    })
}

/// One client's place in the log.
struct Follow {
    store: Arc<dyn Store>,
    tenant: String,
    query: Query,
    /// The last seq sent (or the seq the client said it has).
    after: u64,
    buffer: VecDeque<Arc<LiveEntry>>,
    live: broadcast::Receiver<Batch>,
    /// Reading from the store until caught up, rather than from the fan-out.
    replaying: bool,
    shutdown: watch::Receiver<bool>,
    /// Whether the `ready` event went out.
    announced: bool,
    ended: bool,
}

impl Follow {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send {
        stream::unfold(self, |mut f| async move {
            let event = f.next_event().await?;
            Some((Ok(event), f))
        })
    }

    /// The next event to send; `None` ends the stream (server shutting down, store closed).
    async fn next_event(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        if !std::mem::replace(&mut self.announced, true) {
            // Where the stream starts, as an id: a client that loses the connection before the
            // first entry still knows what to resume after.
            return Some(
                Event::default()
                    .event("ready")
                    .id(self.after.to_string())
                    .data(format!("{{\"after_seq\":{}}}", self.after)),
            );
        }
        loop {
            if let Some(e) = self.buffer.pop_front() {
                self.after = e.entry.seq;
                return Some(
                    Event::default()
                        .id(e.entry.seq.to_string())
                        .event("entry")
                        .data(&e.json),
                );
            }
            if *self.shutdown.borrow() {
                return None;
            }
            if self.replaying {
                match self.read().await {
                    Ok(entries) => {
                        // A short read reached the end: what comes next is in the fan-out,
                        // which this stream joined before its first read.
                        self.replaying = entries.len() == CHUNK;
                        self.buffer
                            .extend(entries.into_iter().map(|e| Arc::new(LiveEntry::new(e))));
                    }
                    Err(message) => {
                        self.ended = true;
                        return Some(Event::default().event("error").data(message));
                    }
                }
                continue;
            }
            let mut shutdown = self.shutdown.clone();
            tokio::select! {
                batch = self.live.recv() => match batch {
                    Ok(batch) => {
                        let now = chrono::Utc::now();
                        let after = self.after;
                        self.buffer.extend(
                            batch
                                .iter()
                                .filter(|e| e.entry.seq > after && self.query.matches(&e.entry, now))
                                .cloned(),
                        );
                    }
                    // Fell behind the fan-out: the store has every entry, by seq.
                    Err(broadcast::error::RecvError::Lagged(_)) => self.replaying = true,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = async {
                    // A server built without a shutdown signal never asks streams to end.
                    if shutdown.wait_for(|stop| *stop).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                } => return None,
            }
        }
    }

    /// The next chunk after the last seq sent, read on the blocking pool.
    async fn read(&self) -> Result<Vec<crate::model::Entry>, String> {
        let (tenant, query, after) = (self.tenant.clone(), self.query.clone(), self.after);
        let now = chrono::Utc::now();
        super::on_store(&self.store, move |s| {
            s.after_seq(&tenant, &query, after, CHUNK, now)
        })
        .await
        .map_err(|e| {
            tracing::error!("a stream could not read the store: {e}");
            error_json("the server could not read the log; reconnect to resume")
        })
    }
}

fn error_json(message: &str) -> String {
    serde_json::to_string(&crate::model::ErrorBody {
        error: ApiError::internal(message),
    })
    .unwrap_or_default()
}
