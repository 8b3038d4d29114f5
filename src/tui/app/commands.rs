//! What each keymap command does to the table and the detail pane.

use super::{App, Overlay, TimeMode, default_query};
use crate::tui::action::Effect;
use crate::tui::detail::Detail;
use crate::tui::keymap::Command;
use crate::tui::{input, layout};

impl App {
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
            Command::Follow => self.toggle_follow(),
            Command::Help => {
                self.overlay = Overlay::Help;
                Vec::new()
            }
            Command::Export => {
                self.overlay = Overlay::Export(Box::new(crate::tui::dialogs::ExportDialog::new(
                    self.query.clone(),
                    self.total,
                    self.now,
                )));
                Vec::new()
            }
            Command::Evidence => {
                let mut dialog = crate::tui::dialogs::EvidenceDialog::new(self.now)
                    .offer("this filter", self.query.clone());
                if let Some(target) = self.current().and_then(|e| e.target_ref()) {
                    dialog = dialog.offer(
                        "this target",
                        crate::model::Query {
                            targets: vec![target],
                            ..crate::model::Query::default()
                        },
                    );
                }
                self.overlay = Overlay::Evidence(Box::new(dialog));
                Vec::new()
            }
            Command::ExportHistory => {
                self.overlay = Overlay::History(Box::default());
                vec![Effect::FetchExports]
            }
            Command::Info => {
                self.overlay = Overlay::Info(crate::tui::dialogs::RetentionInfo::Loading);
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
    pub(super) fn detail_command(&mut self, cmd: Command) -> bool {
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
}
