//! Checkpoints and proofs over the tree rows in PostgreSQL. The proofs are the backend-neutral
//! ones ([`crate::store::proofs`]), read from a [`Snapshot`] on a blocking thread. Signing a
//! checkpoint stays async, inside its own transaction: the tree algorithms (src/proof) read rows
//! synchronously through a [`RowReader`], so there they run against rows fetched ahead: a run
//! that asks for a row not fetched yet notes it, the rows are fetched in one query, and the run
//! starts again (a root or a proof reads its rows in one or two rounds).

use super::snapshot::Snapshot;
use super::writer::{extent, read_rows};
use super::{PostgresStore, db_error, internal, row};
use super::{i, u};
use crate::model::{ConsistencyProof, InclusionProof, ProofFile, SignedCheckpoint};
use crate::proof::{self, Hash, ProofError, RowReader, SigningKey, check_consistency};
use crate::store::StoreError;
use crate::store::checkpoint::{self, Latest};
use crate::store::proofs::{self as domain, ProofRow, ProofSource, TreeRows, signed};
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
        self.in_snapshot(tenant, "an inclusion proof", move |src| {
            domain::inclusion(src, seq, size)
        })
        .await
    }

    pub async fn consistency_proof(
        &self,
        tenant: &str,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, StoreError> {
        self.in_snapshot(tenant, "a consistency proof", move |src| {
            domain::consistency(src, from, to)
        })
        .await
    }

    /// The proof that travels with an export of `seqs` (see [`domain::export_proof`]).
    pub async fn export_proof(
        &self,
        tenant: &str,
        seqs: &[u64],
        shows_all: bool,
        key: &SigningKey,
    ) -> Result<ProofFile, StoreError> {
        let seqs = domain::distinct(seqs);
        let covering = match seqs.last() {
            Some(&max) => {
                let (t, k) = (tenant.to_string(), key.clone());
                self.in_snapshot(tenant, "an export proof", move |src| {
                    domain::covering_checkpoint(src, &t, max, &k)
                })
                .await?
            }
            None => None,
        };
        let checkpoint = match covering {
            Some(c) => c,
            None => self.checkpoint_extending(tenant, key, None).await?,
        };
        let t = tenant.to_string();
        self.in_snapshot(tenant, "an export proof", move |src| {
            domain::export_proof(src, &t, &seqs, shows_all, checkpoint)
        })
        .await
    }
}

impl TreeRows for Snapshot {
    fn tree_rows(&self, leaves: &[u64]) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let want: Vec<i64> = leaves.iter().map(|l| i(*l)).collect();
        let rows = self.query(
            "SELECT leaf, hashes FROM tree_rows WHERE tenant = $1 AND leaf = ANY($2)",
            &[&self.tenant, &want],
        )?;
        Ok(rows.iter().map(|r| (u(r.get(0)), r.get(1))).collect())
    }
}

impl ProofSource for Snapshot {
    fn extent(&self) -> Result<(u64, u64), StoreError> {
        self.block_on(extent(&*self.client, &self.tenant))
    }

    fn checkpoint_covering(&self, size: u64) -> Result<Option<(u64, String)>, StoreError> {
        let rows = self.query(
            "SELECT size, note FROM checkpoints WHERE tenant = $1 AND size >= $2 ORDER BY size LIMIT 1",
            &[&self.tenant, &i(size)],
        )?;
        Ok(rows.first().map(|r| (u(r.get(0)), r.get(1))))
    }

    fn proof_rows(&self, from: u64, to: u64) -> Result<Vec<ProofRow>, StoreError> {
        let rows = self.query(
            "SELECT seq, hash, prev_hash, commitments, idempotency_key FROM entries \
             WHERE tenant = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
            &[&self.tenant, &i(from), &i(to)],
        )?;
        Ok(rows
            .iter()
            .map(|r| ProofRow {
                seq: u(r.get(0)),
                hash: r.get(1),
                prev_hash: r.get(2),
                commitments: r.get(3),
                // Stored as every text column is (see [`row::enc`]): read back as sent.
                idempotency_key: r.get::<_, Option<String>>(4).map(row::dec),
            })
            .collect())
    }
}
