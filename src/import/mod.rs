//! Reading other systems' audit logs — Kubernetes audit events, AWS CloudTrail, GitHub audit-log
//! exports — as trailscope events. One module per format maps one source record to one
//! [`NewEvent`] (the model's own type, the one a producer posts); `open` turns the events into
//! entries of a file's store, `import` posts them. The mappings are in docs/formats.md.
//!
//! A record is never dropped: one that cannot be mapped (not JSON, a field missing or of the
//! wrong type) comes out as an [`Unmapped`] with its line and its text, so the reader can show
//! it and count it. Only a document the reader cannot find its way through any more (a JSON
//! array cut off in the middle) stops the read, with the place, like trailscope's own exports.

pub mod cloudtrail;
pub mod detect;
pub mod github;
pub mod input;
pub mod k8s;
mod scan;
mod unfit;

use crate::export::read::LoadError;
use crate::model::{Actor, Details, Entry, Kind, NewEvent, Outcome, format_ts, parse_ts};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::io::BufRead;

pub use detect::{Detected, detect};
pub use unfit::Unfit;

/// The audit-log formats of other systems that trailscope reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    K8s,
    CloudTrail,
    GitHub,
}

impl SourceFormat {
    /// The name users know the format by.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::K8s => "Kubernetes audit",
            SourceFormat::CloudTrail => "CloudTrail",
            SourceFormat::GitHub => "GitHub audit log",
        }
    }
    /// The `--format` word.
    pub fn flag(self) -> &'static str {
        match self {
            SourceFormat::K8s => "k8s",
            SourceFormat::CloudTrail => "cloudtrail",
            SourceFormat::GitHub => "github",
        }
    }
    /// The `--format` word back.
    pub fn parse(s: &str) -> Option<SourceFormat> {
        match s {
            "k8s" | "kubernetes" => Some(SourceFormat::K8s),
            "cloudtrail" => Some(SourceFormat::CloudTrail),
            "github" => Some(SourceFormat::GitHub),
            _ => None,
        }
    }
    /// The channel of entries that come from a record this format could not map.
    pub fn channel(self) -> &'static str {
        match self {
            SourceFormat::K8s => "k8s",
            SourceFormat::CloudTrail => "aws",
            SourceFormat::GitHub => "github",
        }
    }
    /// Maps one record; `text` is its JSON text, kept as the event's `details`.
    fn map(self, record: &Map<String, Value>, text: &str) -> Result<NewEvent, Unfit> {
        let details = Details::parse(text)?;
        let mut ev = match self {
            SourceFormat::K8s => k8s::map(record)?,
            SourceFormat::CloudTrail => cloudtrail::map(record)?,
            SourceFormat::GitHub => github::map(record)?,
        };
        if ev.idempotency_key.is_none() {
            // No id of the source's own: the record's content is its identity, so a re-run
            // of the same file still adds nothing.
            use sha2::Digest;
            let digest = sha2::Sha256::digest(details.as_str().as_bytes());
            ev.idempotency_key = Some(format!("{}:sha256:{}", self.flag(), hex::encode(digest)));
        }
        ev.details = Some(details);
        Ok(ev)
    }
}

/// A record that does not fit its format's mapping, kept as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    pub reason: String,
    /// The record's text (at most [`MAX_RECORD`] bytes of it).
    pub text: String,
}

/// One record read from a source file.
#[derive(Debug, Clone)]
pub struct Record {
    /// 1-based line the record starts on (for CSV, the row's line).
    pub line: u64,
    pub event: Result<NewEvent, Unmapped>,
}

/// What a read ended with.
#[derive(Debug, Default)]
pub struct SourceRead {
    pub records: u64,
    pub unmapped: u64,
    /// Set when the file could not be followed to its end (the records before it were read).
    pub error: Option<LoadError>,
}

/// A record's text past this many bytes is not parsed (it is an [`Unmapped`] "too large"); a
/// source file of any size costs at most this much memory per record.
pub const MAX_RECORD: usize = 4 << 20;

/// Actions are `[A-Za-z0-9_.:/-]`, at most 128 characters: anything else becomes `_`.
pub(crate) fn action_word(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.:/-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect()
}

/// Actor and target strings are at most 256 characters: a longer value is cut (the record in
/// `details` keeps it whole).
pub(crate) fn short(s: &str) -> String {
    s.chars().take(256).collect()
}

/// A string member, if it is a non-empty string.
pub(crate) fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// An object member.
pub(crate) fn object<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    m.get(key).and_then(Value::as_object)
}

/// An RFC 3339 time member, required.
pub(crate) fn time(m: &Map<String, Value>, key: &str) -> Result<DateTime<Utc>, Unfit> {
    let s = m
        .get(key)
        .ok_or_else(|| Unfit::Missing(key.into()))?
        .as_str()
        .ok_or_else(|| Unfit::NotAString(key.into()))?;
    parse_ts(s).ok_or_else(|| Unfit::NotATime(key.into()))
}

/// Reads `r` (the whole file, already decompressed) as `format`, handing each record to `sink`
/// with the bytes read so far; `sink` returns false to stop.
pub fn read_source(
    r: impl BufRead,
    format: SourceFormat,
    sink: &mut dyn FnMut(Record, u64) -> bool,
) -> std::io::Result<SourceRead> {
    let mut out = SourceRead::default();
    let mut stages = (format == SourceFormat::K8s).then(k8s::Stages::default);
    let mut emit = |rec: Record, bytes: u64| -> bool {
        out.records += 1;
        if rec.event.is_err() {
            out.unmapped += 1;
        }
        sink(rec, bytes)
    };
    let map_done = |done: k8s::Done| Record {
        line: done.line,
        event: done.record.and_then(|(m, t)| {
            format.map(&m, &t).map_err(|e| Unmapped {
                reason: e.to_string(),
                text: t,
            })
        }),
    };
    let error = scan::records(r, format, &mut |line, text, bytes| {
        let text = match text {
            Err(u) => {
                return emit(
                    Record {
                        line,
                        event: Err(u),
                    },
                    bytes,
                );
            }
            Ok(t) => t,
        };
        let unmapped = |reason: String| Record {
            line,
            event: Err(Unmapped {
                reason,
                text: text.to_string(),
            }),
        };
        let m = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return emit(unmapped("the record is not a JSON object".into()), bytes),
            Err(e) => {
                return emit(
                    unmapped(format!("not JSON: {}", scan::serde_message(&e))),
                    bytes,
                );
            }
        };
        match stages.as_mut() {
            // A Kubernetes request is one record over its stages: it is handed on when its
            // last stage is read.
            Some(stages) => {
                let mut go = true;
                for done in stages.add(line, m, text) {
                    go &= emit(map_done(done), bytes);
                }
                go
            }
            None => {
                let event = format.map(&m, text).map_err(|e| Unmapped {
                    reason: e.to_string(),
                    text: text.to_string(),
                });
                emit(Record { line, event }, bytes)
            }
        }
    })?;
    // Requests whose last stage never came (the log was cut, or rotated mid-request).
    if let Some(stages) = stages.take() {
        for done in stages.finish() {
            if !emit(map_done(done), u64::MAX) {
                break;
            }
        }
    }
    out.error = error;
    Ok(out)
}

/// How a record that could not be mapped is shown in a file's store: an entry of its own,
/// `import.unmapped`, failure, with the reason as description and the text in `details`.
pub fn unmapped_event(format: SourceFormat, line: u64, u: &Unmapped) -> NewEvent {
    let details = serde_json::json!({
        "format": format.flag(),
        "line": line,
        "reason": u.reason,
        "text": u.text,
    });
    NewEvent {
        action: crate::model::names::action::IMPORT_UNMAPPED.into(),
        kind: Some(Kind::Other),
        channel: Some(format.channel().into()),
        outcome: Some(Outcome::Failure),
        description: Some(format!("line {line}: {}", u.reason)),
        details: Some(Details::from_value(&details)),
        ..NewEvent::default()
    }
}

/// An event read from a file as an entry of the file's store. The file has no chain: `hash`
/// and `prev_hash` are empty; `id` is the source's own id (the idempotency key) where it has
/// one; `received_at` is `occurred_at`, or `fallback` when the record has no time.
pub fn to_entry(ev: NewEvent, seq: u64, fallback: DateTime<Utc>) -> Entry {
    let occurred_at = ev.occurred_at.unwrap_or(fallback);
    Entry {
        id: ev
            .idempotency_key
            .clone()
            .unwrap_or_else(|| format!("record-{seq}")),
        seq,
        tenant: "default".into(),
        occurred_at,
        received_at: occurred_at,
        kind: ev.kind.unwrap_or_else(|| Kind::infer(&ev.action)),
        action: ev.action,
        channel: ev.channel.unwrap_or_else(|| "default".into()),
        outcome: ev.outcome.unwrap_or_default(),
        description: ev.description,
        actor: ev.actor.unwrap_or_else(Actor::system),
        target: ev.target,
        details: ev.details,
        idempotency_key: ev.idempotency_key,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// `2026-11-21T09:14:03.120Z` for a time in milliseconds since the epoch (GitHub's form).
pub(crate) fn millis(ms: i64) -> Option<DateTime<Utc>> {
    let t = DateTime::<Utc>::from_timestamp_millis(ms)?;
    parse_ts(&format_ts(&t))
}

/// What reading a file into entries ended with.
#[derive(Debug, Default)]
pub struct EntriesRead {
    pub entries: u64,
    /// Records of another system's log that could not be mapped (each is an
    /// `import.unmapped` entry among `entries`).
    pub unmapped: u64,
    pub error: Option<LoadError>,
}

/// Reads any file `open` can show as entries, in batches (the first small): trailscope's
/// exports as they are, other systems' logs mapped, their unmappable records as
/// [`unmapped_event`]s.
pub fn read_entries(
    reader: impl BufRead,
    what: Detected,
    sink: &mut dyn FnMut(Vec<Entry>, u64) -> bool,
) -> std::io::Result<EntriesRead> {
    use crate::export::read::{BATCH, FIRST_BATCH};
    let format = match what {
        Detected::Export(f) => {
            let l = crate::export::read::read_from(reader, f, sink)?;
            return Ok(EntriesRead {
                entries: l.entries,
                unmapped: 0,
                error: l.error,
            });
        }
        Detected::Source(s) => s,
    };
    let mut batch = Vec::with_capacity(FIRST_BATCH);
    let mut want = FIRST_BATCH;
    let mut seq = 0u64;
    let mut last_time: Option<DateTime<Utc>> = None;
    let mut stopped = false;
    let read = read_source(reader, format, &mut |rec, bytes| {
        seq += 1;
        let ev = match rec.event {
            Ok(ev) => ev,
            Err(u) => unmapped_event(format, rec.line, &u),
        };
        // A record without a time of its own sits beside the one before it.
        let fallback = last_time.unwrap_or_else(Utc::now);
        let entry = to_entry(ev, seq, fallback);
        last_time = Some(entry.occurred_at);
        batch.push(entry);
        if batch.len() >= want {
            want = BATCH;
            if !sink(std::mem::take(&mut batch), bytes) {
                stopped = true;
                return false;
            }
        }
        true
    })?;
    if !stopped && !batch.is_empty() {
        sink(batch, u64::MAX);
    }
    Ok(EntriesRead {
        entries: read.records,
        unmapped: read.unmapped,
        error: read.error,
    })
}
