//! POST /v1/evidence-packs and `trailscope verify-pack` against the real server.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Write;

fn period_events() -> Value {
    json!([
        {"action": "user.login", "channel": "auth", "occurred_at": "2026-10-01T09:00:00Z", "actor": {"type": "user", "id": "u_1"}},
        {"action": "user.login_failed", "channel": "auth", "outcome": "failure", "occurred_at": "2026-10-02T09:00:00Z"},
        {"action": "role.updated", "channel": "admin", "occurred_at": "2026-10-03T09:00:00Z", "details": {"before": "viewer", "after": "admin"}},
        {"action": "integration_credentials_updated", "channel": "admin", "occurred_at": "2026-10-04T09:00:00Z"},
        {"action": "rule_fired", "channel": "rules", "occurred_at": "2026-10-05T09:00:00Z"},
        {"action": "rate_limit.exceeded", "channel": "security", "outcome": "failure", "occurred_at": "2026-10-06T09:00:00Z"},
        {"action": "user.login", "channel": "auth", "occurred_at": "2026-09-15T09:00:00Z", "description": "before the period"},
    ])
}

async fn pack(s: &TestServer, token: &str, body: Value) -> (u16, Vec<u8>) {
    let r = s
        .http
        .post(format!("{}/v1/evidence-packs", s.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn packs_hold_the_right_rows_and_are_reproducible() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, period_events()).await.0, 201);
    let request = json!({"kind": "access_review", "from": "2026-10-01", "to": "2026-10-31"});
    let (st, first) = pack(&s, &s.auditor, request.clone()).await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&first));
    let files = common::unzip(&first);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "access_review.csv",
            "access_review.json",
            "manifest.json",
            "proof.json",
            "record.ndjson",
            "record.ndjson.proof.json",
            "report.pdf"
        ]
    );
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["kind"], "access_review");
    assert_eq!(manifest["from"], "2026-10-01T00:00:00.000Z");
    assert_eq!(manifest["to"], "2026-10-31T23:59:59.999Z");
    // Auth events and role changes in the period, oldest first, and nothing else.
    let doc: Value = serde_json::from_slice(&files["access_review.json"]).unwrap();
    let actions: Vec<&str> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.login", "user.login_failed", "role.updated"]);
    assert_eq!(manifest["rows"], 3);
    for (name, content) in &files {
        if ["manifest.json", "record.ndjson", "record.ndjson.proof.json"].contains(&name.as_str()) {
            continue;
        }
        assert_eq!(
            manifest["files"][name]["sha256"],
            hex::encode(Sha256::digest(content)),
            "{name}"
        );
        assert_eq!(manifest["files"][name]["rows"], 3, "{name}");
        assert_eq!(manifest["files"][name]["bytes"], content.len(), "{name}");
    }
    assert_eq!(manifest["chain_head"]["seq"], 7);
    // The same data and period: byte for byte the same files (its own audit entry changes
    // nothing), but for the pack's own record in the log, which is another entry each time.
    let (_, second) = pack(&s, &s.auditor, request).await;
    let own = |mut f: std::collections::BTreeMap<String, Vec<u8>>| {
        let record = f.remove("record.ndjson").unwrap();
        f.remove("record.ndjson.proof.json").unwrap();
        (f, record)
    };
    let ((first_files, first_record), (second_files, second_record)) =
        (own(common::unzip(&first)), own(common::unzip(&second)));
    assert_eq!(first_files, second_files);
    assert_ne!(first_record, second_record);
    let logged = s.all("action=evidence_pack.exported", 10).await;
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0]["details"]["kind"], "access_review");
    assert_eq!(logged[0]["details"]["rows"], 3);
    // The other kinds.
    let (_, cm) = pack(
        &s,
        &s.auditor,
        json!({"kind": "change_management", "from": "2026-10-01", "to": "2026-10-31"}),
    )
    .await;
    let doc: Value = serde_json::from_slice(&common::unzip(&cm)["change_management.json"]).unwrap();
    let actions: Vec<&str> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["role.updated", "integration_credentials_updated"]);
    let (_, ir) = pack(
        &s,
        &s.auditor,
        json!({"kind": "incident_response", "from": "2026-10-01", "to": "2026-10-31"}),
    )
    .await;
    let doc: Value = serde_json::from_slice(&common::unzip(&ir)["incident_response.json"]).unwrap();
    let actions: Vec<&str> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.login_failed", "rate_limit.exceeded"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests() {
    let s = TestServer::start().await;
    let cases = [
        (
            json!({"kind": "everything", "from": "2026-10-01", "to": "2026-10-31"}),
            422,
            Some("kind"),
        ),
        (
            json!({"kind": "access_review", "from": "last spring", "to": "2026-10-31"}),
            422,
            Some("from"),
        ),
        (
            json!({"kind": "access_review", "from": "2026-11-01", "to": "2026-10-01"}),
            422,
            Some("from"),
        ),
        (
            json!({"kind": "access_review", "from": "2026-10-01"}),
            400,
            None,
        ),
        (
            json!({"kind": "access_review", "from": "2026-10-01", "to": "2026-10-31", "format": "pdf"}),
            400,
            None,
        ),
    ];
    for (body, status, field) in cases {
        let (st, bytes) = pack(&s, &s.auditor, body.clone()).await;
        let err: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(st, status, "{body}: {err}");
        if let Some(f) = field {
            assert_eq!(err["error"]["field"], f, "{body}: {err}");
        }
    }
    let (st, _) = pack(
        &s,
        &s.writer,
        json!({"kind": "access_review", "from": "30d", "to": "today"}),
    )
    .await;
    assert_eq!(st, 403);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_pack_catches_an_edited_file() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, period_events()).await.0, 201);
    let (_, bytes) = pack(
        &s,
        &s.auditor,
        json!({"kind": "access_review", "from": "2026-10-01", "to": "2026-10-31"}),
    )
    .await;
    let good = s.dir.path().join("pack.zip");
    std::fs::write(&good, &bytes).unwrap();
    let run = |p: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
            .arg("verify-pack")
            .arg(p)
            .output()
            .unwrap()
    };
    let out = run(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: access_review pack"));
    // Rewrite the pack with one CSV cell changed.
    let mut files = common::unzip(&bytes);
    let csv = String::from_utf8(files["access_review.csv"].clone())
        .unwrap()
        .replace("user.login_failed", "user.login");
    files.insert("access_review.csv".into(), csv.into_bytes());
    let bad = s.dir.path().join("edited.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&bad).unwrap());
    for (name, content) in &files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
    let out = run(&bad);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("MISMATCH: access_review.csv has SHA-256"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match its manifest"));
    let junk = s.dir.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let out = run(&junk);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a zip file"));
    s.stop().await;
}

/// The pack's proof: `verify-pack` checks its JSON file's entries against the signed log, so a
/// file edited together with its manifest hash is still caught, and names the entry.
#[tokio::test(flavor = "multi_thread")]
async fn verify_pack_checks_the_proof() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, period_events()).await.0, 201);
    let (_, bytes) = pack(
        &s,
        &s.auditor,
        json!({"kind": "access_review", "from": "2026-10-01", "to": "2026-10-31"}),
    )
    .await;
    let vkey = s.key.verifier().to_string();
    let work = tempfile::tempdir().unwrap();
    s.stop().await;
    let good = work.path().join("pack.zip");
    std::fs::write(&good, &bytes).unwrap();
    let run = |p: &std::path::Path, key: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
            .arg("verify-pack")
            .arg(p)
            .args(["--key", key])
            .output()
            .unwrap()
    };
    let out = run(&good, &vkey);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim_end().lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("3 entries") && stdout.contains("the pinned key"),
        "{stdout}"
    );
    // Another key: the proof does not hold.
    let other = trailscope::proof::SigningKey::generate()
        .verifier()
        .to_string();
    let out = run(&good, &other);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not signed by the pinned key"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // One entry of the JSON file edited, and the manifest's hash of it fixed to match.
    let mut files = common::unzip(&bytes);
    let json_text = String::from_utf8(files["access_review.json"].clone()).unwrap();
    let edited = json_text.replacen("user.login_failed", "user.login_foiled", 1);
    assert_ne!(edited, json_text);
    let mut manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    manifest["files"]["access_review.json"]["sha256"] =
        json!(hex::encode(Sha256::digest(edited.as_bytes())));
    manifest["files"]["access_review.json"]["bytes"] = json!(edited.len());
    files.insert("access_review.json".into(), edited.into_bytes());
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    );
    let bad = work.path().join("forged.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&bad).unwrap());
    for (name, content) in &files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
    let out = run(&bad, &vkey);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("MISMATCH: proof.json: entry 2 (seq 2) does not match its proof"),
        "{stdout}"
    );
}
