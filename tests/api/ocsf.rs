//! `format=ocsf` through the real server (export and stream) and the real `trailscope tail`:
//! every event is checked against the OCSF 1.1.0 schema for its class. The checks are written
//! by hand from the published schema (schema.ocsf.io, version 1.1.0): the base event's and each
//! class's required attributes, the required attributes of the objects used (metadata, product,
//! user, network endpoint, api, managed entity), attribute types, and the enum values of
//! activity_id per class, category_uid, severity_id and status_id; type_uid = class_uid * 100 +
//! activity_id. See docs/ocsf.md.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// One entry of each shape the mapping knows, and one it does not.
fn trail() -> Value {
    json!([
        {"action": "user.login", "channel": "auth", "actor": {"type": "user", "id": "u_1", "name": "Grace", "email": "grace@example.com", "ip": "198.51.100.77"}},
        {"action": "user.login_failed", "channel": "auth", "outcome": "failure", "actor": {"type": "user", "id": "u_1", "ip": "198.51.100.77"},
         "target": {"type": "user", "id": "u_1", "name": "grace@example.com"}},
        {"action": "user.logout", "channel": "auth", "actor": {"type": "user", "id": "u_1"}},
        {"action": "user.created", "channel": "admin", "actor": {"type": "user", "id": "u_2"}, "target": {"type": "user", "id": "u_41", "name": "Helpdesk Backup"}},
        {"action": "password_reset", "channel": "admin", "target": {"type": "user", "id": "u_1"}},
        {"action": "mfa.enrolled", "channel": "security", "actor": {"type": "user", "id": "u_1"}},
        {"action": "ticket.created", "channel": "writeback", "actor": {"type": "service", "id": "psa"}, "target": {"type": "ticket", "id": "70400"}, "details": {"priority": 2}},
        {"action": "incident.updated", "channel": "security", "target": {"type": "incident", "id": "INC-42"}},
        {"action": "rule_fired", "channel": "rules", "target": {"type": "rule", "id": "r_7"}},
        {"action": "zz.unheard_of.thing", "description": "an action no class fits \u{1b}[31m"},
    ])
}

fn int(v: &Value, what: &str) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("{what} must be an integer: {v}"))
}

fn string(v: &Value, what: &str) {
    assert!(v.is_string(), "{what} must be a string: {v}");
}

/// The OCSF 1.1.0 checks for one event; returns its class_uid.
fn validate(e: &Value) -> i64 {
    // Base event: required attributes and their types.
    for key in [
        "activity_id",
        "category_uid",
        "class_uid",
        "severity_id",
        "time",
        "type_uid",
        "metadata",
    ] {
        assert!(e.get(key).is_some(), "required `{key}` missing: {e}");
    }
    let class = int(&e["class_uid"], "class_uid");
    let activity = int(&e["activity_id"], "activity_id");
    int(&e["time"], "time");
    assert!(
        [0, 1, 2, 3, 4, 5, 6, 99].contains(&int(&e["severity_id"], "severity_id")),
        "{e}"
    );
    if let Some(s) = e.get("status_id") {
        assert!([0, 1, 2, 99].contains(&int(s, "status_id")), "{e}");
    }
    assert_eq!(
        int(&e["type_uid"], "type_uid"),
        class * 100 + activity,
        "{e}"
    );
    for key in [
        "activity_name",
        "category_name",
        "class_name",
        "type_name",
        "severity",
        "status",
        "message",
    ] {
        if let Some(v) = e.get(key) {
            string(v, key);
        }
    }
    // metadata: product and version required; product needs vendor_name.
    let m = &e["metadata"];
    string(&m["version"], "metadata.version");
    assert!(m["version"].as_str().unwrap().starts_with("1."), "{m}");
    string(&m["product"]["vendor_name"], "metadata.product.vendor_name");
    // user objects: strings where present, type_id from the enum.
    let user = |u: &Value, what: &str| {
        assert!(u.is_object(), "{what} must be a user object: {e}");
        for key in ["uid", "name", "email_addr", "type"] {
            if let Some(v) = u.get(key) {
                string(v, &format!("{what}.{key}"));
            }
        }
        if let Some(t) = u.get("type_id") {
            assert!([0, 1, 2, 3, 99].contains(&int(t, "user.type_id")), "{e}");
        }
        assert!(
            u.get("uid").is_some() || u.get("name").is_some(),
            "{what} needs a uid or name: {e}"
        );
    };
    let endpoint = |ep: &Value| {
        assert!(ep.is_object(), "src_endpoint must be an object: {e}");
        assert!(
            [
                "ip",
                "name",
                "hostname",
                "uid",
                "domain",
                "instance_uid",
                "interface_uid",
                "svc_name"
            ]
            .iter()
            .any(|k| ep.get(*k).is_some()),
            "a network endpoint needs at least one of its identifying attributes: {e}"
        );
    };
    let (category, activities): (i64, &[i64]) = match class {
        3002 => {
            user(&e["user"], "user");
            if let Some(ep) = e.get("src_endpoint") {
                endpoint(ep);
            }
            (3, &[0, 1, 2, 3, 4, 5, 6, 99])
        }
        3001 => {
            user(&e["user"], "user");
            (3, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 99])
        }
        3004 => {
            let entity = &e["entity"];
            assert!(entity.is_object(), "entity required: {e}");
            assert!(
                entity.get("uid").is_some() || entity.get("name").is_some(),
                "{e}"
            );
            (3, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 99])
        }
        6003 => {
            // API Activity requires actor, api (with operation) and src_endpoint.
            assert!(e["actor"].is_object(), "actor required: {e}");
            string(&e["api"]["operation"], "api.operation");
            endpoint(&e["src_endpoint"]);
            (6, &[0, 1, 2, 3, 4, 99])
        }
        other => panic!("class {other} is not one the mapping uses: {e}"),
    };
    assert_eq!(int(&e["category_uid"], "category_uid"), category, "{e}");
    assert!(
        activities.contains(&activity),
        "activity_id {activity} is not in class {class}'s enum: {e}"
    );
    if let Some(actor) = e.get("actor").and_then(|a| a.get("user")) {
        user(actor, "actor.user");
    }
    class
}

#[tokio::test(flavor = "multi_thread")]
async fn export_stream_and_tail_give_valid_ocsf_for_every_class() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, trail()).await.0, 201);

    // Export.
    let r = s
        .http
        .get(format!("{}/v1/export?format=ocsf", s.url))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".ocsf.ndjson\"")
    );
    let body = r.text().await.unwrap();
    let events: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 10, "nothing is dropped");
    let classes: Vec<i64> = events.iter().map(validate).collect();
    assert_eq!(
        classes,
        [3002, 3002, 3002, 3001, 3001, 3001, 3004, 3004, 6003, 6003]
    );
    assert_eq!(
        classes.iter().collect::<BTreeSet<_>>().len(),
        4,
        "every class is exercised"
    );
    // Activities as the table says; outcome as status; the entry whole under unmapped.
    let activity = |i: usize| events[i]["activity_id"].as_i64().unwrap();
    assert_eq!((activity(0), activity(1), activity(2)), (1, 1, 2));
    assert_eq!(events[1]["status_id"], 2);
    assert_eq!(events[1]["user"]["uid"], "u_1");
    assert_eq!(events[1]["src_endpoint"]["ip"], "198.51.100.77");
    assert_eq!((activity(3), activity(4), activity(5)), (1, 4, 10));
    assert_eq!(events[6]["entity"]["uid"], "70400");
    assert_eq!(events[6]["entity"]["data"]["priority"], 2);
    assert_eq!(events[9]["api"]["operation"], "zz.unheard_of.thing");
    assert_eq!(events[9]["unmapped"]["seq"], 10);
    assert_eq!(events[9]["message"], "an action no class fits \u{1b}[31m");
    assert_eq!(events[0]["metadata"]["uid"], events[0]["unmapped"]["id"]);

    // The stream, replayed from the start.
    let r = s
        .http
        .get(format!("{}/v1/stream?format=ocsf&after_seq=0", s.url))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut r = r;
    let mut text = String::new();
    while text.matches("event: entry").count() < 10 {
        let chunk = r.chunk().await.unwrap().expect("the stream ended early");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let streamed: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| d.contains("class_uid"))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(streamed, events);
    assert_eq!(s.get(&s.auditor, "/v1/stream?format=xml").await.0, 422);

    // The real tail, with --after-seq so it replays and exits when the server stops.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args([
            "tail",
            "--server",
            &s.url,
            "--token",
            &s.auditor,
            "--format",
            "ocsf",
            "--after-seq",
            "0",
        ])
        .env("XDG_CONFIG_HOME", s.dir.path().join("config"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut tailed = Vec::new();
    for _ in 0..10 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        tailed.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(tailed, events);
    s.stop().await;
}
