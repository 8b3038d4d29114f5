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
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// The cells of one entry, in [`CSV_COLUMNS`] order, each guarded.
pub fn cells(e: &Entry) -> Vec<String> {
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let t = e.target.as_ref();
    let raw = [
        e.id.clone(),
        e.seq.to_string(),
        format_ts(&e.occurred_at),
        format_ts(&e.received_at),
        e.channel.clone(),
        e.action.clone(),
        e.kind.as_str().to_string(),
        e.outcome.as_str().to_string(),
        opt(&e.description),
        e.actor.kind.as_str().to_string(),
        opt(&e.actor.id),
        opt(&e.actor.name),
        opt(&e.actor.email),
        opt(&e.actor.ip),
        t.map(|t| t.kind.clone()).unwrap_or_default(),
        t.map(|t| t.id.clone()).unwrap_or_default(),
        t.and_then(|t| t.name.clone()).unwrap_or_default(),
        e.details
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_default(),
        e.hash.clone(),
    ];
    raw.into_iter()
        .map(|c| guard_formula(&c).into_owned())
        .collect()
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
