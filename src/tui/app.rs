//! The TUI's state and `update(state, action)`: the only place state changes.

mod commands;
mod keys;

use super::action::{Action, Effect};
use super::detail::Detail;
use super::filters::{FacetState, FilterPane};
use super::keymap::Keymap;
use super::layout;
use super::rows::Rows;
use super::theme::Theme;
use crate::client::ClientError;
use crate::model::{Entry, Query, QueryParseError, TimeBound};
use chrono::{DateTime, Duration, Utc};
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

/// Rows fetched per page while scrolling.
pub const PAGE: usize = 200;
/// Rows per page when loading to the real end.
const BIG_PAGE: usize = 1000;
/// How far from the end of the loaded rows the next page is fetched.
const PREFETCH: usize = 150;
/// Seconds between retries after a transient failure.
const RETRY_SECS: i64 = 5;

/// How the When column shows a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    Utc,
    Local,
    Relative,
}

/// Where the data comes from and whether the last request worked.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Connecting,
    Connected,
    Failed(ClientError),
}

/// A panel or prompt over the table that takes the keys while open.
pub enum Overlay {
    None,
    Help,
    Search(TextArea<'static>),
    Query {
        input: TextArea<'static>,
        error: Option<QueryParseError>,
    },
    Filters(Box<FilterPane>),
    SaveView(TextArea<'static>),
    Views {
        selected: usize,
    },
    Export(Box<super::dialogs::ExportDialog>),
    Evidence(Box<super::dialogs::EvidenceDialog>),
    Info(super::dialogs::RetentionInfo),
    /// The export history (issue 15).
    History(Box<super::history::ExportHistory>),
}

/// What the app starts with.
pub struct Settings {
    /// The profile name or server URL the header names.
    pub source: String,
    pub query: Query,
    pub keymap: Keymap,
    pub theme: Theme,
    pub views: Vec<(String, String)>,
    pub now: DateTime<Utc>,
    pub size: (u16, u16),
}

/// The whole state of the TUI.
pub struct App {
    pub source: String,
    pub status: Status,
    pub query: Query,
    pub rows: Rows,
    pub next_cursor: Option<String>,
    pub exhausted: bool,
    pub loading: bool,
    pub load_to_end: bool,
    load: u64,
    facet_gen: u64,
    pub selected: usize,
    pub offset: usize,
    pub total: Option<u64>,
    pub buckets: Vec<u64>,
    pub time_mode: TimeMode,
    pub overlay: Overlay,
    /// The next first page replaces the rows shown (a refresh that keeps them until then).
    replace_rows: bool,
    pub detail: Option<Detail>,
    pub zoom: bool,
    pub focus_detail: bool,
    pub flash: Option<String>,
    pub theme: Theme,
    pub keymap: Keymap,
    pub views: Vec<(String, String)>,
    pub now: DateTime<Utc>,
    pub size: Rect,
    pub spinner: usize,
    retry_at: Option<DateTime<Utc>>,
    /// Online, offline on the cache, or a file (issue 5).
    pub link: super::link::Link,
    stats_pending: bool,
    /// Follow mode, while it is on.
    pub follow: Option<super::follow::Follow>,
    /// The last follower generation handed out.
    pub(super) live_gen: u64,
    last_bottom: bool,
    quit: bool,
}

/// The default filter: the last 7 days.
pub fn default_query() -> Query {
    Query {
        from: Some(TimeBound::Ago {
            amount: 7,
            unit: 'd',
        }),
        ..Query::default()
    }
}

impl App {
    /// A fresh app; call [`App::start`] for the first loads.
    pub fn new(s: Settings) -> App {
        App {
            source: s.source,
            status: Status::Connecting,
            query: s.query,
            rows: Rows::default(),
            next_cursor: None,
            exhausted: false,
            loading: false,
            load_to_end: false,
            load: 0,
            facet_gen: 0,
            selected: 0,
            offset: 0,
            total: None,
            buckets: Vec::new(),
            time_mode: TimeMode::Utc,
            overlay: Overlay::None,
            replace_rows: false,
            detail: None,
            zoom: false,
            focus_detail: false,
            flash: None,
            theme: s.theme,
            keymap: s.keymap,
            views: s.views,
            now: s.now,
            size: Rect::new(0, 0, s.size.0, s.size.1),
            spinner: 0,
            retry_at: None,
            link: super::link::Link::Online,
            stats_pending: false,
            follow: None,
            live_gen: 0,
            last_bottom: false,
            quit: false,
        }
    }

    /// The first loads: the newest page and the stats.
    pub fn start(&mut self) -> Vec<Effect> {
        self.reload()
    }

    /// Whether the app asked to quit.
    pub fn quitting(&self) -> bool {
        self.quit
    }

    /// The current load generation (results of older ones are dropped).
    pub fn generation(&self) -> u64 {
        self.load
    }

    /// The selected entry.
    pub fn current(&self) -> Option<Entry> {
        self.rows.get(self.selected)
    }

    pub(super) fn buckets_wanted(&self) -> usize {
        (self.size.width as usize).saturating_sub(2).clamp(10, 400)
    }

    /// Drops the loaded rows and loads the first page and the stats under the current filter.
    fn reload(&mut self) -> Vec<Effect> {
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
        self.detail = None;
        self.focus_detail = false;
        self.zoom = false;
        self.retry_at = None;
        let mut fx = self.follow_reload();
        fx.extend(self.first_loads());
        fx
    }

    /// The first page and the stats of the current load generation.
    fn first_loads(&mut self) -> Vec<Effect> {
        self.stats_pending = true;
        vec![
            Effect::FetchPage {
                load: self.load,
                query: self.query.clone(),
                cursor: None,
                limit: PAGE,
            },
            Effect::FetchStats {
                load: self.load,
                query: self.query.clone(),
                buckets: self.buckets_wanted(),
            },
        ]
    }

    fn fetch_next(&mut self) -> Vec<Effect> {
        if self.loading || self.exhausted {
            return Vec::new();
        }
        self.loading = true;
        vec![Effect::FetchPage {
            load: self.load,
            query: self.query.clone(),
            cursor: self.next_cursor.clone(),
            limit: if self.load_to_end { BIG_PAGE } else { PAGE },
        }]
    }

    fn maybe_prefetch(&mut self) -> Vec<Effect> {
        if self.load_to_end || self.rows.len().saturating_sub(self.selected) < PREFETCH {
            self.fetch_next()
        } else {
            Vec::new()
        }
    }

    /// Rows the table body shows at the current size.
    pub fn page_rows(&self) -> usize {
        layout::areas(self.size, self).table_body.height.max(1) as usize
    }

    fn scroll_into_view(&mut self) {
        let h = self.page_rows();
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        let max_offset = self.rows.len().saturating_sub(h);
        self.offset = self.offset.min(max_offset);
    }

    pub(super) fn select(&mut self, row: usize) -> Vec<Effect> {
        self.selected = row.min(self.rows.len().saturating_sub(1));
        self.scroll_into_view();
        self.follow_seen();
        if let Some(d) = &mut self.detail
            && let Some(e) = self.rows.get(self.selected)
            && d.entry_id != e.id
        {
            *d = Detail::new(&e, d.show_diff);
        }
        self.maybe_prefetch()
    }

    fn move_by(&mut self, delta: isize) -> Vec<Effect> {
        let row = if delta < 0 {
            self.selected.saturating_sub(delta.unsigned_abs())
        } else {
            self.selected.saturating_add(delta as usize)
        };
        self.select(row)
    }

    fn apply_query(&mut self, q: Query) -> Vec<Effect> {
        self.query = q;
        self.reload()
    }

    /// Changes the state for one action and says what work to start.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Key(key) => {
                if key.kind == crossterm::event::KeyEventKind::Release {
                    return Vec::new();
                }
                self.on_key(key)
            }
            Action::Mouse(m) => self.on_mouse(m),
            Action::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                self.scroll_into_view();
                self.scroll_detail();
                Vec::new()
            }
            Action::Tick(now) => {
                self.now = now;
                self.spinner = self.spinner.wrapping_add(1);
                let live = self.follow_tick();
                let mut fx = match self.retry_at {
                    Some(at) if now >= at => {
                        self.retry_at = None;
                        let mut fx = Vec::new();
                        if self.rows.is_empty() {
                            fx = self.reload();
                        } else {
                            self.loading = false;
                            fx.extend(self.fetch_next());
                            if self.stats_pending {
                                fx.push(Effect::FetchStats {
                                    load: self.load,
                                    query: self.query.clone(),
                                    buckets: self.buckets_wanted(),
                                });
                            }
                        }
                        fx
                    }
                    _ => Vec::new(),
                };
                fx.extend(live);
                fx
            }
            Action::Live { follower, event } => self.on_live(follower, event),
            Action::FollowRefused(why) => {
                self.follow = None;
                self.flash = Some(why);
                Vec::new()
            }
            Action::Page { load, result } => {
                if load != self.load {
                    return Vec::new();
                }
                self.loading = false;
                match result {
                    Ok(page) => {
                        self.status = Status::Connected;
                        if std::mem::take(&mut self.replace_rows) {
                            self.rows.clear();
                        }
                        self.rows.extend(page.entries);
                        self.exhausted = page.next_cursor.is_none();
                        self.next_cursor = page.next_cursor;
                        if self.load_to_end {
                            if self.exhausted {
                                self.load_to_end = false;
                                self.flash = None;
                                return self.select(self.rows.len().saturating_sub(1));
                            }
                            return self.fetch_next();
                        }
                        self.scroll_into_view();
                        let mut fx = self.follow_after_page();
                        fx.extend(self.maybe_prefetch());
                        fx
                    }
                    Err(e) => self.failed(e),
                }
            }
            Action::Stats { load, result } => {
                if load != self.load {
                    return Vec::new();
                }
                match result {
                    Ok(s) => {
                        self.stats_pending = false;
                        self.total = Some(s.total);
                        self.buckets = s.buckets.iter().map(|b| b.count).collect();
                        Vec::new()
                    }
                    Err(e) => self.failed(e),
                }
            }
            // While following, the stream brings what was added.
            Action::Grew if self.follow.is_some() => Vec::new(),
            Action::Grew => {
                if self.rows.is_empty() || (self.selected == 0 && self.detail.is_none()) {
                    // Load the top again, but keep showing the old rows until it arrives, so
                    // the table does not blink on every batch.
                    self.load += 1;
                    self.next_cursor = None;
                    self.exhausted = false;
                    self.loading = true;
                    self.load_to_end = false;
                    self.replace_rows = true;
                    self.first_loads()
                } else {
                    self.stats_pending = true;
                    vec![Effect::FetchStats {
                        load: self.load,
                        query: self.query.clone(),
                        buckets: self.buckets_wanted(),
                    }]
                }
            }
            Action::Download(event) => {
                match &mut self.overlay {
                    Overlay::Export(d) => super::dialogs::on_download(&mut d.stage, event),
                    Overlay::Evidence(d) => super::dialogs::on_download(&mut d.stage, event),
                    Overlay::History(h) => h.on_download(event),
                    _ => {}
                }
                Vec::new()
            }
            Action::Exports(result) => {
                if let Overlay::History(h) = &mut self.overlay {
                    h.loaded(result);
                }
                Vec::new()
            }
            Action::Retention(result) => {
                if let Overlay::Info(info) = &mut self.overlay {
                    *info = super::dialogs::RetentionInfo::from_result(result);
                }
                Vec::new()
            }
            Action::Terminate => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Notice(m) => {
                self.flash = Some(m);
                Vec::new()
            }
            Action::Link(link) => self.on_link(link),
            Action::Facets {
                load,
                field,
                result,
            } => {
                if load != self.facet_gen {
                    return Vec::new();
                }
                if let Overlay::Filters(p) = &mut self.overlay {
                    let state = match result {
                        Ok(f) => FacetState::Loaded(f.values),
                        Err(e) => FacetState::Failed(e.to_string()),
                    };
                    p.set_facets(field, state);
                }
                Vec::new()
            }
        }
    }

    fn failed(&mut self, e: ClientError) -> Vec<Effect> {
        tracing::warn!("request failed: {e}");
        if e.is_transient() {
            self.retry_at = Some(self.now + Duration::seconds(RETRY_SECS));
        }
        if let ClientError::InvalidQuery(m) = &e {
            self.flash = Some(format!("the server rejected the filter: {m}"));
        }
        self.status = Status::Failed(e);
        Vec::new()
    }

    fn scroll_detail(&mut self) {
        // Opening, zooming or closing the pane changes the table's height too.
        self.scroll_into_view();
        let h = layout::areas(self.size, self).detail_body.height.max(1) as usize;
        if let Some(d) = &mut self.detail {
            d.scroll_into_view(h);
        }
    }
}
