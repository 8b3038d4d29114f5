//! Someone with write access to the SQLite file changes history behind a real `trailscope
//! serve` process, after a checkpoint was signed. Each change is caught by `trailscope verify
//! --key` (the pinned verifier key), and the report names the earliest seq and checkpoint
//! that no longer match. The attacker puts the append-only triggers back afterwards, so what
//! catches them is the data, not the missing triggers.

use crate::common;
use common::process::{serve_command_logged, serve_process_unaudited};
use rusqlite::Connection;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use trailscope::model::Entry;
use trailscope::store::Role;
use trailscope::store::chain::{Commitments, entry_hash};
use trailscope::store::sqlite::TokenAdmin;

const N: u64 = 40;

struct Log {
    dir: tempfile::TempDir,
    db: PathBuf,
    auditor: String,
    writer: String,
    admin: String,
    vkey: String,
    /// Every entry as the API served it before the tampering.
    entries: Vec<Entry>,
}

struct Running {
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &Path) -> Running {
    // Every seq below is one the test wrote: the test's own searches stay out of the log.
    let (child, port) = serve_process_unaudited(db, 0);
    Running {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn get(url: &str, token: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn bin(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("TRAILSCOPE_SERVER")
        .env_remove("TRAILSCOPE_TOKEN")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// 40 entries and a checkpoint of them, signed by a server that is then stopped.
async fn signed_log() -> Log {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let admin_db = TokenAdmin::open(&db).unwrap();
    let token = |role| admin_db.create(role, "acme", None).unwrap().1;
    let (auditor, writer, admin) = (
        token(Role::Auditor),
        token(Role::Writer),
        token(Role::Admin),
    );
    let server = start(&db);
    let batch: Vec<Value> = (0..N)
        .map(|i| {
            json!({"action": "user.login", "description": format!("entry {i}"),
            "actor": {"type": "user", "id": format!("u_{i}"), "name": format!("Person {i}"),
                      "email": format!("p{i}@example.com"), "ip": "203.0.113.9"}})
        })
        .collect();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/events", server.url))
        .bearer_auth(&writer)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (st, c) = get(&server.url, &auditor, "/v1/checkpoint").await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["size"], N);
    let (_, page) = get(&server.url, &auditor, "/v1/events?order=asc&limit=1000").await;
    let entries: Vec<Entry> = serde_json::from_value(page["entries"].clone()).unwrap();
    assert_eq!(entries.len() as u64, N);
    drop(server);
    // The auditor pinned the key from the key file, not from the server.
    let key_path = format!("{}.key", db.display());
    let out = bin(
        &[
            "key",
            "show",
            "--signing-key",
            &key_path,
            "--tenant",
            "acme",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let vkey = text(&out.stdout).trim().to_string();
    assert_eq!(vkey, c["verifier_key"].as_str().unwrap());
    Log {
        dir,
        db,
        auditor,
        writer,
        admin,
        vkey,
        entries,
    }
}

fn tamper(db: &Path, sql: &str) {
    common::sqlite_tamper::tamper_sqlite(db, sql);
}

/// What `verify` says about the tampered file: the route's JSON (with the pinned key) and the
/// command line's exit code and words.
async fn verdict(log: &Log) -> (Value, Output) {
    let server = start(&log.db);
    let path = format!(
        "/v1/verify?key={}",
        form_urlencoded::byte_serialize(log.vkey.as_bytes()).collect::<String>()
    );
    let (st, report) = get(&server.url, &log.auditor, &path).await;
    assert_eq!(st, 200, "{report}");
    let out = tokio::task::block_in_place(|| {
        bin(
            &[
                "verify",
                "--server",
                &server.url,
                "--token",
                &log.auditor,
                "--key",
                &log.vkey,
            ],
            log.dir.path(),
        )
    });
    (report, out)
}

/// Asserts `verify` fails naming `seq` (when given), `reason` and checkpoint 40.
async fn caught(log: &Log, seq: Option<u64>, reason: &str, checkpoint: Option<u64>) -> Value {
    let (report, out) = verdict(log).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["reason"], reason, "{report}");
    assert_eq!(report["first_bad_seq"].as_u64(), seq, "{report}");
    assert_eq!(
        report["first_bad_checkpoint"].as_u64(),
        checkpoint,
        "{report}"
    );
    assert_eq!(report["verifier_key"], log.vkey.as_str());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    let words = reason.replace('_', " ");
    assert!(err.contains(&format!("({words})")), "{err}");
    if let Some(seq) = seq {
        assert!(err.contains(&format!("at seq {seq} ")), "{err}");
    }
    if let Some(c) = checkpoint {
        assert!(
            err.contains(&format!(
                "the earliest checkpoint that no longer holds is {c}"
            )),
            "{err}"
        );
    }
    assert!(
        text(&out.stdout).contains("MISMATCH: "),
        "{}",
        text(&out.stdout)
    );
    report
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untouched_log_verifies_with_the_pinned_key_and_a_real_pseudonymisation_is_fine() {
    let log = signed_log().await;
    let server = start(&log.db);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/pseudonymise", server.url))
        .bearer_auth(&log.admin)
        .json(&json!({"actor_id": "u_3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, c) = get(&server.url, &log.auditor, "/v1/checkpoint").await;
    assert_eq!(c["size"], N + 1);
    drop(server);
    let (report, out) = verdict(&log).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["checkpoints"], 2);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 checkpoints signed by trailscope/acme+"),
        "{}",
        text(&out.stdout)
    );
    // Nobody can check it with a key that is not a key.
    let out = bin(
        &[
            "verify",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            &log.auditor,
            "--key",
            "nonsense",
        ],
        log.dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--key"), "{}", text(&out.stderr));
    let _ = &log.writer;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_middle_row() {
    let log = signed_log().await;
    tamper(
        &log.db,
        "UPDATE entries SET description = 'nothing to see' WHERE seq = 17",
    );
    caught(&log, Some(17), "hash_mismatch", Some(N)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_middle_row() {
    let log = signed_log().await;
    tamper(&log.db, "DELETE FROM entries WHERE seq = 20");
    caught(&log, Some(20), "gap", Some(N)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_swapped_rows() {
    let log = signed_log().await;
    tamper(
        &log.db,
        "UPDATE entries SET seq = -1 WHERE seq = 11; UPDATE entries SET seq = 11 WHERE seq = 12; \
         UPDATE entries SET seq = 12 WHERE seq = -1",
    );
    caught(&log, Some(11), "hash_mismatch", Some(N)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_tail_with_the_chain_head_fixed() {
    let log = signed_log().await;
    tamper(
        &log.db,
        "DELETE FROM entries WHERE seq > 35; \
         UPDATE chain_heads SET seq = 35, hash = (SELECT hash FROM entries WHERE seq = 35)",
    );
    caught(&log, Some(36), "missing_tail", Some(N)).await;
    // And the server takes no more entries into a log it can no longer extend honestly.
    let server = start(&log.db);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/events", server.url))
        .bearer_auth(&log.writer)
        .json(&json!({"action": "after.the.cut"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_tail_with_the_tree_cut_too() {
    let log = signed_log().await;
    tamper(
        &log.db,
        "DELETE FROM entries WHERE seq > 35; DELETE FROM tree_rows WHERE leaf >= 35; \
         UPDATE chain_heads SET seq = 35, hash = (SELECT hash FROM entries WHERE seq = 35)",
    );
    caught(&log, Some(36), "missing_tail", Some(N)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rewrite_from_seq_25_with_every_later_hash_recomputed() {
    let log = signed_log().await;
    let c = Connection::open(&log.db).unwrap();
    let commitments = |seq: u64| stored_commitments(&c, seq);
    // The attacker knows the hashing: unchanged entries recompute to their stored hash.
    for e in &log.entries[..24] {
        assert_eq!(entry_hash(e, &commitments(e.seq)), e.hash);
    }
    let mut sql = String::new();
    let mut prev = log.entries[23].hash.clone();
    for e in &log.entries[24..] {
        let mut e = e.clone();
        if e.seq == 25 {
            e.description = Some("this never happened".into());
        }
        e.prev_hash = prev;
        e.hash = entry_hash(&e, &commitments(e.seq));
        sql.push_str(&format!(
            "UPDATE entries SET description = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};\n",
            e.description.as_deref().unwrap(),
            e.prev_hash,
            e.hash,
            e.seq
        ));
        prev = e.hash;
    }
    sql.push_str(&format!("UPDATE chain_heads SET hash = '{prev}';"));
    drop(c);
    tamper(&log.db, &sql);
    let report = caught(&log, Some(25), "leaf_mismatch", Some(N)).await;
    // The chain alone would not have noticed.
    assert_eq!(report["checked"], 24, "{report}");
}

/// The SQL that rewrites seq 25's description and recomputes every later hash and `prev_hash`
/// and the chain head: the chain alone then checks out.
fn rewrite_from_25(log: &Log) -> String {
    let c = Connection::open(&log.db).unwrap();
    let mut sql = String::new();
    let mut prev = log.entries[23].hash.clone();
    for e in &log.entries[24..] {
        let mut e = e.clone();
        if e.seq == 25 {
            e.description = Some("this never happened".into());
        }
        e.prev_hash = prev;
        e.hash = entry_hash(&e, &stored_commitments(&c, e.seq));
        sql.push_str(&format!(
            "UPDATE entries SET description = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};\n",
            e.description.as_deref().unwrap(),
            e.prev_hash,
            e.hash,
            e.seq
        ));
        prev = e.hash;
    }
    sql.push_str(&format!("UPDATE chain_heads SET hash = '{prev}';"));
    sql
}

/// A server over `db` whose log lines the test reads, and that waits for `needle` in them.
fn start_logged(db: &Path) -> (Running, std::sync::mpsc::Receiver<String>) {
    let config = db.with_extension("unaudited.toml");
    std::fs::write(&config, "[server]\naudit_searches = false\n").unwrap();
    let (child, port, lines) = serve_command_logged(&[
        "--db",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--config",
        config.to_str().unwrap(),
    ]);
    let running = Running {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    (running, lines)
}

fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("the server never logged `{needle}`: {e}"));
        if line.contains(needle) {
            return line;
        }
    }
}

fn state_file(log: &Log) -> PathBuf {
    PathBuf::from(format!("{}.key.state", log.db.display()))
}

fn remembered_size(log: &Log) -> u64 {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(log)).unwrap()).unwrap();
    v["logs"]["acme"]["size"].as_u64().unwrap()
}

/// After an attack on the file: the restarted server logs the alarm, refuses to sign (409
/// `integrity` naming `what`), and `/healthz` says so; the state file is left as it was.
async fn refused_at_start(log: &Log, what: &str) {
    let before = std::fs::read(state_file(log)).unwrap();
    let (server, lines) = start_logged(&log.db);
    let line = wait_for_line(&lines, "INTEGRITY ALARM");
    assert!(line.contains("ERROR"), "{line}");
    let (st, body) = get(&server.url, &log.auditor, "/v1/checkpoint").await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["error"]["code"], "integrity", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(what), "{message}");
    assert!(message.contains(&format!("checkpoint {N}")), "{message}");
    let r = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let health: Value = r.json().await.unwrap();
    assert_eq!(health["status"], "integrity_alarm", "{health}");
    assert!(
        health["integrity"]
            .as_str()
            .unwrap()
            .contains("1 log no longer extends"),
        "{health}"
    );
    drop(server);
    assert_eq!(std::fs::read(state_file(log)).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signer_remembers_a_rewrite_whose_tree_and_checkpoints_were_deleted() {
    let log = signed_log().await;
    assert_eq!(remembered_size(&log), N);
    // Issue 23, attack 1: every hash from seq 25 on recomputed, the chain head fixed, and the
    // tenant's tree and checkpoints deleted, so the server rebuilds a tree of the forged entries.
    let mut sql = rewrite_from_25(&log);
    sql.push_str(
        "DELETE FROM tree_rows WHERE tenant = 'acme'; DELETE FROM trees WHERE tenant = 'acme'; \
         DELETE FROM checkpoints WHERE tenant = 'acme';",
    );
    tamper(&log.db, &sql);
    refused_at_start(&log, "entries were rewritten").await;
    let report = caught(&log, Some(1), "checkpoint_mismatch", Some(N)).await;
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("remembered by the signer outside the database"),
        "{report}"
    );
    assert!(problems.contains("refuses to sign this log"), "{report}");
    assert!(problems.contains("no checkpoint signed by"), "{report}");
    assert_eq!(report["checkpoints"], 0, "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signer_remembers_a_cut_tail_whose_checkpoints_were_deleted() {
    let log = signed_log().await;
    // Issue 23, attack 2: the tail cut at 35, its tree rows and every checkpoint above the cut
    // deleted, the chain head fixed.
    tamper(
        &log.db,
        "DELETE FROM entries WHERE seq > 35; DELETE FROM tree_rows WHERE leaf >= 35; \
         DELETE FROM checkpoints WHERE size > 35; \
         UPDATE chain_heads SET seq = 35, hash = (SELECT hash FROM entries WHERE seq = 35)",
    );
    refused_at_start(&log, "entries were cut").await;
    let report = caught(&log, Some(36), "missing_tail", Some(N)).await;
    assert!(
        report["problems"]
            .to_string()
            .contains("remembered by the signer outside the database"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_without_a_state_file_takes_its_newest_checkpoint_at_first_start() {
    let log = signed_log().await;
    // A server of the version before the signer remembered: no state file beside the key.
    std::fs::remove_file(state_file(&log)).unwrap();
    {
        // The check at start is done before the first request is answered.
        let server = start(&log.db);
        let r = reqwest::get(format!("{}/healthz", server.url))
            .await
            .unwrap();
        let health: Value = r.json().await.unwrap();
        assert_eq!(health["status"], "ok", "{health}");
    }
    // The start took checkpoint 40 from the database (it opens with the key and the tree
    // extends it) and remembers it from now on.
    assert_eq!(remembered_size(&log), N);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state_file(&log))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    tamper(
        &log.db,
        "DELETE FROM entries WHERE seq > 30; DELETE FROM tree_rows WHERE leaf >= 30; \
         DELETE FROM checkpoints WHERE size > 30; \
         UPDATE chain_heads SET seq = 30, hash = (SELECT hash FROM entries WHERE seq = 30)",
    );
    refused_at_start(&log, "entries were cut").await;
    caught(&log, Some(31), "missing_tail", Some(N)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_file_that_is_not_this_keys_stops_the_server_with_one_sentence() {
    let log = signed_log().await;
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(&log)).unwrap()).unwrap();
    v["logs"]["acme"]["size"] = json!(N + 5);
    std::fs::write(state_file(&log), v.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args([
            "serve",
            "--db",
            log.db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("is damaged"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rewrite_with_the_tree_rebuilt_to_match() {
    let log = signed_log().await;
    let c = Connection::open(&log.db).unwrap();
    let commitments = |seq: u64| stored_commitments(&c, seq);
    // Every hash from seq 25 on recomputed, and every tree row rebuilt from the new hashes: the
    // chain and the tree agree with each other; only the signed checkpoint remembers.
    let mut sql = String::new();
    let mut prev = log.entries[23].hash.clone();
    let mut tree = trailscope::proof::Frontier::default();
    for e in &log.entries {
        let mut e = e.clone();
        if e.seq >= 25 {
            if e.seq == 25 {
                e.description = Some("this never happened".into());
            }
            e.prev_hash = prev;
            e.hash = entry_hash(&e, &commitments(e.seq));
            sql.push_str(&format!(
                "UPDATE entries SET description = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};\n",
                e.description.as_deref().unwrap(),
                e.prev_hash,
                e.hash,
                e.seq
            ));
        }
        let bytes: [u8; 32] = hex::decode(&e.hash).unwrap().try_into().unwrap();
        let row: Vec<u8> = tree.push(&bytes).iter().flat_map(|h| h.0).collect();
        sql.push_str(&format!(
            "UPDATE tree_rows SET hashes = x'{}' WHERE leaf = {};\n",
            hex::encode(row),
            e.seq - 1
        ));
        prev = e.hash;
    }
    sql.push_str(&format!("UPDATE chain_heads SET hash = '{prev}';"));
    drop(c);
    tamper(&log.db, &sql);
    let report = caught(&log, Some(1), "checkpoint_mismatch", Some(N)).await;
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("checkpoint 40"),
        "{report}"
    );
    // The server will not sign the rewritten tree either.
    let server = start(&log.db);
    let (st, body) = get(&server.url, &log.auditor, "/v1/checkpoint").await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["error"]["code"], "integrity", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not have the root of checkpoint 40"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fake_prune_with_an_anchor_row() {
    let log = signed_log().await;
    tamper(
        &log.db,
        "INSERT INTO chain_anchors (tenant, seq, hash, report) \
           SELECT tenant, seq, hash, '{}' FROM entries WHERE seq = 10; \
         DELETE FROM entries WHERE seq <= 10;",
    );
    let report = caught(&log, Some(1), "unrecorded_prune", Some(N)).await;
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("retention.pruned"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fake_pseudonymisation() {
    let log = signed_log().await;
    tamper(
        &log.db,
        "UPDATE entries SET actor_name = 'pseudonym-0badf00d', actor_email = 'pseudonym-0badf00d', \
           actor_ip = 'pseudonym-0badf00d', \
           commitments = json_remove(commitments, '$.name.s', '$.email.s', '$.ip.s') \
         WHERE actor_id = 'u_7'",
    );
    let report = caught(&log, Some(8), "unrecorded_pseudonym", Some(N)).await;
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("gdpr.pseudonymised"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permit_row_inserted_by_hand() {
    let log = signed_log().await;
    // No trigger is touched: the permit opens the door by itself.
    let c = Connection::open(&log.db).unwrap();
    c.execute_batch(
        "INSERT INTO maintenance (tenant, op, upto) VALUES ('acme', 'prune', 99999); \
         DELETE FROM entries WHERE seq = 30;",
    )
    .unwrap();
    drop(c);
    let report = caught(&log, Some(30), "gap", Some(N)).await;
    let problems = report["problems"].to_string();
    assert!(problems.contains("maintenance permit"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_triggers_are_reported_at_start_and_by_verify() {
    let log = signed_log().await;
    let c = Connection::open(&log.db).unwrap();
    c.execute_batch("DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;")
        .unwrap();
    drop(c);
    let report = caught(&log, None, "schema_changed", None).await;
    assert!(
        report["problems"]
            .to_string()
            .contains("entries_no_delete is missing"),
        "{report}"
    );
    // The server said so in the log itself at start, as the system actor, and recreated nothing.
    let server = start(&log.db);
    let (_, page) = get(
        &server.url,
        &log.auditor,
        "/v1/events?action=integrity.schema_changed",
    )
    .await;
    let recorded = page["entries"].as_array().unwrap();
    assert!(!recorded.is_empty(), "{page}");
    assert_eq!(recorded[0]["actor"]["type"], "system");
    assert!(
        recorded[0]["description"]
            .as_str()
            .unwrap()
            .contains("entries_no_update")
    );
    let triggers: i64 = Connection::open(&log.db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' \
             AND name IN ('entries_no_update', 'entries_no_delete')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(triggers, 0);
}

/// The personal-field commitments the database holds for `seq` (what an attacker who knows the
/// hashing recomputes an entry's hash with).
fn stored_commitments(c: &Connection, seq: u64) -> Commitments {
    let text: String = c
        .query_row(
            "SELECT commitments FROM entries WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str(&text).unwrap()
}
