//! A server that stops answering, and its return (TUI.md, round 3): the header says so within
//! two seconds of the connection dropping, with since when; the footer never keeps a stale
//! "back online"; on return, following resumes at once after the last seq it had, and the count
//! is the server's again.
//!
//! What says the server is gone: a health probe that fails to reach it, any request that fails
//! to reach it (the data source then falls back to the cache), the live stream failing to
//! reconnect. A live stream that merely broke asks for a probe at once: a proxy's cut is not an
//! outage, a refused connection is. What says it is back: a probe answered, the data source back
//! online, the live stream connected again.

use super::action::Effect;
use super::app::App;
use crate::client::ClientError;
use chrono::{DateTime, Utc};

/// `20:31:05Z`, how the header and footer say when the server stopped answering.
pub fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%SZ").to_string()
}

impl App {
    /// The server did not answer at `at`, for the reason given if known (the first sign of an
    /// outage counts; later ones change nothing). Replaces whatever the footer said, a "back
    /// online" included.
    pub(super) fn server_down(&mut self, at: DateTime<Utc>, why: Option<&ClientError>) {
        if self.conn.down_since.is_some() {
            return;
        }
        self.conn.down_since = Some(at);
        let why = why.map(|e| format!(" ({e})")).unwrap_or_default();
        self.chrome.flash = Some(format!(
            "the server stopped answering at {}{why}: retrying in the background; what is loaded stays",
            clock(at)
        ));
    }

    /// Whether `e` says the server could not be reached (not that it refused or failed).
    pub(super) fn unreachable(e: &ClientError) -> bool {
        matches!(e, ClientError::Unreachable { .. })
    }

    /// The server answers again: the header says so, and a follower waiting out its backoff
    /// starts again at once after the last seq it had, so nothing between is missed or doubled.
    pub(super) fn server_back(&mut self) -> Vec<Effect> {
        let Some(since) = self.conn.down_since.take() else {
            return Vec::new();
        };
        self.chrome.flash = Some(format!(
            "the server answers again (no answer from {} to {}): back online, where you were",
            clock(since),
            clock(self.now)
        ));
        self.follow_resume()
    }

    /// The live stream broke: ask the server at the next tick whether it is still there.
    pub(super) fn probe_now(&mut self) {
        self.conn.probe_at = None;
    }
}
