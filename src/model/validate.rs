//! Validation of producers' events, exactly as API.md "The event" says, with the field at fault named.

use super::details::{Details, DetailsError, MAX_DEPTH, canonicalize};
use super::event::{Actor, ActorType, Kind, NewEvent, Outcome, Target};
use super::time::parse_ts;
use chrono::{DateTime, Duration, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Events per `POST /v1/events`.
pub const MAX_BATCH: usize = 1000;
/// Bytes of `details`, serialised.
pub const MAX_DETAILS_BYTES: usize = 256 * 1024;
/// Characters of `description`.
pub const MAX_DESCRIPTION_CHARS: usize = 8192;
/// Characters of each actor and target string (the user agent gets more).
const MAX_SHORT_CHARS: usize = 256;
const MAX_USER_AGENT_CHARS: usize = 1024;
/// How far in the future `occurred_at` may lie (clock skew between producer and server).
const MAX_FUTURE: Duration = Duration::minutes(5);

/// A field of one event that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path, `action` or `actor.email`; empty when the event as a whole is wrong.
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

const TOP_FIELDS: [&str; 10] = [
    "occurred_at",
    "action",
    "kind",
    "channel",
    "outcome",
    "description",
    "actor",
    "target",
    "details",
    "idempotency_key",
];
const ACTOR_FIELDS: [&str; 6] = ["type", "id", "name", "email", "ip", "user_agent"];
const TARGET_FIELDS: [&str; 3] = ["type", "id", "name"];

/// Checks one event built as a `Value` (the server's own entries, the demo, tests).
pub fn validate_event(value: Value, now: DateTime<Utc>) -> Result<NewEvent, FieldError> {
    let Value::Object(mut obj) = value else {
        return Err(err(
            "",
            format!("an event must be a JSON object, not {}", type_name(&value)),
        ));
    };
    let details = match obj.remove("details") {
        None | Some(Value::Null) => None,
        Some(d) => Some(Details::from_value(&d)),
    };
    fields(obj, details, now)
}

/// Checks one event as a producer sent it, as JSON text: `details` keeps its exact text, and
/// an object anywhere in the event that repeats a key is refused, naming the key and where.
pub fn validate_event_text(text: &str, now: DateTime<Utc>) -> Result<NewEvent, FieldError> {
    let canonical = canonicalize(text).map_err(|e| match e {
        DetailsError::Duplicate(d) => {
            let within = d
                .path
                .strip_suffix(&d.key)
                .and_then(|p| p.strip_suffix('.'))
                .map_or_else(|| "the event".to_string(), |p| format!("`{}`", clip(p)));
            err(
                &clip(&d.path),
                format!(
                    "the key `{}` appears twice in {within}; an object may name a key only once",
                    clip(&d.key)
                ),
            )
        }
        DetailsError::TooDeep(path) => {
            let field = path.split(['.', '[']).next().unwrap_or_default();
            err(
                &clip(field),
                format!(
                    "{} is nested too deeply (the limit is {MAX_DEPTH} levels, the event included)",
                    clip(field)
                ),
            )
        }
        DetailsError::Json(e) => err("", format!("the event is not valid JSON: {e}")),
    })?;
    if !canonical.starts_with('{') {
        return validate_event(serde_json::from_str(&canonical).unwrap_or(Value::Null), now);
    }
    let members: BTreeMap<String, &RawValue> = serde_json::from_str(&canonical)
        .map_err(|e| err("", format!("the event is not valid JSON: {e}")))?;
    let mut obj = Map::new();
    let mut details = None;
    for (key, raw) in members {
        if key == "details" {
            if raw.get() != "null" {
                // Already canonical: it is a member of the canonical event.
                details = Some(
                    Details::from_stored(raw.get().to_string())
                        .map_err(|e| err("details", format!("details is not valid JSON: {e}")))?,
                );
            }
        } else {
            let v = serde_json::from_str(raw.get()).map_err(|e| {
                err(
                    &clip(&key),
                    format!("{} is not valid JSON: {e}", clip(&key)),
                )
            })?;
            obj.insert(key, v);
        }
    }
    fields(obj, details, now)
}

/// The rules of API.md "The event", on the members other than `details` and on its size.
/// Checked in the order of the event's members, so the first error is the first member's.
fn fields(
    mut obj: Map<String, Value>,
    details: Option<Details>,
    now: DateTime<Utc>,
) -> Result<NewEvent, FieldError> {
    reject_unknown(&obj, &TOP_FIELDS, "")?;
    let action = take_action(&mut obj)?;
    let kind = match take_string(&mut obj, "kind", "kind")? {
        None => None,
        Some(k) => Some(Kind::parse(&k).ok_or_else(|| {
            err(
                "kind",
                format!("kind `{k}` is not one of created, updated, deleted, read, other"),
            )
        })?),
    };
    let channel = take_channel(&mut obj)?;
    let outcome = match take_string(&mut obj, "outcome", "outcome")? {
        None => None,
        Some(o) => Some(Outcome::parse(&o).ok_or_else(|| {
            err(
                "outcome",
                format!("outcome `{o}` is not one of success, failure"),
            )
        })?),
    };
    let occurred_at = take_occurred_at(&mut obj, now)?;
    let description = take_string(&mut obj, "description", "description")?;
    if let Some(d) = &description {
        check_len(d, "description", MAX_DESCRIPTION_CHARS)?;
    }
    let actor = take_object(&mut obj, "actor", actor)?;
    let target = take_object(&mut obj, "target", target)?;
    if let Some(d) = &details
        && d.len() > MAX_DETAILS_BYTES
    {
        return Err(err(
            "details",
            format!(
                "details is {} bytes serialised; the limit is {MAX_DETAILS_BYTES} (256 KiB)",
                d.len()
            ),
        ));
    }
    let idempotency_key = take_string(&mut obj, "idempotency_key", "idempotency_key")?;
    if let Some(k) = &idempotency_key {
        check_chars(k, "idempotency_key", 1, 128, |_| true, "")?;
    }
    Ok(NewEvent {
        occurred_at,
        action,
        kind,
        channel,
        outcome,
        description,
        actor,
        target,
        details,
        idempotency_key,
    })
}

/// `action`: required, 1 to 128 of letters, digits and `_ . : / -`.
fn take_action(obj: &mut Map<String, Value>) -> Result<String, FieldError> {
    let action =
        take_string(obj, "action", "action")?.ok_or_else(|| err("action", "action is required"))?;
    check_chars(
        &action,
        "action",
        1,
        128,
        |c| c.is_ascii_alphanumeric() || "_.:/-".contains(c),
        "letters, digits and _ . : / -",
    )?;
    Ok(action)
}

/// `channel`: 1 to 64 of lowercase letters, digits and `_ . -`.
fn take_channel(obj: &mut Map<String, Value>) -> Result<Option<String>, FieldError> {
    let channel = take_string(obj, "channel", "channel")?;
    if let Some(c) = &channel {
        check_chars(
            c,
            "channel",
            1,
            64,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c),
            "lowercase letters, digits and _ . -",
        )?;
    }
    Ok(channel)
}

/// `occurred_at`: an RFC 3339 timestamp no more than `MAX_FUTURE` after `now`.
fn take_occurred_at(
    obj: &mut Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, FieldError> {
    let Some(s) = take_string(obj, "occurred_at", "occurred_at")? else {
        return Ok(None);
    };
    let t = parse_ts(&s).ok_or_else(|| {
        err(
            "occurred_at",
            format!(
                "occurred_at `{}` is not an RFC 3339 timestamp such as 2026-11-21T09:14:03.120Z",
                clip(&s)
            ),
        )
    })?;
    if t > now + MAX_FUTURE {
        return Err(err(
            "occurred_at",
            "occurred_at lies more than 5 minutes in the future; check the producer's clock",
        ));
    }
    Ok(Some(t))
}

/// `actor` or `target`: absent, null, or an object that `read` checks.
fn take_object<T>(
    obj: &mut Map<String, Value>,
    field: &str,
    read: fn(Map<String, Value>) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    match obj.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(read(o)?)),
        Some(other) => Err(err(
            field,
            format!("{field} must be an object, not {}", type_name(&other)),
        )),
    }
}

fn actor(mut a: Map<String, Value>) -> Result<Actor, FieldError> {
    reject_unknown(&a, &ACTOR_FIELDS, "actor.")?;
    let kind = take_string(&mut a, "type", "actor.type")?.ok_or_else(|| {
        err(
            "actor.type",
            "actor.type is required: one of user, service, system",
        )
    })?;
    let kind = ActorType::parse(&kind).ok_or_else(|| {
        err(
            "actor.type",
            format!(
                "actor.type `{}` is not one of user, service, system",
                clip(&kind)
            ),
        )
    })?;
    let mut field = |name: &str, max: usize| -> Result<Option<String>, FieldError> {
        let path = format!("actor.{name}");
        let v = take_string(&mut a, name, &path)?;
        if let Some(s) = &v {
            check_len(s, &path, max)?;
            if name != "id" && super::event::is_pseudonym(s) {
                return Err(err(
                    &path,
                    format!(
                        "{path} `{s}` has the form only pseudonymisation writes; send the real value"
                    ),
                ));
            }
        }
        Ok(v)
    };
    Ok(Actor {
        kind,
        id: field("id", MAX_SHORT_CHARS)?,
        name: field("name", MAX_SHORT_CHARS)?,
        email: field("email", MAX_SHORT_CHARS)?,
        ip: field("ip", MAX_SHORT_CHARS)?,
        user_agent: field("user_agent", MAX_USER_AGENT_CHARS)?,
    })
}

fn target(mut t: Map<String, Value>) -> Result<Target, FieldError> {
    reject_unknown(&t, &TARGET_FIELDS, "target.")?;
    let mut required = |name: &str| -> Result<String, FieldError> {
        let path = format!("target.{name}");
        let v = take_string(&mut t, name, &path)?
            .ok_or_else(|| err(&path, format!("{path} is required")))?;
        check_chars(&v, &path, 1, MAX_SHORT_CHARS, |_| true, "")?;
        Ok(v)
    };
    let kind = required("type")?;
    let id = required("id")?;
    let name = take_string(&mut t, "name", "target.name")?;
    if let Some(n) = &name {
        check_len(n, "target.name", MAX_SHORT_CHARS)?;
    }
    Ok(Target { kind, id, name })
}

fn reject_unknown(
    obj: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
) -> Result<(), FieldError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => {
            let path = format!("{prefix}{}", clip(k));
            Err(err(
                &path,
                format!(
                    "unknown field `{path}`; the fields are {}",
                    known.join(", ")
                ),
            ))
        }
    }
}

/// Takes an optional string field; `null` counts as absent.
fn take_string(
    obj: &mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, FieldError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(err(
            path,
            format!("{path} must be a string, not {}", type_name(&other)),
        )),
    }
}

fn check_len(s: &str, path: &str, max: usize) -> Result<(), FieldError> {
    let n = s.chars().count();
    if n > max {
        return Err(err(
            path,
            format!("{path} is {n} characters long; the limit is {max}"),
        ));
    }
    Ok(())
}

fn check_chars(
    s: &str,
    path: &str,
    min: usize,
    max: usize,
    ok: impl Fn(char) -> bool,
    allowed: &str,
) -> Result<(), FieldError> {
    let n = s.chars().count();
    if n < min {
        return Err(err(path, format!("{path} must not be empty")));
    }
    check_len(s, path, max)?;
    if let Some(bad) = s.chars().find(|c| !ok(*c)) {
        return Err(err(
            path,
            format!("{path} may hold only {allowed}; found {:?}", bad),
        ));
    }
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Shortens attacker-sized input before it is echoed in an error message.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(64).flat_map(char::escape_debug).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<NewEvent, FieldError> {
        validate_event(v, Utc::now())
    }

    #[test]
    fn only_action_is_required() {
        let e = check(json!({"action": "user.login"})).unwrap();
        assert_eq!(e.action, "user.login");
        assert_eq!(check(json!({})).unwrap_err().field, "action");
    }

    #[test]
    fn names_the_field_at_fault() {
        assert_eq!(
            check(json!({"action": "a", "actoor": {}}))
                .unwrap_err()
                .field,
            "actoor"
        );
        assert_eq!(
            check(json!({"action": "a", "actor": {"type": "user", "mail": "x"}}))
                .unwrap_err()
                .field,
            "actor.mail"
        );
        assert_eq!(check(json!({"action": "a b"})).unwrap_err().field, "action");
        assert_eq!(
            check(json!({"action": "a", "channel": "Auth"}))
                .unwrap_err()
                .field,
            "channel"
        );
        assert_eq!(
            check(json!({"action": "a", "kind": "made"}))
                .unwrap_err()
                .field,
            "kind"
        );
        assert_eq!(
            check(json!({"action": "a", "outcome": 1}))
                .unwrap_err()
                .field,
            "outcome"
        );
        assert_eq!(
            check(json!({"action": "a", "target": {"type": "t"}}))
                .unwrap_err()
                .field,
            "target.id"
        );
        assert_eq!(
            check(json!({"action": "a", "occurred_at": "2999-01-01T00:00:00Z"}))
                .unwrap_err()
                .field,
            "occurred_at"
        );
        assert_eq!(
            check(json!({"action": "a", "occurred_at": "yesterday"}))
                .unwrap_err()
                .field,
            "occurred_at"
        );
        assert_eq!(
            check(json!({"action": "x".repeat(129)})).unwrap_err().field,
            "action"
        );
        let big = "x".repeat(MAX_DETAILS_BYTES);
        assert_eq!(
            check(json!({"action": "a", "details": {"b": big}}))
                .unwrap_err()
                .field,
            "details"
        );
    }
}
