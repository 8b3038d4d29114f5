//! CSV, JSON and NDJSON writers: one implementation for the server, the CLI and the TUI.

mod chunks;
mod count;
mod csv_row;
pub mod evidence;
pub mod ocsf;
pub mod read;
pub mod report;
mod staged;
pub mod verify;

use crate::model::{Entry, format_ts};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::io::{self, Write};

pub use chunks::{CHUNK, ChunkSender};
pub use count::{RowCounter, count_json_entries};
pub use csv_row::{BadRow, CSV_COLUMNS, entry_from_row, opt_cell, read_cell, text_cell};
pub use staged::{StageError, StagedFile};

/// The filter as an export and its audit entry record it: the query and its resolved range.
pub fn filters_json(query: &crate::model::Query, now: DateTime<Utc>) -> Value {
    let (from, to) = query.range_millis(now);
    let ts = |ms: Option<i64>| ms.map(|m| format_ts(&crate::model::from_millis(m)));
    serde_json::json!({"filter": query.to_string(), "from": ts(from), "to": ts(to)})
}

/// Where a CSV or NDJSON export's proof goes: `<file>.proof.json`.
pub fn proof_sidecar(file: &std::path::Path) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".proof.json");
    std::path::PathBuf::from(name)
}

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Ndjson,
    /// NDJSON of OCSF 1.x events ([`ocsf`]), for SIEMs.
    Ocsf,
}

impl Format {
    /// Parses `csv`, `json` or `ndjson`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "ndjson" => Some(Format::Ndjson),
            "ocsf" => Some(Format::Ocsf),
            _ => None,
        }
    }
    /// The wire name, which is also the file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Ocsf => "ocsf",
        }
    }
    /// The media type a server sends it with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Ndjson | Format::Ocsf => "application/x-ndjson",
        }
    }
    /// `audit-log-<YYYYMMDDTHHMMSSZ>.<ext>`: the name an export gets by default (OCSF:
    /// `.ocsf.ndjson`, NDJSON of another shape).
    pub fn file_name(self, at: &DateTime<Utc>) -> String {
        let ext = match self {
            Format::Ocsf => "ocsf.ndjson",
            other => other.as_str(),
        };
        format!("audit-log-{}.{ext}", at.format("%Y%m%dT%H%M%SZ"))
    }
}

/// Writes entries one at a time in a format; nothing is kept but the writer's own buffer.
pub struct Exporter<W: Write> {
    sink: Sink<W>,
    format: Format,
    rows: u64,
}

/// The tag of the footer that ends a CSV or NDJSON download asked for with `proof=trailer`:
/// `<proof JSON>\n` + this tag + 16 hex digits (the proof's length in bytes) + `\n`.
pub const PROOF_TRAILER: &str = "trailscope-proof ";

/// The footer's length in bytes.
pub const PROOF_FOOTER_LEN: usize = 1 + PROOF_TRAILER.len() + 16 + 1;

/// Splits a download asked for with `proof=trailer` into the file and its proof, given the
/// download's last bytes; returns the proof's length, or `None` when there is no footer.
pub fn trailer_len(footer: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(footer).ok()?;
    let hex = text
        .strip_prefix('\n')?
        .strip_prefix(PROOF_TRAILER)?
        .strip_suffix('\n')?;
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Json(W),
    Ndjson(W),
    Ocsf(W),
}

impl<W: Write> Exporter<W> {
    /// Starts an export: the CSV byte-order mark and header, or the JSON preamble.
    pub fn begin(
        format: Format,
        mut out: W,
        exported_at: &DateTime<Utc>,
        filters: &Value,
    ) -> io::Result<Exporter<W>> {
        let sink = match format {
            Format::Csv => {
                // The byte-order mark makes spreadsheets read the file as UTF-8.
                out.write_all("\u{feff}".as_bytes())?;
                let mut csv = csv::WriterBuilder::new().from_writer(out);
                csv.write_record(CSV_COLUMNS)?;
                Sink::Csv(Box::new(csv))
            }
            Format::Json => {
                write!(
                    out,
                    "{{\"exported_at\":{},\"filters\":",
                    serde_json::to_string(&format_ts(exported_at))?
                )?;
                serde_json::to_writer(&mut out, filters)?;
                out.write_all(b",\"entries\":[")?;
                Sink::Json(out)
            }
            Format::Ndjson => Sink::Ndjson(out),
            Format::Ocsf => Sink::Ocsf(out),
        };
        Ok(Exporter {
            sink,
            format,
            rows: 0,
        })
    }

    /// Writes one entry.
    pub fn entry(&mut self, e: &Entry) -> io::Result<()> {
        match &mut self.sink {
            Sink::Csv(csv) => csv.write_record(csv_row::cells(e).iter().map(|c| c.as_bytes()))?,
            Sink::Json(out) => {
                if self.rows > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, e)?;
            }
            Sink::Ndjson(out) => {
                serde_json::to_writer(&mut *out, e)?;
                out.write_all(b"\n")?;
            }
            Sink::Ocsf(out) => {
                out.write_all(ocsf::event_text(e).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the JSON document and flushes; returns the writer and the row count.
    pub fn finish(self) -> io::Result<(W, u64)> {
        self.finish_with_proof(None, false)
    }

    /// Like [`Exporter::finish`], with the export's proof: a JSON document gains its
    /// `checkpoint` and `proof` members; CSV and NDJSON get it as a [`PROOF_TRAILER`] after the
    /// rows when `trailer` (the command line and the TUI split it off into `<file>.proof.json`).
    pub fn finish_with_proof(
        self,
        proof: Option<&crate::model::ProofFile>,
        trailer: bool,
    ) -> io::Result<(W, u64)> {
        let out = match self.sink {
            Sink::Csv(csv) => csv.into_inner().map_err(|e| e.into_error())?,
            Sink::Json(mut out) => {
                out.write_all(b"]")?;
                if let Some(p) = proof {
                    out.write_all(b",\"checkpoint\":")?;
                    serde_json::to_writer(&mut out, &p.checkpoint)?;
                    out.write_all(b",\"proof\":")?;
                    serde_json::to_writer(&mut out, &p.proof)?;
                }
                out.write_all(b"}")?;
                out
            }
            Sink::Ndjson(out) | Sink::Ocsf(out) => out,
        };
        let mut out = out;
        if let (Some(p), true, false) = (proof, trailer, matches!(self.format, Format::Json)) {
            let body = serde_json::to_vec(p)?;
            out.write_all(&body)?;
            write!(out, "\n{PROOF_TRAILER}{:016x}\n", body.len())?;
        }
        let mut out = out;
        out.flush()?;
        Ok((out, self.rows))
    }
}
