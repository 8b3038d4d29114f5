//! Mapping between an [`Entry`] and its PostgreSQL row (the same columns as SQLite's).

use super::internal;
use crate::model::{Actor, ActorType, Details, Entry, Kind, Outcome, Target, from_millis};
use crate::store::StoreError;
use crate::store::chain::Commitments;
use tokio_postgres::Row;

/// The entry columns, in the order [`entry`] reads them.
pub const COLUMNS: &str = "tenant, seq, id, occurred_at, received_at, action, kind, channel, outcome, \
    description, actor_type, actor_id, actor_name, actor_email, actor_ip, actor_user_agent, \
    target_type, target_id, target_name, details, idempotency_key, commitments, prev_hash, hash";

fn corrupt(what: &str) -> StoreError {
    internal(format!("a stored entry's {what} is not valid"))
}

/// Reads an entry from a row selected with [`COLUMNS`] (from column `o` on).
pub fn entry_at(r: &Row, o: usize) -> Result<Entry, StoreError> {
    let kind: String = r.get(o + 6);
    let outcome: String = r.get(o + 8);
    let actor_type: String = r.get(o + 10);
    let target_type: Option<String> = r.get(o + 16);
    let target_id: Option<String> = r.get(o + 17);
    let details: Option<String> = r.get(o + 19);
    Ok(Entry {
        tenant: r.get(o),
        seq: r.get::<_, i64>(o + 1) as u64,
        id: r.get(o + 2),
        occurred_at: from_millis(r.get(o + 3)),
        received_at: from_millis(r.get(o + 4)),
        action: r.get(o + 5),
        kind: Kind::parse(&kind).ok_or_else(|| corrupt("kind"))?,
        channel: r.get(o + 7),
        outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt("outcome"))?,
        description: r.get(o + 9),
        actor: Actor {
            kind: ActorType::parse(&actor_type).ok_or_else(|| corrupt("actor type"))?,
            id: r.get(o + 11),
            name: r.get(o + 12),
            email: r.get(o + 13),
            ip: r.get(o + 14),
            user_agent: r.get(o + 15),
        },
        target: match (target_type, target_id) {
            (Some(kind), Some(id)) => Some(Target {
                kind,
                id,
                name: r.get(o + 18),
            }),
            _ => None,
        },
        details: match details {
            Some(d) => Some(Details::from_stored(d).map_err(|_| corrupt("details"))?),
            None => None,
        },
        idempotency_key: r.get(o + 20),
        prev_hash: r.get(o + 22),
        hash: r.get(o + 23),
    })
}

/// [`entry_at`] from column 0.
pub fn entry(r: &Row) -> Result<Entry, StoreError> {
    entry_at(r, 0)
}

/// The entry and the commitments its hash was computed with.
pub fn entry_with_commitments(r: &Row) -> Result<(Entry, Commitments), StoreError> {
    let e = entry_at(r, 0)?;
    let c: String = r.get(21);
    let c = serde_json::from_str(&c).map_err(|_| corrupt("commitments"))?;
    Ok((e, c))
}

/// Entries column by column, for one `INSERT … SELECT FROM unnest(…)` per commit.
#[derive(Default)]
pub struct Columns {
    pub tenant: Vec<String>,
    pub seq: Vec<i64>,
    pub id: Vec<String>,
    pub occurred_at: Vec<i64>,
    pub received_at: Vec<i64>,
    pub action: Vec<String>,
    pub kind: Vec<String>,
    pub channel: Vec<String>,
    pub outcome: Vec<String>,
    pub description: Vec<Option<String>>,
    pub actor_type: Vec<String>,
    pub actor_id: Vec<Option<String>>,
    pub actor_name: Vec<Option<String>>,
    pub actor_email: Vec<Option<String>>,
    pub actor_ip: Vec<Option<String>>,
    pub actor_user_agent: Vec<Option<String>>,
    pub target_type: Vec<Option<String>>,
    pub target_id: Vec<Option<String>>,
    pub target_name: Vec<Option<String>>,
    pub details: Vec<Option<String>>,
    pub idempotency_key: Vec<Option<String>>,
    pub commitments: Vec<String>,
    pub prev_hash: Vec<String>,
    pub hash: Vec<String>,
}

/// The insert for [`Columns`].
pub const INSERT: &str = "INSERT INTO entries (tenant, seq, id, occurred_at, received_at, action, kind, \
    channel, outcome, description, actor_type, actor_id, actor_name, actor_email, actor_ip, \
    actor_user_agent, target_type, target_id, target_name, details, idempotency_key, commitments, \
    prev_hash, hash) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], \
    $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
    $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], \
    $19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[])";

impl Columns {
    pub fn len(&self) -> usize {
        self.seq.len()
    }

    pub fn push(&mut self, e: &Entry, commitments: &Commitments) {
        let t = e.target.as_ref();
        self.tenant.push(e.tenant.clone());
        self.seq.push(e.seq as i64);
        self.id.push(e.id.clone());
        self.occurred_at.push(e.occurred_at.timestamp_millis());
        self.received_at.push(e.received_at.timestamp_millis());
        self.action.push(e.action.clone());
        self.kind.push(e.kind.as_str().into());
        self.channel.push(e.channel.clone());
        self.outcome.push(e.outcome.as_str().into());
        self.description.push(e.description.clone());
        self.actor_type.push(e.actor.kind.as_str().into());
        self.actor_id.push(e.actor.id.clone());
        self.actor_name.push(e.actor.name.clone());
        self.actor_email.push(e.actor.email.clone());
        self.actor_ip.push(e.actor.ip.clone());
        self.actor_user_agent.push(e.actor.user_agent.clone());
        self.target_type.push(t.map(|t| t.kind.clone()));
        self.target_id.push(t.map(|t| t.id.clone()));
        self.target_name.push(t.and_then(|t| t.name.clone()));
        self.details
            .push(e.details.as_ref().map(|d| d.as_str().to_string()));
        self.idempotency_key.push(e.idempotency_key.clone());
        self.commitments
            .push(serde_json::to_string(commitments).unwrap_or_else(|_| "{}".into()));
        self.prev_hash.push(e.prev_hash.clone());
        self.hash.push(e.hash.clone());
    }

    /// The parameters of [`INSERT`].
    pub fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 24] {
        [
            &self.tenant,
            &self.seq,
            &self.id,
            &self.occurred_at,
            &self.received_at,
            &self.action,
            &self.kind,
            &self.channel,
            &self.outcome,
            &self.description,
            &self.actor_type,
            &self.actor_id,
            &self.actor_name,
            &self.actor_email,
            &self.actor_ip,
            &self.actor_user_agent,
            &self.target_type,
            &self.target_id,
            &self.target_name,
            &self.details,
            &self.idempotency_key,
            &self.commitments,
            &self.prev_hash,
            &self.hash,
        ]
    }
}
