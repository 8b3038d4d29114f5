//! Investigating fast (TUI.md): pivots, the window around an entry, and going back through the
//! filters applied.

use super::{App, Overlay};
use crate::model::{Around, Query};
use crate::tui::action::Effect;
use crate::tui::memory::Snapshot;
use crate::tui::pivot::{self, PivotMenu, Term};
use crossterm::event::{KeyCode, KeyEvent};

/// The width `W` widens the window to.
const WIDE: (u32, char) = (2, 'h');

impl App {
    /// Applies `q` as a new filter the user chose: it joins the history (kept across runs).
    pub(super) fn apply_recorded(&mut self, q: Query) -> Vec<Effect> {
        // The filter left behind is where `Backspace` returns to, even the one the run began with.
        let h = &mut self.memory.history;
        let left = self.query.to_string();
        if h.lines().last() != Some(&left) {
            h.push(left);
        }
        h.push(q.to_string());
        let mut fx = vec![Effect::Remember(Snapshot::History(
            self.memory.history.lines().to_vec(),
        ))];
        fx.extend(self.apply_query(q));
        fx
    }

    /// `=` / `-`: in the detail pane, on the value under the cursor; on the table, a menu of
    /// the selected entry's values.
    pub(super) fn pivot(&mut self, exclude: bool) -> Vec<Effect> {
        let Some(e) = self.current() else {
            return Vec::new();
        };
        if self.pane.focus
            && let Some(d) = &self.pane.detail
        {
            if d.show_diff {
                self.chrome.flash =
                    Some("pivots work on the JSON view: d switches back to it".into());
                return Vec::new();
            }
            let term = d.tree.rows().get(d.cursor).and_then(|row| match &row.kind {
                crate::tui::json_tree::RowKind::Scalar(v) => pivot::term_for_node(&row.path, v, &e),
                _ => None,
            });
            return match term {
                Some(t) => self.apply_term(&t, exclude),
                None => {
                    self.chrome.flash = Some(
                        "put the cursor on a value (not an object, a list or null) to filter on it"
                            .into(),
                    );
                    Vec::new()
                }
            };
        }
        self.chrome.overlay = Overlay::Pivot(PivotMenu::for_entry(&e, exclude));
        Vec::new()
    }

    /// A key while the pivot menu is open.
    pub(super) fn pivot_key(&mut self, menu: PivotMenu, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => Vec::new(),
            KeyCode::Char(ch) => match menu.pick(ch) {
                Some(choice) => {
                    let term = choice.term.clone();
                    self.apply_term(&term, menu.exclude)
                }
                None => {
                    self.chrome.overlay = Overlay::Pivot(menu);
                    Vec::new()
                }
            },
            _ => {
                self.chrome.overlay = Overlay::Pivot(menu);
                Vec::new()
            }
        }
    }

    fn apply_term(&mut self, term: &Term, exclude: bool) -> Vec<Effect> {
        match pivot::apply(&self.query, term, exclude) {
            Some(q) => self.apply_recorded(q),
            None => {
                self.chrome.flash = Some(
                    "text can be searched for but not excluded; exclude a field's value instead"
                        .into(),
                );
                Vec::new()
            }
        }
    }

    /// `w` / `W`: every entry within ±15 minutes (±2 hours) of the selected one, with no other
    /// filter; the entry stays selected and marked `▶` in the table.
    pub(super) fn around(&mut self, wide: bool) -> Vec<Effect> {
        let Some(e) = self.current() else {
            return Vec::new();
        };
        let mut a = Around::new(e.occurred_at);
        if wide {
            a = a.widened(WIDE.0, WIDE.1);
        }
        let q = Query {
            around: Some(a),
            ..Query::default()
        };
        let fx = self.apply_recorded(q);
        self.pager.anchor = Some((e.occurred_at.timestamp_millis(), e.seq));
        self.pager.seeking = true;
        fx
    }

    /// `Backspace`: the filter before this one.
    pub(super) fn back(&mut self) -> Vec<Effect> {
        let current = self.query.to_string();
        let Some(line) = self.memory.history.back(&current) else {
            self.chrome.flash = Some("no earlier filter to go back to".into());
            return Vec::new();
        };
        match line.parse::<Query>() {
            Ok(q) => self.apply_query(q),
            Err(e) => {
                self.chrome.flash =
                    Some(format!("the earlier filter `{line}` no longer parses: {e}"));
                Vec::new()
            }
        }
    }

    /// After a page: select the anchor of `w` once it is loaded, or load on towards it.
    pub(super) fn seek_anchor(&mut self) -> Vec<Effect> {
        let Some(key) = self.pager.anchor.filter(|_| self.pager.seeking) else {
            return Vec::new();
        };
        if let Some(row) = self.pager.rows.find(key) {
            self.pager.seeking = false;
            return self.select(row);
        }
        if self.pager.exhausted {
            self.pager.seeking = false;
            return Vec::new();
        }
        self.pager.fetch_next(&self.query)
    }

    /// `m`: marks the selected entry, or unmarks it; the marks of each server are kept.
    pub(super) fn toggle_mark(&mut self) -> Vec<Effect> {
        let Some(e) = self.current() else {
            return Vec::new();
        };
        self.memory.mark_anchor = Some(e.id.clone());
        if !self.is_marked(&e.id) && self.marked_ids().len() >= crate::tui::marks::MAX_MARKS {
            self.chrome.flash = Some(format!(
                "{} entries are marked, the most there can be: unmark some first",
                crate::tui::views::header::thousands(crate::tui::marks::MAX_MARKS as u64)
            ));
            return Vec::new();
        }
        let set = self
            .memory
            .marks
            .entry(self.conn.source.clone())
            .or_default();
        if !set.remove(&e.id) {
            set.insert(e.id);
        }
        let n = set.len() as u64;
        if set.is_empty() {
            self.memory.marks.remove(&self.conn.source);
        }
        self.chrome.flash = Some(format!(
            "{} marked on this server",
            crate::tui::views::header::counted(n, "entry", "entries")
        ));
        vec![Effect::Remember(Snapshot::Marks(self.memory.marks.clone()))]
    }

    /// The ids marked on this server.
    pub fn marked_ids(&self) -> Vec<String> {
        self.memory
            .marks
            .get(&self.conn.source)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many entries are marked on this server.
    pub fn marked_count(&self) -> usize {
        self.memory
            .marks
            .get(&self.conn.source)
            .map_or(0, |s| s.len())
    }

    /// Whether the entry with this id is marked (on this server).
    pub fn is_marked(&self, id: &str) -> bool {
        self.memory
            .marks
            .get(&self.conn.source)
            .is_some_and(|s| s.contains(id))
    }

    /// ↑ / ↓ in the `:` bar: the filters applied before, newest first.
    pub(super) fn recall(&self, steps: usize) -> Option<String> {
        self.memory
            .history
            .recall(steps, &self.query.to_string())
            .map(str::to_string)
    }
}
