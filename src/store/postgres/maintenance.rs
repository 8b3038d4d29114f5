//! Prune and pseudonymise: the two ways history changes, each in one transaction that holds the
//! tenant's head lock, goes through the SECURITY DEFINER functions (the application's role has
//! no UPDATE or DELETE), and records itself in the log. A scheduled prune runs on one replica
//! only: the caller holds [`PostgresStore::try_prune_lock`].

use super::writer::{Batch, Writer, write_batch};
use super::{PostgresStore, db_error, internal, row};
use super::{i, u};
use crate::model::{Actor, ChainHead, Kind, NewEvent, PruneReport, PseudonymReport, format_ts};
use crate::store::chain::Commitments;
use crate::store::{ArchiveRef, ArchiveSink, ArchivedEntry};
use crate::store::{Identity, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;

/// Entries read per round while archiving.
const ARCHIVE_CHUNK: i64 = 1000;

/// Appends store-written events (a prune's or pseudonymisation's record) inside `tx`, which
/// holds no head lock yet.
async fn record(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    let mut w = Writer::new();
    let mut head = super::writer::lock_head(tx, tenant, None).await?;
    let mut batch = Batch::default();
    w.apply(
        tenant,
        events,
        &mut head,
        &HashMap::new(),
        Utc::now().timestamp_millis(),
        &mut batch,
    );
    let heads = HashMap::from([(tenant.to_string(), head)]);
    write_batch(tx, &batch, &heads).await
}

impl PostgresStore {
    pub async fn prune(
        &self,
        tenant: &str,
        cutoff: DateTime<Utc>,
        archive: Option<&dyn ArchiveSink>,
    ) -> Result<PruneReport, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        // Appends to this tenant wait until the prune commits.
        super::writer::lock_head(&tx, tenant, None).await?;
        let cutoff_ms = cutoff.timestamp_millis();
        let upto: Option<i64> = tx
            .query_one(
                "SELECT max(seq) FROM entries WHERE tenant = $1 AND received_at < $2",
                &[&tenant, &cutoff_ms],
            )
            .await
            .map_err(db_error)?
            .get(0);
        let mut report = PruneReport {
            cutoff,
            removed: 0,
            anchor: None,
            archive: None,
            pruned_at: Utc::now(),
        };
        if let Some(upto) = upto {
            let anchor_hash: String = tx
                .query_one(
                    "SELECT hash FROM entries WHERE tenant = $1 AND seq = $2",
                    &[&tenant, &upto],
                )
                .await
                .map_err(db_error)?
                .get(0);
            if let Some(sink) = archive {
                match archive_entries(&tx, tenant, upto, cutoff, sink).await {
                    Ok(ArchiveRef(at)) => report.archive = Some(at),
                    Err(why) => {
                        let why = why.to_string();
                        drop(tx);
                        self.record_prune_failure(tenant, cutoff, sink, &why)
                            .await?;
                        return Err(internal(format!(
                            "nothing was pruned: the archive could not be written: {why}"
                        )));
                    }
                }
            }
            report.anchor = Some(ChainHead {
                seq: u(upto),
                hash: anchor_hash.clone(),
            });
            let text = serde_json::to_string(&report).unwrap_or_default();
            let removed: i64 = tx
                .query_one(
                    "SELECT trailscope_prune($1, $2, $3, $4)",
                    &[&tenant, &upto, &anchor_hash, &text],
                )
                .await
                .map_err(db_error)?
                .get(0);
            report.removed = u(removed);
            let text = serde_json::to_string(&report).unwrap_or_default();
            tx.execute("SELECT trailscope_prune_report($1, $2)", &[&tenant, &text])
                .await
                .map_err(db_error)?;
        } else {
            // Nothing to remove: the report still replaces the last one (if there was a prune).
            let text = serde_json::to_string(&report).unwrap_or_default();
            tx.execute("SELECT trailscope_prune_report($1, $2)", &[&tenant, &text])
                .await
                .map_err(db_error)?;
        }
        let event = NewEvent {
            action: "retention.pruned".into(),
            kind: Some(Kind::Deleted),
            channel: Some("system".into()),
            description: Some(format!(
                "Retention removed {} entries received before {}",
                report.removed,
                format_ts(&cutoff)
            )),
            details: Some(serde_json::to_value(&report).unwrap_or_default().into()),
            ..NewEvent::default()
        };
        record(&tx, tenant, &[event]).await?;
        tx.commit().await.map_err(db_error)?;
        self.tick();
        Ok(report)
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
        let event = NewEvent {
            action: "retention.prune_failed".into(),
            kind: Some(Kind::Other),
            channel: Some("system".into()),
            outcome: Some(crate::model::Outcome::Failure),
            description: Some(format!(
                "Retention did not prune: the archive could not be written ({why})"
            )),
            details: Some(
                json!({"cutoff": format_ts(&cutoff), "archive_dir": sink.location(), "error": why})
                    .into(),
            ),
            ..NewEvent::default()
        };
        record(&tx, tenant, &[event]).await?;
        tx.commit().await.map_err(db_error)?;
        self.tick();
        Ok(())
    }

    /// Whether this replica may run the scheduled prune now: a session advisory lock that one
    /// replica holds at a time, kept until the returned connection is dropped.
    pub async fn try_prune_lock(&self) -> Result<Option<deadpool_postgres::Object>, StoreError> {
        let client = self.client().await?;
        let got: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtext('trailscope.scheduled_prune'))",
                &[],
            )
            .await
            .map_err(db_error)?
            .get(0);
        if got { Ok(Some(client)) } else { Ok(None) }
    }

    pub async fn pseudonymise(
        &self,
        tenant: &str,
        who: &Identity,
        requested_by: &Actor,
    ) -> Result<PseudonymReport, StoreError> {
        let (clause, value) = match who {
            Identity::ActorId(id) => ("actor_id = $2", row::enc(id).into_owned()),
            Identity::Email(email) => (
                "lower(actor_email) = lower($2)",
                row::enc(email).into_owned(),
            ),
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        super::writer::lock_head(&tx, tenant, None).await?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {} FROM entries WHERE tenant = $1 AND {clause} \
                     AND commitments LIKE '%\"s\"%' ORDER BY seq",
                    row::COLUMNS
                ),
                &[&tenant, &value],
            )
            .await
            .map_err(db_error)?;
        let rows = rows
            .iter()
            .map(row::entry_with_commitments)
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(PseudonymReport {
                pseudonym: None,
                entries: 0,
            });
        }
        let pseudonym = match earlier_pseudonym(&tx, tenant, &rows).await? {
            Some(p) => p,
            None => {
                let mut raw = [0u8; 4];
                getrandom::fill(&mut raw)
                    .map_err(|e| internal(format!("no randomness for a pseudonym: {e}")))?;
                format!("pseudonym-{}", hex::encode(raw))
            }
        };
        for (mut entry, mut commitments) in rows.iter().cloned() {
            let a = &mut entry.actor;
            for field in [&mut a.name, &mut a.email, &mut a.ip, &mut a.user_agent] {
                if field.is_some() {
                    *field = Some(pseudonym.clone());
                }
            }
            for c in commitments.values_mut() {
                c.s = None;
            }
            let text = serde_json::to_string(&commitments).unwrap_or_else(|_| "{}".into());
            tx.execute(
                "SELECT trailscope_pseudonymise($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &tenant,
                    &i(entry.seq),
                    &a.name,
                    &a.email,
                    &a.ip,
                    &a.user_agent,
                    &text,
                ],
            )
            .await
            .map_err(db_error)?;
        }
        let report = PseudonymReport {
            pseudonym: Some(pseudonym.clone()),
            entries: u64::try_from(rows.len()).unwrap_or(u64::MAX),
        };
        let event = NewEvent {
            action: "gdpr.pseudonymised".into(),
            kind: Some(Kind::Updated),
            channel: Some("compliance".into()),
            description: Some(format!(
                "Personal data in {} entries replaced with {pseudonym}",
                rows.len()
            )),
            actor: Some(requested_by.clone()),
            details: Some(
                json!({"pseudonym": pseudonym, "entries": rows.len(), "fields": ["name", "email", "ip", "user_agent"]}).into(),
            ),
            ..NewEvent::default()
        };
        record(&tx, tenant, &[event]).await?;
        tx.commit().await.map_err(db_error)?;
        self.tick();
        Ok(report)
    }
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

/// The pseudonym this person was given by an earlier request (their actor id ties them).
async fn earlier_pseudonym(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    rows: &[(crate::model::Entry, Commitments)],
) -> Result<Option<String>, StoreError> {
    let mut ids: Vec<&str> = rows
        .iter()
        .filter_map(|(e, _)| e.actor.id.as_deref())
        .collect();
    ids.dedup();
    for id in ids {
        let r = tx
            .query_opt(
                "SELECT coalesce(actor_name, actor_email, actor_ip, actor_user_agent) FROM entries \
                 WHERE tenant = $1 AND actor_id = $2 AND commitments NOT LIKE '%\"s\"%' \
                 AND coalesce(actor_name, actor_email, actor_ip, actor_user_agent) LIKE 'pseudonym-%' LIMIT 1",
                &[&tenant, &row::enc(id).as_ref()],
            )
            .await
            .map_err(db_error)?;
        if let Some(r) = r {
            return Ok(Some(r.get(0)));
        }
    }
    Ok(None)
}
