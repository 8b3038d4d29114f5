//! Follow mode (`F`) through `update` and `render`: new rows on top, the reader's place kept,
//! the `▲ N new` counter, the live header, reconnects, and the seam with the loaded page.

use crate::fixtures as tui_fixtures;
use tui_fixtures::*;

use chrono::Duration;
use crossterm::event::KeyCode;
use std::time::Duration as StdDuration;
use trailscope::client::{ClientError, Live};
use trailscope::model::{Entry, Kind, Outcome, Page};
use trailscope::tui::theme::ColorDepth;
use trailscope::tui::{Action, App, Effect};

/// Presses `F` and returns the follower generation it started, checking where it resumes.
fn start_follow(a: &mut App) -> u64 {
    let newest = a.pager.rows.max_seq();
    let fx = key(a, KeyCode::Char('F'));
    let follow = fx.iter().find_map(|e| match e {
        Effect::Follow {
            follower,
            query,
            after,
        } => Some((*follower, query.clone(), *after)),
        _ => None,
    });
    let (follower, query, after) = follow.expect("F starts a follower");
    assert_eq!(after, newest, "it resumes after the newest loaded seq");
    assert_eq!(query, a.query);
    follower
}

fn live(i: u64, action: &str) -> Entry {
    entry(
        i,
        0,
        action,
        Kind::Created,
        if i.is_multiple_of(2) {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        Some(("u_9", "Nia Live")),
        Some(("ticket", &i.to_string())),
        &format!("live entry {i}"),
    )
}

fn arrive(a: &mut App, follower: u64, seqs: std::ops::RangeInclusive<u64>) {
    let entries = seqs.map(|i| live(i, "ticket.created")).collect();
    a.update(Action::Live {
        follower,
        event: Live::Entries(entries),
    });
}

#[test]
fn new_entries_appear_on_top_highlighted_and_the_count_follows() {
    let mut a = app(120, 32);
    let follower = start_follow(&mut a);
    assert!(screen(&a, 120, 32).contains("● live: connecting…"));
    a.update(Action::Live {
        follower,
        event: Live::Connected,
    });
    arrive(&mut a, follower, 100..=102);
    let s = screen(&a, 120, 32);
    assert!(s.contains("● live ─ 1,287 entries"), "{s}");
    let top: Vec<u64> = (0..3).map(|i| a.pager.rows.get(i).unwrap().seq).collect();
    assert_eq!(top, vec![102, 101, 100], "newest first");
    assert_eq!(a.pager.selected, 0, "at the top, the view shows the newest");
    insta::assert_snapshot!(s);
    // The new rows are washed green for a moment, then fade.
    let t = draw(&a, 120, 32);
    let fresh_bg = t.backend().buffer()[(10, 5)].bg;
    let old_bg = t.backend().buffer()[(10, 9)].bg;
    assert_ne!(fresh_bg, old_bg, "the new rows are highlighted");
    let fx = a.update(Action::Tick(now() + Duration::seconds(3)));
    assert!(!a.is_fresh(102));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::FetchStats { .. })),
        "the histogram catches up after new entries"
    );
}

#[test]
fn scrolled_away_the_view_stays_put_and_counts_what_is_new() {
    let mut a = app(120, 32);
    let follower = start_follow(&mut a);
    for _ in 0..5 {
        key(&mut a, KeyCode::Char('j'));
    }
    let reading = a.current().unwrap().id;
    let first_visible = a.pager.rows.get(a.pager.offset).unwrap().id;
    arrive(&mut a, follower, 100..=103);
    assert_eq!(
        a.current().unwrap().id,
        reading,
        "the selected entry stays selected"
    );
    assert_eq!(
        a.pager.rows.get(a.pager.offset).unwrap().id,
        first_visible,
        "the view does not move"
    );
    let s = screen(&a, 120, 32);
    assert!(s.contains("▲ 4 new (g)"), "{s}");
    insta::assert_snapshot!(s);
    key(&mut a, KeyCode::Char('g'));
    assert_eq!(a.current().unwrap().seq, 103);
    assert!(!screen(&a, 120, 32).contains("new (g)"));
}

#[test]
fn reading_an_entry_at_the_top_keeps_it_selected_while_entries_arrive() {
    let mut a = app(120, 32);
    let follower = start_follow(&mut a);
    key(&mut a, KeyCode::Enter);
    let reading = a.current().unwrap().id;
    arrive(&mut a, follower, 100..=101);
    assert_eq!(a.current().unwrap().id, reading);
    assert!(screen(&a, 120, 32).contains("▲ 2 new"));
}

#[test]
fn rows_already_loaded_are_not_shown_twice_and_a_backdated_entry_takes_its_place() {
    let mut a = app(120, 32);
    let follower = start_follow(&mut a);
    let before = a.pager.rows.len();
    // The stream and a page can overlap: the same entry again is not a new row.
    let loaded: Vec<Entry> = (0..2).map(|i| a.pager.rows.get(i).unwrap()).collect();
    a.update(Action::Live {
        follower,
        event: Live::Entries(loaded),
    });
    assert_eq!(a.pager.rows.len(), before);
    // A producer's late report of something an hour and a half ago goes where its time puts it.
    let mut late = live(500, "backup.finished");
    late.occurred_at = now() - Duration::minutes(90);
    let mut ancient = live(501, "backup.finished");
    ancient.occurred_at = now() - Duration::days(300);
    a.update(Action::Live {
        follower,
        event: Live::Entries(vec![late, ancient]),
    });
    assert_eq!(
        a.pager.rows.len(),
        before + 1,
        "one placed, one left for paging"
    );
    let times: Vec<_> = (0..a.pager.rows.len())
        .map(|i| a.pager.rows.get(i).unwrap().occurred_at)
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "still newest first");
    let at = (0..a.pager.rows.len())
        .find(|i| a.pager.rows.get(*i).unwrap().seq == 500)
        .unwrap();
    assert!(at > 0, "not on top");
    assert_eq!(a.pager.total, Some(1286), "both count");
}

#[test]
fn a_filter_change_restarts_the_follower_after_the_new_first_page() {
    let mut a = app(120, 32);
    let old = start_follow(&mut a);
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "printer");
    let fx = key(&mut a, KeyCode::Enter);
    assert!(fx.contains(&Effect::StopFollow), "{fx:?}");
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Follow { .. })),
        "not before the page"
    );
    // A late report of the old follower is dropped.
    arrive(&mut a, old, 200..=205);
    assert!(a.pager.rows.is_empty());
    let load = a.generation();
    let page = vec![live(7, "printer.on_fire"), live(5, "printer.on_fire")];
    let fx = a.update(Action::Page {
        load,
        result: Ok(Page {
            entries: page,
            next_cursor: None,
        }),
    });
    let (follower, after) = fx
        .iter()
        .find_map(|e| match e {
            Effect::Follow {
                follower, after, ..
            } => Some((*follower, *after)),
            _ => None,
        })
        .expect("following resumes on the new rows");
    assert_ne!(follower, old);
    assert_eq!(after, Some(7));
    assert_eq!(a.query.text, vec!["printer".to_string()]);
}

#[test]
fn a_dropped_connection_says_when_it_retries_and_a_refusal_stops_following() {
    let mut a = app(120, 32);
    let follower = start_follow(&mut a);
    a.update(Action::Live {
        follower,
        event: Live::Connected,
    });
    let refused = || ClientError::Unreachable {
        url: "http://x".into(),
        reason: "connection refused".into(),
    };
    // The stream broke: the follower retries, and the server is asked at once whether it is
    // there (a proxy's cut is no outage).
    a.update(Action::Live {
        follower,
        event: Live::Dropped {
            error: refused(),
            retry_in: StdDuration::from_secs(4),
        },
    });
    let s = screen(&a, 120, 32);
    assert!(s.contains("● live: reconnecting in 4s"), "{s}");
    insta::assert_snapshot!(s);
    let fx = a.update(Action::Tick(now() + Duration::milliseconds(250)));
    assert!(fx.contains(&Effect::Probe), "{fx:?}");
    // Connecting again was refused: the server does not answer, since then.
    a.update(Action::Live {
        follower,
        event: Live::Dropped {
            error: refused(),
            retry_in: StdDuration::from_secs(8),
        },
    });
    let s = screen(&a, 120, 32);
    assert!(s.contains("OFFLINE since 12:00:00Z"), "{s}");
    assert!(!s.contains("● live"), "{s}");
    assert!(
        s.contains("the server stopped answering at 12:00:00Z (cannot reach"),
        "{s}"
    );
    // It answers again: following starts again at once, after the newest seq there is.
    let newest = a.pager.rows.max_seq();
    let fx = a.update(Action::Health(Ok(())));
    let resumed = fx.iter().find_map(|e| match e {
        Effect::Follow {
            follower, after, ..
        } => Some((*follower, *after)),
        _ => None,
    });
    let (follower, after) = resumed.expect("a new follower at once");
    assert_eq!(after, newest);
    let s = screen(&a, 120, 32);
    assert!(s.contains("back online"), "{s}");
    assert!(!s.contains("OFFLINE"), "{s}");
    a.update(Action::Live {
        follower,
        event: Live::Failed(ClientError::Unauthorized("the token was revoked".into())),
    });
    assert!(a.conn.follow.is_none());
    let s = screen(&a, 120, 32);
    assert!(
        s.contains("stopped following: the server refused the token"),
        "{s}"
    );
    assert!(s.contains("connected"));
}

#[test]
fn f_again_stops_following() {
    let mut a = app(120, 32);
    start_follow(&mut a);
    let fx = key(&mut a, KeyCode::Char('F'));
    assert_eq!(fx, vec![Effect::StopFollow]);
    let s = screen(&a, 120, 32);
    assert!(s.contains("stopped following") && !s.contains("● live"));
}

#[test]
fn no_color_keeps_the_live_state_and_new_rows_readable() {
    let mut a = app_with(ColorDepth::None, 80, 24, rows());
    let follower = start_follow(&mut a);
    a.update(Action::Live {
        follower,
        event: Live::Connected,
    });
    key(&mut a, KeyCode::Char('j'));
    arrive(&mut a, follower, 100..=101);
    let t = draw(&a, 80, 24);
    let s = t.backend().to_string();
    assert!(s.contains("● live") && s.contains("▲ 2 new"), "{s}");
    for y in 0..24 {
        for x in 0..80 {
            let c = &t.backend().buffer()[(x, y)];
            assert!(
                c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset,
                "no colour at {x},{y}"
            );
        }
    }
    insta::assert_snapshot!(s);
}
