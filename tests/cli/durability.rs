//! A 201 means durable: every acknowledged entry is there after `kill -9` of the server.

use crate::common;

use common::process::serve_process;
use serde_json::{Value, json};
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trailscope")
}

fn token(db: &std::path::Path, role: &str) -> String {
    let out = Command::new(bin())
        .args([
            "token",
            "create",
            "--db",
            db.to_str().unwrap(),
            "--role",
            role,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_entries_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let (writer, auditor) = (token(&db, "writer"), token(&db, "auditor"));
    let (mut server, port) = serve_process(&db, 0);
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    // Several producers at once, so commits are grouped; kill the server the moment the
    // last 201 arrives.
    let mut tasks = Vec::new();
    for p in 0..4 {
        let (http, url, writer) = (http.clone(), url.clone(), writer.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for b in 0..25 {
                let batch: Vec<Value> = (0..20)
                    .map(|i| json!({"action": "write", "description": format!("p{p} b{b} i{i}")}))
                    .collect();
                let r = http
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(&writer)
                    .json(&batch)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let body: Value = r.json().await.unwrap();
                acked.extend(
                    body["entries"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["id"].as_str().unwrap().to_string()),
                );
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    server.kill().unwrap(); // SIGKILL: no shutdown, no checkpoint
    server.wait().unwrap();

    let (mut server, _) = serve_process(&db, port);
    let seen = stored_ids(&http, &url, &auditor).await;
    assert_eq!(acked.len(), 2000);
    assert!(
        acked.iter().all(|id| seen.contains(id)),
        "an acknowledged entry was lost"
    );
    verifies(&http, &url, &auditor).await;
    // The entries the killed server had not yet added to its secondary and search indexes are
    // found by filters that read them, before the restarted one adds them and after.
    for round in ["as restarted", "indexed"] {
        let by_action = matching_ids(&http, &url, &auditor, "action:write").await;
        assert_eq!(by_action.len(), 2000, "{round}");
        let searched = matching_ids(&http, &url, &auditor, "q:\"p1 b24\" action:write").await;
        assert_eq!(searched.len(), 20, "{round}");
        common::wait_until_indexed(&url, &auditor).await;
    }
    // The restarted server continues the chain without a gap.
    let r = http
        .post(format!("{url}/v1/events"))
        .bearer_auth(&writer)
        .json(&json!({"action": "after"}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    // 2001–2003 record the three searches that read them back (`trailscope serve` audits
    // searches; a search repeated is recorded once).
    assert_eq!(body["entries"][0]["seq"], 2004);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The id of every stored entry, through the API.
async fn stored_ids(
    http: &reqwest::Client,
    url: &str,
    auditor: &str,
) -> std::collections::HashSet<String> {
    matching_ids(http, url, auditor, "").await
}

/// The id of every stored entry that `filter` matches, through the API.
async fn matching_ids(
    http: &reqwest::Client,
    url: &str,
    auditor: &str,
    filter: &str,
) -> std::collections::HashSet<String> {
    let mut seen = std::collections::HashSet::new();
    let mut cursor = String::new();
    let filter: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    loop {
        let r: Value = http
            .get(format!(
                "{url}/v1/events?limit=1000&filter={filter}&cursor={cursor}"
            ))
            .bearer_auth(auditor)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(
            r["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
        match r["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return seen,
        }
    }
}

/// The chain verifies.
async fn verifies(http: &reqwest::Client, url: &str, auditor: &str) {
    let v: Value = http
        .get(format!("{url}/v1/verify"))
        .bearer_auth(auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_entries_survive_kill_9_while_producers_are_still_writing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let writer = token(&db, "writer");
    let auditor = token(&db, "auditor");
    let (mut server, port) = serve_process(&db, 0);
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    // Producers post until the server is gone; only what came back as a 201 counts.
    let mut tasks = Vec::new();
    for p in 0..4 {
        let (http, url, writer, acked) = (http.clone(), url.clone(), writer.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for b in 0.. {
                let batch: Vec<Value> = (0..20)
                    .map(|i| json!({"action": "write", "description": format!("p{p} b{b} i{i}")}))
                    .collect();
                let Ok(r) = http
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(&writer)
                    .json(&batch)
                    .send()
                    .await
                else {
                    return;
                };
                if r.status() != 201 {
                    return;
                }
                let Ok(body) = r.json::<Value>().await else {
                    return;
                };
                acked.lock().unwrap().extend(
                    body["entries"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["id"].as_str().unwrap().to_string()),
                );
            }
        }));
    }
    while acked.lock().unwrap().len() < 1000 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL with batches in flight
    server.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let (mut server, _) = serve_process(&db, port);
    let seen = stored_ids(&http, &url, &auditor).await;
    assert!(acked.len() >= 1000);
    let lost: Vec<&String> = acked.iter().filter(|id| !seen.contains(*id)).collect();
    assert!(lost.is_empty(), "{} acknowledged entries lost", lost.len());
    verifies(&http, &url, &auditor).await;
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let (server, _) = serve_process(&db, 0);
    let pid = server.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = server.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit status after SIGTERM: {:?}",
        out.status
    );
}

#[test]
fn cli_errors_are_one_sentence() {
    let out = Command::new(bin()).args(["serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("trailscope: say where the database lives"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1);
    let out = Command::new(bin())
        .args([
            "token",
            "create",
            "--db",
            "/nonexistent/dir/x.db",
            "--role",
            "admin",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr)
            .unwrap()
            .trim()
            .lines()
            .count(),
        1
    );
    let out = Command::new(bin())
        .args(["token", "create", "--role", "emperor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}
