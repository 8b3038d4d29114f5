//! `GET /v1/stream`: Server-Sent Events of the entries that match a filter, in seq order.
//!
//! A stream first replays from the store what came after the client's last seq, then takes
//! live entries from the tenant's fan-out (`hub.rs`) and applies its filter in memory. When it
//! falls so far behind that the fan-out moved on, it replays from the store again: a slow client
//! is caught up by seq, never dropped silently, and never slows the writer or another client.

use super::auth::Caller;
use super::error::Failure;
use super::hub::{Batch, LiveEntry};
use super::{AppState, params};
use crate::model::{ApiError, ErrorCode, Query};
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
const CHUNK: usize = 100;
/// Entries read first, before their size is known: 16 of the largest entries an event may
/// make (details of 256 KiB) are ~4 MiB, where 100 were 25 MiB per stream.
const FIRST_READ: usize = 16;
/// The most JSON a stream keeps waiting to be sent. A client that stops reading holds at most
/// this (plus one entry, and what hyper and the kernel buffer for the socket); past that it
/// reads nothing more, and the connection's write stall timeout drops it. It resumes with
/// `Last-Event-ID`.
pub const BUFFER_BYTES: usize = 1024 * 1024;
/// Open streams one token may hold; the next is 429.
pub const STREAMS_PER_TOKEN: usize = 8;
/// The longest silence on an open stream by default: proxies and clients see the line is
/// alive (`ServerOptions::stream_keep_alive` changes it).
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
    let (query, rest) = params::filter(raw.as_deref(), &["after_seq", "format"])?;
    // `format=ocsf`: each entry's data is its OCSF event (issue 15); ids and resuming are the same.
    let ocsf = match params::text(&rest, "format") {
        None | Some("entry") => false,
        Some("ocsf") => true,
        Some(other) => {
            return Err(ApiError::invalid_query(format!(
                "format=`{}` is not entry or ocsf",
                other.chars().take(32).collect::<String>()
            ))
            .with_field("format")
            .into());
        }
    };
    let from_header = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(parse_seq(v.to_str().unwrap_or("?"), "Last-Event-ID")?),
    };
    let from_param = params::text(&rest, "after_seq")
        .map(|v| parse_seq(v, "after_seq"))
        .transpose()?;
    let slot = state.streams.take(&caller.0.id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "this token already holds {STREAMS_PER_TOKEN} open streams; close one, or retry later"
            ),
        )
    })?;
    let tenant = caller.tenant().to_string();
    // Subscribe before reading the head: whatever is committed after it comes live.
    let live = state.hub.subscribe(&state.store, &tenant).await?;
    let after = match from_header.or(from_param) {
        Some(seq) => seq,
        None => state
            .store
            .head_at(&tenant, None)
            .await?
            .map_or(0, |h| h.seq),
    };
    let follow = Follow {
        store: state.store.clone(),
        tenant,
        query,
        after,
        buffer: VecDeque::new(),
        buffered: 0,
        entry_bytes: 0,
        live,
        _slot: slot,
        replaying: true,
        shutdown: state.shutdown.clone(),
        announced: false,
        ended: false,
        ocsf,
    };
    let sse = Sse::new(follow.into_stream()).keep_alive(
        KeepAlive::new()
            .interval(state.keep_alive)
            .text("keep-alive"),
    );
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
    /// Bytes of JSON in `buffer`, at most about [`BUFFER_BYTES`].
    buffered: usize,
    /// The largest entry's JSON in the last batch queued, in bytes: a replay reads only as many
    /// entries as could fit in the buffer, not [`CHUNK`] of them to keep five (entries of
    /// 200 KB made each stalled stream read 20 MB from the store per megabyte it sent).
    entry_bytes: usize,
    live: broadcast::Receiver<Batch>,
    /// This stream's place in its token's allowance, given back when the stream ends.
    _slot: StreamSlot,
    /// Reading from the store until caught up, rather than from the fan-out.
    replaying: bool,
    shutdown: watch::Receiver<bool>,
    /// Whether the `ready` event went out.
    announced: bool,
    ended: bool,
    /// Send OCSF events instead of entries.
    ocsf: bool,
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
                self.buffered -= e.json.len();
                self.after = e.entry.seq;
                let event = Event::default().id(e.entry.seq.to_string()).event("entry");
                return Some(if self.ocsf {
                    event.data(crate::export::ocsf::event_text(&e.entry))
                } else {
                    event.data(&e.json)
                });
            }
            if *self.shutdown.borrow() {
                return None;
            }
            if self.replaying {
                let limit = self.read_limit();
                match self.read(limit).await {
                    Ok(entries) => {
                        // A short read reached the end: what comes next is in the fan-out,
                        // which this stream joined before its first read.
                        self.replaying = entries.len() == limit;
                        let full =
                            self.push(entries.into_iter().map(|e| Arc::new(LiveEntry::new(e))));
                        // What did not fit is read again once the buffer has drained.
                        self.replaying |= full;
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
                        let after = self.last_seq();
                        let query = self.query.clone();
                        let matching: Vec<_> = batch
                            .iter()
                            .filter(|e| e.entry.seq > after && query.matches(&e.entry, now))
                            .cloned()
                            .collect();
                        // Too much waiting: the rest comes from the store, by seq, later.
                        if self.push(matching.into_iter()) {
                            self.replaying = true;
                        }
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

    /// The last seq sent or waiting to be sent.
    fn last_seq(&self) -> u64 {
        self.buffer.back().map_or(self.after, |e| e.entry.seq)
    }

    /// Queues entries in seq order until [`BUFFER_BYTES`] is reached (always at least one, so
    /// a single large entry still goes out); returns true when some did not fit.
    fn push(&mut self, entries: impl Iterator<Item = Arc<LiveEntry>>) -> bool {
        let mut largest = 0;
        let mut full = false;
        for e in entries {
            if self.buffered >= BUFFER_BYTES && !self.buffer.is_empty() {
                full = true;
                break;
            }
            self.buffered += e.json.len();
            largest = largest.max(e.json.len());
            self.buffer.push_back(e);
        }
        if largest > 0 {
            self.entry_bytes = largest;
        }
        full
    }

    /// How many entries to read next: [`FIRST_READ`] before any was seen, then as many of the
    /// largest of the last batch as the buffer has room for (at least one, at most [`CHUNK`]).
    fn read_limit(&self) -> usize {
        match self.entry_bytes {
            0 => FIRST_READ,
            size => (BUFFER_BYTES.saturating_sub(self.buffered) / size).clamp(1, CHUNK),
        }
    }

    /// The next `limit` entries after the last seq queued. The error is no message to act on
    /// but the stream's last event, its `error` JSON ready to send (the cause goes to the log).
    async fn read(&self, limit: usize) -> Result<Vec<crate::model::Entry>, String> {
        let now = chrono::Utc::now();
        self.store
            .after_seq(&self.tenant, &self.query, self.last_seq(), limit, now)
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

/// How many streams each token holds open.
#[derive(Default)]
pub struct StreamCounts(Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>);

impl StreamCounts {
    /// A place for one more stream of `token`, or `None` when it holds [`STREAMS_PER_TOKEN`].
    fn take(&self, token: &str) -> Option<StreamSlot> {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(token.to_string()).or_default();
        if *n >= STREAMS_PER_TOKEN {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            counts: self.0.clone(),
            token: token.to_string(),
        })
    }
}

/// One open stream's place; dropping it (the stream ended, the client left) frees it.
struct StreamSlot {
    counts: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    token: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.token) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.token);
            }
        }
    }
}
