//! The pager: the loaded rows, where the reader is in them, and the keyset paging that fills
//! them (generation, cursor, retry, load-to-end), with the count and histogram of the filter.
//!
//! It owns its update: the app hands it the results of its fetches and the moves of the
//! reader, and it answers with the fetches to start. It knows nothing of overlays or panes.

use super::action::Effect;
use super::rows::{Rows, ViewRow};
use crate::client::ClientError;
use crate::model::{Page, Query, Stats};
use chrono::{DateTime, Duration, Utc};

/// Rows fetched per page while scrolling.
pub const PAGE: usize = 200;
/// Rows per page when loading to the real end.
const BIG_PAGE: usize = 1000;
/// How far from the end of the loaded rows the next page is fetched.
const PREFETCH: usize = 150;
/// Seconds between retries after a transient failure.
const RETRY_SECS: i64 = 5;

/// The table's rows and paging state.
#[derive(Debug, Default)]
pub struct Pager {
    pub rows: Rows,
    next_cursor: Option<String>,
    /// The last page has arrived: every matching entry is loaded.
    pub exhausted: bool,
    /// A page is on its way.
    pub loading: bool,
    /// `G` twice: keep fetching big pages until the end.
    pub load_to_end: bool,
    /// The load generation: results of older ones are dropped.
    load: u64,
    pub selected: usize,
    /// The first row in view.
    pub offset: usize,
    /// The count under the filter (from the stats).
    pub total: Option<u64>,
    /// The count (and the bars) are the server's estimate of a common search term's matches.
    pub estimate: bool,
    pub buckets: Vec<u64>,
    /// When the stats' buckets start and how wide they are (for the histogram's axis).
    pub bucket_start: Option<DateTime<Utc>>,
    pub bucket_seconds: u64,
    /// The next first page replaces the rows shown (a refresh that keeps them until then).
    replace_rows: bool,
    retry_at: Option<DateTime<Utc>>,
    stats_pending: bool,
    /// The last command was `G`: a second one loads to the end.
    pub last_bottom: bool,
    /// The rows in view, parsed and made inert once, not on every frame.
    window: Window,
    /// The entry `w` opened the window around (`occurred_at` in ms, `seq`): marked in the
    /// table, and selected once its page is in (`seeking` until then).
    pub anchor: Option<(i64, u64)>,
    pub seeking: bool,
}

/// The visible rows' cells, and what they were built for.
#[derive(Debug, Default)]
struct Window {
    version: u64,
    offset: usize,
    rows: Vec<ViewRow>,
}

impl Pager {
    /// The current load generation.
    pub fn generation(&self) -> u64 {
        self.load
    }

    /// Forgets the rows and the place in them; a new generation starts.
    pub fn reset(&mut self) {
        self.load += 1;
        self.rows.clear();
        self.replace_rows = false;
        self.next_cursor = None;
        self.exhausted = false;
        self.loading = true;
        self.load_to_end = false;
        self.selected = 0;
        self.offset = 0;
        self.total = None;
        self.estimate = false;
        self.retry_at = None;
        self.anchor = None;
        self.seeking = false;
    }

    /// A new generation that keeps showing the old rows until its first page arrives, so the
    /// table does not blink when the log grew.
    pub fn reload_in_place(&mut self) {
        self.load += 1;
        self.next_cursor = None;
        self.exhausted = false;
        self.loading = true;
        self.load_to_end = false;
        self.replace_rows = true;
    }

    /// The first page and the stats of the current generation.
    pub fn first_loads(&mut self, query: &Query, buckets: usize) -> Vec<Effect> {
        self.stats_pending = true;
        vec![
            Effect::FetchPage {
                load: self.load,
                query: query.clone(),
                cursor: None,
                limit: PAGE,
            },
            self.stats_effect(query, buckets),
        ]
    }

    /// The count and histogram again (the log grew, or the link came back).
    pub fn stats_effect(&mut self, query: &Query, buckets: usize) -> Effect {
        self.stats_pending = true;
        Effect::FetchStats {
            load: self.load,
            query: query.clone(),
            buckets,
        }
    }

    /// The next page, unless one is on its way or there is none.
    pub fn fetch_next(&mut self, query: &Query) -> Vec<Effect> {
        if self.loading || self.exhausted {
            return Vec::new();
        }
        self.loading = true;
        vec![Effect::FetchPage {
            load: self.load,
            query: query.clone(),
            cursor: self.next_cursor.clone(),
            limit: if self.load_to_end { BIG_PAGE } else { PAGE },
        }]
    }

    /// The next page when the reader comes near the end of what is loaded.
    pub fn maybe_prefetch(&mut self, query: &Query) -> Vec<Effect> {
        if self.load_to_end || self.rows.len().saturating_sub(self.selected) < PREFETCH {
            self.fetch_next(query)
        } else {
            Vec::new()
        }
    }

    /// Keeps the selected row inside a view `height` rows high.
    pub fn scroll_into_view(&mut self, height: usize) {
        let h = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        let max_offset = self.rows.len().saturating_sub(h);
        self.offset = self.offset.min(max_offset);
    }

    /// Selects `row` (clamped to the loaded rows) in a view `height` rows high.
    pub fn select(&mut self, row: usize, height: usize) {
        self.selected = row.min(self.rows.len().saturating_sub(1));
        self.scroll_into_view(height);
    }

    /// What a page of generation `load` brings. `Ok(Some(..))`: it was taken, with the
    /// fetches that follow (the next page when loading to the end); `Ok(None)`: an old
    /// generation's, dropped.
    pub fn on_page(
        &mut self,
        load: u64,
        result: Result<Page, ClientError>,
    ) -> Option<Result<PageTaken, ClientError>> {
        if load != self.load {
            return None;
        }
        self.loading = false;
        let page = match result {
            Ok(page) => page,
            Err(e) => return Some(Err(e)),
        };
        if std::mem::take(&mut self.replace_rows) {
            self.rows.clear();
        }
        self.rows.extend(page.entries);
        self.exhausted = page.next_cursor.is_none();
        self.next_cursor = page.next_cursor;
        if self.load_to_end {
            if self.exhausted {
                self.load_to_end = false;
                return Some(Ok(PageTaken::ReachedEnd));
            }
            return Some(Ok(PageTaken::KeepLoading));
        }
        Some(Ok(PageTaken::Shown))
    }

    /// The count and histogram of generation `load`; false when it was an old generation's.
    pub fn on_stats(
        &mut self,
        load: u64,
        result: Result<Stats, ClientError>,
    ) -> Option<Result<(), ClientError>> {
        if load != self.load {
            return None;
        }
        Some(result.map(|s| {
            self.stats_pending = false;
            self.total = Some(s.total);
            self.estimate = s.estimate;
            self.bucket_start = s.buckets.first().map(|b| b.start);
            self.bucket_seconds = s.bucket_seconds;
            self.buckets = s.buckets.iter().map(|b| b.count).collect();
        }))
    }

    /// The count under the filter when it is exact: what a dialog may promise.
    pub fn exact_total(&self) -> Option<u64> {
        self.total.filter(|_| !self.estimate)
    }

    /// A transient failure: try again in a few seconds.
    pub fn retry_later(&mut self, now: DateTime<Utc>) {
        self.retry_at = Some(now + Duration::seconds(RETRY_SECS));
    }

    /// Whether a retry is waiting.
    pub fn retrying(&self) -> bool {
        self.retry_at.is_some()
    }

    /// The clock moved on: when a retry is due, the fetches that failed, again. `None` when no
    /// retry is due; `Some(true)` asks the app for a whole reload (nothing was loaded).
    pub fn retry_due(
        &mut self,
        now: DateTime<Utc>,
        query: &Query,
        buckets: usize,
    ) -> Option<(bool, Vec<Effect>)> {
        match self.retry_at {
            Some(at) if now >= at => {
                self.retry_at = None;
                if self.rows.is_empty() {
                    return Some((true, Vec::new()));
                }
                self.loading = false;
                let mut fx = self.fetch_next(query);
                if self.stats_pending {
                    fx.push(self.stats_effect(query, buckets));
                }
                Some((false, fx))
            }
            _ => None,
        }
    }

    /// The rows in view from `offset`, `height` of them, built once per change of the rows or
    /// the place: a frame draws these instead of parsing JSON.
    pub fn refresh_window(&mut self, height: usize) {
        let w = &mut self.window;
        let want = height.min(self.rows.len().saturating_sub(self.offset));
        if w.version == self.rows.version() && w.offset == self.offset && w.rows.len() == want {
            return;
        }
        w.version = self.rows.version();
        w.offset = self.offset;
        w.rows = self
            .rows
            .range(self.offset, self.offset + want)
            .map(|e| ViewRow::new(&e))
            .collect();
    }

    /// The cached rows in view when they are the ones for `offset` and `n` rows; `None` when
    /// the cache is for another place (the caller builds them).
    pub fn window(&self, offset: usize, n: usize) -> Option<&[ViewRow]> {
        let w = &self.window;
        let want = n.min(self.rows.len().saturating_sub(offset));
        (w.version == self.rows.version() && w.offset == offset && w.rows.len() == want)
            .then_some(w.rows.as_slice())
    }
}

/// What became of a page that was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageTaken {
    /// Shown where the reader is.
    Shown,
    /// Loading to the end: fetch the next one.
    KeepLoading,
    /// Loading to the end reached it: select the last row.
    ReachedEnd,
}
