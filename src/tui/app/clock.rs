//! The clock and the health probe: what a tick changes, whether it changed anything shown
//! (a frame is drawn only then), and a server that stops answering showing with no key pressed.

use super::{App, Status, TimeMode};
use crate::client::ClientError;
use crate::tui::action::Effect;
use chrono::{DateTime, Utc};

/// How often the TUI asks the server whether it is there. A dead server shows in the header
/// within 2 seconds with no key pressed: a refused connection at the next probe (a live stream
/// that breaks asks for one at once, see `outage.rs`), a hung one after the probe's own
/// 3-second limit.
const PROBE_EVERY_MS: i64 = 1500;

impl App {
    /// Everything a tick can change on screen: a frame is drawn only when it differs.
    pub(super) fn tick_view(&self) -> TickView {
        TickView {
            spinner: self.pager.loading.then_some(self.chrome.spinner % 4),
            // Ages, the offline header's "synced … ago" and the reconnect countdown move by the second.
            second: (self.chrome.time_mode == TimeMode::Relative
                || !matches!(self.conn.link, crate::tui::link::Link::Online)
                || self.conn.follow.is_some())
            .then_some(self.now.timestamp()),
            fresh: self.conn.follow.as_ref().map_or(0, |f| f.fresh_len()),
            status: std::mem::discriminant(&self.conn.status),
            down: self.conn.down_since.is_some(),
            rows: self.pager.rows.version(),
        }
    }

    pub(super) fn on_tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        self.now = now;
        self.chrome.spinner = self.chrome.spinner.wrapping_add(1);
        let mut live = self.follow_tick();
        if self.probe_due(now) {
            live.push(Effect::Probe);
        }
        let buckets = self.buckets_wanted();
        let mut fx = match self.pager.retry_due(now, &self.query, buckets) {
            Some((true, _)) => self.reload(),
            Some((false, fx)) => fx,
            None => Vec::new(),
        };
        fx.extend(live);
        fx
    }

    /// Whether to ask the server if it is there: online, none asked yet, and due.
    pub(super) fn probe_due(&mut self, now: DateTime<Utc>) -> bool {
        let c = &mut self.conn;
        if c.link != crate::tui::link::Link::Online || c.probing {
            return false;
        }
        match c.probe_at {
            Some(at) if now < at => false,
            _ => {
                c.probe_at = Some(now + chrono::Duration::milliseconds(PROBE_EVERY_MS));
                c.probing = true;
                true
            }
        }
    }

    /// The answer to a health probe: a server that stopped answering shows at once; one that
    /// answers again clears the failure, and a table left empty by it loads.
    pub(super) fn on_health(&mut self, result: Result<(), ClientError>) -> Vec<Effect> {
        self.conn.probing = false;
        match result {
            Ok(()) => {
                let mut fx = self.server_back();
                if let Status::Failed(e) = &self.conn.status
                    && e.is_transient()
                {
                    self.conn.status = Status::Connected;
                    if self.pager.rows.is_empty() {
                        fx.extend(self.reload());
                    }
                }
                fx
            }
            Err(e) if e.is_transient() => {
                tracing::warn!("the server does not answer: {e}");
                if Self::unreachable(&e) {
                    self.server_down(self.now, Some(&e));
                }
                self.conn.status = Status::Failed(e);
                Vec::new()
            }
            // 401/403 on /healthz would be a proxy's doing; the requests that matter say so.
            Err(_) => Vec::new(),
        }
    }
}

/// What a tick may change on screen.
#[derive(Debug, PartialEq)]
pub(super) struct TickView {
    /// The spinner's frame, while it shows.
    spinner: Option<usize>,
    /// The clock's second, while something on screen counts seconds.
    second: Option<i64>,
    /// Rows still highlighted as new.
    fresh: usize,
    status: std::mem::Discriminant<Status>,
    /// Whether the server is answering (the header and footer say when it stopped).
    down: bool,
    rows: u64,
}
