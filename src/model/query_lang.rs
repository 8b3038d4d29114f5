//! The query language: one line that says a whole filter (API.md "The query language").
//!
//! `action:ticket.* actor:alice@example.com kind:deleted since:7d "printer on fire"`:
//! `field:value` terms (a repeated field is OR, and so is `field:a,b`), `-field:value` excludes,
//! bare words and quoted phrases are text.

use super::event::{Kind, Outcome};
use super::query::{Around, Query};
use super::time::TimeBound;
use std::fmt;
use std::str::FromStr;

/// A filter line that does not parse, with the byte span of the offending term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryParseError {
    pub message: String,
    /// Byte offset of the bad term in the input.
    pub offset: usize,
    /// Byte length of the bad term.
    pub len: usize,
}

const FIELDS: &str = "action, actor, target, target_type, channel, kind, outcome, ip, id, from, to, since, around, q";

/// Every field of the language and what it takes, for the TUI's help.
pub const FIELD_HELP: [(&str, &str); 14] = [
    ("action:", "the action; `ticket.*` is a prefix"),
    ("actor:", "the actor's id, email or name (any case)"),
    ("target:", "`type/id` or a bare target id"),
    ("target_type:", "the target's type"),
    ("channel:", "where it came from (auth, admin, …)"),
    ("kind:", "created, updated, deleted, read, other"),
    ("outcome:", "success or failure"),
    ("ip:", "the actor's IP address"),
    ("id:", "an entry's id (' shows the marked ones)"),
    ("since:", "an age: 15m, 2h, 7d, 4w"),
    (
        "from: to:",
        "2026-11-21, 2026-11-21T09:14Z, today, yesterday",
    ),
    ("around:", "±15 min of an instant; around:T/2h for ±2 h"),
    ("q: or words", "text in description, action, actor, target"),
    ("\"a phrase\"", "text with spaces, quoted"),
];

/// How terms combine, for the TUI's help.
pub const OPERATOR_HELP: [(&str, &str); 3] = [
    ("field:a field:b", "either (also field:a,b)"),
    ("-field:value", "excludes the value"),
    ("term term", "both: different fields and words AND"),
];

/// One whitespace-separated term: its span, the field before `:` if any (with `-` before it
/// when negated), and the unquoted value.
struct Term {
    offset: usize,
    len: usize,
    field: Option<String>,
    negated: bool,
    quoted: bool,
    value: String,
}

fn lex(input: &str) -> Result<Vec<Term>, QueryParseError> {
    let bytes = input.as_bytes();
    let mut terms = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(c) = input[i..].chars().next().filter(|c| c.is_whitespace()) {
            i += c.len_utf8();
            continue;
        }
        let start = i;
        // A field name is [a-z_]+ followed by ':', with a '-' before it to exclude.
        let negated = bytes[i] == b'-';
        let name_start = if negated { i + 1 } else { i };
        let mut j = name_start;
        while j < bytes.len() && (bytes[j].is_ascii_lowercase() || bytes[j] == b'_') {
            j += 1;
        }
        let field = if j > name_start && j < bytes.len() && bytes[j] == b':' {
            let f = input[name_start..j].to_string();
            i = j + 1;
            Some(f)
        } else {
            None
        };
        let negated = negated && field.is_some();
        let value;
        let is_quoted = i < bytes.len() && bytes[i] == b'"';
        if is_quoted {
            let (v, end) = quoted(input, i).ok_or_else(|| QueryParseError {
                message: format!(
                    "the quote opened at `{}` is never closed",
                    snippet(&input[start..])
                ),
                offset: start,
                len: input.len() - start,
            })?;
            value = v;
            i = end;
            if input[i..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace())
            {
                let end = input[i..]
                    .find(char::is_whitespace)
                    .map_or(input.len(), |n| i + n);
                return Err(QueryParseError {
                    message: format!(
                        "put a space after the closing quote in `{}`",
                        snippet(&input[start..end])
                    ),
                    offset: start,
                    len: end - start,
                });
            }
        } else {
            let end = input[i..]
                .find(char::is_whitespace)
                .map_or(input.len(), |n| i + n);
            value = input[i..end].to_string();
            i = end;
        }
        terms.push(Term {
            offset: start,
            len: i - start,
            field,
            negated,
            quoted: is_quoted,
            value,
        });
    }
    Ok(terms)
}

/// Reads a `"…"` string starting at `start`; returns the unescaped text and the index after it.
fn quoted(input: &str, start: usize) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = input[start + 1..].char_indices();
    while let Some((n, c)) = chars.next() {
        match c {
            '"' => return Some((out, start + 1 + n + 1)),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

fn snippet(s: &str) -> String {
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

impl FromStr for Query {
    type Err = QueryParseError;

    /// Parses a filter line and checks it against the complexity limits.
    fn from_str(input: &str) -> Result<Query, QueryParseError> {
        let q = Query::parse_terms(input)?;
        q.check_limits().map_err(|e| QueryParseError {
            message: e.message,
            offset: 0,
            len: input.len(),
        })?;
        Ok(q)
    }
}

impl Query {
    /// Parses a filter line without the limits: the routes merge it with their other
    /// parameters and check the whole (a limit is a 400 there, a bad term a 422).
    pub(super) fn parse_terms(input: &str) -> Result<Query, QueryParseError> {
        let mut q = Query::default();
        for term in lex(input)? {
            let text = &input[term.offset..term.offset + term.len];
            let fail = |message: String| QueryParseError {
                message,
                offset: term.offset,
                len: term.len,
            };
            let Some(field) = term.field else {
                q.text.push(term.value);
                continue;
            };
            if term.value.is_empty() {
                return Err(fail(format!(
                    "`{}` has no value after the colon",
                    snippet(text)
                )));
            }
            // `field:a,b` is `field:a field:b`; a quoted value is one value, commas and all.
            let values: Vec<String> = if term.quoted || !is_list(&field) {
                vec![term.value]
            } else {
                let parts: Vec<String> = term.value.split(',').map(str::to_string).collect();
                if parts.iter().any(String::is_empty) {
                    return Err(fail(format!(
                        "`{}` has an empty value between commas",
                        snippet(text)
                    )));
                }
                parts
            };
            if term.negated && (!is_list(&field) || field == "id") {
                return Err(fail(format!(
                    "`{}`: only these fields can be excluded with `-`: action, actor, target, target_type, channel, kind, outcome, ip",
                    snippet(text)
                )));
            }
            for v in values {
                q.add_term(&field, term.negated, v, text).map_err(&fail)?;
            }
        }
        Ok(q)
    }

    /// Adds one value of the term `text` (`-field:v` when `neg`), or says what is wrong with it.
    fn add_term(&mut self, field: &str, neg: bool, v: String, text: &str) -> Result<(), String> {
        let kind = |v: &str| {
            Kind::parse(v).ok_or_else(|| {
                format!(
                    "`{}`: kind is one of created, updated, deleted, read, other",
                    snippet(text)
                )
            })
        };
        let outcome = |v: &str| {
            Outcome::parse(v)
                .ok_or_else(|| format!("`{}`: outcome is success or failure", snippet(text)))
        };
        let x = &mut self.exclude;
        match (field, neg) {
            ("action", false) => self.actions.push(v),
            ("action", true) => x.actions.push(v),
            ("actor", false) => self.actors.push(v),
            ("actor", true) => x.actors.push(v),
            ("target", false) => self.targets.push(v),
            ("target", true) => x.targets.push(v),
            ("target_type", false) => self.target_types.push(v),
            ("target_type", true) => x.target_types.push(v),
            ("channel", false) => self.channels.push(v),
            ("channel", true) => x.channels.push(v),
            ("ip", false) => self.ips.push(v),
            ("ip", true) => x.ips.push(v),
            ("kind", false) => self.kinds.push(kind(&v)?),
            ("kind", true) => x.kinds.push(kind(&v)?),
            ("outcome", false) => self.outcomes.push(outcome(&v)?),
            ("outcome", true) => x.outcomes.push(outcome(&v)?),
            ("id", false) => self.ids.push(v),
            ("q", _) => self.text.push(v),
            ("from" | "to" | "since", _) => {
                let t = TimeBound::parse(&v).ok_or_else(|| {
                    format!("`{}` is not a time: use 2026-11-21, 2026-11-21T09:14Z, today, yesterday, or an age such as 2h, 7d", snippet(text))
                })?;
                if field == "to" {
                    self.to = Some(t)
                } else {
                    self.from = Some(t)
                }
            }
            ("around", _) => {
                self.around = Some(Around::parse(&v).ok_or_else(|| {
                    format!("`{}`: around takes an instant and an optional width either side, such as around:2026-11-21T09:14Z or around:2026-11-21T09:14Z/2h", snippet(text))
                })?)
            }
            (other, _) => {
                return Err(format!(
                    "unknown field `{}` in `{}`; the fields are {FIELDS} (quote the term to search for it as text)",
                    snippet(other),
                    snippet(text)
                ));
            }
        }
        Ok(())
    }
}

/// The fields that take a list of values (`field:a,b`) and can be excluded (`-field:v`).
fn is_list(field: &str) -> bool {
    matches!(
        field,
        "action"
            | "actor"
            | "target"
            | "target_type"
            | "channel"
            | "kind"
            | "outcome"
            | "ip"
            | "id"
    )
}

/// Writes a value bare when it reads back as itself, quoted otherwise.
fn write_value(f: &mut fmt::Formatter<'_>, v: &str, is_text: bool) -> fmt::Result {
    let needs_quotes = v.is_empty()
        || v.starts_with('"')
        || v.chars()
            .any(|c| c.is_whitespace() || c == '\\' || (c == '"' && is_text))
        || (is_text && (v.contains(':') || v.starts_with('-')))
        || (!is_text && v.contains(','));
    if !needs_quotes {
        return f.write_str(v);
    }
    f.write_str("\"")?;
    for c in v.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for Query {
    /// Formats the filter so that parsing it back gives the same filter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if !std::mem::take(&mut first) {
                f.write_str(" ")?;
            }
            Ok(())
        };
        let x = &self.exclude;
        let lists: [(&str, &Vec<String>); 13] = [
            ("action", &self.actions),
            ("-action", &x.actions),
            ("actor", &self.actors),
            ("-actor", &x.actors),
            ("target", &self.targets),
            ("-target", &x.targets),
            ("target_type", &self.target_types),
            ("-target_type", &x.target_types),
            ("channel", &self.channels),
            ("-channel", &x.channels),
            ("ip", &self.ips),
            ("-ip", &x.ips),
            ("id", &self.ids),
        ];
        for (name, values) in lists {
            for v in values {
                sep(f)?;
                write!(f, "{name}:")?;
                write_value(f, v, false)?;
            }
        }
        for (name, kinds) in [("kind", &self.kinds), ("-kind", &x.kinds)] {
            for k in kinds {
                sep(f)?;
                write!(f, "{name}:{k}")?;
            }
        }
        for (name, outcomes) in [("outcome", &self.outcomes), ("-outcome", &x.outcomes)] {
            for o in outcomes {
                sep(f)?;
                write!(f, "{name}:{o}")?;
            }
        }
        if let Some(from) = &self.from {
            sep(f)?;
            match from {
                TimeBound::Ago { .. } => write!(f, "since:{from}")?,
                _ => write!(f, "from:{from}")?,
            }
        }
        if let Some(to) = &self.to {
            sep(f)?;
            write!(f, "to:{to}")?;
        }
        if let Some(a) = &self.around {
            sep(f)?;
            write!(f, "around:{a}")?;
        }
        for t in &self.text {
            sep(f)?;
            write_value(f, t, true)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_example_of_api_md() {
        let q: Query = r#"action:ticket.* actor:alice@example.com target:ticket/142 channel:auth kind:deleted outcome:failure from:2026-11-01 to:2026-11-21 since:7d "printer on fire""#.parse().unwrap();
        assert_eq!(q.actions, ["ticket.*"]);
        assert_eq!(q.kinds, [Kind::Deleted]);
        assert_eq!(
            q.from,
            Some(TimeBound::Ago {
                amount: 7,
                unit: 'd'
            })
        );
        assert_eq!(q.text, ["printer on fire"]);
        assert_eq!(q.to.unwrap().to_string(), "2026-11-21");
    }

    #[test]
    fn errors_name_the_bad_term() {
        let e = "action:a colour:red".parse::<Query>().unwrap_err();
        assert!(
            e.message.contains("unknown field `colour`"),
            "{}",
            e.message
        );
        assert_eq!((e.offset, e.len), (9, 10));
        let e = "since:lastweek".parse::<Query>().unwrap_err();
        assert!(e.message.contains("since:lastweek"));
        assert!("\"open".parse::<Query>().is_err());
        assert!("kind:made".parse::<Query>().is_err());
    }

    #[test]
    fn excludes_lists_ips_and_around() {
        let q: Query = "-channel:writeback channel:auth,admin ip:198.51.100.77 -kind:read around:2026-11-21T09:14Z/2h"
            .parse()
            .unwrap();
        assert_eq!(q.exclude.channels, ["writeback"]);
        assert_eq!(q.channels, ["auth", "admin"]);
        assert_eq!(q.ips, ["198.51.100.77"]);
        assert_eq!(q.exclude.kinds, [Kind::Read]);
        let a = q.around.unwrap();
        assert_eq!((a.amount, a.unit), (2, 'h'));
        assert!(q.text.is_empty());
        let back: Query = q.to_string().parse().unwrap();
        assert_eq!(back, q);
        // A quoted value keeps its comma; a bare `-word` is still text.
        let q: Query = r#"action:"a,b" -word"#.parse().unwrap();
        assert_eq!(q.actions, ["a,b"]);
        assert_eq!(q.text, ["-word"]);
        assert!("channel:a,,b".parse::<Query>().is_err());
        assert!("-since:2h".parse::<Query>().is_err());
        assert!("around:yesterday".parse::<Query>().is_err());
    }

    #[test]
    fn formats_back() {
        let s = r#"action:"a b" actor:x kind:read since:2h "c:d" plain"#;
        let q: Query = s.parse().unwrap();
        assert_eq!(q.to_string(), s);
    }
}
