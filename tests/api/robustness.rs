//! Bad input never crashes or stalls the server: each is a 4xx JSON error and the next request
//! is served normally.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn hostile_bodies_get_clear_errors() {
    let s = TestServer::start().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_obj = format!(
        "{{\"action\":\"a\",\"details\":{}{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_001)
    );
    let ten_mb = format!(
        "{{\"action\":\"a\",\"description\":\"{}\"}}",
        "x".repeat(10 * 1024 * 1024)
    );
    let ten_mb_action = format!("{{\"action\":\"{}\"}}", "a".repeat(10 * 1024 * 1024));
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        (
            "malformed JSON",
            "application/json",
            b"{\"action\": ".to_vec(),
            400,
        ),
        (
            "trailing garbage",
            "application/json",
            b"{\"action\":\"a\"} x".to_vec(),
            400,
        ),
        ("not an event", "application/json", b"42".to_vec(), 400),
        ("a string", "application/json", b"\"hello\"".to_vec(), 400),
        ("empty body", "application/json", b"".to_vec(), 400),
        ("empty array", "application/json", b"[]".to_vec(), 422),
        (
            "array of numbers",
            "application/json",
            b"[1,2]".to_vec(),
            422,
        ),
        (
            "invalid UTF-8",
            "application/json",
            b"{\"action\":\"\xff\xfe\"}".to_vec(),
            400,
        ),
        (
            "invalid UTF-8 in NDJSON",
            "application/x-ndjson",
            b"{\"action\":\"a\"}\n{\"action\":\"\xc3\x28\"}\n".to_vec(),
            400,
        ),
        (
            "10,000-deep array",
            "application/json",
            deep.into_bytes(),
            400,
        ),
        (
            "10,000-deep details",
            "application/json",
            deep_obj.into_bytes(),
            400,
        ),
        (
            "10 MB description",
            "application/json",
            ten_mb.into_bytes(),
            422,
        ),
        (
            "10 MB action",
            "application/json",
            ten_mb_action.into_bytes(),
            422,
        ),
        (
            "wrong types",
            "application/json",
            br#"{"action":"a","actor":{"type":"user","id":17}}"#.to_vec(),
            422,
        ),
        (
            "null action",
            "application/json",
            br#"{"action":null}"#.to_vec(),
            422,
        ),
        (
            "bad date",
            "application/json",
            br#"{"action":"a","occurred_at":"2026-02-30T00:00:00Z"}"#.to_vec(),
            422,
        ),
        (
            "unknown field",
            "application/json",
            br#"{"action":"a","severity":"high"}"#.to_vec(),
            422,
        ),
        (
            "NDJSON bad line",
            "application/x-ndjson",
            b"{\"action\":\"a\"}\nnot json\n".to_vec(),
            400,
        ),
    ];
    for (what, ct, body, status) in cases {
        let (st, resp) = s.post_raw(&s.writer, ct, body).await;
        assert_eq!(st, status, "{what}: {resp}");
        let msg = resp["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !msg.is_empty() && msg.len() < 400,
            "{what}: the message is a sentence: {resp}"
        );
        // The next request is served normally.
        assert_eq!(
            s.post(&s.writer, json!({"action": "still.alive"})).await.0,
            201,
            "after {what}"
        );
    }
    let (_, resp) = s
        .post_raw(
            &s.writer,
            "application/x-ndjson",
            b"{\"action\":\"a\"}\nnot json\n".to_vec(),
        )
        .await;
    assert_eq!(
        resp["error"]["index"], 1,
        "the NDJSON error names the line's index: {resp}"
    );
    assert!(
        resp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2")
    );
    // Nothing from the bad requests was stored.
    let all = s.all("", 1000).await;
    assert!(all.iter().all(|e| e["action"] == "still.alive"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_queries_get_clear_errors() {
    let s = TestServer::start().await;
    s.post(&s.writer, json!({"action": "a"})).await;
    let long = "x".repeat(20_000);
    let paths = [
        format!("/v1/events?q={long}"),
        format!("/v1/events?action={long}*"),
        format!("/v1/events?filter={long}:y"),
        "/v1/events?cursor=%00%01%02".to_string(),
        "/v1/events?from=99999999999999999999d".to_string(),
        "/v1/events?limit=-1".to_string(),
        "/v1/events?limit=99999999999999999999999".to_string(),
        "/v1/events/%00".to_string(),
        "/v1/events?q=%27%3B%20DROP%20TABLE%20entries%3B--".to_string(),
        "/v1/events?action=%27%20OR%201%3D1--".to_string(),
        "/v1/facets/action?filter=%22".to_string(),
    ];
    for p in &paths {
        let (st, body) = s.get(&s.auditor, p).await;
        assert!(
            st == 200 || (400..500).contains(&st),
            "{}: {st} {body}",
            &p[..p.len().min(80)]
        );
        if st == 200 {
            // SQL in a value is only ever a value.
            assert!(
                body["entries"].as_array().is_none_or(|e| e.is_empty())
                    || body["values"].is_array(),
                "{body}"
            );
        } else {
            assert!(body["error"]["message"].is_string(), "{body}");
        }
    }
    let (_, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(v["ok"], true);
    assert_eq!(s.all("", 10).await.len(), 1, "the table survived");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_are_stored_as_given() {
    let s = TestServer::start().await;
    let nasty = "\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J\r\u{202e}evil\u{0}";
    let (st, _) = s
        .post(
            &s.writer,
            json!({"action": "a", "description": nasty, "actor": {"type": "user", "name": nasty}}),
        )
        .await;
    assert_eq!(st, 201);
    let all = s.all("", 10).await;
    assert_eq!(all[0]["description"], Value::from(nasty));
    assert_eq!(all[0]["actor"]["name"], Value::from(nasty));
    assert_eq!(s.get(&s.auditor, "/v1/verify").await.1["ok"], true);
    s.stop().await;
}
