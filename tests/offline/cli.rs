//! `trailscope cache pull|info|clear` through the real binary against a real server: a pull
//! fills the profile's cache, an interrupted pull resumes where it stopped, info reports it,
//! clear deletes it.

use crate::common;

use common::TestServer;
use serde_json::json;
use std::path::Path;
use trailscope::client::Client;
use trailscope::model::Query;
use trailscope::store::sqlite::{Durability, LocalStore};

async fn run(args: &[&str], home: &Path) -> (i32, String, String) {
    let (args, home): (Vec<String>, _) = (
        args.iter().map(|s| s.to_string()).collect(),
        home.to_path_buf(),
    );
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
            .args(&args)
            .env("TRAILSCOPE_CONFIG", home.join("config.toml"))
            .env("XDG_STATE_HOME", &home)
            .env_remove("TRAILSCOPE_SERVER")
            .env_remove("TRAILSCOPE_TOKEN")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_fills_the_cache_resumes_after_an_interruption_and_info_and_clear_manage_it() {
    let server = TestServer::start().await;
    let now = chrono::Utc::now();
    for b in 0..3 {
        let batch: Vec<_> = (0..1000)
            .map(|i| {
                let at = now - chrono::Duration::minutes(b * 1000 + i);
                json!({"occurred_at": trailscope::model::format_ts(&at), "action": "ticket.updated", "channel": if i % 2 == 0 { "admin" } else { "auth" }})
            })
            .collect();
        let (status, body) = server.post(&server.writer, json!(batch)).await;
        assert_eq!(status, 201, "{body}");
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let cache_dir = home.join("cache");
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[profiles.prod]\nserver = \"{}\"\ntoken = \"{}\"\n\n[cache]\ndir = \"{}\"\n",
            server.url,
            server.auditor,
            cache_dir.display()
        ),
    )
    .unwrap();

    let (code, out, err) = run(
        &[
            "cache",
            "pull",
            "--profile",
            "prod",
            "--filter",
            "channel:auth since:30d",
        ],
        home,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("pulled 1,500 entries matching `channel:auth since:30d` (1,500 new)"),
        "{out}"
    );
    let db = cache_dir.join("prod.db");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // An interrupted pull: its first page committed and its place saved, as a pull killed after
    // one page leaves them. Run again, it goes on from there.
    let q: Query = "since:30d".parse().unwrap();
    let client = Client::new(&server.url, &server.auditor).unwrap();
    let first = client.events(&q, None, 1000).await.unwrap();
    {
        let store = LocalStore::open(&db, Durability::Cache).unwrap();
        store.insert(&first.entries).unwrap();
        let place =
            json!({"filter": "since:30d", "cursor": first.next_cursor.unwrap(), "done": 1000});
        store.set_meta("pull", Some(&place.to_string())).unwrap();
    }
    let (_, out, _) = run(&["cache", "info"], home).await;
    assert!(out.contains("an interrupted pull can be resumed"), "{out}");
    let (code, out, err) = run(
        &[
            "cache",
            "pull",
            "--profile",
            "prod",
            "--filter",
            "since:30d",
        ],
        home,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("resuming the pull of `since:30d` after 1,000 entries"),
        "{err}"
    );
    // 3,000 in all; of the last 2,000 read, the auth half was already there from the first pull.
    assert!(
        out.contains("pulled 3,000 entries matching `since:30d` (1,000 new)"),
        "{out}"
    );
    assert_eq!(
        LocalStore::open(&db, Durability::Cache)
            .unwrap()
            .count()
            .unwrap(),
        3000
    );

    let (code, out, _) = run(&["cache", "info"], home).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("prod") && out.contains("3,000 entries") && !out.contains("synced never"),
        "{out}"
    );
    assert!(out.contains("cap 1024 MiB"), "{out}");

    let (code, _, err) = run(&["cache", "clear", "--profile", "staging"], home).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("there is no cache for `staging`"), "{err}");
    let (code, out, _) = run(&["cache", "clear", "--profile", "prod"], home).await;
    assert_eq!(code, 0);
    assert!(out.contains("deleted 1 cache"), "{out}");
    assert!(!db.exists());

    // A server that cannot be reached: one sentence that says how to go on.
    server.stop().await;
    let (code, _, err) = run(&["cache", "pull", "--profile", "prod"], home).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot reach") && err.contains("resume") && err.lines().count() == 1,
        "{err}"
    );
}
