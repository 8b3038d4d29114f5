//! `report.pdf`: an evidence pack as an auditor reads it without a terminal — what it holds
//! (title, period, the filter as written and in words), counts by action, actor and outcome,
//! every entry as a row of a table, the chain head the rows chain up to, and how to verify.
//!
//! The entries are not held in memory: while the pack is scanned each one becomes a table row
//! in a temporary file (a few hundred bytes) and the counts grow; the PDF is then drawn a page
//! at a time from that file, each page's content compressed as it is made. Nothing in it
//! depends on the clock or on chance (no creation date, no document id), so the same data
//! gives the same bytes.

mod draw;
mod summary;
pub mod winansi;

use crate::model::{ActorType, ChainHead, Entry, Outcome, Query};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};

/// What the report says about the pack besides its entries.
#[derive(Debug, Clone)]
pub struct ReportHead {
    /// The pack's title: "Access review" or the title a custom pack was given.
    pub title: String,
    /// The pack's kind as the API names it.
    pub kind: String,
    pub tenant: String,
    /// The period, as the manifest writes it.
    pub from: String,
    pub to: String,
    /// The filters, in the query language (a kind is a union of several).
    pub filter_lines: Vec<String>,
    /// The same, parsed, for saying them in words.
    pub filters: Vec<Query>,
    pub chain_head: Option<ChainHead>,
    /// The signed checkpoint the pack's `proof.json` proves the entries against (with its
    /// verifier key), when the server signs checkpoints.
    pub checkpoint: Option<crate::model::SignedCheckpoint>,
    /// The pack's default file name, for the command that verifies it.
    pub pack_file: String,
    /// The pack's data files, where the complete entries are.
    pub data_files: Vec<String>,
}

/// The table's rows, staged in a temporary file while the pack is scanned, and the counts.
pub struct ReportRows {
    staged: BufWriter<File>,
    rows: u64,
    by_action: BTreeMap<String, u64>,
    by_actor: BTreeMap<String, u64>,
    by_outcome: BTreeMap<&'static str, u64>,
}

/// Separates the cells of a staged row; encoded text never holds a byte below 0x20.
const CELL: u8 = 0x1f;

impl ReportRows {
    pub fn new() -> io::Result<ReportRows> {
        Ok(ReportRows {
            staged: BufWriter::new(tempfile::tempfile()?),
            rows: 0,
            by_action: BTreeMap::new(),
            by_actor: BTreeMap::new(),
            by_outcome: BTreeMap::new(),
        })
    }

    /// Adds one entry: a row of the table and one to each count.
    pub fn add(&mut self, e: &Entry) -> io::Result<()> {
        let actor = actor_label(e);
        let outcome = match e.outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        };
        let cells: [Vec<u8>; 7] = [
            e.seq.to_string().into_bytes(),
            e.occurred_at
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
                .into_bytes(),
            winansi::encode(&e.action),
            outcome.as_bytes().to_vec(),
            winansi::encode(&actor),
            winansi::encode(&e.target_ref().unwrap_or_default()),
            winansi::encode(e.description.as_deref().unwrap_or("")),
        ];
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.staged.write_all(&[CELL])?;
            }
            // A cell never needs more than a line's width; the rest is in the JSON and CSV.
            self.staged
                .write_all(&cell[..cell.len().min(draw::LINE_COLS + 1)])?;
        }
        self.staged.write_all(b"\n")?;
        self.rows += 1;
        *self.by_action.entry(e.action.clone()).or_default() += 1;
        *self.by_actor.entry(actor).or_default() += 1;
        *self.by_outcome.entry(outcome).or_default() += 1;
        Ok(())
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// Who an entry's actor is, in a table cell: "Name (id)", else the email or id, else `[System]`.
fn actor_label(e: &Entry) -> String {
    let a = &e.actor;
    match (&a.name, &a.email, &a.id) {
        (Some(n), _, Some(id)) => format!("{n} ({id})"),
        (Some(n), _, None) => n.clone(),
        (None, Some(m), _) => m.clone(),
        (None, None, Some(id)) => id.clone(),
        (None, None, None) if a.kind == ActorType::System => "[System]".into(),
        (None, None, None) => format!("[{}]", a.kind.as_str()),
    }
}

/// Draws the report from the staged rows; returns the PDF.
pub fn render(head: &ReportHead, rows: ReportRows) -> io::Result<Vec<u8>> {
    let counts = Counts {
        rows: rows.rows,
        by_action: most_first(rows.by_action),
        by_actor: most_first(rows.by_actor),
        by_outcome: most_first(
            rows.by_outcome
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ),
    };
    let mut file = rows.staged.into_inner().map_err(|e| e.into_error())?;
    file.rewind()?;
    let mut lines = BufReader::new(file).split(b'\n').map(|line| {
        line.map(|l| {
            l.split(|b| *b == CELL)
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        })
    });
    draw::document(head, &counts, summary::page, &mut lines)
}

/// The counts the summary page shows.
pub(crate) struct Counts {
    pub rows: u64,
    pub by_action: Vec<(String, u64)>,
    pub by_actor: Vec<(String, u64)>,
    pub by_outcome: Vec<(String, u64)>,
}

/// Most frequent first; ties by name, so the order is the same every time.
fn most_first(counts: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// A filter's conditions in words: "action is role.* (prefix); channel is auth or admin".
/// Every term of the query language is said; one it could not say is never dropped silently.
pub fn conditions(q: &Query) -> String {
    let mut parts = Vec::new();
    let mut add = |what: &str, values: Vec<String>| {
        if !values.is_empty() {
            parts.push(format!("{what} {}", values.join(" or ")));
        }
    };
    let actions = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|a| match a.strip_suffix('*') {
                Some(p) => format!("anything starting {p}"),
                None => a.clone(),
            })
            .collect()
    };
    let kinds = |list: &[crate::model::Kind]| list.iter().map(|k| k.as_str().to_string()).collect();
    let outcomes = |list: &[Outcome]| {
        list.iter()
            .map(|o| o.as_str().to_string())
            .collect::<Vec<_>>()
    };
    add("id or seq is", q.ids.clone());
    add("action is", actions(&q.actions));
    add("actor (id, email or name) is", q.actors.clone());
    add("actor's IP is", q.ips.clone());
    add("target is", q.targets.clone());
    add("target type is", q.target_types.clone());
    add("channel is", q.channels.clone());
    add("kind is", kinds(&q.kinds));
    add("outcome is", outcomes(&q.outcomes));
    let x = &q.exclude;
    add("action is not", actions(&x.actions));
    add("actor (id, email or name) is not", x.actors.clone());
    add("actor's IP is not", x.ips.clone());
    add("target is not", x.targets.clone());
    add("target type is not", x.target_types.clone());
    add("channel is not", x.channels.clone());
    add("kind is not", kinds(&x.kinds));
    add("outcome is not", outcomes(&x.outcomes));
    if !q.text.is_empty() {
        let quoted: Vec<String> = q.text.iter().map(|t| format!("\"{t}\"")).collect();
        parts.push(format!("mentions {}", quoted.join(" and ")));
    }
    if let Some(a) = &q.around {
        parts.push(format!(
            "within {}{} either side of {}",
            a.amount,
            a.unit,
            a.at.format("%Y-%m-%d %H:%M:%SZ")
        ));
    }
    if let Some(f) = &q.from {
        parts.push(format!("from {f}"));
    }
    if let Some(t) = &q.to {
        parts.push(format!("to {t}"));
    }
    if parts.is_empty() {
        "every entry".into()
    } else {
        parts.join("; ")
    }
}

/// `1 entry`, `2 entries`.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", draw::thousands(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::conditions;

    #[test]
    fn filters_in_words() {
        let q = "action:role.* channel:auth channel:admin outcome:failure \"two words\""
            .parse()
            .unwrap();
        assert_eq!(
            conditions(&q),
            "action is anything starting role.; channel is auth or admin; outcome is failure; mentions \"two words\""
        );
        assert_eq!(conditions(&"".parse().unwrap()), "every entry");
        let q = "ip:203.0.113.7 -ip:10.0.0.1 -action:user.* -outcome:failure actor:alice@example.com around:2026-11-21T09:14:03Z/2h"
            .parse()
            .unwrap();
        assert_eq!(
            conditions(&q),
            "actor (id, email or name) is alice@example.com; actor's IP is 203.0.113.7; action is not anything starting user.; actor's IP is not 10.0.0.1; outcome is not failure; within 2h either side of 2026-11-21 09:14:03Z"
        );
        assert_eq!(super::counted(1, "entry", "entries"), "1 entry");
        assert_eq!(super::counted(1234, "entry", "entries"), "1,234 entries");
    }
}
