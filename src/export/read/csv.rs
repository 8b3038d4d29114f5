//! Reading trailscope's CSV export back into entries (see [`super`]).

use super::{Batcher, LoadError, err};
use crate::export::CSV_COLUMNS;
use crate::model::{Actor, ActorType, Details, Entry, Kind, Outcome, Target, parse_ts};
use std::io::Read;

/// Undoes the export's guard against spreadsheet formulas (a `'` before `=`, `+`, `-`, `@`, tab, CR).
fn unguard(cell: &str) -> &str {
    match cell.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r', ..] => &cell[1..],
        _ => cell,
    }
}

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
            Err(m) => return Ok(Some(err(Some(line), before.byte(), m))),
        }
    }
}

/// One CSV row (in [`CSV_COLUMNS`] order) as an entry. The CSV export carries no tenant and no
/// previous hash: the entry gets tenant `default` and an empty `prev_hash`.
fn csv_entry(rec: &csv::StringRecord) -> Result<Entry, String> {
    let cell = |i: usize| unguard(rec.get(i).unwrap_or(""));
    let opt = |i: usize| {
        let c = cell(i);
        (!c.is_empty()).then(|| c.to_string())
    };
    let time = |i: usize| {
        parse_ts(cell(i)).ok_or_else(|| format!("{} is not a timestamp", CSV_COLUMNS[i]))
    };
    let details = match cell(17) {
        "" => None,
        d => Some(Details::parse(d).map_err(|e| e.to_string())?),
    };
    Ok(Entry {
        id: cell(0).to_string(),
        seq: cell(1)
            .parse()
            .map_err(|_| "seq is not a number".to_string())?,
        tenant: "default".into(),
        occurred_at: time(2)?,
        received_at: time(3)?,
        channel: cell(4).to_string(),
        action: cell(5).to_string(),
        kind: Kind::parse(cell(6))
            .ok_or("kind is not one of created, updated, deleted, read, other")?,
        outcome: Outcome::parse(cell(7)).ok_or("outcome is not success or failure")?,
        description: opt(8),
        actor: Actor {
            kind: ActorType::parse(cell(9)).ok_or("actor_type is not user, service or system")?,
            id: opt(10),
            name: opt(11),
            email: opt(12),
            ip: opt(13),
            user_agent: None,
        },
        target: match (opt(14), opt(15)) {
            (Some(kind), Some(id)) => Some(Target {
                kind,
                id,
                name: opt(16),
            }),
            _ => None,
        },
        details,
        idempotency_key: None,
        prev_hash: String::new(),
        hash: cell(18).to_string(),
    })
}
