//! One entry as a CSV row, safe to open in a spreadsheet, and a row read back as the entry it
//! shows (for `trailscope open` and `verify-file`): the mapping of docs/verifying.md "CSV".
//!
//! A cell must say three things a bare CSV cell cannot: that a field is absent, that it is the
//! empty string, and that text which a spreadsheet would run as a formula is text. One rule does
//! all three and reverses without guessing:
//! - an absent field is an empty cell;
//! - present text gets one leading `'` when it is empty or starts with `'`, `=`, `+`, `-`, `@`,
//!   tab or CR; otherwise it is written as it is.
//!
//! So a reader takes an empty cell as absent and otherwise drops exactly one leading `'`. The
//! empty string is the cell `'`; a stored `'=1+1` is `''=1+1`, a stored `=1+1` is `'=1+1`.

use crate::model::{Actor, ActorType, Details, Entry, Kind, Outcome, Target, format_ts, parse_ts};
use std::borrow::Cow;

/// The header and column order of API.md.
pub const CSV_COLUMNS: [&str; 19] = [
    "id",
    "seq",
    "occurred_at",
    "received_at",
    "channel",
    "action",
    "kind",
    "outcome",
    "description",
    "actor_type",
    "actor_id",
    "actor_name",
    "actor_email",
    "actor_ip",
    "target_type",
    "target_id",
    "target_name",
    "details",
    "hash",
];

/// The cell of present text: marked with a leading `'` when it is empty, already starts with
/// `'`, or would run as a formula (OWASP's rule against CSV injection); otherwise as it is.
pub fn text_cell(text: &str) -> Cow<'_, str> {
    if needs_mark(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn needs_mark(text: &str) -> bool {
    matches!(
        text.as_bytes().first(),
        None | Some(b'\'' | b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// The cell of an optional field: empty when absent, else [`text_cell`].
pub fn opt_cell(text: Option<&str>) -> Cow<'_, str> {
    text.map_or(Cow::Borrowed(""), text_cell)
}

/// Reads a cell written by [`opt_cell`]: `None` for an empty cell, else the text with one
/// leading `'` removed.
pub fn read_cell(cell: &str) -> Option<&str> {
    if cell.is_empty() {
        None
    } else {
        Some(cell.strip_prefix('\'').unwrap_or(cell))
    }
}

/// The cells of one entry, in [`CSV_COLUMNS`] order. Borrowed from the entry where they can
/// be: an export writes a million of these, and allocations were its cost.
pub fn cells(e: &Entry) -> [Cow<'_, str>; 19] {
    let t = e.target.as_ref();
    [
        text_cell(&e.id),
        Cow::Owned(e.seq.to_string()),
        Cow::Owned(format_ts(&e.occurred_at)),
        Cow::Owned(format_ts(&e.received_at)),
        text_cell(&e.channel),
        text_cell(&e.action),
        Cow::Borrowed(e.kind.as_str()),
        Cow::Borrowed(e.outcome.as_str()),
        opt_cell(e.description.as_deref()),
        Cow::Borrowed(e.actor.kind.as_str()),
        opt_cell(e.actor.id.as_deref()),
        opt_cell(e.actor.name.as_deref()),
        opt_cell(e.actor.email.as_deref()),
        opt_cell(e.actor.ip.as_deref()),
        opt_cell(t.map(|t| t.kind.as_str())),
        opt_cell(t.map(|t| t.id.as_str())),
        opt_cell(t.and_then(|t| t.name.as_deref())),
        // Exactly the stored (and hashed) text; a negative number is the one compact JSON
        // value that starts like a formula.
        opt_cell(e.details.as_ref().map(|d| d.as_str())),
        Cow::Borrowed(e.hash.as_str()),
    ]
}

/// Why a CSV row is not an entry as the export writes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadRow {
    /// The row has this many fields.
    #[error("the row has {0} fields, not the export's {n}", n = CSV_COLUMNS.len())]
    Fields(usize),
    /// The cell of this column is not as the export writes it.
    #[error("its {0} cannot be read")]
    Cell(&'static str),
    #[error("its target is incomplete (a target has a type and an id)")]
    PartTarget,
}

/// The entry a row shows (in [`CSV_COLUMNS`] order). A CSV carries no tenant, previous hash,
/// idempotency key or user agent: those are left empty (`tenant`, `prev_hash`) or absent for
/// the caller to fill in. Fixed-form cells (seq, times, kind, outcome, actor type, hash) must be
/// exactly as the export writes them. The error names the cell.
pub fn entry_from_row(row: &csv::StringRecord) -> Result<Entry, BadRow> {
    if row.len() != CSV_COLUMNS.len() {
        return Err(BadRow::Fields(row.len()));
    }
    let raw = |i: usize| row.get(i).unwrap_or("");
    let bad = |i: usize| BadRow::Cell(CSV_COLUMNS[i]);
    let opt = |i: usize| read_cell(raw(i)).map(str::to_string);
    let text = |i: usize| read_cell(raw(i)).map(str::to_string).ok_or_else(|| bad(i));
    let ts = |i: usize| {
        parse_ts(raw(i))
            .filter(|t| format_ts(t) == raw(i))
            .ok_or_else(|| bad(i))
    };
    let target = match (opt(14), opt(15), opt(16)) {
        (None, None, None) => None,
        (Some(kind), Some(id), name) => Some(Target { kind, id, name }),
        _ => return Err(BadRow::PartTarget),
    };
    let details = match read_cell(raw(17)) {
        None => None,
        Some(d) => Some(Details::from_stored(d.to_string()).map_err(|_| bad(17))?),
    };
    let seq = raw(1)
        .parse::<u64>()
        .ok()
        .filter(|s| s.to_string() == raw(1))
        .ok_or_else(|| bad(1))?;
    Ok(Entry {
        id: text(0)?,
        seq,
        tenant: String::new(),
        occurred_at: ts(2)?,
        received_at: ts(3)?,
        channel: text(4)?,
        action: text(5)?,
        kind: Kind::parse(raw(6)).ok_or_else(|| bad(6))?,
        outcome: Outcome::parse(raw(7)).ok_or_else(|| bad(7))?,
        description: opt(8),
        actor: Actor {
            kind: ActorType::parse(raw(9)).ok_or_else(|| bad(9))?,
            id: opt(10),
            name: opt(11),
            email: opt(12),
            ip: opt(13),
            user_agent: None,
        },
        target,
        details,
        idempotency_key: None,
        prev_hash: String::new(),
        hash: raw(18).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_every_cell_reads_back() {
        for f in [
            "=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "'=1+1", "'", "",
        ] {
            assert_eq!(text_cell(f), format!("'{f}"));
            assert_eq!(read_cell(&text_cell(f)), Some(f));
        }
        assert_eq!(text_cell("plain"), "plain");
        assert_eq!(read_cell("plain"), Some("plain"));
        assert_eq!(opt_cell(None), "");
        assert_eq!(read_cell(""), None);
        // A stored `'=1+1` and a guarded `=1+1` differ in the file.
        assert_ne!(text_cell("'=1+1"), text_cell("=1+1"));
    }
}
