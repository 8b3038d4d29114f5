//! `trailscope tail` as a user runs it: against a real server that goes away and comes back,
//! piped into something that stops reading, interrupted with Ctrl-C.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use trailscope::model::NewEvent;
use trailscope::server::{Allowlist, serve};
use trailscope::store::sqlite::TokenAdmin;
use trailscope::store::{Role, SqliteStore, Store};

fn tail(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .arg("tail")
        .args(args)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HOME", dir)
        .env_remove("TRAILSCOPE_SERVER")
        .env_remove("TRAILSCOPE_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("a line in time")
        .unwrap()
        .expect("tail still runs")
}

/// What a child says on stderr, line by line, as it says it.
struct Said {
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

fn said(child: &mut Child) -> Said {
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(l)) = err.next_line().await {
            let _ = tx.send(l);
        }
    });
    Said {
        lines,
        seen: Vec::new(),
    }
}

impl Said {
    /// Waits (at most 20 s) for a line containing `text`.
    async fn until(&mut self, text: &str) {
        loop {
            match tokio::time::timeout(Duration::from_secs(20), self.lines.recv()).await {
                Ok(Some(l)) => {
                    let found = l.contains(text);
                    self.seen.push(l);
                    if found {
                        return;
                    }
                }
                _ => panic!("never said {text:?}; said {:?}", self.seen),
            }
        }
    }
}

/// A server on `addr` over the database at `db`, until the sender fires.
fn server_on(
    db: &Path,
    listener: tokio::net::TcpListener,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve(store, Allowlist::default(), listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_prints_matching_entries_and_misses_nothing_across_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let tokens = TokenAdmin::open(&db).unwrap();
    let writer = tokens.create(Role::Writer, "acme", None).unwrap().1;
    let auditor = tokens.create(Role::Auditor, "acme", None).unwrap().1;
    // A port this test can take again when the server comes back.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}");
    let (stop, task) = server_on(&db, listener);

    let mut child = tail(
        dir.path(),
        &[
            "--server",
            &url,
            "--token",
            &auditor,
            "--filter",
            "channel:auth",
            "--format",
            "ndjson",
        ],
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut said = said(&mut child);
    common::wait_for_streams(&url, &auditor, 1).await;
    let http = reqwest::Client::new();
    let post = |body: Value| {
        let (http, url, writer) = (http.clone(), url.clone(), writer.clone());
        async move {
            let r = http
                .post(format!("{url}/v1/events"))
                .bearer_auth(&writer)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
        }
    };
    post(json!([
        {"action": "user.login", "channel": "auth", "description": "first"},
        {"action": "rule_fired", "channel": "rules"},
        {"action": "user.login", "channel": "auth", "description": "second"},
    ]))
    .await;
    let mut seqs = Vec::new();
    for want in ["first", "second"] {
        let v: Value = serde_json::from_str(&line(&mut lines).await).unwrap();
        assert_eq!(v["description"], want);
        seqs.push(v["seq"].as_u64().unwrap());
    }

    // The server goes away; entries are written while tail cannot reach it.
    let _ = stop.send(());
    task.await.unwrap();
    {
        let store = SqliteStore::open(&db).unwrap();
        let ev = |d: &str, channel: &str| NewEvent {
            action: "user.login".into(),
            channel: Some(channel.into()),
            description: Some(d.into()),
            ..NewEvent::default()
        };
        store
            .append(
                "acme",
                vec![ev("while away", "auth"), ev("not auth", "admin")],
            )
            .await
            .unwrap();
        store.close().await;
    }
    // Back once tail has said it lost the server, so it does reconnect.
    said.until("reconnecting in").await;
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let (stop, task) = server_on(&db, listener);
    post(json!({"action": "user.login", "channel": "auth", "description": "after"})).await;
    for want in ["while away", "after"] {
        let v: Value = serde_json::from_str(&line(&mut lines).await).unwrap();
        assert_eq!(v["description"], want);
        seqs.push(v["seq"].as_u64().unwrap());
    }
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in order, once each: {seqs:?}"
    );

    // Ctrl-C ends it cleanly.
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("tail exits on Ctrl-C")
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    said.until("reconnected;").await;
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_lines_are_inert_and_a_closed_pipe_ends_tail_quietly() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = tail(dir.path(), &["--server", &s.url, "--token", &s.auditor]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    common::wait_for_streams(&s.url, &s.auditor, 1).await;
    let (status, _) = s
        .post(
            &s.writer,
            json!({"action": "user.login_failed", "outcome": "failure", "channel": "auth",
                   "description": "evil \u{1b}]52;c;cHduZWQ=\u{7} \u{1b}[2J \u{202e}gnp.exe\r done",
                   "actor": {"type": "user", "id": "u_1", "name": "Mallory\u{1b}[31m"},
                   "target": {"type": "user", "id": "u_2"}}),
        )
        .await;
    assert_eq!(status, 201);
    let l = line(&mut lines).await;
    assert!(
        !l.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "raw control in {l:?}"
    );
    assert!(
        l.contains("\\x1b]52;c;") && l.contains("\\u{202e}") && l.contains("\\x0d"),
        "{l}"
    );
    assert!(
        l.contains("✗ other") && l.contains("user.login_failed"),
        "{l}"
    );
    assert!(
        l.contains("Mallory\\x1b[31m") && l.contains("user/u_2"),
        "{l}"
    );
    // The reader goes away (as `| head -1` would); the next entries end tail without a word.
    drop(lines);
    for i in 0..5 {
        s.post(
            &s.writer,
            json!({"action": "ticket.created", "description": format!("more {i}")}),
        )
        .await;
    }
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("tail ends when its reader does")
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_one_sentence_with_the_right_exit_code() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = tail(dir.path(), &["--server", &s.url, "--token", "wrong"])
        .wait_with_output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("trailscope: the server refused the token (401)")
            && err.lines().count() == 1,
        "{err}"
    );
    let out = tail(dir.path(), &["--server", &s.url, "--token", &s.writer])
        .wait_with_output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));
    let out = tail(
        dir.path(),
        &[
            "--server",
            &s.url,
            "--token",
            &s.auditor,
            "--filter",
            "colour:red",
        ],
    )
    .wait_with_output()
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
    s.stop().await;
}
