//! Custom evidence packs (`{"kind": "custom", "title", "filter"}`, `trailscope evidence
//! --filter`) against the real server, checked with the real `trailscope verify-pack`.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::process::{Command, Output};

/// The incident's trail among unrelated entries, and one whose target only looks alike.
fn incident_events() -> Value {
    json!([
        {"action": "incident.opened", "channel": "security", "occurred_at": "2026-10-02T02:50:00Z",
         "target": {"type": "incident", "id": "INC-42", "name": "Account takeover"}, "description": "opened by the on-call"},
        {"action": "user.login", "channel": "auth", "occurred_at": "2026-10-02T03:00:00Z", "actor": {"type": "user", "id": "u_1"}},
        {"action": "incident.updated", "channel": "security", "occurred_at": "2026-10-02T04:10:00Z",
         "target": {"type": "incident", "id": "INC-42"}, "details": {"severity": "high"}},
        {"action": "incident.opened", "channel": "security", "occurred_at": "2026-10-03T09:00:00Z",
         "target": {"type": "incident", "id": "INC-421"}},
        {"action": "incident.closed", "channel": "security", "occurred_at": "2026-10-05T16:00:00Z",
         "target": {"type": "incident", "id": "INC-42"}, "outcome": "success"},
        {"action": "rule_fired", "channel": "rules", "occurred_at": "2026-10-06T09:00:00Z"},
    ])
}

async fn pack(s: &TestServer, body: Value) -> (u16, Vec<u8>) {
    let r = s
        .http
        .post(format!("{}/v1/evidence-packs", s.url))
        .bearer_auth(&s.auditor)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

fn cli(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HOME", dir)
        .env_remove("TRAILSCOPE_SERVER")
        .env_remove("TRAILSCOPE_TOKEN")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_pack_holds_exactly_what_its_filter_matches_and_verifies() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, incident_events()).await.0, 201);
    let filter = "target:incident/INC-42";
    let body = json!({"kind": "custom", "title": "INC-42 account takeover", "filter": filter, "name": "INC-42 for the regulator"});
    let (status, bytes) = pack(&s, body.clone()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let files = common::unzip(&bytes);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "custom.csv",
            "custom.json",
            "manifest.json",
            "proof.json",
            "record.ndjson",
            "record.ndjson.proof.json",
            "report.pdf"
        ]
    );
    // Exactly the entries the same filter finds through the read API, oldest first.
    let expected: Vec<u64> =
        common::seqs(&s.all("filter=target:incident/INC-42&order=asc", 2).await);
    assert_eq!(expected, [1, 3, 5]);
    let doc: Value = serde_json::from_slice(&files["custom.json"]).unwrap();
    let got: Vec<u64> = common::seqs(doc["entries"].as_array().unwrap());
    assert_eq!(got, expected);
    let csv = String::from_utf8(files["custom.csv"].clone()).unwrap();
    assert_eq!(csv.lines().count(), 1 + expected.len(), "{csv}");
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["kind"], "custom");
    assert_eq!(manifest["title"], "INC-42 account takeover");
    assert_eq!(manifest["filters"], json!([filter]));
    assert_eq!(manifest["rows"], 3);
    // No period asked for: it runs from the first to the last matching entry.
    assert_eq!(manifest["from"], "2026-10-02T02:50:00.000Z");
    assert_eq!(manifest["to"], "2026-10-05T16:00:00.000Z");
    assert_eq!(manifest["files"]["report.pdf"]["rows"], 3);
    assert!(files["report.pdf"].starts_with(b"%PDF-"));

    // The real verify-pack accepts it.
    let path = s.dir.path().join("inc-42.zip");
    std::fs::write(&path, &bytes).unwrap();
    let out = cli(s.dir.path(), &["verify-pack", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("ok: custom pack"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Asked again for the same data: the same files, though the first pack's own audit entry
    // is now in the log; only the pack's own record (another entry) differs.
    let (_, again) = pack(&s, body).await;
    let data = |b: &[u8]| {
        let mut f = common::unzip(b);
        f.remove("record.ndjson").unwrap();
        f.remove("record.ndjson.proof.json").unwrap();
        f
    };
    assert_eq!(data(&again), data(&bytes));
    let logged = s.all("action=evidence_pack.exported", 10).await;
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0]["details"]["kind"], "custom");
    assert_eq!(logged[0]["details"]["title"], "INC-42 account takeover");
    assert_eq!(logged[0]["details"]["filters"], json!([filter]));
    assert_eq!(logged[0]["details"]["name"], "INC-42 for the regulator");
    assert_eq!(logged[0]["details"]["rows"], 3);

    // A period narrows it.
    let (_, narrowed) = pack(
        &s,
        json!({"kind": "custom", "title": "INC-42", "filter": filter, "from": "2026-10-02T04:00:00Z", "to": "2026-10-31"}),
    )
    .await;
    let doc: Value = serde_json::from_slice(&common::unzip(&narrowed)["custom.json"]).unwrap();
    assert_eq!(common::seqs(doc["entries"].as_array().unwrap()), [3, 5]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_makes_a_custom_pack_and_checks_it() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&s.writer, incident_events()).await.0, 201);
    let dir = s.dir.path();
    let out = cli(
        dir,
        &[
            "evidence",
            "--server",
            &s.url,
            "--token",
            &s.auditor,
            "--filter",
            "target:incident/INC-42",
            "--title",
            "INC-42",
            "--name",
            "INC-42 pack",
            "-o",
            "inc.zip",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("wrote the INC-42 pack, 3 entries"),
        "{stderr}"
    );
    let files = common::unzip(&std::fs::read(dir.join("inc.zip")).unwrap());
    let doc: Value = serde_json::from_slice(&files["custom.json"]).unwrap();
    assert_eq!(common::seqs(doc["entries"].as_array().unwrap()), [1, 3, 5]);
    let out = cli(dir, &["verify-pack", "inc.zip"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logged = s.all("action=evidence_pack.exported", 10).await;
    assert_eq!(logged[0]["details"]["name"], "INC-42 pack");

    // Usage errors are one sentence and exit 2, before anything is asked of the server.
    for (args, says) in [
        (
            vec!["evidence", "--filter", "nosuchfield:x", "-o", "x.zip"],
            "--filter",
        ),
        (
            vec!["evidence", "--kind", "access_review", "-o", "x.zip"],
            "needs a period",
        ),
        (
            vec![
                "evidence",
                "--kind",
                "access_review",
                "--filter",
                "channel:auth",
                "-o",
                "x.zip",
            ],
            "cannot be used with",
        ),
    ] {
        let out = cli(
            dir,
            &[
                args.as_slice(),
                &["--server", &s.url, "--token", &s.auditor],
            ]
            .concat(),
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!dir.join("x.zip").exists());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_custom_requests_name_the_field() {
    let s = TestServer::start().await;
    let long = "x".repeat(201);
    for (body, field) in [
        (json!({"kind": "custom", "title": "no filter"}), "filter"),
        (json!({"kind": "custom", "filter": "colour:red"}), "filter"),
        (
            json!({"kind": "custom", "filter": "channel:auth", "title": "  "}),
            "title",
        ),
        (
            json!({"kind": "custom", "filter": "channel:auth", "title": long}),
            "title",
        ),
        (
            json!({"kind": "custom", "filter": "channel:auth", "name": long}),
            "name",
        ),
        (
            json!({"kind": "custom", "filter": "channel:auth", "from": "2026-10-05", "to": "2026-10-01"}),
            "from",
        ),
        (
            json!({"kind": "access_review", "from": "30d", "to": "today", "filter": "channel:auth"}),
            "filter",
        ),
        (
            json!({"kind": "access_review", "from": "30d", "to": "today", "title": "Q4"}),
            "title",
        ),
    ] {
        let (status, bytes) = pack(&s, body.clone()).await;
        let err: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    // An empty custom pack is still a pack (and says so), not an error.
    let (status, bytes) = pack(
        &s,
        json!({"kind": "custom", "filter": "target:incident/NONE"}),
    )
    .await;
    assert_eq!(status, 200);
    let manifest: Value = serde_json::from_slice(&common::unzip(&bytes)["manifest.json"]).unwrap();
    assert_eq!(manifest["rows"], 0);
    s.stop().await;
}
