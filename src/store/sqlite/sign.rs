//! Signing a checkpoint on the writer thread: of the tree as the writer holds it, and only when
//! the tree provably extends the newest stored checkpoint and the one the signer remembers.

use super::heads::{Reply, Writer};
use super::tree::{self, TenantRows};
use crate::model::SignedCheckpoint;
use crate::proof::{self, SigningKey, check_consistency};
use crate::store::StoreError;
use crate::store::checkpoint::{self, Latest};
use crate::store::proofs::{Rows, signed};
use rusqlite::{Connection, params};

/// A request for the writer thread: the newest checkpoint, signed now if the tree grew.
pub struct CheckpointJob {
    pub tenant: String,
    pub key: SigningKey,
    /// What the signer remembers signing: the tree must extend it too.
    pub floor: Option<checkpoint::Remembered>,
    pub reply: Reply<SignedCheckpoint>,
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
    let src = TenantRows { conn, tenant };
    let rows = Rows::new(&src);
    checkpoint::check_floor(tenant, job.floor, size, root, |from| {
        proof::consistency_proof(from, size, &rows)
    })?;
    match checkpoint::judge(
        &job.key,
        tenant,
        tree::latest_checkpoint(conn, tenant)?,
        size,
        root,
    )? {
        Latest::Same(note) => return Ok(signed(size, root, note, &job.key)),
        Latest::Smaller {
            size: last_size,
            root: last_root,
        } => {
            proof::consistency_proof(last_size, size, &rows)
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
