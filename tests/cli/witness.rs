//! `trailscope witness` as cron runs it: the real binary against `trailscope serve` processes on
//! real SQLite files, whose databases and keys the tests swap, roll back and replace as an
//! operator with shell access could.

use crate::common;

use common::process::{ServedLog as Log, copy_db};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use trailscope::store::Role;

/// `GET /v1/checkpoint` as the server answers it now.
async fn checkpoint(log: &Log) -> Value {
    reqwest::Client::new()
        .get(format!("{}/v1/checkpoint", log.url()))
        .bearer_auth(log.token(Role::Auditor))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn witness(log: &Log, state: &Path, extra: &[&str]) -> Output {
    let token = log.token(Role::Auditor);
    tokio::task::block_in_place(|| {
        Command::new(env!("CARGO_BIN_EXE_trailscope"))
            .args(["witness", "--server", &log.url(), "--token", &token])
            .args(["--state", state.to_str().unwrap()])
            .args(extra)
            .env("XDG_CONFIG_HOME", log.dir.path().join("config"))
            .env_remove("TRAILSCOPE_SERVER")
            .env_remove("TRAILSCOPE_TOKEN")
            .output()
            .unwrap()
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exit code, stdout, stderr.
fn run(log: &Log, state: &Path) -> (i32, String, String) {
    let out = witness(log, state, &[]);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_witness_pins_on_first_use_then_says_the_log_only_grew() {
    let log = Log::new();
    let _server = log.serve();
    log.post(3, "first").await;
    let state = log.dir.path().join("witness.json");
    let (code, out, err) = run(&log, &state);
    assert_eq!(code, 0, "{err}");
    let vkey = checkpoint(&log).await["verifier_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        out.trim(),
        format!(
            "pinned {vkey} on first use; first checkpoint: size 3 (kept in {})",
            state.display()
        )
    );
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    log.post(4, "more").await;
    let (code, out, err) = run(&log, &state);
    assert_eq!(
        (code, out.as_str()),
        (0, "consistent: size 3 → 7\n"),
        "{err}"
    );
    let (code, out, _) = run(&log, &state);
    assert_eq!((code, out.as_str()), (0, "consistent: size 7 → 7\n"));
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let sizes: Vec<u64> = kept["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [3, 7], "every checkpoint seen is kept, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_swapped_for_another_history_made_with_the_same_key_is_caught() {
    let log = Log::new();
    let state = log.dir.path().join("witness.json");
    let seen_root;
    {
        let _server = log.serve();
        log.post(5, "real").await;
        let (code, _, err) = run(&log, &state);
        assert_eq!(code, 0, "{err}");
        seen_root = checkpoint(&log).await["root"].as_str().unwrap().to_string();
    }
    // Another history, longer, signed with the very same key.
    let other = Log::new();
    std::fs::copy(
        format!("{}.key", log.db().display()),
        format!("{}.key", other.db().display()),
    )
    .unwrap();
    let forged_root;
    {
        let _server = other.serve();
        other.post(8, "forged").await;
        forged_root = checkpoint(&other).await["root"]
            .as_str()
            .unwrap()
            .to_string();
    }
    copy_db(&other.db(), &log.db());
    // The server itself would refuse to sign the other history: only an operator who also
    // holds the signer's state file gets this far, and only a witness catches them.
    log.forget_what_was_signed();
    let _server = log.serve();
    assert_eq!(checkpoint(&log).await["root"], json!(forged_root));
    let (code, out, err) = run(&log, &state);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    for needle in [
        "HISTORY CHANGED",
        "the history was rewritten (fork)",
        &format!("seen before: size 5, root {seen_root}"),
        &format!("server now:  size 8, root {forged_root}"),
        "cannot prove that its log of 8 entries begins with the 5 this witness saw",
    ] {
        assert!(err.contains(needle), "`{needle}` missing from:\n{err}");
    }
    // The alarm stays: nothing seen is given up, the forged checkpoint is kept as evidence.
    let (code, _, err) = run(&log, &state);
    assert_eq!(code, 1, "{err}");
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(kept["checkpoints"].as_array().unwrap().len(), 1);
    assert_eq!(kept["rejected"].as_array().unwrap().len(), 1);
    assert_eq!(kept["rejected"][0]["root"], json!(forged_root));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_to_an_older_copy_is_caught() {
    let log = Log::new();
    let state = log.dir.path().join("witness.json");
    let backup = log.dir.path().join("backup.db");
    {
        let _server = log.serve();
        log.post(3, "early").await;
    }
    copy_db(&log.db(), &backup);
    let (seen_root, old_root);
    {
        let _server = log.serve();
        log.post(3, "late").await;
        let (code, _, err) = run(&log, &state);
        assert_eq!(code, 0, "{err}");
        seen_root = checkpoint(&log).await["root"].as_str().unwrap().to_string();
    }
    copy_db(&backup, &log.db());
    log.forget_what_was_signed();
    {
        let _server = log.serve();
        old_root = checkpoint(&log).await["root"].as_str().unwrap().to_string();
        let (code, _, err) = run(&log, &state);
        assert_eq!(code, 1, "{err}");
        for needle in [
            "HISTORY CHANGED",
            "the log shrank (rollback)",
            &format!("seen before: size 6, root {seen_root}"),
            &format!("server now:  size 3, root {old_root}"),
            "entries 4 to 6 were signed and are no longer in the log",
        ] {
            assert!(err.contains(needle), "`{needle}` missing from:\n{err}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_signing_key_is_caught_and_never_pinned_by_itself() {
    let log = Log::new();
    let state = log.dir.path().join("witness.json");
    let pinned;
    {
        let _server = log.serve();
        log.post(2, "x").await;
        assert_eq!(run(&log, &state).0, 0);
        pinned = checkpoint(&log).await["verifier_key"]
            .as_str()
            .unwrap()
            .to_string();
    }
    // A whole other server behind the same URL: its own database and its own key. (With only
    // the key replaced, the server itself refuses to sign over checkpoints it cannot open.)
    let other = Log::new();
    {
        let _server = other.serve();
        other.post(4, "elsewhere").await;
    }
    copy_db(&other.db(), &log.db());
    std::fs::copy(
        format!("{}.key", other.db().display()),
        format!("{}.key", log.db().display()),
    )
    .unwrap();
    log.forget_what_was_signed();
    let _server = log.serve();
    let new_key = checkpoint(&log).await["verifier_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_key, pinned);
    for _ in 0..2 {
        let (code, _, err) = run(&log, &state);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("the signing key changed"), "{err}");
        assert!(err.contains(&format!("pinned key:  {pinned}")), "{err}");
        assert!(err.contains(&format!("server key:  {new_key}")), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_is_refused_and_usage_errors_exit_2() {
    let log = Log::new();
    let _server = log.serve();
    log.post(2, "x").await;
    let state = log.dir.path().join("witness.json");
    assert_eq!(run(&log, &state).0, 0);
    let good = std::fs::read_to_string(&state).unwrap();
    let mut edited: Value = serde_json::from_str(&good).unwrap();
    // Someone "helps" the witness forget: a root edited to the server's new one.
    edited["checkpoints"][0]["root"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    for corrupt in [
        good[..good.len() / 2].to_string(),
        "not json at all".to_string(),
        serde_json::to_string(&edited).unwrap(),
        "{}".to_string(),
    ] {
        std::fs::write(&state, &corrupt).unwrap();
        let (code, out, err) = run(&log, &state);
        assert_eq!(code, 1, "{corrupt}: {out}{err}");
        assert!(err.contains("cannot be used"), "{err}");
        assert!(err.contains("nothing is pinned again"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
        assert_eq!(
            std::fs::read_to_string(&state).unwrap(),
            corrupt,
            "left as it is"
        );
    }
    // Usage: no server or token; a state kept for another server.
    let out = tokio::task::block_in_place(|| {
        Command::new(env!("CARGO_BIN_EXE_trailscope"))
            .args(["witness", "--state", state.to_str().unwrap()])
            .env("XDG_CONFIG_HOME", log.dir.path().join("config"))
            .env_remove("TRAILSCOPE_SERVER")
            .env_remove("TRAILSCOPE_TOKEN")
            .output()
            .unwrap()
    });
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    std::fs::write(&state, &good).unwrap();
    let other = Log::unserved_at(log.port() + 1);
    let out = witness(&other, &state, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("pass another --state"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_given_out_of_band_is_pinned_instead_of_the_first_answer() {
    let log = Log::new();
    let _server = log.serve();
    log.post(2, "x").await;
    let state = log.dir.path().join("witness.json");
    let right = checkpoint(&log).await["verifier_key"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = trailscope::proof::SigningKey::generate()
        .verifier()
        .to_string();
    let out = witness(&log, &state, &["--key", &wrong]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("nothing was pinned"));
    assert!(
        !state.exists(),
        "a key the server does not hold is never pinned"
    );
    let out = witness(&log, &state, &["--key", "trailscope+zz+AAAA"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--key"));
    let out = witness(&log, &state, &["--key", &right]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with(&format!("pinned {right}")));
    let out = witness(&log, &state, &["--key", &wrong]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("never changes its pin"));
}
