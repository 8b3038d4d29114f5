//! The Merkle tree's storage: one row of stored hashes per leaf (see [`crate::proof`]), the
//! per-tenant state the writer keeps, building the tree of a database that predates it, signing
//! checkpoints, and the proofs readers serve.

use super::writer::Writer;
use crate::model::{ConsistencyProof, InclusionProof, SignedCheckpoint};
use crate::proof::{
    self, Frontier, Hash, ProofError, RowReader, SigningKey, check_consistency, encode_hash,
};
use crate::store::StoreError;
use crate::store::checkpoint::{self, Latest};
use rusqlite::{Connection, OptionalExtension, params};

/// What the writer keeps per tenant to append leaves without reading the tree back.
#[derive(Debug, Clone)]
pub(super) struct TreeState {
    /// The seq of leaf 0.
    pub first_seq: u64,
    pub frontier: Frontier,
}

impl TreeState {
    pub fn new() -> TreeState {
        TreeState {
            first_seq: 1,
            frontier: Frontier::default(),
        }
    }
}

/// Reads leaf rows of one tenant's tree through a connection.
pub(super) struct DbRows<'a> {
    pub conn: &'a Connection,
    pub tenant: &'a str,
}

impl RowReader for DbRows<'_> {
    fn read_rows(&self, leaves: &[u64]) -> Result<Vec<Vec<Hash>>, ProofError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hashes FROM tree_rows WHERE tenant = ?1 AND leaf = ?2")
            .map_err(|e| ProofError::Storage(e.to_string()))?;
        leaves
            .iter()
            .map(|leaf| {
                let blob: Option<Vec<u8>> = stmt
                    .query_row(params![self.tenant, *leaf], |r| r.get(0))
                    .optional()
                    .map_err(|e| ProofError::Storage(e.to_string()))?;
                let blob = blob.ok_or_else(|| {
                    ProofError::Storage(format!("leaf {leaf} has no stored hashes"))
                })?;
                split_row(&blob)
                    .ok_or_else(|| ProofError::Storage(format!("leaf {leaf}'s row is malformed")))
            })
            .collect()
    }
}

/// A row's hashes as stored: 32 bytes each, level 0 first.
pub(super) fn row_blob(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// The inverse of [`row_blob`]; `None` when the blob is not a whole number of hashes.
pub(super) fn split_row(blob: &[u8]) -> Option<Vec<Hash>> {
    if blob.is_empty() || !blob.len().is_multiple_of(32) {
        return None;
    }
    Some(
        blob.chunks_exact(32)
            .map(|c| Hash(c.try_into().expect("chunks of 32")))
            .collect(),
    )
}

/// An entry's hex `hash` as the 32 bytes the tree's leaf is made of.
pub(super) fn hash_bytes(hex_hash: &str) -> Option<[u8; 32]> {
    hex::decode(hex_hash).ok()?.try_into().ok()
}

/// Leaves stored for `tenant`.
pub(super) fn stored_size(conn: &Connection, tenant: &str) -> rusqlite::Result<u64> {
    let max: Option<u64> = conn
        .prepare_cached("SELECT max(leaf) FROM tree_rows WHERE tenant = ?1")?
        .query_row([tenant], |r| r.get(0))?;
    Ok(max.map_or(0, |m| m + 1))
}

/// The seq of the tenant's leaf 0, if the tenant has a tree.
pub(super) fn first_seq(conn: &Connection, tenant: &str) -> rusqlite::Result<Option<u64>> {
    conn.prepare_cached("SELECT first_seq FROM trees WHERE tenant = ?1")?
        .query_row([tenant], |r| r.get::<_, u64>(0))
        .optional()
}

/// Loads the tenant's tree state, building the leaves a database from before the tree lacks
/// (every entry up to `head_seq`), in the caller's transaction. Returns the state and how many
/// leaves were built.
pub(super) fn load_or_build(
    conn: &Connection,
    tenant: &str,
    head_seq: u64,
) -> Result<(TreeState, u64), StoreError> {
    let first = match first_seq(conn, tenant)? {
        Some(f) => f,
        None => {
            // A log pruned before it had a tree: its leaves start after the anchor.
            let anchor: Option<u64> = conn
                .query_row(
                    "SELECT seq FROM chain_anchors WHERE tenant = ?1",
                    [tenant],
                    |r| r.get(0),
                )
                .optional()?;
            let first = anchor.map_or(1, |a| a + 1);
            conn.execute(
                "INSERT INTO trees (tenant, first_seq) VALUES (?1, ?2)",
                params![tenant, first],
            )?;
            first
        }
    };
    let size = stored_size(conn, tenant)?;
    let mut frontier = Frontier::load(size, &DbRows { conn, tenant })
        .map_err(|e| StoreError::Tampered(format!("tenant {tenant}: {e}")))?;
    let want = (head_seq + 1).saturating_sub(first);
    if size > want {
        return Err(StoreError::Tampered(format!(
            "tenant {tenant}: the tree holds {size} leaves but the chain ends at seq {head_seq}: entries were cut from the end; run verify"
        )));
    }
    let mut built = 0;
    if size < want {
        let mut stmt = conn.prepare(
            "SELECT seq, hash FROM entries WHERE tenant = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
        )?;
        let mut insert =
            conn.prepare("INSERT INTO tree_rows (tenant, leaf, hashes) VALUES (?1, ?2, ?3)")?;
        let mut rows = stmt.query(params![tenant, first + size, head_seq])?;
        while let Some(r) = rows.next()? {
            let seq = r.get::<_, u64>(0)?;
            let hash: String = r.get(1)?;
            let leaf = frontier.size();
            let bytes = hash_bytes(&hash);
            let (true, Some(bytes)) = (seq == first + leaf, bytes) else {
                return Err(StoreError::Tampered(format!(
                    "tenant {tenant}: the tree cannot be built past seq {}: the chain is broken there; run verify",
                    first + leaf
                )));
            };
            let row = frontier.push(&bytes);
            insert.execute(params![tenant, leaf, row_blob(&row)])?;
            built += 1;
        }
    }
    Ok((
        TreeState {
            first_seq: first,
            frontier,
        },
        built,
    ))
}

/// A request for the writer thread: the newest checkpoint, signed now if the tree grew.
pub struct CheckpointJob {
    pub tenant: String,
    pub key: SigningKey,
    /// What the signer remembers signing: the tree must extend it too.
    pub floor: Option<checkpoint::Remembered>,
    pub reply: super::writer::Reply<SignedCheckpoint>,
}

/// The newest checkpoint stored for the tenant: (size, note).
pub(super) fn latest_checkpoint(
    conn: &Connection,
    tenant: &str,
) -> rusqlite::Result<Option<(u64, String)>> {
    conn.prepare_cached(
        "SELECT size, note FROM checkpoints WHERE tenant = ?1 ORDER BY size DESC LIMIT 1",
    )?
    .query_row([tenant], |r| Ok((r.get::<_, u64>(0)?, r.get(1)?)))
    .optional()
}

fn signed(size: u64, root: Hash, note: String, key: &SigningKey) -> SignedCheckpoint {
    SignedCheckpoint {
        size,
        root: encode_hash(&root),
        verifier_key: key.verifier_for_note(&note).to_string(),
        checkpoint: note,
    }
}

/// Signs and stores a checkpoint of the tree as the writer holds it, unless the newest stored
/// one already covers it. Refuses to sign a tree that does not provably extend the newest
/// checkpoint: a database changed behind the server's back is never blessed with a signature.
pub(super) fn checkpoint(
    w: &Writer,
    conn: &Connection,
    job: &CheckpointJob,
) -> Result<SignedCheckpoint, StoreError> {
    let tenant = job.tenant.as_str();
    let frontier = w
        .tree(tenant)
        .map(|t| t.frontier.clone())
        .unwrap_or_default();
    let (size, root) = (frontier.size(), frontier.root());
    checkpoint::check_floor(tenant, job.floor, size, root, |from| {
        proof::consistency_proof(from, size, &DbRows { conn, tenant })
    })?;
    match checkpoint::judge(
        &job.key,
        tenant,
        latest_checkpoint(conn, tenant)?,
        size,
        root,
    )? {
        Latest::Same(note) => return Ok(signed(size, root, note, &job.key)),
        Latest::Smaller {
            size: last_size,
            root: last_root,
        } => {
            proof::consistency_proof(last_size, size, &DbRows { conn, tenant })
                .and_then(|p| check_consistency(&p, last_size, last_root, size, root))
                .map_err(|e| checkpoint::not_extended(tenant, size, last_size, e))?;
        }
        Latest::Nothing => {}
    }
    let note = job
        .key
        .sign_checkpoint(&proof::checkpoint_origin(tenant), size, root)
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    conn.execute(
        "INSERT INTO checkpoints (tenant, size, note, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![tenant, size, note, chrono::Utc::now().timestamp_millis()],
    )?;
    Ok(signed(size, root, note, &job.key))
}

/// The tenant's tree as readers see it: (first seq, leaves).
pub(super) fn extent(conn: &Connection, tenant: &str) -> rusqlite::Result<(u64, u64)> {
    Ok((
        first_seq(conn, tenant)?.unwrap_or(1),
        stored_size(conn, tenant)?,
    ))
}

fn proof_error(e: ProofError) -> StoreError {
    match e {
        ProofError::OutOfRange(why) => StoreError::BadRequest(why),
        other => StoreError::Internal(other.to_string()),
    }
}

/// `GET /v1/proof/inclusion`: entry `seq` is in the tree of `size` leaves.
pub(super) fn inclusion(
    conn: &Connection,
    tenant: &str,
    seq: u64,
    size: u64,
) -> Result<InclusionProof, StoreError> {
    let (first, stored) = extent(conn, tenant)?;
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
    let p = proof::inclusion_proof(size, leaf, &DbRows { conn, tenant }).map_err(proof_error)?;
    Ok(InclusionProof {
        seq,
        size,
        leaf_index: leaf,
        proof: p.iter().map(encode_hash).collect(),
    })
}

/// `GET /v1/proof/consistency`: the tree of `from` leaves is a prefix of the tree of `to`.
pub(super) fn consistency(
    conn: &Connection,
    tenant: &str,
    from: u64,
    to: u64,
) -> Result<ConsistencyProof, StoreError> {
    let (_, stored) = extent(conn, tenant)?;
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
    let p = proof::consistency_proof(from, to, &DbRows { conn, tenant }).map_err(proof_error)?;
    Ok(ConsistencyProof {
        from,
        to,
        proof: p.iter().map(encode_hash).collect(),
    })
}

/// The proof of an export of `seqs` (sorted, distinct) against `checkpoint`; see
/// [`crate::model::ExportProof`].
pub(super) fn export_proof(
    conn: &Connection,
    tenant: &str,
    seqs: &[u64],
    shows_all: bool,
    checkpoint: crate::model::SignedCheckpoint,
) -> Result<crate::model::ProofFile, StoreError> {
    use crate::model::{EntryProof, ExportProof, FieldProof};
    use crate::store::chain::{Commitments, GENESIS};
    use base64::Engine;
    let mut proof = ExportProof {
        version: 1,
        format: String::new(),
        tenant: tenant.to_string(),
        entries: seqs.len() as u64,
        first_seq: None,
        last_seq: None,
        first_leaf: 0,
        prev_hash: GENESIS.to_string(),
        hashes: String::new(),
        range_proof: Vec::new(),
        items: Vec::with_capacity(seqs.len()),
    };
    let (Some(&min), Some(&max)) = (seqs.first(), seqs.last()) else {
        return Ok(crate::model::ProofFile { checkpoint, proof });
    };
    let (first, _) = extent(conn, tenant)?;
    if min < first || max - first >= checkpoint.size {
        return Err(StoreError::Internal(format!(
            "seqs {min} to {max} are not all in the tree of checkpoint {} (it begins at seq {first})",
            checkpoint.size
        )));
    }
    let mut stmt = conn.prepare(
        "SELECT seq, hash, prev_hash, commitments, idempotency_key FROM entries \
         WHERE tenant = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
    )?;
    let mut rows = stmt.query(params![tenant, min, max])?;
    let mut hashes = Vec::with_capacity(usize::try_from((max - min + 1) * 32).unwrap_or(0));
    let mut expect = min;
    let mut want = seqs.iter().peekable();
    while let Some(r) = rows.next()? {
        let seq = r.get::<_, u64>(0)?;
        let hash: String = r.get(1)?;
        let bytes = hash_bytes(&hash).filter(|_| seq == expect).ok_or_else(|| {
            StoreError::Tampered(format!(
                "the entries from seq {min} to {max} are not whole at seq {expect}; run verify"
            ))
        })?;
        if seq == min {
            proof.prev_hash = r.get(2)?;
        }
        hashes.extend_from_slice(&bytes);
        expect += 1;
        if want.peek() != Some(&&seq) {
            continue;
        }
        want.next();
        let commitments: String = r.get(3)?;
        let commitments: Commitments = serde_json::from_str(&commitments)
            .map_err(|_| StoreError::Tampered(format!("seq {seq}'s commitments are malformed")))?;
        let personal = commitments
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
            .collect();
        let idempotency_key: Option<String> = r.get(4)?;
        proof.items.push(EntryProof {
            seq,
            personal,
            idempotency_key: idempotency_key.filter(|_| !shows_all),
        });
    }
    if expect != max + 1 || want.next().is_some() {
        return Err(StoreError::Tampered(format!(
            "the entries from seq {min} to {max} are not whole; run verify"
        )));
    }
    let (lo, hi) = (min - first, max - first + 1);
    let p = proof::range_proof(checkpoint.size, lo, hi, &DbRows { conn, tenant })
        .map_err(proof_error)?;
    proof.first_seq = Some(min);
    proof.last_seq = Some(max);
    proof.first_leaf = lo;
    proof.hashes = base64::engine::general_purpose::STANDARD.encode(&hashes);
    proof.range_proof = p.iter().map(encode_hash).collect();
    Ok(crate::model::ProofFile { checkpoint, proof })
}

/// The earliest stored checkpoint whose tree holds seq `max`, if its signature verifies with
/// `key` and its root is the stored tree's root at its size; `None` otherwise.
pub(super) fn covering_checkpoint(
    conn: &Connection,
    tenant: &str,
    max: u64,
    key: &SigningKey,
) -> Result<Option<crate::model::SignedCheckpoint>, StoreError> {
    let (first, stored) = extent(conn, tenant)?;
    let Some(need) = (max + 1).checked_sub(first) else {
        return Ok(None);
    };
    let row: Option<(u64, String)> = conn
        .prepare_cached(
            "SELECT size, note FROM checkpoints WHERE tenant = ?1 AND size >= ?2 ORDER BY size LIMIT 1",
        )?
        .query_row(params![tenant, need], |r| {
            Ok((r.get::<_, u64>(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((size, note)) = row else {
        return Ok(None);
    };
    let Ok(opened) = key.verifier().open(&note) else {
        return Ok(None);
    };
    if opened.size != size || size > stored || opened.origin != proof::checkpoint_origin(tenant) {
        return Ok(None);
    }
    match proof::tree_root(size, &DbRows { conn, tenant }) {
        Ok(root) if root == opened.root => Ok(Some(signed(size, root, note, key))),
        _ => Ok(None),
    }
}
