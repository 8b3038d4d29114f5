//! What each keymap command does to the table and the detail pane.

use super::{App, Overlay, TimeMode, default_query};
use crate::tui::action::Effect;
use crate::tui::detail::Detail;
use crate::tui::keymap::Command;

impl App {
    /// Carries out a command from the keymap.
    pub fn command(&mut self, cmd: Command) -> Vec<Effect> {
        if cmd != Command::Bottom {
            self.pager.last_bottom = false;
        }
        if self.chrome.spark.is_some()
            && let Some(fx) = self.spark_command(cmd)
        {
            return fx;
        }
        if self.pane.detail.is_some() && self.pane.focus && self.detail_command(cmd) {
            return Vec::new();
        }
        let page = isize::try_from(self.page_rows()).unwrap_or(isize::MAX);
        match cmd {
            Command::Quit => {
                self.chrome.quit = true;
                vec![Effect::Quit]
            }
            Command::Down | Command::Next => self.move_by(1),
            Command::Up | Command::Prev => self.move_by(-1),
            Command::PageDown => self.move_by(page),
            Command::PageUp => self.move_by(-page),
            Command::HalfDown => self.move_by((page / 2).max(1)),
            Command::HalfUp => self.move_by(-(page / 2).max(1)),
            Command::Top => self.select(0),
            Command::Bottom => self.bottom(),
            Command::Details => self.open_details(),
            Command::Close => self.close(),
            Command::Search => self.open_search(),
            Command::Filters => self.open_filters(0),
            Command::Query => self.open_query(),
            Command::Clear => self.apply_recorded(default_query()),
            Command::CycleTime => self.cycle_time(),
            Command::Refresh => self.reload(),
            Command::Follow => self.toggle_follow(),
            Command::Help => self.open_help(),
            Command::PivotIn => self.pivot(false),
            Command::PivotOut => self.pivot(true),
            Command::Around => self.around(false),
            Command::AroundWide => self.around(true),
            Command::Back => self.back(),
            Command::Mark => self.toggle_mark(),
            Command::MarkRange => self.mark_range(),
            Command::MarkAll => self.mark_matching(true),
            Command::UnmarkAll => self.mark_matching(false),
            Command::Marked => self.show_marked(),
            Command::Export => self.open_export(),
            Command::Evidence => self.open_evidence(),
            Command::ExportHistory => self.open_history(),
            Command::Info => self.open_info(),
            Command::SaveView => self.open_save_view(),
            Command::Views => self.open_views(),
            Command::Zoom => self.toggle_zoom(),
            Command::Copy => self.copy_entry(),
            Command::Focus => self.cycle_focus(),
            Command::OpenValue => {
                self.chrome.flash = Some(format!(
                    "open an entry ({}) and put the cursor on a value to read it alone",
                    self.chrome.keymap.first(Command::Details)
                ));
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

    /// `G`: the last loaded row; pressed again, it loads to the end of the trail.
    fn bottom(&mut self) -> Vec<Effect> {
        if self.pager.last_bottom && !self.pager.exhausted {
            self.pager.load_to_end = true;
            self.chrome.flash = Some("loading to the end…".into());
            let fx = self.fetch_next();
            self.select(self.pager.rows.len().saturating_sub(1));
            return fx;
        }
        self.pager.last_bottom = true;
        self.select(self.pager.rows.len().saturating_sub(1))
    }

    /// Enter: the selected entry in the detail pane, which takes the focus.
    fn open_details(&mut self) -> Vec<Effect> {
        if let Some(e) = self.pager.rows.get(self.pager.selected) {
            self.pane.detail = Some(Detail::new(&e, false));
            self.pane.focus = true;
            self.scroll_detail();
        }
        Vec::new()
    }

    /// Esc: closes the detail pane, or stops a load to the end.
    fn close(&mut self) -> Vec<Effect> {
        if self.pane.detail.is_some() {
            self.pane.detail = None;
            self.pane.zoom = false;
            self.pane.focus = false;
            self.scroll_into_view();
        } else if self.pager.load_to_end {
            self.pager.load_to_end = false;
        }
        Vec::new()
    }

    /// UTC → local → relative → UTC.
    fn cycle_time(&mut self) -> Vec<Effect> {
        self.chrome.time_mode = match self.chrome.time_mode {
            TimeMode::Utc => TimeMode::Local,
            TimeMode::Local => TimeMode::Relative,
            TimeMode::Relative => TimeMode::Utc,
        };
        Vec::new()
    }

    /// The marked entries as the table's filter.
    fn show_marked(&mut self) -> Vec<Effect> {
        let ids = self.marked_ids();
        if ids.is_empty() {
            self.chrome.flash = Some(format!(
                "nothing is marked on this server yet: {} marks the selected entry",
                self.chrome.keymap.first(Command::Mark)
            ));
            return Vec::new();
        }
        self.apply_recorded(crate::model::Query {
            ids,
            ..crate::model::Query::default()
        })
    }

    /// The detail pane across the whole screen, and back.
    fn toggle_zoom(&mut self) -> Vec<Effect> {
        if self.pane.detail.is_some() {
            self.pane.zoom = !self.pane.zoom;
            self.scroll_detail();
        }
        Vec::new()
    }

    /// The selected entry's JSON to the clipboard.
    fn copy_entry(&mut self) -> Vec<Effect> {
        let Some(e) = self.current() else {
            return Vec::new();
        };
        let json = serde_json::to_string_pretty(&e).unwrap_or_default();
        self.chrome.flash = Some(format!(
            "copied the entry's JSON ({} bytes) to the clipboard",
            json.len()
        ));
        vec![Effect::Copy(json)]
    }

    /// Tab cycles table → histogram → details (when open) → table.
    fn cycle_focus(&mut self) -> Vec<Effect> {
        if self.pane.focus {
            self.pane.focus = false;
        } else if let Some(peak) = self.spark_peak() {
            // The histogram takes the focus on its highest bar: where an incident is.
            self.chrome.spark = Some(peak);
        } else if self.pane.detail.is_some() {
            self.pane.focus = true;
        }
        Vec::new()
    }

    /// The histogram's columns on screen (`None` when it is not shown or has none).
    fn spark_columns(&self) -> Option<crate::tui::histogram::Columns> {
        let a = self.areas();
        if a.spark.height == 0 {
            return None;
        }
        crate::tui::views::header::spark(self, a.spark.width as usize)
            .map(|s| s.columns)
            .filter(|c| !c.is_empty())
    }

    /// The histogram's highest column (the last of equals), when it is on screen.
    fn spark_peak(&self) -> Option<usize> {
        let a = self.areas();
        if a.spark.height == 0 {
            return None;
        }
        let sp = crate::tui::views::header::spark(self, a.spark.width as usize)?;
        let counts = &sp.columns.counts;
        let peak = sp.columns.peak();
        counts
            .iter()
            .rposition(|c| *c == peak)
            .map(|c| sp.columns.first_of(c))
    }

    /// The time range of the histogram's picked column.
    pub fn spark_range(
        &self,
    ) -> Option<(
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        u64,
    )> {
        let c = self.chrome.spark?;
        let a = self.areas();
        let sp = crate::tui::views::header::spark(self, a.spark.width as usize)?;
        let (from, to) =
            sp.columns
                .range(c, self.pager.bucket_start?, self.pager.bucket_seconds)?;
        Some((from, to, *sp.columns.counts.get(c)?))
    }

    /// Histogram meanings of a command while it has the focus; `None` when the command is not
    /// the histogram's (it then leaves the focus and acts as anywhere else).
    fn spark_command(&mut self, cmd: Command) -> Option<Vec<Effect>> {
        let columns = self.spark_columns();
        let n = columns.as_ref().map_or(0, |cols| cols.len());
        let c = self.chrome.spark?;
        let step = |forward: bool| columns.as_ref().map_or(c, |cols| cols.step(c, forward));
        match cmd {
            Command::Fold | Command::Up => self.chrome.spark = Some(step(false)),
            Command::Unfold | Command::Down => self.chrome.spark = Some(step(true)),
            Command::Top => self.chrome.spark = Some(0),
            Command::Bottom => self.chrome.spark = Some(n.saturating_sub(1)),
            Command::Details => {
                let (from, to, _) = self.spark_range()?;
                let q = crate::model::Query {
                    from: Some(crate::model::TimeBound::Instant(from)),
                    to: Some(crate::model::TimeBound::Instant(to)),
                    around: None,
                    ..self.query.clone()
                };
                self.chrome.spark = Some(0);
                return Some(self.apply_recorded(q));
            }
            Command::Back => {
                self.chrome.spark = Some(0);
                return Some(self.back());
            }
            Command::Focus => {
                self.chrome.spark = None;
                self.pane.focus = self.pane.detail.is_some();
            }
            Command::Close => self.chrome.spark = None,
            _ => {
                self.chrome.spark = None;
                return None;
            }
        }
        Some(Vec::new())
    }

    /// The detail pane's lines at its width, and how many show.
    pub(super) fn detail_lines(&self) -> Option<(crate::tui::detail::Lines, usize)> {
        let d = self.pane.detail.as_ref()?;
        let body = self.areas().detail_body;
        let lines = crate::tui::views::details::layout(d, body.width as usize, &self.chrome.theme);
        Some((lines, body.height.max(1) as usize))
    }

    /// Detail-pane meanings of a command; false when the table should handle it. Moving goes
    /// by line through a long value (TUI.md, round 3), by row elsewhere.
    pub(super) fn detail_command(&mut self, cmd: Command) -> bool {
        let Some((lines, h)) = self.detail_lines() else {
            return false;
        };
        if cmd == Command::Details || cmd == Command::OpenValue {
            self.open_value();
            return true;
        }
        let Some(d) = &mut self.pane.detail else {
            return false;
        };
        let page = isize::try_from(h).unwrap_or(isize::MAX);
        match cmd {
            Command::Down => d.line_down(&lines, h),
            Command::Up => d.line_up(&lines, h),
            Command::PageDown => d.scroll_by(&lines, h, page),
            Command::PageUp => d.scroll_by(&lines, h, -page),
            Command::HalfDown => d.scroll_by(&lines, h, (page / 2).max(1)),
            Command::HalfUp => d.scroll_by(&lines, h, -(page / 2).max(1)),
            Command::Top => d.to_end(&lines, h, false),
            Command::Bottom => d.to_end(&lines, h, true),
            Command::FoldToggle => d.toggle(),
            Command::Fold => d.fold(true),
            Command::Unfold => d.fold(false),
            Command::FoldAll => d.all(true),
            Command::UnfoldAll => d.all(false),
            Command::Diff if d.diff.is_none() => {
                self.chrome.flash =
                    Some("this entry's details have no before and after to compare".into());
                return true;
            }
            Command::Diff => d.toggle_diff(),
            _ => return false,
        }
        // Scrolling placed the view itself; a fold or a new view keeps the cursor in it.
        let moved = matches!(
            cmd,
            Command::Down
                | Command::Up
                | Command::PageDown
                | Command::PageUp
                | Command::HalfDown
                | Command::HalfUp
                | Command::Top
                | Command::Bottom
        );
        if !moved {
            self.scroll_detail();
        }
        true
    }

    /// `o` (or Enter) in the detail pane: the value under the cursor alone, in a pager.
    fn open_value(&mut self) {
        let Some(d) = &self.pane.detail else {
            return;
        };
        if d.show_diff {
            self.chrome.flash =
                Some("the pager opens values of the JSON view: d switches back to it".into());
            return;
        }
        let Some(row) = d.tree.rows().get(d.cursor) else {
            return;
        };
        let value = pointer(d.tree.value(), &row.path);
        self.chrome.overlay = Overlay::Value(crate::tui::value_view::ValueView::of_row(
            &row.path, &row.kind, value,
        ));
    }

    /// The value pager's keys: lines, pages, ends; Esc, `q` or the same key again go back.
    pub(super) fn value_key(
        &mut self,
        mut v: crate::tui::value_view::ValueView,
        cmd: Option<Command>,
    ) {
        let (w, h) = crate::tui::views::value::body(self.size);
        let total = crate::tui::views::value::lines(&v, w).len();
        let page = isize::try_from(h).unwrap_or(isize::MAX);
        let delta = match cmd {
            Some(Command::Down) => 1,
            Some(Command::Up) => -1,
            Some(Command::PageDown | Command::FoldToggle) => page,
            Some(Command::PageUp) => -page,
            Some(Command::HalfDown) => (page / 2).max(1),
            Some(Command::HalfUp) => -(page / 2).max(1),
            Some(Command::Top) => isize::MIN / 2,
            Some(Command::Bottom) => isize::MAX / 2,
            Some(Command::Close | Command::Quit | Command::OpenValue | Command::Details) => return,
            _ => 0,
        };
        v.scroll_by(delta, total, h);
        self.chrome.overlay = Overlay::Value(v);
    }

    /// The wheel over the detail pane: three lines.
    pub(super) fn detail_wheel(&mut self, down: bool) {
        let Some((lines, h)) = self.detail_lines() else {
            return;
        };
        if let Some(d) = &mut self.pane.detail {
            d.scroll_by(&lines, h, if down { 3 } else { -3 });
        }
    }
}

/// The node at a tree row's path (`/details/after/0`), as the tree names paths.
fn pointer<'a>(root: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut at = root;
    for part in path.split('/').skip(1) {
        at = match at {
            serde_json::Value::Object(m) => m.get(part)?,
            serde_json::Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}
