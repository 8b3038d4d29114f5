//! The engine's integrity reads: verify, checkpoints and the proofs served and exported. Each
//! runs on a read connection (a checkpoint signs through the writer when the tree grew).

use super::*;
use crate::store::proofs;

impl SqliteDb {
    pub fn verify(
        &self,
        tenant: &str,
        key: Option<&VerifierKey>,
        remembered: Option<crate::store::checkpoint::Remembered>,
    ) -> Result<VerifyReport, StoreError> {
        let mut unwatched = crate::store::verify::Progress::new(None);
        self.verify_watched(tenant, key, remembered, &mut unwatched)
    }

    /// [`SqliteDb::verify`], telling `progress` how far it got (and stopping when nobody
    /// watches it any more).
    pub fn verify_watched(
        &self,
        tenant: &str,
        key: Option<&VerifierKey>,
        remembered: Option<crate::store::checkpoint::Remembered>,
        progress: &mut crate::store::verify::Progress,
    ) -> Result<VerifyReport, StoreError> {
        self.with_reader(|conn| {
            // One snapshot for the whole walk: the chain, the tree and the checkpoints agree.
            let tx = conn.unchecked_transaction()?;
            let report = verify::run(&tx, tenant, key, remembered, progress);
            drop(tx);
            report
        })
    }

    pub fn checkpoint(
        &self,
        tenant: &str,
        key: &SigningKey,
        floor: Option<crate::store::checkpoint::Remembered>,
    ) -> Result<SignedCheckpoint, StoreError> {
        // Most calls find the newest checkpoint already covers the tree: no need to queue
        // behind the writer for that.
        let current = self.with_reader(|conn| {
            let tx = conn.unchecked_transaction()?;
            let (_, size) = tree::extent(&tx, tenant)?;
            let Some((last, note)) = tree::latest_checkpoint(&tx, tenant)? else {
                return Ok(None);
            };
            let src = tree::TenantRows { conn: &tx, tenant };
            let rows = crate::store::proofs::Rows::new(&src);
            let root = crate::proof::tree_root(size, &rows);
            if let Ok(root) = root {
                crate::store::checkpoint::check_floor(tenant, floor, size, root, |from| {
                    crate::proof::consistency_proof(from, size, &rows)
                })?;
            }
            Ok((last == size && size > 0).then_some((size, note, root)))
        })?;
        // Only a checkpoint whose root the stored tree still has: anything else goes to the
        // writer, which checks and, if the tree was changed, refuses.
        if let Some((size, note, Ok(root))) = current
            && let Ok(c) = key.verifier().open(&note)
            && c.size == size
            && c.root == root
        {
            return Ok(SignedCheckpoint {
                size,
                root: crate::proof::encode_hash(&c.root),
                verifier_key: key.verifier_for(tenant).to_string(),
                checkpoint: note,
            });
        }
        self.submit(|reply| {
            writer::Work::Checkpoint(Box::new(sign::CheckpointJob {
                tenant: tenant.to_string(),
                key: key.clone(),
                floor,
                reply,
            }))
        })
    }

    pub fn export_proof(
        &self,
        tenant: &str,
        seqs: &[u64],
        shows_all: bool,
        key: &SigningKey,
    ) -> Result<ProofFile, StoreError> {
        let seqs = proofs::distinct(seqs);
        let covering = match seqs.last() {
            Some(&max) => self.with_proofs(tenant, |src| {
                proofs::covering_checkpoint(src, tenant, max, key)
            })?,
            None => None,
        };
        let checkpoint = match covering {
            Some(c) => c,
            None => self.checkpoint(tenant, key, None)?,
        };
        self.with_proofs(tenant, |src| {
            proofs::export_proof(src, tenant, &seqs, shows_all, checkpoint)
        })
    }

    pub fn inclusion_proof(
        &self,
        tenant: &str,
        seq: u64,
        size: u64,
    ) -> Result<InclusionProof, StoreError> {
        self.with_proofs(tenant, |src| proofs::inclusion(src, seq, size))
    }

    pub fn consistency_proof(
        &self,
        tenant: &str,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, StoreError> {
        self.with_proofs(tenant, |src| proofs::consistency(src, from, to))
    }

    /// Runs `f` over the tenant's rows in one read transaction.
    fn with_proofs<T>(
        &self,
        tenant: &str,
        f: impl FnOnce(&dyn proofs::ProofSource) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_reader(|conn| {
            let tx = conn.unchecked_transaction()?;
            f(&tree::TenantRows { conn: &tx, tenant })
        })
    }

    pub fn schema_tampering(&self) -> Result<Vec<String>, StoreError> {
        self.with_reader(|conn| Ok(schema::tampering(conn)?))
    }
}
