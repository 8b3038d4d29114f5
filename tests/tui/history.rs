//! The export history view (`H`): its screen (insta), what its keys ask for, and a re-run of a
//! recorded export through the real server.

use crate::common;
use crate::fixtures as tui_fixtures;
use tui_fixtures::*;

use crossterm::event::KeyCode;
use serde_json::json;
use std::path::PathBuf;
use trailscope::client::{Client, ClientError};
use trailscope::export::Format;
use trailscope::model::{Actor, ActorType, ExportList, ExportRecord, ExportStatus, PackRequest};
use trailscope::tui::action::{DownloadEvent, DownloadKind};
use trailscope::tui::{Action, Effect};

fn record(
    seq: u64,
    name: &str,
    format: Option<&str>,
    kind: Option<&str>,
    status: ExportStatus,
) -> ExportRecord {
    ExportRecord {
        seq,
        at: now() - chrono::Duration::minutes(seq as i64),
        name: Some(name.into()),
        actor: Actor {
            kind: ActorType::Service,
            id: Some("tok_01abc".into()),
            name: Some("alice".into()),
            ..Actor::default()
        },
        what: if format.is_some() {
            "export"
        } else {
            "evidence_pack"
        }
        .into(),
        format: format.map(String::from),
        kind: kind.map(String::from),
        title: kind.map(|_| "INC-42".to_string()),
        filter: "target:incident/INC-42".into(),
        from: kind.map(|_| "2026-11-01T00:00:00.000Z".to_string()),
        to: kind.map(|_| "2026-11-20T23:59:59.999Z".to_string()),
        rows: Some(seq * 10),
        status,
        reason: None,
    }
}

fn history() -> ExportList {
    ExportList {
        exports: vec![
            record(
                3,
                "INC-42 for the regulator",
                None,
                Some("custom"),
                ExportStatus::Completed,
            ),
            record(
                2,
                "night shift \u{1b}[31m",
                Some("ndjson"),
                None,
                ExportStatus::Incomplete,
            ),
            record(
                1,
                "Q4 access review",
                Some("csv"),
                None,
                ExportStatus::Completed,
            ),
        ],
    }
}

#[test]
fn the_history_lists_what_was_exported_and_makes_one_again() {
    let mut a = app(120, 30);
    assert_eq!(key(&mut a, KeyCode::Char('H')), [Effect::FetchExports]);
    assert!(screen(&a, 120, 30).contains("loading…"));
    a.update(Action::Exports(Ok(history())));
    let s = screen(&a, 120, 30);
    for needle in [
        "Export history",
        "INC-42 for the regulator",
        "pack custom",
        "incomplete",
        "export ndjson",
        "Q4 access review",
        "by alice",
    ] {
        assert!(s.contains(needle), "{needle:?} in\n{s}");
    }
    // A name is attacker-controlled text like any other: shown escaped.
    assert!(s.contains("night shift \\x1b[31m"), "{s}");
    insta::assert_snapshot!(s);

    // Enter on the CSV export: the same filter and format, under the same name, to a new file.
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Char('j'));
    let fx = key(&mut a, KeyCode::Enter);
    let [Effect::Download(job)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(job.path, PathBuf::from("./audit-log-20261121T120000Z.csv"));
    assert!(!job.overwrite);
    let DownloadKind::Export {
        query,
        format,
        name,
    } = &job.what
    else {
        panic!("{job:?}")
    };
    assert_eq!(
        (query.to_string().as_str(), *format, name.as_deref()),
        (
            "target:incident/INC-42",
            Format::Csv,
            Some("Q4 access review")
        )
    );
    a.update(Action::Download(DownloadEvent::Done {
        path: job.path.clone(),
        bytes: 2048,
        rows: 10,
    }));
    assert!(
        screen(&a, 120, 30).contains("✓ wrote 10 entries"),
        "{}",
        screen(&a, 120, 30)
    );
    // Any key goes back to the list, reloaded (it now holds the re-run too).
    assert_eq!(key(&mut a, KeyCode::Char('x')), [Effect::FetchExports]);

    // Enter on the pack: the same custom pack request.
    a.update(Action::Exports(Ok(history())));
    let fx = key(&mut a, KeyCode::Enter);
    let [Effect::Download(job)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        job.path,
        PathBuf::from("./evidence-custom-20261121T120000Z.zip")
    );
    assert_eq!(
        job.what,
        DownloadKind::Pack(PackRequest {
            kind: "custom".into(),
            from: Some("2026-11-01T00:00:00.000Z".into()),
            to: Some("2026-11-20T23:59:59.999Z".into()),
            title: Some("INC-42".into()),
            filter: Some("target:incident/INC-42".into()),
            name: Some("INC-42 for the regulator".into()),
        })
    );
    // Esc while it runs cancels it.
    let fx = key(&mut a, KeyCode::Esc);
    assert_eq!(fx, [Effect::CancelDownload]);
}

#[test]
fn the_history_says_when_it_cannot_be_read_and_the_help_lists_its_key() {
    let mut a = app(120, 30);
    key(&mut a, KeyCode::Char('H'));
    a.update(Action::Exports(Err(ClientError::NotFound(
        "the export history is on the server, and this is a local copy".into(),
    ))));
    let s = screen(&a, 120, 30);
    assert!(s.contains("the export history is on the server"), "{s}");
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('?'));
    // The help scrolls: page down until the key's line is on screen (or the end is reached).
    let mut s = screen(&a, 120, 30);
    for _ in 0..10 {
        if s.contains("export history: list exports and packs") {
            break;
        }
        key(&mut a, KeyCode::PageDown);
        s = screen(&a, 120, 30);
    }
    assert!(s.contains("export history: list exports and packs"), "{s}");
    // The footer names the key where the terminal is wide enough for it.
    key(&mut a, KeyCode::Esc);
    let s = screen(&a, 140, 30);
    assert!(s.lines().last().unwrap().contains("H history"), "{s}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_export_is_made_again_through_the_real_server() {
    let s = common::TestServer::start().await;
    let body = an_incident_and_its_named_export(&s, 25, "INC-42", "ndjson", "INC-42%20trail").await;
    assert_eq!(body.lines().count(), 25);
    let client = Client::new(&s.url, &s.auditor).unwrap();
    let list = client.exports(10).await.unwrap();
    let mut job = trailscope::tui::history::rerun_job(&list.exports[0], now()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    job.path = dir.path().join("again.ndjson");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    trailscope::tui::download::start(client.clone(), job, tx);
    let done = loop {
        match rx.recv().await {
            Some(Action::Download(DownloadEvent::Progress { .. })) => {}
            Some(Action::Download(e)) => break e,
            Some(_) => {}
            None => panic!("the download ended without a word"),
        }
    };
    let DownloadEvent::Done { rows, .. } = done else {
        panic!("{done:?}")
    };
    // Same filter and format: the same 25 entries, one per line.
    assert_eq!(rows, 25);
    let text = std::fs::read_to_string(dir.path().join("again.ndjson")).unwrap();
    assert_eq!(text.lines().count(), 25);
    assert!(text.lines().all(|l| l.contains("INC-42")));
    // And the history has it twice under its name, the re-run first.
    let list = client.exports(10).await.unwrap();
    let named: Vec<_> = list
        .exports
        .iter()
        .filter(|e| e.name.as_deref() == Some("INC-42 trail"))
        .collect();
    assert_eq!(named.len(), 2, "{list:?}");
    assert!(named.iter().all(|e| e.status == ExportStatus::Completed
        && e.rows == Some(25)
        && e.format.as_deref() == Some("ndjson")));
    s.stop().await;
}

#[test]
fn the_evidence_dialog_offers_this_filter_and_this_target() {
    let mut a = app(120, 30);
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "channel:admin");
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('E'));
    for _ in 0..3 {
        key(&mut a, KeyCode::Right);
    }
    let s = screen(&a, 120, 30);
    // (The rows are still loading: no entry is selected, so there is no "this target".)
    assert!(
        s.contains("this filter") && !s.contains("this target"),
        "{s}"
    );
    assert!(s.contains("entries in channel admin"), "{s}");
    insta::assert_snapshot!(s);
    // The filter's own range: no period unless one is typed.
    let fx = key(&mut a, KeyCode::Enter);
    let [Effect::Download(job)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        job.path,
        PathBuf::from("./evidence-custom-20261121T120000Z.zip")
    );
    let DownloadKind::Pack(p) = &job.what else {
        panic!("{job:?}")
    };
    assert_eq!(
        (p.kind.as_str(), p.filter.as_deref(), p.from.as_deref()),
        ("custom", Some("channel:admin since:7d"), None)
    );

    // From the selected entry: everything about its target, whatever the filter.
    let mut a = app(120, 30);
    let target = a.current().unwrap().target_ref().unwrap();
    key(&mut a, KeyCode::Char('E'));
    assert!(screen(&a, 120, 30).contains("this target"));
    for _ in 0..4 {
        key(&mut a, KeyCode::Right);
    }
    let fx = key(&mut a, KeyCode::Enter);
    let [Effect::Download(job)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let DownloadKind::Pack(p) = &job.what else {
        panic!("{job:?}")
    };
    assert_eq!(
        p.filter.as_deref(),
        Some(format!("target:{target}").as_str())
    );
    // Back to a configured kind: its period returns.
    key(&mut a, KeyCode::Esc);
}

#[test]
fn the_export_dialog_takes_a_name_for_the_history() {
    let mut a = app(100, 30);
    key(&mut a, KeyCode::Char('e'));
    key(&mut a, KeyCode::Down);
    typed(&mut a, "Q4 access review");
    let s = screen(&a, 100, 30);
    assert!(s.contains("▸ Name (↓)  Q4 access review"), "{s}");
    // Up goes back to the path; the name stays.
    key(&mut a, KeyCode::Up);
    typed(&mut a, "x");
    let fx = key(&mut a, KeyCode::Enter);
    let [Effect::Download(job)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(job.path, PathBuf::from("./audit-log-20261121T120000Z.csvx"));
    let DownloadKind::Export { name, .. } = &job.what else {
        panic!("{job:?}")
    };
    assert_eq!(name.as_deref(), Some("Q4 access review"));
}

/// The real binary in tmux against the real server: `H` lists a named export, Enter makes it
/// again into a new file in the working directory.
#[tokio::test(flavor = "multi_thread")]
async fn in_the_terminal_h_lists_the_history_and_enter_makes_one_again() {
    let s = common::TestServer::start().await;
    an_incident_and_its_named_export(&s, 12, "INC-7", "csv", "INC-7%20for%20legal").await;
    let work = tempfile::tempdir().unwrap();
    let (url, token, home) = (s.url.clone(), s.auditor.clone(), s.dir.path().to_path_buf());
    let cwd = work.path().to_path_buf();
    let screen = tokio::task::spawn_blocking(move || {
        let tmux = common::tmux::Tmux::start_in(
            &home,
            &format!("--server {url} --token {token}"),
            "",
            Some(&cwd),
        );
        tmux.wait(20, "the table", |s| s.contains("incident.updated"));
        tmux.keys(&["H"]);
        tmux.wait(20, "the history", |s| {
            s.contains("INC-7 for legal") && s.contains("completed")
        });
        tmux.keys(&["Enter"]);
        let done = tmux.wait(20, "the re-run", |s| s.contains("✓ wrote 12 entries"));
        tmux.keys(&["q"]);
        done
    })
    .await
    .unwrap();
    let mut files: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    // The CSV, and its proof beside it (the server signs what it exports).
    assert_eq!(files.len(), 2, "{files:?}\n{screen}");
    assert_eq!(files[1], format!("{}.proof.json", files[0]), "{files:?}");
    assert!(
        files[0].starts_with("audit-log-") && files[0].ends_with(".csv"),
        "{files:?}"
    );
    let csv = std::fs::read_to_string(work.path().join(&files[0])).unwrap();
    assert_eq!(csv.lines().count(), 13);
    let list = trailscope::client::Client::new(&s.url, &s.auditor)
        .unwrap()
        .exports(10)
        .await
        .unwrap();
    assert_eq!(
        list.exports
            .iter()
            .filter(|e| e.name.as_deref() == Some("INC-7 for legal"))
            .count(),
        2
    );
    s.stop().await;
}

#[test]
fn the_evidence_dialog_takes_a_name_for_the_history() {
    let mut a = app(120, 30);
    key(&mut a, KeyCode::Char('E'));
    for _ in 0..4 {
        key(&mut a, KeyCode::Tab);
    }
    typed(&mut a, "Q4 access review");
    assert!(screen(&a, 120, 30).contains("▸ Name      Q4 access review"));
    let fx = key(&mut a, KeyCode::Enter);
    let [Effect::Download(job)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        job.what,
        DownloadKind::Pack(PackRequest {
            kind: "access_review".into(),
            from: Some("30d".into()),
            to: Some("today".into()),
            name: Some("Q4 access review".into()),
            ..PackRequest::default()
        })
    );
}

/// `n` updates of one incident, then a named export of them (`name` URL-encoded); the body.
async fn an_incident_and_its_named_export(
    s: &common::TestServer,
    n: usize,
    incident: &str,
    format: &str,
    name: &str,
) -> String {
    let events: Vec<serde_json::Value> = (0..n)
        .map(|i| json!({"action": "incident.updated", "target": {"type": "incident", "id": incident}, "description": format!("step {i}")}))
        .collect();
    assert_eq!(
        s.post(&s.writer, serde_json::Value::Array(events)).await.0,
        201
    );
    s.http
        .get(format!(
            "{}/v1/export?format={format}&filter=target:incident/{incident}&name={name}",
            s.url
        ))
        .bearer_auth(&s.auditor)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
