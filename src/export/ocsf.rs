//! OCSF 1.x events (`format=ocsf`): each entry as the Open Cybersecurity Schema Framework class
//! its action fits, for SIEMs (Splunk, Sentinel, Security Lake). The table is in
//! docs/ocsf.md; nothing is dropped: an action no class fits becomes API Activity, the
//! generic "something was done through an application" class.
//!
//! Every event carries the entry whole under `unmapped` (OCSF's place for source fields with no
//! attribute of their own), so the SIEM copy loses nothing and the hash can still be checked.

use crate::model::{ActorType, Entry, Kind, Outcome};
use serde_json::{Value, json};

/// The OCSF schema version the events claim.
pub const VERSION: &str = "1.1.0";

/// An OCSF class: its uid, name and category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 3002, Identity & Access Management: sign-ins and sign-outs.
    Authentication,
    /// 3001, Identity & Access Management: accounts made, changed, locked, removed.
    AccountChange,
    /// 3004, Identity & Access Management: things (tickets, rules, integrations) created,
    /// read, changed or deleted.
    EntityManagement,
    /// 6003, Application Activity: any other call into an application; the fallback.
    ApiActivity,
}

impl Class {
    pub fn uid(self) -> u32 {
        match self {
            Class::Authentication => 3002,
            Class::AccountChange => 3001,
            Class::EntityManagement => 3004,
            Class::ApiActivity => 6003,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Class::Authentication => "Authentication",
            Class::AccountChange => "Account Change",
            Class::EntityManagement => "Entity Management",
            Class::ApiActivity => "API Activity",
        }
    }
    pub fn category(self) -> (u32, &'static str) {
        match self {
            Class::ApiActivity => (6, "Application Activity"),
            _ => (3, "Identity & Access Management"),
        }
    }
}

fn has(action: &str, words: &[&str]) -> bool {
    let a = action.to_ascii_lowercase();
    words.iter().any(|w| a.contains(w))
}

/// The class an entry maps to, and its activity id and name within that class.
pub fn classify(e: &Entry) -> (Class, u32, &'static str) {
    let a = e.action.as_str();
    if e.channel == "auth"
        || has(
            a,
            &[
                "login", "logon", "sign_in", "signin", "logout", "logoff", "sign_out", "signout",
            ],
        )
    {
        if has(a, &["logout", "logoff", "sign_out", "signout"]) {
            return (Class::Authentication, 2, "Logoff");
        }
        if has(a, &["login", "logon", "sign_in", "signin"]) {
            return (Class::Authentication, 1, "Logon");
        }
        if !has(a, &["user.", "account", "password", "mfa"]) {
            return (Class::Authentication, 99, "Other");
        }
    }
    let account = e
        .target
        .as_ref()
        .is_some_and(|t| t.kind == "user" || t.kind == "account")
        || has(a, &["user.", "user_", "account", "password", "mfa"]);
    if account {
        let activity = if has(a, &["password_reset", "password.reset"]) {
            (4, "Password Reset")
        } else if has(a, &["password"]) {
            (3, "Password Change")
        } else if has(a, &["mfa"]) && has(a, &["disable", "removed", "deleted"]) {
            (11, "MFA Factor Disable")
        } else if has(a, &["mfa"]) {
            (10, "MFA Factor Enable")
        } else if has(a, &["lock"]) && !has(a, &["unlock"]) {
            (9, "Lock")
        } else if has(a, &["disable", "suspend", "deactivat"]) {
            (5, "Disable")
        } else if has(a, &["enable", "activat", "unlock"]) {
            (2, "Enable")
        } else {
            match e.kind {
                Kind::Created => (1, "Create"),
                Kind::Deleted => (6, "Delete"),
                _ => (99, "Other"),
            }
        };
        return (Class::AccountChange, activity.0, activity.1);
    }
    let crud = match e.kind {
        Kind::Created => (1, "Create"),
        Kind::Read => (2, "Read"),
        Kind::Updated => (3, "Update"),
        Kind::Deleted => (4, "Delete"),
        Kind::Other => (99, "Other"),
    };
    if e.target.is_some() && e.kind != Kind::Other {
        return (Class::EntityManagement, crud.0, crud.1);
    }
    (Class::ApiActivity, crud.0, crud.1)
}

/// One entry as an OCSF event: one line of NDJSON without its newline. `verify-file`
/// compares an OCSF line with this, byte for byte, so every attribute is derived from the entry
/// alone (no product version: nothing could bind it).
///
/// Built as text, not as one `Value`: `details` goes in as its stored text (under
/// `unmapped.details` and `entity.data`), so every number keeps the spelling it was sent and
/// hashed in; a `Value` would respell `1E5` as `1e+5`.
pub fn event_text(e: &Entry) -> String {
    let (class, activity_id, activity) = classify(e);
    let mut ev = base(e, class, activity_id, activity);
    let with_data = class_members(e, class, &mut ev);
    let mut out = ev.to_string();
    // Both `ev` and the entity are non-empty objects: each loses its `}` and gains members.
    out.pop();
    if let Some((key, object)) = with_data {
        let mut object = object.to_string();
        if let Some(d) = &e.details {
            object.pop();
            object.push_str(",\"data\":");
            object.push_str(d.as_str());
            object.push('}');
        }
        out.push_str(&format!(",\"{key}\":{object}"));
    }
    out.push_str(",\"unmapped\":");
    // The entry whole, `details` as stored: serde_json writes an `Entry` with its `Details`
    // as raw text.
    out.push_str(&serde_json::to_string(e).unwrap_or_else(|_| "null".into()));
    out.push('}');
    out
}

/// The members every class has: what happened, how it went, when, and where it was logged.
fn base(e: &Entry, class: Class, activity_id: u32, activity: &str) -> Value {
    let (category_uid, category) = class.category();
    let (status_id, status) = match e.outcome {
        Outcome::Success => (1, "Success"),
        Outcome::Failure => (2, "Failure"),
    };
    json!({
        "activity_id": activity_id,
        "activity_name": activity,
        "category_uid": category_uid,
        "category_name": category,
        "class_uid": class.uid(),
        "class_name": class.name(),
        "type_uid": u64::from(class.uid()) * 100 + u64::from(activity_id),
        "type_name": format!("{}: {activity}", class.name()),
        "severity_id": if e.outcome == Outcome::Failure { 3 } else { 1 },
        "severity": if e.outcome == Outcome::Failure { "Medium" } else { "Informational" },
        "status_id": status_id,
        "status": status,
        "time": e.occurred_at.timestamp_millis(),
        "message": e.description.clone().unwrap_or_else(|| e.action.clone()),
        "metadata": {
            "version": VERSION,
            "uid": e.id,
            "sequence": e.seq,
            "logged_time": e.received_at.timestamp_millis(),
            "original_time": crate::model::format_ts(&e.occurred_at),
            "tenant_uid": e.tenant,
            "log_name": e.channel,
            "product": {"name": "trailscope", "vendor_name": "trailscope"},
        },
    })
}

/// The members of `class` itself (actor, user, endpoint, api, resources); for Entity
/// Management, the object that takes `details` as text, returned to be written after `ev`.
fn class_members(e: &Entry, class: Class, ev: &mut Value) -> Option<(&'static str, Value)> {
    let user = user(e);
    let endpoint = endpoint(e);
    // The object of a class whose `details` goes in as text (Entity Management's entity).
    let mut with_data = None;
    match class {
        Class::Authentication => {
            ev["actor"] = json!({"user": user.clone()});
            ev["user"] = match &e.target {
                Some(t) if t.kind == "user" => {
                    json!({"uid": t.id, "name": t.name.clone().unwrap_or_else(|| t.id.clone()), "type_id": 1, "type": "User"})
                }
                _ => user,
            };
            ev["src_endpoint"] = endpoint;
            // OCSF 1.1.0 asks an authentication for the service or the endpoint signed in to:
            // the service is the log channel the application wrote it to.
            ev["service"] = json!({"name": e.channel});
            ev["is_mfa"] = json!(has(&e.action, &["mfa"]));
        }
        Class::AccountChange => {
            ev["actor"] = json!({"user": user.clone()});
            ev["user"] = match &e.target {
                Some(t) => {
                    json!({"uid": t.id, "name": t.name.clone().unwrap_or_else(|| t.id.clone())})
                }
                None => user,
            };
            ev["src_endpoint"] = endpoint;
        }
        Class::EntityManagement => {
            // No `actor`: OCSF 1.1.0's Entity Management has none (the actor is in `unmapped`).
            if let Some(t) = &e.target {
                let entity = json!({"uid": t.id, "type": t.kind, "name": t.name.clone().unwrap_or_else(|| t.id.clone())});
                with_data = Some(("entity", entity));
            }
        }
        Class::ApiActivity => {
            ev["actor"] = json!({"user": user.clone()});
            ev["api"] = json!({"operation": e.action, "service": {"name": e.channel}});
            ev["src_endpoint"] = endpoint;
            if let Some(t) = &e.target {
                ev["resources"] = json!([{"uid": t.id, "type": t.kind, "name": t.name.clone().unwrap_or_else(|| t.id.clone())}]);
            }
        }
    }
    with_data
}

/// The actor as an OCSF user; `email_addr` only for text that is an address by OCSF's own
/// pattern (anything else stays in `unmapped` alone).
fn user(e: &Entry) -> Value {
    let a = &e.actor;
    let (type_id, kind) = match a.kind {
        ActorType::User => (1, "User"),
        ActorType::Service | ActorType::System => (3, "System"),
    };
    let mut u = json!({"type_id": type_id, "type": kind});
    if let Some(id) = &a.id {
        u["uid"] = json!(id);
    }
    u["name"] = json!(
        a.name
            .clone()
            .or(a.email.clone())
            .or(a.id.clone())
            .unwrap_or_else(|| "system".into())
    );
    if let Some(m) = a.email.as_deref().filter(|m| is_email(m)) {
        u["email_addr"] = json!(m);
    }
    u
}

/// Where the request came from: the actor's IP when it is one, or (without) the log
/// channel's name.
fn endpoint(e: &Entry) -> Value {
    match e.actor.ip.as_deref().filter(|ip| is_ip(ip)) {
        Some(ip) => json!({"ip": ip}),
        None => json!({"name": e.channel}),
    }
}

/// OCSF's `email_t`: `^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let local_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-');
    let Some((first, rest)) = domain.split_once('.') else {
        return false;
    };
    !local.is_empty()
        && local.chars().all(local_ok)
        && !first.is_empty()
        && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// OCSF's `ip_t`: an IPv4 or IPv6 address of at most 40 characters (the standard library's
/// spelling rules, which are stricter than OCSF's pattern).
pub fn is_ip(text: &str) -> bool {
    text.len() <= 40 && text.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::{is_email, is_ip};

    #[test]
    fn only_addresses_reach_typed_fields() {
        for ok in ["a@b.c", "grace.h+x@mail.example.com", "a_b-c@d-e.f-g.h"] {
            assert!(is_email(ok), "{ok}");
        }
        for junk in [
            "", "@b.c", "a@", "a@b", "a@.c", "a@b.", "a b@c.d", "=1+1@x.y", "a@b@c.d", "ü@b.c",
        ] {
            assert!(!is_email(junk), "{junk}");
        }
        for ok in ["10.0.0.1", "::1", "2001:db8::8a2e:370:7334"] {
            assert!(is_ip(ok), "{ok}");
        }
        for junk in [
            "",
            "10.0.0.256",
            "010.0.0.1",
            "host.example",
            " 10.0.0.1",
            "fe80::1%eth0",
        ] {
            assert!(!is_ip(junk), "{junk}");
        }
    }
}
