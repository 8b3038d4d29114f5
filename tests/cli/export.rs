//! `trailscope export` and `trailscope evidence` as a user runs them, against a real server.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::process::{Command, Output};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn cli(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .current_dir(dir)
        // An empty config directory: no profile of the developer's leaks in.
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HOME", dir)
        .env_remove("TRAILSCOPE_SERVER")
        .env_remove("TRAILSCOPE_TOKEN")
        .output()
        .unwrap()
}

async fn seeded(rows: usize) -> TestServer {
    let s = TestServer::start().await;
    for chunk in 0..rows.div_ceil(1000) {
        let batch: Vec<Value> = (chunk * 1000..((chunk + 1) * 1000).min(rows))
            .map(|i| json!({"action": if i % 2 == 0 { "user.login" } else { "rule_fired" }, "channel": if i % 2 == 0 { "auth" } else { "rules" },
                            "description": format!("row {i}, \"quoted\"\nnext line {}", "x".repeat(100))}))
            .collect();
        assert_eq!(s.post(&s.writer, Value::Array(batch)).await.0, 201);
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn export_to_files_and_stdout() {
    let s = seeded(2500).await;
    let dir = s.dir.path().to_path_buf();
    let out = cli(
        &dir,
        &[
            "export",
            "--server",
            &s.url,
            "--token",
            &s.auditor,
            "--format",
            "csv",
            "--filter",
            "channel:auth",
            "-o",
            "auth.csv",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrote 1250 entries"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_path(dir.join("auth.csv")).unwrap();
    assert_eq!(reader.records().count(), 1250);
    // Never overwrite without --force.
    let out = cli(
        &dir,
        &[
            "export", "--server", &s.url, "--token", &s.auditor, "-o", "auth.csv",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth.csv exists; pass --force"));
    let out = cli(
        &dir,
        &[
            "export", "--server", &s.url, "--token", &s.auditor, "-o", "auth.csv", "--force",
            "--format", "json",
        ],
    );
    assert!(out.status.success());
    // 2,500 plus the first export's two records (started, and finished before its last byte).
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrote 2502 entries"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The default name, and standard output.
    let out = cli(
        &dir,
        &[
            "export", "--server", &s.url, "--token", &s.auditor, "--format", "ndjson",
        ],
    );
    assert!(out.status.success());
    let made: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("audit-log-") && n.ends_with(".ndjson"))
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let out = cli(
        &dir,
        &[
            "export",
            "--server",
            &s.url,
            "--token",
            &s.auditor,
            "--format",
            "ndjson",
            "--filter",
            "channel:rules",
            "-o",
            "-",
        ],
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1250);
    // Every export was recorded by the server.
    assert_eq!(s.all("action=audit_log.exported", 100).await.len(), 4);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn clear_errors() {
    let s = seeded(10).await;
    let dir = s.dir.path().to_path_buf();
    let out = cli(
        &dir,
        &[
            "export",
            "--server",
            &s.url,
            "--token",
            &s.auditor,
            "--filter",
            "colour:red",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "a bad filter is a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `colour`"));
    let out = cli(
        &dir,
        &[
            "export", "--server", &s.url, "--token", &s.writer, "-o", "x.csv",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("403") && err.trim().lines().count() == 1,
        "{err}"
    );
    assert!(!dir.join("x.csv").exists());
    let out = cli(
        &dir,
        &[
            "export",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "-o",
            "y.csv",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
    let out = cli(&dir, &["export", "-o", "z.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("say which server"));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    s.stop().await;
}

/// An OCSF export gets its proof beside it like CSV and NDJSON (one save for the CLI and the
/// TUI), and `trailscope verify-file` checks the file against it with the server gone.
#[tokio::test(flavor = "multi_thread")]
async fn an_ocsf_export_gets_its_proof_beside_it_and_verifies_offline() {
    let s = seeded(30).await;
    // Not the server's directory: the files outlive the server.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_path_buf();
    let out = cli(
        &dir,
        &[
            "export",
            "--server",
            &s.url,
            "--token",
            &s.auditor,
            "--format",
            "ocsf",
            "--filter",
            "channel:auth",
            "-o",
            "auth.ocsf",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("wrote 15 entries"), "{stderr}");
    let side: Value =
        serde_json::from_slice(&std::fs::read(dir.join("auth.ocsf.proof.json")).unwrap()).unwrap();
    assert_eq!(side["proof"]["entries"], 15, "{side}");
    let body = std::fs::read_to_string(dir.join("auth.ocsf")).unwrap();
    assert_eq!(body.lines().count(), 15);
    assert!(!body.contains("trailscope-proof"));
    let vkey = s.key.verifier().to_string();
    s.stop().await;
    let out = cli(&dir, &["verify-file", "auth.ocsf", "--key", &vkey]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok: "), "{stdout}");
    // Edited, the same file fails against the same proof.
    std::fs::write(
        dir.join("auth.ocsf"),
        body.replacen("user.login", "user.logout", 1),
    )
    .unwrap();
    let out = cli(&dir, &["verify-file", "auth.ocsf", "--key", &vkey]);
    assert_ne!(out.status.code(), Some(0));
}

/// Forwards requests to the server but cuts every answer after `limit` bytes.
async fn cutting_proxy(upstream: String, limit: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.trim_start_matches("http://").to_string();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                let up = async { tokio::io::copy(&mut cr, &mut sw).await };
                let down = async {
                    let mut sent = 0;
                    let mut buf = vec![0u8; 8192];
                    while sent < limit {
                        let n = sr.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        cw.write_all(&buf[..n]).await.unwrap();
                        sent += n;
                    }
                };
                tokio::select! { _ = up => {}, _ = down => {} }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_export_leaves_no_file() {
    let s = seeded(3000).await;
    let dir = s.dir.path().to_path_buf();
    let proxy = cutting_proxy(s.url.clone(), 100_000).await;
    let out = tokio::task::spawn_blocking({
        let (dir, token) = (dir.clone(), s.auditor.clone());
        move || {
            cli(
                &dir,
                &[
                    "export", "--server", &proxy, "--token", &token, "-o", "cut.csv",
                ],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing was written"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("cut.csv")), "{names:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn evidence_pack_from_the_cli() {
    let s = seeded(20).await;
    let dir = s.dir.path().to_path_buf();
    let out = cli(
        &dir,
        &[
            "evidence",
            "--server",
            &s.url,
            "--token",
            &s.auditor,
            "--kind",
            "access_review",
            "--from",
            "7d",
            "--to",
            "today",
            "-o",
            "pack.zip",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("access_review pack, 10 entries"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&dir, &["verify-pack", "pack.zip"]);
    assert!(out.status.success());
    let out = cli(
        &dir,
        &[
            "evidence",
            "--server",
            &s.url,
            "--token",
            &s.auditor,
            "--kind",
            "access_review",
            "--from",
            "7d",
            "--to",
            "today",
            "-o",
            "pack.zip",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "no overwrite without --force");
    s.stop().await;
}
