//! The detail pane's state: the entry as a foldable JSON tree, or its before/after diff.

use super::diff::{self, DiffLine};
use super::json_tree::JsonTree;
use crate::model::Entry;

/// Where each row of the pane starts among the wrapped lines at the pane's width: a long value
/// is many lines, and the pane scrolls by line so that its end can be read (TUI.md, round 3).
#[derive(Debug, Clone, PartialEq)]
pub struct Lines {
    /// `starts[i]..starts[i + 1]` are row `i`'s lines; the last is the total.
    starts: Vec<usize>,
}

impl Lines {
    /// From each row's number of lines (at least one each).
    pub fn new(heights: impl IntoIterator<Item = usize>) -> Lines {
        let mut starts = vec![0];
        let mut at = 0;
        for h in heights {
            at += h.max(1);
            starts.push(at);
        }
        Lines { starts }
    }

    /// Row `row`'s first line and the line after its last.
    pub fn span(&self, row: usize) -> (usize, usize) {
        let last = self.starts.len().saturating_sub(2);
        let row = row.min(last);
        (
            self.starts.get(row).copied().unwrap_or(0),
            self.starts.get(row + 1).copied().unwrap_or(0),
        )
    }

    /// Every row's lines together.
    pub fn total(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    fn rows(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The row that line `line` belongs to.
    pub fn row_at(&self, line: usize) -> usize {
        self.starts
            .partition_point(|s| *s <= line)
            .saturating_sub(1)
            .min(self.rows().saturating_sub(1))
    }

    /// The furthest the view can scroll with `h` lines showing: the last line at the bottom.
    pub fn max_scroll(&self, h: usize) -> usize {
        self.total().saturating_sub(h)
    }
}

/// The open detail pane.
#[derive(Debug, Clone)]
pub struct Detail {
    pub entry_id: String,
    pub tree: JsonTree,
    pub cursor: usize,
    /// The first line shown, among the rows' wrapped lines (see [`Lines`]).
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
        next.cursor = next.cursor.min(next.row_count().saturating_sub(1));
        // The scroll line is kept as it was; the pane clamps it to the new entry's lines.
        next.scroll = self.scroll;
        next
    }

    /// How many rows the tree or the diff has.
    pub fn row_count(&self) -> usize {
        if self.show_diff {
            self.diff.as_ref().map_or(0, |d| d.len())
        } else {
            self.tree.rows().len()
        }
    }

    /// Moves the cursor by whole rows, clamped to them (the diff view, `[`/`]`, tests).
    pub fn move_by(&mut self, delta: isize) {
        let moved = if delta < 0 {
            self.cursor.saturating_sub(delta.unsigned_abs())
        } else {
            self.cursor.saturating_add(delta.unsigned_abs())
        };
        self.cursor = moved.min(self.row_count().saturating_sub(1));
    }

    /// Puts the cursor on the row shown at `screen_row` of the pane.
    pub fn click(&mut self, lines: &Lines, screen_row: usize) {
        let line = self.scroll + screen_row;
        if line < lines.total() {
            self.cursor = lines.row_at(line);
        }
    }

    /// `j`: the rest of a long value first, a line at a time; then the next row.
    pub fn line_down(&mut self, lines: &Lines, h: usize) {
        let (_, end) = lines.span(self.cursor);
        if end > self.scroll + h {
            self.scroll += 1;
        } else if self.cursor + 1 < self.row_count() {
            self.cursor += 1;
            self.keep_in_view(lines, h);
        }
    }

    /// `k`: the start of a long value first, a line at a time; then the row before.
    pub fn line_up(&mut self, lines: &Lines, h: usize) {
        let (start, _) = lines.span(self.cursor);
        if start < self.scroll {
            self.scroll -= 1;
        } else if self.cursor > 0 {
            self.cursor -= 1;
            let (start, end) = lines.span(self.cursor);
            if start < self.scroll {
                // A row taller than the pane shows its last screen, and `k` goes on up it.
                self.scroll = if end - start > h {
                    end.saturating_sub(h).min(self.scroll)
                } else {
                    start
                };
            }
        }
    }

    /// PgDn / PgUp, Ctrl-d / Ctrl-u and the wheel: the view moves by `delta` lines; the
    /// cursor stays on its row while that row shows, else goes to the row at the view's edge.
    pub fn scroll_by(&mut self, lines: &Lines, h: usize, delta: isize) {
        let max = lines.max_scroll(h);
        let was = self.scroll.min(max);
        self.scroll = if delta < 0 {
            was.saturating_sub(delta.unsigned_abs())
        } else {
            was.saturating_add(delta.unsigned_abs()).min(max)
        };
        if self.scroll == was {
            // Nowhere further to scroll: the cursor goes to the first or last row.
            self.cursor = if delta < 0 {
                0
            } else {
                self.row_count().saturating_sub(1)
            };
            return;
        }
        let (start, end) = lines.span(self.cursor);
        if end <= self.scroll || start >= self.scroll + h {
            let edge = if delta < 0 {
                (self.scroll + h).saturating_sub(1)
            } else {
                self.scroll
            };
            self.cursor = lines.row_at(edge);
        }
    }

    /// `g` / `G`: the first row at the top, or the last line at the bottom.
    pub fn to_end(&mut self, lines: &Lines, h: usize, end: bool) {
        if end {
            self.cursor = self.row_count().saturating_sub(1);
            self.scroll = lines.max_scroll(h);
        } else {
            self.cursor = 0;
            self.scroll = 0;
        }
    }

    /// Keeps the cursor's row in view after a change (a fold, a step, a resize): whole when it
    /// fits, else from its first line; never scrolled past the last line.
    pub fn keep_in_view(&mut self, lines: &Lines, h: usize) {
        let h = h.max(1);
        self.cursor = self.cursor.min(self.row_count().saturating_sub(1));
        let (start, end) = lines.span(self.cursor);
        if start < self.scroll {
            self.scroll = start;
        } else if end > self.scroll + h {
            if end - start <= h {
                self.scroll = end - h;
            } else if start >= self.scroll + h {
                // A row taller than the pane, below it: its first screen.
                self.scroll = start;
            }
            // A taller row already showing keeps the view: `j` goes on down it.
        }
        self.scroll = self.scroll.min(lines.max_scroll(h));
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
