//! Retention: the window and its floor, prune (exactly the old prefix), its record, the chain
//! still verifying from the anchor, archives, and the daily schedule on an injected clock.

use crate::common;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use common::{TestServer, seqs};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use trailscope::server::retention::{RetentionConfig, prune_tenant};
use trailscope::server::schedule::{Clock, run_daily};
use trailscope::server::{Allowlist, ServerOptions};

async fn put(s: &TestServer, token: &str, body: Value) -> (u16, Value) {
    let r = s
        .http
        .put(format!("{}/v1/retention", s.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn batch(s: &TestServer, n: usize, label: &str) {
    let events: Vec<Value> = (0..n).map(|i| json!({"action": "user.login", "description": format!("{label} {i}"), "actor": {"type": "user", "id": "u_1", "email": "alice@example.com"}})).collect();
    assert_eq!(s.post(&s.writer, Value::Array(events)).await.0, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn window_default_floor_and_roles() {
    let s = TestServer::start().await;
    let (st, r) = s.get(&s.admin, "/v1/retention").await;
    assert_eq!(st, 200);
    assert_eq!(r, json!({"days": 395, "floor_days": 30}));
    let (st, e) = put(&s, &s.admin, json!({"days": 29})).await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["error"]["field"], "days");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("floor of 30 days")
    );
    assert_eq!(put(&s, &s.admin, json!({"days": 30})).await.0, 200);
    assert_eq!(put(&s, &s.admin, json!({"days": 400})).await.1["days"], 400);
    assert_eq!(s.get(&s.admin, "/v1/retention").await.1["days"], 400);
    assert_eq!(put(&s, &s.admin, json!({"days": "many"})).await.0, 400);
    for token in [&s.auditor, &s.writer] {
        assert_eq!(s.get(token, "/v1/retention").await.0, 403);
        assert_eq!(put(&s, token, json!({"days": 100})).await.0, 403);
        let r = s
            .http
            .post(format!("{}/v1/retention/prune", s.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_removes_exactly_the_old_prefix_and_verify_still_passes() {
    let s = TestServer::start().await;
    batch(&s, 30, "old").await;
    let boundary = s.boundary_after_newest().await;
    batch(&s, 20, "new").await;
    // "Now" is 30 days after the boundary and the window is the floor: the first 30 go.
    let config = RetentionConfig {
        default_days: 30,
        ..RetentionConfig::default()
    };
    let store = s.store.clone();
    let report = prune_tenant(
        store.as_ref(),
        &config,
        "acme",
        boundary + Duration::days(30),
    )
    .await
    .unwrap();
    assert_eq!(report.removed, 30);
    assert_eq!(report.anchor.as_ref().unwrap().seq, 30);
    let left = seqs(&s.all("order=asc", 100).await);
    assert_eq!(
        left,
        (31..=51).collect::<Vec<_>>(),
        "the 20 new entries and the prune's own record"
    );
    let record = &s.all("action=retention.pruned", 10).await[0];
    assert_eq!(record["actor"], json!({"type": "system"}));
    assert_eq!(record["channel"], "system");
    assert_eq!(record["details"]["removed"], 30);
    assert_eq!(record["details"]["anchor"]["seq"], 30);
    assert_eq!(
        record["details"]["cutoff"],
        trailscope::model::format_ts(&trailscope::model::from_millis(boundary.timestamp_millis()))
    );
    let (_, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["from_seq"], 31);
    assert_eq!(v["checked"], 21);
    let (_, r) = s.get(&s.admin, "/v1/retention").await;
    assert_eq!(r["last_prune"]["removed"], 30);
    // Search no longer finds what was pruned (its trigram rows went too).
    assert_eq!(s.all("q=old+1", 100).await.len(), 0);
    assert_eq!(s.all("q=new+1", 100).await.len(), 11);
    // Pruning again finds nothing more to remove, and verify still passes.
    let r = s
        .http
        .post(format!("{}/v1/retention/prune", s.url))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["removed"], 0);
    assert_eq!(s.get(&s.auditor, "/v1/verify").await.1["ok"], true);
    // An edit after a prune is still caught.
    if !s.sqlite_only("the edit after the prune is made in the SQLite file") {
        let c = rusqlite::Connection::open(&s.db).unwrap();
        c.execute_batch(
            "DROP TRIGGER entries_no_update; UPDATE entries SET description = 'edited' WHERE seq = 40;",
        )
        .unwrap();
        assert_eq!(s.first_bad_seq().await, Some(40));
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_triggers_still_refuse_outside_a_prune() {
    let s = TestServer::start().await;
    if s.sqlite_only("drives the SQLite triggers' permit table (tests/postgres/tamper.rs is the PostgreSQL case)") {
        return;
    }
    batch(&s, 3, "x").await;
    let c = rusqlite::Connection::open(&s.db).unwrap();
    assert!(
        c.execute("DELETE FROM entries WHERE seq = 1", [])
            .unwrap_err()
            .to_string()
            .contains("append-only")
    );
    // A permit for another tenant, or for pseudonymising, opens nothing here.
    c.execute_batch(
        "INSERT INTO maintenance VALUES ('other', 'prune', 99), ('acme', 'pseudonymise', 0)",
    )
    .unwrap();
    assert!(
        c.execute("DELETE FROM entries WHERE seq = 1", [])
            .unwrap_err()
            .to_string()
            .contains("append-only")
    );
    // A pseudonymise permit allows personal fields only.
    assert!(
        c.execute("UPDATE entries SET description = 'x' WHERE seq = 1", [])
            .unwrap_err()
            .to_string()
            .contains("append-only")
    );
    c.execute(
        "UPDATE entries SET actor_email = 'pseudonym-0000@invalid' WHERE seq = 1",
        [],
    )
    .unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn archive_first_and_verify_it() {
    let archive = tempfile::tempdir().unwrap();
    let retention = RetentionConfig {
        default_days: 30,
        archive_dir: Some(archive.path().to_path_buf()),
        ..RetentionConfig::default()
    };
    let s = TestServer::start_with_options(ServerOptions {
        allow: Allowlist::default(),
        retention: retention.clone(),
        ..ServerOptions::default()
    })
    .await;
    batch(&s, 25, "old").await;
    let boundary = s.boundary_after_newest().await;
    batch(&s, 5, "new").await;
    let store = s.store.clone();
    let report = prune_tenant(
        store.as_ref(),
        &retention,
        "acme",
        boundary + Duration::days(30),
    )
    .await
    .unwrap();
    assert_eq!(report.removed, 25);
    let manifest = std::path::PathBuf::from(report.archive.unwrap());
    assert!(manifest.exists());
    let bin = env!("CARGO_BIN_EXE_trailscope");
    let out = std::process::Command::new(bin)
        .arg("verify-archive")
        .arg(&manifest)
        .args(["--server", &s.url, "--token", &s.auditor])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ok: 25 entries, seq 1 to 25")
            && stdout.contains("continues from it at seq 26"),
        "{stdout}"
    );
    // A tampered archive is caught.
    let data = std::fs::read_dir(archive.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".ndjson.gz"))
        .unwrap();
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();
    let out = std::process::Command::new(bin)
        .arg("verify-archive")
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("MISMATCH"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_archive_deletes_nothing() {
    let blocker = tempfile::NamedTempFile::new().unwrap();
    // A directory cannot be made under a regular file, whoever runs the test.
    let retention = RetentionConfig {
        default_days: 30,
        archive_dir: Some(blocker.path().join("archive")),
        ..RetentionConfig::default()
    };
    let s = TestServer::start().await;
    batch(&s, 10, "old").await;
    let store = s.store.clone();
    let err = prune_tenant(
        store.as_ref(),
        &retention,
        "acme",
        Utc::now() + Duration::days(31),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("nothing was pruned"), "{err}");
    assert_eq!(
        s.all("action=user.login", 100).await.len(),
        10,
        "every entry is still there"
    );
    let failed = s.all("action=retention.prune_failed", 10).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["outcome"], "failure");
    assert_eq!(s.get(&s.auditor, "/v1/verify").await.1["ok"], true);
    s.stop().await;
}

/// A clock that jumps to whatever time the scheduler waits for.
struct JumpingClock(Mutex<DateTime<Utc>>);

impl Clock for JumpingClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        *self.0.lock().unwrap() = at;
        Box::pin(async {})
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_prune_runs_at_three_on_an_injected_clock() {
    let s = TestServer::start().await;
    batch(&s, 5, "x").await;
    let start = Utc::now() + Duration::days(1000);
    let clock = Arc::new(JumpingClock(Mutex::new(start)));
    let config = RetentionConfig {
        default_days: 30,
        ..RetentionConfig::default()
    };
    run_daily(
        s.store.clone(),
        config,
        NaiveTime::from_hms_opt(3, 0, 0).unwrap(),
        clock.clone(),
        Some(3),
    )
    .await;
    // Each day's prune removes the day before's record too (the clock is far ahead), so the
    // last record tells the story: three runs, at 03:00 on consecutive days.
    let runs = s.all("action=retention.pruned&order=asc", 10).await;
    assert_eq!(runs.len(), 1);
    let first_run =
        trailscope::server::schedule::next_run(start, NaiveTime::from_hms_opt(3, 0, 0).unwrap());
    assert_eq!(first_run.format("%H:%M:%S").to_string(), "03:00:00");
    let third = first_run + Duration::days(2) - Duration::days(30);
    assert_eq!(
        runs[0]["details"]["cutoff"],
        trailscope::model::format_ts(&third)
    );
    assert_eq!(runs[0]["details"]["removed"], 1, "the second run's record");
    assert_eq!(runs[0]["seq"], 8, "5 entries, then one record per run");
    let (_, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(v["from_seq"], 8, "{v}");
    assert_eq!(s.get(&s.auditor, "/v1/verify").await.1["ok"], true);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_tenant_has_its_own_window_and_the_cli_prunes_the_tokens_tenant() {
    let s = TestServer::start().await;
    let other = s.token_for(trailscope::store::Role::Admin, "globex");
    assert_eq!(put(&s, &s.admin, json!({"days": 90})).await.0, 200);
    assert_eq!(s.get(&s.admin, "/v1/retention").await.1["days"], 90);
    assert_eq!(
        s.get(&other, "/v1/retention").await.1["days"],
        395,
        "another tenant keeps the default"
    );
    batch(&s, 3, "recent").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["prune", "--server", &s.url, "--token", &s.admin])
        .env("XDG_CONFIG_HOME", s.dir.path())
        .env_remove("TRAILSCOPE_SERVER")
        .env_remove("TRAILSCOPE_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    let cutoff = (Utc::now() - Duration::days(90))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        said.starts_with("pruned 0 entries received before ") && said.contains(&cutoff),
        "the tenant's 90-day window, not the default: {said}"
    );
    let pruned = s.all("filter=action%3Aretention.pruned", 100).await;
    assert_eq!(pruned.len(), 1, "the prune records itself");
    assert_eq!(pruned[0]["details"]["removed"], 0, "{}", pruned[0]);
    assert_eq!(s.all("", 100).await.len(), 4, "nothing recent was removed");
    // A non-admin token is told why, in one sentence, with exit 1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["prune", "--server", &s.url, "--token", &s.auditor])
        .env("XDG_CONFIG_HOME", s.dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));
    s.stop().await;
}
