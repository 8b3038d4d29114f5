//! How complex one filter may be (API.md "Limits": query complexity).
//!
//! A filter is flat (no nesting: the language has no parentheses), so its cost is the number
//! of values it compares and the length of each. Every reader parses a filter through
//! [`Query::from_params`] or `str::parse::<Query>`, and both end in [`Query::check_limits`]:
//! the server answers a JSON 400 naming the limit before any SQL is built, and the TUI shows the
//! same sentence in place. The limits sit far above what a person types and well below what the
//! stores can compile (SQLite refuses an expression deeper than 1,000).

use super::query::Query;

/// Values one field may take, included and excluded counted apart (`action:a,b -action:c` is
/// two included and one excluded). `id` has its own, larger limit.
pub const MAX_FIELD_VALUES: usize = 100;
/// Entry ids one filter may name (`id:…`, the TUI's marked entries).
pub const MAX_IDS: usize = 1000;
/// Text terms (bare words, quoted phrases, `q:`): each is a substring search of its own.
pub const MAX_TEXT_TERMS: usize = 16;
/// Values in one whole filter, every field and text term together.
pub const MAX_VALUES: usize = 1000;
/// Bytes in any one value or text term.
pub const MAX_VALUE_BYTES: usize = 512;

/// A limit a filter is past, named as the docs name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    /// The field at fault (`action`, `-actor`, `q`), or `filter` for the whole.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Query {
    /// Checks the filter against the complexity limits above.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        let x = &self.exclude;
        let strings: [(&str, &[String], usize); 14] = [
            ("action", &self.actions, MAX_FIELD_VALUES),
            ("-action", &x.actions, MAX_FIELD_VALUES),
            ("actor", &self.actors, MAX_FIELD_VALUES),
            ("-actor", &x.actors, MAX_FIELD_VALUES),
            ("target", &self.targets, MAX_FIELD_VALUES),
            ("-target", &x.targets, MAX_FIELD_VALUES),
            ("target_type", &self.target_types, MAX_FIELD_VALUES),
            ("-target_type", &x.target_types, MAX_FIELD_VALUES),
            ("channel", &self.channels, MAX_FIELD_VALUES),
            ("-channel", &x.channels, MAX_FIELD_VALUES),
            ("ip", &self.ips, MAX_FIELD_VALUES),
            ("-ip", &x.ips, MAX_FIELD_VALUES),
            ("id", &self.ids, MAX_IDS),
            ("q", &self.text, MAX_TEXT_TERMS),
        ];
        let mut total = self.kinds.len() + self.outcomes.len() + x.kinds.len() + x.outcomes.len();
        for (field, values, max) in strings {
            if values.len() > max {
                let what = if field == "q" {
                    "text terms (words, phrases, q:)".to_string()
                } else {
                    format!("values for `{field}:`")
                };
                return Err(LimitError {
                    field: field.trim_start_matches('-').to_string(),
                    message: format!(
                        "the filter has {} {what}; at most {max} are allowed",
                        values.len()
                    ),
                });
            }
            if let Some(long) = values.iter().find(|v| v.len() > MAX_VALUE_BYTES) {
                return Err(LimitError {
                    field: field.trim_start_matches('-').to_string(),
                    message: format!(
                        "a value of `{field}:` is {} bytes long; at most {MAX_VALUE_BYTES} are allowed",
                        long.len()
                    ),
                });
            }
            total += values.len();
        }
        if total > MAX_VALUES {
            return Err(LimitError {
                field: "filter".into(),
                message: format!(
                    "the filter has {total} values in all; at most {MAX_VALUES} are allowed"
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_at_each_limit_passes_and_one_past_fails() {
        let n = |field: &str, count: usize| {
            (0..count)
                .map(|i| format!("{field}:v{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        for (field, max) in [("action", MAX_FIELD_VALUES), ("-actor", MAX_FIELD_VALUES)] {
            assert!(n(field, max).parse::<Query>().is_ok(), "{field} at {max}");
            let e = n(field, max + 1).parse::<Query>().unwrap_err();
            assert!(
                e.message.contains(&format!("at most {max}")),
                "{}",
                e.message
            );
        }
        let words = |count: usize| vec!["word"; count].join(" ");
        assert!(words(MAX_TEXT_TERMS).parse::<Query>().is_ok());
        let e = words(MAX_TEXT_TERMS + 1).parse::<Query>().unwrap_err();
        assert!(e.message.contains("text terms"), "{}", e.message);
        let long = format!("action:{}", "a".repeat(MAX_VALUE_BYTES + 1));
        let e = long.parse::<Query>().unwrap_err();
        assert!(e.message.contains("bytes long"), "{}", e.message);
        // Ten fields of 100 values each: under every field's limit, past the whole's.
        let all = [
            "action",
            "actor",
            "target",
            "target_type",
            "channel",
            "ip",
            "-action",
            "-actor",
            "-target",
            "-channel",
        ]
        .iter()
        .map(|f| n(f, MAX_FIELD_VALUES))
        .collect::<Vec<_>>()
        .join(" ");
        let e = format!("{all} kind:read").parse::<Query>().unwrap_err();
        assert!(e.message.contains("1001 values in all"), "{}", e.message);
        // Ids have their own limit, far above the others.
        let ids = (0..MAX_IDS).map(|i| format!("e{i}")).collect::<Vec<_>>();
        assert!(format!("id:{}", ids.join(",")).parse::<Query>().is_ok());
    }
}
