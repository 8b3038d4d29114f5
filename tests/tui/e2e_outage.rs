//! End to end, issue 25 point 1: the real binary in tmux, following live, against a
//! `trailscope serve` process that is stopped (SIGTERM), started again, then killed (SIGKILL)
//! and started again — with no key pressed. Each outage shows in the header with since when
//! (within 2 s of the stop), the footer never says "back online" while the server is gone, and
//! after each return the entries written meanwhile stream in with the count right.

use crate::common;

use chrono::{NaiveTime, Timelike, Utc};
use common::process::ServedLog;
use common::tmux::Tmux;
use std::process::Command;

/// The `since HH:MM:SSZ` the header states, as a time of day.
fn since(header: &str) -> Option<NaiveTime> {
    let at = header.split("OFFLINE since ").nth(1)?.get(..8)?;
    NaiveTime::parse_from_str(at, "%H:%M:%S").ok()
}

/// Waits for the outage to show and checks what it says: since when (no later than 2 s after
/// `stopped`), and no stale "back online" anywhere on screen.
async fn outage_shows(tmux: &Tmux, stopped: chrono::DateTime<Utc>, what: &str) {
    let s = tmux
        .wait_for(what, |s| {
            s.lines()
                .next()
                .is_some_and(|l| l.contains("OFFLINE since"))
        })
        .await;
    let header = s.lines().next().unwrap();
    let at = since(header).unwrap_or_else(|| panic!("no time in the header: {s}"));
    let stop = stopped.time().with_nanosecond(0).unwrap();
    let lag = (at - stop).num_seconds();
    assert!(
        (0..=2).contains(&lag),
        "{what}: the header says since {at}, the server stopped at {stop}:\n{s}"
    );
    assert!(!header.contains("● live"), "{s}");
    assert!(!s.contains("back online"), "no stale back online:\n{s}");
    assert!(
        s.contains("stopped answering at"),
        "the footer says so:\n{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_shows_each_outage_within_2_s_and_resumes_with_the_right_count() {
    let log = ServedLog::new();
    let server = log.serve();
    log.post(50, "before").await;
    let token = log.token(trailscope::store::Role::Auditor);
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(
        dir.path(),
        &format!("--server {} --token {token}", log.url()),
        "",
    );
    tmux.cmd(&["resize-window", "-t", "e2e", "-x", "80", "-y", "24"]);
    tmux.wait_for("the table", |s| s.contains("50 entries"))
        .await;
    tmux.keys(&["F"]);
    tmux.wait_for("following", |s| s.contains("● live ─")).await;

    // SIGTERM: the server shuts down cleanly.
    let mut server = server;
    let stopped = Utc::now();
    Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    server.0.wait().unwrap();
    outage_shows(&tmux, stopped, "the first outage").await;
    drop(server);

    // Back, and entries written before the TUI notices: they stream in once, counted once.
    let server = log.serve();
    log.post(3, "between").await;
    let s = tmux
        .wait_for("following again with the 3 new entries", |s| {
            s.contains("● live ─") && s.contains("53 entries") && s.contains("between 2")
        })
        .await;
    assert!(s.contains("back online"), "{s}");
    assert!(!s.contains("OFFLINE"), "{s}");
    // The count stays right once the server's own count is in again.
    log.post(2, "live").await;
    tmux.wait_for("the live entries", |s| {
        s.contains("55 entries") && s.contains("live 1")
    })
    .await;

    // SIGKILL, the second outage: shown again, with its own time.
    let mut server = server;
    let stopped = Utc::now();
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    outage_shows(&tmux, stopped, "the second outage").await;
    drop(server);

    let _server = log.serve();
    log.post(4, "after-kill").await;
    let s = tmux
        .wait_for("following again after the kill", |s| {
            s.contains("● live ─") && s.contains("59 entries") && s.contains("after-kill 3")
        })
        .await;
    // Every entry once: the table holds 59 rows.
    tmux.keys(&["G"]);
    let end = tmux
        .wait_for("the last row", |s| s.contains("row 59 of 59"))
        .await;
    assert!(!end.contains("of 60"), "{s}\n{end}");
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
}
