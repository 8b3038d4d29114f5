//! The query language: one line that says a whole filter (API.md "The query language").
//!
//! `action:ticket.* actor:alice@example.com kind:deleted since:7d "printer on fire"`:
//! `field:value` terms (a repeated field is OR), bare words and quoted phrases are text.

use super::event::{Kind, Outcome};
use super::query::Query;
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

const FIELDS: &str =
    "action, actor, target, target_type, channel, kind, outcome, from, to, since, q";

/// One whitespace-separated term: its span, the field before `:` if any, and the unquoted value.
struct Term {
    offset: usize,
    len: usize,
    field: Option<String>,
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
        // A field name is [a-z_]+ followed by ':'.
        let mut j = i;
        while j < bytes.len() && (bytes[j].is_ascii_lowercase() || bytes[j] == b'_') {
            j += 1;
        }
        let field = if j > i && j < bytes.len() && bytes[j] == b':' {
            let f = input[i..j].to_string();
            i = j + 1;
            Some(f)
        } else {
            None
        };
        let value;
        if i < bytes.len() && bytes[i] == b'"' {
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

    fn from_str(input: &str) -> Result<Query, QueryParseError> {
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
            let v = term.value;
            match field.as_str() {
                "action" => q.actions.push(v),
                "actor" => q.actors.push(v),
                "target" => q.targets.push(v),
                "target_type" => q.target_types.push(v),
                "channel" => q.channels.push(v),
                "q" => q.text.push(v),
                "kind" => q.kinds.push(Kind::parse(&v).ok_or_else(|| {
                    fail(format!(
                        "`{}`: kind is one of created, updated, deleted, read, other",
                        snippet(text)
                    ))
                })?),
                "outcome" => q.outcomes.push(Outcome::parse(&v).ok_or_else(|| {
                    fail(format!(
                        "`{}`: outcome is success or failure",
                        snippet(text)
                    ))
                })?),
                "from" | "to" | "since" => {
                    let t = TimeBound::parse(&v).ok_or_else(|| {
                        fail(format!("`{}` is not a time: use 2026-11-21, 2026-11-21T09:14Z, today, yesterday, or an age such as 2h, 7d", snippet(text)))
                    })?;
                    if field == "to" {
                        q.to = Some(t)
                    } else {
                        q.from = Some(t)
                    }
                }
                other => {
                    return Err(fail(format!(
                        "unknown field `{}` in `{}`; the fields are {FIELDS} (quote the term to search for it as text)",
                        snippet(other),
                        snippet(text)
                    )));
                }
            }
        }
        Ok(q)
    }
}

/// Writes a value bare when it reads back as itself, quoted otherwise.
fn write_value(f: &mut fmt::Formatter<'_>, v: &str, is_text: bool) -> fmt::Result {
    let needs_quotes = v.is_empty()
        || v.starts_with('"')
        || v.chars()
            .any(|c| c.is_whitespace() || c == '\\' || (c == '"' && is_text))
        || (is_text && v.contains(':'));
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
        let lists: [(&str, &Vec<String>); 5] = [
            ("action", &self.actions),
            ("actor", &self.actors),
            ("target", &self.targets),
            ("target_type", &self.target_types),
            ("channel", &self.channels),
        ];
        for (name, values) in lists {
            for v in values {
                sep(f)?;
                write!(f, "{name}:")?;
                write_value(f, v, false)?;
            }
        }
        for k in &self.kinds {
            sep(f)?;
            write!(f, "kind:{k}")?;
        }
        for o in &self.outcomes {
            sep(f)?;
            write!(f, "outcome:{o}")?;
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
    fn formats_back() {
        let s = r#"action:"a b" actor:x kind:read since:2h "c:d" plain"#;
        let q: Query = s.parse().unwrap();
        assert_eq!(q.to_string(), s);
    }
}
