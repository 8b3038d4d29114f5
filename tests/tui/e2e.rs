//! End to end: the real binary in tmux against a real server on a loopback port.

use crate::common;

use common::TestServer;
use common::tmux::Tmux;
use serde_json::json;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_shown_with_what_to_do_and_sigterm_restores_the_terminal() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();

    let tmux = Tmux::start(
        dir.path(),
        &format!("--server {} --token not-a-token", server.url),
        "",
    );
    let s = tmux
        .wait_for("the 401 message", |s| s.contains("401"))
        .await;
    assert!(
        s.contains("--token") && s.contains("TRAILSCOPE_TOKEN"),
        "{s}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
    drop(tmux);

    // A port nobody listens on: bound (so nothing else can take it) but never listening, so a
    // connection to it is refused.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = reserved.local_addr().unwrap().port();
    let tmux = Tmux::start(
        dir.path(),
        &format!("--server http://127.0.0.1:{port} --token t"),
        "NO_COLOR=1",
    );
    let s = tmux
        .wait_for("the unreachable message", |s| s.contains("OFFLINE"))
        .await;
    assert!(s.contains("cannot reach") && s.contains("retrying"), "{s}");
    // SIGTERM to the TUI: it leaves cleanly and the terminal is restored.
    let shell = String::from_utf8_lossy(
        &tmux
            .cmd(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"])
            .stdout,
    )
    .trim()
    .to_string();
    let child = String::from_utf8_lossy(
        &Command::new("ps")
            .args(["-o", "pid=,comm=", "--ppid", &shell])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    let pid = child
        .lines()
        .find(|l| l.contains("trailscope"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no trailscope child of {shell}: {child}"))
        .to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tmux.wait_for("exit after SIGTERM", |s| s.contains("EXIT="))
        .await;
    let alt = tmux.cmd(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]);
    assert_eq!(String::from_utf8_lossy(&alt.stdout).trim(), "0");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_search_details_clear_quit() {
    let server = TestServer::start().await;
    let now = chrono::Utc::now();
    let mut events = Vec::new();
    for i in 0..300i64 {
        let at = now - chrono::Duration::minutes(300 - i);
        let (action, desc) = match i {
            100 => (
                "printer.jammed".to_string(),
                "printer on fire in room 4".to_string(),
            ),
            299 => (
                "deploy.finished".to_string(),
                "the newest entry".to_string(),
            ),
            _ => (
                format!("ticket.updated_{}", i % 7),
                format!("routine change {i}"),
            ),
        };
        events.push(json!({"occurred_at": trailscope::model::format_ts(&at), "action": action, "description": desc,
            "actor": {"type": "user", "id": format!("u_{}", i % 5), "name": format!("User {}", i % 5)}}));
    }
    let (status, body) = server.post(&server.writer, json!(events)).await;
    assert_eq!(status, 201, "{body}");

    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(
        dir.path(),
        &format!("--server {} --token {}", server.url, server.auditor),
        "",
    );

    let s = tmux
        .wait_for("the newest entries", |s| {
            s.contains("deploy.finished") && s.contains("300 entries")
        })
        .await;
    let newest = s.find("deploy.finished").unwrap();
    let older = s.find("ticket.updated_").unwrap();
    assert!(newest < older, "newest first:\n{s}");

    tmux.keys(&["/", "printer", "Enter"]);
    // The count arrives on its own, after the rows: wait for both.
    tmux.wait_for("the search to narrow the table", |s| {
        s.contains("printer.jammed")
            && !s.contains("deploy.finished")
            && (s.contains("1 entries") || s.contains("1 entry"))
    })
    .await;

    tmux.keys(&["Enter"]);
    tmux.wait_for("the JSON details", |s| {
        s.contains("\"action\": \"printer.jammed\"") && s.contains("\"description\"")
    })
    .await;

    // One key at a time: Esc followed at once by a key reaches the TUI as Alt+key (the
    // terminal's escape prefix) when both land in one read, as they do on a loaded machine.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the details closed", |s| {
        !s.contains("\"action\": \"printer.jammed\"")
    })
    .await;
    tmux.keys(&["c"]);
    tmux.wait_for("the rows back after clearing", |s| {
        s.contains("deploy.finished") && s.contains("300 entries")
    })
    .await;

    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
    let alt = tmux.cmd(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]);
    assert_eq!(
        String::from_utf8_lossy(&alt.stdout).trim(),
        "0",
        "the terminal is back on the main screen"
    );
    // Raw mode is off again: the pane's tty is back in canonical mode with echo.
    let tty = String::from_utf8_lossy(
        &tmux
            .cmd(&["display-message", "-p", "-t", "e2e", "#{pane_tty}"])
            .stdout,
    )
    .trim()
    .to_string();
    let stty = Command::new("stty")
        .args(["-a", "-F", &tty])
        .output()
        .unwrap();
    let modes = String::from_utf8_lossy(&stty.stdout);
    assert!(
        modes.contains(" icanon") && modes.contains(" echo"),
        "{modes}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_opens_the_tui_on_the_generated_trail_and_quits() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(dir.path(), "demo", "");
    let s = tmux
        .wait_for("the demo's table", |s| {
            s.contains("demo (http://127.0.0.1:") && s.contains("connected")
        })
        .await;
    assert!(s.contains("When") && s.contains("Action"), "{s}");
    tmux.wait_up_to(120, "the whole trail", |s| {
        s.contains("the demo trail is in")
    })
    .await;
    // The incident the footer points at is there to be found.
    tmux.keys(&[":", "channel:auth outcome:failure", "Enter"]);
    let s = tmux
        .wait_for("the failed sign-ins", |s| {
            s.contains("filter: channel:auth outcome:failure since:7d")
                && s.contains("Grace Whitfield")
        })
        .await;
    assert!(s.contains("✗") && s.contains("user.login_failed"), "{s}");
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_mode_shows_posted_entries_and_counts_them_when_scrolled_away() {
    let server = TestServer::start().await;
    let batch: Vec<_> = (0..30)
        .map(|i| json!({"action": "ticket.updated", "description": format!("before follow {i}")}))
        .collect();
    let (status, body) = server.post(&server.writer, json!(batch)).await;
    assert_eq!(status, 201, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(
        dir.path(),
        &format!("--server {} --token {}", server.url, server.auditor),
        "",
    );
    tmux.wait_for("the table", |s| s.contains("30 entries"))
        .await;
    tmux.keys(&["F"]);
    tmux.wait_for("the live header", |s| s.contains("● live ─"))
        .await;
    let (status, _) = server
        .post(
            &server.writer,
            json!({"action": "printer.on_fire", "outcome": "failure", "description": "LIVE-ONE arrives"}),
        )
        .await;
    assert_eq!(status, 201);
    let s = tmux
        .wait_for("the posted entry on top", |s| {
            s.contains("LIVE-ONE arrives") && s.contains("31 entries")
        })
        .await;
    let live = s.find("LIVE-ONE").unwrap();
    let older = s.find("before follow 29").unwrap();
    assert!(live < older, "new entries come in at the top:\n{s}");
    // Scrolled away, the view stays put and the new ones are counted.
    tmux.keys(&["j", "j", "j"]);
    for i in 0..3 {
        let (status, _) = server
            .post(
                &server.writer,
                json!({"action": "ticket.created", "description": format!("LIVE-MORE {i}")}),
            )
            .await;
        assert_eq!(status, 201);
    }
    tmux.wait_for("the new-entry counter", |s| {
        s.contains("▲ 3 new") && s.contains("34 entries")
    })
    .await;
    tmux.keys(&["g"]);
    tmux.wait_for("the newest at the top", |s| {
        s.contains("LIVE-MORE 2") && !s.contains("▲ 3 new")
    })
    .await;
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
    server.stop().await;
}

/// A 16-colour terminal (TERM without 256, no COLORTERM) gets classic SGR colour codes
/// (`ESC[90m`), never the 256-colour form crossterm writes for named colours (`ESC[38;5;8m`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_colour_terminal_gets_classic_colour_codes() {
    let server = TestServer::start().await;
    let events = json!([
        {"action": "user.login", "outcome": "failure", "description": "wrong password"},
        {"action": "ticket.created", "description": "ticket 1"},
        {"action": "ticket.deleted", "description": "ticket 1 gone"}
    ]);
    let (status, body) = server.post(&server.writer, events).await;
    assert_eq!(status, 201, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let tmux = Tmux::start(
        dir.path(),
        &format!("--server {} --token {}", server.url, server.auditor),
        "COLORTERM= TERM=xterm",
    );
    tmux.cmd(&[
        "pipe-pane",
        "-o",
        "-t",
        "e2e",
        &format!("cat >> {}", raw.display()),
    ]);
    tmux.wait_for("the entries", |s| s.contains("ticket 1 gone"))
        .await;
    // Redraw everything while the pipe listens: the help over the table, then the table again.
    tmux.keys(&["?"]);
    tmux.wait_for("the help", |s| s.contains("Keys")).await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("the table again", |s| s.contains("ticket 1 gone"))
        .await;
    let written = std::fs::read(&raw).unwrap();
    let text = String::from_utf8_lossy(&written);
    assert!(text.contains("\x1b["), "nothing was captured");
    assert!(
        !text.contains("38;5;") && !text.contains("48;5;"),
        "256-colour codes on a 16-colour terminal: {text:?}"
    );
    assert!(
        [
            "[31", "[32", "[33", "[34", "[35", "[90", ";31", ";32", ";33", ";34", ";35", ";90"
        ]
        .iter()
        .any(|c| text.contains(c)),
        "no classic colour code: {text:?}"
    );
    tmux.keys(&["q"]);
}
