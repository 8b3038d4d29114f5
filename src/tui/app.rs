//! The TUI's state and `update(state, action)`: the only place state changes.

use super::action::{Action, Effect};
use super::detail::Detail;
use super::filters::{FacetState, FilterPane, PaneOutcome};
use super::input;
use super::keymap::{Command, Keymap};
use super::layout;
use super::rows::Rows;
use super::theme::Theme;
use crate::client::ClientError;
use crate::model::{Entry, Query, QueryParseError, TimeBound};
use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
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

    fn buckets_wanted(&self) -> usize {
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
        self.first_loads()
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

    fn select(&mut self, row: usize) -> Vec<Effect> {
        self.selected = row.min(self.rows.len().saturating_sub(1));
        self.scroll_into_view();
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
                match self.retry_at {
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
                }
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
                        self.maybe_prefetch()
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
                    _ => {}
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

    fn facet_effect(&mut self, out: PaneOutcome) -> Vec<Effect> {
        let Overlay::Filters(p) = &mut self.overlay else {
            return Vec::new();
        };
        match out {
            PaneOutcome::NeedFacets(field) => {
                self.facet_gen += 1;
                vec![Effect::FetchFacets {
                    load: self.facet_gen,
                    field,
                    query: p.draft.clone(),
                }]
            }
            PaneOutcome::Apply => {
                // The focused list keeps its counts: they never depend on its own field's terms.
                let q = p.draft.clone();
                self.apply_query(q)
            }
            PaneOutcome::ApplyClose => {
                let q = p.draft.clone();
                self.overlay = Overlay::None;
                self.apply_query(q)
            }
            PaneOutcome::Cancel => {
                self.overlay = Overlay::None;
                Vec::new()
            }
            PaneOutcome::Nothing => Vec::new(),
        }
    }

    /// Keeps a dialog open or closes it, as its key handling decided.
    fn dialog_outcome(&mut self, out: super::dialogs::Outcome, dialog: Overlay) -> Vec<Effect> {
        match out {
            super::dialogs::Outcome::Stay(fx) => {
                self.overlay = dialog;
                fx
            }
            super::dialogs::Outcome::Close(fx, message) => {
                if message.is_some() {
                    self.flash = message;
                }
                fx
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            self.quit = true;
            return vec![Effect::Quit];
        }
        match std::mem::replace(&mut self.overlay, Overlay::None) {
            Overlay::None => {}
            Overlay::Help => return Vec::new(),
            Overlay::Info(_) => return Vec::new(),
            Overlay::Export(mut d) => {
                let out = d.key(key, self.now);
                return self.dialog_outcome(out, Overlay::Export(d));
            }
            Overlay::Evidence(mut d) => {
                let out = d.key(key, self.now);
                return self.dialog_outcome(out, Overlay::Evidence(d));
            }
            Overlay::Filters(mut p) => {
                let out = p.key(key);
                self.overlay = Overlay::Filters(p);
                return self.facet_effect(out);
            }
            Overlay::Search(mut t) => {
                return match key.code {
                    KeyCode::Esc => Vec::new(),
                    KeyCode::Enter => {
                        let s = input::text(&t).trim().to_string();
                        let mut q = self.query.clone();
                        q.text = if s.is_empty() { Vec::new() } else { vec![s] };
                        self.apply_query(q)
                    }
                    _ => {
                        input::edit(&mut t, key);
                        self.overlay = Overlay::Search(t);
                        Vec::new()
                    }
                };
            }
            Overlay::Query { mut input, error } => {
                return match key.code {
                    KeyCode::Esc => Vec::new(),
                    KeyCode::Enter => match input::text(&input).parse::<Query>() {
                        Ok(q) => self.apply_query(q),
                        Err(e) => {
                            self.overlay = Overlay::Query {
                                input,
                                error: Some(e),
                            };
                            Vec::new()
                        }
                    },
                    _ => {
                        let changed = input::edit(&mut input, key) == input::Edit::Changed;
                        let error = if changed { None } else { error };
                        self.overlay = Overlay::Query { input, error };
                        Vec::new()
                    }
                };
            }
            Overlay::SaveView(mut t) => {
                return match key.code {
                    KeyCode::Esc => Vec::new(),
                    KeyCode::Enter => {
                        let name = input::text(&t).trim().to_string();
                        if name.is_empty() {
                            self.overlay = Overlay::SaveView(t);
                            return Vec::new();
                        }
                        let filter = self.query.to_string();
                        self.views.retain(|(n, _)| *n != name);
                        self.views.push((name.clone(), filter.clone()));
                        self.flash = Some(format!("saved the view “{name}”"));
                        vec![Effect::SaveView { name, filter }]
                    }
                    _ => {
                        input::edit(&mut t, key);
                        self.overlay = Overlay::SaveView(t);
                        Vec::new()
                    }
                };
            }
            Overlay::Views { selected } => {
                let n = self.views.len();
                return match key.code {
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('v') => Vec::new(),
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.overlay = Overlay::Views {
                            selected: (selected + 1).min(n.saturating_sub(1)),
                        };
                        Vec::new()
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.overlay = Overlay::Views {
                            selected: selected.saturating_sub(1),
                        };
                        Vec::new()
                    }
                    KeyCode::Enter => match self
                        .views
                        .get(selected)
                        .map(|(n, f)| (n.clone(), f.parse::<Query>()))
                    {
                        Some((_, Ok(q))) => self.apply_query(q),
                        Some((name, Err(e))) => {
                            self.flash = Some(format!("the view “{name}” does not parse: {e}"));
                            Vec::new()
                        }
                        None => Vec::new(),
                    },
                    _ => {
                        self.overlay = Overlay::Views { selected };
                        Vec::new()
                    }
                };
            }
        }
        self.flash = None;
        let Some(cmd) = self.keymap.lookup(key) else {
            return Vec::new();
        };
        self.command(cmd)
    }

    fn open_filters(&mut self, field: usize) -> Vec<Effect> {
        let mut p = FilterPane::new(&self.query, field);
        let out = p.open();
        self.overlay = Overlay::Filters(Box::new(p));
        self.facet_effect(out)
    }

    /// Carries out a command from the keymap.
    pub fn command(&mut self, cmd: Command) -> Vec<Effect> {
        if cmd != Command::Bottom {
            self.last_bottom = false;
        }
        if self.detail.is_some() && self.focus_detail && self.detail_command(cmd) {
            return Vec::new();
        }
        let page = self.page_rows() as isize;
        match cmd {
            Command::Quit => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Command::Down => self.move_by(1),
            Command::Up => self.move_by(-1),
            Command::PageDown => self.move_by(page),
            Command::PageUp => self.move_by(-page),
            Command::HalfDown => self.move_by((page / 2).max(1)),
            Command::HalfUp => self.move_by(-(page / 2).max(1)),
            Command::Top => self.select(0),
            Command::Bottom => {
                if self.last_bottom && !self.exhausted {
                    self.load_to_end = true;
                    self.flash = Some("loading to the end…".into());
                    let fx = self.fetch_next();
                    self.select(self.rows.len().saturating_sub(1));
                    return fx;
                }
                self.last_bottom = true;
                self.select(self.rows.len().saturating_sub(1))
            }
            Command::Details => {
                if let Some(e) = self.rows.get(self.selected) {
                    self.detail = Some(Detail::new(&e, false));
                    self.focus_detail = true;
                    self.scroll_detail();
                }
                Vec::new()
            }
            Command::Close => {
                if self.detail.is_some() {
                    self.detail = None;
                    self.zoom = false;
                    self.focus_detail = false;
                    self.scroll_into_view();
                } else if self.load_to_end {
                    self.load_to_end = false;
                }
                Vec::new()
            }
            Command::Search => {
                self.overlay = Overlay::Search(input::new(&self.query.text.join(" ")));
                Vec::new()
            }
            Command::Filters => self.open_filters(0),
            Command::Query => {
                // A space after the current filter, so what is typed is a new term, not the
                // tail of the last one.
                let mut current = self.query.to_string();
                if !current.is_empty() {
                    current.push(' ');
                }
                self.overlay = Overlay::Query {
                    input: input::new(&current),
                    error: None,
                };
                Vec::new()
            }
            Command::Clear => self.apply_query(default_query()),
            Command::CycleTime => {
                self.time_mode = match self.time_mode {
                    TimeMode::Utc => TimeMode::Local,
                    TimeMode::Local => TimeMode::Relative,
                    TimeMode::Relative => TimeMode::Utc,
                };
                Vec::new()
            }
            Command::Refresh => self.reload(),
            Command::Help => {
                self.overlay = Overlay::Help;
                Vec::new()
            }
            Command::Export => {
                self.overlay = Overlay::Export(Box::new(super::dialogs::ExportDialog::new(
                    self.query.clone(),
                    self.total,
                    self.now,
                )));
                Vec::new()
            }
            Command::Evidence => {
                self.overlay =
                    Overlay::Evidence(Box::new(super::dialogs::EvidenceDialog::new(self.now)));
                Vec::new()
            }
            Command::Info => {
                self.overlay = Overlay::Info(super::dialogs::RetentionInfo::Loading);
                vec![Effect::FetchRetention]
            }
            Command::SaveView => {
                self.overlay = Overlay::SaveView(input::new(""));
                Vec::new()
            }
            Command::Views => {
                if self.views.is_empty() {
                    self.flash = Some(format!(
                        "no saved views yet: {} saves the current filter",
                        self.keymap.first(Command::SaveView)
                    ));
                } else {
                    self.overlay = Overlay::Views { selected: 0 };
                }
                Vec::new()
            }
            Command::Zoom => {
                if self.detail.is_some() {
                    self.zoom = !self.zoom;
                    self.scroll_detail();
                }
                Vec::new()
            }
            Command::Prev => self.move_by(-1),
            Command::Next => self.move_by(1),
            Command::Copy => match self.current() {
                Some(e) => {
                    let json = serde_json::to_string_pretty(&e).unwrap_or_default();
                    self.flash = Some(format!(
                        "copied the entry's JSON ({} bytes) to the clipboard",
                        json.len()
                    ));
                    vec![Effect::Copy(json)]
                }
                None => Vec::new(),
            },
            Command::Focus => {
                if self.detail.is_some() {
                    self.focus_detail = !self.focus_detail;
                }
                Vec::new()
            }
            Command::Fold
            | Command::Unfold
            | Command::FoldToggle
            | Command::FoldAll
            | Command::UnfoldAll
            | Command::Diff => Vec::new(),
        }
    }

    /// Detail-pane meanings of a command; false when the table should handle it.
    fn detail_command(&mut self, cmd: Command) -> bool {
        let page = layout::areas(self.size, self).detail_body.height.max(1) as usize;
        let Some(d) = &mut self.detail else {
            return false;
        };
        match cmd {
            Command::Down => d.move_by(1),
            Command::Up => d.move_by(-1),
            Command::PageDown => d.move_by(page as isize),
            Command::PageUp => d.move_by(-(page as isize)),
            Command::HalfDown => d.move_by((page / 2).max(1) as isize),
            Command::HalfUp => d.move_by(-((page / 2).max(1) as isize)),
            Command::Top => d.move_by(isize::MIN / 2),
            Command::Bottom => d.move_by(isize::MAX / 2),
            Command::FoldToggle => d.toggle(),
            Command::Fold => d.fold(true),
            Command::Unfold => d.fold(false),
            Command::FoldAll => d.all(true),
            Command::UnfoldAll => d.all(false),
            Command::Diff => d.toggle_diff(),
            _ => return false,
        }
        self.scroll_detail();
        true
    }

    fn scroll_detail(&mut self) {
        // Opening, zooming or closing the pane changes the table's height too.
        self.scroll_into_view();
        let h = layout::areas(self.size, self).detail_body.height.max(1) as usize;
        if let Some(d) = &mut self.detail {
            d.scroll_into_view(h);
        }
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if !matches!(self.overlay, Overlay::None) {
            return Vec::new();
        }
        let a = layout::areas(self.size, self);
        let inside = |r: Rect| {
            m.column >= r.x && m.column < r.x + r.width && m.row >= r.y && m.row < r.y + r.height
        };
        let in_detail = inside(a.detail_body);
        match m.kind {
            MouseEventKind::ScrollDown if in_detail => {
                self.detail_command(Command::Down);
                Vec::new()
            }
            MouseEventKind::ScrollUp if in_detail => {
                self.detail_command(Command::Up);
                Vec::new()
            }
            MouseEventKind::ScrollDown => self.move_by(3),
            MouseEventKind::ScrollUp => self.move_by(-3),
            MouseEventKind::Down(MouseButton::Left) if inside(a.table_body) => {
                let row = self.offset + (m.row - a.table_body.y) as usize;
                if row >= self.rows.len() {
                    return Vec::new();
                }
                self.focus_detail = false;
                if row == self.selected {
                    return self.command(Command::Details);
                }
                self.select(row)
            }
            MouseEventKind::Down(MouseButton::Left) if in_detail => {
                self.focus_detail = true;
                if let Some(d) = &mut self.detail {
                    let row = d.scroll + (m.row - a.detail_body.y) as usize;
                    d.click(row);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}
