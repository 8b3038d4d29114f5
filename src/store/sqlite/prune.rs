//! Retention's prune: removes a prefix of a tenant's chain through the triggers' one door,
//! archiving it first when asked, and records itself in the log.

use super::row;
use super::writer::Writer;
use crate::model::{ChainHead, Entry, Kind, NewEvent, PruneReport, format_ts};
use crate::store::StoreError;
use crate::store::chain::Commitments;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

/// A prune request for the writer thread.
pub struct PruneJob {
    pub tenant: String,
    /// Entries received before this are removed.
    pub cutoff: DateTime<Utc>,
    /// Write the removed entries here (gzip NDJSON and a manifest) before removing them.
    pub archive_dir: Option<PathBuf>,
    pub reply: SyncSender<Result<PruneReport, StoreError>>,
}

/// One archived line: the entry and the commitments its hash was computed with.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ArchivedEntry {
    pub entry: Entry,
    pub commitments: Commitments,
}

/// An archive's manifest: what it holds and how to check it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ArchiveManifest {
    pub tenant: String,
    pub count: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The `prev_hash` of the first archived entry: where this archive hangs on the chain.
    pub first_prev_hash: String,
    /// The hash of the last archived entry: the live log's anchor after the prune.
    pub last_hash: String,
    /// The archive file's name, beside the manifest, and its SHA-256.
    pub file: String,
    pub sha256: String,
    #[serde(with = "crate::model::ts_serde")]
    pub cutoff: DateTime<Utc>,
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
        let (first_seq, anchor_hash): (u64, String) = tx.query_row(
            "SELECT (SELECT min(seq) FROM entries WHERE tenant = ?1), hash FROM entries WHERE tenant = ?1 AND seq = ?2",
            params![tenant, upto],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if let Some(dir) = &job.archive_dir {
            match archive(&tx, tenant, first_seq, upto, job.cutoff, dir) {
                Ok(path) => report.archive = Some(path.display().to_string()),
                Err(why) => {
                    drop(tx);
                    record_failure(w, conn, tenant, job, &why)?;
                    return Err(StoreError::Invalid(format!(
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
    let event = NewEvent {
        action: "retention.pruned".into(),
        kind: Some(Kind::Deleted),
        channel: Some("system".into()),
        description: Some(format!(
            "Retention removed {} entries received before {}",
            report.removed,
            format_ts(&job.cutoff)
        )),
        details: Some(serde_json::to_value(&report).unwrap_or_default().into()),
        ..NewEvent::default()
    };
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
    let event = NewEvent {
        action: "retention.prune_failed".into(),
        kind: Some(Kind::Other),
        channel: Some("system".into()),
        outcome: Some(crate::model::Outcome::Failure),
        description: Some(format!(
            "Retention did not prune: the archive could not be written ({why})"
        )),
        details: Some(
            json!({"cutoff": format_ts(&job.cutoff), "archive_dir": job.archive_dir.as_ref().map(|d| d.display().to_string()), "error": why}).into(),
        ),
        ..NewEvent::default()
    };
    w.append_within(&tx, tenant, &[event])?;
    tx.commit()?;
    Ok(())
}

/// Writes entries `first..=upto` as gzip NDJSON plus a manifest, both fsynced (and the
/// directory too) before anything is deleted.
fn archive(
    tx: &Connection,
    tenant: &str,
    first: u64,
    upto: u64,
    cutoff: DateTime<Utc>,
    dir: &Path,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let stem = format!("{tenant}-{first:012}-{upto:012}");
    let data_path = dir.join(format!("{stem}.ndjson.gz"));
    let manifest_path = dir.join(format!("{stem}.manifest.json"));
    let file = std::fs::File::create(&data_path)
        .map_err(|e| format!("cannot create {}: {e}", data_path.display()))?;
    let mut gz = flate2::write::GzEncoder::new(
        std::io::BufWriter::new(file),
        flate2::Compression::default(),
    );
    let mut stmt = tx
        .prepare(&format!(
            "SELECT {} FROM entries WHERE tenant = ?1 AND seq <= ?2 ORDER BY seq",
            row::COLUMNS
        ))
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map(params![tenant, upto], row::from_row)
        .map_err(|e| e.to_string())?;
    let (mut count, mut first_prev, mut last_hash) = (0u64, String::new(), String::new());
    for r in rows {
        let (entry, commitments) = r.map_err(|e| e.to_string())?;
        if count == 0 {
            first_prev = entry.prev_hash.clone();
        }
        last_hash = entry.hash.clone();
        let line = ArchivedEntry { entry, commitments };
        serde_json::to_writer(&mut gz, &line).map_err(|e| e.to_string())?;
        gz.write_all(b"\n").map_err(|e| e.to_string())?;
        count += 1;
    }
    let buffered = gz
        .finish()
        .map_err(|e| format!("cannot write {}: {e}", data_path.display()))?;
    let file = buffered.into_inner().map_err(|e| e.error().to_string())?;
    file.sync_all()
        .map_err(|e| format!("cannot sync {}: {e}", data_path.display()))?;
    let sha256 = hex::encode(Sha256::digest(
        std::fs::read(&data_path).map_err(|e| e.to_string())?,
    ));
    let manifest = ArchiveManifest {
        tenant: tenant.to_string(),
        count,
        first_seq: first,
        last_seq: upto,
        first_prev_hash: first_prev,
        last_hash,
        file: data_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256,
        cutoff,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let mut m = std::fs::File::create(&manifest_path)
        .map_err(|e| format!("cannot create {}: {e}", manifest_path.display()))?;
    m.write_all(&text)
        .and_then(|()| m.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", manifest_path.display()))?;
    // The names must be durable too, not just the bytes.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(manifest_path)
}
