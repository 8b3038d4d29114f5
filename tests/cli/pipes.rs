//! Issue 24: a command whose reader goes away (`trailscope token list | head -0`) ends the way
//! SIGPIPE ends other Unix tools — exit 141, nothing on stderr — never with a panic (101).

use std::process::{Command, Output, Stdio};

/// Runs the binary with stdout a pipe whose reading end is already closed, so its first write
/// fails with EPIPE every time (no race with a reader that closes late).
fn with_closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_a_command_like_sigpipe_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let db = db.to_str().unwrap();
    for args in [
        vec!["token", "create", "--db", db, "--role", "auditor"],
        vec!["token", "list", "--db", db],
    ] {
        let out = with_closed_stdout(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // The token was still created: only its printing failed.
    let list = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["token", "list", "--db", db])
        .output()
        .unwrap();
    assert!(list.status.success());
    assert!(String::from_utf8_lossy(&list.stdout).contains("auditor"));
}
