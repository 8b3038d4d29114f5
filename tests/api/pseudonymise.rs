//! GDPR pseudonymisation: the person's fields become one stable pseudonym, the chain still
//! verifies, edits are still caught, the request is idempotent, and no trace of the erased
//! values is left in the database file, its WAL or its search index.

use crate::common;
use common::TestServer;
use serde_json::{Value, json};

const EMAIL: &str = "zqxj.whitcombe@example.com";
const NAME: &str = "Zoltan Qwixley";
const IP: &str = "203.0.113.249";
const AGENT: &str = "Mozilla/5.0 (X11; ZQXJAgent)";

fn zoltan() -> Value {
    json!({"type": "user", "id": "u_9", "name": NAME, "email": EMAIL, "ip": IP, "user_agent": AGENT})
}

async fn seed(s: &TestServer) {
    let mut events = Vec::new();
    for i in 0..40 {
        let actor = if i % 2 == 0 {
            zoltan()
        } else {
            json!({"type": "user", "id": "u_1", "name": "Alice Smith", "email": "alice@example.com", "ip": "192.0.2.1"})
        };
        events.push(
            json!({"action": "ticket.updated", "description": format!("ticket {i} updated"),
                            "actor": actor, "target": {"type": "ticket", "id": format!("{i}")}}),
        );
    }
    assert_eq!(s.post(&s.writer, Value::Array(events)).await.0, 201);
}

async fn pseudonymise(s: &TestServer, token: &str, body: Value) -> (u16, Value) {
    let r = s
        .http
        .post(format!("{}/v1/pseudonymise", s.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn raw_bytes_contain(s: &TestServer, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for suffix in ["", "-wal", "-journal"] {
        let path = format!("{}{suffix}", s.db.display());
        if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            found.push(path);
        }
    }
    found
}

/// Trigrams of the erased values that nothing else in the seed contains, as the index lists them.
fn rare_trigrams(s: &TestServer) -> Vec<String> {
    let c = rusqlite::Connection::open(&s.db).unwrap();
    c.execute_batch("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, entries_fts, 'row')")
        .unwrap();
    c.prepare(
        "SELECT term FROM temp.vocab WHERE term IN ('zqx', 'qxj', 'qwi', 'wix', 'xle', 'zol')",
    )
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn by_email_replaces_every_personal_field_and_verify_still_passes() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (st, r) = pseudonymise(&s, &s.admin, json!({"email": EMAIL.to_uppercase()})).await;
    assert_eq!(st, 200, "{r}");
    let pseudonym = r["pseudonym"].as_str().unwrap().to_string();
    assert!(trailscope::model::is_pseudonym(&pseudonym), "{pseudonym}");
    assert_eq!(r["entries"], 20);

    let all = s.all("", 100).await;
    let mine: Vec<&Value> = all.iter().filter(|e| e["actor"]["id"] == "u_9").collect();
    assert_eq!(mine.len(), 20);
    for e in &mine {
        for f in ["name", "email", "ip", "user_agent"] {
            assert_eq!(e["actor"][f], pseudonym.as_str(), "{e}");
        }
        assert_eq!(e["action"], "ticket.updated", "the entries stay");
    }
    // Others are untouched.
    let alice = all.iter().find(|e| e["actor"]["id"] == "u_1").unwrap();
    assert_eq!(alice["actor"]["email"], "alice@example.com");

    // The request itself is on the record, without the identity it erased.
    let gdpr = all
        .iter()
        .find(|e| e["action"] == "gdpr.pseudonymised")
        .expect("a gdpr.pseudonymised entry");
    assert_eq!(gdpr["channel"], "compliance");
    assert_eq!(gdpr["details"]["entries"], 20);
    let text = gdpr.to_string().to_lowercase();
    for erased in [EMAIL, NAME, IP, AGENT, "zqxj"] {
        assert!(!text.contains(&erased.to_lowercase()), "{erased} in {gdpr}");
    }

    let (_, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(v["ok"], true, "{v}");

    // Searching for the old values finds nothing; searching for the pseudonym finds them all.
    assert!(s.all("q=Qwixley", 100).await.is_empty());
    assert!(s.all("q=zqxj", 100).await.is_empty());
    // The twenty, and the record of the request, which names the pseudonym.
    assert_eq!(s.all(&format!("q={pseudonym}"), 100).await.len(), 21);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_trace_of_the_erased_values_in_the_file_the_wal_or_the_index() {
    no_trace_left(true).await;
}

/// The same at once after the entries are written: on SQLite they most likely wait for the
/// trigram index still, and pseudonymising adds them to it first.
#[tokio::test(flavor = "multi_thread")]
async fn no_trace_of_the_erased_values_of_entries_not_yet_indexed() {
    no_trace_left(false).await;
}

async fn no_trace_left(indexed_first: bool) {
    let s = TestServer::start().await;
    if s.sqlite_only("reads the SQLite file, its WAL and its FTS index") {
        return;
    }
    seed(&s).await;
    // The search below would find them: before, they are on disk (in the file or its WAL).
    for present in [EMAIL, NAME, IP, AGENT] {
        assert!(!raw_bytes_contain(&s, present).is_empty(), "{present}");
    }
    if indexed_first {
        common::wait_until_indexed(&s.url, &s.auditor).await;
        assert_eq!(rare_trigrams(&s).len(), 6);
    }
    let (st, _) = pseudonymise(&s, &s.admin, json!({"email": EMAIL})).await;
    assert_eq!(st, 200);
    for erased in [EMAIL, NAME, IP, AGENT] {
        assert_eq!(
            raw_bytes_contain(&s, erased),
            Vec::<String>::new(),
            "`{erased}` is still in the raw bytes"
        );
    }
    // The trigram index keeps terms, not text: none of the erased values' trigrams that
    // appear nowhere else may be left in it.
    assert_eq!(rare_trigrams(&s), Vec::<String>::new());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotent_and_stable_by_actor_id() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (_, first) = pseudonymise(&s, &s.admin, json!({"actor_id": "u_9"})).await;
    let pseudonym = first["pseudonym"].as_str().unwrap().to_string();
    assert_eq!(first["entries"], 20);
    // Again: nothing left to do, nothing changed, no second record.
    let (st, again) = pseudonymise(&s, &s.admin, json!({"actor_id": "u_9"})).await;
    assert_eq!((st, again), (200, json!({"pseudonym": null, "entries": 0})));
    let (_, again) = pseudonymise(&s, &s.admin, json!({"email": EMAIL})).await;
    assert_eq!(again["entries"], 0);
    let records = s.all("action=gdpr.pseudonymised", 10).await;
    assert_eq!(records.len(), 1);

    // The person acts again; a second request gives the new entry the same pseudonym.
    assert_eq!(
        s.post(
            &s.writer,
            json!({"action": "user.login", "actor": zoltan()})
        )
        .await
        .0,
        201
    );
    let (_, second) = pseudonymise(&s, &s.admin, json!({"actor_id": "u_9"})).await;
    assert_eq!(second["pseudonym"], pseudonym.as_str());
    assert_eq!(second["entries"], 1);
    assert!(
        s.all("actor=u_9", 100)
            .await
            .iter()
            .all(|e| e["actor"]["email"] == pseudonym.as_str())
    );
    assert_eq!(s.get(&s.auditor, "/v1/verify").await.1["ok"], true);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_still_catches_edits_after_pseudonymisation() {
    let s = TestServer::start().await;
    if s.sqlite_only("edits the SQLite file with rusqlite") {
        return;
    }
    seed(&s).await;
    let (_, r) = pseudonymise(&s, &s.admin, json!({"actor_id": "u_9"})).await;
    assert_eq!(r["entries"], 20);
    let c = rusqlite::Connection::open(&s.db).unwrap();
    c.execute_batch("DROP TRIGGER entries_no_update").unwrap();
    // An edit of a field the chain holds in plain text.
    c.execute(
        "UPDATE entries SET description = 'edited' WHERE seq = 7",
        [],
    )
    .unwrap();
    assert_eq!(s.first_bad_seq().await, Some(7));
    c.execute(
        "UPDATE entries SET description = 'ticket 6 updated' WHERE seq = 7",
        [],
    )
    .unwrap();
    // The chain is whole again; what verify still reports is the dropped trigger.
    let (_, v) = s.get(&s.auditor, "/v1/verify").await;
    assert_eq!(v["reason"], "schema_changed", "{v}");
    assert!(v["first_bad_seq"].is_null(), "{v}");
    // A pseudonymised field no longer has a salt, but it must still hold a pseudonym: putting
    // a name back (or someone else's) is caught.
    c.execute(
        "UPDATE entries SET actor_name = 'Somebody Else' WHERE seq = 3",
        [],
    )
    .unwrap();
    assert_eq!(s.first_bad_seq().await, Some(3));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_and_bad_bodies_get_clear_errors() {
    let s = TestServer::start().await;
    seed(&s).await;
    for token in [&s.auditor, &s.writer] {
        let (st, e) = pseudonymise(&s, token, json!({"actor_id": "u_9"})).await;
        assert_eq!(st, 403, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("admin"));
    }
    for body in [
        json!({}),
        json!({"actor_id": "u_9", "email": EMAIL}),
        json!({"name": NAME}),
        json!({"actor_id": 9}),
        json!({"actor_id": "  "}),
    ] {
        let (st, e) = pseudonymise(&s, &s.admin, body.clone()).await;
        assert_eq!(st, 400, "{body} → {e}");
        assert!(e["error"]["message"].as_str().unwrap().len() > 20, "{e}");
    }
    // Nobody by that id: a clear empty answer, and nothing recorded.
    let (st, r) = pseudonymise(&s, &s.admin, json!({"actor_id": "u_404"})).await;
    assert_eq!((st, r), (200, json!({"pseudonym": null, "entries": 0})));
    // Producers cannot forge the pseudonym form.
    let (st, e) = s
        .post(&s.writer, json!({"action": "user.login", "actor": {"type": "user", "name": "pseudonym-0badf00d"}}))
        .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["error"]["field"], "actor.name");
    assert_eq!(s.all("action=gdpr.pseudonymised", 10).await.len(), 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_pseudonymises_through_the_server() {
    let s = TestServer::start().await;
    seed(&s).await;
    let run = |args: &[&str], token: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
            .arg("pseudonymise")
            .args(args)
            .args(["--server", &s.url, "--token", token])
            .env("XDG_CONFIG_HOME", s.dir.path())
            .output()
            .unwrap()
    };
    let out = tokio::task::block_in_place(|| run(&["--email", EMAIL], &s.admin));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("20 entries now show pseudonym-"),
        "{stdout}"
    );
    let out = tokio::task::block_in_place(|| run(&["--email", EMAIL], &s.admin));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing was changed"));
    let out = tokio::task::block_in_place(|| run(&["--actor-id", "u_1"], &s.auditor));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("admin"), "{err}");
    let out = tokio::task::block_in_place(|| run(&[], &s.admin));
    assert_eq!(
        out.status.code(),
        Some(2),
        "neither --email nor --actor-id is a usage error"
    );
    s.stop().await;
}
