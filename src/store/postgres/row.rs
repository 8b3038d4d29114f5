//! Mapping between an [`Entry`] and its PostgreSQL row (the same columns as SQLite's).

use super::internal;
use super::{i, u};
use crate::model::{Actor, ActorType, Details, Entry, Kind, Outcome, Target, from_millis};
use crate::store::StoreError;
use crate::store::chain::Commitments;
use tokio_postgres::Row;

/// The entry columns, in the order [`entry`] reads them.
pub const COLUMNS: &str = "tenant, seq, id, occurred_at, received_at, action, kind, channel, outcome, \
    description, actor_type, actor_id, actor_name, actor_email, actor_ip, actor_user_agent, \
    target_type, target_id, target_name, details, idempotency_key, commitments, prev_hash, hash";

/// Where `occurred_at` is in [`COLUMNS`].
pub const OCCURRED_AT: usize = 3;

/// PostgreSQL's `text` cannot hold U+0000, which an event may carry (and which SQLite stores
/// as sent). Text columns hold it as U+FFFF `0`, and U+FFFF itself as U+FFFF `1`: what is read
/// back is exactly what was sent, and what was hashed.
pub fn enc(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\0', '\u{FFFF}']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\u{FFFF}0"),
            '\u{FFFF}' => out.push_str("\u{FFFF}1"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The inverse of [`enc`].
pub fn dec(s: String) -> String {
    if !s.contains('\u{FFFF}') {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{FFFF}' {
            match chars.next() {
                Some('0') => out.push('\0'),
                Some('1') => out.push('\u{FFFF}'),
                Some(other) => {
                    out.push(c);
                    out.push(other);
                }
                None => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn enc_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(|s| enc(s).into_owned())
}

fn txt(r: &Row, i: usize) -> String {
    dec(r.get(i))
}

fn opt(r: &Row, i: usize) -> Option<String> {
    r.get::<_, Option<String>>(i).map(dec)
}

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
        seq: u(r.get(o + 1)),
        id: txt(r, o + 2),
        occurred_at: from_millis(r.get(o + OCCURRED_AT)),
        received_at: from_millis(r.get(o + 4)),
        action: txt(r, o + 5),
        kind: Kind::parse(&kind).ok_or_else(|| corrupt("kind"))?,
        channel: txt(r, o + 7),
        outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt("outcome"))?,
        description: opt(r, o + 9),
        actor: Actor {
            kind: ActorType::parse(&actor_type).ok_or_else(|| corrupt("actor type"))?,
            id: opt(r, o + 11),
            name: opt(r, o + 12),
            email: opt(r, o + 13),
            ip: opt(r, o + 14),
            user_agent: opt(r, o + 15),
        },
        target: match (target_type.map(dec), target_id.map(dec)) {
            (Some(kind), Some(id)) => Some(Target {
                kind,
                id,
                name: opt(r, o + 18),
            }),
            _ => None,
        },
        details: match details {
            Some(d) => Some(Details::from_stored(d).map_err(|_| corrupt("details"))?),
            None => None,
        },
        idempotency_key: opt(r, o + 20),
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
        self.seq.push(i(e.seq));
        self.id.push(enc(&e.id).into_owned());
        self.occurred_at.push(e.occurred_at.timestamp_millis());
        self.received_at.push(e.received_at.timestamp_millis());
        self.action.push(enc(&e.action).into_owned());
        self.kind.push(e.kind.as_str().into());
        self.channel.push(enc(&e.channel).into_owned());
        self.outcome.push(e.outcome.as_str().into());
        self.description.push(enc_opt(&e.description));
        self.actor_type.push(e.actor.kind.as_str().into());
        self.actor_id.push(enc_opt(&e.actor.id));
        self.actor_name.push(enc_opt(&e.actor.name));
        self.actor_email.push(enc_opt(&e.actor.email));
        self.actor_ip.push(enc_opt(&e.actor.ip));
        self.actor_user_agent.push(enc_opt(&e.actor.user_agent));
        self.target_type.push(t.map(|t| enc(&t.kind).into_owned()));
        self.target_id.push(t.map(|t| enc(&t.id).into_owned()));
        self.target_name
            .push(t.and_then(|t| t.name.as_deref().map(|n| enc(n).into_owned())));
        // Details are canonical JSON: a NUL in them is the escape `\u0000`, never the character.
        self.details
            .push(e.details.as_ref().map(|d| d.as_str().to_string()));
        self.idempotency_key.push(enc_opt(&e.idempotency_key));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_nul_and_the_escape_itself_round_trips() {
        for s in ["plain", "a\0b", "\u{FFFF}0", "\0\u{FFFF}\u{FFFF}1\0", ""] {
            let e = enc(s);
            assert!(!e.contains('\0'), "{e:?}");
            assert_eq!(dec(e.into_owned()), s);
        }
    }
}
