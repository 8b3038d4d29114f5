//! Follow mode (`F`): entries that match the filter stream in at the top as they are written.
//!
//! The reader's place is sacred: at the top (and not reading an entry) the newest rows simply
//! appear; scrolled away, the rows they look at stay where they are and a counter says how
//! many new ones wait above. A dropped connection is the follower's business (it reconnects and
//! resumes after the last seq); the app only shows that it is happening.

use super::action::Effect;
use super::app::App;
use super::rows::Placed;
use crate::client::Live;
use crate::model::Entry;
use chrono::{DateTime, Duration, Utc};

/// How long a row that just arrived stays highlighted.
const FRESH_MS: i64 = 2000;
/// The count follows each arrival at once; the histogram is fetched again at most this often.
const STATS_EVERY_MS: i64 = 2000;
/// After a reconnect, the count is asked for again once the replay has had time to arrive.
const RESUMED_STATS_MS: i64 = 500;

/// Where the live connection stands.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveState {
    Connecting,
    Live,
    /// Dropped; the follower tries again at `retry_at`.
    Reconnecting {
        retry_at: DateTime<Utc>,
        reason: String,
    },
}

/// The state of follow mode while it is on.
#[derive(Debug)]
pub struct Follow {
    pub state: LiveState,
    /// The generation of the follower whose reports count (older ones are dropped).
    follower: u64,
    /// New rows above the part of the table in view: the `▲ N new` counter.
    pub unseen: usize,
    /// Rows that just arrived, by seq, and until when they are highlighted.
    fresh: Vec<(u64, DateTime<Utc>)>,
    /// A reload is under way: start following once its first page is in, after its newest seq.
    waiting_for_page: bool,
    /// When the histogram is next refreshed, if entries arrived since it was.
    stats_due: Option<DateTime<Utc>>,
    /// The newest seq the stream delivered (some land beyond the loaded rows, so the rows'
    /// newest seq alone could replay them): a follower started again resumes after it.
    last_seq: Option<u64>,
}

impl Follow {
    /// How many rows are highlighted as new.
    pub fn fresh_len(&self) -> usize {
        self.fresh.len()
    }
}

impl App {
    /// `F`: starts following (and goes to the top), or stops.
    pub(super) fn toggle_follow(&mut self) -> Vec<Effect> {
        if self.conn.follow.take().is_some() {
            self.chrome.flash = Some("stopped following".into());
            return vec![Effect::StopFollow];
        }
        self.conn.live_gen += 1;
        let mut f = Follow {
            state: LiveState::Connecting,
            follower: self.conn.live_gen,
            unseen: 0,
            fresh: Vec::new(),
            waiting_for_page: false,
            stats_due: None,
            last_seq: None,
        };
        let mut fx = Vec::new();
        if self.pager.loading && self.pager.rows.is_empty() {
            f.waiting_for_page = true;
        } else {
            fx.push(self.follow_effect(f.follower));
        }
        self.conn.follow = Some(f);
        fx.extend(self.select(0));
        fx
    }

    fn follow_effect(&self, follower: u64) -> Effect {
        let delivered = self.conn.follow.as_ref().and_then(|f| f.last_seq);
        Effect::Follow {
            follower,
            query: self.query.clone(),
            after: self.pager.rows.max_seq().max(delivered),
        }
    }

    /// The server answers again while its follower waits out a backoff: a new follower starts
    /// now, after the last seq there is, rather than up to 15 s later.
    pub(super) fn follow_resume(&mut self) -> Vec<Effect> {
        self.conn.live_gen += 1;
        let gen_ = self.conn.live_gen;
        let Some(f) = &mut self.conn.follow else {
            return Vec::new();
        };
        if f.state == LiveState::Live || f.waiting_for_page {
            return Vec::new();
        }
        f.follower = gen_;
        f.state = LiveState::Connecting;
        vec![self.follow_effect(gen_)]
    }

    /// The filter changed or the table reloads: the running follower is for the old rows.
    pub(super) fn follow_reload(&mut self) -> Vec<Effect> {
        let Some(f) = &mut self.conn.follow else {
            return Vec::new();
        };
        self.conn.live_gen += 1;
        f.follower = self.conn.live_gen;
        f.state = LiveState::Connecting;
        f.unseen = 0;
        f.fresh.clear();
        f.last_seq = None;
        f.waiting_for_page = true;
        vec![Effect::StopFollow]
    }

    /// A first page arrived: a follower waiting for it starts after its newest seq, so the
    /// seam between the page and the stream has no gap and no row twice.
    pub(super) fn follow_after_page(&mut self) -> Vec<Effect> {
        match &mut self.conn.follow {
            Some(f) if f.waiting_for_page => {
                f.waiting_for_page = false;
                let follower = f.follower;
                vec![self.follow_effect(follower)]
            }
            _ => Vec::new(),
        }
    }

    /// What the follower reports.
    pub(super) fn on_live(&mut self, follower: u64, event: Live) -> Vec<Effect> {
        let Some(f) = &mut self.conn.follow else {
            return Vec::new();
        };
        if f.follower != follower {
            return Vec::new();
        }
        match event {
            Live::Connected => {
                f.state = LiveState::Live;
                // The count is the server's again once a replay is in: entries counted as they
                // arrive while the stats are asked for could count twice (or not at all).
                f.stats_due = Some(self.now + Duration::milliseconds(RESUMED_STATS_MS));
                self.server_back()
            }
            Live::Dropped { error, retry_in } => {
                let was_live = f.state == LiveState::Live;
                f.state = LiveState::Reconnecting {
                    retry_at: self.now
                        + Duration::from_std(retry_in).unwrap_or(Duration::seconds(1)),
                    reason: error.to_string(),
                };
                if was_live {
                    // The stream broke: whether the server is gone the next probe says.
                    self.probe_now();
                } else if Self::unreachable(&error) {
                    // Connecting again failed: the server does not answer.
                    self.server_down(self.now, Some(&error));
                }
                Vec::new()
            }
            Live::Failed(error) => {
                self.conn.follow = None;
                self.chrome.flash = Some(format!("stopped following: {error}; {}", error.advice()));
                Vec::new()
            }
            Live::Entries(entries) => {
                self.arrived(entries);
                Vec::new()
            }
        }
    }

    /// New entries (in seq order) go where the table's order puts them, almost always the top.
    /// At the top (and not reading an entry) the view shows them; anywhere else the rows the
    /// reader looks at stay where they are on screen, and those that land above are counted.
    fn arrived(&mut self, entries: Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        let now = self.now;
        let at_top =
            self.pager.selected == 0 && self.pager.offset == 0 && self.pane.detail.is_none();
        let complete = self.pager.exhausted;
        let Some(f) = &mut self.conn.follow else {
            return;
        };
        let until = now + Duration::milliseconds(FRESH_MS);
        // Positions are among the rows before this batch, so compare with the place before it.
        let (selected, offset) = (self.pager.selected, self.pager.offset);
        let mut added = 0u64;
        f.last_seq = f.last_seq.max(entries.iter().map(|e| e.seq).max());
        for (e, placed) in entries
            .iter()
            .zip(self.pager.rows.place(&entries, complete))
        {
            match placed {
                Placed::Duplicate => continue,
                Placed::Beyond => {}
                Placed::At(at) => {
                    f.fresh.push((e.seq, until));
                    if !at_top {
                        if at <= selected {
                            self.pager.selected += 1;
                        }
                        // At the top of the view or above it: kept out of view, counted.
                        if at <= offset {
                            self.pager.offset += 1;
                            f.unseen += 1;
                        }
                    }
                }
            }
            added += 1;
        }
        self.pager.total = self.pager.total.map(|t| t + added);
        if added > 0 {
            f.stats_due
                .get_or_insert(now + Duration::milliseconds(STATS_EVERY_MS));
        }
    }

    /// The clock moved on: highlights fade, the histogram catches up.
    pub(super) fn follow_tick(&mut self) -> Vec<Effect> {
        let now = self.now;
        let Some(f) = &mut self.conn.follow else {
            return Vec::new();
        };
        f.fresh.retain(|(_, until)| *until > now);
        match f.stats_due {
            Some(due) if now >= due => {
                f.stats_due = None;
                vec![Effect::FetchStats {
                    load: self.generation(),
                    query: self.query.clone(),
                    buckets: self.buckets_wanted(),
                }]
            }
            _ => Vec::new(),
        }
    }

    /// The new rows above the view that the reader has now scrolled to are seen.
    pub(super) fn follow_seen(&mut self) {
        if let Some(f) = &mut self.conn.follow {
            f.unseen = f.unseen.min(self.pager.offset);
        }
    }

    /// Whether the row with `seq` just arrived live (it is highlighted).
    pub fn is_fresh(&self, seq: u64) -> bool {
        self.conn
            .follow
            .as_ref()
            // Entries stream in seq order, so `fresh` is sorted by seq.
            .is_some_and(|f| f.fresh.binary_search_by_key(&seq, |(s, _)| *s).is_ok())
    }
}
