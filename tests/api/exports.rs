//! Named exports and the export history (`GET /v1/exports`, `trailscope exports`) through the
//! real server and binary.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

async fn seed(s: &TestServer, rows: usize) {
    for chunk in 0..rows.div_ceil(1000) {
        let batch: Vec<Value> = (chunk * 1000..((chunk + 1) * 1000).min(rows))
            .map(|i| json!({"action": "user.login", "channel": "auth", "description": format!("row {i} {}", "x".repeat(200))}))
            .collect();
        assert_eq!(s.post(&s.writer, Value::Array(batch)).await.0, 201);
    }
}

async fn history(s: &TestServer) -> Vec<Value> {
    let (status, body) = s.get(&s.auditor, "/v1/exports").await;
    assert_eq!(status, 200, "{body}");
    body["exports"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_history_lists_named_exports_and_packs_newest_first_with_their_status() {
    let s = TestServer::start().await;
    seed(&s, 20_000).await;
    // A named export, read to the end.
    let r = s
        .http
        .get(format!(
            "{}/v1/export?format=csv&filter=channel:auth&name=Q4%20access%20review",
            s.url
        ))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    assert!(body.len() > 1_000_000);
    // A named export the client walks away from after the first chunk.
    let mut r = s
        .http
        .get(format!("{}/v1/export?format=ndjson&name=abandoned", s.url))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    assert!(r.chunk().await.unwrap().is_some());
    drop(r);
    // The server learns of it when its next chunk finds nobody: wait for its end to be recorded.
    let deadline = Instant::now() + Duration::from_secs(20);
    let list = loop {
        let list = history(&s).await;
        if list
            .iter()
            .any(|e| e["name"] == "abandoned" && e["rows"].is_u64())
        {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "the abandoned export was never recorded: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let abandoned = list.iter().find(|e| e["name"] == "abandoned").unwrap();
    assert_eq!(abandoned["status"], "incomplete", "{abandoned}");
    assert_eq!(abandoned["format"], "ndjson");
    assert!(
        abandoned["rows"].as_u64().unwrap_or(0) < 20_000,
        "{abandoned}"
    );
    // A named pack.
    let r = s
        .http
        .post(format!("{}/v1/evidence-packs", s.url))
        .bearer_auth(&s.auditor)
        .json(&json!({"kind": "custom", "title": "Sign-ins", "filter": "channel:auth", "name": "sign-ins for the auditor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();

    let list = history(&s).await;
    assert_eq!(list.len(), 3, "{list:?}");
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["sign-ins for the auditor", "abandoned", "Q4 access review"]
    );
    let pack = &list[0];
    assert_eq!(pack["what"], "evidence_pack");
    assert_eq!(pack["kind"], "custom");
    assert_eq!(pack["title"], "Sign-ins");
    assert_eq!(pack["filter"], "channel:auth");
    assert_eq!(pack["rows"], 20_000);
    assert_eq!(pack["status"], "completed");
    let done = &list[2];
    assert_eq!(done["what"], "export");
    assert_eq!(done["format"], "csv");
    assert_eq!(done["filter"], "channel:auth");
    assert_eq!(done["rows"], 20_000);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["actor"]["type"], "service");
    assert!(done["actor"]["id"].as_str().unwrap().starts_with("tok_"));
    assert!(done["at"].as_str().unwrap().ends_with('Z'));

    // The CLI lists the same, names and statuses in columns.
    let dir = s.dir.path();
    let out = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["exports", "--server", &s.url, "--token", &s.auditor])
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[1].contains("completed")
            && lines[1].contains("sign-ins for the auditor")
            && lines[1].contains("pack custom"),
        "{table}"
    );
    assert!(
        lines[2].contains("incomplete")
            && lines[2].contains("abandoned")
            && lines[2].contains("export ndjson"),
        "{table}"
    );
    assert!(
        lines[3].contains("completed")
            && lines[3].contains("Q4 access review")
            && lines[3].contains("20000")
            && lines[3].contains("channel:auth"),
        "{table}"
    );

    // Paging, and what the route refuses.
    let (_, page) = s
        .get(
            &s.auditor,
            &format!("/v1/exports?limit=1&before_seq={}", list[0]["seq"]),
        )
        .await;
    assert_eq!(page["exports"][0]["name"], "abandoned");
    for (path, status) in [
        ("/v1/exports?limit=0", 422),
        ("/v1/exports?colour=red", 422),
        ("/v1/export?name=", 422),
    ] {
        assert_eq!(s.get(&s.auditor, path).await.0, status, "{path}");
    }
    assert_eq!(s.get(&s.writer, "/v1/exports").await.0, 403);
    s.stop().await;
}
