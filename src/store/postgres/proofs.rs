//! Checkpoints and proofs over the tree rows in PostgreSQL. The tree algorithms (src/proof) read
//! rows synchronously through a [`RowReader`]; here they run against rows fetched ahead: a run
//! that asks for a row not fetched yet notes it, the rows are fetched in one query, and the run
//! starts again (a root or a proof reads its rows in one or two rounds).

use super::writer::{extent, read_rows};
use super::{PostgresStore, db_error, internal};
use super::{i, u};
use crate::model::{
    ConsistencyProof, EntryProof, ExportProof, FieldProof, InclusionProof, ProofFile,
    SignedCheckpoint,
};
use crate::proof::{self, Hash, ProofError, RowReader, SigningKey, check_consistency, encode_hash};
use crate::store::StoreError;
use crate::store::chain::{Commitments, GENESIS};
use crate::store::checkpoint::{self, Latest};
use deadpool_postgres::GenericClient;
use std::collections::HashMap;
use std::sync::Mutex;

/// Rows fetched so far, and the ones a run missed.
#[derive(Default)]
struct Prefetched {
    rows: Mutex<HashMap<u64, Vec<Hash>>>,
    missing: Mutex<Vec<u64>>,
}

impl RowReader for Prefetched {
    fn read_rows(&self, leaves: &[u64]) -> Result<Vec<Vec<Hash>>, ProofError> {
        let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        let missing: Vec<u64> = leaves
            .iter()
            .filter(|l| !rows.contains_key(l))
            .copied()
            .collect();
        if !missing.is_empty() {
            self.missing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(missing);
            return Err(ProofError::Storage("rows not fetched yet".into()));
        }
        Ok(leaves.iter().map(|l| rows[l].clone()).collect())
    }
}

/// Runs `f` over the tenant's tree rows, fetching what it reads.
async fn with_tree<T>(
    client: &impl GenericClient,
    tenant: &str,
    f: impl Fn(&dyn RowReader) -> Result<T, ProofError>,
) -> Result<Result<T, ProofError>, StoreError> {
    let rows = Prefetched::default();
    for _ in 0..16 {
        let out = f(&rows);
        let missing = std::mem::take(&mut *rows.missing.lock().unwrap_or_else(|p| p.into_inner()));
        if out.is_ok() || missing.is_empty() {
            return Ok(out);
        }
        let fetched = read_rows(client, tenant, &missing).await?;
        let mut have = rows.rows.lock().unwrap_or_else(|p| p.into_inner());
        for leaf in &missing {
            // A row that is not there is not there: a run that needs it fails as it should.
            if !fetched.contains_key(leaf) {
                return Ok(Err(ProofError::Storage(format!(
                    "leaf {leaf} has no stored hashes"
                ))));
            }
        }
        have.extend(fetched);
    }
    Err(internal("a tree read did not settle".into()))
}

fn proof_error(e: ProofError) -> StoreError {
    match e {
        ProofError::OutOfRange(why) => StoreError::BadRequest(why),
        other => internal(other.to_string()),
    }
}

fn signed(size: u64, root: Hash, note: String, key: &SigningKey) -> SignedCheckpoint {
    SignedCheckpoint {
        size,
        root: encode_hash(&root),
        verifier_key: key.verifier_for_note(&note).to_string(),
        checkpoint: note,
    }
}

async fn latest_checkpoint(
    client: &impl GenericClient,
    tenant: &str,
) -> Result<Option<(u64, String)>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT size, note FROM checkpoints WHERE tenant = $1 ORDER BY size DESC LIMIT 1",
            &[&tenant],
        )
        .await
        .map_err(db_error)?
        .map(|r| (u(r.get(0)), r.get(1))))
}

impl PostgresStore {
    /// The newest checkpoint, signed now if the tree grew (and only if it provably extends the
    /// last one). Replicas that sign the same size at once keep the first one stored.
    pub async fn checkpoint_extending(
        &self,
        tenant: &str,
        key: &SigningKey,
        floor: Option<checkpoint::Remembered>,
    ) -> Result<SignedCheckpoint, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await
            .map_err(db_error)?;
        let (_, size) = extent(&tx, tenant).await?;
        let root = with_tree(&tx, tenant, |r| proof::tree_root(size, r))
            .await?
            .map_err(|e| StoreError::Tampered(format!("the tree cannot be read: {e}")))?;
        // What the signer remembers first: a stored checkpoint of this very size proves nothing
        // if the tree no longer extends what was signed before it was deleted.
        if floor.is_some_and(|f| f.size > 0 && f.size < size) {
            // The proof needs the stored rows: fetched first, then judged.
            with_tree(&tx, tenant, |r| {
                let from = floor.map_or(0, |f| f.size);
                proof::consistency_proof(from, size, r)
            })
            .await
            .and_then(|p| checkpoint::check_floor(tenant, floor, size, root, |_| p))?;
        } else {
            checkpoint::check_floor(tenant, floor, size, root, |_| Ok(Vec::new()))?;
        }
        let latest = latest_checkpoint(&tx, tenant).await?;
        match checkpoint::judge(key, tenant, latest, size, root)? {
            Latest::Same(note) => return Ok(signed(size, root, note, key)),
            Latest::Smaller {
                size: last_size,
                root: last_root,
            } => {
                with_tree(&tx, tenant, |r| {
                    proof::consistency_proof(last_size, size, r)
                        .and_then(|p| check_consistency(&p, last_size, last_root, size, root))
                })
                .await?
                .map_err(|e| checkpoint::not_extended(tenant, size, last_size, e))?;
            }
            Latest::Nothing => {}
        }
        let note = key
            .sign_checkpoint(&proof::checkpoint_origin(tenant), size, root)
            .map_err(|e| internal(e.to_string()))?;
        tx.execute(
            "INSERT INTO checkpoints (tenant, size, note, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant, size) DO NOTHING",
            &[
                &tenant,
                &i(size),
                &note,
                &chrono::Utc::now().timestamp_millis(),
            ],
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        // Another replica may have stored this size first: its note is the one kept.
        let stored: String = client
            .query_one(
                "SELECT note FROM checkpoints WHERE tenant = $1 AND size = $2",
                &[&tenant, &i(size)],
            )
            .await
            .map_err(db_error)?
            .get(0);
        Ok(signed(size, root, stored, key))
    }

    pub async fn inclusion_proof(
        &self,
        tenant: &str,
        seq: u64,
        size: u64,
    ) -> Result<InclusionProof, StoreError> {
        let client = self.client().await?;
        let (first, stored) = extent(&client, tenant).await?;
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
        let p = with_tree(&client, tenant, |r| proof::inclusion_proof(size, leaf, r))
            .await?
            .map_err(proof_error)?;
        Ok(InclusionProof {
            seq,
            size,
            leaf_index: leaf,
            proof: p.iter().map(encode_hash).collect(),
        })
    }

    pub async fn consistency_proof(
        &self,
        tenant: &str,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, StoreError> {
        let client = self.client().await?;
        let (_, stored) = extent(&client, tenant).await?;
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
        let p = with_tree(&client, tenant, |r| proof::consistency_proof(from, to, r))
            .await?
            .map_err(proof_error)?;
        Ok(ConsistencyProof {
            from,
            to,
            proof: p.iter().map(encode_hash).collect(),
        })
    }

    /// The earliest stored checkpoint whose tree holds seq `max`, if it verifies with `key` and
    /// its root is the stored tree's root at its size.
    async fn covering_checkpoint(
        &self,
        tenant: &str,
        max: u64,
        key: &SigningKey,
    ) -> Result<Option<SignedCheckpoint>, StoreError> {
        let client = self.client().await?;
        let (first, stored) = extent(&client, tenant).await?;
        let Some(need) = (max + 1).checked_sub(first) else {
            return Ok(None);
        };
        let row = client
            .query_opt(
                "SELECT size, note FROM checkpoints WHERE tenant = $1 AND size >= $2 ORDER BY size LIMIT 1",
                &[&tenant, &i(need)],
            )
            .await
            .map_err(db_error)?;
        let Some((size, note)) = row.map(|r| (u(r.get(0)), r.get::<_, String>(1))) else {
            return Ok(None);
        };
        let Ok(opened) = key.verifier().open(&note) else {
            return Ok(None);
        };
        if opened.size != size || size > stored || opened.origin != proof::checkpoint_origin(tenant)
        {
            return Ok(None);
        }
        match with_tree(&client, tenant, |r| proof::tree_root(size, r)).await? {
            Ok(root) if root == opened.root => Ok(Some(signed(size, root, note, key))),
            _ => Ok(None),
        }
    }

    /// The proof that travels with an export of `seqs` (see the SQLite store's).
    pub async fn export_proof(
        &self,
        tenant: &str,
        seqs: &[u64],
        shows_all: bool,
        key: &SigningKey,
    ) -> Result<ProofFile, StoreError> {
        use base64::Engine;
        let mut seqs = seqs.to_vec();
        seqs.sort_unstable();
        seqs.dedup();
        let covering = match seqs.last() {
            Some(&max) => self.covering_checkpoint(tenant, max, key).await?,
            None => None,
        };
        let checkpoint = match covering {
            Some(c) => c,
            None => self.checkpoint_extending(tenant, key, None).await?,
        };
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
        let client = self.client().await?;
        let (first, _) = extent(&client, tenant).await?;
        if min < first || max - first >= checkpoint.size {
            return Err(internal(format!(
                "seqs {min} to {max} are not all in the tree of checkpoint {} (it begins at seq {first})",
                checkpoint.size
            )));
        }
        let mut hashes = Vec::with_capacity(usize::try_from((max - min + 1) * 32).unwrap_or(0));
        let mut expect = min;
        let mut want = seqs.iter().peekable();
        // In chunks, so a million-entry export never holds its rows at once.
        while expect <= max {
            let upto = (expect + 10_000 - 1).min(max);
            let rows = client
                .query(
                    "SELECT seq, hash, prev_hash, commitments, idempotency_key FROM entries \
                     WHERE tenant = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
                    &[&tenant, &i(expect), &i(upto)],
                )
                .await
                .map_err(db_error)?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let seq = u(r.get(0));
                let hash: String = r.get(1);
                let bytes: [u8; 32] = hex::decode(&hash)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .filter(|_| seq == expect)
                    .ok_or_else(|| {
                        internal(format!(
                            "the entries from seq {min} to {max} are not whole at seq {expect}; run verify"
                        ))
                    })?;
                if seq == min {
                    proof.prev_hash = r.get(2);
                }
                hashes.extend_from_slice(&bytes);
                expect += 1;
                if want.peek() != Some(&&seq) {
                    continue;
                }
                want.next();
                let commitments: String = r.get(3);
                let commitments: Commitments = serde_json::from_str(&commitments)
                    .map_err(|_| internal(format!("seq {seq}'s commitments are malformed")))?;
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
                let idempotency_key: Option<String> = r.get(4);
                proof.items.push(EntryProof {
                    seq,
                    personal,
                    idempotency_key: idempotency_key.filter(|_| !shows_all),
                });
            }
        }
        if expect != max + 1 || want.next().is_some() {
            return Err(internal(format!(
                "the entries from seq {min} to {max} are not whole; run verify"
            )));
        }
        let (lo, hi) = (min - first, max - first + 1);
        let size = checkpoint.size;
        let p = with_tree(&client, tenant, |r| proof::range_proof(size, lo, hi, r))
            .await?
            .map_err(proof_error)?;
        proof.first_seq = Some(min);
        proof.last_seq = Some(max);
        proof.first_leaf = lo;
        proof.hashes = base64::engine::general_purpose::STANDARD.encode(&hashes);
        proof.range_proof = p.iter().map(encode_hash).collect();
        Ok(ProofFile { checkpoint, proof })
    }
}
