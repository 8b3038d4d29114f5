//! Rollups: how many entries each minute, hour and day holds per (channel, kind, outcome,
//! action, target type), kept by the writers in the transaction that appends the entries (and
//! by prune, which subtracts what it removes). A count, a facet or a histogram whose filter
//! names only these fields reads a few hundred rollup rows instead of every match
//! ([`super::filter::Filter::extent_sql`]): its cost no longer grows with the log.
//!
//! They are exact, not estimates: the same transaction writes an entry and its counts, so a
//! reader sees both or neither; the parts of a time range that do not fill a whole minute are
//! counted from the entries themselves ([`cover`]). They are derived data, not evidence: nothing
//! in a proof or a chain depends on them. Verify does not recount them: someone who can write
//! the database can make a count lie without breaking a proof (the entries, and every page of
//! them, stay as they were).

use crate::model::Entry;
use std::collections::HashMap;

/// The widths of the three rollups, in ms, finest first: a minute, an hour, a day. Each divides
/// the next, and every histogram bar of a minute or more is a whole number of minutes
/// ([`super::filter::stats::bucket_seconds`]).
pub const WIDTHS: [i64; 3] = [60_000, 3_600_000, 86_400_000];

/// The rollup table, the same in both stores: `target_type` is `''` for an entry without a
/// target (a key column cannot be NULL), which no target's type is (it may not be empty).
pub const COLUMNS: &str = "tenant, width, slot, channel, kind, outcome, action, target_type";

/// Adds `n` to a rollup row, or creates it: the one statement both stores write counts with
/// (the placeholders are `?`; PostgreSQL numbers them).
pub const UPSERT: &str = "INSERT INTO rollups (tenant, width, slot, channel, kind, outcome, \
    action, target_type, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
    ON CONFLICT (tenant, width, slot, channel, kind, outcome, action, target_type) \
    DO UPDATE SET n = rollups.n + excluded.n";

/// The start of the slot of `width` that holds `at` (ms), as the SQL below computes it.
pub fn slot(at: i64, width: i64) -> i64 {
    at - at.rem_euclid(width)
}

/// `sign` × the rollups of the entries `WHERE {condition}` (with its parameters after the
/// sign), added to the table in one statement: a migration's first counts (`+1`, every entry)
/// and a prune's subtraction (`-1`, the entries it is about to remove). Rows left at zero are
/// for [`REMOVE_EMPTY`].
pub fn from_entries_sql(condition: &str) -> String {
    let widths: Vec<String> = WIDTHS
        .iter()
        .map(|w| format!("SELECT CAST({w} AS BIGINT) AS w"))
        .collect();
    format!(
        "INSERT INTO rollups ({COLUMNS}, n) \
         SELECT tenant, w, occurred_at - ((occurred_at % w) + w) % w, channel, kind, outcome, \
         action, COALESCE(target_type, ''), CAST(? AS BIGINT) * count(*) \
         FROM entries CROSS JOIN ({}) AS widths WHERE {condition} \
         GROUP BY tenant, w, occurred_at - ((occurred_at % w) + w) % w, channel, kind, outcome, \
         action, COALESCE(target_type, '') \
         ON CONFLICT ({COLUMNS}) DO UPDATE SET n = rollups.n + excluded.n",
        widths.join(" UNION ALL ")
    )
}

/// Drops the rows a prune brought to zero.
pub const REMOVE_EMPTY: &str = "DELETE FROM rollups WHERE n = 0";

/// One rollup row's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cell {
    pub tenant: String,
    pub width: i64,
    pub slot: i64,
    pub channel: String,
    pub kind: &'static str,
    pub outcome: &'static str,
    pub action: String,
    pub target_type: String,
}

/// The counts a commit adds, summed per row first: a batch of 1,000 entries within one minute
/// is a handful of upserts, not 3,000.
#[derive(Debug, Default)]
pub struct Tally {
    cells: HashMap<Cell, i64>,
}

impl Tally {
    /// Counts `entry` in its minute, hour and day.
    pub fn add(&mut self, entry: &Entry) {
        let at = entry.occurred_at.timestamp_millis();
        for width in WIDTHS {
            let cell = Cell {
                tenant: entry.tenant.clone(),
                width,
                slot: slot(at, width),
                channel: entry.channel.clone(),
                kind: entry.kind.as_str(),
                outcome: entry.outcome.as_str(),
                action: entry.action.clone(),
                target_type: entry
                    .target
                    .as_ref()
                    .map(|t| t.kind.clone())
                    .unwrap_or_default(),
            };
            *self.cells.entry(cell).or_insert(0) += 1;
        }
    }

    /// The rows to add, and empties the tally.
    pub fn drain(&mut self) -> impl Iterator<Item = (Cell, i64)> + '_ {
        self.cells.drain()
    }

    /// The rows to add.
    pub fn cells(&self) -> impl Iterator<Item = (&Cell, i64)> + '_ {
        self.cells.iter().map(|(c, n)| (c, *n))
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

/// A part of a time range, counted one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Whole slots of `width` starting from `from` to `to` (slot starts, inclusive; `None`:
    /// unbounded), read from the rollups.
    Slots {
        width: i64,
        from: Option<i64>,
        to: Option<i64>,
    },
    /// The entries whose `occurred_at` is in `from..=to` (ms), counted one by one: what is left
    /// at the edges of a range that fills no whole minute.
    Entries { from: i64, to: i64 },
}

/// The pieces that make up the inclusive range `from..=to` (ms; `None`: unbounded), as whole
/// slots of the widest rollup that fits up to `WIDTHS[widest]`, then narrower ones towards the
/// edges, then the entries themselves: at most 7 pieces, whatever the range.
pub fn cover(from: Option<i64>, to: Option<i64>, widest: usize) -> Vec<Piece> {
    let mut out = Vec::new();
    cover_into(from, to, Some(widest.min(WIDTHS.len() - 1)), &mut out);
    out
}

fn cover_into(from: Option<i64>, to: Option<i64>, level: Option<usize>, out: &mut Vec<Piece>) {
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return;
    }
    let Some(level) = level else {
        // Unbounded sides never get here: a whole slot always fits in them.
        if let (Some(from), Some(to)) = (from, to) {
            out.push(Piece::Entries { from, to });
        }
        return;
    };
    let finer = level.checked_sub(1);
    let width = WIDTHS[level];
    // The first slot that starts at or after `from`, and the last that ends at or before `to`.
    let first = from.map(|f| slot(f.saturating_add(width - 1), width));
    let last = to.map(|t| slot(t.saturating_add(1), width) - width);
    if let (Some(a), Some(b)) = (first, last)
        && a > b
    {
        return cover_into(from, to, finer, out);
    }
    if let (Some(f), Some(a)) = (from, first)
        && f < a
    {
        cover_into(Some(f), Some(a - 1), finer, out);
    }
    out.push(Piece::Slots {
        width,
        from: first,
        to: last,
    });
    if let (Some(t), Some(b)) = (to, last)
        && b + width - 1 < t
    {
        cover_into(Some(b + width), Some(t), finer, out);
    }
}

/// The widest rollup whose slots each fall in one bar of a histogram whose bars are
/// `width_ms` wide from `start`: `None` when none does (bars under a minute, or not aligned).
pub fn widest_for_bars(start: i64, width_ms: i64) -> Option<usize> {
    (0..WIDTHS.len())
        .rev()
        .find(|&i| width_ms % WIDTHS[i] == 0 && start.rem_euclid(WIDTHS[i]) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 86_400_000;

    /// Which piece counts instant `at`, if any.
    fn counted_by(pieces: &[Piece], at: i64) -> usize {
        pieces
            .iter()
            .filter(|p| match **p {
                Piece::Slots { width, from, to } => {
                    let s = slot(at, width);
                    from.is_none_or(|f| s >= f) && to.is_none_or(|t| s <= t)
                }
                Piece::Entries { from, to } => (from..=to).contains(&at),
            })
            .count()
    }

    #[test]
    fn a_range_is_days_then_hours_then_minutes_then_entries_at_its_edges() {
        let from = 3 * DAY + 5 * HOUR + 7 * MIN + 11;
        let to = 9 * DAY + 2 * HOUR + 30 * MIN + 999;
        let pieces = cover(Some(from), Some(to), 2);
        assert_eq!(
            pieces,
            vec![
                Piece::Entries {
                    from,
                    to: 3 * DAY + 5 * HOUR + 8 * MIN - 1
                },
                Piece::Slots {
                    width: MIN,
                    from: Some(3 * DAY + 5 * HOUR + 8 * MIN),
                    to: Some(3 * DAY + 5 * HOUR + 59 * MIN)
                },
                Piece::Slots {
                    width: HOUR,
                    from: Some(3 * DAY + 6 * HOUR),
                    to: Some(3 * DAY + 23 * HOUR)
                },
                Piece::Slots {
                    width: DAY,
                    from: Some(4 * DAY),
                    to: Some(8 * DAY)
                },
                Piece::Slots {
                    width: HOUR,
                    from: Some(9 * DAY),
                    to: Some(9 * DAY + HOUR)
                },
                Piece::Slots {
                    width: MIN,
                    from: Some(9 * DAY + 2 * HOUR),
                    to: Some(9 * DAY + 2 * HOUR + 29 * MIN)
                },
                Piece::Entries {
                    from: 9 * DAY + 2 * HOUR + 30 * MIN,
                    to
                },
            ]
        );
        assert_eq!(
            cover(None, None, 2),
            vec![Piece::Slots {
                width: DAY,
                from: None,
                to: None
            }]
        );
        // Less than a minute: the entries alone.
        assert_eq!(
            cover(Some(5), Some(70), 2),
            vec![Piece::Entries { from: 5, to: 70 }]
        );
        assert!(cover(Some(9), Some(3), 2).is_empty());
    }

    #[test]
    fn bars_use_the_widest_rollup_that_divides_them() {
        assert_eq!(widest_for_bars(0, 7 * DAY), Some(2));
        assert_eq!(widest_for_bars(0, 3 * HOUR), Some(1));
        assert_eq!(widest_for_bars(5 * MIN, 5 * MIN), Some(0));
        assert_eq!(widest_for_bars(0, 30_000), None);
        assert_eq!(widest_for_bars(-61_972_732_800_000 + 7, DAY), None);
    }

    proptest! {
        /// Every instant of the range is counted exactly once, and none outside it.
        #[test]
        fn the_pieces_count_each_instant_once(
            from in proptest::option::of(-5 * DAY..5 * DAY),
            len in 0i64..3 * DAY,
            bounded in any::<bool>(),
            widest in 0usize..3,
            probes in proptest::collection::vec(-6 * DAY..9 * DAY, 64),
        ) {
            let to = bounded.then(|| from.unwrap_or(0) + len);
            let pieces = cover(from, to, widest);
            prop_assert!(pieces.len() <= 7);
            let mut probes = probes;
            probes.extend(from.into_iter().chain(to).flat_map(|x| [x - 1, x, x + 1]));
            for at in probes {
                let inside = from.is_none_or(|f| at >= f) && to.is_none_or(|t| at <= t);
                prop_assert_eq!(counted_by(&pieces, at), usize::from(inside), "at {}", at);
            }
        }
    }
}
