//! The Merkle tree's storage: one row of stored hashes per leaf (see [`crate::proof`]), the
//! per-tenant state the writer keeps, building the tree of a database that predates it, and the
//! rows the proofs ([`crate::store::proofs`]) read.

use crate::proof::Frontier;
use crate::store::StoreError;
use crate::store::proofs::{self, ProofRow, ProofSource, TreeRows, hash_bytes, row_blob};
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

/// One tenant's tree and entries through a connection (inside the caller's transaction).
pub(super) struct TenantRows<'a> {
    pub conn: &'a Connection,
    pub tenant: &'a str,
}

impl TreeRows for TenantRows<'_> {
    fn tree_rows(&self, leaves: &[u64]) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hashes FROM tree_rows WHERE tenant = ?1 AND leaf = ?2")?;
        let mut out = Vec::with_capacity(leaves.len());
        for &leaf in leaves {
            let blob: Option<Vec<u8>> = stmt
                .query_row(params![self.tenant, leaf], |r| r.get(0))
                .optional()?;
            out.extend(blob.map(|b| (leaf, b)));
        }
        Ok(out)
    }
}

impl ProofSource for TenantRows<'_> {
    fn extent(&self) -> Result<(u64, u64), StoreError> {
        Ok(extent(self.conn, self.tenant)?)
    }

    fn checkpoint_covering(&self, size: u64) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT size, note FROM checkpoints WHERE tenant = ?1 AND size >= ?2 ORDER BY size LIMIT 1",
            )?
            .query_row(params![self.tenant, size], |r| {
                Ok((r.get::<_, u64>(0)?, r.get(1)?))
            })
            .optional()?)
    }

    fn proof_rows(&self, from: u64, to: u64) -> Result<Vec<ProofRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, hash, prev_hash, commitments, idempotency_key FROM entries \
             WHERE tenant = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![self.tenant, from, to], |r| {
            Ok(ProofRow {
                seq: r.get(0)?,
                hash: r.get(1)?,
                prev_hash: r.get(2)?,
                commitments: r.get(3)?,
                idempotency_key: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
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
    let src = TenantRows { conn, tenant };
    let rows = proofs::Rows::new(&src);
    let mut frontier = Frontier::load(size, &rows).map_err(|e| {
        rows.failure()
            .unwrap_or_else(|| StoreError::Tampered(format!("tenant {tenant}: {e}")))
    })?;
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

/// The tenant's tree as readers see it: (first seq, leaves).
pub(super) fn extent(conn: &Connection, tenant: &str) -> rusqlite::Result<(u64, u64)> {
    Ok((
        first_seq(conn, tenant)?.unwrap_or(1),
        stored_size(conn, tenant)?,
    ))
}
