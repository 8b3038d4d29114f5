//! Reading trailscope's own export files (CSV, JSON, NDJSON) back into entries, streamed in
//! batches: a file of any size costs one batch of memory. A malformed record stops the read
//! with an error naming its line (or, in the one-line JSON export, its byte offset); what came
//! before it has already been handed out.

mod csv;

use crate::model::Entry;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Entries handed out per batch after the first.
pub const BATCH: usize = 5000;
/// The first batch is small so the first page can be drawn at once.
pub const FIRST_BATCH: usize = 500;

/// The three formats `trailscope export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Json,
    Ndjson,
}

impl FileFormat {
    /// The name users know the format by.
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "CSV",
            FileFormat::Json => "JSON",
            FileFormat::Ndjson => "NDJSON",
        }
    }
}

/// Where and why a file could not be read further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", place(.line, .byte))]
pub struct LoadError {
    /// 1-based line, where lines mean something (CSV, NDJSON).
    pub line: Option<u64>,
    /// 0-based byte offset of the bad record.
    pub byte: u64,
    pub message: String,
}

/// `line 7 (byte 812): ` or, where lines mean nothing, `byte 812: `.
fn place(line: &Option<u64>, byte: &u64) -> String {
    match line {
        Some(l) => format!("line {l} (byte {byte}): "),
        None => format!("byte {byte}: "),
    }
}

pub(super) fn err(line: Option<u64>, byte: u64, message: impl Into<String>) -> LoadError {
    LoadError {
        line,
        byte,
        message: message.into(),
    }
}

/// What a read ended with: how many entries were handed out, and the error that stopped it.
#[derive(Debug)]
pub struct Loaded {
    pub entries: u64,
    pub error: Option<LoadError>,
}

/// Says which of trailscope's export formats `head` (the file's first bytes) is in.
pub fn detect(head: &[u8]) -> Result<FileFormat, LoadError> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or_else(|| err(Some(1), 0, "the file is empty"))?;
    let rest = &head[start..];
    if rest.starts_with(b"id,seq,") {
        return Ok(FileFormat::Csv);
    }
    if rest.starts_with(b"{") {
        // The JSON export is one object whose first key is exported_at; an NDJSON line is an entry.
        let key = rest[1..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|i| &rest[1 + i..]);
        if key.is_some_and(|k| {
            k.starts_with(b"\"exported_at\"")
                || k.starts_with(b"\"filters\"")
                || k.starts_with(b"\"entries\"")
        }) {
            return Ok(FileFormat::Json);
        }
        return Ok(FileFormat::Ndjson);
    }
    Err(err(
        Some(1),
        start as u64,
        "this is not a trailscope export: expected a CSV header (id,seq,…), a JSON export or NDJSON entries",
    ))
}

/// Reads `path` in `format`, handing batches to `sink` with the bytes read so far; `sink`
/// returns false to stop. Only an unreadable file is an `Err`; a malformed record ends the
/// read with [`Loaded::error`].
pub fn read_file(
    path: &Path,
    format: FileFormat,
    sink: &mut dyn FnMut(Vec<Entry>, u64) -> bool,
) -> std::io::Result<Loaded> {
    let file = std::fs::File::open(path)?;
    read_from(BufReader::with_capacity(1 << 20, file), format, sink)
}

/// [`read_file`] over any reader (standard input, a decompressed file).
pub fn read_from(
    reader: impl BufRead,
    format: FileFormat,
    sink: &mut dyn FnMut(Vec<Entry>, u64) -> bool,
) -> std::io::Result<Loaded> {
    let mut batcher = Batcher {
        batch: Vec::with_capacity(FIRST_BATCH),
        want: FIRST_BATCH,
        total: 0,
        sink,
        stopped: false,
    };
    let error = match format {
        FileFormat::Ndjson => read_ndjson(reader, &mut batcher),
        FileFormat::Json => read_json(reader, &mut batcher),
        FileFormat::Csv => csv::read_csv(reader, &mut batcher),
    }?;
    batcher.flush(u64::MAX);
    Ok(Loaded {
        entries: batcher.total,
        error,
    })
}

/// Gathers entries into batches for the sink; the first batch is small.
pub(super) struct Batcher<'a> {
    batch: Vec<Entry>,
    want: usize,
    total: u64,
    sink: &'a mut dyn FnMut(Vec<Entry>, u64) -> bool,
    stopped: bool,
}

impl Batcher<'_> {
    /// Adds one entry; false when the sink asked to stop.
    pub(super) fn push(&mut self, e: Entry, bytes: u64) -> bool {
        self.batch.push(e);
        self.total += 1;
        if self.batch.len() >= self.want {
            self.flush(bytes);
            self.want = BATCH;
        }
        !self.stopped
    }
    fn flush(&mut self, bytes: u64) {
        if self.batch.is_empty() || self.stopped {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        if !(self.sink)(batch, bytes) {
            self.stopped = true;
        }
    }
}

fn read_ndjson(mut r: impl BufRead, out: &mut Batcher<'_>) -> std::io::Result<Option<LoadError>> {
    let mut line = Vec::with_capacity(4096);
    let (mut n, mut byte) = (0u64, 0u64);
    loop {
        line.clear();
        let read = r.read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(None);
        }
        n += 1;
        let at = byte;
        byte += read as u64;
        let complete = line.last() == Some(&b'\n');
        let text = if n == 1 {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&line)
        } else {
            &line[..]
        };
        // The line's end is not part of the record (a cut-off string must not swallow it).
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(text) {
            Ok(e) => {
                if !out.push(e, byte) {
                    return Ok(None);
                }
            }
            Err(e) if !complete && e.is_eof() => {
                return Ok(Some(err(
                    Some(n),
                    at,
                    "the file ends in the middle of this entry (truncated?)",
                )));
            }
            Err(e) => {
                return Ok(Some(err(
                    Some(n),
                    at,
                    format!("not a trailscope entry: {}", serde_message(&e)),
                )));
            }
        }
    }
}

/// serde_json's message without its own "at line 1 column 7" (our position is the file's).
fn serde_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A byte reader over a `BufRead` that counts offsets and lines (also `import::scan`'s).
pub(crate) struct Bytes<R: BufRead> {
    pub(crate) r: R,
    pub(crate) pos: u64,
    pub(crate) line: u64,
}

impl<R: BufRead> Bytes<R> {
    pub(crate) fn peek(&mut self) -> std::io::Result<Option<u8>> {
        Ok(self.r.fill_buf()?.first().copied())
    }
    pub(crate) fn next(&mut self) -> std::io::Result<Option<u8>> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.r.consume(1);
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }
    pub(crate) fn skip_ws(&mut self) -> std::io::Result<Option<u8>> {
        while let Some(b) = self.peek()? {
            if !(b.is_ascii_whitespace() || (self.pos < 3 && matches!(b, 0xEF | 0xBB | 0xBF))) {
                return Ok(Some(b));
            }
            self.next()?;
        }
        Ok(None)
    }
    /// Copies one JSON value (object, array, string or scalar) into `buf`; false at end of file.
    fn value(&mut self, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        let (mut depth, mut in_str, mut esc) = (0usize, false, false);
        loop {
            let Some(b) = self.peek()? else {
                return Ok(false);
            };
            if !in_str && depth == 0 && !buf.is_empty() && matches!(b, b',' | b']' | b'}') {
                return Ok(true);
            }
            self.next()?;
            buf.push(b);
            if in_str {
                match (esc, b) {
                    (true, _) => esc = false,
                    (false, b'\\') => esc = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
                if !in_str && depth == 0 {
                    return Ok(true);
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(true);
                    }
                }
                _ => {}
            }
        }
    }
}

fn read_json(r: impl BufRead, out: &mut Batcher<'_>) -> std::io::Result<Option<LoadError>> {
    let mut b = Bytes { r, pos: 0, line: 1 };
    if b.skip_ws()? != Some(b'{') {
        return Ok(Some(err(None, b.pos, "a JSON export starts with `{`")));
    }
    b.next()?;
    let mut buf = Vec::with_capacity(4096);
    loop {
        match b.skip_ws()? {
            None => return Ok(ends(&b, "before the export's closing `}`")),
            Some(b'}') => return Ok(None),
            Some(b',') => {
                b.next()?;
                continue;
            }
            Some(_) => {}
        }
        buf.clear();
        let at = b.pos;
        if !b.value(&mut buf)? {
            return Ok(ends(&b, "inside a key"));
        }
        let key: String = match serde_json::from_slice(&buf) {
            Ok(k) => k,
            Err(_) => return Ok(Some(err(None, at, "expected a key of the export object"))),
        };
        if b.skip_ws()? != Some(b':') {
            return Ok(Some(err(
                None,
                b.pos,
                format!("expected `:` after \"{key}\""),
            )));
        }
        b.next()?;
        b.skip_ws()?;
        if key != "entries" {
            buf.clear();
            if !b.value(&mut buf)? {
                return Ok(ends(&b, &format!("inside \"{key}\"")));
            }
            continue;
        }
        if let ListEnd::Stop(end) = read_entry_list(&mut b, &mut buf, out)? {
            return Ok(end);
        }
    }
}

/// Where the JSON export ended too soon.
fn ends<R: BufRead>(b: &Bytes<R>, what: &str) -> Option<LoadError> {
    Some(err(
        None,
        b.pos,
        format!("the file ends {what} (truncated?)"),
    ))
}

/// How reading the `entries` list ended.
enum ListEnd {
    /// At its `]`: the export object goes on.
    Closed,
    /// The reading stops, with the error if it was one.
    Stop(Option<LoadError>),
}

/// The `entries` list, from its `[`, each entry handed to `out`.
fn read_entry_list<R: BufRead>(
    b: &mut Bytes<R>,
    buf: &mut Vec<u8>,
    out: &mut Batcher<'_>,
) -> std::io::Result<ListEnd> {
    if b.next()? != Some(b'[') {
        return Ok(ListEnd::Stop(Some(err(
            None,
            b.pos,
            "\"entries\" is not a list",
        ))));
    }
    let mut n = 0u64;
    loop {
        match b.skip_ws()? {
            None => return Ok(ListEnd::Stop(ends(b, &format!("after entry {n}")))),
            Some(b']') => {
                b.next()?;
                return Ok(ListEnd::Closed);
            }
            Some(b',') if n > 0 => {
                b.next()?;
                continue;
            }
            Some(_) => {}
        }
        buf.clear();
        let at = b.pos;
        n += 1;
        if !b.value(buf)? {
            return Ok(ListEnd::Stop(Some(err(
                None,
                at,
                format!("the file ends inside entry {n} (truncated?)"),
            ))));
        }
        match serde_json::from_slice::<Entry>(buf) {
            Ok(e) => {
                if !out.push(e, b.pos) {
                    return Ok(ListEnd::Stop(None));
                }
            }
            Err(e) => {
                return Ok(ListEnd::Stop(Some(err(
                    None,
                    at,
                    format!("entry {n} is not a trailscope entry: {}", serde_message(&e)),
                ))));
            }
        }
    }
}
