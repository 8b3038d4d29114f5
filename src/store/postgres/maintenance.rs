//! Pseudonymisation, the scheduled-job claim, and the record both prune and pseudonymise leave
//! in the log. Like a prune (`prune.rs`), a pseudonymisation is one transaction that holds the
//! tenant's head lock, goes through a SECURITY DEFINER function (the application's role has no
//! UPDATE or DELETE), and records itself in the log. The scheduled prune runs on one replica a
//! day: [`PostgresStore::claim_scheduled`].

use super::i;
use super::writer::{Batch, Writer, write_batch};
use super::{PostgresStore, db_error, row};
use crate::model::{Actor, NewEvent, PseudonymReport};
use crate::store::chain::Commitments;
use crate::store::{Identity, StoreError};
use chrono::Utc;
use std::collections::HashMap;

/// Appends store-written events (a prune's or pseudonymisation's record) inside `tx`, which
/// holds no head lock yet.
pub(super) async fn record(
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
    /// Claims (job, day) for this replica: true when its INSERT went in first.
    pub async fn claim_scheduled(
        &self,
        job: &str,
        day: chrono::NaiveDate,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let replica = format!("pid {} on {}", std::process::id(), hostname());
        let n = client
            .execute(
                "INSERT INTO scheduled_runs (job, day, replica, claimed) VALUES ($1, $2::text::date, $3, $4) \
                 ON CONFLICT (job, day) DO NOTHING",
                &[&job, &day.to_string(), &replica, &Utc::now().timestamp_millis()],
            )
            .await
            .map_err(db_error)?;
        Ok(n == 1)
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
            None => crate::store::pseudonym::fresh()?,
        };
        for (mut entry, mut commitments) in rows.iter().cloned() {
            crate::store::pseudonym::apply(&mut entry, &mut commitments, &pseudonym);
            let a = &entry.actor;
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
        let event = crate::store::records::pseudonymised(&report, requested_by);
        record(&tx, tenant, &[event]).await?;
        tx.commit().await.map_err(db_error)?;
        self.tick();
        Ok(report)
    }
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

/// This machine's name, for the record of which replica ran a job.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this host".into())
}
