//! Issue 25 points 3 and 4: bulk marks (`M` a range, `*` every entry the filter matches, `U`
//! unmark them) with the count shown, the limit past which marking is refused with a clear
//! message, and the evidence dialog's title field and "marked" kind, whose pack carries any
//! number of marks up to the limit without the server refusing its title.

use crate::fixtures as tui_fixtures;
use tui_fixtures::*;

use crossterm::event::KeyCode;
use trailscope::model::{Query, Stats};
use trailscope::tui::action::DownloadKind;
use trailscope::tui::marks::MAX_MARKS;
use trailscope::tui::{Action, App, Effect};

/// `*` (or `U`): the effect asking for the matching ids, answered with `ids`.
fn matched(a: &mut App, key_ch: char, ids: Vec<String>, more: bool) -> String {
    let fx = key(a, KeyCode::Char(key_ch));
    let (load, mark) = fx
        .iter()
        .find_map(|e| match e {
            Effect::FetchIds {
                load,
                query,
                limit,
                mark,
            } => {
                assert_eq!(*query, a.query, "the filter in force");
                assert_eq!(*limit, MAX_MARKS);
                Some((*load, *mark))
            }
            _ => None,
        })
        .expect("the ids are asked for");
    assert_eq!(mark, key_ch == '*');
    a.update(Action::Matched {
        load,
        mark,
        result: Ok((ids, more)),
    });
    screen(a, 80, 24)
}

/// The count under the filter, as the server's stats say it.
fn counted_as(a: &mut App, total: u64) {
    let load = a.generation();
    a.update(Action::Stats {
        load,
        result: Ok(Stats {
            total,
            from: None,
            to: None,
            bucket_seconds: 3600,
            buckets: Vec::new(),
            estimate: false,
        }),
    });
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("01JCASE{i:019}")).collect()
}

#[test]
fn star_marks_every_entry_the_filter_matches_and_u_unmarks_them() {
    let mut a = app(80, 24);
    counted_as(&mut a, 92);
    let s = matched(&mut a, '*', ids(92), false);
    assert!(
        s.contains("marked 92 entries the filter matches: 92 entries marked"),
        "{s}"
    );
    assert!(
        s.contains("● 92 marked · row 1 of"),
        "the count stays in view:\n{s}"
    );
    insta::assert_snapshot!("marked_all_80x24", s);
    assert_eq!(a.marked_count(), 92);
    // `'` shows the case; `U` there unmarks the lot.
    let s = matched(&mut a, 'U', ids(92)[..40].to_vec(), false);
    assert!(
        s.contains("unmarked 40 entries the filter matches: 52 entries marked"),
        "{s}"
    );
    assert_eq!(a.marked_count(), 52);
}

#[test]
fn past_the_limit_nothing_is_marked_and_the_message_says_why() {
    let mut a = app(80, 24);
    // The count under the filter is known: refused before anything is fetched.
    assert_eq!(a.pager.total, Some(1284));
    let fx = key(&mut a, KeyCode::Char('*'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::FetchIds { .. })));
    let s = screen(&a, 80, 24);
    assert!(
        s.contains("the filter matches 1,284 entries; at most 1,000"),
        "{s}"
    );
    assert_eq!(a.marked_count(), 0);
    // Not known (still counting): the list comes back longer than the limit.
    counted_as(&mut a, 900);
    let s = matched(&mut a, '*', ids(MAX_MARKS), true);
    assert!(s.contains("more than 1,000 entries"), "{s}");
    assert_eq!(a.marked_count(), 0);
    // Marks already there count towards the limit.
    matched(&mut a, '*', ids(MAX_MARKS - 5), false);
    let s = matched(
        &mut a,
        '*',
        (0..10).map(|i| format!("01JOTHER{i:018}")).collect(),
        false,
    );
    assert!(s.contains("at most 1,000 can be marked"), "{s}");
    assert_eq!(a.marked_count(), MAX_MARKS - 5);
}

#[test]
fn capital_m_marks_the_rows_from_the_last_mark_to_here_and_again_unmarks_them() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('M'));
    assert!(screen(&a, 80, 24).contains("mark a first entry with m"));
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Char('m'));
    for _ in 0..5 {
        key(&mut a, KeyCode::Down);
    }
    let fx = key(&mut a, KeyCode::Char('M'));
    assert!(fx.iter().any(|e| matches!(e, Effect::Remember(_))));
    let s = screen(&a, 80, 24);
    assert!(
        s.contains("marked 5 entries (rows 2–7): 6 entries marked"),
        "{s}"
    );
    assert_eq!(a.marked_count(), 6);
    let marked_rows = s.lines().filter(|l| l.contains('●')).count();
    assert!(marked_rows >= 6, "{s}");
    insta::assert_snapshot!("marked_range_80x24", s);
    key(&mut a, KeyCode::Char('M'));
    assert_eq!(a.marked_count(), 0, "all were marked: M unmarks them");
}

#[test]
fn a_pack_of_92_marked_entries_has_a_title_the_server_takes() {
    let mut a = app(80, 24);
    counted_as(&mut a, 92);
    matched(&mut a, '*', ids(92), false);
    key(&mut a, KeyCode::Char('E'));
    let s = screen(&a, 80, 24);
    // With marks, the dialog starts on them, titled in words.
    assert!(s.contains("the 92 entries marked (the case)"), "{s}");
    assert!(s.contains("Title     the 92 entries marked"), "{s}");
    insta::assert_snapshot!("evidence_marked_80x24", s);
    for size in [(60, 20), (200, 50)] {
        insta::assert_snapshot!(
            format!("evidence_marked_{}x{}", size.0, size.1),
            screen(&a, size.0, size.1)
        );
    }
    let fx = key(&mut a, KeyCode::Enter);
    let [Effect::Download(job)] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    let DownloadKind::Pack(p) = &job.what else {
        panic!("{job:?}");
    };
    assert_eq!(p.title.as_deref(), Some("the 92 entries marked"));
    let q: Query = p.filter.as_deref().unwrap().parse().unwrap();
    assert_eq!(q.ids.len(), 92);
}

#[test]
fn a_title_over_200_characters_is_refused_in_place() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('E'));
    for _ in 0..5 {
        key(&mut a, KeyCode::Tab);
    }
    typed(&mut a, &"x".repeat(201));
    let fx = key(&mut a, KeyCode::Enter);
    assert!(fx.is_empty(), "{fx:?}");
    let s = screen(&a, 80, 24);
    assert!(
        s.contains("the title has 201 characters; at most 200"),
        "{s}"
    );
    // Focus shows without colour: the marker is on the title alone.
    assert_eq!(s.matches('▸').count(), 1, "{s}");
    assert!(s.contains("▸ Title"), "{s}");
}

/// Issue 25 point 5: at 60 columns the table keeps Actor (Action gives room) and When its
/// seconds; the info view marks what it cuts with `…`.
#[test]
fn at_60_columns_actor_and_seconds_stay_and_cuts_are_marked() {
    let mut a = app(60, 20);
    let s = screen(&a, 60, 20);
    assert!(s.contains("Actor"), "{s}");
    assert!(s.contains("11-21 10:00:00"), "the seconds:\n{s}");
    assert!(s.contains("Alice Smith"), "{s}");
    insta::assert_snapshot!("table_60x20", s);
    key(&mut a, KeyCode::Char('i'));
    let s = screen(&a, 60, 20);
    assert!(s.contains('…'), "{s}");
    insta::assert_snapshot!("info_60x20", s);
}

/// Issue 25 point 5: the export dialog and help at 60×20, 80×24 and 200×50, with the focused
/// field marked without colour.
#[test]
fn the_export_dialog_and_help_at_every_size() {
    for (w, h) in [(60, 20), (80, 24), (200, 50)] {
        let mut a = app_with(
            trailscope::tui::theme::ColorDepth::None,
            w,
            h,
            tui_fixtures::rows(),
        );
        key(&mut a, KeyCode::Char('e'));
        let s = screen(&a, w, h);
        assert!(s.contains("▸ Save to"), "{s}");
        assert!(s.contains("⏎ export"), "the hint fits:\n{s}");
        insta::assert_snapshot!(format!("export_dialog_{w}x{h}"), s);
        key(&mut a, KeyCode::Esc);
        key(&mut a, KeyCode::Char('?'));
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen(&a, w, h));
    }
}
