//! `details` kept as exact JSON text (API.md "Integrity": what is stored is what was sent, and
//! what is hashed).
//!
//! Why text and not a `serde_json::Value`: a plain `Value` holds numbers as `f64`/`u64`/`i64`,
//! so `123456789.123456789` came back as `123456789.1234568` and integers beyond 64 bits were
//! rounded; the stored text and the hashed bytes then drifted apart and `verify` failed for good.
//! serde_json's `arbitrary_precision` feature keeps the digits but still rewrites exponents
//! (`1E5` becomes `1e+5`), so it cannot make a `Value` the evidence: `details` is kept as text,
//! in one canonical spelling, and that text alone is stored, returned, exported and hashed.
//! The feature is on all the same (Cargo.toml), for what is only ever shown: the TUI's detail
//! pane draws a `Value` from [`Details::to_value`], and with it shows `123456789.123456789`,
//! not a neighbouring double. No `Value` of this program is serialised by anything but
//! serde_json (the feature would turn its numbers into maps there).
//!
//! The canonical spelling is the one the hash has always covered (API.md: sorted keys, no
//! whitespace): members sorted by key, strings escaped the way serde_json writes them, and —
//! the change — numbers exactly as the producer wrote them. Every row stored before this type
//! existed holds serde_json's compact, key-sorted output of a `Value`, which is already in this
//! spelling and is byte for byte what its hash covered; so old databases verify unchanged and
//! no migration is needed.

use serde::de::{Error as _, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt;

/// An entry's `details`: valid JSON text in the canonical spelling (see the module docs).
#[derive(Clone)]
pub struct Details(Box<RawValue>);

/// An object in the text names the same key twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// Where the key sits, relative to the text's root: `before.base_url`, `items[2].id`.
    pub path: String,
    pub key: String,
}

/// Why text could not become [`Details`].
#[derive(Debug)]
pub enum DetailsError {
    Json(serde_json::Error),
    Duplicate(DuplicateKey),
    /// More than [`MAX_DEPTH`] arrays and objects inside each other; the path where it crossed.
    TooDeep(String),
}

/// Arrays and objects inside each other, at most: serde_json's own limit for a `Value`. Text is
/// only ever checked for syntax by serde_json here, which has no depth limit of its own, so
/// this is what keeps a body of 16 MiB of `[` from overflowing the stack.
pub const MAX_DEPTH: usize = 128;

impl fmt::Display for DetailsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DetailsError::Json(e) => write!(f, "details is not valid JSON: {e}"),
            DetailsError::Duplicate(d) => {
                write!(f, "the key `{}` appears twice at {}", d.key, d.path)
            }
            DetailsError::TooDeep(_) => write!(
                f,
                "details is nested too deeply (the limit is {MAX_DEPTH} levels)"
            ),
        }
    }
}

impl std::error::Error for DetailsError {}

impl Details {
    /// Parses producer text (any spacing and member order), refusing duplicate keys.
    pub fn parse(text: &str) -> Result<Details, DetailsError> {
        let canonical = canonicalize(text)?;
        Ok(Details(
            RawValue::from_string(canonical).map_err(DetailsError::Json)?,
        ))
    }

    /// Text read back from a store that wrote it canonical: kept byte for byte (it is what the
    /// hash covers, so any change to it must show as a hash mismatch), only checked to be JSON
    /// so that a damaged row can never put broken JSON on the wire.
    pub fn from_stored(text: String) -> Result<Details, serde_json::Error> {
        RawValue::from_string(text).map(Details)
    }

    /// From a `Value` built in code (the server's own entries, the demo). serde_json writes a
    /// `Value` compact with sorted keys (no `preserve_order`), which is the canonical spelling.
    pub fn from_value(value: &Value) -> Details {
        Details(
            RawValue::from_string(value.to_string())
                .expect("serde_json writes valid JSON for every Value"),
        )
    }

    /// The canonical text: what is stored, returned and hashed.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// A parsed copy for display and navigation. Its numbers keep their digits, but an exponent
    /// is respelled (`1E5` as `1e+5`), so nothing that is stored, exported or hashed may come
    /// from it. Should it not parse, the whole text comes back as one string, never nothing.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.as_str()).unwrap_or_else(|_| Value::String(self.as_str().into()))
    }

    /// The length of the canonical text in bytes (the 256 KiB limit is on this).
    pub fn len(&self) -> usize {
        self.as_str().len()
    }

    /// Never true: the shortest JSON text is one byte.
    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }
}

impl From<Value> for Details {
    fn from(value: Value) -> Details {
        Details::from_value(&value)
    }
}

impl PartialEq for Details {
    fn eq(&self, other: &Details) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Details({})", self.as_str())
    }
}

impl fmt::Display for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Details {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Details {
    /// From any JSON (a page from the server, a pretty-printed export file): re-spelled
    /// canonically, numbers untouched, duplicate keys refused.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Details, D::Error> {
        let raw = <Box<RawValue>>::deserialize(d)?;
        Details::parse(raw.get()).map_err(D::Error::custom)
    }
}

/// Valid JSON text in the canonical spelling; refuses invalid JSON (serde_json's parser, its
/// limits included, decides) and any object that names a key twice.
pub fn canonicalize(text: &str) -> Result<String, DetailsError> {
    serde_json::from_str::<IgnoredAny>(text).map_err(DetailsError::Json)?;
    let mut s = Scan {
        b: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
    };
    let mut out = String::with_capacity(text.len());
    let mut path = String::new();
    s.value(&mut path, &mut out)?;
    Ok(out)
}

/// How deeply arrays and objects nest in JSON text (strings skipped), in one pass with no
/// recursion: for refusing a whole body before anything parses it into a tree.
pub fn nesting_depth(text: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &c in text {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A tokenizer over text serde_json has already accepted: it needs no error paths of its own,
/// only the duplicate check, and it runs in one pass (no re-parse per nesting level).
struct Scan<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while self
            .b
            .get(self.i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn peek(&self) -> u8 {
        self.b.get(self.i).copied().unwrap_or(0)
    }

    fn value(&mut self, path: &mut String, out: &mut String) -> Result<(), DetailsError> {
        self.ws();
        match self.peek() {
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(DetailsError::TooDeep(path.clone()));
                }
                let r = if self.peek() == b'{' {
                    self.object(path, out)
                } else {
                    self.array(path, out)
                };
                self.depth -= 1;
                r
            }
            b'"' => {
                let raw = self.raw_string();
                write_string(raw, out)
            }
            _ => {
                // A number or a literal: copied exactly as written.
                let start = self.i;
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
                {
                    self.i += 1;
                }
                out.push_str(&self.text[start..self.i]);
                Ok(())
            }
        }
    }

    fn object(&mut self, path: &mut String, out: &mut String) -> Result<(), DetailsError> {
        self.i += 1;
        let mut members: Vec<(String, String)> = Vec::new();
        loop {
            self.ws();
            if self.peek() == b'}' {
                self.i += 1;
                break;
            }
            let key = decode(self.raw_string())?;
            self.ws();
            self.i += 1; // ':'
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            let mut v = String::new();
            self.value(path, &mut v)?;
            path.truncate(len);
            members.push((key, v));
            self.ws();
            if self.peek() == b',' {
                self.i += 1;
            }
        }
        // Sorted as Rust sorts `String`s (by UTF-8 bytes): the order of serde_json's BTreeMap,
        // which every hash before this type was computed in.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = members.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(DetailsError::Duplicate(DuplicateKey {
                path: if path.is_empty() {
                    w[0].0.clone()
                } else {
                    format!("{path}.{}", w[0].0)
                },
                key: w[0].0.clone(),
            }));
        }
        out.push('{');
        for (n, (k, v)) in members.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            write_json_str(k, out);
            out.push(':');
            out.push_str(v);
        }
        out.push('}');
        Ok(())
    }

    fn array(&mut self, path: &mut String, out: &mut String) -> Result<(), DetailsError> {
        self.i += 1;
        out.push('[');
        let mut n = 0usize;
        loop {
            self.ws();
            if self.peek() == b']' {
                self.i += 1;
                break;
            }
            if n > 0 {
                out.push(',');
            }
            let len = path.len();
            path.push_str(&format!("[{n}]"));
            self.value(path, out)?;
            path.truncate(len);
            n += 1;
            self.ws();
            if self.peek() == b',' {
                self.i += 1;
            }
        }
        out.push(']');
        Ok(())
    }

    /// The string at the cursor, quotes included, as written.
    fn raw_string(&mut self) -> &'a str {
        let start = self.i;
        self.i += 1;
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => break,
                _ => {}
            }
        }
        &self.text[start..self.i.min(self.b.len())]
    }
}

/// A JSON string literal's value. serde_json's validation skips over `\u` escapes without
/// decoding them, so a lone surrogate is found only here.
fn decode(raw: &str) -> Result<String, DetailsError> {
    if !raw.contains('\\') {
        return Ok(raw[1..raw.len() - 1].to_string());
    }
    serde_json::from_str(raw).map_err(DetailsError::Json)
}

/// A string literal as serde_json writes it. Without a backslash the literal already is that:
/// valid JSON cannot hold a raw control character, and serde_json escapes nothing else.
fn write_string(raw: &str, out: &mut String) -> Result<(), DetailsError> {
    if raw.contains('\\') {
        write_json_str(&decode(raw)?, out);
    } else {
        out.push_str(raw);
    }
    Ok(())
}

fn write_json_str(s: &str, out: &mut String) {
    out.push_str(&serde_json::to_string(s).expect("a str always serialises"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(t: &str) -> String {
        canonicalize(t).unwrap()
    }

    #[test]
    fn numbers_keep_their_text() {
        for n in [
            "123456789.123456789",
            "2.2830935729092235e+113",
            "1E5",
            "1e-7",
            "-0",
            "1.50",
            "340282366920938463463374607431768211457",
            "-99999999999999999999999999.000000000000000001",
        ] {
            assert_eq!(canon(n), n);
            assert_eq!(canon(&format!("{{\"n\": {n}}}")), format!("{{\"n\":{n}}}"));
        }
    }

    #[test]
    fn sorts_members_and_drops_whitespace() {
        assert_eq!(
            canon(" { \"b\" : [ 1 , {\"z\":null,\"a\":true} ] ,\n\"a\":\"x\" } "),
            r#"{"a":"x","b":[1,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn strings_take_serde_jsons_escaping() {
        assert_eq!(canon(r#""\u00e9\/\u0001\n""#), "\"é/\\u0001\\n\"");
        assert_eq!(canon(r#"{"\u0062":1,"a":2}"#), r#"{"a":2,"b":1}"#);
    }

    #[test]
    fn agrees_with_serde_json_on_what_it_can_represent() {
        // What every row before this type stored: serde_json's own compact output.
        let v = serde_json::json!({"z": [1, -2, 2.5, 1e300, "\u{1b}[1m"], "a": {"y": null, "b": false}, "é": "ü"});
        assert_eq!(canon(&v.to_string()), v.to_string());
        assert_eq!(
            canon(&serde_json::to_string_pretty(&v).unwrap()),
            v.to_string()
        );
    }

    #[test]
    fn refuses_duplicate_keys_with_their_path() {
        let e = canonicalize(r#"{"a":{"b":[{"k":1,"k":2}]}}"#).unwrap_err();
        match e {
            DetailsError::Duplicate(d) => {
                assert_eq!(d.key, "k");
                assert_eq!(d.path, "a.b[0].k");
            }
            other => panic!("{other}"),
        }
        // The same key spelled two ways is still the same key.
        assert!(matches!(
            canonicalize(r#"{"a":1,"\u0061":2}"#),
            Err(DetailsError::Duplicate(_))
        ));
    }

    #[test]
    fn refuses_nesting_beyond_the_limit_without_overflowing_the_stack() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(canon(&ok), ok);
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(matches!(canonicalize(&deep), Err(DetailsError::TooDeep(_))));
        let huge = format!("{}{}", "[".repeat(1 << 20), "]".repeat(1 << 20));
        assert!(matches!(canonicalize(&huge), Err(DetailsError::TooDeep(_))));
    }

    #[test]
    fn measures_nesting_outside_strings() {
        assert_eq!(nesting_depth(br#"{"a":[1,{"b":"[[[{"}],"c":"\"]"}"#), 3);
        assert_eq!(nesting_depth(b"1"), 0);
    }

    #[test]
    fn refuses_what_is_not_json() {
        for t in ["", "{", "[1,]", "01", "1.", "\"\\ud800\"", "nul"] {
            assert!(
                matches!(canonicalize(t), Err(DetailsError::Json(_))),
                "{t:?}"
            );
        }
    }
}
