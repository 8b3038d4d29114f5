//! Issue 24: the terminal goes away under the TUI (an SSH drop, a closed tmux session): it
//! leaves without a panic, in its log or on stderr, and does not linger.

use crate::common::tmux::Tmux;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Every file's text under `dir`, for the words a panic leaves.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.push_str(&all_text(&p));
        } else if let Ok(t) = std::fs::read_to_string(&p) {
            out.push_str(&t);
        }
    }
    out
}

#[test]
fn a_terminal_that_disappears_ends_the_tui_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: bound but never listening, so the TUI shows itself offline.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = reserved.local_addr().unwrap().port();
    drop(reserved);
    let marker = format!("hangup-{}", std::process::id());
    let stderr = dir.path().join("stderr.txt");
    let tmux = Tmux::start(
        dir.path(),
        &format!(
            "--server http://127.0.0.1:{port} --token {marker} 2>{}",
            stderr.display()
        ),
        "NO_COLOR=1",
    );
    tmux.wait(30, "the TUI's first screen", |s| s.contains("OFFLINE"));
    // The terminal goes: tmux closes the pseudo-terminal and hangs up on its processes.
    tmux.cmd(&["kill-server"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let running = Command::new("pgrep")
            .args(["-f", &marker])
            .output()
            .unwrap()
            .status
            .success();
        if !running {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the TUI is still running 15 s after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let said = all_text(dir.path());
    assert!(!said.contains("panicked"), "{said}");
    assert!(!said.to_lowercase().contains("panic:"), "{said}");
}
