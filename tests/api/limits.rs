//! Issue 24, as a hostile client: filters past the documented complexity limits get a JSON 400
//! naming the limit on every read route (never a 500, an empty 200 or a stalled body); filters
//! at the limits run; strict bodies and query strings; an export whose proof fails ends instead
//! of hanging. On SQLite and (with TRAILSCOPE_TEST_STORE=postgres) PostgreSQL.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use trailscope::model::{MAX_FIELD_VALUES, MAX_IDS, MAX_TEXT_TERMS, MAX_VALUE_BYTES};

/// Every route that takes a filter, with the parameters that make it a complete request.
const READ_ROUTES: [&str; 5] = [
    "/v1/events?",
    "/v1/stats?",
    "/v1/facets/action?",
    "/v1/stream?",
    "/v1/export?format=ndjson&",
];

/// GETs `path` over a raw connection (the answer read to its end, or 20 s: a stalled body
/// fails here) and returns the status and the body as JSON (`Null` when it is not JSON).
async fn get_raw(s: &TestServer, path: &str) -> (u16, String, Value) {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        s.auditor
    );
    let (status, head, body) = s.raw(req.as_bytes()).await;
    (
        status,
        head,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filter_past_any_limit_is_a_json_400_naming_it_on_every_read_route() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, json!({"action": "a"})).await.0, 201);
    let many = |n: usize, f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>();
    let cases: Vec<(String, &str, &str)> = vec![
        // The issue's own: 1,000 ORs of a word, 1,000 actions in one term, 1,500 excludes.
        (
            format!("filter={}", encode(&vec!["a"; 1000].join(" OR "))),
            "text terms",
            "q",
        ),
        (
            format!(
                "filter={}",
                encode(&format!(
                    "action:{}",
                    many(1000, &|i| format!("x{i}")).join(",")
                ))
            ),
            "values for `action:`",
            "action",
        ),
        (
            format!(
                "filter={}",
                encode(&many(1500, &|i| format!("-action:x{i}")).join(" "))
            ),
            "values for `-action:`",
            "action",
        ),
        (
            many(MAX_FIELD_VALUES + 1, &|i| format!("actor=u{i}")).join("&"),
            "values for `actor:`",
            "actor",
        ),
        (
            many(MAX_TEXT_TERMS + 1, &|i| format!("q=w{i}")).join("&"),
            "text terms",
            "q",
        ),
        (
            format!("q={}", "x".repeat(MAX_VALUE_BYTES + 1)),
            "bytes long",
            "q",
        ),
        (
            format!(
                "filter={}",
                encode(&format!(
                    "id:{}",
                    many(MAX_IDS + 1, &|i| format!("e{i}")).join(",")
                ))
            ),
            "values for `id:`",
            "id",
        ),
    ];
    for (query, says, field) in &cases {
        for route in READ_ROUTES {
            let path = format!("{route}{query}");
            let short = &path[..path.len().min(80)];
            let (status, head, v) = get_raw(&s, &path).await;
            assert_eq!(status, 400, "{short}: {v}");
            assert!(
                head.to_ascii_lowercase()
                    .contains("content-type: application/json"),
                "{short}: {head}"
            );
            assert_eq!(v["error"]["code"], "bad_request", "{short}: {v}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(
                message.contains(says) && message.contains("at most"),
                "{short}: {message}"
            );
            assert_eq!(v["error"]["field"], *field, "{short}: {v}");
        }
    }
    // Nothing was exported, so nothing was recorded as exported.
    assert!(s.all("action=audit_log.exported", 10).await.is_empty());
    s.stop().await;
}

/// An export read to its end: its status, and the NDJSON rows before the proof trailer.
async fn export_rows(s: &TestServer, query: &str) -> (u16, Vec<Value>) {
    let r = s
        .http
        .get(format!("{}/v1/export?format=ndjson&{query}", s.url))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let rows = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("seq").is_some())
        .collect();
    (status, rows)
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_at_the_limits_run_on_every_route() {
    let s = TestServer::start().await;
    // 1,100 distinct actions under one prefix: `action:bulk.*` becomes 1,100 ORed conditions,
    // deeper than SQLite takes as a chain.
    for chunk in 0..2 {
        let events: Vec<Value> = (0..550)
            .map(|i| {
                json!({"action": format!("bulk.a{:04}", chunk * 550 + i),
                "actor": {"type": "user", "id": format!("u{}", i % 7)}})
            })
            .collect();
        let (st, body) = s.post(&s.writer, Value::Array(events)).await;
        assert_eq!(st, 201, "{body}");
    }
    let all = s.all("action=bulk.*", 1000).await;
    assert_eq!(all.len(), 1100);
    let ids: Vec<String> = all
        .iter()
        .take(MAX_IDS)
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    // At every limit at once that the whole filter allows: 100 actors, 100 excluded actions,
    // 16 text terms of up to 512 bytes, and (alone) 1,000 ids.
    let actors = (0..MAX_FIELD_VALUES)
        .map(|i| format!("actor=u{i}"))
        .collect::<Vec<_>>()
        .join("&");
    let not_actions = (0..MAX_FIELD_VALUES)
        .map(|i| format!("not_action=bulk.a{:04}", 1000 + i))
        .collect::<Vec<_>>()
        .join("&");
    let mut words = vec!["bulk".to_string(); MAX_TEXT_TERMS - 1];
    // Many distinct trigrams: the index is asked for a bounded number of them.
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    words.push(
        (0..MAX_VALUE_BYTES)
            .map(|i| char::from(alphabet[i * 7 % alphabet.len()]))
            .collect(),
    );
    let texts = words
        .iter()
        .map(|w| format!("q={w}"))
        .collect::<Vec<_>>()
        .join("&");
    let cases: Vec<(String, usize)> = vec![
        ("action=bulk.*".to_string(), 1100),
        (format!("action=bulk.*&{actors}&{not_actions}"), 1000),
        (format!("{actors}&{texts}"), 0),
        (
            format!("filter={}", encode(&format!("id:{}", ids.join(",")))),
            MAX_IDS,
        ),
    ];
    for (query, expect) in &cases {
        let short = &query[..query.len().min(60)];
        let (st, stats) = s.get(&s.auditor, &format!("/v1/stats?{query}")).await;
        assert_eq!(st, 200, "{short}: {stats}");
        assert_eq!(stats["total"], *expect as u64, "{short}");
        let (st, page) = s
            .get(&s.auditor, &format!("/v1/events?limit=5&{query}"))
            .await;
        assert_eq!(st, 200, "{short}: {page}");
        assert_eq!(page["entries"].as_array().unwrap().len(), (*expect).min(5));
        let (st, facets) = s
            .get(&s.auditor, &format!("/v1/facets/actor?{query}"))
            .await;
        assert_eq!(st, 200, "{short}: {facets}");
        let (st, rows) = export_rows(&s, query).await;
        assert_eq!(st, 200, "{short}");
        assert_eq!(rows.len(), *expect, "{short}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn query_strings_are_utf8_and_single_valued_parameters_come_once() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, json!({"action": "a"})).await.0, 201);
    for (path, field) in [
        ("/v1/events?filter=%ff", "filter"),
        ("/v1/events?q=%c3%28", "q"),
        ("/v1/stats?action=%ff", "action"),
        ("/v1/export?format=ndjson&q=%ff", "q"),
        ("/v1/events?limit=1&limit=2", "limit"),
        ("/v1/events?order=asc&order=desc", "order"),
        ("/v1/events?from=1h&from=2h", "from"),
        ("/v1/events?filter=a&filter=b", "filter"),
        ("/v1/stats?buckets=5&buckets=6", "buckets"),
        ("/v1/export?format=csv&format=ndjson", "format"),
        ("/v1/exports?limit=1&limit=1", "limit"),
        ("/v1/proof/inclusion?seq=1&seq=1&size=1", "seq"),
        ("/v1/verify?key=a&key=b", "key"),
    ] {
        let (status, _, v) = get_raw(&s, path).await;
        assert_eq!(status, 400, "{path}: {v}");
        assert_eq!(v["error"]["code"], "bad_request", "{path}: {v}");
        assert_eq!(v["error"]["field"], field, "{path}: {v}");
    }
    // A repeated filter field is still an OR, and `+` still a space.
    let (st, page) = s.get(&s.auditor, "/v1/events?action=a&action=b&q=a").await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    let (st, _) = s
        .get(&s.auditor, "/v1/events?filter=action:a+kind:other")
        .await;
    assert_eq!(st, 200);
    assert!(s.all("action=audit_log.exported", 10).await.is_empty());
    s.stop().await;
}

async fn prune(s: &TestServer, content_type: Option<&str>, body: &'static str) -> (u16, Value) {
    let mut req = s
        .http
        .post(format!("{}/v1/retention/prune", s.url))
        .bearer_auth(&s.admin)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prune_with_a_body_that_is_not_empty_or_an_empty_object_prunes_nothing() {
    let s = TestServer::start().await;
    let json_ct = Some("application/json");
    for (ct, body, status) in [
        (json_ct, "{not json", 400),
        (json_ct, "null", 400),
        (json_ct, "42", 400),
        (json_ct, "[]", 400),
        (json_ct, "{\"days\": 1}", 400),
        (Some("text/plain"), "prune please", 415),
        (Some("application/x-www-form-urlencoded"), "days=1", 415),
        (None, "{}", 415),
    ] {
        let (st, v) = prune(&s, ct, body).await;
        assert_eq!(st, status, "{ct:?} {body}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("empty or {}"),
            "{v}"
        );
        assert!(
            s.all("action=retention.pruned", 10).await.is_empty(),
            "{body} pruned"
        );
    }
    let (st, v) = prune(&s, None, "").await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = prune(&s, json_ct, "{}").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(s.all("action=retention.pruned", 10).await.len(), 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_whose_proof_cannot_be_made_ends_and_is_recorded_failed() {
    let s = TestServer::start().await;
    if s.sqlite_only("it breaks a row of the SQLite file") {
        return;
    }
    let events: Vec<Value> = (0..10)
        .map(|i| json!({"action": format!("x.{i}")}))
        .collect();
    assert_eq!(s.post(&s.writer, Value::Array(events)).await.0, 201);
    // A row whose commitments no longer parse: the rows still read, the proof cannot be made.
    common::sqlite_tamper::tamper_sqlite(
        &s.db,
        "UPDATE entries SET commitments = 'junk' WHERE seq = 5",
    );
    // Read to its end within `raw`'s 20 s: the body is cut short (no proof), never left open.
    let (status, _, body) = s
        .raw(
            format!(
                "GET /v1/export?format=ndjson HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
                s.auditor
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    assert!(!String::from_utf8_lossy(&body).contains("\"checkpoint\""));
    let finished = s.all("action=audit_log.export_finished", 10).await;
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(
        finished[0]["details"]["status"], "failed",
        "{}",
        finished[0]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_histogram_of_a_log_reaching_back_to_year_six_writes_only_valid_times() {
    // Found by schemathesis: entries dated in year 6 and bars 33 years wide put the first bar at
    // "-0018-11-29T11:28:48.000Z", which no RFC 3339 reader takes.
    let s = TestServer::start().await;
    for at in ["0006-03-01T04:20:47.500Z", "2026-01-01T00:00:00Z"] {
        let (st, body) = s
            .post(&s.writer, json!({"action": "old", "occurred_at": at}))
            .await;
        assert_eq!(st, 201, "{body}");
    }
    let (st, stats) = s.get(&s.auditor, "/v1/stats").await;
    assert_eq!(st, 200, "{stats}");
    let buckets = stats["buckets"].as_array().unwrap();
    assert!(!buckets.is_empty());
    for b in buckets {
        let start = b["start"].as_str().unwrap();
        assert!(
            !start.starts_with('-') && chrono::DateTime::parse_from_rfc3339(start).is_ok(),
            "{start}"
        );
    }
    assert_eq!(
        buckets
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum::<u64>(),
        2
    );
    s.stop().await;
}
