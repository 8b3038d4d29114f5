//! The event a producer sends and the entry the server stores and returns.

use super::details::Details;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an entry did to its target. Serialised lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Created,
    Updated,
    Deleted,
    Read,
    Other,
}

impl Kind {
    /// Every kind, in the order the UI lists them.
    pub const ALL: [Kind; 5] = [
        Kind::Created,
        Kind::Updated,
        Kind::Deleted,
        Kind::Read,
        Kind::Other,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::Updated => "updated",
            Kind::Deleted => "deleted",
            Kind::Read => "read",
            Kind::Other => "other",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Infers the kind from an action's last word (`ticket.created`, `user_deleted`, `report.viewed`).
    pub fn infer(action: &str) -> Kind {
        let last = action
            .rsplit(['.', '_', ':', '/', '-'])
            .next()
            .unwrap_or(action);
        match last.to_ascii_lowercase().as_str() {
            "created" | "create" | "added" | "add" | "inserted" | "enrolled" | "invited" => {
                Kind::Created
            }
            "updated" | "update" | "changed" | "modified" | "edited" | "saved" | "renamed"
            | "enabled" | "disabled" | "escalated" | "granted" | "set" => Kind::Updated,
            "deleted" | "delete" | "removed" | "remove" | "revoked" | "destroyed" | "purged"
            | "invalidated" => Kind::Deleted,
            "viewed" | "read" | "accessed" | "listed" | "searched" | "downloaded" => Kind::Read,
            _ => Kind::Other,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the audited action succeeded.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    #[default]
    Success,
    Failure,
}

impl Outcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acted: a person, a service, or the system itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ActorType {
    User,
    Service,
    #[default]
    System,
}

impl ActorType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::User => "user",
            ActorType::Service => "service",
            ActorType::System => "system",
        }
    }
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<ActorType> {
        match s {
            "user" => Some(ActorType::User),
            "service" => Some(ActorType::Service),
            "system" => Some(ActorType::System),
            _ => None,
        }
    }
}

/// The actor of an event. Name, email, ip and user agent are personal fields (see Integrity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// `pseudonym-` and 8 lowercase hex digits: what pseudonymisation writes into personal fields.
/// Producers may not send it (validation refuses), so seeing it means the server wrote it.
pub fn is_pseudonym(text: &str) -> bool {
    text.strip_prefix("pseudonym-")
        .is_some_and(|h| h.len() == 8 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

impl Actor {
    /// The system actor: what an event without an actor is attributed to.
    pub fn system() -> Actor {
        Actor::default()
    }
    /// True when a GDPR request replaced this person's personal fields with a pseudonym.
    pub fn is_pseudonymised(&self) -> bool {
        [&self.name, &self.email, &self.ip, &self.user_agent]
            .iter()
            .any(|f| f.as_deref().is_some_and(is_pseudonym))
    }
    /// The best short label for a person reading the log: name, then email, then id.
    pub fn label(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or(self.email.as_deref())
            .or(self.id.as_deref())
    }
}

/// What the event was done to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What a producer posts; only `action` is required. Validated by [`crate::model::validate_event`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_ts")]
    pub occurred_at: Option<DateTime<Utc>>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A stored entry: the event with its defaults applied plus id, seq, tenant and the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub seq: u64,
    pub tenant: String,
    #[serde(with = "ts")]
    pub occurred_at: DateTime<Utc>,
    #[serde(with = "ts")]
    pub received_at: DateTime<Utc>,
    pub action: String,
    pub kind: Kind,
    pub channel: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// `type/id` of the target, the form the `target` filter takes.
    pub fn target_ref(&self) -> Option<String> {
        self.target.as_ref().map(|t| format!("{}/{}", t.kind, t.id))
    }
}

/// What a 201 says of each stored entry, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub id: String,
    pub seq: u64,
    pub hash: String,
    /// True when the event's idempotency key was already in the log (or earlier in the same
    /// batch): this is the original entry, and nothing was stored. Absent on the wire when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
}

/// The body of a 201 from `POST /v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResponse {
    pub entries: Vec<Appended>,
}

/// One page of `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub next_cursor: Option<String>,
}

/// Serde for API timestamps: RFC 3339, UTC, milliseconds.
pub(crate) mod ts {
    use super::super::time::{format_ts, parse_ts};
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_ts(t))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_ts(&s).ok_or_else(|| D::Error::custom(format!("`{s}` is not an RFC 3339 timestamp")))
    }
}

/// [`ts`] for optional timestamps.
pub(crate) mod opt_ts {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::ts::serialize(t, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::ts")] DateTime<Utc>);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_kind_from_last_word() {
        assert_eq!(Kind::infer("ticket.created"), Kind::Created);
        assert_eq!(Kind::infer("user_deleted"), Kind::Deleted);
        assert_eq!(Kind::infer("report.viewed"), Kind::Read);
        assert_eq!(Kind::infer("pii.read"), Kind::Read);
        assert_eq!(
            Kind::infer("integration_credentials_updated"),
            Kind::Updated
        );
        assert_eq!(Kind::infer("rule_fired"), Kind::Other);
    }
}
