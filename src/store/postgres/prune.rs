//! Retention on PostgreSQL. Entries are partitioned by month of `received_at` and a month holds
//! every tenant's rows, so a month can be dropped whole only when each tenant with rows in it is
//! pruned past all of them. [`PostgresStore::prune_many`] therefore prunes several tenants in one
//! transaction (the daily job passes every tenant): it holds all their head locks, archives each
//! tenant's prefix, and `trailscope_prune_many` (migration V5) drops the months that are wholly
//! due and deletes the rest row by row. A single tenant's prune is the same with one tenant.
//!
//! The price: while the joint prune runs, appends of every tenant in it wait (each tenant's own
//! prune would make only that tenant wait, for its own share). With an archive the wait is as long
//! as writing all the archives.

use super::dialect::numbered;
use super::maintenance::record;
use super::{PostgresStore, db_error, internal, row};
use super::{i, u};
use crate::model::{ChainHead, PruneReport};
use crate::store::rollup;
use crate::store::{ArchiveRef, ArchiveSink, ArchivedEntry, StoreError};
use chrono::{DateTime, Utc};

/// The tenant's report so far, and its prefix due before `cutoff` (the last seq and its hash,
/// the new anchor), archived to `archive` if given: an archive that cannot be written stops the
/// round.
async fn archive_prefix(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    cutoff: DateTime<Utc>,
    pruned_at: DateTime<Utc>,
    archive: Option<&dyn ArchiveSink>,
) -> Result<(PruneReport, Option<(i64, String)>), Stop> {
    let mut report = PruneReport {
        cutoff,
        removed: 0,
        anchor: None,
        archive: None,
        pruned_at,
    };
    let upto: Option<i64> = tx
        .query_one(
            "SELECT max(seq) FROM entries WHERE tenant = $1 AND received_at < $2",
            &[&tenant, &cutoff.timestamp_millis()],
        )
        .await
        .map_err(db_error)?
        .get(0);
    let Some(upto) = upto else {
        return Ok((report, None));
    };
    let hash: String = tx
        .query_one(
            "SELECT hash FROM entries WHERE tenant = $1 AND seq = $2",
            &[&tenant, &upto],
        )
        .await
        .map_err(db_error)?
        .get(0);
    if let Some(sink) = archive {
        match archive_entries(tx, tenant, upto, cutoff, sink).await {
            Ok(ArchiveRef(at)) => report.archive = Some(at),
            Err(why) => {
                return Err(Stop::Archive {
                    tenant: tenant.to_string(),
                    why: why.to_string(),
                });
            }
        }
    }
    report.anchor = Some(ChainHead {
        seq: u(upto),
        hash: hash.clone(),
    });
    Ok((report, Some((upto, hash))))
}

/// Removes the `due` prefixes ((index in plan, upto, anchor hash)) in one call, dropping the
/// months every tenant in them has passed, and counts what each lost into `reports`.
async fn remove(
    tx: &deadpool_postgres::Transaction<'_>,
    plan: &[(String, DateTime<Utc>)],
    due: &[(usize, i64, String)],
    reports: &mut [PruneReport],
) -> Result<(), StoreError> {
    if due.is_empty() {
        if let Some(earliest) = plan.iter().map(|p| p.1).min() {
            // Months emptied row by row by an earlier prune (a reader held the table then).
            tx.execute(
                "SELECT trailscope_drop_empty_months($1)",
                &[&earliest.timestamp_millis()],
            )
            .await
            .map_err(db_error)?;
        }
        return Ok(());
    }
    let tenants: Vec<&str> = due.iter().map(|d| plan[d.0].0.as_str()).collect();
    let uptos: Vec<i64> = due.iter().map(|d| d.1).collect();
    // What the rollups counted of the entries about to go goes with them.
    let subtract = numbered(&rollup::from_entries_sql("tenant = ? AND seq <= ?"));
    for (tenant, upto) in tenants.iter().zip(&uptos) {
        tx.execute(&subtract, &[&-1i64, tenant, upto])
            .await
            .map_err(db_error)?;
    }
    tx.execute(rollup::REMOVE_EMPTY, &[])
        .await
        .map_err(db_error)?;
    let cutoffs: Vec<i64> = due.iter().map(|d| plan[d.0].1.timestamp_millis()).collect();
    let hashes: Vec<&str> = due.iter().map(|d| d.2.as_str()).collect();
    let texts: Vec<String> = due.iter().map(|d| report_text(&reports[d.0])).collect();
    let removed: Vec<i64> = tx
        .query_one(
            "SELECT trailscope_prune_many($1, $2, $3, $4, $5)",
            &[&tenants, &uptos, &cutoffs, &hashes, &texts],
        )
        .await
        .map_err(db_error)?
        .get(0);
    for (d, n) in due.iter().zip(removed) {
        reports[d.0].removed = u(n);
    }
    Ok(())
}

/// Entries read per round while archiving.
const ARCHIVE_CHUNK: i64 = 1000;

/// Why one round of a joint prune stopped.
enum Stop {
    /// This tenant's archive could not be written: the round removed nothing.
    Archive { tenant: String, why: String },
    /// The database failed: nothing was removed for anyone in the round.
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

impl PostgresStore {
    pub async fn prune(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        archive: Option<&dyn ArchiveSink>,
    ) -> Result<PruneReport, StoreError> {
        self.prune_many(&[(tenant.to_string(), cutoff)], archive)
            .await
            .pop()
            .map_or_else(
                || Err(internal("the prune returned no report".into())),
                |(_, r)| r,
            )
    }

    /// Prunes each tenant of `plan` to its cutoff, together, so that months every tenant in them
    /// has passed are dropped whole. A tenant whose archive cannot be written is left out (its
    /// failure is recorded as `retention.prune_failed`) and the others are pruned without it.
    /// One result per distinct tenant, in name order.
    pub async fn prune_many(
        &self,
        plan: &[(String, DateTime<Utc>)],
        archive: Option<&dyn ArchiveSink>,
    ) -> Vec<(String, Result<PruneReport, StoreError>)> {
        // Name order: the writers lock heads in the same order, so nobody waits in a cycle.
        let mut plan = plan.to_vec();
        plan.sort_by(|a, b| a.0.cmp(&b.0));
        plan.dedup_by(|a, b| a.0 == b.0);
        let mut out = Vec::new();
        while !plan.is_empty() {
            match self.prune_round(&plan, archive).await {
                Ok(reports) => {
                    out.extend(
                        plan.into_iter()
                            .map(|(t, _)| t)
                            .zip(reports.into_iter().map(Ok)),
                    );
                    break;
                }
                Err(Stop::Archive { tenant, why }) => {
                    let cutoff = plan.iter().find(|(t, _)| *t == tenant).map(|p| p.1);
                    let recorded = match (cutoff, archive) {
                        (Some(cutoff), Some(sink)) => {
                            self.record_prune_failure(&tenant, cutoff, sink, &why).await
                        }
                        _ => Ok(()),
                    };
                    let err = recorded.and(Err(internal(format!(
                        "nothing was pruned: the archive could not be written: {why}"
                    ))));
                    plan.retain(|(t, _)| *t != tenant);
                    out.push((tenant, err));
                }
                Err(Stop::Store(e)) => {
                    out.extend(plan.into_iter().map(|(t, _)| (t, Err(e.clone()))));
                    break;
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// One attempt at the whole plan, in one transaction.
    async fn prune_round(
        &self,
        plan: &[(String, DateTime<Utc>)],
        archive: Option<&dyn ArchiveSink>,
    ) -> Result<Vec<PruneReport>, Stop> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        // Appends to these tenants wait until the prune commits.
        for (tenant, _) in plan {
            super::writer::lock_head(&tx, tenant, None).await?;
        }
        let pruned_at = Utc::now();
        let mut reports = Vec::with_capacity(plan.len());
        // (index in plan, upto, anchor hash) of the tenants with something to remove.
        let mut due = Vec::new();
        for (k, (tenant, cutoff)) in plan.iter().enumerate() {
            let (report, prefix) = archive_prefix(&tx, tenant, *cutoff, pruned_at, archive).await?;
            if let Some((upto, hash)) = prefix {
                due.push((k, upto, hash));
            }
            reports.push(report);
        }
        remove(&tx, plan, &due, &mut reports).await?;
        for ((tenant, _), report) in plan.iter().zip(&reports) {
            // The final report (a prune that removed nothing still replaces the last one).
            tx.execute(
                "SELECT trailscope_prune_report($1, $2)",
                &[tenant, &report_text(report)],
            )
            .await
            .map_err(db_error)?;
            let event = crate::store::records::pruned(report);
            record(&tx, tenant, &[event]).await?;
        }
        tx.commit().await.map_err(db_error)?;
        self.tick();
        Ok(reports)
    }

    /// A prune that could not archive deletes nothing, and says so in the log.
    async fn record_prune_failure(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        sink: &dyn ArchiveSink,
        why: &str,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        let event = crate::store::records::prune_failed(cutoff, Some(sink.location()), why);
        record(&tx, tenant, &[event]).await?;
        tx.commit().await.map_err(db_error)?;
        self.tick();
        Ok(())
    }
}

fn report_text(report: &PruneReport) -> String {
    serde_json::to_string(report).unwrap_or_default()
}

/// Hands entries up to `upto` to the archive, oldest first, and finishes it before anything
/// is deleted. The sink's file I/O runs on a blocking thread, a chunk at a time.
async fn archive_entries(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    upto: i64,
    cutoff: DateTime<Utc>,
    sink: &dyn ArchiveSink,
) -> Result<ArchiveRef, StoreError> {
    let mut out = sink.begin(tenant, cutoff)?;
    let (mut first_prev, mut last_hash) = (None::<String>, String::new());
    let mut after = 0i64;
    loop {
        let rows = tx
            .query(
                &format!(
                    "SELECT {} FROM entries WHERE tenant = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
                    row::COLUMNS
                ),
                &[&tenant, &after, &upto, &ARCHIVE_CHUNK],
            )
            .await
            .map_err(db_error)?;
        if rows.is_empty() {
            break;
        }
        let chunk: Vec<ArchivedEntry> = rows
            .iter()
            .map(|r| {
                row::entry_with_commitments(r)
                    .map(|(entry, commitments)| ArchivedEntry { entry, commitments })
            })
            .collect::<Result<_, _>>()?;
        if let Some(last) = chunk.last() {
            after = i(last.entry.seq);
            last_hash = last.entry.hash.clone();
        }
        if first_prev.is_none() {
            first_prev = chunk.first().map(|a| a.entry.prev_hash.clone());
        }
        out = tokio::task::spawn_blocking(move || {
            for a in &chunk {
                out.write(a)?;
            }
            Ok::<_, StoreError>(out)
        })
        .await
        .map_err(|e| internal(format!("the archive writer stopped: {e}")))??;
    }
    let first_prev = first_prev.unwrap_or_default();
    tokio::task::spawn_blocking(move || out.finish(&first_prev, &last_hash))
        .await
        .map_err(|e| internal(format!("the archive writer stopped: {e}")))?
}
