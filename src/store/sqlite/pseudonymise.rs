//! GDPR erasure without breaking the chain: a person's name, email, ip and user agent become a
//! pseudonym in every entry; their commitments stay in the chain and their salts are destroyed,
//! so the old values can no longer be confirmed by guessing.

use super::heads::{Reply, Writer};
use super::row;
use crate::model::{Actor, PseudonymReport};
use crate::store::Identity;
use crate::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

/// A request for the writer thread.
pub struct PseudonymiseJob {
    pub tenant: String,
    pub who: Identity,
    /// Who asked (the token), recorded as the actor of `gdpr.pseudonymised`.
    pub requested_by: Actor,
    pub reply: Reply<PseudonymReport>,
}

/// Rewrites every matching entry in one transaction, then checkpoints the WAL so no copy of
/// the old values stays in it.
pub fn run(
    w: &mut Writer,
    conn: &mut Connection,
    job: &PseudonymiseJob,
) -> Result<PseudonymReport, StoreError> {
    let tenant = job.tenant.as_str();
    let (clause, value) = match &job.who {
        Identity::ActorId(id) => ("actor_id = ?2", id.clone()),
        Identity::Email(email) => ("actor_email = ?2 COLLATE NOCASE", email.clone()),
    };
    let tx = conn.transaction()?;
    // Every entry indexed first: the person's are found through the actor and email indexes,
    // and their search text is rewritten in the trigram index.
    super::indexer::all(&tx)?;
    let rows: Vec<(i64, crate::model::Entry, crate::store::chain::Commitments)> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT rowid, {} FROM entries WHERE tenant = ?1 AND indexed = 1 AND {clause} AND commitments LIKE '%\"s\"%' ORDER BY seq",
            row::COLUMNS
        ))?;
        let mapped = stmt.query_map(params![tenant, value], |r| {
            let (e, c) = row::from_row_offset(r, 1)?;
            Ok((r.get(0)?, e, c))
        })?;
        mapped.collect::<rusqlite::Result<_>>()?
    };
    if rows.is_empty() {
        return Ok(PseudonymReport {
            pseudonym: None,
            entries: 0,
        });
    }
    let pseudonym = match earlier_pseudonym(&tx, tenant, &rows)? {
        Some(p) => p,
        None => crate::store::pseudonym::fresh()?,
    };
    tx.execute(
        "INSERT INTO maintenance (tenant, op, upto) VALUES (?1, 'pseudonymise', 0)",
        [tenant],
    )?;
    {
        let mut update = tx.prepare(
            "UPDATE entries SET actor_name = ?2, actor_email = ?3, actor_ip = ?4, actor_user_agent = ?5, commitments = ?6 WHERE rowid = ?1",
        )?;
        let mut unindex = tx.prepare("DELETE FROM entries_fts WHERE rowid = ?1")?;
        let mut index = tx.prepare("INSERT INTO entries_fts (rowid, text) VALUES (?1, ?2)")?;
        for (rowid, mut entry, mut commitments) in rows.iter().cloned() {
            crate::store::pseudonym::apply(&mut entry, &mut commitments, &pseudonym);
            let a = &entry.actor;
            update.execute(params![
                rowid,
                a.name,
                a.email,
                a.ip,
                a.user_agent,
                serde_json::to_string(&commitments).unwrap_or_else(|_| "{}".into())
            ])?;
            unindex.execute([rowid])?;
            index.execute(params![rowid, row::search_text(&entry)])?;
        }
    }
    // A contentless index only marks deleted rows; their trigrams stay in its segments until a
    // merge. Merging everything now is the price of the old values really being gone.
    tx.execute(
        "INSERT INTO entries_fts (entries_fts) VALUES ('optimize')",
        [],
    )?;
    tx.execute("DELETE FROM maintenance", [])?;
    let report = PseudonymReport {
        pseudonym: Some(pseudonym.clone()),
        entries: rows.len() as u64,
    };
    let event = crate::store::records::pseudonymised(&report, &job.requested_by);
    w.append_within(&tx, tenant, &[event])?;
    tx.commit()?;
    // The WAL still holds the pages as they were: fold it into the file and empty it.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(report)
}

/// The pseudonym this person was given by an earlier request, so entries they wrote since
/// get the same one: the actor id is kept, and it ties the two requests together.
fn earlier_pseudonym(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    rows: &[(i64, crate::model::Entry, crate::store::chain::Commitments)],
) -> Result<Option<String>, StoreError> {
    let mut stmt = tx.prepare(
        "SELECT coalesce(actor_name, actor_email, actor_ip, actor_user_agent) FROM entries
         WHERE tenant = ?1 AND indexed = 1 AND actor_id = ?2 AND commitments NOT LIKE '%\"s\"%'
           AND coalesce(actor_name, actor_email, actor_ip, actor_user_agent) LIKE 'pseudonym-%' LIMIT 1",
    )?;
    let mut ids: Vec<&str> = rows
        .iter()
        .filter_map(|(_, e, _)| e.actor.id.as_deref())
        .collect();
    ids.dedup();
    for id in ids {
        if let Some(p) = stmt
            .query_row(params![tenant, id], |r| r.get::<_, String>(0))
            .optional()?
        {
            return Ok(Some(p));
        }
    }
    Ok(None)
}
