//! The offline cache (issue 5): it answers the server's queries the same way for the same data,
//! is private to its owner, keeps to its cap by evicting the oldest, and leaves the
//! append-only guarantees of the server's own store as they were.

use crate::common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::TestServer;
use common::strategies::{QueryFields, kinds, outcomes, rare_terms};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use trailscope::client::Client;
use trailscope::client::cache::Cache;
use trailscope::client::source::Source;
use trailscope::model::{
    Actor, ActorType, Entry, FacetField, Kind, Outcome, Query, Target, TimeBound,
};
use trailscope::store::sqlite::{Durability, LocalStore};

const ACTIONS: [&str; 6] = [
    "user.login",
    "user.logout",
    "ticket.created",
    "ticket.updated",
    "role.granted",
    "export.downloaded",
];
const CHANNELS: [&str; 3] = ["auth", "admin", "api"];
const WORDS: [&str; 5] = ["printer", "firewall", "invoice", "Zürich", "ab"];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

/// A varied, deterministic trail: every filter has something to find and something to miss.
fn events(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            let at = base() + Duration::minutes((i as i64 * 37) % (10 * 24 * 60));
            let mut e = json!({
                "occurred_at": trailscope::model::format_ts(&at),
                "action": ACTIONS[i % ACTIONS.len()],
                "channel": CHANNELS[i % CHANNELS.len()],
                "outcome": if i % 5 == 0 { "failure" } else { "success" },
                "description": format!("{} number {i}", WORDS[i % WORDS.len()]),
                "actor": {"type": "user", "id": format!("u_{}", i % 7), "email": format!("User{}@Example.com", i % 7)},
            });
            if i % 3 != 0 {
                e["target"] = json!({"type": if i % 2 == 0 { "ticket" } else { "device" }, "id": format!("{}", i % 11)});
            }
            e
        })
        .collect()
}

fn query() -> impl Strategy<Value = Query> {
    // Mostly no term for a field, so the combinations still find something.
    let actions: Vec<String> = ACTIONS
        .iter()
        .map(|s| s.to_string())
        .chain(["user.*".into(), "ticket*".into(), "nothing.here".into()])
        .collect();
    let actors: Vec<String> = (0..8)
        .map(|i| format!("u_{i}"))
        .chain(["user3@example.com".into(), "USER4@EXAMPLE.COM".into()])
        .collect();
    let targets: Vec<String> = (0..12)
        .map(|i| format!("ticket/{i}"))
        .chain(["device/3".into()])
        .collect();
    let bound = prop::option::weighted(
        0.3,
        (0i64..12 * 24 * 60)
            .prop_map(|m| TimeBound::Instant(base() + Duration::minutes(m) - Duration::days(1))),
    )
    .boxed();
    QueryFields {
        actions: rare_terms(actions),
        actors: rare_terms(actors),
        targets: rare_terms(targets),
        target_types: rare_terms(vec!["ticket".into(), "device".into(), "user".into()]),
        channels: rare_terms(CHANNELS.iter().map(|s| s.to_string()).collect()),
        kinds: prop_oneof![3 => Just(Vec::new()), 1 => kinds(1..3)].boxed(),
        outcomes: outcomes(),
        text: rare_terms(
            WORDS
                .iter()
                .map(|s| s.to_string())
                .chain(["NUMBER 1".into(), "zzz".into()])
                .collect(),
        ),
        from: bound.clone(),
        to: bound,
        ..QueryFields::default()
    }
    .query()
}

/// Every entry under `q`, walking every page of `src` (pages of 37 so cursors are exercised).
async fn all(src: &Source, q: &Query) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = src.events(q, cursor.as_deref(), 37).await.unwrap();
        out.extend(page.entries);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn the_cache_answers_every_query_as_the_server_does() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (server, online, offline) = rt.block_on(async {
        let server = TestServer::start().await;
        let (status, body) = server.post(&server.writer, json!(events(600))).await;
        assert_eq!(status, 201, "{body}");
        let client = Client::new(&server.url, &server.auditor).unwrap();
        // The data reaches the cache the way the TUI's does: write-through of fetched pages.
        let cache = Cache::open(dir.path().join("c.db"), 1 << 30).unwrap();
        let online = Source::remote(client, Some(cache.clone()));
        let fetched = all(&online, &Query::default()).await;
        assert_eq!(fetched.len(), 600);
        cache.flushed().await;
        assert_eq!(cache.store().count().unwrap(), 600);
        (server, online, Source::offline(cache))
    });
    let mut runner = TestRunner::new(Config {
        cases: 150,
        ..Config::default()
    });
    let matched = std::cell::Cell::new(0usize);
    runner
        .run(&query(), |q| {
            rt.block_on(async {
                let (a, b) = (all(&online, &q).await, all(&offline, &q).await);
                prop_assert_eq!(a.len(), b.len(), "{}", q);
                prop_assert!(a == b, "different entries for {}", q);
                matched.set(matched.get() + usize::from(!a.is_empty()));
                let (sa, sb) = (
                    online.stats(&q, 24).await.unwrap(),
                    offline.stats(&q, 24).await.unwrap(),
                );
                prop_assert_eq!(sa.total, sb.total, "{}", q);
                prop_assert_eq!(sa.buckets, sb.buckets, "{}", q);
                for field in FacetField::ALL {
                    let (fa, fb) = (
                        online.facets(field, &q, 200).await.unwrap(),
                        offline.facets(field, &q, 200).await.unwrap(),
                    );
                    prop_assert_eq!(fa, fb, "{:?} under {}", field, q);
                }
                Ok(())
            })
        })
        .unwrap();
    assert!(
        matched.get() > 10,
        "the queries found too little to compare: {}",
        matched.get()
    );
    rt.block_on(server.stop());
}

fn entry(i: u64, at: DateTime<Utc>) -> Entry {
    Entry {
        id: format!("01LOCAL{i:019}"),
        seq: i,
        tenant: "acme".into(),
        occurred_at: at,
        received_at: at,
        action: "ticket.updated".into(),
        kind: Kind::Updated,
        channel: "admin".into(),
        outcome: Outcome::Success,
        description: Some(format!(
            "{} {i}",
            "a fairly long description to take some room ".repeat(4)
        )),
        actor: Actor {
            kind: ActorType::User,
            id: Some(format!("u_{}", i % 9)),
            name: Some("Alice".into()),
            email: None,
            ip: None,
            user_agent: None,
        },
        target: Some(Target {
            kind: "ticket".into(),
            id: i.to_string(),
            name: None,
        }),
        details: Some(json!({"i": i, "padding": "x".repeat(200)}).into()),
        idempotency_key: None,
        prev_hash: "0".repeat(64),
        hash: format!("{i:064}"),
    }
}

#[cfg(unix)]
#[test]
fn the_cache_file_and_its_wal_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("prod.db");
    let cache = Cache::open(&path, 1 << 30).unwrap();
    cache.store().insert(&[entry(1, base())]).unwrap();
    for p in [path.clone(), path.with_extension("db-wal")] {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", p.display());
    }
    // An existing file left with a lax mode is tightened when the cache opens it.
    drop(cache);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _again = Cache::open(&path, 1 << 30).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn the_cache_evicts_its_oldest_entries_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let cap = 1024 * 1024;
    let cache = Cache::open(dir.path().join("small.db"), cap).unwrap();
    // Written through the background thread, in many batches, as the TUI writes.
    let n = 6000u64;
    for chunk in (1..=n).collect::<Vec<_>>().chunks(200) {
        cache.write(
            chunk
                .iter()
                .map(|&i| entry(i, base() + Duration::seconds(i as i64)))
                .collect(),
        );
    }
    let store = cache.store().clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // The newest entry arrives; eviction then keeps the live pages under the cap.
    loop {
        let newest = store
            .store()
            .get("acme", &format!("01LOCAL{n:019}"))
            .unwrap();
        if newest.is_some() && store.used_bytes().unwrap() <= cap {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no eviction: {} bytes",
            store.used_bytes().unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kept = store.count().unwrap();
    assert!(kept > 0 && kept < n, "kept {kept} of {n}");
    // What went is the oldest: everything kept is newer than everything evicted.
    let oldest_kept = (1..=n)
        .find(|i| {
            store
                .store()
                .get("acme", &format!("01LOCAL{i:019}"))
                .unwrap()
                .is_some()
        })
        .unwrap();
    assert_eq!(
        n - oldest_kept + 1,
        kept,
        "the kept entries are the newest {kept}"
    );
    // Search counts only what is kept.
    let q: Query = "fairly".parse().unwrap();
    let stats = store.store().stats("acme", &q, 1, Utc::now()).unwrap();
    assert_eq!(stats.total, kept);
}

#[test]
fn eviction_leaves_the_append_only_triggers_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let local = LocalStore::open(&path, Durability::Cache).unwrap();
    local
        .insert(
            &(1..=50)
                .map(|i| entry(i, base() + Duration::seconds(i as i64)))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let half = local.used_bytes().unwrap() * 7 / 10;
    assert!(local.evict_to(half).unwrap() > 0);
    assert!(local.count().unwrap() > 0, "some are kept");
    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        "DELETE FROM entries",
        "UPDATE entries SET description = 'x'",
    ] {
        let e = conn.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    let permits: i64 = conn
        .query_row("SELECT count(*) FROM maintenance", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        permits, 0,
        "the eviction permit never outlives its transaction"
    );
}

#[test]
fn inserting_the_same_entries_again_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalStore::open(dir.path().join("c.db"), Durability::Cache).unwrap();
    let batch: Vec<Entry> = (1..=20).map(|i| entry(i, base())).collect();
    assert_eq!(local.insert(&batch).unwrap(), 20);
    assert_eq!(local.insert(&batch).unwrap(), 0);
    assert_eq!(local.count().unwrap(), 20);
    assert_eq!(local.tenant().unwrap().as_deref(), Some("acme"));
}

#[test]
fn the_example_config_documents_the_cache_keys_with_their_defaults() {
    const EXAMPLE: &str = include_str!("../../config.example.toml");
    let c: trailscope::config::ConfigFile = toml::from_str(EXAMPLE).unwrap();
    let defaults = trailscope::client::cache::CacheConfig::default();
    assert_eq!(c.cache.max_size_mb, defaults.max_size_mb);
    assert_eq!(c.cache.max_bytes(), 1 << 30, "1 GiB");
    assert_eq!(c.cache.dir, None);
    let with_dir = EXAMPLE.replace("# dir = ", "dir = ");
    let c: trailscope::config::ConfigFile = toml::from_str(&with_dir).unwrap();
    assert!(c.cache.dir.is_some());
    assert!(
        toml::from_str::<trailscope::config::ConfigFile>("[cache]\nmax_size = 3\n").is_err(),
        "typos are refused"
    );
    assert_eq!(
        trailscope::client::cache::file_key("https://audit.example.com:8443/"),
        "audit.example.com_8443"
    );
    assert_eq!(
        trailscope::client::cache::file_key("../../etc/passwd"),
        "_.._.._etc_passwd"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_pseudonymised_on_the_server_is_pseudonymised_in_the_cache_too() {
    let server = TestServer::start().await;
    let (status, body) = server.post(&server.writer, json!(events(40))).await;
    assert_eq!(status, 201, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("c.db"), 1 << 30).unwrap();
    let client = Client::new(&server.url, &server.auditor).unwrap();
    let online = Source::remote(client, Some(cache.clone()));
    let q: Query = "actor:u_3".parse().unwrap();
    let wait_for = |pred: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !pred() {
            assert!(
                std::time::Instant::now() < deadline,
                "the write-through never caught up"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let before = all(&online, &q).await;
    assert!(!before.is_empty());
    wait_for(&|| cache.store().count().unwrap() as usize >= before.len());
    let offline = Source::offline(cache.clone());
    let q_email: Query = "user3@example.com".parse().unwrap();
    assert!(
        !all(&offline, &q_email).await.is_empty(),
        "searchable in the cache before"
    );
    let resp = server
        .http
        .post(format!("{}/v1/pseudonymise", server.url))
        .bearer_auth(&server.admin)
        .json(&json!({"actor_id": "u_3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // Reading the same entries again brings the pseudonymised form into the cache.
    let after = all(&online, &q).await;
    assert!(after.iter().all(|e| e.actor.is_pseudonymised()));
    let found = |text: &'static str| {
        let offline = offline.clone();
        async move { all(&offline, &text.parse().unwrap()).await.len() }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while found("user3@example.com").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old email is still in the cache"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let cached = all(&offline, &q).await;
    assert_eq!(cached, after, "the cache holds what the server now returns");
    server.stop().await;
}
