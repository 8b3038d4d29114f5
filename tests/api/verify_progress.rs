//! `GET /v1/verify` with `Accept: application/x-ndjson`: a 200 at once, the walk's progress,
//! then the very report the JSON answer gives, on a clean log and a tampered one.

use crate::common;
use crate::integrity::tamper;
use common::TestServer;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A log of `n` entries, posted 1,000 at a time.
async fn seeded(n: usize) -> TestServer {
    let s = TestServer::start().await;
    for from in (0..n).step_by(1000) {
        let batch: Vec<Value> = (from..n.min(from + 1000))
            .map(|i| json!({"action": "user.login", "description": format!("entry {i}"),
                            "actor": {"type": "user", "id": format!("u_{}", i % 50), "email": format!("p{}@example.com", i % 50)}}))
            .collect();
        let (status, body) = s.post(&s.writer, Value::Array(batch)).await;
        assert_eq!(status, 201, "{body}");
    }
    s
}

/// The NDJSON answer's lines, each parsed.
async fn streamed(s: &TestServer, accept: &str) -> Vec<Value> {
    let r = s
        .http
        .get(format!("{}/v1/verify", s.url))
        .bearer_auth(&s.auditor)
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let text = r.text().await.unwrap();
    assert!(text.ends_with('\n'), "{text}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Checks the lines' shape: progress lines, never backwards, ending at their total, then one
/// report; returns the report and the last progress.
fn report_after_progress(lines: &[Value]) -> (Value, Value) {
    let (last, progress) = lines.split_last().expect("a line at least");
    assert!(
        !progress.is_empty(),
        "progress before the report: {lines:?}"
    );
    let mut checked = 0;
    for p in progress {
        let p = &p.as_object().unwrap()["progress"];
        let (now, total) = (p["checked"].as_u64().unwrap(), p["total"].as_u64().unwrap());
        assert!(now >= checked, "backwards: {lines:?}");
        assert!(now <= total, "{lines:?}");
        checked = now;
    }
    // The lines are the ones assets/openapi.json documents.
    let doc: Value = serde_json::from_str(include_str!("../../assets/openapi.json")).unwrap();
    let media = &doc["paths"]["/v1/verify"]["get"]["responses"]["200"]["content"];
    assert_eq!(
        media["application/x-ndjson"]["schema"]["$ref"],
        "#/components/schemas/VerifyLine"
    );
    let documented = &doc["components"]["schemas"]["VerifyProgress"]["properties"];
    for p in progress {
        let keys: Vec<&String> = p["progress"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            documented.as_object().unwrap().keys().collect::<Vec<_>>()
        );
    }
    let end = progress.last().unwrap()["progress"].clone();
    assert!(end["total"].as_u64().unwrap() > 0, "{end}");
    assert_eq!(end["checked"], end["total"], "{lines:?}");
    assert_eq!(last.as_object().unwrap().len(), 1, "{last}");
    (last["report"].clone(), end)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_tells_its_progress_then_the_report_the_json_answer_gives() {
    let s = seeded(5000).await;
    let (status, plain) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(status, 200);
    assert_eq!(plain["ok"], true, "{plain}");
    for accept in [
        "application/x-ndjson",
        "application/json;q=0.9, application/ndjson",
    ] {
        let lines = streamed(&s, accept).await;
        let (report, end) = report_after_progress(&lines);
        assert_eq!(report, plain);
        // Every entry walked in the chain, every leaf in the tree.
        assert_eq!(end["total"], 5000 + 5000, "{end}");
    }
    // Any other Accept gets the JSON answer, as before.
    let r = s
        .http
        .get(format!("{}/v1/verify", s.url))
        .bearer_auth(&s.auditor)
        .header("accept", "application/x-ndjson;q=0, application/json")
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.json::<Value>().await.unwrap(), plain);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_log_streams_the_report_that_names_it() {
    let s = seeded(3000).await;
    assert_eq!(s.first_bad_seq().await, None);
    tamper(
        &s,
        "UPDATE entries SET description = 'nothing to see' WHERE seq = 1234",
    );
    let (_, plain) = s.get(&s.auditor, "/v1/verify").await;
    let (report, _) = report_after_progress(&streamed(&s, "application/x-ndjson").await);
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_bad_seq"], 1234, "{report}");
    assert_eq!(report["reason"], "hash_mismatch", "{report}");
    assert_eq!(report, plain);
    s.stop().await;
}

/// A store that fails half way through the walk (an entry's commitments that are not JSON: the
/// JSON answer is a 500) ends the stream with the same error as its last line, after progress.
#[tokio::test(flavor = "multi_thread")]
async fn a_walk_that_fails_half_way_ends_the_stream_with_the_usual_error() {
    let s = seeded(3000).await;
    tamper(
        &s,
        "UPDATE entries SET commitments = 'not json' WHERE seq = 2500",
    );
    let (status, plain) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(status, 500, "{plain}");
    let lines = streamed(&s, "application/x-ndjson").await;
    let (last, progress) = lines.split_last().unwrap();
    assert!(!progress.is_empty(), "{lines:?}");
    assert!(
        progress.iter().all(|p| p.get("progress").is_some()),
        "{lines:?}"
    );
    assert_eq!(
        last, &plain,
        "the JSON answer's error body, as the last line"
    );
    assert_eq!(last["error"]["code"], "internal", "{last}");
    s.stop().await;
}

/// A client that leaves half way leaves no walk holding the database: the server goes on
/// writing and verifying, and on PostgreSQL no connection is left inside the walk's
/// transaction.
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_the_client_leaves_stops_its_walk() {
    let s = seeded(5000).await;
    for _ in 0..12 {
        let mut r = s
            .http
            .get(format!("{}/v1/verify", s.url))
            .bearer_auth(&s.auditor)
            .header("accept", "application/x-ndjson")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let first = r.chunk().await.unwrap().unwrap();
        let line = first.split(|b| *b == b'\n').next().unwrap();
        let first: Value = serde_json::from_slice(line).unwrap();
        assert!(first.get("progress").is_some(), "{first}");
        drop(r);
    }
    if let Some(url) = &s.pg_url {
        let cluster = common::pg::cluster().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let open = cluster.psql(
                common::pg::db_name(url),
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND (state LIKE 'idle in transaction%' OR state = 'active')",
            );
            if open.trim() == "0" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} connections still inside a walk's transaction",
                open.trim()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for i in 0..20 {
        let (status, body) = s
            .post(&s.writer, json!({"action": format!("after.{i}")}))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["checked"], 5020, "{v}");
    s.stop().await;
}

/// The typed client reads the stream: every count it hands on is the server's, the last one
/// whole, and its report is the JSON answer's; a refusal is the usual error.
#[tokio::test(flavor = "multi_thread")]
async fn the_client_reads_the_stream() {
    use trailscope::client::{Client, ClientError};
    use trailscope::model::{VerifyProgress, VerifyReport};
    let s = seeded(2000).await;
    let (_, plain) = s.get(&s.auditor, "/v1/verify").await;
    let client = Client::new(&s.url, &s.auditor).unwrap();
    let mut seen: Vec<VerifyProgress> = Vec::new();
    let report = client
        .verify_watched(None, &mut |p| seen.push(p))
        .await
        .unwrap();
    assert_eq!(
        report,
        serde_json::from_value::<VerifyReport>(plain).unwrap()
    );
    assert_eq!(
        seen.last(),
        Some(&VerifyProgress {
            checked: 4000,
            total: 4000
        }),
        "{seen:?}"
    );
    assert_eq!(client.verify(None).await.unwrap(), report);
    let writer = Client::new(&s.url, &s.writer).unwrap();
    let refused = writer.verify_watched(None, &mut |_| {}).await.unwrap_err();
    assert!(matches!(refused, ClientError::Forbidden(_)), "{refused:?}");
    s.stop().await;
}
