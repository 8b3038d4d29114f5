//! `trailscope import` against a real server: every format's fixture (written after the
//! format's public documentation, malformed records included) posted once, a re-run that adds
//! nothing, records that cannot be mapped named with their line, and failures in one sentence.

use crate::common;
use common::TestServer;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

fn import(s: &TestServer, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .arg("import")
        .args(args)
        .args(["--server", &s.url, "--token", token])
        .env("XDG_CONFIG_HOME", s.dir.path().join("config"))
        .env_remove("TRAILSCOPE_SERVER")
        .env_remove("TRAILSCOPE_TOKEN")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_format_is_imported_once_and_a_rerun_adds_nothing() {
    let s = TestServer::start().await;
    let k8s = fixture("k8s-audit.log");
    let k8s = k8s.to_str().unwrap();
    let out = tokio::task::block_in_place(|| import(&s, &s.writer, &["--format", "k8s", k8s]));
    // Three lines are not events: named, not posted, and the exit says so.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.lines().next(),
        Some("7 imported, 0 already present, 3 refused"),
        "{text}"
    );
    assert!(
        text.contains("k8s-audit.log:8: `verb` is missing"),
        "{text}"
    );
    assert!(text.contains("k8s-audit.log:5: not JSON"), "{text}");
    assert!(stderr(&out).contains("3 records were not imported"));

    let entries = s.all("channel=k8s", 100).await;
    assert_eq!(entries.len(), 7);
    let create = entries
        .iter()
        .find(|e| e["idempotency_key"] == "k8s:4d6a1f1e-6c7a-4b8e-9a51-2b1f0e3c9d01")
        .expect("the pod creation is in the log");
    assert_eq!(create["action"], "pods.create");
    assert_eq!(create["occurred_at"], "2026-11-20T09:14:03.120Z");
    // The source record is the entry's details, as it was (its last stage).
    assert_eq!(create["details"]["stage"], "ResponseComplete");
    assert_eq!(create["details"]["user"]["username"], "alice@example.com");

    let again = tokio::task::block_in_place(|| import(&s, &s.writer, &["--format", "k8s", k8s]));
    assert_eq!(
        stdout(&again).lines().next(),
        Some("0 imported, 7 already present, 3 refused"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        s.all("channel=k8s", 100).await.len(),
        7,
        "a re-run adds nothing"
    );

    // Two files of one format at once; CloudTrail's document and GitHub's CSV.
    let ct = fixture("cloudtrail.json");
    let ct_lines = fixture("cloudtrail-lines.ndjson");
    let out = tokio::task::block_in_place(|| {
        import(
            &s,
            &s.writer,
            &[
                "--format",
                "cloudtrail",
                ct.to_str().unwrap(),
                ct_lines.to_str().unwrap(),
            ],
        )
    });
    assert_eq!(
        stdout(&out).lines().next(),
        Some("8 imported, 0 already present, 2 refused"),
        "{}",
        stdout(&out)
    );
    let failures = s.all("channel=auth&outcome=failure", 100).await;
    assert_eq!(failures.len(), 1, "the failed console login");
    assert_eq!(failures[0]["actor"]["ip"], "198.51.100.66");

    let gh = fixture("github-audit.csv");
    let out = tokio::task::block_in_place(|| {
        import(&s, &s.writer, &["--format", "github", gh.to_str().unwrap()])
    });
    assert_eq!(
        stdout(&out).lines().next(),
        Some("3 imported, 0 already present, 1 refused"),
        "{}",
        stdout(&out)
    );
    assert_eq!(s.all("channel=github", 100).await.len(), 3);

    let (status, verify) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(
        (status, verify["ok"].clone()),
        (200, serde_json::json!(true))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_gzip_file_imports_with_exit_0_and_a_wrong_token_stops_in_one_sentence() {
    let s = TestServer::start().await;
    // The good records of the CloudTrail lines fixture, gzip-compressed.
    let text = std::fs::read_to_string(fixture("cloudtrail-lines.ndjson")).unwrap();
    let good: String = text
        .lines()
        .filter(|l| l.ends_with('}'))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = s.dir.path().join("trail.json.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(good.as_bytes()).unwrap();
    gz.finish().unwrap();
    let file = path.to_str().unwrap();

    let out =
        tokio::task::block_in_place(|| import(&s, &s.writer, &["--format", "cloudtrail", file]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "3 imported, 0 already present, 0 refused"
    );

    // An auditor may not post: the import stops, says why, and says a re-run is safe.
    let out =
        tokio::task::block_in_place(|| import(&s, &s.auditor, &["--format", "cloudtrail", file]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("running it again is safe"), "{err}");
    assert!(err.contains("403") || err.contains("role"), "{err}");

    // The wrong --format is a usage error that names what the file looks like.
    let out = tokio::task::block_in_place(|| import(&s, &s.writer, &["--format", "github", file]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("looks like a CloudTrail log"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.all("", 100).await.len(), 3, "nothing else was stored");
    s.stop().await;
}
