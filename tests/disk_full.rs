//! A full disk, for real: the database on a small tmpfs this test mounts, filled to the last
//! page. Producers get 503 with Retry-After, `/healthz` says degraded, an export is refused
//! rather than served unrecorded, and once space is freed the server recovers without a
//! restart, with every acknowledged entry still there and the chain intact.
//!
//! Mounting needs root (CI runs as root). Where mounting is impossible the test prints why and
//! passes only outside CI: with `CI=true` a failed mount fails the test.
//!
//! It stays a test binary of its own (the rest are grouped in tests/api, cli, tui, offline,
//! properties) because it needs root and mounts a file system: it is run, or left out where
//! there is no root, on its own (`cargo test --test disk_full`).

mod common;
use common::TestServer;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system holding `path` to the last byte; returns the filler to delete.
fn fill(path: &Path) -> PathBuf {
    let mut f = std::fs::File::create(path).unwrap();
    for size in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let chunk = vec![0xa5u8; size];
        while f.write_all(&chunk).and_then(|()| f.flush()).is_ok() {}
    }
    path.to_path_buf()
}

fn batch(n: usize, tag: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                json!({"action": "disk.test", "description": format!("batch {tag} row {i}"),
                            "details": {"pad": "p".repeat(2000)}})
            })
            .collect(),
    )
}

async fn health(s: &TestServer) -> (u16, Option<String>, Value) {
    let r = s
        .http
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_with_503_and_recovers_without_a_restart() {
    // Dropped in reverse: the server, then the mount, then its directory.
    let outer = tempfile::tempdir().unwrap();
    let mnt = outer.path().join("disk");
    let _disk = match Tmpfs::mount(&mnt, "4m") {
        Ok(m) => m,
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI must be able to mount a tmpfs for this test: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED a_full_disk_refuses_with_503_and_recovers_without_a_restart: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_at(dir, mnt.join("audit.db"), Default::default()).await;
    let mut acknowledged: Vec<String> = Vec::new();
    let mut take = |body: &Value| {
        for e in body["entries"].as_array().unwrap() {
            acknowledged.push(e["id"].as_str().unwrap().to_string());
        }
    };
    let (st, body) = s.post(&s.writer, batch(20, 0)).await;
    assert_eq!(st, 201, "{body}");
    take(&body);
    assert_eq!(health(&s).await.0, 200);

    // Fill the disk, then write until the database runs out of the room it already had.
    let filler = fill(&mnt.join("filler"));
    let mut refused = None;
    for tag in 1..200 {
        let r = s
            .http
            .post(format!("{}/v1/events", s.url))
            .bearer_auth(&s.writer)
            .json(&batch(20, tag))
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        let retry = r.headers().get("retry-after").cloned();
        let body: Value = r.json().await.unwrap();
        match st {
            201 => take(&body),
            503 => {
                refused = Some((retry, body));
                break;
            }
            other => panic!("a full disk must answer 201 or 503, not {other}: {body}"),
        }
    }
    let (retry, body) = refused.expect("the full disk never refused a write");
    assert!(retry.is_some(), "503 without Retry-After");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disk is full"),
        "{body}"
    );

    // Health says so, with a reason.
    let (st, retry, h) = health(&s).await;
    assert_eq!(st, 503, "{h}");
    assert!(retry.is_some());
    assert_eq!(h["status"], "degraded");
    assert!(
        h["reason"].as_str().unwrap().contains("disk is full"),
        "{h}"
    );

    // Reads still work; an export and a pack are refused, not served unrecorded.
    let (st, page) = s.get(&s.auditor, "/v1/events?limit=1").await;
    assert_eq!(st, 200, "{page}");
    let r = s
        .http
        .get(format!("{}/v1/export?format=ndjson", s.url))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get("retry-after").is_some());
    assert!(r.headers().get("content-disposition").is_none());
    let refusal: Value = r.json().await.unwrap();
    assert_eq!(refusal["error"]["code"], "unavailable", "{refusal}");
    let r = s
        .http
        .post(format!("{}/v1/evidence-packs", s.url))
        .bearer_auth(&s.auditor)
        .json(&json!({"kind": "access_review", "from": "30d", "to": "2099-01-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "unavailable"
    );

    // Space freed: health recovers by itself (it probes), and writes work again.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (st, _, h) = health(&s).await;
        if st == 200 {
            assert_eq!(h, json!({"status": "ok"}));
            break;
        }
        assert!(Instant::now() < deadline, "health never recovered: {h}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (st, body) = s.post(&s.writer, batch(20, 999)).await;
    assert_eq!(st, 201, "{body}");
    take(&body);

    // Nothing acknowledged was lost, nothing refused was stored, and the chain holds.
    let stored: std::collections::HashSet<String> = s
        .all("action=disk.test", 1000)
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged entry {id} is gone");
    }
    assert_eq!(stored.len(), acknowledged.len());
    assert_eq!(s.first_bad_seq().await, None);
    // The export the full disk refused left no record; one now is recorded and served.
    assert!(s.all("action=audit_log.exported", 10).await.is_empty());
    let r = s
        .http
        .get(format!(
            "{}/v1/export?format=ndjson&action=disk.test",
            s.url
        ))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap().lines().count(), acknowledged.len());
    assert_eq!(s.all("action=audit_log.exported", 10).await.len(), 1);
    s.stop().await;
}
