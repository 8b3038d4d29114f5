//! Finding the records in a source file, whatever its layout: one JSON record a line (the
//! Kubernetes log backend, CloudTrail as shipped by most collectors, GitHub's streaming), one
//! JSON document (CloudTrail's `{"Records":[…]}`, GitHub's JSON export, an array, pretty-printed
//! records), or GitHub's CSV export. Each record's text is handed on as it is; memory is one
//! record (at most [`MAX_RECORD`] bytes), whatever the file's size.

use super::{MAX_RECORD, SourceFormat, Unmapped};
use crate::export::read::{Bytes, LoadError};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::io::{BufRead, Read};

/// What the scanner hands on: the record's 1-based line, its text (or why there is none), the
/// bytes read so far; false from it stops the read.
pub(super) type OnRecord<'a> = dyn FnMut(u64, Result<&str, Unmapped>, u64) -> bool + 'a;

/// serde_json's message without its own "at line 1 column 7" (our position is the file's).
pub(super) fn serde_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn load_err(line: Option<u64>, byte: u64, message: impl Into<String>) -> LoadError {
    LoadError {
        line,
        byte,
        message: message.into(),
    }
}

/// Reads up to and including the next `\n`, keeping at most `cap` bytes in `buf`; returns the
/// bytes consumed (0 at the end) and whether the line was longer than `cap`.
fn read_line_capped(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<(usize, bool)> {
    let (mut read, mut over) = (0usize, false);
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok((read, over));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        if take > room {
            over = true;
        }
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        read += take;
        if done {
            return Ok((read, over));
        }
    }
}

/// The record's text for a message: valid UTF-8 (invalid bytes replaced), without the line end.
fn lossy(bytes: &[u8]) -> String {
    let t = String::from_utf8_lossy(bytes);
    t.trim_end_matches(['\n', '\r']).to_string()
}

/// Hands on the records of `r`; `Ok(Some(_))` when the file could not be followed to its end.
pub(super) fn records(
    mut r: impl BufRead,
    format: SourceFormat,
    f: &mut OnRecord<'_>,
) -> std::io::Result<Option<LoadError>> {
    // The first line says the layout; it is read whole (capped) and put back in front.
    let mut first = Vec::new();
    let (n, over) = read_line_capped(&mut r, &mut first, MAX_RECORD)?;
    if n == 0 {
        return Ok(None);
    }
    let body = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&first);
    let trimmed = body.trim_ascii();
    let lead = trimmed.first().copied();
    let whole = || !over && serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok();
    let skip = first.len() - body.len();
    let rest = std::io::Cursor::new(first[skip..].to_vec()).chain(r);
    let rest = std::io::BufReader::with_capacity(1 << 16, rest);
    let bom = skip as u64;
    match lead {
        Some(b'{' | b'[') if trimmed.is_empty() || whole() => lines(rest, format, f, bom),
        Some(b'{' | b'[') => document(rest, f, bom),
        _ if format == SourceFormat::GitHub => csv(rest, f, bom),
        _ => lines(rest, format, f, bom),
    }
}

/// The records of a CloudTrail log file, as text.
#[derive(Deserialize)]
struct RecordsDoc<'a> {
    #[serde(borrow, rename = "Records")]
    records: Vec<&'a RawValue>,
}

/// One record (or, for a line that holds a `Records` document or an array, several) a line.
fn lines(
    mut r: impl BufRead,
    format: SourceFormat,
    f: &mut OnRecord<'_>,
    mut bytes: u64,
) -> std::io::Result<Option<LoadError>> {
    let mut buf = Vec::with_capacity(4096);
    let mut line = 0u64;
    loop {
        buf.clear();
        let (n, over) = read_line_capped(&mut r, &mut buf, MAX_RECORD)?;
        if n == 0 {
            return Ok(None);
        }
        line += 1;
        bytes += n as u64;
        if over {
            let go = f(
                line,
                Err(Unmapped {
                    reason: format!("the line is longer than {} MiB", MAX_RECORD >> 20),
                    text: lossy(&buf[..buf.len().min(1024)]),
                }),
                bytes,
            );
            if !go {
                return Ok(None);
            }
            continue;
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            if !f(
                line,
                Err(Unmapped {
                    reason: "the line is not valid UTF-8".into(),
                    text: lossy(&buf),
                }),
                bytes,
            ) {
                return Ok(None);
            }
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        // Several records on one line: a CloudTrail file's document, or a JSON array.
        let many: Option<Vec<&RawValue>> = if text.starts_with('[') {
            serde_json::from_str(text).ok()
        } else if format == SourceFormat::CloudTrail && text.contains("\"Records\"") {
            serde_json::from_str::<RecordsDoc<'_>>(text)
                .ok()
                .map(|d| d.records)
        } else {
            None
        };
        match many {
            Some(records) => {
                for rec in records {
                    if !f(line, Ok(rec.get()), bytes) {
                        return Ok(None);
                    }
                }
            }
            None => {
                if !f(line, Ok(text), bytes) {
                    return Ok(None);
                }
            }
        }
    }
}

/// How reading one JSON value ended.
enum End {
    /// The value is complete (perhaps longer than the cap: then only its start is kept).
    Whole { over: bool },
    /// The file ended inside it.
    Eof,
}

// The byte reader is `export::read`'s; this adds the capped copy of one record.
impl<R: BufRead> Bytes<R> {
    /// Copies one JSON value into `buf` (at most [`MAX_RECORD`] bytes of it), starting
    /// `depth` levels deep (1 when its opening `{` is already in `buf`).
    fn record_value(&mut self, buf: &mut Vec<u8>, mut depth: usize) -> std::io::Result<End> {
        let (mut in_str, mut esc, mut over) = (false, false, false);
        let started = depth > 0;
        loop {
            let Some(b) = self.peek()? else {
                return Ok(End::Eof);
            };
            if !in_str
                && depth == 0
                && (started || !buf.is_empty())
                && matches!(b, b',' | b']' | b'}')
            {
                return Ok(End::Whole { over });
            }
            if !in_str && depth == 0 && b.is_ascii_whitespace() && !buf.is_empty() {
                return Ok(End::Whole { over });
            }
            self.next()?;
            if buf.len() < MAX_RECORD {
                buf.push(b);
            } else {
                over = true;
            }
            if in_str {
                match (esc, b) {
                    (true, _) => esc = false,
                    (false, b'\\') => esc = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
                if !in_str && depth == 0 {
                    return Ok(End::Whole { over });
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(End::Whole { over });
                    }
                }
                _ => {}
            }
        }
    }
}

/// JSON documents: arrays of records, `{"Records":[…]}`, or records spread over lines.
fn document(r: impl BufRead, f: &mut OnRecord<'_>, bom: u64) -> std::io::Result<Option<LoadError>> {
    let mut b = Bytes {
        r,
        pos: bom,
        line: 1,
    };
    let mut buf = Vec::with_capacity(4096);
    loop {
        let at = b.pos;
        match b.skip_ws()? {
            None => return Ok(None),
            Some(b'[') => {
                b.next()?;
                if let Some(e) = array(&mut b, &mut buf, f, "the array")? {
                    return Ok(e);
                }
            }
            Some(b'{') => {
                let line = b.line;
                b.next()?;
                buf.clear();
                buf.push(b'{');
                // `{"Records": [` opens a CloudTrail file: its records are the array's.
                if b.skip_ws()? == Some(b'"') {
                    let key_at = buf.len();
                    if let End::Eof = b.record_value(&mut buf, 0)? {
                        return Ok(Some(truncated(&b, line, "inside a record")));
                    }
                    if &buf[key_at..] == b"\"Records\"" && b.skip_ws()? == Some(b':') {
                        b.next()?;
                        if b.skip_ws()? != Some(b'[') {
                            return Ok(Some(load_err(
                                Some(b.line),
                                b.pos,
                                "\"Records\" is not a list",
                            )));
                        }
                        b.next()?;
                        if let Some(e) = array(&mut b, &mut buf, f, "the Records list")? {
                            return Ok(e);
                        }
                        // The members after the list (none in CloudTrail's files) are skipped.
                        let mut rest = Vec::new();
                        if let End::Eof = b.record_value(&mut rest, 1)? {
                            return Ok(Some(truncated(
                                &b,
                                line,
                                "before the document's closing `}`",
                            )));
                        }
                        continue;
                    }
                }
                match b.record_value(&mut buf, 1)? {
                    End::Eof => return Ok(Some(truncated(&b, line, "inside a record"))),
                    End::Whole { over } => {
                        if !hand(&buf, over, line, b.pos, f) {
                            return Ok(None);
                        }
                    }
                }
            }
            Some(_) => {
                return Ok(Some(load_err(
                    Some(b.line),
                    at.max(b.pos),
                    "expected a JSON object or array here",
                )));
            }
        }
    }
}

fn truncated<R: BufRead>(b: &Bytes<R>, line: u64, what: &str) -> LoadError {
    load_err(
        Some(line),
        b.pos,
        format!("the file ends {what} (truncated?)"),
    )
}

/// One record's text to the sink; false when it asked to stop.
fn hand(buf: &[u8], over: bool, line: u64, bytes: u64, f: &mut OnRecord<'_>) -> bool {
    if over {
        return f(
            line,
            Err(Unmapped {
                reason: format!("the record is larger than {} MiB", MAX_RECORD >> 20),
                text: lossy(&buf[..buf.len().min(1024)]),
            }),
            bytes,
        );
    }
    match std::str::from_utf8(buf) {
        Ok(t) => f(line, Ok(t), bytes),
        Err(_) => f(
            line,
            Err(Unmapped {
                reason: "the record is not valid UTF-8".into(),
                text: lossy(buf),
            }),
            bytes,
        ),
    }
}

/// The elements of an array whose `[` was read; `Some(_)` ends the read (an error, or the sink
/// stopped it: `Some(None)`).
fn array<R: BufRead>(
    b: &mut Bytes<R>,
    buf: &mut Vec<u8>,
    f: &mut OnRecord<'_>,
    what: &str,
) -> std::io::Result<Option<Option<LoadError>>> {
    let mut n = 0u64;
    loop {
        match b.skip_ws()? {
            None => {
                return Ok(Some(Some(load_err(
                    Some(b.line),
                    b.pos,
                    format!("the file ends inside {what} (truncated?)"),
                ))));
            }
            Some(b']') => {
                b.next()?;
                return Ok(None);
            }
            Some(b',') if n > 0 => {
                b.next()?;
                continue;
            }
            Some(_) => {}
        }
        buf.clear();
        let line = b.line;
        n += 1;
        match b.record_value(buf, 0)? {
            End::Eof => {
                return Ok(Some(Some(load_err(
                    Some(line),
                    b.pos,
                    format!("the file ends inside record {n} of {what} (truncated?)"),
                ))));
            }
            End::Whole { over } => {
                if !hand(buf, over, line, b.pos, f) {
                    return Ok(Some(None));
                }
            }
        }
    }
}

/// GitHub's CSV export: a header row naming the fields (`@timestamp`, `action`, `actor`, …,
/// nested ones dotted: `actor_location.country_code`), one event a row. Each row becomes a
/// JSON object of its cells, column name to text, which is what the mapping reads and what
/// `details` keeps.
fn csv(r: impl Read, f: &mut OnRecord<'_>, bom: u64) -> std::io::Result<Option<LoadError>> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(r);
    let mut rec = csv::ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
    loop {
        let before = csv.position().clone();
        match csv.read_byte_record(&mut rec) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(std::io::Error::other(e.to_string()));
                }
                return Ok(Some(load_err(
                    Some(before.line()),
                    before.byte() + bom,
                    e.to_string(),
                )));
            }
        }
        let bytes = csv.position().byte() + bom;
        let Some(names) = &header else {
            header = Some(
                rec.iter()
                    .map(|c| String::from_utf8_lossy(c).trim().to_string())
                    .collect(),
            );
            continue;
        };
        let line = before.line();
        let mut row = Map::new();
        let mut bad = false;
        for (i, cell) in rec.iter().enumerate() {
            let name = names
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("column_{}", i + 1));
            let text = match std::str::from_utf8(cell) {
                Ok(t) => t.to_string(),
                Err(_) => {
                    bad = true;
                    String::from_utf8_lossy(cell).into_owned()
                }
            };
            row.insert(name, Value::String(text));
        }
        let text = Value::Object(row).to_string();
        let item = if bad {
            Err(Unmapped {
                reason: "the row is not valid UTF-8".into(),
                text,
            })
        } else if rec.len() != names.len() {
            Err(Unmapped {
                reason: format!(
                    "the row has {} fields, the header {}",
                    rec.len(),
                    names.len()
                ),
                text,
            })
        } else {
            Ok(text)
        };
        let go = match &item {
            Ok(t) => f(line, Ok(t), bytes),
            Err(u) => f(line, Err(u.clone()), bytes),
        };
        if !go {
            return Ok(None);
        }
    }
}
