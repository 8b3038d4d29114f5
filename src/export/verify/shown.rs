//! An export read as it shows its entries, each with its place in the file, for checking
//! against the proof (not the loader of `trailscope open`, which needs only the entries).

use super::{VerifyError, fails};
use crate::export::{CSV_COLUMNS, Format, entry_from_row};
use crate::model::{Entry, ExportProof, ProofFile, SignedCheckpoint};

/// One entry as the file shows it, with where it is.
pub(super) struct Shown {
    /// `line 7` or `entry 3`.
    pub place: String,
    /// The entry, or why it could not be read as one: a sentence for the report, which is all
    /// that is done with it (each format has its own reasons).
    pub entry: Result<Entry, String>,
    /// The seq the file gives, even when the rest could not be read.
    pub seq: Option<u64>,
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
    if let Some(s) = read_ocsf(body) {
        return Some((Format::Ocsf, s, None));
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
        })
        .collect();
    let embedded = match (doc.checkpoint, doc.proof) {
        (Some(c), Some(p)) => {
            let parsed = super::strict::<SignedCheckpoint>(c.get().as_bytes())
                .and_then(|checkpoint| {
                    super::strict::<ExportProof>(p.get().as_bytes())
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
        });
    }
    Some(out)
}

/// The part of an OCSF line that carries its entry.
#[derive(serde::Deserialize)]
struct OcsfHead<'a> {
    #[serde(borrow)]
    unmapped: &'a serde_json::value::RawValue,
}

/// An OCSF export: one event a line, the entry whole under `unmapped`. The rest of each line
/// is derived from that entry, so it must be exactly what the mapping makes of it; otherwise a
/// SIEM would read what no hash covers.
fn read_ocsf(text: &str) -> Option<Vec<Shown>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let head = serde_json::from_str::<OcsfHead>(line).ok();
        if head.is_none() && out.is_empty() {
            return None;
        }
        let place = format!("line {}", i + 1);
        let Some(head) = head else {
            out.push(Shown {
                place,
                entry: Err("it is not an OCSF event with its entry under `unmapped`".into()),
                seq: None,
            });
            continue;
        };
        let seq = seq_of(head.unmapped);
        let entry = serde_json::from_str::<Entry>(head.unmapped.get())
            .map_err(|_| "its `unmapped` is not a valid entry".to_string())
            .and_then(|e| {
                if crate::export::ocsf::event_text(&e) == line {
                    Ok(e)
                } else {
                    Err("its OCSF attributes are not those its `unmapped` entry maps to".into())
                }
            });
        out.push(Shown { place, entry, seq });
    }
    Some(out)
}

fn read_csv(text: &str) -> Option<Vec<Shown>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
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
            });
            continue;
        };
        let line = rec.position().map_or(0, |p| p.line());
        let seq = rec.get(1).and_then(|s| s.parse().ok());
        out.push(Shown {
            place: format!("line {line}"),
            entry: entry_from_row(&rec).map_err(|e| e.to_string()),
            seq,
        });
    }
    Some(out)
}
