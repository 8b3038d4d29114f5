//! The proof that travels with an export (API.md "Exports prove themselves offline"): every
//! hash of the seq range the exported entries span, the exported entries' salts or
//! commitments, and the range proof against a signed checkpoint.

use super::{ProofRow, ProofSource, Rows, hash_bytes};
use crate::model::{EntryProof, ExportProof, FieldProof, ProofFile, SignedCheckpoint};
use crate::proof::{self, encode_hash};
use crate::store::StoreError;
use crate::store::chain::{Commitments, GENESIS};
use base64::Engine;
use std::collections::BTreeMap;
use std::iter::Peekable;
use std::slice::Iter;

/// Seqs read per round, so a million-entry export never holds its rows at once.
pub(super) const CHUNK: u64 = 10_000;

/// The proof of an export of `seqs` (sorted, distinct: see [`super::distinct`]) against
/// `checkpoint`; see [`ExportProof`]. `shows_all` is false for a format that leaves out the
/// user agent and the idempotency key (CSV). A range that is not whole, or an entry whose hash
/// or commitments are malformed, is [`StoreError::Tampered`].
pub fn export_proof(
    src: &dyn ProofSource,
    tenant: &str,
    seqs: &[u64],
    shows_all: bool,
    checkpoint: SignedCheckpoint,
) -> Result<ProofFile, StoreError> {
    let mut proof = ExportProof {
        version: 1,
        format: String::new(),
        tenant: tenant.to_string(),
        entries: u64::try_from(seqs.len()).unwrap_or(u64::MAX),
        first_seq: None,
        last_seq: None,
        first_leaf: 0,
        prev_hash: GENESIS.to_string(),
        hashes: String::new(),
        range_proof: Vec::new(),
        items: Vec::with_capacity(seqs.len()),
    };
    let (Some(&min), Some(&max)) = (seqs.first(), seqs.last()) else {
        return Ok(ProofFile { checkpoint, proof });
    };
    let (first, _) = src.extent()?;
    if min < first || max - first >= checkpoint.size {
        return Err(StoreError::Internal(format!(
            "seqs {min} to {max} are not all in the tree of checkpoint {} (it begins at seq {first})",
            checkpoint.size
        )));
    }
    let mut range = Range::new(min, max, seqs, shows_all);
    while range.expect <= max {
        let rows = src.proof_rows(range.expect, (range.expect + CHUNK - 1).min(max))?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            range.take(row)?;
        }
    }
    let (hashes, items, prev_hash) = range.finish()?;
    let (lo, hi) = (min - first, max - first + 1);
    let rows = Rows::new(src);
    let p = proof::range_proof(checkpoint.size, lo, hi, &rows).map_err(|e| rows.error(e))?;
    proof.first_seq = Some(min);
    proof.last_seq = Some(max);
    proof.first_leaf = lo;
    proof.prev_hash = prev_hash;
    proof.items = items;
    proof.hashes = base64::engine::general_purpose::STANDARD.encode(&hashes);
    proof.range_proof = p.iter().map(encode_hash).collect();
    Ok(ProofFile { checkpoint, proof })
}

/// The walk over the range `min..=max`, a row at a time.
struct Range<'a> {
    min: u64,
    max: u64,
    /// The seq the next row must have.
    expect: u64,
    want: Peekable<Iter<'a, u64>>,
    shows_all: bool,
    hashes: Vec<u8>,
    items: Vec<EntryProof>,
    prev_hash: String,
}

impl<'a> Range<'a> {
    fn new(min: u64, max: u64, seqs: &'a [u64], shows_all: bool) -> Range<'a> {
        Range {
            min,
            max,
            expect: min,
            want: seqs.iter().peekable(),
            shows_all,
            hashes: Vec::with_capacity(usize::try_from((max - min + 1) * 32).unwrap_or(0)),
            items: Vec::with_capacity(seqs.len()),
            prev_hash: GENESIS.to_string(),
        }
    }

    /// The next row of the range: it must be the next seq, with a well-formed hash.
    fn take(&mut self, row: ProofRow) -> Result<(), StoreError> {
        let (min, max, expect) = (self.min, self.max, self.expect);
        let bytes = hash_bytes(&row.hash)
            .filter(|_| row.seq == expect)
            .ok_or_else(|| {
                StoreError::Tampered(format!(
                    "the entries from seq {min} to {max} are not whole at seq {expect}; run verify"
                ))
            })?;
        if row.seq == min {
            self.prev_hash = row.prev_hash;
        }
        self.hashes.extend_from_slice(&bytes);
        self.expect += 1;
        if self.want.next_if_eq(&&row.seq).is_some() {
            let personal = personal(row.seq, &row.commitments, self.shows_all)?;
            self.items.push(EntryProof {
                seq: row.seq,
                personal,
                idempotency_key: row.idempotency_key.filter(|_| !self.shows_all),
            });
        }
        Ok(())
    }

    /// The range's hashes, the exported entries' proofs and the hash before the range, once
    /// every seq of it was taken.
    fn finish(mut self) -> Result<(Vec<u8>, Vec<EntryProof>, String), StoreError> {
        if self.expect != self.max + 1 || self.want.next().is_some() {
            return Err(StoreError::Tampered(format!(
                "the entries from seq {} to {} are not whole; run verify",
                self.min, self.max
            )));
        }
        Ok((self.hashes, self.items, self.prev_hash))
    }
}

/// Per personal field of entry `seq`: its salt where the file shows the text and the salt still
/// exists, else its commitment.
fn personal(
    seq: u64,
    commitments: &str,
    shows_all: bool,
) -> Result<BTreeMap<String, FieldProof>, StoreError> {
    let commitments: Commitments = serde_json::from_str(commitments)
        .map_err(|_| StoreError::Tampered(format!("seq {seq}'s commitments are malformed")))?;
    Ok(commitments
        .into_iter()
        .map(|(field, c)| {
            let shown = shows_all || field != "user_agent";
            let fp = match c.s {
                Some(s) if shown => FieldProof {
                    s: Some(s),
                    c: None,
                },
                _ => FieldProof {
                    s: None,
                    c: Some(c.c),
                },
            };
            (field, fp)
        })
        .collect())
}
