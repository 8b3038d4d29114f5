//! Bulk marks (issue 25, points 3 and 4): mark or unmark every entry the filter matches, or a
//! range of rows, with the count of marks shown; and the limit on how many marked entries a
//! filter, an export or a pack can carry.
//!
//! Keys, after lnav's bookmarks and VisiData's selection: `m` toggles one (and is the range's
//! anchor), `M` marks the rows from that anchor to the selected one (unmarks them when all
//! already are), `*` marks every entry the filter matches, `U` unmarks them (`'` then `U`
//! empties the case).

use super::action::Effect;
use super::app::App;
use super::memory::Snapshot;
use crate::client::ClientError;
use crate::tui::views::header::{counted, thousands};

/// The most marked entries that `'`, an export or a pack of them carries: their ids go to the
/// server in the filter (`id:…`), about 27 characters each, and the server reads URLs up to
/// 64 KiB. Marking more is refused with this number in the message.
pub const MAX_MARKS: usize = 1000;

impl App {
    /// The marks of this server, counted, for the footer.
    fn marks_said(&self, change: &str) -> String {
        let n = self.marked_ids().len() as u64;
        format!(
            "{change}: {} marked on this server",
            counted(n, "entry", "entries")
        )
    }

    fn set_marks(&mut self, ids: impl IntoIterator<Item = String>, mark: bool) -> usize {
        let set = self
            .memory
            .marks
            .entry(self.conn.source.clone())
            .or_default();
        let mut changed = 0;
        for id in ids {
            let did = if mark {
                set.insert(id)
            } else {
                set.remove(&id)
            };
            changed += usize::from(did);
        }
        if set.is_empty() {
            self.memory.marks.remove(&self.conn.source);
        }
        changed
    }

    /// `M`: the rows from the one last marked or unmarked with `m` to the selected one; when
    /// every one of them is marked already, they are unmarked.
    pub(super) fn mark_range(&mut self) -> Vec<Effect> {
        let here = self.pager.selected;
        let anchor = self.memory.mark_anchor.as_deref().and_then(|id| {
            (0..self.pager.rows.len()).find(|i| self.pager.rows.get(*i).is_some_and(|e| e.id == id))
        });
        let Some(anchor) = anchor else {
            self.chrome.flash = Some(format!(
                "mark a first entry with {}, move to the last, then {} marks every row between",
                self.chrome.keymap.first(super::keymap::Command::Mark),
                self.chrome.keymap.first(super::keymap::Command::MarkRange)
            ));
            return Vec::new();
        };
        let (a, b) = (anchor.min(here), anchor.max(here));
        let ids: Vec<String> = (a..=b)
            .filter_map(|i| self.pager.rows.get(i).map(|e| e.id))
            .collect();
        let all_marked = ids.iter().all(|id| self.is_marked(id));
        let mark = !all_marked;
        if mark && !self.room_for(&ids) {
            return Vec::new();
        }
        let n = self.set_marks(ids.iter().cloned(), mark);
        let verb = if mark { "marked" } else { "unmarked" };
        self.chrome.flash = Some(self.marks_said(&format!(
            "{verb} {} (rows {}–{})",
            counted(n as u64, "entry", "entries"),
            thousands(a as u64 + 1),
            thousands(b as u64 + 1)
        )));
        vec![Effect::Remember(Snapshot::Marks(self.memory.marks.clone()))]
    }

    /// Whether marking `ids` stays within [`MAX_MARKS`]; says so when it would not.
    fn room_for(&mut self, ids: &[String]) -> bool {
        let now = self.marked_ids();
        let new = ids.iter().filter(|id| !now.contains(id)).count();
        if now.len() + new <= MAX_MARKS {
            return true;
        }
        self.chrome.flash = Some(format!(
            "that would make {} marked entries; at most {} can be marked (a case, an export or a pack of them carries their ids): narrow the filter or unmark some",
            thousands((now.len() + new) as u64),
            thousands(MAX_MARKS as u64)
        ));
        false
    }

    /// `*` / `U`: every entry the filter matches, fetched by id in the background.
    pub(super) fn mark_matching(&mut self, mark: bool) -> Vec<Effect> {
        // The exact count is known before anything is fetched: over the limit, say so now.
        if mark && let Some(total) = self.pager.total.filter(|t| *t > MAX_MARKS as u64) {
            self.chrome.flash = Some(format!(
                "the filter matches {}; at most {} entries can be marked: narrow the filter first",
                counted(total, "entry", "entries"),
                thousands(MAX_MARKS as u64)
            ));
            return Vec::new();
        }
        self.chrome.flash = Some(if mark {
            "marking every entry the filter matches…".into()
        } else {
            "unmarking every entry the filter matches…".into()
        });
        vec![Effect::FetchIds {
            load: self.generation(),
            query: self.query.clone(),
            limit: MAX_MARKS,
            mark,
        }]
    }

    /// The ids of the entries the filter matched (`more`: past the limit, so none were taken).
    pub(super) fn on_matched(
        &mut self,
        load: u64,
        mark: bool,
        result: Result<(Vec<String>, bool), ClientError>,
    ) -> Vec<Effect> {
        if load != self.generation() {
            return Vec::new();
        }
        let (ids, more) = match result {
            Ok(r) => r,
            Err(e) => {
                self.chrome.flash = Some(format!("could not list the matching entries: {e}"));
                return Vec::new();
            }
        };
        if more {
            self.chrome.flash = Some(format!(
                "the filter matches more than {} entries, the most that can be marked: narrow the filter first",
                thousands(MAX_MARKS as u64)
            ));
            return Vec::new();
        }
        if mark && !self.room_for(&ids) {
            return Vec::new();
        }
        let n = self.set_marks(ids, mark);
        let verb = if mark { "marked" } else { "unmarked" };
        self.chrome.flash = Some(self.marks_said(&format!(
            "{verb} {} the filter matches",
            counted(n as u64, "entry", "entries")
        )));
        vec![Effect::Remember(Snapshot::Marks(self.memory.marks.clone()))]
    }
}
