//! `verify`, for every store: the hash chain, the Merkle tree recomputed from the entries and
//! compared with its stored rows and with every signed checkpoint, the records that must stand
//! behind a prune or a pseudonymisation, and the schema's own guarantees. Names the earliest seq
//! and checkpoint that no longer match.
//!
//! A store hands the walk its rows through [`VerifySource`], a chunk at a time (keyset reads),
//! inside one snapshot of its own making: memory stays O(chunk + log n) however long the log.

use crate::model::{ChainHead, Entry, VerifyReport};
use crate::proof::{self, Frontier, Hash, OpenedCheckpoint, VerifierKey};
use crate::store::StoreError;
use crate::store::chain::{self, Commitments, GENESIS};
use crate::store::proofs::{hash_bytes, split_row};
use std::collections::{HashMap, VecDeque};

mod progress;
mod tree;
pub use progress::Progress;
use tree::walk_tree;

/// Rows read per round.
const CHUNK: usize = 2000;

/// What a store shows the walk of one tenant, all from one snapshot.
pub trait VerifySource {
    /// The head recorded at the last commit.
    fn head(&mut self) -> Result<Option<ChainHead>, StoreError>;
    /// Where the chain starts after a prune: (seq, hash) of the last removed entry.
    fn anchor(&mut self) -> Result<Option<(u64, String)>, StoreError>;
    /// Up to `limit` entries after `after` in (seq, id) order, with their commitments. Keyed by
    /// id too, so a second row claiming a seq is walked (and found), not skipped.
    fn entries_after(
        &mut self,
        after: Option<(u64, String)>,
        limit: usize,
    ) -> Result<Vec<(Entry, Commitments)>, StoreError>;
    /// Up to `limit` (seq, hash) pairs with seq above `after`, in seq order.
    fn hashes_after(&mut self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError>;
    /// Up to `limit` tree rows (leaf, stored hashes) after leaf `after`, in leaf order.
    fn tree_rows_after(
        &mut self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// The highest seq still in the log.
    fn last_seq(&mut self) -> Result<Option<u64>, StoreError>;
    /// The tree: (seq of leaf 0, leaves stored).
    fn extent(&mut self) -> Result<(u64, u64), StoreError>;
    /// Every stored checkpoint, (size, note), in size order.
    fn checkpoints(&mut self) -> Result<Vec<(u64, String)>, StoreError>;
    /// What was changed in the schema behind trailscope's back, one sentence each.
    fn tampering(&mut self) -> Result<Vec<String>, StoreError>;
}

/// Every entry of the log in (seq, id) order, read a chunk at a time.
struct Entries {
    after: Option<(u64, String)>,
    buf: VecDeque<(Entry, Commitments)>,
    done: bool,
    /// Rows read so far (those in `buf` included).
    read: u64,
}

impl Entries {
    fn new() -> Entries {
        Entries {
            after: None,
            buf: VecDeque::new(),
            done: false,
            read: 0,
        }
    }
    /// The next entry; each chunk read tells `progress` about the one before it.
    fn next(
        &mut self,
        src: &mut dyn VerifySource,
        progress: &mut Progress,
    ) -> Option<Result<(Entry, Commitments), StoreError>> {
        if self.buf.is_empty() && !self.done {
            if let Err(e) = progress.chain(self.read) {
                self.done = true;
                return Some(Err(e));
            }
            match src.entries_after(self.after.clone(), CHUNK) {
                Ok(rows) => {
                    self.done = rows.len() < CHUNK;
                    self.read += rows.len() as u64;
                    self.buf.extend(rows);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let row = self.buf.pop_front()?;
        self.after = Some((row.0.seq, row.0.id.clone()));
        Some(Ok(row))
    }
}

/// A keyset reader of (key, value) pairs.
struct Chunked<T> {
    after: Option<u64>,
    buf: VecDeque<(u64, T)>,
    done: bool,
}

impl<T> Chunked<T> {
    fn new(after: Option<u64>) -> Chunked<T> {
        Chunked {
            after,
            buf: VecDeque::new(),
            done: false,
        }
    }
    fn next(
        &mut self,
        read: impl FnOnce(Option<u64>) -> Result<Vec<(u64, T)>, StoreError>,
    ) -> Result<Option<(u64, T)>, StoreError> {
        if self.buf.is_empty() && !self.done {
            let rows = read(self.after)?;
            self.done = rows.len() < CHUNK;
            self.buf.extend(rows);
        }
        let row = self.buf.pop_front();
        if let Some((k, _)) = &row {
            self.after = Some(*k);
        }
        Ok(row)
    }
}

/// One thing that no longer matches.
struct Finding {
    /// Where: exactly, or (for a checkpoint whose root no longer matches) the first seq the
    /// change may be at.
    seq: Option<u64>,
    /// `seq` is only a lower bound.
    bound: bool,
    checkpoint: Option<u64>,
    reason: &'static str,
    sentence: String,
}

/// What the chain walk noticed on the way, for the checks that need the whole log.
#[derive(Default)]
struct Seen {
    /// Pseudonym → the seqs of entries that show it with their salts destroyed.
    pseudonymised: HashMap<String, Vec<u64>>,
    /// Pseudonym → the seq of the newest `gdpr.pseudonymised` entry naming it.
    pseudonym_records: HashMap<String, u64>,
    /// The anchors named by `retention.pruned` entries still in the log.
    prune_anchors: Vec<u64>,
}

impl Seen {
    fn note(&mut self, entry: &crate::model::Entry, commitments: &chain::Commitments) {
        let a = &entry.actor;
        for (field, text) in [
            ("name", &a.name),
            ("email", &a.email),
            ("ip", &a.ip),
            ("user_agent", &a.user_agent),
        ] {
            if let (Some(text), Some(c)) = (text, commitments.get(field))
                && c.s.is_none()
            {
                let seqs = self.pseudonymised.entry(text.clone()).or_default();
                if seqs.last() != Some(&entry.seq) {
                    seqs.push(entry.seq);
                }
            }
        }
        let details = || entry.details.as_ref().map(|d| d.to_value());
        match entry.action.as_str() {
            crate::model::names::action::PSEUDONYMISED => {
                if let Some(p) = details().and_then(|d| d["pseudonym"].as_str().map(String::from)) {
                    self.pseudonym_records.insert(p, entry.seq);
                }
            }
            crate::model::names::action::PRUNED => {
                if let Some(s) = details().and_then(|d| d["anchor"]["seq"].as_u64()) {
                    self.prune_anchors.push(s);
                }
            }
            _ => {}
        }
    }
}

/// Walks `tenant`'s log through `src`, telling `progress` how far it got.
pub fn run(
    src: &mut dyn VerifySource,
    tenant: &str,
    key: Option<&VerifierKey>,
    remembered: Option<crate::store::checkpoint::Remembered>,
    progress: &mut Progress,
) -> Result<VerifyReport, StoreError> {
    // A head still at genesis (a tenant that never committed) records nothing.
    let head = src.head()?.filter(|h| h.seq > 0);
    let (anchor_seq, anchor_hash) = src.anchor()?.unwrap_or((0, GENESIS.to_string()));
    let (first, stored) = src.extent()?;
    // What the walk will read, as the head and the tree say (a tampered log may hold more or
    // fewer rows: the count is only ever a guide).
    let entries = head
        .as_ref()
        .map_or(0, |h| h.seq.saturating_sub(anchor_seq));
    progress.expect(entries, stored)?;
    let (mut report, seen, mut findings) =
        walk_chain(src, anchor_seq, &anchor_hash, head, progress)?;
    report.tree_size = stored;
    report.verifier_key = key.map(|k| k.to_string());
    let mut checkpoints = open_checkpoints(src, tenant, key, &mut findings)?;
    report.checkpoints = checkpoints.len() as u64;
    if let Some(k) = key
        && checkpoints.is_empty()
        && stored > 0
        && !findings.iter().any(|f| f.checkpoint.is_some())
    {
        // Nothing signed covers these entries: with a pinned key, that proves nothing.
        findings.push(Finding {
            bound: false,
            seq: None,
            checkpoint: None,
            reason: "unsigned",
            sentence: format!(
                "the log holds {stored} entries but no checkpoint signed by {}, so nothing shows it is the history that was signed",
                crate::text::inert(k.as_str())
            ),
        });
    }
    // The checkpoint the signer remembers is held to the tree like a stored one (it may be the
    // one deleted from the database); stored ones of the same size are compared anyway.
    if let Some(r) = remembered.filter(|r| r.size > 0) {
        let at = checkpoints.partition_point(|c| c.size < r.size);
        checkpoints.insert(
            at,
            Stored {
                size: r.size,
                root: r.root,
                remembered: true,
            },
        );
    }
    walk_tree(
        src,
        first,
        anchor_seq,
        &checkpoints,
        &mut findings,
        progress,
    )?;
    records(&seen, first, anchor_seq, &mut findings);
    for problem in src.tampering()? {
        let reason = if problem.contains("permit") {
            "permit_open"
        } else {
            "schema_changed"
        };
        findings.push(Finding {
            bound: false,
            seq: None,
            checkpoint: None,
            reason,
            sentence: problem,
        });
    }
    if !findings.is_empty() {
        name_the_earliest(&mut report, findings, &checkpoints, first, anchor_seq);
    }
    progress.finish();
    Ok(report)
}

/// Walks the hash chain from the anchor: the report so far, what the walk noticed (over every
/// entry, even past a break) and the chain's finding, if it breaks.
fn walk_chain(
    src: &mut dyn VerifySource,
    anchor_seq: u64,
    anchor_hash: &str,
    head: Option<ChainHead>,
    progress: &mut Progress,
) -> Result<(VerifyReport, Seen, Vec<Finding>), StoreError> {
    let mut seen = Seen::default();
    let report = {
        let mut entries = Entries::new();
        let rows = std::iter::from_fn(|| entries.next(src, progress)).inspect(|r| {
            if let Ok((e, c)) = r {
                seen.note(e, c);
            }
        });
        chain::verify(rows, (anchor_seq, anchor_hash), head.as_ref())?
    };
    if !report.ok {
        // The walk stopped at the break; the record checks need every entry.
        seen = Seen::default();
        let mut entries = Entries::new();
        while let Some(r) = entries.next(src, progress) {
            let (e, c) = r?;
            seen.note(&e, &c);
        }
    }
    let mut findings = Vec::new();
    if let (false, Some(seq)) = (report.ok, report.first_bad_seq) {
        let reason = match report.reason.as_deref() {
            Some("gap") => "gap",
            Some("reordered") => "reordered",
            _ => "hash_mismatch",
        };
        findings.push(Finding {
            bound: false,
            seq: Some(seq),
            checkpoint: None,
            reason,
            sentence: format!(
                "the hash chain breaks at seq {seq} ({})",
                reason.replace('_', " ")
            ),
        });
    }
    Ok((report, seen, findings))
}

/// Fills `report` in from `findings` (not empty): the earliest place that no longer matches
/// and the earliest checkpoint that no longer holds, every finding's sentence.
fn name_the_earliest(
    report: &mut VerifyReport,
    mut findings: Vec<Finding>,
    checkpoints: &[Stored],
    first: u64,
    anchor_seq: u64,
) {
    findings.sort_by_key(|f| (f.seq.unwrap_or(u64::MAX), f.checkpoint.unwrap_or(u64::MAX)));
    // An exact place wins over a checkpoint's range, unless that whole range lies before it.
    let exact = findings.iter().position(|f| f.seq.is_some() && !f.bound);
    let pick = match exact {
        Some(i) => findings
            .iter()
            .position(|f| {
                f.bound
                    && f.checkpoint
                        .zip(findings[i].seq)
                        .is_some_and(|(size, seq)| first + size <= seq)
            })
            .unwrap_or(i),
        None => 0,
    };
    findings.swap(0, pick);
    let earliest = &findings[0];
    let first_bad_seq = earliest.seq;
    // The earliest checkpoint that no longer holds: one named by a finding, or the first whose
    // tree covers the earliest bad seq.
    let covering = first_bad_seq.and_then(|s| {
        checkpoints
            .iter()
            .map(|c| c.size)
            .find(|size| first + size > s)
    });
    let named = findings.iter().filter_map(|f| f.checkpoint).min();
    report.ok = false;
    report.head = None;
    report.first_bad_seq = first_bad_seq;
    report.reason = Some(earliest.reason.to_string());
    report.first_bad_checkpoint = match (covering, named) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(s) = first_bad_seq {
        let live_from = anchor_seq + 1;
        report.checked = report.checked.min(s.saturating_sub(live_from));
    }
    report.problems = findings.into_iter().map(|f| f.sentence).collect();
}

/// A stored checkpoint, opened.
struct Stored {
    size: u64,
    root: Hash,
    /// The signer's own memory of it (outside the database), not a stored row.
    remembered: bool,
}

/// Every stored checkpoint in size order, each signature checked with `key` when given. One
/// that does not open is a finding and is left out of the root comparison.
fn open_checkpoints(
    src: &mut dyn VerifySource,
    tenant: &str,
    key: Option<&VerifierKey>,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Stored>, StoreError> {
    let rows = src.checkpoints()?;
    let origin = proof::checkpoint_origin(tenant);
    let mut out = Vec::new();
    for (size, note) in rows {
        let opened: Result<OpenedCheckpoint, String> = match key {
            Some(k) => k.open(&note).map_err(|e| e.to_string()),
            None => proof::parse_checkpoint(&note).map_err(|e| e.to_string()),
        };
        match opened {
            Ok(c) if c.size == size && c.origin == origin => out.push(Stored {
                size,
                root: c.root,
                remembered: false,
            }),
            Ok(c) => findings.push(Finding {
                bound: false,
                seq: None,
                checkpoint: Some(size),
                reason: "checkpoint_mismatch",
                sentence: format!(
                    "the checkpoint stored as size {size} signs size {} of {}",
                    c.size,
                    crate::text::inert(&c.origin)
                ),
            }),
            Err(why) => findings.push(Finding {
                bound: false,
                seq: None,
                checkpoint: Some(size),
                reason: "bad_signature",
                sentence: format!("checkpoint {size}: {why}"),
            }),
        }
    }
    Ok(out)
}

/// A prune and a pseudonymisation each leave an entry in the log; rows changed to look like
/// one without it were changed behind trailscope's back.
fn records(seen: &Seen, first: u64, anchor_seq: u64, findings: &mut Vec<Finding>) {
    if anchor_seq > 0 && !seen.prune_anchors.contains(&anchor_seq) {
        let from = seen
            .prune_anchors
            .iter()
            .filter(|a| **a < anchor_seq)
            .max()
            .map_or(first, |a| a + 1);
        findings.push(Finding {
            bound: false,
            seq: Some(from),
            checkpoint: None,
            reason: "unrecorded_prune",
            sentence: format!(
                "seq {from} to {anchor_seq} were removed without a retention.pruned entry recording it"
            ),
        });
    }
    for (pseudonym, seqs) in &seen.pseudonymised {
        let recorded = seen.pseudonym_records.get(pseudonym).copied().unwrap_or(0);
        if let Some(seq) = seqs.iter().copied().find(|s| *s > recorded) {
            findings.push(Finding {
            bound: false,
                seq: Some(seq),
                checkpoint: None,
                reason: "unrecorded_pseudonym",
                sentence: format!(
                    "seq {seq} shows {} with its salts destroyed, but no gdpr.pseudonymised entry after it records that",
                    crate::text::inert(pseudonym)
                ),
            });
        }
    }
}
