//! Mapping between an [`Entry`] and its row.

use crate::model::{Actor, ActorType, Details, Entry, Kind, Outcome, Target, from_millis};
use crate::store::chain::Commitments;
use rusqlite::Row;
use rusqlite::types::Value as SqlValue;

/// The entry columns, in the order [`from_row`] reads and [`INSERT`] writes them.
pub const COLUMNS: &str = "tenant, seq, id, occurred_at, received_at, action, kind, channel, outcome, \
    description, actor_type, actor_id, actor_name, actor_email, actor_ip, actor_user_agent, \
    target_type, target_id, target_name, details, idempotency_key, commitments, prev_hash, hash";

/// The insert statement for one entry.
pub const INSERT: &str = "INSERT INTO entries (tenant, seq, id, occurred_at, received_at, action, kind, \
    channel, outcome, description, actor_type, actor_id, actor_name, actor_email, actor_ip, \
    actor_user_agent, target_type, target_id, target_name, details, idempotency_key, commitments, \
    prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
    ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)";

/// [`INSERT`] as the writer runs it: the entry pending, out of the deferred indexes until the
/// indexer adds it ([`super::indexer`]).
pub static INSERT_PENDING: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    INSERT
        .replace("prev_hash, hash)", "prev_hash, hash, indexed)")
        .replace("?24)", "?24, NULL)")
});

fn corrupt(col: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        format!("stored {what} is not valid").into(),
    )
}

/// Reads an entry and its commitments from a row selected with [`COLUMNS`].
pub fn from_row(r: &Row<'_>) -> rusqlite::Result<(Entry, Commitments)> {
    from_row_offset(r, 0)
}

/// [`from_row`] for a row whose entry columns start at column `o`.
pub fn from_row_offset(r: &Row<'_>, o: usize) -> rusqlite::Result<(Entry, Commitments)> {
    let entry = entry_at(r, o)?;
    let commitments: String = r.get(o + 21)?;
    let commitments =
        serde_json::from_str(&commitments).map_err(|_| corrupt(o + 21, "commitments"))?;
    Ok((entry, commitments))
}

/// Reads just the entry from a row selected with [`COLUMNS`]: what every read but `verify`
/// needs (the commitments are only for recomputing hashes).
pub fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    entry_at(r, 0)
}

fn entry_at(r: &Row<'_>, o: usize) -> rusqlite::Result<Entry> {
    let kind: String = r.get(o + 6)?;
    let outcome: String = r.get(o + 8)?;
    let actor_type: String = r.get(o + 10)?;
    let target_type: Option<String> = r.get(o + 16)?;
    let target_id: Option<String> = r.get(o + 17)?;
    let details: Option<String> = r.get(o + 19)?;
    let entry = Entry {
        tenant: r.get(o)?,
        seq: r.get::<_, u64>(o + 1)?,
        id: r.get(o + 2)?,
        occurred_at: from_millis(r.get(o + 3)?),
        received_at: from_millis(r.get(o + 4)?),
        action: r.get(o + 5)?,
        kind: Kind::parse(&kind).ok_or_else(|| corrupt(o + 6, "kind"))?,
        channel: r.get(o + 7)?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt(o + 8, "outcome"))?,
        description: r.get(o + 9)?,
        actor: Actor {
            kind: ActorType::parse(&actor_type).ok_or_else(|| corrupt(o + 10, "actor type"))?,
            id: r.get(o + 11)?,
            name: r.get(o + 12)?,
            email: r.get(o + 13)?,
            ip: r.get(o + 14)?,
            user_agent: r.get(o + 15)?,
        },
        target: match (target_type, target_id) {
            (Some(kind), Some(id)) => Some(Target {
                kind,
                id,
                name: r.get(o + 18)?,
            }),
            _ => None,
        },
        details: match details {
            Some(d) => Some(Details::from_stored(d).map_err(|_| corrupt(o + 19, "details"))?),
            None => None,
        },
        idempotency_key: r.get(o + 20)?,
        prev_hash: r.get(o + 22)?,
        hash: r.get(o + 23)?,
    };
    Ok(entry)
}

/// The values [`INSERT`] binds for an entry.
pub fn to_params(e: &Entry, commitments: &Commitments) -> [SqlValue; 24] {
    let text = |s: &Option<String>| s.clone().map_or(SqlValue::Null, SqlValue::Text);
    let t = e.target.as_ref();
    [
        SqlValue::Text(e.tenant.clone()),
        // Seqs count entries from 1: far below i64::MAX, so this never saturates.
        SqlValue::Integer(i64::try_from(e.seq).unwrap_or(i64::MAX)),
        SqlValue::Text(e.id.clone()),
        SqlValue::Integer(e.occurred_at.timestamp_millis()),
        SqlValue::Integer(e.received_at.timestamp_millis()),
        SqlValue::Text(e.action.clone()),
        SqlValue::Text(e.kind.as_str().into()),
        SqlValue::Text(e.channel.clone()),
        SqlValue::Text(e.outcome.as_str().into()),
        text(&e.description),
        SqlValue::Text(e.actor.kind.as_str().into()),
        text(&e.actor.id),
        text(&e.actor.name),
        text(&e.actor.email),
        text(&e.actor.ip),
        text(&e.actor.user_agent),
        text(&t.map(|t| t.kind.clone())),
        text(&t.map(|t| t.id.clone())),
        text(&t.and_then(|t| t.name.clone())),
        e.details
            .as_ref()
            .map_or(SqlValue::Null, |d| SqlValue::Text(d.as_str().to_string())),
        text(&e.idempotency_key),
        SqlValue::Text(serde_json::to_string(commitments).unwrap_or_else(|_| "{}".into())),
        SqlValue::Text(e.prev_hash.clone()),
        SqlValue::Text(e.hash.clone()),
    ]
}

/// The text `q` searches, one field a line, for the trigram index.
pub fn search_text(e: &Entry) -> String {
    let a = &e.actor;
    let t = e.target.as_ref();
    [
        e.description.as_deref(),
        Some(e.action.as_str()),
        a.name.as_deref(),
        a.email.as_deref(),
        a.id.as_deref(),
        t.and_then(|t| t.name.as_deref()),
        t.map(|t| t.id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
}
