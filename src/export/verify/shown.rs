//! An export read as it shows its entries, each with its place in the file, for checking
//! against the proof (not the loader of `trailscope open`, which needs only the entries).

use super::{VerifyError, fails};
use crate::export::{CSV_COLUMNS, Format};
use crate::model::{
    Actor, ActorType, Details, Entry, ExportProof, Kind, Outcome, ProofFile, SignedCheckpoint,
    Target, format_ts, parse_ts,
};

/// One entry as the file shows it, with where it is.
pub(super) struct Shown {
    /// `line 7` or `entry 3`.
    pub place: String,
    /// The entry, or why it could not be read as one.
    pub entry: Result<Entry, String>,
    /// The seq the file gives, even when the rest could not be read.
    pub seq: Option<u64>,
    /// For a CSV row with cells read as guarded against formulas (a leading `'` removed), the
    /// row read literally instead: text that itself began with `'` reads the same.
    pub literal: Option<Result<Entry, String>>,
}

/// A JSON export's embedded proof: none, or what reading it gave.
pub(super) type Embedded = Option<Result<ProofFile, VerifyError>>;

/// Detects the format and reads the entries; `None` when the bytes are no export at all.
pub(super) fn read_export(bytes: &[u8]) -> Option<(Format, Vec<Shown>, Embedded)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.starts_with("id,seq,") {
        return read_csv(body).map(|s| (Format::Csv, s, None));
    }
    let trimmed = body.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    if let Some(r) = read_json(trimmed) {
        return Some(r);
    }
    read_ndjson(body).map(|s| (Format::Ndjson, s, None))
}

fn seq_of(raw: &serde_json::value::RawValue) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct SeqOnly {
        seq: u64,
    }
    serde_json::from_str::<SeqOnly>(raw.get())
        .ok()
        .map(|s| s.seq)
}

fn read_json(text: &str) -> Option<(Format, Vec<Shown>, Embedded)> {
    #[derive(serde::Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        entries: Vec<&'a serde_json::value::RawValue>,
        #[serde(default)]
        checkpoint: Option<&'a serde_json::value::RawValue>,
        #[serde(default)]
        proof: Option<&'a serde_json::value::RawValue>,
    }
    let doc: Doc = serde_json::from_str(text).ok()?;
    let shown = doc
        .entries
        .iter()
        .enumerate()
        .map(|(i, raw)| Shown {
            place: format!("entry {}", i + 1),
            entry: serde_json::from_str::<Entry>(raw.get())
                .map_err(|_| "it is not a valid entry".to_string()),
            seq: seq_of(raw),
            literal: None,
        })
        .collect();
    let embedded = match (doc.checkpoint, doc.proof) {
        (Some(c), Some(p)) => {
            let parsed = serde_json::from_str::<SignedCheckpoint>(c.get())
                .and_then(|checkpoint| {
                    serde_json::from_str::<ExportProof>(p.get())
                        .map(|proof| ProofFile { checkpoint, proof })
                })
                .map_err(|_| fails!("the file's proof is malformed"));
            Some(parsed)
        }
        (None, None) => None,
        _ => Some(Err(fails!(
            "the file's proof is incomplete: it needs both `checkpoint` and `proof`"
        ))),
    };
    Some((Format::Json, shown, embedded))
}

fn read_ndjson(text: &str) -> Option<Vec<Shown>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let raw: &serde_json::value::RawValue = serde_json::from_str(line).ok()?;
        let seq = seq_of(raw);
        // A line that is not even an object with a seq is not an NDJSON export.
        if seq.is_none() && out.is_empty() {
            return None;
        }
        out.push(Shown {
            place: format!("line {}", i + 1),
            entry: serde_json::from_str::<Entry>(line)
                .map_err(|_| "it is not a valid entry".to_string()),
            seq,
            literal: None,
        });
    }
    Some(out)
}

/// Undoes the CSV export's guard against formulas: a leading `'` before `= + - @ \t \r`.
fn unguard(cell: &str) -> (String, bool) {
    let b = cell.as_bytes();
    if b.len() >= 2 && b[0] == b'\'' && matches!(b[1], b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') {
        (cell[1..].to_string(), true)
    } else {
        (cell.to_string(), false)
    }
}

fn read_csv(text: &str) -> Option<Vec<Shown>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = r.headers().ok()?.clone();
    if header.iter().ne(CSV_COLUMNS.iter().copied()) {
        return None;
    }
    let mut out = Vec::new();
    for rec in r.records() {
        let Ok(rec) = rec else {
            out.push(Shown {
                place: format!("line {}", out.len() + 2),
                entry: Err("it is not a valid CSV row".into()),
                seq: None,
                literal: None,
            });
            continue;
        };
        let line = rec.position().map_or(0, |p| p.line());
        let seq = rec.get(1).and_then(|s| s.parse().ok());
        let (entry, unguarded) = csv_entry(&rec, false);
        let literal = unguarded.then(|| csv_entry(&rec, true).0);
        out.push(Shown {
            place: format!("line {line}"),
            entry,
            seq,
            literal,
        });
    }
    Some(out)
}

/// An entry from a CSV row. With `literal`, cells are taken as they stand (the rare text that
/// itself began with `'` and a formula character); the hash decides which reading is true.
fn csv_entry(rec: &csv::StringRecord, literal: bool) -> (Result<Entry, String>, bool) {
    let mut unguarded = false;
    let mut cell = |i: usize| -> String {
        let raw = rec.get(i).unwrap_or("");
        if literal {
            return raw.to_string();
        }
        let (text, was) = unguard(raw);
        unguarded |= was;
        text
    };
    let cells: Vec<String> = (0..CSV_COLUMNS.len()).map(&mut cell).collect();
    let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
    let bad = |what: &str| format!("its {what} cannot be read");
    let entry = (|| -> Result<Entry, String> {
        if rec.len() != CSV_COLUMNS.len() {
            return Err("it does not have the export's columns".into());
        }
        let ts = |s: &str, what: &str| {
            parse_ts(s)
                .filter(|t| format_ts(t) == s)
                .ok_or_else(|| bad(what))
        };
        let target = if cells[14].is_empty() && cells[15].is_empty() {
            None
        } else {
            Some(Target {
                kind: cells[14].clone(),
                id: cells[15].clone(),
                name: opt(&cells[16]),
            })
        };
        // The details cell is guarded whenever it starts like a formula; JSON never starts
        // with `'`, so a leading one is always the guard.
        let details_text = rec.get(17).unwrap_or("");
        let details_text = details_text.strip_prefix('\'').unwrap_or(details_text);
        let details = if details_text.is_empty() {
            None
        } else {
            Some(Details::parse(details_text).map_err(|_| bad("details"))?)
        };
        Ok(Entry {
            id: cells[0].clone(),
            seq: cells[1].parse().map_err(|_| bad("seq"))?,
            tenant: String::new(),
            occurred_at: ts(&cells[2], "occurred_at")?,
            received_at: ts(&cells[3], "received_at")?,
            channel: cells[4].clone(),
            action: cells[5].clone(),
            kind: Kind::parse(&cells[6]).ok_or_else(|| bad("kind"))?,
            outcome: Outcome::parse(&cells[7]).ok_or_else(|| bad("outcome"))?,
            description: opt(&cells[8]),
            actor: Actor {
                kind: ActorType::parse(&cells[9]).ok_or_else(|| bad("actor type"))?,
                id: opt(&cells[10]),
                name: opt(&cells[11]),
                email: opt(&cells[12]),
                ip: opt(&cells[13]),
                user_agent: None,
            },
            target,
            details,
            idempotency_key: None,
            prev_hash: String::new(),
            hash: rec.get(18).unwrap_or("").to_string(),
        })
    })();
    (entry, unguarded)
}
