//! GET /v1/export through the real server: formats, spreadsheet safety, filters, the
//! self-audit entry, and a client that leaves half-way.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};

fn tricky() -> Value {
    json!([
        {"action": "user.login", "channel": "auth", "occurred_at": "2026-11-01T10:00:00Z",
         "description": "Zoë Åström, \"the admin\", signed in\nfrom the café",
         "actor": {"type": "user", "id": "u_1", "name": "Zoë Åström", "email": "zoe@example.com", "ip": "203.0.113.7"}},
        {"action": "ticket.created", "channel": "writeback", "occurred_at": "2026-11-02T10:00:00Z",
         "description": "=HYPERLINK(\"http://evil\",\"click\")",
         "actor": {"type": "user", "id": "u_2", "name": "+cmd|' /C calc'!A0", "email": "@evil"},
         "target": {"type": "ticket", "id": "-42", "name": "\tTabbed"}, "details": {"before": {"a": 1}, "after": {"a": "b,c"}}},
        {"action": "rule_fired", "channel": "rules", "occurred_at": "2026-11-03T10:00:00Z", "description": "\rcarriage"},
    ])
}

async fn export(
    s: &TestServer,
    token: &str,
    query: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = s
        .http
        .get(format!("{}/v1/export?{query}", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_reads_back_exactly_with_pythons_csv_module() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, tricky()).await.0, 201);
    let (st, headers, body) = export(&s, &s.auditor, "format=csv").await;
    assert_eq!(st, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"audit-log-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert!(
        body.starts_with("\u{feff}".as_bytes()),
        "UTF-8 byte-order mark"
    );
    let path = s.dir.path().join("out.csv");
    std::fs::write(&path, &body).unwrap();
    let script = "import csv, json, sys\nwith open(sys.argv[1], newline='', encoding='utf-8-sig') as f:\n    print(json.dumps(list(csv.reader(f))))";
    let out = std::process::Command::new("python3")
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows[0],
        trailscope::export::CSV_COLUMNS.map(String::from).to_vec()
    );
    assert_eq!(rows.len(), 4);
    let col = |name: &str| {
        trailscope::export::CSV_COLUMNS
            .iter()
            .position(|c| *c == name)
            .unwrap()
    };
    let entries = s.all("order=asc", 10).await;
    assert_eq!(
        rows[1][col("description")],
        "Zoë Åström, \"the admin\", signed in\nfrom the café"
    );
    assert_eq!(rows[1][col("actor_name")], "Zoë Åström");
    assert_eq!(rows[1][col("id")], entries[0]["id"].as_str().unwrap());
    assert_eq!(rows[1][col("hash")], entries[0]["hash"].as_str().unwrap());
    assert_eq!(rows[1][col("occurred_at")], "2026-11-01T10:00:00.000Z");
    // Anything a spreadsheet would run is text.
    assert_eq!(
        rows[2][col("description")],
        "'=HYPERLINK(\"http://evil\",\"click\")"
    );
    assert_eq!(rows[2][col("actor_name")], "'+cmd|' /C calc'!A0");
    assert_eq!(rows[2][col("actor_email")], "'@evil");
    assert_eq!(rows[2][col("target_id")], "'-42");
    assert_eq!(rows[2][col("target_name")], "'\tTabbed");
    assert_eq!(rows[3][col("description")], "'\rcarriage");
    let details: Value = serde_json::from_str(&rows[2][col("details")]).unwrap();
    assert_eq!(details, json!({"before": {"a": 1}, "after": {"a": "b,c"}}));
    for row in &rows[1..] {
        for cell in row {
            assert!(
                !matches!(
                    cell.chars().next(),
                    Some('=' | '+' | '-' | '@' | '\t' | '\r')
                ),
                "unguarded cell {cell:?}"
            );
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_ndjson_shapes_and_filters() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, tricky()).await.0, 201);
    let (st, headers, body) =
        export(&s, &s.auditor, "format=json&channel=auth&channel=rules").await;
    assert_eq!(st, 200);
    assert_eq!(headers["content-type"], "application/json");
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["exported_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["filters"]["filter"], "channel:auth channel:rules");
    let api = s.all("channel=auth&channel=rules&order=asc", 10).await;
    assert_eq!(doc["entries"], Value::Array(api));
    let (_, headers, body) = export(
        &s,
        &s.auditor,
        "format=ndjson&filter=since:3650d+kind:created",
    )
    .await;
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["action"], "ticket.created");
    // Empty result: a header-only CSV, a JSON document with no entries.
    let (_, _, body) = export(&s, &s.auditor, "format=json&action=none").await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["entries"],
        json!([])
    );
    // Bad parameters and roles.
    let (st, _, body) = export(&s, &s.auditor, "format=xlsx").await;
    assert_eq!(st, 422, "{}", String::from_utf8_lossy(&body));
    assert_eq!(export(&s, &s.writer, "format=csv").await.0, 403);
    s.stop().await;
}

/// Waits until the export recorded at `export_seq` has its completion entry, and returns it.
async fn finished(s: &TestServer, export_seq: u64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let done = s.all("action=audit_log.export_finished", 50).await;
        if let Some(e) = done
            .iter()
            .find(|e| e["details"]["export_seq"] == export_seq)
        {
            return e.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "export #{export_seq} was never recorded as finished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The contract issue 15's export history reads: a started entry before the first byte, a
/// completion entry after the last.
#[tokio::test(flavor = "multi_thread")]
async fn every_export_is_itself_in_the_log() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, tricky()).await.0, 201);
    let (st, _, body) = export(&s, &s.auditor, "format=ndjson&outcome=success").await;
    assert_eq!(st, 200);
    // The export is the log before its own record: the three entries, not the record itself.
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 3);
    let logged = s.all("action=audit_log.exported", 10).await;
    assert_eq!(logged.len(), 1);
    let e = &logged[0];
    assert_eq!(e["channel"], "audit");
    assert_eq!(e["kind"], "other");
    assert_eq!(e["actor"]["type"], "service");
    let actor = e["actor"]["id"].as_str().unwrap();
    assert!(actor.starts_with("tok_"));
    assert_eq!(e["seq"], 4);
    assert_eq!(
        e["details"],
        json!({"format": "ndjson", "role": "auditor", "status": "started",
               "filters": {"filter": "outcome:success", "from": null, "to": null}})
    );
    let done = finished(&s, 4).await;
    assert_eq!(done["channel"], "audit");
    assert_eq!(done["kind"], "other");
    assert_eq!(done["actor"]["id"], actor);
    assert_eq!(
        done["details"],
        json!({"export_seq": 4, "format": "ndjson", "rows": 3, "status": "completed"})
    );
    assert!(done["seq"].as_u64().unwrap() > 4);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_leaves_stops_the_export() {
    let s = TestServer::start().await;
    for _ in 0..30 {
        let batch: Vec<Value> = (0..1000).map(|i| json!({"action": "bulk", "description": format!("row {i} {}", "x".repeat(200))})).collect();
        assert_eq!(s.post(&s.writer, Value::Array(batch)).await.0, 201);
    }
    let mut r = s
        .http
        .get(format!("{}/v1/export?format=csv", s.url))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    let first = r.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    // Recorded before the first byte arrived.
    let started = s.all("action=audit_log.exported", 10).await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["details"]["status"], "started");
    drop(r);
    // The server notices, stops reading the store, and records a partial export.
    let e = finished(&s, 30_001).await;
    assert_eq!(e["details"]["status"], "incomplete", "{e}");
    assert!(e["details"]["rows"].as_u64().unwrap() < 30_000, "{e}");
    assert!(
        e["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("client went away"),
        "{e}"
    );
    s.stop().await;
}
