//! End to end, issue 17: the real binary in tmux against a real server on a loopback port —
//! pivot → context → back, the filter history and the marks across two runs, the header of a
//! server that stops answering, and `s` leaving a commented config intact.

use crate::common;

use common::TestServer;
use common::tmux::Tmux;
use serde_json::json;
use std::time::{Duration, Instant};

/// The attacker's address, a colleague's, and entries at three distances in time.
async fn seed(server: &TestServer) {
    let now = chrono::Utc::now();
    let at = |mins: i64| trailscope::model::format_ts(&(now - chrono::Duration::minutes(mins)));
    let mut events = vec![
        // Long before: outside any window around the incident.
        json!({"occurred_at": at(600), "action": "report.viewed", "channel": "admin", "description": "MORNING-REPORT",
            "actor": {"type": "user", "id": "u_5", "name": "Carol White", "ip": "192.0.2.5"}}),
        // In the same minutes as the incident, from another address.
        json!({"occurred_at": at(64), "action": "ticket.created", "channel": "admin", "description": "NEARBY-TICKET",
            "actor": {"type": "user", "id": "u_5", "name": "Carol White", "ip": "192.0.2.5"}}),
    ];
    for i in 0..5 {
        events.push(json!({"occurred_at": at(66 - i), "action": "user.login_failed", "channel": "auth", "outcome": "failure",
            "description": format!("FAILED-SIGN-IN {i}"),
            "actor": {"type": "user", "id": "u_2", "name": "Grace Whitfield", "ip": "203.0.113.7"}}));
    }
    events.push(json!({"occurred_at": at(60), "action": "user.login", "channel": "auth", "description": "THE-BREAK-IN",
        "actor": {"type": "user", "id": "u_2", "name": "Grace Whitfield", "ip": "203.0.113.7"}}));
    let (status, body) = server.post(&server.writer, json!(events)).await;
    assert_eq!(status, 201, "{body}");
}

fn args(server: &TestServer) -> String {
    format!("--server {} --token {}", server.url, server.auditor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pivot_to_the_ip_then_around_then_back() {
    let server = TestServer::start().await;
    seed(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(dir.path(), &args(&server), "");
    tmux.wait_for("the table", |s| {
        s.contains("THE-BREAK-IN") && s.contains("8 entries")
    })
    .await;
    // The newest row is the break-in: filter on its IP.
    tmux.keys(&["="]);
    tmux.wait_for("the pivot menu", |s| s.contains("203.0.113.7"))
        .await;
    tmux.keys(&["i"]);
    let s = tmux
        .wait_for("the IP's entries, and only them", |s| {
            // The count and the rows arrive separately: wait for the new rows too.
            s.contains("filter: ip:203.0.113.7 since:7d")
                && s.contains("6 entries")
                && s.contains("THE-BREAK-IN")
                && !s.contains("NEARBY-TICKET")
                && !s.contains("loading…")
        })
        .await;
    assert!(s.contains("FAILED-SIGN-IN"), "{s}");
    // What else happened around it: the nearby ticket, not the morning's report.
    tmux.keys(&["w"]);
    let s = tmux
        .wait_for("the window around the break-in", |s| {
            // The count and the rows arrive separately: wait for both.
            s.contains("filter: around ")
                && s.contains("±15m")
                && s.contains("7 entries")
                && s.contains("NEARBY-TICKET")
        })
        .await;
    assert!(
        s.contains("NEARBY-TICKET") && !s.contains("MORNING-REPORT"),
        "{s}"
    );
    assert!(
        s.contains("▶"),
        "the entry the window is around is marked: {s}"
    );
    tmux.keys(&["BSpace"]);
    tmux.wait_for("back to the IP", |s| {
        s.contains("filter: ip:203.0.113.7 since:7d") && s.contains("6 entries")
    })
    .await;
    tmux.keys(&["BSpace"]);
    tmux.wait_for("back to the start", |s| {
        s.contains("filter: since:7d") && s.contains("8 entries")
    })
    .await;
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_history_and_the_marks_are_there_in_the_next_run() {
    let server = TestServer::start().await;
    seed(&server).await;
    let dir = tempfile::tempdir().unwrap();
    // First run: a filter typed, an entry marked.
    let tmux = Tmux::start(dir.path(), &args(&server), "");
    tmux.wait_for("the table", |s| s.contains("8 entries"))
        .await;
    tmux.keys(&[":", "channel:auth", "Enter"]);
    tmux.wait_for("the filter", |s| {
        s.contains("filter: channel:auth since:7d") && s.contains("6 entries")
    })
    .await;
    tmux.keys(&["m"]);
    tmux.wait_for("the mark", |s| {
        s.contains("1 entry marked on this server") && s.contains("●")
    })
    .await;
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
    drop(tmux);
    // Second run, same state directory.
    let tmux = Tmux::start(dir.path(), &args(&server), "");
    // The count and the rows arrive apart: wait for both, the mark drawn.
    let s = tmux
        .wait_for("the table again, its mark drawn", |s| {
            s.contains("8 entries") && s.lines().any(|l| l.starts_with('●'))
        })
        .await;
    let marked = s
        .lines()
        .find(|l| l.starts_with('●'))
        .unwrap_or_else(|| panic!("a marked row: {s}"));
    assert!(marked.contains("user.login"), "{marked}");
    // `'`: the case alone.
    tmux.keys(&["'"]);
    tmux.wait_for("only the marked entry", |s| {
        s.contains("filter: the 1 entry marked")
            && s.contains("THE-BREAK-IN")
            && s.contains("1 entry ")
    })
    .await;
    tmux.keys(&["BSpace"]);
    tmux.wait_for("back from the case", |s| s.contains("8 entries"))
        .await;
    tmux.keys(&[":", "Up", "Up"]);
    tmux.wait_for("the filter of the first run recalled", |s| {
        s.contains(" : channel:auth since:7d")
    })
    .await;
    // One key at a time: Esc followed at once by a key reaches the TUI as Alt+key (the
    // terminal's escape prefix) when both land in one read, as they do on a loaded machine.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the query bar closed", |s| {
        !s.contains(" : channel:auth since:7d")
    })
    .await;
    tmux.keys(&["BSpace"]);
    tmux.wait_for("Backspace across runs", |s| {
        s.contains("filter: channel:auth since:7d") && s.contains("6 entries")
    })
    .await;
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_shows_in_the_header_within_5_seconds_with_no_key() {
    let server = TestServer::start().await;
    seed(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(dir.path(), &args(&server), "");
    tmux.wait_for("the table", |s| {
        s.contains("8 entries") && s.contains("connected")
    })
    .await;
    server.stop().await;
    let stopped = Instant::now();
    let s = tmux
        .wait_up_to(5, "the header to say so", |s| {
            s.lines().next().is_some_and(|l| l.contains("OFFLINE"))
        })
        .await;
    assert!(stopped.elapsed() <= Duration::from_secs(5), "{s}");
    assert!(!s.lines().next().unwrap().contains("connected"), "{s}");
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_view_leaves_a_commented_config_intact() {
    let server = TestServer::start().await;
    seed(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let before = r#"# My trailscope settings: keep these comments.

[keys]
# The keys I changed.
quit = ["q", "ctrl-q"]   # both quit

[views]
# Views I use every morning.
"failed sign-ins" = "channel:auth outcome:failure since:7d"   # the classic

# The cache, last, as I like it.
[cache]
max_size_mb = 256
"#;
    std::fs::write(&config, before).unwrap();
    let tmux = Tmux::start(dir.path(), &args(&server), "");
    tmux.wait_for("the table", |s| s.contains("8 entries"))
        .await;
    tmux.keys(&[":", "ip:203.0.113.7", "Enter"]);
    tmux.wait_for("the filter", |s| s.contains("6 entries"))
        .await;
    tmux.keys(&["s", "attacker", "Enter"]);
    tmux.wait_for("the view saved", |s| s.contains("saved the view"))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let now = std::fs::read_to_string(&config).unwrap();
        if now != before {
            break now;
        }
        assert!(Instant::now() < deadline, "the config was not written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let expected = before.replace(
        "# the classic\n",
        "# the classic\nattacker = \"ip:203.0.113.7 since:7d\"\n",
    );
    assert_eq!(after, expected, "only the new view is added");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file left: {leftovers:?}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
    server.stop().await;
}

/// The README's walkthrough, key for key, at 80×24, and every claim of its table: from the
/// demo's first screen to the takeover in 17 keys, to the attacker's address in 2 more, and
/// back in 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_finds_the_demo_incident_at_80x24() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(dir.path(), "demo", "");
    tmux.cmd(&["resize-window", "-t", "e2e", "-x", "80", "-y", "24"]);
    tmux.wait_up_to(180, "the whole trail", |s| {
        s.contains("the demo trail is in")
    })
    .await;
    let keys = std::cell::Cell::new(0);
    let press = |k: &[&str]| {
        keys.set(keys.get() + k.len());
        tmux.keys(k);
    };
    press(&["f"]);
    tmux.wait_for("the filter pane", |s| s.contains("Filters"))
        .await;
    press(&["Tab", "Tab", "Tab", "a", "u", "t", "h"]);
    // The lists fill from the server in the background: wait for the value itself, not only
    // for what was typed, before selecting it.
    tmux.wait_for("the channel narrowed", |s| {
        s.contains("narrow: auth") && s.contains("[ ] auth")
    })
    .await;
    press(&["Space"]);
    tmux.wait_for("auth selected", |s| s.contains("[x] auth"))
        .await;
    press(&["Tab", "Tab"]);
    tmux.wait_for("the outcome list", |s| s.contains("[ ] failure"))
        .await;
    press(&["Down", "Space", "Enter"]);
    // The README: 89 entries, the burst of 75 and 14 other people's failures, every run; the
    // histogram's spike is the burst. The rows, the count and the histogram arrive apart, so
    // the figures are waited for: a wrong one fails with the screen.
    tmux.wait_for(
        "only failed sign-ins, 89 entries and the spike of 75",
        |s| {
            s.contains("filter: channel:auth outcome:failure since:7d")
                && !table_rows(s).is_empty()
                && table_rows(s)
                    .iter()
                    .all(|l| l.contains("✗ other   user.login_failed"))
                && header_count(s) == 89
                && s.lines().nth(2).is_some_and(|l| l.ends_with("▲75"))
        },
    )
    .await;
    press(&["Tab"]);
    // At 80 columns a week of three-hour buckets does not fit: every column is six hours,
    // cut at 00:00, 06:00, 12:00 and 18:00 whatever the time of day the test runs at.
    tmux.wait_for("the histogram's peak, as the README says", |s| {
        s.contains("00:00 – ") && s.contains("06:00 · 75 entries")
    })
    .await;
    press(&["Enter"]);
    tmux.wait_for("the burst alone", |s| {
        s.contains("from:")
            && header_count(s) == 75
            && s.lines()
                .nth(5)
                .is_some_and(|l| l.contains("Grace Whitfield"))
    })
    .await;
    press(&["w"]);
    let s = tmux
        .wait_for("the window around the last failure", |s| {
            s.contains("filter: around ") && s.lines().any(|l| l.starts_with('▶'))
        })
        .await;
    assert_eq!(keys.get(), 17, "the incident in 17 keys");
    // The failure the window was opened on is the bottom row; above it, on screen, the
    // takeover: the README's rows, each with who did it.
    let rows = table_rows(&s);
    let bottom = rows.last().copied().unwrap_or_default();
    assert!(
        bottom.starts_with('▶') && bottom.contains("user.login_failed"),
        "the failure on the bottom row:\n{s}"
    );
    for (action, actor) in [
        ("user.login ", "Grace Whitfield"),
        ("user.invited", "Grace Whitfield"),
        ("role.updated", "Grace Whitfield"),
        ("integration_credentials_updated", "Grace Whitfield"),
        ("user.login ", "Helpdesk Backup"),
        ("pii.read", "Helpdesk Backup"),
    ] {
        assert!(
            rows.iter().any(|l| l.contains(action) && l.contains(actor)),
            "{action} by {actor} on screen after w:\n{s}"
        );
    }
    press(&["="]);
    tmux.wait_for("the pivot menu on the failed sign-in", |s| {
        s.lines()
            .any(|l| l.contains("i IP") && l.contains("198.51.100.77"))
    })
    .await;
    press(&["i"]);
    let s = tmux
        .wait_for("the attacker's address", |s| {
            s.contains("filter: ip:198.51.100.77 around ")
                && header_count(s) > 0
                && s.lines()
                    .nth(5)
                    .is_some_and(|l| l.contains("Helpdesk Backup"))
        })
        .await;
    assert_eq!(header_count(&s), 92, "{s}");
    for step in [
        "pii.read",
        "Helpdesk Backup",
        "integration_credentials_updated",
        "role.updated",
        "user.invited",
        "Grace Whitfield",
    ] {
        assert!(s.contains(step), "{step} from the attacker's address:\n{s}");
    }
    assert_eq!(keys.get(), 19, "the attacker's address in 19 keys");
    press(&["BSpace"]);
    tmux.wait_for("back to the window", |s| {
        s.contains("filter: around ") && !s.contains("ip:198.51.100.77") && s.contains("pii.read")
    })
    .await;
    press(&["BSpace"]);
    tmux.wait_for("back to the burst", |s| {
        s.contains("filter: channel:auth outcome:failure from:")
            && header_count(s) == 75
            && s.contains("Grace Whitfield")
    })
    .await;
    press(&["BSpace"]);
    tmux.wait_for("back to the failures", |s| {
        s.contains("filter: channel:auth outcome:failure since:7d")
            && header_count(s) == 89
            && s.contains("Grace Whitfield")
    })
    .await;
    assert_eq!(keys.get(), 22, "the README's 22 keys");
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
}

/// The table's rows on the screen, none while it loads.
fn table_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !l.contains("When"))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .filter(|l| l.contains(':'))
        .collect()
}

/// The entry count in the header (the first line), 0 when there is none yet.
fn header_count(screen: &str) -> u64 {
    screen
        .lines()
        .next()
        .and_then(|l| l.split(" entries").next())
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.replace(',', "").parse().ok())
        .unwrap_or(0)
}

/// Issue 25 point 3, through the real server: every entry the filter matches marked with one
/// key, the case shown with `'`, and `E` (which starts on the marked entries, titled in words)
/// makes a pack the server accepts — where a title made of the ids was refused before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn star_marks_the_filter_and_e_packs_the_marked_entries() {
    let server = TestServer::start().await;
    seed(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start_in(
        dir.path(),
        &format!("--server {} --token {}", server.url, server.admin),
        "",
        Some(dir.path()),
    );
    tmux.cmd(&["resize-window", "-t", "e2e", "-x", "80", "-y", "24"]);
    tmux.wait_for("the table", |s| s.contains("8 entries"))
        .await;
    tmux.keys(&["*"]);
    tmux.wait_for("every entry marked", |s| {
        s.contains("marked 8 entries the filter matches") && s.contains("● 8 marked")
    })
    .await;
    tmux.keys(&["'"]);
    tmux.wait_for("the case", |s| s.contains("the 8 entries marked"))
        .await;
    tmux.keys(&["E"]);
    tmux.wait_for("the dialog on the marked entries", |s| {
        s.contains("Evidence pack") && s.contains("Title     the 8 entries marked")
    })
    .await;
    tmux.keys(&["Enter"]);
    let s = tmux
        .wait_for("the pack written", |s| s.contains("✓ wrote 8 entries"))
        .await;
    assert!(!s.contains("rejected"), "{s}");
    let packs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".zip"))
        .collect();
    assert_eq!(packs.len(), 1, "one pack in the working directory");
    // Escape and q in one read are Alt-q to the terminal: q goes only once the dialog is gone.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the dialog closed", |s| !s.contains("Evidence pack"))
        .await;
    tmux.keys(&["q"]);
    tmux.wait_for("exit status 0", |s| s.contains("EXIT=0"))
        .await;
    server.stop().await;
}
