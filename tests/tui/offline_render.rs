//! Render snapshots of issue 5's screens: the offline header (on the cache, with when it last
//! synced) and the file header (with the warning of a malformed file); and how the app takes
//! going offline and coming back without losing its place.

use crate::fixtures as tui_fixtures;
use tui_fixtures::*;

use chrono::Duration;
use crossterm::event::KeyCode;
use trailscope::tui::link::{Link, synced_phrase};
use trailscope::tui::{Action, Effect};

#[test]
fn offline_header_120x32() {
    let mut a = app(120, 32);
    a.update(Action::Link(Link::Offline {
        synced: Some(now() - Duration::minutes(42)),
    }));
    let s = screen(&a, 120, 32);
    // Gone while it ran: since when, and that the cache answers.
    assert!(s.contains("OFFLINE since 12:00:00Z, cached"), "{s}");
    assert!(
        s.contains("stopped answering at 12:00:00Z: reading the cache"),
        "the footer says what happened:\n{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn offline_header_at_80x24_keeps_the_word_offline() {
    let mut a = app(80, 24);
    a.conn.link = Link::Offline { synced: None };
    let s = screen(&a, 80, 24);
    assert!(s.contains("OFFLINE — cached, never synced"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn file_header_with_a_malformed_file_warning() {
    let mut a = app(120, 32);
    a.conn.source = "/home/auditor/trail\u{1b}[2J.ndjson".into();
    a.update(Action::Link(Link::File {
        name: "trail\u{1b}[2J.ndjson".into(),
        warning: Some("trail.ndjson is malformed at line 30 (byte 11638): not a trailscope entry; showing the 29 entries before it".into()),
    }));
    let s = screen(&a, 120, 32);
    assert!(
        s.contains("file trail\\x1b[2J.ndjson") && s.contains("⚠ incomplete"),
        "{s}"
    );
    assert!(
        !s.contains('\u{1b}'),
        "a file name never reaches the terminal raw"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn coming_back_online_keeps_the_place_and_refreshes_only_the_counts() {
    let mut a = app(120, 32);
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Enter);
    let (selected, rows) = (a.pager.selected, a.pager.rows.len());
    a.update(Action::Link(Link::Offline {
        synced: Some(now()),
    }));
    let fx = a.update(Action::Link(Link::Online));
    assert_eq!((a.pager.selected, a.pager.rows.len()), (selected, rows));
    assert!(a.pane.detail.is_some(), "the detail pane stays open");
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::FetchStats { .. }, Effect::CheckWitness]
        ),
        "only the counts are asked again, and the witness looks again: {fx:?}"
    );
    let s = screen(&a, 120, 32);
    assert!(s.contains("connected") && s.contains("back online"), "{s}");
}

#[test]
fn synced_phrases() {
    let n = now();
    assert_eq!(synced_phrase(None, n), "never synced");
    assert_eq!(synced_phrase(Some(n), n), "synced just now");
    assert_eq!(
        synced_phrase(Some(n - Duration::hours(3)), n),
        "synced 3 h ago"
    );
    assert_eq!(
        synced_phrase(Some(n - Duration::days(9)), n),
        "synced 9 days ago"
    );
    // A clock that went backwards is not "in the future".
    assert_eq!(
        synced_phrase(Some(n + Duration::hours(1)), n),
        "synced just now"
    );
}
