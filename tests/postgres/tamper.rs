//! PostgreSQL refuses to change history by itself: the application's role holds no UPDATE or
//! DELETE privilege, and the append-only triggers refuse even the schema's owner. The errors
//! are the database's own.

use crate::common::pg;
use trailscope::model::NewEvent;
use trailscope::store::Store;
use trailscope::store::postgres::PostgresStore;

fn event(action: &str) -> NewEvent {
    serde_json::from_value(serde_json::json!({"action": action, "actor": {"type": "user", "id": "u1", "email": "a@example.com"}})).unwrap()
}

#[tokio::test]
async fn the_application_role_cannot_update_or_delete_history_even_with_direct_sql() {
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    let store = PostgresStore::open(&url, 4).await.unwrap();
    store
        .append("acme", vec![event("user.login"), event("user.logout")])
        .await
        .unwrap();
    let key = trailscope::proof::SigningKey::generate();
    store.checkpoint("acme", &key).await.unwrap();
    assert!(store.verify("acme", None).await.unwrap().ok);

    // As the application's role: no privilege at all.
    for sql in [
        "UPDATE entries SET action = 'x' WHERE seq = 1",
        "DELETE FROM entries WHERE seq = 1",
        "TRUNCATE entries",
        "UPDATE tree_rows SET hashes = '\\x00' WHERE leaf = 0",
        "DELETE FROM tree_rows",
        "UPDATE checkpoints SET note = 'x'",
        "DELETE FROM checkpoints",
        "UPDATE entries_default SET action = 'x'",
    ] {
        let (ok, out) = pg.try_psql(&db, &format!("SET ROLE trailscope_app; {sql}"));
        assert!(!ok, "{sql} went through as trailscope_app");
        assert!(out.contains("permission denied"), "{sql}: {out}");
    }
    // As the schema's owner (here a superuser): the triggers refuse.
    for (sql, says) in [
        (
            "UPDATE entries SET action = 'x' WHERE seq = 1",
            "append-only: UPDATE is refused",
        ),
        (
            "DELETE FROM entries WHERE seq = 1",
            "append-only: DELETE is refused",
        ),
        (
            "UPDATE tree_rows SET hashes = '\\x00'",
            "tree_rows is append-only",
        ),
        ("DELETE FROM checkpoints", "checkpoints is append-only"),
        ("TRUNCATE entries", "entries is append-only"),
    ] {
        let (ok, out) = pg.try_psql(&db, sql);
        assert!(!ok, "{sql} went through as the owner");
        assert!(out.contains(says), "{sql}: {out}");
    }
    let report = store.verify("acme", None).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, 2);

    // Switching a trigger off is itself found.
    pg.psql(
        &db,
        "ALTER TABLE entries DISABLE TRIGGER entries_append_only",
    );
    let problems = store.schema_tampering().await.unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("entries_append_only is disabled")),
        "{problems:?}"
    );
    // And so is a privilege granted behind trailscope's back.
    pg.psql(&db, "GRANT UPDATE ON entries TO trailscope_app");
    let report = store.verify("acme", None).await.unwrap();
    assert!(!report.ok);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("granted UPDATE on entries")),
        "{report:?}"
    );
    store.close().await;
}

/// Issue 23, attack 2 on PostgreSQL: a superuser cuts the tail (triggers bypassed with
/// `session_replication_role`), deletes the checkpoints above the cut and fixes the chain head.
/// The restarted replica remembers checkpoint 40 in its state file, refuses to sign, and says
/// so on `/v1/checkpoint` (409 `integrity`), `/healthz` and `verify --key` (exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_tail_with_its_checkpoints_deleted_is_refused_by_the_restarted_server() {
    use crate::common::process::{Serve, serve_command};
    use serde_json::{Value, json};
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let db = pg::db_name(&url).to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("replica-a.state");
    let args = crate::serve_args(
        &url,
        dir.path(),
        &["--signer-state", state.to_str().unwrap()],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let http = reqwest::Client::new();
    let get = |port: u16, token: String, path: &'static str| {
        let http = http.clone();
        async move {
            let r = http
                .get(format!("http://127.0.0.1:{port}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (child, port) = serve_command(&args);
    let server = Serve(child);
    let writer = crate::token(&url, "writer");
    let auditor = crate::token(&url, "auditor");
    let batch: Vec<Value> = (0..40)
        .map(|i| json!({"action": "user.login", "description": format!("entry {i}")}))
        .collect();
    let r = http
        .post(format!("http://127.0.0.1:{port}/v1/events"))
        .bearer_auth(&writer)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (st, c) = get(port, auditor.clone(), "/v1/checkpoint").await;
    assert_eq!((st, c["size"].as_u64()), (200, Some(40)), "{c}");
    let vkey = c["verifier_key"].as_str().unwrap().to_string();
    drop(server);
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(kept["logs"]["acme"]["size"], 40);

    pg.psql(
        &db,
        "SET session_replication_role = replica; \
         DELETE FROM entries WHERE tenant = 'acme' AND seq > 35; \
         DELETE FROM tree_rows WHERE tenant = 'acme' AND leaf >= 35; \
         DELETE FROM checkpoints WHERE tenant = 'acme' AND size > 35; \
         UPDATE chain_heads SET seq = 35, hash = (SELECT hash FROM entries WHERE tenant = 'acme' AND seq = 35) \
           WHERE tenant = 'acme';",
    );

    let (child, port) = serve_command(&args);
    let _server = Serve(child);
    let (st, body) = get(port, auditor.clone(), "/v1/checkpoint").await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["error"]["code"], "integrity");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("entries were cut"), "{message}");
    assert!(message.contains("checkpoint 40"), "{message}");
    let health: Value = http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "integrity_alarm", "{health}");
    let (st, report) = get(port, auditor.clone(), "/v1/verify").await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["reason"], "missing_tail", "{report}");
    assert_eq!(report["first_bad_seq"], 36, "{report}");
    assert_eq!(report["first_bad_checkpoint"], 40, "{report}");
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
            .args(["verify", "--server", &format!("http://127.0.0.1:{port}")])
            .args(["--token", &auditor, "--key", &vkey])
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .output()
            .unwrap()
    });
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at seq 36"), "{err}");
    // The state file still says what was signed.
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(kept["logs"]["acme"]["size"], 40);
}
