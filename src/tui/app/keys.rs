//! Keys and the mouse: an open overlay (prompt, pane, dialog) takes them; otherwise the keymap
//! turns a key into a command (`commands.rs`).

use super::{App, Overlay};
use crate::model::Query;
use crate::tui::action::Effect;
use crate::tui::filters::{FilterPane, PaneOutcome};
use crate::tui::input;
use crate::tui::keymap::Command;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

impl App {
    pub(super) fn facet_effect(&mut self, out: PaneOutcome) -> Vec<Effect> {
        let Overlay::Filters(p) = &mut self.chrome.overlay else {
            return Vec::new();
        };
        match out {
            PaneOutcome::NeedFacets(field) => {
                self.chrome.facet_gen += 1;
                vec![Effect::FetchFacets {
                    load: self.chrome.facet_gen,
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
                self.chrome.overlay = Overlay::None;
                // What `Backspace` returns to is the filter before the pane, not its live drafts.
                if let Some(origin) = self.chrome.pane_origin.take() {
                    self.query = origin;
                }
                self.apply_recorded(q)
            }
            // Esc undoes what the pane applied while open: the filter is the one it opened on.
            PaneOutcome::Cancel => {
                self.chrome.overlay = Overlay::None;
                match self.chrome.pane_origin.take() {
                    Some(q) if q != self.query => self.apply_query(q),
                    _ => Vec::new(),
                }
            }
            PaneOutcome::Nothing => Vec::new(),
        }
    }

    /// Keeps a dialog open or closes it, as its key handling decided.
    pub(super) fn dialog_outcome(
        &mut self,
        out: crate::tui::dialogs::Outcome,
        dialog: Overlay,
    ) -> Vec<Effect> {
        match out {
            crate::tui::dialogs::Outcome::Stay(fx) => {
                self.chrome.overlay = dialog;
                fx
            }
            crate::tui::dialogs::Outcome::Close(fx, message) => {
                if message.is_some() {
                    self.chrome.flash = message;
                }
                fx
            }
        }
    }

    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            self.chrome.quit = true;
            return vec![Effect::Quit];
        }
        match std::mem::replace(&mut self.chrome.overlay, Overlay::None) {
            Overlay::None => {}
            Overlay::Help { scroll } => {
                let max = crate::tui::views::help_max_scroll(self);
                let step = |d: isize| Overlay::Help {
                    scroll: scroll.saturating_add_signed(d).min(max),
                };
                self.chrome.overlay = match key.code {
                    KeyCode::Down | KeyCode::Char('j') => step(1),
                    KeyCode::Up | KeyCode::Char('k') => step(-1),
                    KeyCode::PageDown | KeyCode::Char(' ') => step(10),
                    KeyCode::PageUp => step(-10),
                    KeyCode::Home | KeyCode::Char('g') => Overlay::Help { scroll: 0 },
                    _ => Overlay::None,
                };
                return Vec::new();
            }
            Overlay::Pivot(menu) => return self.pivot_key(menu, key),
            Overlay::Value(v) => {
                // `q` closes the pager, not the program: it is what a pager's `q` does.
                let cmd = self.chrome.keymap.lookup(key);
                self.value_key(v, cmd);
                return Vec::new();
            }
            Overlay::Info(_) => return Vec::new(),
            // A finished download's dialog closes on the next key, and that key then does what
            // it does anywhere (it is not swallowed).
            Overlay::Export(d) if matches!(d.stage, crate::tui::dialogs::Stage::Done { .. }) => {}
            Overlay::Evidence(d) if matches!(d.stage, crate::tui::dialogs::Stage::Done { .. }) => {}
            Overlay::Export(mut d) => {
                let out = d.key(key, self.now);
                return self.dialog_outcome(out, Overlay::Export(d));
            }
            Overlay::History(mut h) => {
                let out = h.key(key, self.now);
                return self.dialog_outcome(out, Overlay::History(h));
            }
            Overlay::Evidence(mut d) => {
                let out = d.key(key, self.now);
                return self.dialog_outcome(out, Overlay::Evidence(d));
            }
            Overlay::Filters(mut p) => {
                let out = p.key(key);
                self.chrome.overlay = Overlay::Filters(p);
                return self.facet_effect(out);
            }
            Overlay::Search(mut t) => {
                return match key.code {
                    KeyCode::Esc => Vec::new(),
                    KeyCode::Enter => {
                        let mut q = self.query.clone();
                        crate::tui::filters::search_into(&mut q, &input::text(&t));
                        self.apply_recorded(q)
                    }
                    _ => {
                        input::edit(&mut t, key);
                        self.chrome.overlay = Overlay::Search(t);
                        Vec::new()
                    }
                };
            }
            Overlay::Query {
                mut input,
                error,
                recalled,
            } => {
                return match key.code {
                    KeyCode::Esc => Vec::new(),
                    KeyCode::Enter => match input::text(&input).parse::<Query>() {
                        Ok(q) => self.apply_recorded(q),
                        Err(e) => {
                            self.chrome.overlay = Overlay::Query {
                                input,
                                error: Some(e),
                                recalled,
                            };
                            Vec::new()
                        }
                    },
                    // ↑ / ↓ walk the filters applied before, newest first; ↓ past the newest
                    // comes back to the filter in force.
                    KeyCode::Up | KeyCode::Down => {
                        let want = match (key.code, recalled) {
                            (KeyCode::Up, None) => Some(0),
                            (KeyCode::Up, Some(n)) => Some(n + 1),
                            (_, Some(0) | None) => None,
                            (_, Some(n)) => Some(n - 1),
                        };
                        let (line, recalled) = match want {
                            Some(n) => match self.recall(n) {
                                Some(line) => (Some(line), Some(n)),
                                None => (None, recalled),
                            },
                            None => (Some(format!("{} ", self.query)), None),
                        };
                        if let Some(line) = line {
                            input = input::new(line.trim_start());
                        }
                        self.chrome.overlay = Overlay::Query {
                            input,
                            error: None,
                            recalled,
                        };
                        Vec::new()
                    }
                    _ => {
                        let changed = input::edit(&mut input, key) == input::Edit::Changed;
                        let error = if changed { None } else { error };
                        self.chrome.overlay = Overlay::Query {
                            input,
                            error,
                            recalled,
                        };
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
                            self.chrome.overlay = Overlay::SaveView(t);
                            return Vec::new();
                        }
                        let filter = self.query.to_string();
                        self.chrome.views.retain(|(n, _)| *n != name);
                        self.chrome.views.push((name.clone(), filter.clone()));
                        self.chrome.flash = Some(format!("saved the view “{name}”"));
                        vec![Effect::SaveView { name, filter }]
                    }
                    _ => {
                        input::edit(&mut t, key);
                        self.chrome.overlay = Overlay::SaveView(t);
                        Vec::new()
                    }
                };
            }
            Overlay::Views { selected } => {
                let n = self.chrome.views.len();
                return match key.code {
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('v') => Vec::new(),
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.chrome.overlay = Overlay::Views {
                            selected: (selected + 1).min(n.saturating_sub(1)),
                        };
                        Vec::new()
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.chrome.overlay = Overlay::Views {
                            selected: selected.saturating_sub(1),
                        };
                        Vec::new()
                    }
                    KeyCode::Enter => match self
                        .chrome
                        .views
                        .get(selected)
                        .map(|(n, f)| (n.clone(), f.parse::<Query>()))
                    {
                        Some((_, Ok(q))) => self.apply_recorded(q),
                        Some((name, Err(e))) => {
                            self.chrome.flash =
                                Some(format!("the view “{name}” does not parse: {e}"));
                            Vec::new()
                        }
                        None => Vec::new(),
                    },
                    _ => {
                        self.chrome.overlay = Overlay::Views { selected };
                        Vec::new()
                    }
                };
            }
        }
        self.chrome.flash = None;
        let Some(cmd) = self.chrome.keymap.lookup(key) else {
            return Vec::new();
        };
        self.command(cmd)
    }

    pub(super) fn open_filters(&mut self, field: usize) -> Vec<Effect> {
        self.chrome.pane_origin = Some(self.query.clone());
        let mut p = FilterPane::new(&self.query, field);
        let out = p.open();
        self.chrome.overlay = Overlay::Filters(Box::new(p));
        self.facet_effect(out)
    }

    pub(super) fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if matches!(self.chrome.overlay, Overlay::Value(_)) {
            let cmd = match m.kind {
                MouseEventKind::ScrollDown => Command::HalfDown,
                MouseEventKind::ScrollUp => Command::HalfUp,
                _ => return Vec::new(),
            };
            if let Overlay::Value(v) = std::mem::replace(&mut self.chrome.overlay, Overlay::None) {
                self.value_key(v, Some(cmd));
            }
            return Vec::new();
        }
        if !matches!(self.chrome.overlay, Overlay::None) {
            return Vec::new();
        }
        let a = self.areas();
        let inside = |r: Rect| {
            m.column >= r.x && m.column < r.x + r.width && m.row >= r.y && m.row < r.y + r.height
        };
        let in_detail = inside(a.detail_body);
        match m.kind {
            MouseEventKind::ScrollDown if in_detail => {
                self.detail_wheel(true);
                Vec::new()
            }
            MouseEventKind::ScrollUp if in_detail => {
                self.detail_wheel(false);
                Vec::new()
            }
            MouseEventKind::ScrollDown => self.move_by(3),
            MouseEventKind::ScrollUp => self.move_by(-3),
            MouseEventKind::Down(MouseButton::Left) if inside(a.table_body) => {
                let row = self.pager.offset + (m.row - a.table_body.y) as usize;
                if row >= self.pager.rows.len() {
                    return Vec::new();
                }
                self.pane.focus = false;
                if row == self.pager.selected {
                    return self.command(Command::Details);
                }
                self.select(row)
            }
            MouseEventKind::Down(MouseButton::Left) if in_detail => {
                self.pane.focus = true;
                if let Some((lines, _)) = self.detail_lines()
                    && let Some(d) = &mut self.pane.detail
                {
                    d.click(&lines, (m.row - a.detail_body.y) as usize);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}
