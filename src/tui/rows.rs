//! The loaded entries, kept compact: each as its JSON text, parsed again only when it comes
//! into view.
//!
//! A parsed `Entry` costs about 1.2 KB on the heap (a dozen small strings and the details
//! tree); its JSON text about half that. Only the visible window is ever parsed (into
//! [`ViewRow`]s, kept until the rows or the place change), so holding 100,000 rows stays well
//! under 100 MB and an idle frame parses nothing.

use crate::model::{ActorType, Entry, Kind, Outcome};
use chrono::{DateTime, Utc};

/// The rows of the table, newest first.
#[derive(Debug, Default)]
pub struct Rows {
    items: Vec<Box<str>>,
    /// Each row's place in the table's order, (`occurred_at` in ms, `seq`), descending: where
    /// a live entry belongs is found without parsing a row.
    keys: Vec<(i64, u64)>,
    /// The highest seq loaded: where following the log picks up.
    max_seq: Option<u64>,
    /// Bumped on every change, so what was built from the rows knows when it is stale.
    version: u64,
}

fn key(e: &Entry) -> (i64, u64) {
    (e.occurred_at.timestamp_millis(), e.seq)
}

/// Where a live entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// Inserted at this row.
    At(usize),
    /// Already loaded.
    Duplicate,
    /// Older than every loaded row while more pages remain: paging will bring it in its place.
    Beyond,
}

impl Rows {
    /// How many rows are loaded.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Changes with every change of the rows.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Drops every row and the memory they held.
    pub fn clear(&mut self) {
        self.version += 1;
        self.items = Vec::new();
        self.keys = Vec::new();
        self.max_seq = None;
    }

    /// The highest seq among the loaded rows.
    pub fn max_seq(&self) -> Option<u64> {
        self.max_seq
    }

    fn compact(&mut self, e: &Entry) -> Box<str> {
        self.max_seq = Some(self.max_seq.map_or(e.seq, |m| m.max(e.seq)));
        // Serialising our own Entry type cannot fail; a row is never silently dropped.
        serde_json::to_string(e)
            .unwrap_or_default()
            .into_boxed_str()
    }

    /// Appends a page.
    pub fn extend(&mut self, entries: Vec<Entry>) {
        self.version += 1;
        self.items.reserve(entries.len());
        self.keys.reserve(entries.len());
        for e in entries {
            let row = self.compact(&e);
            self.items.push(row);
            self.keys.push(key(&e));
        }
    }

    /// Puts entries that arrived live where the table's order puts them (usually the top:
    /// producers send what just happened), in one pass over the rows however many arrive — an
    /// insert each would move every row once per entry. `complete`: every older row is loaded
    /// too. For each entry, in order: the row it went before among the rows loaded until now.
    pub fn place(&mut self, entries: &[Entry], complete: bool) -> Vec<Placed> {
        let mut placed = Vec::with_capacity(entries.len());
        let mut new = Vec::new();
        for e in entries {
            let k = key(e);
            let at = self.keys.partition_point(|other| *other > k);
            if self.keys.get(at) == Some(&k) {
                placed.push(Placed::Duplicate);
            } else if at == self.keys.len() && !complete {
                placed.push(Placed::Beyond);
            } else {
                placed.push(Placed::At(at));
                let row = self.compact(e);
                new.push((at, k, row));
            }
        }
        if new.is_empty() {
            return placed;
        }
        self.version += 1;
        // By the row they go before, and newest first among themselves.
        new.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let n = self.items.len() + new.len();
        let (items, keys) = (
            std::mem::take(&mut self.items),
            std::mem::take(&mut self.keys),
        );
        self.items.reserve_exact(n);
        self.keys.reserve_exact(n);
        let mut new = new.into_iter().peekable();
        for (i, (item, k)) in items.into_iter().zip(keys).enumerate() {
            while let Some((_, nk, row)) = new.next_if(|(at, _, _)| *at == i) {
                self.items.push(row);
                self.keys.push(nk);
            }
            self.items.push(item);
            self.keys.push(k);
        }
        for (_, nk, row) in new {
            self.items.push(row);
            self.keys.push(nk);
        }
        placed
    }

    /// The row of the entry with this (`occurred_at` in ms, `seq`), if it is loaded.
    pub fn find(&self, key: (i64, u64)) -> Option<usize> {
        let at = self.keys.partition_point(|other| *other > key);
        (self.keys.get(at) == Some(&key)).then_some(at)
    }

    /// The entry at `i`, parsed.
    pub fn get(&self, i: usize) -> Option<Entry> {
        serde_json::from_str(self.items.get(i)?).ok()
    }

    /// The entries in `start..end`, parsed (what one frame draws).
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = Entry> + '_ {
        let end = end.min(self.items.len());
        self.items[start.min(end)..end]
            .iter()
            .filter_map(|s| serde_json::from_str(s).ok())
    }
}

/// How the Actor column shows who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorCell {
    /// A system actor without a name: the `[System]` badge.
    System,
    /// Pseudonymised: the badge and the id that keeps the person followable.
    Pseudonym(String),
    Named(String),
    Nobody,
}

/// One row of the table as it is drawn: every text from the entry already made inert.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewRow {
    pub id: String,
    pub seq: u64,
    pub occurred_at: DateTime<Utc>,
    pub kind: Kind,
    pub outcome: Outcome,
    pub action: String,
    pub actor: ActorCell,
    pub target: String,
    pub description: String,
}

impl ViewRow {
    /// The row's cells for `e`.
    pub fn new(e: &Entry) -> ViewRow {
        let inert = |s: &str| crate::text::inert(s).into_owned();
        let actor = match (e.actor.kind, e.actor.label()) {
            (ActorType::System, None) => ActorCell::System,
            _ if e.actor.is_pseudonymised() => ActorCell::Pseudonym(inert(
                e.actor
                    .id
                    .as_deref()
                    .or(e.actor.name.as_deref())
                    .unwrap_or(""),
            )),
            (_, Some(l)) => ActorCell::Named(inert(l)),
            (_, None) => ActorCell::Nobody,
        };
        ViewRow {
            id: e.id.clone(),
            seq: e.seq,
            occurred_at: e.occurred_at,
            kind: e.kind,
            outcome: e.outcome,
            action: inert(&e.action),
            actor,
            target: inert(&e.target_ref().unwrap_or_default()),
            description: inert(e.description.as_deref().unwrap_or("")),
        }
    }
}
