//! The detail pane's state: the entry as a foldable JSON tree, or its before/after diff.

use super::diff::{self, DiffLine};
use super::json_tree::JsonTree;
use crate::model::Entry;

/// The open detail pane.
#[derive(Debug, Clone)]
pub struct Detail {
    pub entry_id: String,
    pub tree: JsonTree,
    pub cursor: usize,
    pub scroll: usize,
    /// The before/after diff, when `details` has both.
    pub diff: Option<Vec<DiffLine>>,
    pub show_diff: bool,
}

impl Detail {
    /// The pane for an entry; `show_diff` carries the auditor's choice from entry to entry.
    pub fn new(e: &Entry, show_diff: bool) -> Detail {
        // `details` separately: its exact text may hold a number no f64 can (1e400), which would
        // make the whole entry fail to convert.
        let details = e.details.as_ref().map(|d| d.to_value());
        let mut value = serde_json::to_value(Entry {
            details: None,
            ..e.clone()
        })
        .unwrap_or(serde_json::Value::Null);
        if let (Some(obj), Some(d)) = (value.as_object_mut(), &details) {
            obj.insert("details".into(), d.clone());
        }
        let diff = diff::before_after(details.as_ref()).map(|(b, a)| diff::diff(b, a));
        Detail {
            entry_id: e.id.clone(),
            tree: JsonTree::new(value),
            cursor: 0,
            scroll: 0,
            show_diff: show_diff && diff.is_some(),
            diff,
        }
    }

    /// The pane for the next (or previous) entry, as the auditor had this one: the same
    /// containers folded, the cursor on the same path (or its nearest ancestor there), the
    /// same scroll position, the same view.
    pub fn stepped(&self, e: &Entry) -> Detail {
        let mut next = Detail::new(e, self.show_diff);
        let value = serde_json::to_value(e).unwrap_or(serde_json::Value::Null);
        next.tree = JsonTree::with_folds_of(value, &self.tree);
        if next.show_diff {
            next.cursor = self.cursor;
        } else if let Some(path) = self.tree.rows().get(self.cursor).map(|r| r.path.clone()) {
            let rows = next.tree.rows();
            let mut p = path.as_str();
            next.cursor = loop {
                if let Some(i) = rows.iter().position(|r| r.path == p) {
                    break i;
                }
                match p.rfind('/') {
                    Some(i) => p = &p[..i],
                    None => break 0,
                }
            };
        }
        next.cursor = next.cursor.min(next.len().saturating_sub(1));
        next.scroll = self.scroll.min(next.cursor);
        next
    }

    fn len(&self) -> usize {
        if self.show_diff {
            self.diff.as_ref().map_or(0, |d| d.len())
        } else {
            self.tree.rows().len()
        }
    }

    /// Moves the cursor, clamped to the rows.
    pub fn move_by(&mut self, delta: isize) {
        let moved = if delta < 0 {
            self.cursor.saturating_sub(delta.unsigned_abs())
        } else {
            self.cursor.saturating_add(delta.unsigned_abs())
        };
        self.cursor = moved.min(self.len().saturating_sub(1));
    }

    /// Puts the cursor on a clicked row.
    pub fn click(&mut self, row: usize) {
        if row < self.len() {
            self.cursor = row;
        }
    }

    /// Keeps the cursor within `height` rows of the scroll position.
    pub fn scroll_into_view(&mut self, height: usize) {
        if self.cursor < self.scroll {
            self.scroll = self.cursor;
        } else if self.cursor >= self.scroll + height {
            self.scroll = self.cursor + 1 - height;
        }
    }

    /// Folds or unfolds the node under the cursor.
    pub fn toggle(&mut self) {
        if !self.show_diff {
            self.cursor = self.tree.toggle(self.cursor);
        }
    }

    /// Folds (`true`) or unfolds the node under the cursor.
    pub fn fold(&mut self, fold: bool) {
        if !self.show_diff {
            self.cursor = self.tree.set_folded(self.cursor, fold);
        }
    }

    /// Folds or unfolds everything.
    pub fn all(&mut self, fold: bool) {
        if self.show_diff {
            return;
        }
        if fold {
            self.tree.fold_all();
        } else {
            self.tree.unfold_all();
        }
        self.cursor = self.cursor.min(self.tree.rows().len().saturating_sub(1));
    }

    /// Switches between the JSON tree and the diff, when there is one.
    pub fn toggle_diff(&mut self) {
        if self.diff.is_some() {
            self.show_diff = !self.show_diff;
            self.cursor = 0;
            self.scroll = 0;
        }
    }
}
