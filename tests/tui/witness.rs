//! The TUI as a witness: the header's `✓ verified` and red `⚠ HISTORY CHANGED` banner
//! (TestBackend snapshots at 80×24 and 200×50), the check itself against `trailscope serve`
//! processes whose database is swapped for another history signed with the same key, and the
//! whole binary in tmux catching that swap.

use crate::common;
use crate::fixtures as tui_fixtures;

use common::process::{ServedLog as Log, copy_db};
use common::tmux::Tmux;
use ratatui::style::Modifier;
use trailscope::client::Client;
use trailscope::client::cache::Cache;
use trailscope::client::source::Source;
use trailscope::model::Query;
use trailscope::store::Role;
use trailscope::tui::Action;
use trailscope::tui::witness::{HistoryChanged, Witnessed};
use tui_fixtures::*;

fn changed() -> Witnessed {
    Witnessed::Changed(HistoryChanged {
        what: "the history was rewritten (fork)".into(),
        seen_size: 1200,
        seen_root: "q2Nh4F0oVbJzLr1y3m1c9o1Bv4m3kq2yVd0rZ5wz8oA=".into(),
        now_size: 1350,
        now_root: "Zm9yZ2VkIGhpc3RvcnkgZm9yZ2VkIGhpc3RvcnkgIQ==".into(),
    })
}

#[test]
fn verified_header_80x24() {
    let mut a = app(80, 24);
    a.conn.witness = Witnessed::Verified { size: 1350 };
    let s = screen(&a, 80, 24);
    assert!(s.lines().next().unwrap().contains("✓ verified"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn verified_header_200x50() {
    let mut a = app(200, 50);
    a.conn.witness = Witnessed::Verified { size: 1350 };
    insta::assert_snapshot!(screen(&a, 200, 50));
}

#[test]
fn history_changed_banner_80x24() {
    let mut a = app(80, 24);
    a.update(Action::Witness(changed()));
    let s = screen(&a, 80, 24);
    // The banner is cut at 80 columns; the footer repeats the gist.
    assert!(
        s.contains("⚠ the history was rewritten (fork): saw 1200 entries, server now 1350"),
        "{s}"
    );
    let first = s.lines().next().unwrap();
    assert!(first.contains(" ⚠ HISTORY CHANGED the history"), "{s}");
    assert!(!s.contains("✓ verified"));
    insta::assert_snapshot!(s);
}

#[test]
fn history_changed_banner_200x50_says_what_it_found() {
    let mut a = app(200, 50);
    a.conn.witness = changed();
    let s = screen(&a, 200, 50);
    let first = s.lines().next().unwrap();
    for needle in [
        "HISTORY CHANGED",
        "the history was rewritten (fork)",
        "this cache saw 1200 entries (root q2Nh4F0oVbJz…)",
        "the server now shows 1350 (root Zm9yZ2VkIGhp…)",
        "cached entries are kept",
    ] {
        assert!(first.contains(needle), "`{needle}` missing: {first}");
    }
    insta::assert_snapshot!(s);
    // Red (the theme's error colour) and reversed, across the whole width.
    let term = draw(&a, 200, 50);
    let buf = term.backend().buffer();
    for x in [0u16, 100, 199] {
        let cell = &buf[(x, 0)];
        assert_eq!(cell.fg, a.chrome.theme.error().fg.unwrap(), "column {x}");
        assert!(cell.modifier.contains(Modifier::REVERSED), "column {x}");
    }
}

#[test]
fn no_verdict_says_nothing() {
    for w in [
        Witnessed::Unknown,
        Witnessed::Unavailable("the server answered 500".into()),
    ] {
        let mut a = app(120, 32);
        a.conn.witness = w;
        let s = screen(&a, 120, 32);
        assert!(!s.contains("verified") && !s.contains("HISTORY"), "{s}");
    }
}

impl Log {
    /// Makes this log another history of `n` entries, signed with the same key.
    async fn swap_for_another_history(&self, n: usize) {
        let other = Log::new();
        std::fs::copy(
            format!("{}.key", self.db().display()),
            format!("{}.key", other.db().display()),
        )
        .unwrap();
        {
            let _server = other.serve();
            other.post(n, "forged").await;
        }
        copy_db(&other.db(), &self.db());
        // With its state file too: else the server itself refuses to sign the other history.
        self.forget_what_was_signed();
    }
}

async fn descriptions(src: &Source) -> Vec<String> {
    src.events(&Query::default(), None, 100)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.description.unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_catches_a_swapped_history_and_keeps_its_copies_as_evidence() {
    let log = Log::new();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path().join("c.db"), 1 << 30).unwrap();
    let auditor;
    {
        let _server = log.serve();
        log.post(5, "real").await;
        auditor = log.token(Role::Auditor);
        let client = Client::new(&log.url(), &auditor).unwrap();
        let online = Source::remote(client.clone(), Some(cache.clone()));
        assert_eq!(descriptions(&online).await.len(), 5);
        let check = trailscope::tui::witness::check(&client, &cache).await;
        assert_eq!(check, Witnessed::Verified { size: 5 });
        log.post(2, "real more").await;
        let check = trailscope::tui::witness::check(&client, &cache).await;
        assert_eq!(check, Witnessed::Verified { size: 7 });
        assert_eq!(descriptions(&online).await.len(), 7);
    }
    cache.flushed().await;
    assert_eq!(cache.store().count().unwrap(), 7);
    let kept = descriptions(&Source::offline(cache.clone())).await;

    log.swap_for_another_history(9).await;
    let _server = log.serve();
    let token = log.token(Role::Auditor);
    let client = Client::new(&log.url(), &token).unwrap();
    let check = trailscope::tui::witness::check(&client, &cache).await;
    let Witnessed::Changed(c) = &check else {
        panic!("not caught: {check:?}")
    };
    assert_eq!((c.seen_size, c.now_size), (7, 9));
    assert_eq!(c.what, "the history was rewritten (fork)");
    assert!(cache.is_frozen());
    // Reading the forged history writes nothing into the cache: its copies stay as they were.
    let online = Source::remote(client.clone(), Some(cache.clone()));
    let forged = descriptions(&online).await;
    assert!(forged.iter().all(|d| d.starts_with("forged")), "{forged:?}");
    cache.flushed().await;
    assert_eq!(descriptions(&Source::offline(cache.clone())).await, kept);
    // The next connect (a new cache handle, as a new TUI session) still says so.
    drop(cache);
    let cache = Cache::open(cache_dir.path().join("c.db"), 1 << 30).unwrap();
    let again = trailscope::tui::witness::check(&client, &cache).await;
    assert!(matches!(again, Witnessed::Changed(_)), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_says_verified_then_catches_a_swapped_database_in_tmux() {
    let log = Log::new();
    let home = tempfile::tempdir().unwrap();
    let auditor;
    {
        let _server = log.serve();
        log.post(6, "real").await;
        auditor = log.token(Role::Auditor);
        let tmux = tokio::task::block_in_place(|| {
            let t = Tmux::start(
                home.path(),
                &format!("--server {} --token {auditor}", log.url()),
                "",
            );
            t.wait(30, "the verified header", |s| {
                s.contains("✓ verified") && s.contains("real 5")
            });
            t.keys(&["q"]);
            t.wait(10, "exit status 0", |s| s.contains("EXIT=0"));
            t
        });
        drop(tmux);
    }
    log.swap_for_another_history(8).await;
    let _server = log.serve();
    let token = log.token(Role::Auditor);
    tokio::task::block_in_place(|| {
        let t = Tmux::start(
            home.path(),
            &format!("--server {} --token {token}", log.url()),
            "",
        );
        let s = t.wait(30, "the HISTORY CHANGED banner", |s| {
            s.contains("HISTORY CHANGED")
        });
        assert!(s.contains("this cache saw 6 entries"), "{s}");
        assert!(!s.contains("✓ verified"), "{s}");
        t.keys(&["q"]);
        t.wait(10, "exit status 0", |s| s.contains("EXIT=0"));
    });
}

/// The server's own integrity alarm (issue 23): an older copy of the database restored over a
/// log whose signer remembers a newer checkpoint. A TUI that never saw this server before shows
/// the alarm in its header, because the server says it, not because its cache remembers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_shows_the_servers_integrity_alarm_in_tmux() {
    let log = Log::new();
    let home = tempfile::tempdir().unwrap();
    let backup = log.dir.path().join("backup.db");
    {
        let _server = log.serve();
        log.post(3, "early").await;
    }
    copy_db(&log.db(), &backup);
    {
        let _server = log.serve();
        log.post(3, "late").await;
        let client = Client::new(&log.url(), &log.token(Role::Auditor)).unwrap();
        assert_eq!(client.checkpoint().await.unwrap().size, 6);
    }
    // The state file beside the key still remembers checkpoint 6.
    copy_db(&backup, &log.db());
    let _server = log.serve();
    let token = log.token(Role::Auditor);
    let client = Client::new(&log.url(), &token).unwrap();
    match client.checkpoint().await {
        Err(trailscope::client::ClientError::Integrity(why)) => {
            assert!(why.contains("entries were cut"), "{why}")
        }
        other => panic!("no integrity alarm: {other:?}"),
    }
    tokio::task::block_in_place(|| {
        let t = Tmux::start(
            home.path(),
            &format!("--server {} --token {token}", log.url()),
            "",
        );
        let s = t.wait(30, "the alarm in the header", |s| {
            s.contains("HISTORY CHANGED")
        });
        assert!(s.contains("integrity alarm"), "{s}");
        assert!(!s.contains("✓ verified"), "{s}");
        t.keys(&["q"]);
        t.wait(10, "exit status 0", |s| s.contains("EXIT=0"));
    });
}
