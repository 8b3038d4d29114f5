//! GitHub audit-log exports, JSON (an array, or one event a line as the streaming and the
//! REST API give them) and CSV (the same fields as columns). Mapping table: docs/formats.md.

use super::{Unfit, action_word, millis, short, text};
use crate::model::{Actor, ActorType, Kind, NewEvent, Outcome, Target, parse_ts};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// `@timestamp` and `created_at` are milliseconds since the epoch (numbers in JSON, digits in
/// CSV); an RFC 3339 text is taken too.
fn when(m: &Map<String, Value>, key: &str) -> Option<Result<DateTime<Utc>, Unfit>> {
    let v = m.get(key)?;
    let bad = || Unfit::NotMillis(key.into());
    Some(match v {
        Value::Number(n) => n.as_i64().and_then(millis).ok_or_else(bad),
        Value::String(s) if s.is_empty() => return None,
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(millis)
            .or_else(|| parse_ts(s))
            .ok_or_else(bad),
        _ => Err(bad()),
    })
}

/// One audit-log event as an event.
pub fn map(m: &Map<String, Value>) -> Result<NewEvent, Unfit> {
    let action = text(m, "action").ok_or_else(|| Unfit::Missing("action".into()))?;
    let occurred_at = when(m, "@timestamp")
        .or_else(|| when(m, "created_at"))
        .ok_or(Unfit::NeitherSet("@timestamp", "created_at"))??;
    let actor = text(m, "actor").map(|login| Actor {
        kind: if login.ends_with("[bot]") {
            ActorType::Service
        } else {
            ActorType::User
        },
        id: Some(short(login)),
        name: None,
        email: None,
        ip: text(m, "actor_ip").map(short),
        user_agent: text(m, "user_agent").map(|s| s.chars().take(1024).collect()),
    });
    let target = [
        ("repo", "repo"),
        ("repository", "repo"),
        ("team", "team"),
        ("user", "user"),
        ("org", "org"),
        ("business", "business"),
    ]
    .iter()
    .find_map(|(key, ty)| {
        text(m, key).map(|id| Target {
            kind: (*ty).to_string(),
            id: short(id),
            name: None,
        })
    });
    let kind = match text(m, "operation_type") {
        Some("create") => Kind::Created,
        Some("modify") => Kind::Updated,
        Some("remove") => Kind::Deleted,
        Some("access") => Kind::Read,
        Some(_) => Kind::Other,
        None => Kind::infer(action),
    };
    let mut description = format!(
        "{} {action}",
        actor
            .as_ref()
            .and_then(|a| a.id.as_deref())
            .unwrap_or("someone")
    );
    if let Some(t) = &target {
        description.push_str(&format!(" {} {}", t.kind, t.id));
    }
    let key = text(m, "_document_id").map(|id| format!("github:{id}"));
    if key.as_ref().is_some_and(|k| k.chars().count() > 128) {
        return Err(Unfit::TooLong {
            field: "_document_id",
            max: 121,
        });
    }
    Ok(NewEvent {
        occurred_at: Some(occurred_at),
        action: action_word(action),
        kind: Some(kind),
        channel: Some("github".into()),
        // GitHub's audit log records what was done; it has no outcome field.
        outcome: Some(Outcome::Success),
        description: Some(description.chars().take(8192).collect()),
        actor,
        target,
        details: None,
        idempotency_key: key,
    })
}
