//! Reading trailscope's CSV export back into entries (see [`super`]).

use super::{Batcher, LoadError, err};
use crate::export::{CSV_COLUMNS, entry_from_row};
use crate::model::Entry;
use std::io::Read;

pub(super) fn read_csv(r: impl Read, out: &mut Batcher<'_>) -> std::io::Result<Option<LoadError>> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(r);
    let mut rec = csv::StringRecord::new();
    let mut first = true;
    loop {
        let before = csv.position().clone();
        match csv.read_record(&mut rec) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                let (line, byte) = match e.position() {
                    Some(p) => (p.line(), p.byte()),
                    None => (before.line(), before.byte()),
                };
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { len, .. } => format!(
                        "the row has {len} fields, not the export's {} (truncated or corrupt?)",
                        CSV_COLUMNS.len()
                    ),
                    csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_string(),
                    csv::ErrorKind::Io(_) => return Err(std::io::Error::other(e.to_string())),
                    _ => e.to_string(),
                };
                return Ok(Some(err(Some(line), byte, message)));
            }
        }
        let line = before.line();
        if first {
            first = false;
            let head: Vec<&str> = rec
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        c.trim_start_matches('\u{feff}')
                    } else {
                        c
                    }
                })
                .collect();
            if head != CSV_COLUMNS {
                return Ok(Some(err(
                    Some(line),
                    before.byte(),
                    "the header is not that of a trailscope CSV export",
                )));
            }
            continue;
        }
        match csv_entry(&rec) {
            Ok(e) => {
                if !out.push(e, csv.position().byte()) {
                    return Ok(None);
                }
            }
            Err(m) => return Ok(Some(err(Some(line), before.byte(), m.to_string()))),
        }
    }
}

/// One CSV row as an entry (the mapping of [`crate::export::entry_from_row`]). The CSV export
/// carries no tenant and no previous hash: the entry gets tenant `default` and an empty
/// `prev_hash`.
fn csv_entry(rec: &csv::StringRecord) -> Result<Entry, crate::export::BadRow> {
    let mut e = entry_from_row(rec)?;
    e.tenant = "default".into();
    Ok(e)
}
