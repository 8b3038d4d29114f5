//! Following the log live (`GET /v1/stream`): one connection, and a follower that reconnects
//! with backoff and resumes after the last seq it delivered, so nothing is missed or repeated.

use super::sse::{SseEvent, SseParser};
use super::{Client, ClientError, status_error};
use crate::model::{Entry, Query};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The server sends a keep-alive at least every 15 s; three missed ones mean the line is dead
/// (a laptop that slept, a NAT that forgot us), however the TCP connection looks.
const SILENCE: Duration = Duration::from_secs(45);
/// Entries that arrive within this window are handed on together: at thousands a second a
/// consumer gets ~20 batches a second, not thousands of messages.
const BATCH_WINDOW: Duration = Duration::from_millis(50);
/// A batch is handed on at this size even inside the window.
const BATCH_MAX: usize = 2000;
/// The first wait before reconnecting, doubled on each failure up to [`BACKOFF_MAX`].
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(15);

/// What an open stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// The stream starts after this seq (the server's first event).
    Ready(u64),
    Entry(Box<Entry>),
}

/// One open `GET /v1/stream` connection.
pub struct LiveStream {
    resp: reqwest::Response,
    parser: SseParser,
    ready: VecDeque<SseEvent>,
    base: String,
}

impl Client {
    /// Opens the stream of entries matching `q`, after `after_seq` (a replay) or from now on.
    pub async fn open_stream(
        &self,
        q: &Query,
        after_seq: Option<u64>,
    ) -> Result<LiveStream, ClientError> {
        let mut req = self
            .http
            .get(format!("{}/v1/stream", self.base))
            .bearer_auth(&self.token)
            .query(&super::filter_params(q))
            .header("accept", "text/event-stream")
            // The client's whole-request timeout would cut a stream that is meant to stay open;
            // silence is watched instead.
            .timeout(Duration::from_secs(365 * 24 * 3600));
        if let Some(seq) = after_seq {
            req = req.header("last-event-id", seq.to_string());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| super::unreachable(&self.base, &e))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let text = resp.text().await.unwrap_or_default();
            return Err(status_error(status, &text));
        }
        Ok(LiveStream {
            resp,
            parser: SseParser::default(),
            ready: VecDeque::new(),
            base: self.base.clone(),
        })
    }
}

impl LiveStream {
    /// The next item; `Ok(None)` when the server ended the stream (it is shutting down).
    /// Cancel-safe: dropping the future loses nothing already received.
    pub async fn next(&mut self) -> Result<Option<StreamItem>, ClientError> {
        loop {
            while let Some(ev) = self.ready.pop_front() {
                match ev.event.as_str() {
                    "entry" => {
                        let entry: Entry = serde_json::from_str(&ev.data).map_err(|e| {
                            ClientError::Decode(format!("an entry in the stream: {e}"))
                        })?;
                        return Ok(Some(StreamItem::Entry(Box::new(entry))));
                    }
                    "ready" => {
                        if let Some(seq) = ev.id.as_deref().and_then(|s| s.parse().ok()) {
                            return Ok(Some(StreamItem::Ready(seq)));
                        }
                    }
                    "error" => {
                        let message = serde_json::from_str::<crate::model::ErrorBody>(&ev.data)
                            .map(|b| b.error.message)
                            .unwrap_or(ev.data);
                        return Err(ClientError::Server {
                            status: 500,
                            message,
                        });
                    }
                    _ => {} // unknown event types are for newer clients
                }
            }
            let chunk = match tokio::time::timeout(SILENCE, self.resp.chunk()).await {
                Err(_) => {
                    return Err(ClientError::Unreachable {
                        url: self.base.clone(),
                        reason: format!("the stream was silent for {} s", SILENCE.as_secs()),
                    });
                }
                Ok(Err(e)) => {
                    return Err(super::unreachable(&self.base, &e));
                }
                Ok(Ok(None)) => return Ok(None),
                Ok(Ok(Some(c))) => c,
            };
            let mut out = Vec::new();
            let fed = self.parser.feed(&chunk, &mut out);
            self.ready.extend(out);
            fed.map_err(|e| ClientError::Decode(e.to_string()))?;
        }
    }
}

/// What a follower reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// Connected (again): entries flow.
    Connected,
    /// New entries, in seq order, never one twice.
    Entries(Vec<Entry>),
    /// The connection dropped or could not be made; trying again after `retry_in`.
    Dropped {
        error: ClientError,
        retry_in: Duration,
    },
    /// The server refused for good (token, role, filter): following stopped.
    Failed(ClientError),
}

/// Follows `q` until `report` returns false or the server refuses for good: reconnects with
/// backoff after any drop (or the server's shutdown) and resumes after the last seq delivered.
pub async fn follow(
    client: &Client,
    q: &Query,
    mut after: Option<u64>,
    mut report: impl FnMut(Live) -> bool,
) {
    let mut backoff = BACKOFF_START;
    loop {
        let error = match client.open_stream(q, after).await {
            Ok(mut stream) => {
                if !report(Live::Connected) {
                    return;
                }
                backoff = BACKOFF_START;
                match pump(&mut stream, &mut after, &mut report).await {
                    Pump::Stop => return,
                    Pump::Ended => ClientError::Unreachable {
                        url: client.base().to_string(),
                        reason: "the server closed the stream".into(),
                    },
                    Pump::Broke(e) => e,
                }
            }
            Err(e) => e,
        };
        if !error.is_transient() {
            report(Live::Failed(error));
            return;
        }
        if !report(Live::Dropped {
            error,
            retry_in: backoff,
        }) {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

enum Pump {
    Stop,
    Ended,
    Broke(ClientError),
}

/// Hands on what one connection delivers, in batches, tracking the last seq.
async fn pump(
    stream: &mut LiveStream,
    after: &mut Option<u64>,
    report: &mut impl FnMut(Live) -> bool,
) -> Pump {
    let mut batch: Vec<Entry> = Vec::new();
    let mut flush_at: Option<Instant> = None;
    loop {
        let item = match flush_at {
            Some(at) => tokio::select! {
                item = stream.next() => item,
                _ = tokio::time::sleep_until(at) => {
                    flush_at = None;
                    if !report(Live::Entries(std::mem::take(&mut batch))) {
                        return Pump::Stop;
                    }
                    continue;
                }
            },
            None => stream.next().await,
        };
        let end = match item {
            Ok(Some(StreamItem::Ready(seq))) => {
                after.get_or_insert(seq);
                continue;
            }
            Ok(Some(StreamItem::Entry(e))) => {
                // Never hand on a seq twice, whatever a server replays.
                if after.is_some_and(|a| e.seq <= a) {
                    continue;
                }
                *after = Some(e.seq);
                batch.push(*e);
                flush_at.get_or_insert_with(|| Instant::now() + BATCH_WINDOW);
                if batch.len() < BATCH_MAX {
                    continue;
                }
                flush_at = None;
                if !report(Live::Entries(std::mem::take(&mut batch))) {
                    return Pump::Stop;
                }
                continue;
            }
            Ok(None) => Pump::Ended,
            Err(e) => Pump::Broke(e),
        };
        if !batch.is_empty() && !report(Live::Entries(batch)) {
            return Pump::Stop;
        }
        return end;
    }
}
