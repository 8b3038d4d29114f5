//! Keys and the mouse: an open overlay (prompt, pane, dialog) takes them; otherwise the keymap
//! turns a key into a command (`commands.rs`).

use super::{App, Overlay};
use crate::model::Query;
use crate::tui::action::Effect;
use crate::tui::filters::{FilterPane, PaneOutcome};
use crate::tui::input;
use crate::tui::keymap::Command;
use crate::tui::layout;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

impl App {
    pub(super) fn facet_effect(&mut self, out: PaneOutcome) -> Vec<Effect> {
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
    pub(super) fn dialog_outcome(
        &mut self,
        out: crate::tui::dialogs::Outcome,
        dialog: Overlay,
    ) -> Vec<Effect> {
        match out {
            crate::tui::dialogs::Outcome::Stay(fx) => {
                self.overlay = dialog;
                fx
            }
            crate::tui::dialogs::Outcome::Close(fx, message) => {
                if message.is_some() {
                    self.flash = message;
                }
                fx
            }
        }
    }

    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
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

    pub(super) fn open_filters(&mut self, field: usize) -> Vec<Effect> {
        let mut p = FilterPane::new(&self.query, field);
        let out = p.open();
        self.overlay = Overlay::Filters(Box::new(p));
        self.facet_effect(out)
    }

    pub(super) fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
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
