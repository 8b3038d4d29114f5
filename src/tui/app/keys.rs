//! Keys and the mouse: an open overlay (prompt, pane, dialog) takes them; otherwise the keymap
//! turns a key into a command (`commands.rs`).

use super::{App, Overlay};
use crate::tui::action::Effect;
use crate::tui::dialogs::Stage;
use crate::tui::filters::{FilterPane, PaneOutcome};
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
        let overlay = std::mem::replace(&mut self.chrome.overlay, Overlay::None);
        if let Some(fx) = self.overlay_key(overlay, key) {
            return fx;
        }
        self.chrome.flash = None;
        let Some(cmd) = self.chrome.keymap.lookup(key) else {
            return Vec::new();
        };
        self.command(cmd)
    }

    /// An open overlay's answer to a key, or `None` when the key goes on to the keymap. The
    /// overlay has been taken out of `chrome.overlay`: every handler puts it back to stay open,
    /// and leaves it out to close.
    fn overlay_key(&mut self, overlay: Overlay, key: KeyEvent) -> Option<Vec<Effect>> {
        let fx = match overlay {
            Overlay::None => return None,
            // A finished download's dialog closes on the next key, and that key then does what
            // it does anywhere (it is not swallowed).
            Overlay::Export(d) if matches!(d.stage, Stage::Done { .. }) => return None,
            Overlay::Evidence(d) if matches!(d.stage, Stage::Done { .. }) => return None,
            Overlay::Help { scroll } => self.help_key(scroll, key),
            Overlay::Pivot(menu) => self.pivot_key(menu, key),
            Overlay::Value(v) => {
                // `q` closes the pager, not the program: it is what a pager's `q` does.
                let cmd = self.chrome.keymap.lookup(key);
                self.value_key(v, cmd);
                Vec::new()
            }
            Overlay::Info(_) => Vec::new(),
            Overlay::Export(mut d) => {
                let out = d.key(key, self.now);
                self.dialog_outcome(out, Overlay::Export(d))
            }
            Overlay::History(mut h) => {
                let out = h.key(key, self.now);
                self.dialog_outcome(out, Overlay::History(h))
            }
            Overlay::Evidence(mut d) => {
                let out = d.key(key, self.now);
                self.dialog_outcome(out, Overlay::Evidence(d))
            }
            Overlay::Filters(mut p) => {
                let out = p.key(key);
                self.chrome.overlay = Overlay::Filters(p);
                self.facet_effect(out)
            }
            Overlay::Search(t) => self.search_key(t, key),
            Overlay::Query {
                input,
                error,
                recalled,
            } => self.query_key(input, error, recalled, key),
            Overlay::SaveView(t) => self.save_view_key(t, key),
            Overlay::Views { selected } => self.views_key(selected, key),
        };
        Some(fx)
    }

    /// The help overlay scrolls; any other key closes it.
    fn help_key(&mut self, scroll: usize, key: KeyEvent) -> Vec<Effect> {
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
        Vec::new()
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
