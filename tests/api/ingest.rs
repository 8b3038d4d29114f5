//! POST /v1/events through the real server: shapes, atomicity, validation, idempotency, limits.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn accepts_an_object_an_array_and_ndjson() {
    let s = TestServer::start().await;
    let (st, body) = s.post(&s.writer, json!({"action": "user.login"})).await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["entries"][0]["seq"], 1);
    let (st, body) = s
        .post(
            &s.writer,
            json!([{"action": "a.created"}, {"action": "b.deleted"}]),
        )
        .await;
    assert_eq!(st, 201);
    assert_eq!(body["entries"].as_array().unwrap().len(), 2);
    assert_eq!(body["entries"][1]["seq"], 3);
    let nd = "{\"action\":\"c\"}\n\n{\"action\":\"d\"}\n";
    let (st, body) = s.post_raw(&s.writer, "application/x-ndjson", nd).await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["entries"][1]["seq"], 5);
    let all = s.all("order=asc", 50).await;
    assert_eq!(common::seqs(&all), [1, 2, 3, 4, 5]);
    assert_eq!(all[1]["kind"], "created");
    assert_eq!(all[2]["kind"], "deleted");
    assert_eq!(all[0]["actor"], json!({"type": "system"}));
    assert_eq!(all[0]["channel"], "default");
    assert_eq!(all[0]["outcome"], "success");
    assert_eq!(all[0]["tenant"], "acme");
    assert!(all[0]["id"].as_str().unwrap().starts_with("01"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_bad_event_rejects_the_whole_batch() {
    let s = TestServer::start().await;
    let batch = json!([
        {"action": "ok.one"},
        {"action": "ok.two"},
        {"action": "bad", "actor": {"type": "user", "emial": "x@y"}},
    ]);
    let (st, body) = s.post(&s.writer, batch).await;
    assert_eq!(st, 422);
    assert_eq!(body["error"]["code"], "invalid_event");
    assert_eq!(body["error"]["index"], 2);
    assert_eq!(body["error"]["field"], "actor.emial");
    assert!(s.all("", 50).await.is_empty(), "nothing may be stored");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotency_keys_return_the_original() {
    let s = TestServer::start().await;
    let ev = json!({"action": "rule_fired", "idempotency_key": "k-1"});
    let (_, first) = s.post(&s.writer, ev.clone()).await;
    let (st, again) = s
        .post(
            &s.writer,
            json!([ev, {"action": "other"}, {"action": "x", "idempotency_key": "k-1"}]),
        )
        .await;
    assert_eq!(st, 201);
    // The original, marked as already there (a new entry has no `existing`).
    let mut original = first["entries"][0].clone();
    assert!(original.get("existing").is_none(), "{original}");
    original["existing"] = json!(true);
    assert_eq!(again["entries"][0], original);
    assert_eq!(again["entries"][2], original);
    assert_eq!(again["entries"][1]["seq"], 2);
    assert!(again["entries"][1].get("existing").is_none());
    assert_eq!(s.all("", 50).await.len(), 2);
    // Keys are per tenant: another tenant's same key stores a new entry.
    let other = s.token_for(trailscope::store::Role::Writer, "globex");
    let (_, theirs) = s
        .post(
            &other,
            json!({"action": "rule_fired", "idempotency_key": "k-1"}),
        )
        .await;
    assert_eq!(theirs["entries"][0]["seq"], 1);
    assert_ne!(theirs["entries"][0]["id"], first["entries"][0]["id"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_rules_of_api_md() {
    let s = TestServer::start().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"description": "no action"}), "action"),
        (json!({"action": "has space"}), "action"),
        (json!({"action": "a".repeat(129)}), "action"),
        (json!({"action": "a", "kind": "made"}), "kind"),
        (json!({"action": "a", "channel": "UPPER"}), "channel"),
        (json!({"action": "a", "channel": "c".repeat(65)}), "channel"),
        (json!({"action": "a", "outcome": "maybe"}), "outcome"),
        (
            json!({"action": "a", "occurred_at": "2999-01-01T00:00:00Z"}),
            "occurred_at",
        ),
        (
            json!({"action": "a", "occurred_at": "not a date"}),
            "occurred_at",
        ),
        (
            json!({"action": "a", "actor": {"type": "robot"}}),
            "actor.type",
        ),
        (json!({"action": "a", "actor": "alice"}), "actor"),
        (
            json!({"action": "a", "target": {"type": "ticket"}}),
            "target.id",
        ),
        (
            json!({"action": "a", "target": {"type": "ticket", "id": 5}}),
            "target.id",
        ),
        (
            json!({"action": "a", "idempotency_key": "k".repeat(129)}),
            "idempotency_key",
        ),
        (
            json!({"action": "a", "details": {"blob": "x".repeat(300 * 1024)}}),
            "details",
        ),
        (json!({"action": "a", "tenant": "other"}), "tenant"),
        (json!({"action": 7}), "action"),
    ];
    for (ev, field) in cases {
        let (st, body) = s.post(&s.writer, ev.clone()).await;
        assert_eq!(st, 422, "{ev}: {body}");
        assert_eq!(body["error"]["field"], field, "{ev}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    // occurred_at up to 5 minutes ahead is clock skew, accepted; any offset is stored in UTC.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(4)).to_rfc3339();
    let (st, _) = s
        .post(&s.writer, json!({"action": "a", "occurred_at": soon}))
        .await;
    assert_eq!(st, 201);
    let (st, _) = s
        .post(
            &s.writer,
            json!({"action": "b", "occurred_at": "2026-01-02T03:04:05.678+02:00"}),
        )
        .await;
    assert_eq!(st, 201);
    let all = s.all("order=asc", 50).await;
    assert_eq!(all[0]["occurred_at"], "2026-01-02T01:04:05.678Z");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_and_body_limits() {
    let s = TestServer::start().await;
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"action": format!("a{i}")}))
        .collect();
    let (st, body) = s.post(&s.writer, Value::Array(many)).await;
    assert_eq!(st, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    let exactly: Vec<Value> = (0..1000)
        .map(|i| json!({"action": format!("a{i}")}))
        .collect();
    let (st, _) = s.post(&s.writer, Value::Array(exactly)).await;
    assert_eq!(st, 201);
    // A 17 MiB body is refused from its Content-Length, before it is sent (an HTTP client
    // that insists on sending it sees the connection closed under it).
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"action\":\"a\",",
        s.writer,
        17 * 1024 * 1024
    );
    let (st, _, body) = s.raw(head.as_bytes()).await;
    assert_eq!(st, 413);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    s.stop().await;
}
