//! `trailscope ingest` and `trailscope verify` as a user runs them, against a real server.

use crate::common;
use common::TestServer;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cli(s: &TestServer, args: &[&str], token: &str, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .args(["--server", &s.url, "--token", token])
        .env("XDG_CONFIG_HOME", s.dir.path().join("config"))
        .env_remove("TRAILSCOPE_SERVER")
        .env_remove("TRAILSCOPE_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let text = stdin.to_string();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Posts `n` logins through `trailscope ingest`, which must succeed.
fn ingest_logins(s: &TestServer, n: usize) {
    let input: String = (0..n)
        .map(|i| format!("{{\"action\": \"user.login\", \"description\": \"line {i}\"}}\n"))
        .collect();
    assert!(
        tokio::task::block_in_place(|| cli(s, &["ingest"], &s.writer, &input))
            .status
            .success()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_posts_stdin_in_batches_and_verify_says_the_chain_is_intact() {
    let s = TestServer::start().await;
    let lines: String = (0..2500)
        .map(|i| {
            format!(
                "{{\"action\": \"user.login\", \"description\": \"line {}\"}}\n",
                i + 1
            )
        })
        .collect();
    // Blank lines are skipped, not errors.
    let input = format!("{lines}\n\n");
    let out = tokio::task::block_in_place(|| cli(&s, &["ingest"], &s.writer, &input));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("stored 2500 events"),
        "{}",
        text(&out.stderr)
    );
    let all = s.all("", 1000).await;
    assert_eq!(all.len(), 2500);
    // In input order: seq follows the lines.
    assert_eq!(all.last().unwrap()["description"], "line 1");

    let out = tokio::task::block_in_place(|| cli(&s, &["verify"], &s.auditor, ""));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .starts_with("the chain is intact: 2500 entries checked; head seq 2500 hash "),
        "{}",
        text(&out.stdout)
    );
    s.stop().await;
}

/// `verify` reads the server's streamed answer (progress, then the report) and prints what it
/// always printed: one line on stdout, nothing on stderr when stderr is not a terminal (the
/// progress bar is drawn only on one), exit 0.
#[tokio::test(flavor = "multi_thread")]
async fn verify_prints_its_one_line_and_no_bar_off_a_terminal() {
    let s = TestServer::start().await;
    ingest_logins(&s, 4000);
    let (_, report) = s.get(&s.auditor, "/v1/verify").await;
    let out = tokio::task::block_in_place(|| cli(&s, &["verify"], &s.auditor, ""));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    assert_eq!(
        text(&out.stdout),
        format!(
            "the chain is intact: 4000 entries checked; head seq 4000 hash {}; tree of 4000 entries; 1 checkpoints signed by {}\n",
            report["head"]["hash"].as_str().unwrap(),
            report["verifier_key"].as_str().unwrap()
        )
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_line_is_named_and_nothing_from_its_batch_on_is_stored() {
    let s = TestServer::start().await;
    let mut lines: Vec<String> = (0..1500)
        .map(|i| {
            format!(
                "{{\"action\": \"user.login\", \"description\": \"line {}\"}}",
                i + 1
            )
        })
        .collect();
    lines[1203] = "{\"action\": \"user.login\", \"colour\": \"red\"}".into();
    let out = tokio::task::block_in_place(|| cli(&s, &["ingest"], &s.writer, &lines.join("\n")));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("line 1204: "), "{err}");
    assert!(!err.contains("event 203"), "one count, the line's: {err}");
    assert!(err.contains("colour"), "{err}");
    assert!(
        err.contains("1000 events before line 1001 are stored"),
        "{err}"
    );
    assert_eq!(s.all("", 1000).await.len(), 1000);

    // A reader token cannot post; the sentence says so.
    let out =
        tokio::task::block_in_place(|| cli(&s, &["ingest"], &s.auditor, "{\"action\": \"a\"}\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("writer"),
        "{}",
        text(&out.stderr)
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_exits_1_and_names_the_seq_when_the_chain_is_broken() {
    let s = TestServer::start().await;
    ingest_logins(&s, 20);
    let c = rusqlite::Connection::open(&s.db).unwrap();
    c.execute_batch(
        "DROP TRIGGER entries_no_update; UPDATE entries SET description = 'edited' WHERE seq = 13;",
    )
    .unwrap();
    let out = tokio::task::block_in_place(|| cli(&s, &["verify"], &s.auditor, ""));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "the log no longer matches at seq 13 (hash mismatch): 12 entries before it check out"
        ),
        "{err}"
    );
    s.stop().await;
}
