//! End to end (issue 5): the real binary in tmux against a real server process on a loopback
//! port; the server is killed mid-session and the TUI goes on from its cache, then the server
//! comes back on the same port and the TUI reconnects without losing the user's place. And
//! `trailscope open` on a file with a corrupt line.

use crate::common;

use common::process::serve_process_unaudited;
use common::tmux::Tmux;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use trailscope::store::Role;
use trailscope::store::sqlite::TokenAdmin;

const BIN: &str = env!("CARGO_BIN_EXE_trailscope");

/// `trailscope serve` as its own process, so it can be killed like a crashed server.
struct Server(Child);

impl Server {
    /// On `port` (0: one the system picks); returns the port it bound.
    fn start(db: &Path, port: u16) -> (Server, u16) {
        // The counts below are of what the test wrote: the TUI's own searches stay out of the log.
        let (child, port) = serve_process_unaudited(db, port);
        (Server(child), port)
    }
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn the_tui_goes_offline_on_its_cache_and_reconnects_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let admin = TokenAdmin::open(&db).unwrap();
    let writer = admin.create(Role::Writer, "acme", None).unwrap().1;
    let auditor = admin.create(Role::Auditor, "acme", None).unwrap().1;
    drop(admin);
    let (mut server, port) = Server::start(&db, 0);
    let url = format!("http://127.0.0.1:{port}");
    let now = chrono::Utc::now();
    let events: Vec<_> = (0..300i64)
        .map(|i| {
            let at = now - chrono::Duration::minutes(300 - i);
            let (action, desc) = match i {
                100 => ("printer.jammed".to_string(), "printer on fire in room 4".to_string()),
                299 => ("deploy.finished".to_string(), "the newest entry".to_string()),
                _ => (format!("ticket.updated_{}", i % 7), format!("routine change {i}")),
            };
            json!({"occurred_at": trailscope::model::format_ts(&at), "action": action, "description": desc,
                "actor": {"type": "user", "id": format!("u_{}", i % 5), "name": format!("User {}", i % 5)}})
        })
        .collect();
    let mut ingest = Command::new(BIN)
        .args(["ingest", "--server", &url, "--token", &writer])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = ingest.stdin.take().unwrap();
        for e in &events {
            writeln!(stdin, "{e}").unwrap();
        }
    }
    assert!(ingest.wait().unwrap().success());

    let tmux = Tmux::start(dir.path(), &format!("--server {url} --token {auditor}"), "");
    tmux.wait(20, "the newest entries", |s| {
        s.contains("deploy.finished") && s.contains("300 entries") && s.contains("connected")
    });
    // Browse to the end, so every page has been fetched (and written through to the cache).
    // `G` twice loads to the real end.
    tmux.keys(&["G", "G"]);
    tmux.wait(20, "the oldest entry", |s| s.contains("routine change 0 "));
    tmux.keys(&["g"]);
    tmux.wait(10, "the top again", |s| s.contains("deploy.finished"));
    // The cache is private to its owner and holds what was read.
    let cache = dir
        .path()
        .join("cache")
        .join("trailscope")
        .join(format!("127.0.0.1_{port}.db"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: i64 = rusqlite::Connection::open(&cache)
            .and_then(|c| c.query_row("SELECT count(*) FROM entries", [], |r| r.get(0)))
            .unwrap_or(0);
        if n == 300 {
            break;
        }
        assert!(Instant::now() < deadline, "the cache holds {n} entries");
        std::thread::sleep(Duration::from_millis(100));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // The server dies. The next request (a refresh) finds it gone: the TUI says so and reads the cache.
    server.kill();
    tmux.keys(&["r"]);
    // The header changes as soon as the request fails; the rows follow from the cache.
    // It says since when the server has not answered, and that the cache answers.
    tmux.wait(20, "the offline header and the cached rows", |s| {
        s.contains("OFFLINE since ")
            && s.contains(", cached")
            && s.contains("300 entries")
            && s.contains("deploy.finished")
    });
    // Filters and details still work, on the cache.
    tmux.keys(&["/", "printer", "Enter"]);
    tmux.wait(20, "the search on the cache, and its count", |s| {
        s.contains("printer.jammed")
            && !s.contains("deploy.finished")
            && s.contains("1 entry ")
            && s.contains("OFFLINE")
    });
    tmux.keys(&["Enter"]);
    tmux.wait(20, "the JSON details from the cache", |s| {
        s.contains("\"action\": \"printer.jammed\"") && s.contains("\"description\"")
    });

    // The server comes back on the same port: the TUI notices by itself and keeps its place.
    let (_server, _) = Server::start(&db, port);
    let s = tmux.wait(30, "the reconnection", |s| {
        s.contains("connected") && !s.contains("OFFLINE")
    });
    assert!(s.contains("back online"), "{s}");
    assert!(
        s.contains("\"action\": \"printer.jammed\""),
        "the detail pane stays open:\n{s}"
    );
    // And the server answers again: clearing the filter shows its full log.
    // Escape and `c` one at a time: sent together they can arrive as one read, which the
    // terminal reads as Alt+c.
    tmux.keys(&["Escape"]);
    tmux.wait(20, "the detail pane closed", |s| !s.contains("· JSON"));
    tmux.keys(&["c"]);
    tmux.wait(20, "the server's rows", |s| {
        s.contains("deploy.finished") && s.contains("connected")
    });
    tmux.keys(&["q"]);
    tmux.wait(10, "exit status 0", |s| s.contains("EXIT=0"));
    drop(tmux);

    // A server that is down at start: the TUI opens on the cache.
    drop(_server);
    let tmux = Tmux::start(dir.path(), &format!("--server {url} --token {auditor}"), "");
    tmux.wait(20, "offline at start", |s| {
        s.contains("OFFLINE since ")
            && s.contains(", cached")
            && s.contains("300 entries")
            && s.contains("deploy.finished")
    });
    tmux.keys(&["q"]);
    tmux.wait(10, "exit status 0", |s| s.contains("EXIT=0"));
    drop(tmux);
    // --offline needs no token and never asks the server.
    let tmux = Tmux::start(dir.path(), &format!("--server {url} --offline"), "");
    tmux.wait(20, "--offline", |s| {
        s.contains("OFFLINE — cached, synced")
            && s.contains("300 entries")
            && s.contains("deploy.finished")
    });
    tmux.keys(&["q"]);
    tmux.wait(10, "exit status 0", |s| s.contains("EXIT=0"));
}

#[test]
fn open_shows_the_rows_before_a_corrupt_line_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let at = chrono::Utc::now();
    let mut lines = Vec::new();
    for i in 1..=40u64 {
        let e = json!({"id": format!("01FILE{i:020}"), "seq": i, "tenant": "acme",
            "occurred_at": trailscope::model::format_ts(&(at - chrono::Duration::minutes(100 - i as i64))),
            "received_at": trailscope::model::format_ts(&at), "action": if i == 7 { "vault.opened" } else { "ticket.updated" },
            "kind": "updated", "channel": "admin", "outcome": "success", "description": format!("line {i}\u{1b}[31m red"),
            "actor": {"type": "user", "id": "u_1", "name": "Alice"}, "prev_hash": "0", "hash": format!("{i:064}")});
        lines.push(e.to_string());
    }
    lines[29] = "{\"id\": \"broken".into();
    let file = dir.path().join("trail.ndjson");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let tmux = Tmux::start(dir.path(), &format!("open {}", file.display()), "");
    let s = tmux.wait(20, "the file header and its warning", |s| {
        s.contains("file trail.ndjson") && s.contains("29 entries") && s.contains("line 30")
    });
    assert!(
        s.contains("trail.ndjson is malformed at line 30 (byte "),
        "{s}"
    );
    // The escape sequence in a description is shown, not obeyed.
    assert!(s.contains("\\x1b[31m"), "{s}");
    tmux.keys(&[":", "action:vault.opened", "Enter"]);
    // The count can come before the page; Enter opens the row only once it is there.
    tmux.wait(20, "the filtered file", |s| {
        s.contains("vault.opened") && s.contains("1 entry ") && s.contains("row 1 of 1")
    });
    tmux.keys(&["Enter"]);
    tmux.wait(20, "the details", |s| {
        s.contains("\"id\": \"01FILE00000000000000000007\"")
    });
    tmux.keys(&["q"]);
    tmux.wait(10, "exit status 0", |s| s.contains("EXIT=0"));
}
