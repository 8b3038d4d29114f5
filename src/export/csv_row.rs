//! One entry as a CSV row, safe to open in a spreadsheet.

use crate::model::{Entry, format_ts};
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

/// OWASP's rule against CSV injection: a cell a spreadsheet would run as a formula gets a
/// leading `'`, so it is shown as text.
pub fn guard_formula(cell: &str) -> Cow<'_, str> {
    if runs_as_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

fn runs_as_formula(cell: &str) -> bool {
    matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

fn opt(s: &Option<String>) -> Cow<'_, str> {
    guard_formula(s.as_deref().unwrap_or(""))
}

/// The cells of one entry, in [`CSV_COLUMNS`] order, each guarded. Borrowed from the entry
/// where they can be: an export writes a million of these, and allocations were its cost.
pub fn cells(e: &Entry) -> [Cow<'_, str>; 19] {
    let t = e.target.as_ref();
    [
        guard_formula(&e.id),
        Cow::Owned(e.seq.to_string()),
        Cow::Owned(format_ts(&e.occurred_at)),
        Cow::Owned(format_ts(&e.received_at)),
        guard_formula(&e.channel),
        guard_formula(&e.action),
        Cow::Borrowed(e.kind.as_str()),
        Cow::Borrowed(e.outcome.as_str()),
        opt(&e.description),
        Cow::Borrowed(e.actor.kind.as_str()),
        opt(&e.actor.id),
        opt(&e.actor.name),
        opt(&e.actor.email),
        opt(&e.actor.ip),
        guard_formula(t.map_or("", |t| t.kind.as_str())),
        guard_formula(t.map_or("", |t| t.id.as_str())),
        guard_formula(t.and_then(|t| t.name.as_deref()).unwrap_or("")),
        e.details.as_ref().map_or(Cow::Borrowed(""), |d| {
            // Exactly the stored (and hashed) text. A negative number is the one compact JSON
            // value a spreadsheet would compute.
            let json = d.as_str();
            if runs_as_formula(json) {
                Cow::Owned(format!("'{json}"))
            } else {
                Cow::Borrowed(json)
            }
        }),
        Cow::Borrowed(e.hash.as_str()),
    ]
}

#[cfg(test)]
mod tests {
    use super::guard_formula;

    #[test]
    fn formulas_become_text() {
        for f in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(guard_formula(f), format!("'{f}"));
        }
        assert_eq!(guard_formula("plain"), "plain");
        assert_eq!(guard_formula(""), "");
    }
}
