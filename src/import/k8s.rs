//! Kubernetes audit events (`audit.k8s.io/v1` `Event`, one JSON object a line, as
//! kube-apiserver's log backend writes them). A request is logged once per stage
//! (`RequestReceived`, `ResponseStarted`, `ResponseComplete`, `Panic`) under one `auditID`;
//! [`Stages`] folds them into one record, the last stage's (it holds everything the earlier
//! ones did, plus the response). Mapping table: docs/formats.md.

use super::{Unmapped, action_word, object, short, text, time};
use crate::model::{Actor, ActorType, Kind, NewEvent, Outcome, Target};
use serde_json::{Map, Value};
use std::collections::{HashMap, VecDeque};

/// Requests waiting for their last stage, at most: past it the oldest is handed on as it is
/// (memory stays bounded however many requests a log leaves open).
pub const MAX_OPEN: usize = 10_000;

/// A request whose stages are all in (or that is handed on without them).
pub struct Done {
    /// The line of its first stage.
    pub line: u64,
    pub record: Result<(Map<String, Value>, String), Unmapped>,
}

struct Open {
    line: u64,
    order: u64,
    text: String,
}

/// Folds a request's stages into one record (see the module docs).
#[derive(Default)]
pub struct Stages {
    open: HashMap<String, Open>,
    queue: VecDeque<(u64, String)>,
    order: u64,
}

fn is_last(stage: Option<&str>) -> bool {
    !matches!(stage, Some("RequestReceived" | "ResponseStarted"))
}

impl Stages {
    /// One stage read from line `line`; what is complete now comes back.
    pub fn add(&mut self, line: u64, m: Map<String, Value>, raw: &str) -> Vec<Done> {
        let Some(id) = text(&m, "auditID").map(str::to_string) else {
            return vec![Done {
                line,
                record: Ok((m, raw.to_string())),
            }];
        };
        let last = is_last(text(&m, "stage"));
        let first_line = self.open.get(&id).map_or(line, |o| o.line);
        if last {
            self.open.remove(&id);
            return vec![Done {
                line: first_line,
                record: Ok((m, raw.to_string())),
            }];
        }
        self.order += 1;
        self.open.insert(
            id.clone(),
            Open {
                line: first_line,
                order: self.order,
                text: raw.to_string(),
            },
        );
        self.queue.push_back((self.order, id));
        let mut out = Vec::new();
        while self.open.len() > MAX_OPEN {
            let Some((order, id)) = self.queue.pop_front() else {
                break;
            };
            if self.open.get(&id).is_some_and(|o| o.order == order)
                && let Some(o) = self.open.remove(&id)
            {
                out.push(done(o));
            }
        }
        // Entries of the queue whose request moved on are dropped as they reach the front.
        while let Some((order, id)) = self.queue.front() {
            if self.open.get(id).is_some_and(|o| o.order == *order) {
                break;
            }
            self.queue.pop_front();
        }
        out
    }

    /// The requests still waiting for their last stage, in the order they were first read.
    pub fn finish(self) -> Vec<Done> {
        let mut open: Vec<Open> = self.open.into_values().collect();
        open.sort_by_key(|o| o.line);
        open.into_iter().map(done).collect()
    }
}

fn done(o: Open) -> Done {
    let record = match serde_json::from_str::<Value>(&o.text) {
        Ok(Value::Object(m)) => Ok((m, o.text)),
        _ => Err(Unmapped {
            reason: "the record is not a JSON object".into(),
            text: o.text,
        }),
    };
    Done {
        line: o.line,
        record,
    }
}

/// What a verb does to its object.
fn kind(verb: &str) -> Kind {
    match verb {
        "create" => Kind::Created,
        "update" | "patch" => Kind::Updated,
        "delete" | "deletecollection" => Kind::Deleted,
        "get" | "list" | "watch" => Kind::Read,
        _ => Kind::Other,
    }
}

/// One request (its last stage) as an event.
pub fn map(m: &Map<String, Value>) -> Result<NewEvent, super::Unfit> {
    use super::Unfit;
    match text(m, "kind") {
        Some("Event") | None => {}
        Some(k) => return Err(Unfit::NotAnEvent(k.into())),
    }
    let audit_id = text(m, "auditID").ok_or_else(|| Unfit::Missing("auditID".into()))?;
    let verb = text(m, "verb").ok_or_else(|| Unfit::Missing("verb".into()))?;
    let occurred_at = time(m, "requestReceivedTimestamp").or_else(|_| time(m, "stageTimestamp"))?;
    let stage = text(m, "stage");
    let object_ref = object(m, "objectRef");
    let resource = object_ref.and_then(|o| text(o, "resource"));
    let (action, target) = match resource {
        Some(resource) => resource_target(object_ref.unwrap_or(m), resource, verb),
        None => {
            let uri = text(m, "requestURI").ok_or(Unfit::NeitherSet("objectRef", "requestURI"))?;
            let path = uri.split('?').next().unwrap_or(uri);
            (
                format!("nonresource.{verb}"),
                Target {
                    kind: "url".into(),
                    id: short(path),
                    name: None,
                },
            )
        }
    };
    let as_user = object(m, "impersonatedUser").and_then(|u| text(u, "username"));
    let status = object(m, "responseStatus");
    let code = status.and_then(|s| s.get("code")).and_then(Value::as_i64);
    let failed = code.is_some_and(|c| c >= 400) || stage == Some("Panic");
    let mut description = format!("{verb} {}", target.id);
    if let Some(r) = resource {
        description = format!("{verb} {r} {}", target.id);
    }
    if let Some(a) = as_user {
        description.push_str(&format!(" as {a}"));
    }
    match (code, stage) {
        (_, Some("Panic")) => description.push_str(": the API server panicked"),
        (Some(c), _) => {
            description.push_str(&format!(" → {c}"));
            if let Some(why) = status.and_then(|s| text(s, "reason").or(text(s, "message"))) {
                description.push_str(&format!(" {why}"));
            }
        }
        (None, _) => description.push_str(" (no response recorded)"),
    }
    let key = format!("k8s:{audit_id}");
    if key.chars().count() > 128 {
        return Err(Unfit::TooLong {
            field: "auditID",
            max: 124,
        });
    }
    Ok(NewEvent {
        occurred_at: Some(occurred_at),
        action: action_word(&action),
        kind: Some(kind(verb)),
        channel: Some("k8s".into()),
        outcome: Some(if failed {
            Outcome::Failure
        } else {
            Outcome::Success
        }),
        description: Some(description.chars().take(8192).collect()),
        actor: actor(m, as_user),
        target: Some(target),
        details: None,
        idempotency_key: Some(key),
    })
}

/// The action (`pods/exec.create`) and target (`pods`, `default/web-1`) of a request on a
/// resource, from its `objectRef` `o`.
fn resource_target(o: &Map<String, Value>, resource: &str, verb: &str) -> (String, Target) {
    let sub = text(o, "subresource");
    let what = match sub {
        Some(s) => format!("{resource}/{s}"),
        None => resource.to_string(),
    };
    let ty = match text(o, "apiGroup") {
        Some(g) => format!("{resource}.{g}"),
        None => resource.to_string(),
    };
    let (ns, name) = (text(o, "namespace"), text(o, "name"));
    let id = match (ns, name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.to_string(),
        (Some(ns), None) => format!("{ns}/*"),
        (None, None) => "*".to_string(),
    };
    (
        format!("{what}.{verb}"),
        Target {
            kind: short(&ty),
            id: short(&id),
            name: name.map(short),
        },
    )
}

/// The requesting user (a service account, the system, or a person), and whom they
/// impersonated (`as_user`).
fn actor(m: &Map<String, Value>, as_user: Option<&str>) -> Option<Actor> {
    let username = object(m, "user").and_then(|u| text(u, "username"));
    username.map(|name| {
        let kind = if name.starts_with("system:serviceaccount:") {
            ActorType::Service
        } else if name.starts_with("system:") {
            ActorType::System
        } else {
            ActorType::User
        };
        Actor {
            kind,
            id: Some(short(name)),
            name: as_user.map(|a| short(&format!("{name} as {a}"))),
            email: name.contains('@').then(|| short(name)),
            ip: m
                .get("sourceIPs")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .map(short),
            user_agent: text(m, "userAgent").map(|s| s.chars().take(1024).collect()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(id: &str, stage: &str) -> (Map<String, Value>, String) {
        let text = format!(r#"{{"auditID":"{id}","stage":"{stage}"}}"#);
        match serde_json::from_str(&text).unwrap() {
            Value::Object(m) => (m, text),
            _ => unreachable!(),
        }
    }

    #[test]
    fn stages_fold_into_the_last_and_open_requests_stay_bounded() {
        let mut s = Stages::default();
        let (m, t) = stage("a", "RequestReceived");
        assert!(s.add(1, m, &t).is_empty());
        let (m, t) = stage("a", "ResponseStarted");
        assert!(s.add(2, m, &t).is_empty());
        let (m, t) = stage("a", "ResponseComplete");
        let done = s.add(3, m, &t);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].line, 1, "the request's first line");
        assert!(
            done[0]
                .record
                .as_ref()
                .unwrap()
                .1
                .contains("ResponseComplete")
        );
        assert!(s.finish().is_empty());

        // Past MAX_OPEN waiting requests, the oldest is handed on as it is.
        let mut s = Stages::default();
        let mut handed = Vec::new();
        for i in 0..=MAX_OPEN as u64 {
            let (m, t) = stage(&format!("r{i}"), "RequestReceived");
            handed.extend(s.add(i + 1, m, &t));
        }
        assert_eq!(handed.len(), 1);
        assert_eq!(handed[0].line, 1);
        assert_eq!(s.open.len(), MAX_OPEN);
        assert!(s.queue.len() <= MAX_OPEN + 1);
        let rest = s.finish();
        assert_eq!(rest.len(), MAX_OPEN);
        assert_eq!(rest[0].line, 2, "in the order first read");
    }
}
