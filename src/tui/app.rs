//! The TUI's state and `update(state, action)`: the only place state changes. `update` and
//! the few helpers every sub-state shares (selection, paging, the generation of a load) are
//! here; keys, commands, the overlays, the answers to effects, the clock and investigation are
//! in `app/`.

mod clock;
mod commands;
mod investigate;
mod keys;
mod opens;
mod prompts;
mod replies;

use super::action::{Action, Effect};
use super::detail::Detail;
use super::filters::FilterPane;
use super::keymap::Keymap;
use super::layout;
use super::pager::Pager;
use super::theme::Theme;
use crate::client::ClientError;
use crate::model::{Entry, Query, QueryParseError, TimeBound};
use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

pub use super::pager::PAGE;

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
    /// `?`, scrolled this many lines.
    Help {
        scroll: usize,
    },
    Search(TextArea<'static>),
    Query {
        input: TextArea<'static>,
        error: Option<QueryParseError>,
        /// How far back in the history ↑ has gone (`None`: the filter in force).
        recalled: Option<usize>,
    },
    Filters(Box<FilterPane>),
    SaveView(TextArea<'static>),
    Views {
        selected: usize,
    },
    Export(Box<super::dialogs::ExportDialog>),
    Evidence(Box<super::dialogs::EvidenceDialog>),
    Info(super::dialogs::RetentionInfo),
    /// `=` / `-`: which of the row's values to filter on (or exclude).
    Pivot(super::pivot::PivotMenu),
    /// The export history (issue 15).
    History(Box<super::history::ExportHistory>),
    /// One value of the entry alone, in a pager.
    Value(super::value_view::ValueView),
}

/// What the app starts with.
pub struct Settings {
    /// The profile, server URL or file the header names.
    pub source: super::source_name::SourceName,
    pub query: Query,
    pub keymap: Keymap,
    pub theme: Theme,
    pub views: Vec<(String, String)>,
    pub now: DateTime<Utc>,
    pub size: (u16, u16),
}

/// Where the data comes from and how the link to it stands.
pub struct Conn {
    /// The profile (and its server), server URL or file the header names, in full.
    pub source: String,
    /// The name alone, for a header too narrow for [`Conn::source`].
    pub short_source: String,
    pub status: Status,
    /// Online, offline on the cache, or a file (issue 5).
    pub link: super::link::Link,
    /// What the witness check of the last connect found (the header shows it).
    pub witness: super::witness::Witnessed,
    /// Follow mode, while it is on.
    pub follow: Option<super::follow::Follow>,
    /// The last follower generation handed out.
    pub(super) live_gen: u64,
    /// When the server is next asked whether it is there, and whether an answer is awaited.
    pub(super) probe_at: Option<DateTime<Utc>>,
    pub(super) probing: bool,
    /// Since when the server has not answered (a probe, a request or the live stream failed
    /// to reach it); `None` while it answers. The header says it, with the time.
    pub down_since: Option<DateTime<Utc>>,
    /// Facts the info view (`i`) lists under the source (the demo's writer token and key).
    pub about: Vec<(String, String)>,
}

/// What is drawn around and over the table: overlays, the footer's message, the look.
pub struct Chrome {
    pub overlay: Overlay,
    pub flash: Option<String>,
    pub time_mode: TimeMode,
    pub theme: Theme,
    pub keymap: Keymap,
    pub views: Vec<(String, String)>,
    pub spinner: usize,
    /// The filter in force when the filter pane opened (Esc restores it).
    pub pane_origin: Option<Query>,
    /// The histogram has the focus, with this column picked.
    pub spark: Option<usize>,
    /// The facet lists' generation (results of older ones are dropped).
    pub(super) facet_gen: u64,
    pub(super) quit: bool,
}

/// The detail pane: the entry read, whether it fills the screen, whether it has the keys.
#[derive(Default)]
pub struct Pane {
    pub detail: Option<Detail>,
    pub zoom: bool,
    pub focus: bool,
}

impl Pane {
    /// Closes the pane.
    pub fn close(&mut self) {
        *self = Pane::default();
    }
}

/// What is remembered across runs (in the state directory).
#[derive(Debug, Default)]
pub struct Memory {
    pub history: super::memory::History,
    /// Marked entries per server; this one's under `Conn::source`.
    pub marks: super::memory::Marks,
    /// The entry last marked or unmarked with `m`: where `M`'s range starts (this run only).
    pub mark_anchor: Option<String>,
}

/// The whole state of the TUI, in parts that each keep their own.
pub struct App {
    pub query: Query,
    pub pager: Pager,
    pub conn: Conn,
    pub chrome: Chrome,
    pub pane: Pane,
    pub memory: Memory,
    pub now: DateTime<Utc>,
    pub size: Rect,
    /// Something shown changed since the last frame.
    dirty: bool,
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
            query: s.query,
            pager: Pager::default(),
            conn: Conn {
                source: s.source.to_string(),
                short_source: s.source.name,
                status: Status::Connecting,
                link: super::link::Link::Online,
                follow: None,
                live_gen: 0,
                probe_at: None,
                probing: false,
                down_since: None,
                about: Vec::new(),
                witness: super::witness::Witnessed::default(),
            },
            chrome: Chrome {
                overlay: Overlay::None,
                flash: None,
                time_mode: TimeMode::Utc,
                theme: s.theme,
                keymap: s.keymap,
                views: s.views,
                spinner: 0,
                spark: None,
                pane_origin: None,
                facet_gen: 0,
                quit: false,
            },
            pane: Pane::default(),
            memory: Memory::default(),
            now: s.now,
            size: Rect::new(0, 0, s.size.0, s.size.1),
            dirty: true,
        }
    }

    /// The app reading from `link` (the cache, or a file) from the start; a file's warning is
    /// the first thing the footer says.
    pub fn with_link(mut self, link: super::link::Link) -> App {
        if let super::link::Link::File {
            warning: Some(w), ..
        } = &link
        {
            self.chrome.flash = Some(w.clone());
        }
        self.conn.link = link;
        self
    }

    /// The app with what earlier runs left: the filters applied and the marks.
    pub fn with_memory(mut self, memory: Memory) -> App {
        self.memory = memory;
        self
    }

    /// The first loads: the newest page and the stats.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut effects = self.reload();
        effects.push(Effect::CheckWitness);
        effects
    }

    /// Whether the app asked to quit.
    pub fn quitting(&self) -> bool {
        self.chrome.quit
    }

    /// The current load generation (results of older ones are dropped).
    pub fn generation(&self) -> u64 {
        self.pager.generation()
    }

    /// Whether something shown changed since the last call: the loop draws only then.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The selected entry.
    pub fn current(&self) -> Option<Entry> {
        self.pager.rows.get(self.pager.selected)
    }

    pub(super) fn buckets_wanted(&self) -> usize {
        (self.size.width as usize).saturating_sub(2).clamp(10, 400)
    }

    /// What layout needs to know of the state.
    pub fn layout_state(&self) -> layout::State {
        layout::State {
            detail: self.pane.detail.is_some(),
            zoom: self.pane.zoom,
            footer_extra: self.footer_message().map_or(0, |m| {
                let w = usize::from(self.size.width.max(1));
                let lines = (crate::tui::views::cells::width(&m) + 1).div_ceil(w);
                u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX)
            }),
        }
    }

    /// What the footer says instead of the key hints: a message, or what failed and what to do.
    pub fn footer_message(&self) -> Option<String> {
        if let Some(m) = &self.chrome.flash {
            return Some(m.clone());
        }
        match &self.conn.status {
            Status::Failed(e) => Some(format!("{e}; {}", e.advice())),
            _ => None,
        }
    }

    /// The screen's regions at the current size.
    pub fn areas(&self) -> layout::Areas {
        layout::areas(self.size, self.layout_state())
    }

    /// Drops the loaded rows and loads the first page and the stats under the current filter.
    fn reload(&mut self) -> Vec<Effect> {
        self.pager.reset();
        self.pane.close();
        let mut fx = self.follow_reload();
        fx.extend(self.first_loads());
        fx
    }

    /// The first page and the stats of the current load generation.
    fn first_loads(&mut self) -> Vec<Effect> {
        let buckets = self.buckets_wanted();
        self.pager.first_loads(&self.query, buckets)
    }

    fn stats_effect(&mut self) -> Effect {
        let buckets = self.buckets_wanted();
        self.pager.stats_effect(&self.query, buckets)
    }

    fn fetch_next(&mut self) -> Vec<Effect> {
        self.pager.fetch_next(&self.query)
    }

    /// Rows the table body shows at the current size.
    pub fn page_rows(&self) -> usize {
        self.areas().table_body.height.max(1) as usize
    }

    fn scroll_into_view(&mut self) {
        let h = self.page_rows();
        self.pager.scroll_into_view(h);
    }

    pub(super) fn select(&mut self, row: usize) -> Vec<Effect> {
        let h = self.page_rows();
        self.pager.select(row, h);
        self.follow_seen();
        if let Some(d) = &mut self.pane.detail
            && let Some(e) = self.pager.rows.get(self.pager.selected)
            && d.entry_id != e.id
        {
            *d = d.stepped(&e);
        }
        self.pager.maybe_prefetch(&self.query)
    }

    fn move_by(&mut self, delta: isize) -> Vec<Effect> {
        let row = if delta < 0 {
            self.pager.selected.saturating_sub(delta.unsigned_abs())
        } else {
            self.pager.selected.saturating_add(delta.unsigned_abs())
        };
        self.select(row)
    }

    fn apply_query(&mut self, q: Query) -> Vec<Effect> {
        self.query = q;
        self.reload()
    }

    /// Changes the state for one action and says what work to start.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let fx = match action {
            // The clock and the health probe change the screen only now and then: a frame
            // is drawn when what they can change did.
            Action::Tick(_) | Action::Health(_) => {
                let before = self.tick_view();
                let fx = self.on_action(action);
                if self.tick_view() != before {
                    self.dirty = true;
                }
                fx
            }
            action => {
                self.dirty = true;
                self.on_action(action)
            }
        };
        let h = self.page_rows();
        // A long message grows the footer: the selected row stays in view.
        if self.pager.selected >= self.pager.offset + h {
            self.pager.scroll_into_view(h);
        }
        self.pager.refresh_window(h);
        fx
    }

    fn on_action(&mut self, action: Action) -> Vec<Effect> {
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
            Action::Tick(now) => self.on_tick(now),
            Action::Live { follower, event } => self.on_live(follower, event),
            Action::FollowRefused(why) => {
                self.conn.follow = None;
                self.chrome.flash = Some(why);
                Vec::new()
            }
            Action::Page { load, result } => self.on_page(load, result),
            Action::Stats { load, result } => match self.pager.on_stats(load, result) {
                Some(Err(e)) => self.failed(e),
                _ => Vec::new(),
            },
            Action::Grew => self.on_grew(),
            Action::Download(event) => self.on_download(event),
            Action::Exports(result) => self.on_exports(result),
            Action::Retention(result) => self.on_retention(result),
            Action::Terminate => {
                self.chrome.quit = true;
                vec![Effect::Quit]
            }
            Action::Notice(m) => {
                self.chrome.flash = Some(m);
                Vec::new()
            }
            Action::Link(link) => self.on_link(link),
            Action::Matched { load, mark, result } => self.on_matched(load, mark, result),
            Action::About(facts) => {
                self.conn.about = facts;
                Vec::new()
            }
            Action::Health(result) => self.on_health(result),
            Action::Witness(w) => self.on_witness(w),
            Action::Facets {
                load,
                field,
                result,
            } => self.on_facets(load, field, result),
        }
    }

    fn failed(&mut self, e: ClientError) -> Vec<Effect> {
        tracing::warn!("request failed: {e}");
        if Self::unreachable(&e) {
            self.server_down(self.now, Some(&e));
        }
        if e.is_transient() {
            self.pager.retry_later(self.now);
        }
        if let ClientError::InvalidQuery(m) = &e {
            self.chrome.flash = Some(format!("the server rejected the filter: {m}"));
        }
        self.conn.status = Status::Failed(e);
        Vec::new()
    }

    fn scroll_detail(&mut self) {
        // Opening, zooming or closing the pane changes the table's height too.
        self.scroll_into_view();
        if let Some((lines, h)) = self.detail_lines()
            && let Some(d) = &mut self.pane.detail
        {
            d.keep_in_view(&lines, h);
        }
    }
}
