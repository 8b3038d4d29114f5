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

/// One entry as an OCSF event.
pub fn event(e: &Entry) -> Value {
    let (class, activity_id, activity) = classify(e);
    let (category_uid, category) = class.category();
    let (status_id, status) = match e.outcome {
        Outcome::Success => (1, "Success"),
        Outcome::Failure => (2, "Failure"),
    };
    let user = user(e);
    let mut ev = json!({
        "activity_id": activity_id,
        "activity_name": activity,
        "category_uid": category_uid,
        "category_name": category,
        "class_uid": class.uid(),
        "class_name": class.name(),
        "type_uid": class.uid() as u64 * 100 + activity_id as u64,
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
            "product": {"name": "trailscope", "vendor_name": "trailscope", "version": env!("CARGO_PKG_VERSION")},
        },
        "actor": {"user": user.clone()},
        "unmapped": serde_json::to_value(e).unwrap_or(Value::Null),
    });
    let endpoint = endpoint(e);
    match class {
        Class::Authentication => {
            ev["user"] = match &e.target {
                Some(t) if t.kind == "user" => {
                    json!({"uid": t.id, "name": t.name.clone().unwrap_or_else(|| t.id.clone()), "type_id": 1, "type": "User"})
                }
                _ => user,
            };
            ev["src_endpoint"] = endpoint;
            ev["is_mfa"] = json!(has(&e.action, &["mfa"]));
        }
        Class::AccountChange => {
            ev["user"] = match &e.target {
                Some(t) => {
                    json!({"uid": t.id, "name": t.name.clone().unwrap_or_else(|| t.id.clone())})
                }
                None => user,
            };
            ev["src_endpoint"] = endpoint;
        }
        Class::EntityManagement => {
            let t = e.target.as_ref().expect("entity management has a target");
            ev["entity"] = json!({"uid": t.id, "type": t.kind, "name": t.name.clone().unwrap_or_else(|| t.id.clone())});
            if let Some(d) = &e.details {
                ev["entity"]["data"] = d.to_value();
            }
        }
        Class::ApiActivity => {
            ev["api"] = json!({"operation": e.action, "service": {"name": e.channel}});
            ev["src_endpoint"] = endpoint;
            if let Some(t) = &e.target {
                ev["resources"] = json!([{"uid": t.id, "type": t.kind, "name": t.name.clone().unwrap_or_else(|| t.id.clone())}]);
            }
        }
    }
    ev
}

/// The actor as an OCSF user.
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
    if let Some(m) = &a.email {
        u["email_addr"] = json!(m);
    }
    u
}

/// Where the request came from: the actor's IP, or (without one) the log channel's name.
fn endpoint(e: &Entry) -> Value {
    let a = &e.actor;
    let mut ep = json!({});
    if let Some(ip) = &a.ip {
        ep["ip"] = json!(ip);
    }
    if ep.as_object().is_some_and(|m| !m.contains_key("ip")) {
        ep["name"] = json!(e.channel);
    }
    ep
}
