//! One value of an entry alone, in a pager (`o`, or Enter in the detail pane): a description of
//! thousands of characters read line by line to its end, at any size (TUI.md, round 3).

use crate::tui::json_tree::RowKind;
use serde_json::Value;

/// The value shown and how far it is scrolled.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueView {
    /// Where the value is in the entry (`/details/description`).
    pub path: String,
    /// Its text, a line per line of the value (a string's own line breaks are kept; every
    /// control or bidi character is shown escaped).
    pub text: Vec<String>,
    /// How many characters the value has.
    pub chars: usize,
    /// The first wrapped line shown.
    pub scroll: usize,
}

impl ValueView {
    /// The value of a row of the detail pane: a string as its text, anything else as JSON.
    pub fn of_row(path: &str, kind: &RowKind, value: Option<&Value>) -> ValueView {
        let raw = match (kind, value) {
            (RowKind::Scalar(Value::String(s)), _) => s.clone(),
            (RowKind::Scalar(v), _) => v.to_string(),
            (_, Some(v)) => serde_json::to_string_pretty(v).unwrap_or_default(),
            (_, None) => String::new(),
        };
        ValueView {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            chars: raw.chars().count(),
            text: raw
                .split('\n')
                .map(|l| crate::text::inert(l).into_owned())
                .collect(),
            scroll: 0,
        }
    }

    /// Moves by `delta` lines, within the `total` wrapped lines with `h` showing.
    pub fn scroll_by(&mut self, delta: isize, total: usize, h: usize) {
        let max = total.saturating_sub(h);
        self.scroll = self.scroll.saturating_add_signed(delta).min(max);
    }
}
