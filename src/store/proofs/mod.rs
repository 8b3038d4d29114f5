//! Proofs, for every store: inclusion and consistency proofs, the checkpoint that covers an
//! export, and the proof an export carries. Written once here; a store supplies only rows,
//! through [`ProofSource`], from one snapshot of its own making (SQLite: a read transaction on
//! its connection; PostgreSQL: a REPEATABLE READ transaction read from a blocking thread, the
//! way [`crate::store::verify`] runs), so the same damaged row gives the same error everywhere.

use crate::model::{ConsistencyProof, InclusionProof, SignedCheckpoint};
use crate::proof::{self, Hash, SigningKey, encode_hash};
use crate::store::StoreError;

mod export;
pub mod rows;

pub use export::export_proof;
pub use rows::{Rows, TreeRows, hash_bytes, row_blob, split_row};

/// One entry as an export proof reads it.
#[derive(Debug, Clone)]
pub struct ProofRow {
    pub seq: u64,
    /// Hex, as stored.
    pub hash: String,
    pub prev_hash: String,
    /// JSON, as stored: parsed (and refused when malformed) here, once for every store.
    pub commitments: String,
    pub idempotency_key: Option<String>,
}

/// What a store shows the proofs of one tenant, all from one snapshot.
pub trait ProofSource: TreeRows {
    /// The tree: (seq of leaf 0, leaves stored).
    fn extent(&self) -> Result<(u64, u64), StoreError>;
    /// The smallest stored checkpoint of at least `size` leaves: (size, note).
    fn checkpoint_covering(&self, size: u64) -> Result<Option<(u64, String)>, StoreError>;
    /// Every entry with a seq in `from..=to`, in seq order (the caller asks for at most
    /// [`export::CHUNK`] seqs at a time).
    fn proof_rows(&self, from: u64, to: u64) -> Result<Vec<ProofRow>, StoreError>;
}

/// A checkpoint's note as the API serves it.
pub fn signed(size: u64, root: Hash, note: String, key: &SigningKey) -> SignedCheckpoint {
    SignedCheckpoint {
        size,
        root: encode_hash(&root),
        verifier_key: key.verifier_for_note(&note).to_string(),
        checkpoint: note,
    }
}

/// `seqs` sorted, each once: what an export proof is made of.
pub fn distinct(seqs: &[u64]) -> Vec<u64> {
    let mut seqs = seqs.to_vec();
    seqs.sort_unstable();
    seqs.dedup();
    seqs
}

/// `GET /v1/proof/inclusion`: entry `seq` is in the tree of `size` leaves.
pub fn inclusion(src: &dyn ProofSource, seq: u64, size: u64) -> Result<InclusionProof, StoreError> {
    let (first, stored) = src.extent()?;
    if size == 0 {
        return Err(StoreError::BadRequest("size must be at least 1".into()));
    }
    if size > stored {
        return Err(StoreError::NotFound(format!(
            "the log's tree holds {stored} entries; there is no tree of size {size} yet"
        )));
    }
    if seq < first {
        return Err(StoreError::NotFound(format!(
            "seq {seq} is not in the tree, which begins at seq {first}"
        )));
    }
    let leaf = seq - first;
    if leaf >= size {
        return Err(StoreError::BadRequest(format!(
            "seq {seq} is not in the tree of size {size} (it holds seq {first} to {})",
            first + size - 1
        )));
    }
    let rows = Rows::new(src);
    let p = proof::inclusion_proof(size, leaf, &rows).map_err(|e| rows.error(e))?;
    Ok(InclusionProof {
        seq,
        size,
        leaf_index: leaf,
        proof: p.iter().map(encode_hash).collect(),
    })
}

/// `GET /v1/proof/consistency`: the tree of `from` leaves is a prefix of the tree of `to`.
pub fn consistency(
    src: &dyn ProofSource,
    from: u64,
    to: u64,
) -> Result<ConsistencyProof, StoreError> {
    let (_, stored) = src.extent()?;
    if from == 0 || from > to {
        return Err(StoreError::BadRequest(format!(
            "a consistency proof needs 1 <= from <= to; got from {from}, to {to}"
        )));
    }
    if to > stored {
        return Err(StoreError::NotFound(format!(
            "the log's tree holds {stored} entries; there is no tree of size {to} yet"
        )));
    }
    let rows = Rows::new(src);
    let p = proof::consistency_proof(from, to, &rows).map_err(|e| rows.error(e))?;
    Ok(ConsistencyProof {
        from,
        to,
        proof: p.iter().map(encode_hash).collect(),
    })
}

/// The earliest stored checkpoint whose tree holds seq `max`, if its signature verifies with
/// `key` and its root is the stored tree's root at its size; `None` otherwise (the caller signs
/// the newest). The same entries always get the same proof this way: an evidence pack stays
/// byte for byte the same however the log grew since.
pub fn covering_checkpoint(
    src: &dyn ProofSource,
    tenant: &str,
    max: u64,
    key: &SigningKey,
) -> Result<Option<SignedCheckpoint>, StoreError> {
    let (first, stored) = src.extent()?;
    let Some(need) = (max + 1).checked_sub(first) else {
        return Ok(None);
    };
    let Some((size, note)) = src.checkpoint_covering(need)? else {
        return Ok(None);
    };
    let Ok(opened) = key.verifier().open(&note) else {
        return Ok(None);
    };
    if opened.size != size || size > stored || opened.origin != proof::checkpoint_origin(tenant) {
        return Ok(None);
    }
    let rows = Rows::new(src);
    match proof::tree_root(size, &rows) {
        Ok(root) if root == opened.root => Ok(Some(signed(size, root, note, key))),
        // A read that failed is not a checkpoint that no longer holds.
        _ => rows.failure().map_or(Ok(None), Err),
    }
}
