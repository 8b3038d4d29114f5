//! The export and evidence dialogs and the info view: their screens (insta), what their keys
//! ask the event loop to do, and a real download against a real server, finished and cancelled.

use crate::common;
use crate::fixtures as tui_fixtures;
use tui_fixtures::*;

use chrono::Duration;
use crossterm::event::KeyCode;
use std::path::PathBuf;
use trailscope::client::{Client, ClientError};
use trailscope::export::Format;
use trailscope::model::{ChainHead, Kind, Outcome, PruneReport, Retention};
use trailscope::tui::action::{DownloadEvent, DownloadJob, DownloadKind};
use trailscope::tui::{Action, Effect};

fn export_job(fx: &[Effect]) -> DownloadJob {
    match fx {
        [Effect::Download(job)] => job.clone(),
        other => panic!("expected one download, got {other:?}"),
    }
}

#[test]
fn export_dialog_states_the_filter_in_words_and_cycles_formats() {
    let mut a = app(100, 30);
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "channel:auth outcome:failure");
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('e'));
    let s = screen(&a, 100, 30);
    assert!(
        s.contains("failed entries in channel auth, of the last 7 days"),
        "{s}"
    );
    assert!(s.contains("./audit-log-20261121T120000Z.csv"), "{s}");
    insta::assert_snapshot!(s);
    // Tab to JSON renames the suggested file; Enter asks for exactly this export.
    key(&mut a, KeyCode::Tab);
    let job = export_job(&key(&mut a, KeyCode::Enter));
    assert_eq!(job.path, PathBuf::from("./audit-log-20261121T120000Z.json"));
    assert!(!job.overwrite);
    let DownloadKind::Export { query, format, .. } = &job.what else {
        panic!("an export")
    };
    assert_eq!(*format, Format::Json);
    assert_eq!(query.to_string(), "channel:auth outcome:failure since:7d");
}

#[test]
fn export_dialog_progress_overwrite_question_and_done() {
    let mut a = app(100, 30);
    key(&mut a, KeyCode::Char('e'));
    // A typed path sticks when the format changes.
    for _ in 0.."./audit-log-20261121T120000Z.csv".len() {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "/tmp/q4.csv");
    key(&mut a, KeyCode::Tab);
    key(&mut a, KeyCode::BackTab);
    let job = export_job(&key(&mut a, KeyCode::Enter));
    assert_eq!(job.path, PathBuf::from("/tmp/q4.csv"));
    a.update(Action::Download(DownloadEvent::Progress {
        bytes: 3 << 20,
        rows: Some(642),
    }));
    let s = screen(&a, 100, 30);
    assert!(s.contains("642 of 1,284 entries · 3.0 MB · 50%"), "{s}");
    assert!(s.contains("Esc cancel"), "{s}");
    insta::assert_snapshot!("export_running", s);

    // The file exists: the dialog asks; anything but y keeps it.
    a.update(Action::Download(DownloadEvent::Exists(
        "/tmp/q4.csv".into(),
    )));
    let s = screen(&a, 100, 30);
    assert!(
        s.contains("/tmp/q4.csv exists.") && s.contains("Overwrite it?"),
        "{s}"
    );
    insta::assert_snapshot!("export_confirm_overwrite", s);
    assert!(key(&mut a, KeyCode::Char('n')).is_empty());
    assert!(screen(&a, 100, 30).contains("not overwritten"));
    // Enter again, the file still exists, y overwrites.
    key(&mut a, KeyCode::Enter);
    a.update(Action::Download(DownloadEvent::Exists(
        "/tmp/q4.csv".into(),
    )));
    let job = export_job(&key(&mut a, KeyCode::Char('y')));
    assert!(job.overwrite);
    a.update(Action::Download(DownloadEvent::Done {
        path: "/tmp/q4.csv".into(),
        bytes: 5 << 20,
        rows: 20_000,
    }));
    let s = screen(&a, 100, 30);
    assert!(
        s.contains("✓ wrote 20,000 entries (5.0 MB) to /tmp/q4.csv"),
        "{s}"
    );
    // The key that closes the finished dialog is not swallowed: `j` closes it and moves down.
    let before = a.pager.selected;
    key(&mut a, KeyCode::Char('j'));
    assert!(!screen(&a, 100, 30).contains("Export"));
    assert_eq!(a.pager.selected, before + 1);
}

#[test]
fn esc_while_running_cancels_and_says_so() {
    let mut a = app(100, 30);
    key(&mut a, KeyCode::Char('e'));
    key(&mut a, KeyCode::Enter);
    let fx = key(&mut a, KeyCode::Esc);
    assert_eq!(fx, vec![Effect::CancelDownload]);
    let s = screen(&a, 100, 30);
    assert!(s.contains("cancelled; nothing was written"), "{s}");
    // A progress message that was already on its way changes nothing.
    a.update(Action::Download(DownloadEvent::Progress {
        bytes: 10,
        rows: Some(1),
    }));
    assert!(!screen(&a, 100, 30).contains("Export"));
}

#[test]
fn evidence_dialog_checks_the_period_in_place() {
    let mut a = app(100, 30);
    key(&mut a, KeyCode::Char('E'));
    key(&mut a, KeyCode::Right);
    key(&mut a, KeyCode::Right);
    let s = screen(&a, 100, 30);
    assert!(
        s.contains("sign-in failures, security and rate-limit events"),
        "{s}"
    );
    assert!(
        s.contains("./evidence-incident_response-20261121T120000Z.zip"),
        "{s}"
    );
    insta::assert_snapshot!(s);
    key(&mut a, KeyCode::Tab);
    for _ in 0..3 {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "last quarter");
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    assert!(
        screen(&a, 100, 30).contains("from `last quarter` is not a date, time or age"),
        "{}",
        screen(&a, 100, 30)
    );
    for _ in 0.."last quarter".len() {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "2026-10-01");
    let job = export_job(&key(&mut a, KeyCode::Enter));
    assert_eq!(
        job.what,
        DownloadKind::Evidence {
            kind: "incident_response".into(),
            from: "2026-10-01".into(),
            to: "today".into()
        }
    );
}

#[test]
fn info_view_shows_retention_the_last_prune_and_the_badges() {
    let mut a = app(110, 30);
    assert_eq!(
        key(&mut a, KeyCode::Char('i')),
        vec![Effect::FetchRetention]
    );
    assert!(screen(&a, 110, 30).contains("asking the server…"));
    a.update(Action::Retention(Ok(Retention {
        days: 395,
        floor_days: 30,
        last_prune: Some(PruneReport {
            cutoff: now() - Duration::days(395),
            removed: 48_211,
            anchor: Some(ChainHead {
                seq: 48_211,
                hash: "ab".repeat(32),
            }),
            archive: Some("/var/lib/trailscope/archive/default-1-48211.ndjson.gz".into()),
            pruned_at: now() - Duration::hours(9),
        }),
    })));
    let s = screen(&a, 110, 30);
    assert!(s.contains("395 days (floor 30)"), "{s}");
    assert!(s.contains("removed 48,211 entries received before"), "{s}");
    assert!(s.contains("verifies from seq 48,212"), "{s}");
    insta::assert_snapshot!(s);
    // At 80 columns the long rows wrap under their own text, not under the labels.
    let narrow = screen(&a, 80, 24);
    assert!(
        narrow.contains("│            verifies from seq")
            || narrow.contains("│Chain       verifies from seq 48,212"),
        "{narrow}"
    );
    insta::assert_snapshot!("info_80x24", narrow);
    // Any key closes it.
    key(&mut a, KeyCode::Char('x'));
    assert!(!screen(&a, 110, 30).contains("About this log"));

    key(&mut a, KeyCode::Char('i'));
    a.update(Action::Retention(Err(ClientError::Forbidden(
        "a auditor token cannot read the retention settings".into(),
    ))));
    assert!(screen(&a, 110, 30).contains("visible to admin tokens only"));
}

#[test]
fn pseudonymised_actors_wear_a_badge_in_the_table_and_the_details() {
    let mut e = entry(
        61,
        1,
        "ticket.updated",
        Kind::Updated,
        Outcome::Success,
        Some(("u_9", "x")),
        Some(("ticket", "7")),
        "ticket 7 updated",
    );
    for f in [&mut e.actor.name, &mut e.actor.email] {
        *f = Some("pseudonym-3f9c01ab".into());
    }
    let mut entries = rows();
    entries.insert(0, e);
    let mut a = app_with(
        trailscope::tui::theme::ColorDepth::TrueColor,
        120,
        32,
        entries,
    );
    let s = screen(&a, 120, 32);
    assert!(s.contains("[pseudonym] u_9"), "{s}");
    key(&mut a, KeyCode::Enter);
    let s = screen(&a, 120, 32);
    assert!(s.contains("entry #61 · JSON [pseudonym]"), "{s}");
}

/// A real server with enough entries that an export takes many chunks.
async fn server_with(n: usize) -> common::TestServer {
    let s = common::TestServer::start().await;
    let store = s.store.clone();
    {
        for chunk in 0..n / 1000 {
            let batch = (0..1000)
                .map(|i| trailscope::model::NewEvent {
                    action: "ticket.updated".into(),
                    description: Some(format!("ticket {chunk}-{i} updated with a longer description to make the rows heavier")),
                    ..Default::default()
                })
                .collect();
            store.append("acme", batch).await.unwrap();
        }
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_writes_the_file_and_a_cancelled_one_leaves_nothing() {
    let s = server_with(30_000).await;
    let client = Client::new(&s.url, &s.auditor).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.csv");
    let job = |overwrite| DownloadJob {
        what: DownloadKind::Export {
            query: Default::default(),
            format: Format::Csv,
            name: None,
        },
        path: target.clone(),
        overwrite,
    };

    // Cancelled at the first progress report: no file under the name, no partial file.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = trailscope::tui::download::start(client.clone(), job(false), tx);
    loop {
        match rx.recv().await {
            Some(Action::Download(DownloadEvent::Progress { .. })) => break,
            Some(Action::Download(other)) => {
                panic!("ended before it could be cancelled: {other:?}")
            }
            _ => {}
        }
    }
    task.abort();
    let _ = task.await;
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // The server records the cancelled export when it sees the connection go: wait for that
    // record, or the next export races it for a row.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, body) = s
            .get(&s.auditor, "/v1/events?action=audit_log.exported")
            .await;
        assert_eq!(status, 200, "{body}");
        if body["entries"].as_array().is_some_and(|e| !e.is_empty()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cancelled export was never recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The cancelled export is on the record, started and (once the server noticed the client
    // left) finished as incomplete.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let ended = loop {
        let done = s.all("action=audit_log.export_finished", 10).await;
        if let Some(e) = done.first() {
            break e.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cancelled export was never recorded as finished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(ended["details"]["status"], "incomplete", "{ended}");

    // Finished: the rows counted, the file in place.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    trailscope::tui::download::start(client.clone(), job(false), tx);
    let done = loop {
        match rx.recv().await {
            Some(Action::Download(DownloadEvent::Progress { .. })) => {}
            Some(Action::Download(e)) => break e,
            _ => {}
        }
    };
    let DownloadEvent::Done { path, rows, .. } = done else {
        panic!("{done:?}")
    };
    // The cancelled export's two records are in this one: the server logs every export.
    assert_eq!((path, rows), (target.clone(), 30_002));
    let text = std::fs::read_to_string(&target).unwrap();
    assert_eq!(text.lines().count(), 30_003);
    assert!(text.contains("audit_log.exported"));
    assert!(text.contains("audit_log.export_finished"));

    // Again without overwrite: the dialog's question, and the file untouched.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    trailscope::tui::download::start(client, job(false), tx);
    let Some(Action::Download(e)) = rx.recv().await else {
        panic!()
    };
    assert_eq!(e, DownloadEvent::Exists(target.clone()));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), text);
    s.stop().await;
}

/// The TUI's export dialog writes a CSV, NDJSON or OCSF file with its proof beside it (the
/// same save as `trailscope export`), and the file verifies offline with `trailscope
/// verify-file` once the server is gone.
#[tokio::test(flavor = "multi_thread")]
async fn a_tui_export_gets_its_proof_beside_it_and_verifies_offline() {
    let s = server_with(2000).await;
    let client = Client::new(&s.url, &s.auditor).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vkey = s.key.verifier().to_string();
    let mut written = Vec::new();
    for (format, name) in [
        (Format::Csv, "tui.csv"),
        (Format::Ndjson, "tui.ndjson"),
        (Format::Ocsf, "tui.ocsf.ndjson"),
    ] {
        let target = dir.path().join(name);
        let job = DownloadJob {
            what: DownloadKind::Export {
                query: "action:ticket.updated".parse().unwrap(),
                format,
                name: None,
            },
            path: target.clone(),
            overwrite: false,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        trailscope::tui::download::start(client.clone(), job, tx);
        let done = loop {
            match rx.recv().await {
                Some(Action::Download(DownloadEvent::Progress { .. })) => {}
                Some(Action::Download(e)) => break e,
                _ => {}
            }
        };
        let DownloadEvent::Done { path, rows, .. } = done else {
            panic!("{done:?}")
        };
        assert_eq!(path, target);
        let side = dir.path().join(format!("{name}.proof.json"));
        let proof: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&side).unwrap()).unwrap();
        assert_eq!(proof["proof"]["entries"], rows);
        assert!(rows > 0);
        // The file itself holds the rows only: no proof left at its end.
        assert!(
            !std::fs::read_to_string(&target)
                .unwrap()
                .contains("trailscope-proof")
        );
        written.push(target);
    }
    s.stop().await;
    for f in written {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscope"))
            .args(["verify-file", f.to_str().unwrap(), "--key", &vkey])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("ok: "), "{stdout}");
    }
}
