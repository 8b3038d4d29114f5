//! Retention's prune: removes a prefix of a tenant's chain through the triggers' one door,
//! archiving it first when asked, and records itself in the log.

use super::heads::{Reply, Writer};
use super::row;
use crate::model::{ChainHead, PruneReport};
use crate::store::{ArchiveRef, ArchiveSink, ArchivedEntry, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;

/// A prune request for the writer thread.
pub struct PruneJob {
    pub tenant: String,
    /// Entries received before this are removed.
    pub cutoff: DateTime<Utc>,
    /// Where the removed entries are written before they are removed.
    pub archive: Option<Arc<dyn ArchiveSink>>,
    pub reply: Reply<PruneReport>,
}

/// Runs one prune inside a single transaction.
pub fn run(
    w: &mut Writer,
    conn: &mut Connection,
    job: &PruneJob,
) -> Result<PruneReport, StoreError> {
    let tenant = job.tenant.as_str();
    let cutoff_ms = job.cutoff.timestamp_millis();
    let tx = conn.transaction()?;
    // The trigram index is pruned with the entries: none may still be waiting for it.
    super::indexer::all(&tx)?;
    // received_at rises with seq, so what is older than the cutoff is a prefix of the chain.
    let upto: Option<u64> = tx.query_row(
        "SELECT max(seq) FROM entries WHERE tenant = ?1 AND received_at < ?2",
        params![tenant, cutoff_ms],
        |r| r.get(0),
    )?;
    let mut report = PruneReport {
        cutoff: job.cutoff,
        removed: 0,
        anchor: None,
        archive: None,
        pruned_at: Utc::now(),
    };
    if let Some(upto) = upto {
        let anchor_hash: String = tx.query_row(
            "SELECT hash FROM entries WHERE tenant = ?1 AND seq = ?2",
            params![tenant, upto],
            |r| r.get(0),
        )?;
        if let Some(sink) = &job.archive {
            match archive(&tx, tenant, upto, job.cutoff, sink.as_ref()) {
                Ok(ArchiveRef(at)) => report.archive = Some(at),
                Err(why) => {
                    let why = why.to_string();
                    drop(tx);
                    record_failure(w, conn, tenant, job, &why)?;
                    return Err(StoreError::Internal(format!(
                        "nothing was pruned: the archive could not be written: {why}"
                    )));
                }
            }
        }
        tx.execute(
            "INSERT INTO maintenance (tenant, op, upto) VALUES (?1, 'prune', ?2)",
            params![tenant, upto],
        )?;
        tx.execute(
            "DELETE FROM entries_fts WHERE rowid IN (SELECT rowid FROM entries WHERE tenant = ?1 AND seq <= ?2)",
            params![tenant, upto],
        )?;
        // What the rollups counted of them goes with them.
        tx.execute(
            &crate::store::rollup::from_entries_sql("tenant = ? AND seq <= ?"),
            params![-1, tenant, upto],
        )?;
        tx.execute(crate::store::rollup::REMOVE_EMPTY, [])?;
        let removed = tx.execute(
            "DELETE FROM entries WHERE tenant = ?1 AND seq <= ?2",
            params![tenant, upto],
        )?;
        tx.execute("DELETE FROM maintenance", [])?;
        report.removed = u64::try_from(removed).unwrap_or(u64::MAX);
        report.anchor = Some(ChainHead {
            seq: upto,
            hash: anchor_hash,
        });
    }
    let anchor_row = report
        .anchor
        .clone()
        .map(|a| (a.seq, a.hash))
        .or_else(|| current_anchor(&tx, tenant).ok().flatten());
    if let Some((seq, hash)) = anchor_row {
        tx.execute(
            "INSERT OR REPLACE INTO chain_anchors (tenant, seq, hash, report) VALUES (?1, ?2, ?3, ?4)",
            params![tenant, seq, hash, serde_json::to_string(&report).unwrap_or_default()],
        )?;
    }
    let event = crate::store::records::pruned(&report);
    w.append_within(&tx, tenant, &[event])?;
    tx.commit()?;
    Ok(report)
}

fn current_anchor(tx: &Connection, tenant: &str) -> rusqlite::Result<Option<(u64, String)>> {
    tx.query_row(
        "SELECT seq, hash FROM chain_anchors WHERE tenant = ?1",
        [tenant],
        |r| Ok((r.get::<_, u64>(0)?, r.get(1)?)),
    )
    .optional()
}

/// A prune that could not archive deletes nothing, and says so in the log.
fn record_failure(
    w: &mut Writer,
    conn: &mut Connection,
    tenant: &str,
    job: &PruneJob,
    why: &str,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let event = crate::store::records::prune_failed(
        job.cutoff,
        job.archive.as_ref().map(|a| a.location()),
        why,
    );
    w.append_within(&tx, tenant, &[event])?;
    tx.commit()?;
    Ok(())
}

/// Hands entries up to `upto` to the archive, oldest first, and finishes it (durably) before
/// anything is deleted.
fn archive(
    tx: &Connection,
    tenant: &str,
    upto: u64,
    cutoff: DateTime<Utc>,
    sink: &dyn ArchiveSink,
) -> Result<ArchiveRef, StoreError> {
    let mut out = sink.begin(tenant, cutoff)?;
    let mut stmt = tx.prepare(&format!(
        "SELECT {} FROM entries WHERE tenant = ?1 AND seq <= ?2 ORDER BY seq",
        row::COLUMNS
    ))?;
    let rows = stmt.query_map(params![tenant, upto], row::from_row)?;
    let (mut first_prev, mut last_hash) = (None, String::new());
    for r in rows {
        let (entry, commitments) = r?;
        if first_prev.is_none() {
            first_prev = Some(entry.prev_hash.clone());
        }
        last_hash = entry.hash.clone();
        out.write(&ArchivedEntry { entry, commitments })?;
    }
    out.finish(first_prev.as_deref().unwrap_or_default(), &last_hash)
}
