//! The hash chain (API.md "Integrity"): canonical bytes, personal-field commitments, verification.

use crate::model::{ChainHead, Entry, VerifyReport, format_ts};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The `prev_hash` of seq 1: 32 zero bytes.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The personal fields of an actor, which enter the chain only as salted commitments.
pub const PERSONAL_FIELDS: [&str; 4] = ["name", "email", "ip", "user_agent"];

/// One personal field's commitment: `SHA-256(salt || text)`, and the salt while it still exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// Hex SHA-256 of salt and text.
    pub c: String,
    /// Hex salt; destroyed when the field is pseudonymised, so the old text cannot be confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
}

/// The commitments of an entry's personal fields, by field name.
pub type Commitments = BTreeMap<String, Commitment>;

/// `SHA-256(salt || text)` in hex.
pub fn commit(salt: &[u8], text: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(text.as_bytes());
    hex::encode(h.finalize())
}

/// Fresh commitments, with new random salts, for the personal fields an entry carries.
pub fn new_commitments(entry: &Entry) -> Commitments {
    let mut out = Commitments::new();
    for (field, text) in personal_values(entry) {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the operating system's random source failed");
        out.insert(
            field.to_string(),
            Commitment {
                c: commit(&salt, text),
                s: Some(hex::encode(salt)),
            },
        );
    }
    out
}

fn personal_values(entry: &Entry) -> impl Iterator<Item = (&'static str, &str)> {
    let a = &entry.actor;
    [
        ("name", &a.name),
        ("email", &a.email),
        ("ip", &a.ip),
        ("user_agent", &a.user_agent),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.as_deref().map(|v| (f, v)))
}

/// The commitment a personal field enters the chain as: recomputed from the text while the salt
/// exists (so an edited text shows), the stored one once the salt is destroyed.
fn field_commitment(c: &Commitment, text: &str) -> String {
    match c.s.as_deref().and_then(|s| hex::decode(s).ok()) {
        Some(salt) => commit(&salt, text),
        None => c.c.clone(),
    }
}

/// The entry without `hash`, personal fields as commitments, as JSON with sorted keys.
pub fn canonical_bytes(entry: &Entry, commitments: &Commitments) -> Vec<u8> {
    let mut actor = BTreeMap::new();
    actor.insert("type", Value::from(entry.actor.kind.as_str()));
    if let Some(id) = &entry.actor.id {
        actor.insert("id", Value::from(id.as_str()));
    }
    for (field, text) in personal_values(entry) {
        // A personal field without a commitment was added after the fact: it cannot verify.
        let c = commitments.get(field).map_or_else(
            || format!("uncommitted:{text}"),
            |c| field_commitment(c, text),
        );
        actor.insert(field, Value::from(c));
    }
    let mut top: BTreeMap<&str, Value> = BTreeMap::new();
    top.insert("id", entry.id.as_str().into());
    top.insert("seq", entry.seq.into());
    top.insert("tenant", entry.tenant.as_str().into());
    top.insert("occurred_at", format_ts(&entry.occurred_at).into());
    top.insert("received_at", format_ts(&entry.received_at).into());
    top.insert("action", entry.action.as_str().into());
    top.insert("kind", entry.kind.as_str().into());
    top.insert("channel", entry.channel.as_str().into());
    top.insert("outcome", entry.outcome.as_str().into());
    top.insert(
        "actor",
        Value::Object(actor.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
    );
    top.insert("prev_hash", entry.prev_hash.as_str().into());
    if let Some(d) = &entry.description {
        top.insert("description", d.as_str().into());
    }
    if let Some(t) = &entry.target {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), t.kind.as_str().into());
        m.insert("id".into(), t.id.as_str().into());
        if let Some(n) = &t.name {
            m.insert("name".into(), n.as_str().into());
        }
        top.insert("target", Value::Object(m));
    }
    if let Some(d) = &entry.details {
        top.insert("details", d.clone());
    }
    if let Some(k) = &entry.idempotency_key {
        top.insert("idempotency_key", k.as_str().into());
    }
    let mut out = Vec::with_capacity(512);
    out.push(b'{');
    for (i, (k, v)) in top.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_canonical(&Value::from(*k), &mut out);
        out.push(b':');
        write_canonical(v, &mut out);
    }
    out.push(b'}');
    out
}

/// Compact JSON with object keys sorted at every depth, whatever map type serde_json was built with.
fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k).expect("writing to a Vec cannot fail");
                out.push(b':');
                write_canonical(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, out);
            }
            out.push(b']');
        }
        other => serde_json::to_writer(&mut *out, other).expect("writing to a Vec cannot fail"),
    }
}

/// `SHA-256(prev_hash_bytes || canonical_bytes)` in lowercase hex.
pub fn entry_hash(entry: &Entry, commitments: &Commitments) -> String {
    let mut h = Sha256::new();
    h.update(hex::decode(&entry.prev_hash).unwrap_or_default());
    h.update(canonical_bytes(entry, commitments));
    hex::encode(h.finalize())
}

/// Walks a tenant's rows in `seq` order and reports the first that breaks the chain.
///
/// `anchor` is where the chain starts (seq 0 and [`GENESIS`] until retention prunes a prefix);
/// `recorded_head` is the head the store recorded at its last commit, which catches a deleted tail.
pub fn verify<I, E>(
    rows: I,
    anchor: (u64, &str),
    recorded_head: Option<&ChainHead>,
) -> Result<VerifyReport, E>
where
    I: IntoIterator<Item = Result<(Entry, Commitments), E>>,
{
    let (mut expect_seq, mut prev) = (anchor.0 + 1, anchor.1.to_string());
    let mut checked = 0u64;
    let bad = |checked: u64, seq: u64, reason: &str| VerifyReport {
        ok: false,
        checked,
        head: None,
        first_bad_seq: Some(seq),
        reason: Some(reason.to_string()),
    };
    for row in rows {
        let (entry, commitments) = row?;
        if entry.seq != expect_seq {
            let reason = if entry.seq > expect_seq {
                "gap"
            } else {
                "reordered"
            };
            return Ok(bad(checked, expect_seq.min(entry.seq), reason));
        }
        let recomputed = entry_hash(&entry, &commitments);
        if recomputed != entry.hash {
            return Ok(bad(checked, entry.seq, "hash_mismatch"));
        }
        if entry.prev_hash != prev {
            return Ok(bad(checked, entry.seq, "reordered"));
        }
        prev = entry.hash;
        expect_seq += 1;
        checked += 1;
    }
    let last_seq = expect_seq - 1;
    if let Some(head) = recorded_head {
        // The rows must end at the head the store recorded: this catches a removed or forged tail.
        if head.seq > last_seq {
            return Ok(bad(checked, last_seq + 1, "gap"));
        }
        if head.seq < last_seq {
            return Ok(bad(
                head.seq.saturating_sub(anchor.0),
                head.seq + 1,
                "hash_mismatch",
            ));
        }
        if last_seq > anchor.0 && head.hash != prev {
            return Ok(bad(checked - 1, last_seq, "hash_mismatch"));
        }
    }
    let head = (last_seq > anchor.0).then_some(ChainHead {
        seq: last_seq,
        hash: prev,
    });
    Ok(VerifyReport {
        ok: true,
        checked,
        head,
        first_bad_seq: None,
        reason: None,
    })
}
