//! PostgreSQL refuses to change history by itself: the application's role holds no UPDATE or
//! DELETE privilege, and the append-only triggers refuse even the schema's owner. The errors
//! are the database's own.

use crate::common::pg;
use trailscope::model::NewEvent;
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
