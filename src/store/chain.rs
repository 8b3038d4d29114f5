//! The hash chain (API.md "Integrity"): canonical bytes, personal-field commitments, verification.

use crate::model::{ChainHead, Entry, VerifyReport, format_ts};
use serde::{Deserialize, Serialize};
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
    to_hex(&h.finalize())
}

/// Lowercase hex; the hex crate's char-by-char encoder showed up in ingest profiles.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// Fresh commitments, with new random salts from `rng` (a CSPRNG), for the personal fields an entry carries.
pub fn new_commitments(entry: &Entry, rng: &mut impl rand::RngCore) -> Commitments {
    let mut out = Commitments::new();
    for (field, text) in personal_values(entry) {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        out.insert(
            field.to_string(),
            Commitment {
                c: commit(&salt, text),
                s: Some(to_hex(&salt)),
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

/// True when every personal field still matches its commitment. Fields whose salt was
/// destroyed (pseudonymised) cannot be checked against the old text, by design: that is what
/// makes erasure real; they must hold a pseudonym, so no other text can be slipped in.
pub fn commitments_match(entry: &Entry, commitments: &Commitments) -> bool {
    personal_values(entry).all(|(field, text)| match commitments.get(field) {
        None => false,
        Some(Commitment { c, s: Some(salt) }) => {
            hex::decode(salt).is_ok_and(|salt| commit(&salt, text) == *c)
        }
        Some(Commitment { s: None, .. }) => crate::model::is_pseudonym(text),
    }) && commitments
        .keys()
        .all(|k| personal_values(entry).any(|(f, _)| f == k))
}

/// The entry without `hash`, personal fields as commitments, as JSON with sorted keys.
///
/// Written field by field in sorted order rather than through a map of values: this runs for
/// every entry appended and every entry verified.
pub fn canonical_bytes(entry: &Entry, commitments: &Commitments) -> Vec<u8> {
    let mut w = Canonical(Vec::with_capacity(512));
    w.0.push(b'{');
    w.field("action", true).str(&entry.action);
    w.field("actor", false);
    {
        let a = &entry.actor;
        w.0.push(b'{');
        let mut first = true;
        // A personal field enters as its commitment; a field with text but no commitment (added
        // behind the store's back) enters as text, so the hash cannot match.
        let personal = |w: &mut Canonical, first: &mut bool, name: &str, text: &Option<String>| {
            if let Some(text) = text {
                let c = commitments
                    .get(name)
                    .map_or_else(|| format!("uncommitted:{text}"), |c| c.c.clone());
                w.field(name, std::mem::take(first)).str(&c);
            }
        };
        personal(&mut w, &mut first, "email", &a.email);
        if let Some(id) = &a.id {
            w.field("id", std::mem::take(&mut first)).str(id);
        }
        personal(&mut w, &mut first, "ip", &a.ip);
        personal(&mut w, &mut first, "name", &a.name);
        w.field("type", std::mem::take(&mut first))
            .str(a.kind.as_str());
        personal(&mut w, &mut first, "user_agent", &a.user_agent);
        w.0.push(b'}');
    }
    w.field("channel", false).str(&entry.channel);
    if let Some(d) = &entry.description {
        w.field("description", false).str(d);
    }
    if let Some(d) = &entry.details {
        // Already canonical text (model::Details): hashed byte for byte as it is stored.
        w.field("details", false);
        w.0.extend_from_slice(d.as_str().as_bytes());
    }
    w.field("id", false).str(&entry.id);
    if let Some(k) = &entry.idempotency_key {
        w.field("idempotency_key", false).str(k);
    }
    w.field("kind", false).str(entry.kind.as_str());
    w.field("occurred_at", false)
        .str(&format_ts(&entry.occurred_at));
    w.field("outcome", false).str(entry.outcome.as_str());
    w.field("prev_hash", false).str(&entry.prev_hash);
    w.field("received_at", false)
        .str(&format_ts(&entry.received_at));
    w.field("seq", false);
    w.0.extend_from_slice(entry.seq.to_string().as_bytes());
    if let Some(t) = &entry.target {
        w.field("target", false);
        w.0.push(b'{');
        w.field("id", true).str(&t.id);
        if let Some(n) = &t.name {
            w.field("name", false).str(n);
        }
        w.field("type", false).str(&t.kind);
        w.0.push(b'}');
    }
    w.field("tenant", false).str(&entry.tenant);
    w.0.push(b'}');
    w.0
}

/// A small writer for [`canonical_bytes`].
struct Canonical(Vec<u8>);

impl Canonical {
    fn field(&mut self, key: &str, first: bool) -> &mut Self {
        if !first {
            self.0.push(b',');
        }
        self.str(key);
        self.0.push(b':');
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        serde_json::to_writer(&mut self.0, s).expect("writing to a Vec cannot fail");
        self
    }
}

/// `SHA-256(prev_hash_bytes || canonical_bytes)` in lowercase hex.
pub fn entry_hash(entry: &Entry, commitments: &Commitments) -> String {
    let mut h = Sha256::new();
    h.update(hex::decode(&entry.prev_hash).unwrap_or_default());
    h.update(canonical_bytes(entry, commitments));
    to_hex(&h.finalize())
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
        from_seq: (anchor.0 > 0).then_some(anchor.0 + 1),
        ..VerifyReport::default()
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
        if !commitments_match(&entry, &commitments)
            || entry_hash(&entry, &commitments) != entry.hash
        {
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
        from_seq: (anchor.0 > 0).then_some(anchor.0 + 1),
        ..VerifyReport::default()
    })
}

/// What an event becomes in a tenant's chain: its id (a ULID of when it was received), the
/// defaults filled in, fresh salted commitments of its personal fields, and its hash over the
/// previous entry's. Both stores' writers seal with this, so both hash exactly the same bytes.
pub fn seal(
    ev: &crate::model::NewEvent,
    tenant: &str,
    seq: u64,
    prev_hash: &str,
    received_at: chrono::DateTime<chrono::Utc>,
    ulids: &mut ulid::Generator,
    rng: &mut impl rand::RngCore,
) -> (Entry, Commitments) {
    use crate::model::{Actor, Kind, Outcome};
    let id = ulids
        .generate_from_datetime(std::time::SystemTime::from(received_at))
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string();
    let mut entry = Entry {
        id,
        seq,
        tenant: tenant.to_string(),
        occurred_at: ev.occurred_at.unwrap_or(received_at),
        received_at,
        action: ev.action.clone(),
        kind: ev.kind.unwrap_or_else(|| Kind::infer(&ev.action)),
        channel: ev.channel.clone().unwrap_or_else(|| "default".into()),
        outcome: ev.outcome.unwrap_or(Outcome::Success),
        description: ev.description.clone(),
        actor: ev.actor.clone().unwrap_or_else(Actor::system),
        target: ev.target.clone(),
        details: ev.details.clone(),
        idempotency_key: ev.idempotency_key.clone(),
        prev_hash: prev_hash.to_string(),
        hash: String::new(),
    };
    let commitments = new_commitments(&entry, rng);
    entry.hash = entry_hash(&entry, &commitments);
    (entry, commitments)
}

/// Where a tenant's chain ends, as a writer keeps it between appends: the last entry's seq and
/// hash, and when it was received. Both stores' writers append through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    pub seq: u64,
    pub hash: String,
    pub received_ms: i64,
}

impl Tip {
    /// The tip of a chain with no entry.
    pub fn genesis() -> Tip {
        Tip {
            seq: 0,
            hash: GENESIS.into(),
            received_ms: 0,
        }
    }

    /// `ev` sealed as the entry after this tip (see [`seal`]), received at `now_ms` — or at the
    /// tip's own time when the clock stepped back: `received_at` never goes backwards within a
    /// tenant, and prune relies on it rising with seq.
    pub fn seal_next(
        &self,
        ev: &crate::model::NewEvent,
        tenant: &str,
        now_ms: i64,
        ulids: &mut ulid::Generator,
        rng: &mut impl rand::RngCore,
    ) -> (Entry, Commitments) {
        let received_at = crate::model::from_millis(now_ms.max(self.received_ms));
        seal(
            ev,
            tenant,
            self.seq + 1,
            &self.hash,
            received_at,
            ulids,
            rng,
        )
    }

    /// Moves the tip onto `entry`, once it is stored; what its producer is told.
    pub fn advance(&mut self, entry: Entry) -> crate::model::Appended {
        self.seq = entry.seq;
        self.hash.clone_from(&entry.hash);
        self.received_ms = entry.received_at.timestamp_millis();
        crate::model::Appended {
            id: entry.id,
            seq: entry.seq,
            hash: entry.hash,
            existing: false,
        }
    }
}

#[cfg(test)]
mod tip_tests {
    use super::*;

    #[test]
    fn a_tip_chains_and_never_goes_back_in_time() {
        let ev: crate::model::NewEvent =
            serde_json::from_str(r#"{"action":"user.login","actor":{"type":"user","id":"u_1"}}"#)
                .unwrap();
        let mut ulids = ulid::Generator::new();
        let mut rng = rand::rng();
        let mut tip = Tip::genesis();
        let (first, _) = tip.seal_next(&ev, "t", 5_000, &mut ulids, &mut rng);
        assert_eq!((first.seq, first.prev_hash.as_str()), (1, GENESIS));
        let told = tip.advance(first.clone());
        assert_eq!((told.seq, told.hash.as_str()), (1, first.hash.as_str()));
        // The clock stepped back: the next entry is received when the tip was.
        let (second, _) = tip.seal_next(&ev, "t", 1_000, &mut ulids, &mut rng);
        assert_eq!(second.received_at.timestamp_millis(), 5_000);
        assert_eq!((second.seq, &second.prev_hash), (2, &first.hash));
        tip.advance(second);
        assert_eq!((tip.seq, tip.received_ms), (2, 5_000));
    }
}
