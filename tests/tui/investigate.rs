//! Investigating fast (TUI.md, issue 17): pivots, the window around an entry, going back,
//! history in the `:` bar, marks, the histogram with its axis and focus, wrapped details,
//! scrolling help, the dead-server header, counts; and that an idle tick draws nothing.
//! Every new view at 80×24 and 200×50, snapshotted.

use crate::fixtures as tui_fixtures;
use tui_fixtures::*;

use chrono::Duration;
use crossterm::event::KeyCode;
use trailscope::client::ClientError;
use trailscope::model::{Around, Page, Query, Stats, StatsBucket};
use trailscope::tui::memory::{History, Snapshot};
use trailscope::tui::theme::ColorDepth;
use trailscope::tui::{Action, App, Effect};

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

/// The first page of the load the last effects started.
fn page(a: &mut App, entries: Vec<trailscope::model::Entry>) -> Vec<Effect> {
    let load = a.generation();
    a.update(Action::Page {
        load,
        result: Ok(Page {
            entries,
            next_cursor: None,
        }),
    })
}

#[test]
fn the_pivot_menu_lists_the_rows_values_and_a_letter_filters_on_one() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        key(&mut a, KeyCode::Char('='));
        let s = screen(&a, w, h);
        assert!(s.contains("Filter on"), "{s}");
        assert!(
            s.contains("Alice Smith (u_17)"),
            "the user as the table shows it: {s}"
        );
        insta::assert_snapshot!(format!("pivot_menu_{w}x{h}"), s);
        let fx = key(&mut a, KeyCode::Char('u'));
        assert_eq!(a.query.actors, ["u_17"]);
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::FetchPage { query, .. } if query.actors == ["u_17"])),
            "the table reloads under the pivot: {fx:?}"
        );
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::Remember(Snapshot::History(h)) if h.last().is_some_and(|l| l.contains("actor:u_17")))),
            "the new filter is remembered: {fx:?}"
        );
    }
}

#[test]
fn minus_excludes_and_esc_cancels() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('-'));
    assert!(screen(&a, 80, 24).contains("Exclude"));
    key(&mut a, KeyCode::Char('c'));
    assert_eq!(a.query.exclude.channels, ["admin"]);
    assert!(a.query.to_string().contains("-channel:admin"));
    let before = a.query.clone();
    key(&mut a, KeyCode::Char('='));
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.query, before);
    assert!(!screen(&a, 80, 24).contains("Filter on"));
}

#[test]
fn in_the_detail_pane_the_value_under_the_cursor_is_the_pivot() {
    let mut a = app(200, 50);
    key(&mut a, KeyCode::Enter);
    let d = a.pane.detail.as_ref().unwrap();
    let at = d
        .tree
        .rows()
        .iter()
        .position(|r| r.path == "/channel")
        .unwrap();
    for _ in 0..at {
        key(&mut a, KeyCode::Down);
    }
    key(&mut a, KeyCode::Char('='));
    assert_eq!(a.query.channels, ["admin"]);
    // A value that is no known field becomes a quoted text term.
    let mut a = app(200, 50);
    key(&mut a, KeyCode::Enter);
    let at = a
        .pane
        .detail
        .as_ref()
        .unwrap()
        .tree
        .rows()
        .iter()
        .position(|r| r.path == "/details/after/base_url")
        .unwrap();
    for _ in 0..at {
        key(&mut a, KeyCode::Down);
    }
    key(&mut a, KeyCode::Char('='));
    assert_eq!(a.query.text, ["https://new.example.com"]);
    assert!(a.query.to_string().contains("\"https://new.example.com\""));
}

#[test]
fn around_shows_the_window_keeps_the_entry_selected_and_w_widens() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        key(&mut a, KeyCode::Down);
        key(&mut a, KeyCode::Down);
        let picked = a.current().unwrap();
        let fx = key(&mut a, KeyCode::Char('w'));
        assert_eq!(a.query.around, Some(Around::new(picked.occurred_at)));
        assert_eq!(a.query.from, None, "no other filter");
        assert!(fx.iter().any(|e| matches!(e, Effect::FetchPage { .. })));
        // The window's first page: the entry is selected where it lands, and marked.
        let rows = rows();
        page(&mut a, rows.clone());
        assert_eq!(a.current().unwrap().id, picked.id);
        let s = screen(&a, w, h);
        assert!(s.contains("around 2026-11-21 09:50:00Z ±15m"), "{s}");
        assert!(s.contains('▶'), "the anchor is marked: {s}");
        insta::assert_snapshot!(format!("around_{w}x{h}"), s);
        key(&mut a, KeyCode::Char('W'));
        assert_eq!(a.query.around.map(|x| (x.amount, x.unit)), Some((2, 'h')));
    }
}

#[test]
fn backspace_goes_back_through_the_filters_applied() {
    let mut a = app(80, 24);
    let start = a.query.to_string();
    key(&mut a, KeyCode::Char('='));
    key(&mut a, KeyCode::Char('c'));
    page(&mut a, rows());
    key(&mut a, KeyCode::Char('-'));
    key(&mut a, KeyCode::Char('a'));
    assert_eq!(
        a.query.to_string(),
        format!("-action:integration_credentials_updated channel:admin {start}")
    );
    key(&mut a, KeyCode::Backspace);
    assert_eq!(a.query.to_string(), format!("channel:admin {start}"));
    key(&mut a, KeyCode::Backspace);
    assert_eq!(a.query.to_string(), start);
    key(&mut a, KeyCode::Backspace);
    assert_eq!(a.query.to_string(), start);
    assert!(screen(&a, 80, 24).contains("no earlier filter"));
}

#[test]
fn the_query_bar_walks_the_history_with_up_and_down() {
    let mut a = app(80, 24).with_memory(trailscope::tui::app::Memory {
        history: History::from_lines(vec![
            "channel:auth since:7d".into(),
            "ip:198.51.100.77".into(),
        ]),
        ..Default::default()
    });
    key(&mut a, KeyCode::Char(':'));
    key(&mut a, KeyCode::Up);
    let s = screen(&a, 80, 24);
    assert!(s.contains(" : ip:198.51.100.77"), "{s}");
    insta::assert_snapshot!("query_bar_history_80x24", s);
    insta::assert_snapshot!("query_bar_history_200x50", screen(&a, 200, 50));
    key(&mut a, KeyCode::Up);
    assert!(screen(&a, 80, 24).contains(" : channel:auth since:7d"));
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Down);
    assert!(screen(&a, 80, 24).contains(" : since:7d"));
    key(&mut a, KeyCode::Up);
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.query.ips, ["198.51.100.77"]);
}

#[test]
fn a_mark_shows_beside_the_row_and_is_remembered_for_this_server() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        key(&mut a, KeyCode::Down);
        let fx = key(&mut a, KeyCode::Char('m'));
        let id = a.current().unwrap().id;
        assert!(
            matches!(&fx[..], [Effect::Remember(Snapshot::Marks(m))] if m["prod (https://audit.example.com)"].contains(&id)),
            "{fx:?}"
        );
        let s = screen(&a, w, h);
        assert!(s.contains("1 entry marked on this server"), "{s}");
        insta::assert_snapshot!(format!("marked_{w}x{h}"), s);
        key(&mut a, KeyCode::Char('m'));
        assert!(!a.is_marked(&id));
    }
}

#[test]
fn the_histogram_has_an_axis_keeps_small_buckets_and_can_be_focused() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        // A spike next to two tiny buckets: both tiny ones stay visible.
        let load = a.generation();
        let buckets: Vec<StatsBucket> = (0..24)
            .map(|i| StatsBucket {
                start: now() - Duration::hours(24 - i),
                count: match i {
                    5 => 1,
                    12 => 5000,
                    20 => 2,
                    _ => 0,
                },
            })
            .collect();
        a.update(Action::Stats {
            load,
            result: Ok(Stats {
                total: 5003,
                from: None,
                to: None,
                bucket_seconds: 3600,
                buckets,
                estimate: false,
            }),
        });
        let s = screen(&a, w, h);
        let spark = s.lines().nth(2).unwrap();
        assert!(spark.contains("11-20 12:00"), "first time: {spark}");
        assert!(
            spark.contains("11-21 11:59 ▲5,000"),
            "last time and peak: {spark}"
        );
        assert!(
            spark.matches('▁').count() >= 2,
            "tiny buckets stay visible: {spark}"
        );
        assert!(spark.contains('█'), "{spark}");
        key(&mut a, KeyCode::Tab);
        assert_eq!(
            a.spark_range().map(|r| r.2),
            Some(5000),
            "the focus lands on the highest bar"
        );
        for _ in 0..4 {
            key(&mut a, KeyCode::Left);
        }
        let s = screen(&a, w, h);
        assert!(s.contains("narrow to it"), "{s}");
        insta::assert_snapshot!(format!("histogram_focused_{w}x{h}"), s);
        let (from, to, _) = a.spark_range().unwrap();
        key(&mut a, KeyCode::Enter);
        assert_eq!(
            a.query.from.as_ref().map(|b| b.to_string()),
            Some(trailscope::model::format_ts(&from))
        );
        assert_eq!(
            a.query.to.as_ref().map(|b| b.to_string()),
            Some(trailscope::model::format_ts(&to))
        );
        key(&mut a, KeyCode::Backspace);
        assert_eq!(
            a.query,
            Query {
                ..trailscope::tui::default_query()
            }
        );
    }
}

#[test]
fn long_values_wrap_in_the_detail_pane_and_stepping_keeps_the_path() {
    let long = "Grace Whitfield signed in from 198.51.100.77 (password only, no MFA) after 47 failed attempts in nine minutes; the session then created an admin account";
    for (w, h) in SIZES {
        let mut entries = rows();
        entries[0].description = Some(long.into());
        entries[1].description = Some(format!("{long} (again)"));
        let mut a = app_with(ColorDepth::TrueColor, w, h, entries);
        key(&mut a, KeyCode::Enter);
        let at = a
            .pane
            .detail
            .as_ref()
            .unwrap()
            .tree
            .rows()
            .iter()
            .position(|r| r.path == "/description")
            .unwrap();
        for _ in 0..at {
            key(&mut a, KeyCode::Down);
        }
        let s = screen(&a, w, h);
        assert!(
            s.contains("admin account"),
            "the end of the value is on screen: {s}"
        );
        insta::assert_snapshot!(format!("details_wrapped_{w}x{h}"), s);
        key(&mut a, KeyCode::Char(']'));
        let d = a.pane.detail.as_ref().unwrap();
        assert_eq!(
            d.tree.rows()[d.cursor].path,
            "/description",
            "the same path"
        );
        let s = screen(&a, w, h);
        assert!(s.contains("(again)"), "{s}");
    }
}

#[test]
fn help_scrolls_fits_80x24_and_lists_the_query_language() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('?'));
    let top = screen(&a, 80, 24);
    assert!(top.contains("scroll"), "{top}");
    insta::assert_snapshot!("help_80x24_top", top);
    // Line by line to the end: every line of the help is seen on the way.
    let mut seen = top.clone();
    for _ in 0..60 {
        key(&mut a, KeyCode::Down);
        seen.push_str(&screen(&a, 80, 24));
    }
    let end = screen(&a, 80, 24);
    for needle in [
        "quit",
        "ip:",
        "around:",
        "-field:value",
        "field:a field:b",
        "wheel",
    ] {
        assert!(seen.contains(needle), "{needle} is in the help");
    }
    insta::assert_snapshot!("help_80x24_end", end);
    // Scrolling back up answers at once: the scroll stops at the end.
    key(&mut a, KeyCode::Up);
    assert_ne!(screen(&a, 80, 24), end);
    key(&mut a, KeyCode::Esc);
    assert!(!screen(&a, 80, 24).contains("Keys — table"));
    let mut a = app(200, 50);
    key(&mut a, KeyCode::Char('?'));
    insta::assert_snapshot!("help_200x50", screen(&a, 200, 50));
}

#[test]
fn a_server_that_stops_answering_shows_in_the_header_with_no_key() {
    let mut a = app(80, 24);
    let mut probes = 0;
    for i in 0..8 {
        let fx = a.update(Action::Tick(now() + Duration::milliseconds(250 * i)));
        let n = fx.iter().filter(|e| matches!(e, Effect::Probe)).count();
        probes += n;
        if i == 0 {
            // Unanswered, a probe is never sent twice.
            let again = a.update(Action::Tick(now() + Duration::milliseconds(1600)));
            assert!(!again.iter().any(|e| matches!(e, Effect::Probe)));
        }
        if n > 0 {
            a.update(Action::Health(Ok(())));
        }
    }
    assert_eq!(probes, 2, "one probe every 1.5 s");
    a.update(Action::Health(Err(ClientError::Unreachable {
        url: "http://127.0.0.1:1".into(),
        reason: "connection refused".into(),
    })));
    let s = screen(&a, 80, 24);
    assert!(s.contains("OFFLINE since 12:00:01Z"), "{s}");
    insta::assert_snapshot!("dead_server_80x24", s);
    insta::assert_snapshot!("dead_server_200x50", screen(&a, 200, 50));
    a.update(Action::Health(Ok(())));
    assert!(screen(&a, 80, 24).contains("connected"));
}

#[test]
fn counts_are_grammatical_and_the_position_says_of_how_many() {
    let mut a = app(80, 24);
    let load = a.generation();
    a.update(Action::Stats {
        load,
        result: Ok(Stats {
            total: 1,
            from: None,
            to: None,
            bucket_seconds: 3600,
            buckets: vec![],
            estimate: false,
        }),
    });
    let s = screen(&a, 80, 24);
    assert!(s.contains("─ 1 entry ─"), "{s}");
    assert!(s.contains("row 1 of 45"), "never fewer than loaded: {s}");
    // While counting: of what is loaded, and more.
    key(&mut a, KeyCode::Char('r'));
    let load = a.generation();
    a.update(Action::Page {
        load,
        result: Ok(Page {
            entries: rows(),
            next_cursor: Some("more".into()),
        }),
    });
    let s = screen(&a, 80, 24);
    assert!(s.contains("row 1 of 45+"), "{s}");
    assert!(s.contains("… entries"), "{s}");
}

#[test]
fn an_idle_tick_draws_nothing_and_a_change_draws_one_frame() {
    let mut a = app(80, 24);
    // The prefetch the fixture started ends: nothing is loading.
    page(&mut a, vec![]);
    a.take_dirty();
    // Well inside a probe period: nothing on screen can change.
    let t = now() + Duration::seconds(10);
    a.update(Action::Tick(t));
    a.take_dirty();
    a.update(Action::Health(Ok(())));
    a.update(Action::Tick(t + Duration::milliseconds(250)));
    assert!(
        !a.take_dirty(),
        "an idle tick and a healthy probe draw nothing"
    );
    key(&mut a, KeyCode::Down);
    assert!(a.take_dirty(), "a key draws");
    assert!(!a.take_dirty());
    // Relative ages count seconds: a tick that moves the second draws.
    key(&mut a, KeyCode::Char('t'));
    key(&mut a, KeyCode::Char('t'));
    a.take_dirty();
    a.update(Action::Tick(t + Duration::seconds(2)));
    assert!(a.take_dirty());
}

/// Opens the filter pane on Outcome with its values loaded, and picks `failure`.
fn pick_failure_in_the_pane(a: &mut App) {
    key(a, KeyCode::Char('f'));
    let mut asked = None;
    for _ in 0..5 {
        for e in key(a, KeyCode::Tab) {
            if let Effect::FetchFacets { load, field, .. } = e {
                asked = Some((load, field));
            }
        }
    }
    let (load, field) = asked.expect("the pane asks for the outcome's values");
    a.update(Action::Facets {
        load,
        field,
        result: Ok(trailscope::model::Facets {
            field,
            values: ["failure", "success"]
                .map(|v| trailscope::model::FacetValue {
                    value: v.into(),
                    count: 3,
                    label: None,
                })
                .to_vec(),
            estimate: false,
        }),
    });
    key(a, KeyCode::Char(' '));
}

#[test]
fn esc_in_the_filter_pane_undoes_what_it_applied_and_backspace_skips_its_drafts() {
    let mut a = app(80, 24);
    let start = a.query.clone();
    pick_failure_in_the_pane(&mut a);
    assert_eq!(
        a.query.outcomes,
        [trailscope::model::Outcome::Failure],
        "the pane applies as the user picks"
    );
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.query, start, "Esc puts the filter back");
    // Enter keeps it, and Backspace returns to the filter before the pane.
    pick_failure_in_the_pane(&mut a);
    key(&mut a, KeyCode::Enter);
    assert_ne!(a.query, start);
    key(&mut a, KeyCode::Backspace);
    assert_eq!(a.query, start);
}

#[test]
fn on_a_file_e_and_i_say_up_front_what_they_cannot_do() {
    let mut a = app(80, 24).with_link(trailscope::tui::link::Link::File {
        name: "trail.ndjson".into(),
        warning: None,
    });
    let fx = key(&mut a, KeyCode::Char('E'));
    assert!(fx.is_empty());
    let s = screen(&a, 80, 24);
    assert!(s.contains("evidence packs are built by the server"), "{s}");
    insta::assert_snapshot!("file_evidence_refused_80x24", s);
    insta::assert_snapshot!("file_evidence_refused_200x50", screen(&a, 200, 50));
    let fx = key(&mut a, KeyCode::Char('i'));
    assert!(
        fx.is_empty(),
        "nothing is asked of a server that is not there"
    );
    let s = screen(&a, 80, 24);
    assert!(s.contains("this is an export file"), "{s}");
    assert!(!s.contains("pruned"), "{s}");
    insta::assert_snapshot!("file_info_80x24", s);
    insta::assert_snapshot!("file_info_200x50", screen(&a, 200, 50));
}

#[test]
fn d_without_before_and_after_says_so() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('d'));
    let s = screen(&a, 80, 24);
    assert!(s.contains("no before and after to compare"), "{s}");
    insta::assert_snapshot!("no_diff_80x24", s);
    insta::assert_snapshot!("no_diff_200x50", screen(&a, 200, 50));
}

#[test]
fn following_a_server_that_stops_answering_is_not_live() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('F'));
    a.update(Action::Health(Err(ClientError::Unreachable {
        url: "http://127.0.0.1:1".into(),
        reason: "connection refused".into(),
    })));
    let s = screen(&a, 80, 24);
    let header = s.lines().next().unwrap();
    assert!(
        header.contains("OFFLINE") && !header.contains("● live"),
        "{s}"
    );
}

#[test]
fn a_long_footer_message_is_shown_whole_at_80_columns() {
    let mut a = app(80, 24);
    let long = "the demo trail is in: 54,396 entries over 30 days, and the automation keeps working: F follows it live, ? lists every key";
    a.update(Action::Notice(long.into()));
    let s = screen(&a, 80, 24);
    assert!(s.contains("lists every key"), "{s}");
    insta::assert_snapshot!("long_footer_80x24", s);
    insta::assert_snapshot!("long_footer_200x50", screen(&a, 200, 50));
    // The selected row stays in view when the footer grows.
    let mut a = app(80, 24);
    for _ in 0..16 {
        key(&mut a, KeyCode::Down);
    }
    a.update(Action::Notice(long.into()));
    let h = a.page_rows();
    assert!(a.pager.selected < a.pager.offset + h);
}

#[test]
fn quote_shows_only_the_marked_entries_and_export_offers_them_alone() {
    for (w, h) in SIZES {
        let mut a = app(w, h);
        key(&mut a, KeyCode::Char('\''));
        assert!(screen(&a, w, h).contains("nothing is marked on this server yet"));
        key(&mut a, KeyCode::Down);
        key(&mut a, KeyCode::Char('m'));
        key(&mut a, KeyCode::Down);
        key(&mut a, KeyCode::Char('m'));
        let marked = a.marked_ids();
        assert_eq!(marked.len(), 2);
        // The export dialog offers the marked entries alone (Ctrl-o).
        key(&mut a, KeyCode::Char('e'));
        a.update(Action::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('o'),
            crossterm::event::KeyModifiers::CONTROL,
        )));
        let s = screen(&a, w, h);
        assert!(s.contains("[x] the 2 entries marked on this server"), "{s}");
        insta::assert_snapshot!(format!("export_marked_only_{w}x{h}"), s);
        let fx = key(&mut a, KeyCode::Enter);
        assert!(
            fx.iter().any(|e| matches!(e, Effect::Download(job) if matches!(&job.what,
                trailscope::tui::action::DownloadKind::Export { query, .. } if query.ids.len() == 2 && query.from.is_none()))),
            "{fx:?}"
        );
        // `'`: the case, and nothing else.
        let mut a = app(w, h);
        key(&mut a, KeyCode::Down);
        key(&mut a, KeyCode::Char('m'));
        let fx = key(&mut a, KeyCode::Char('\''));
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::FetchPage { query, .. } if query.ids == a.marked_ids() && query.from.is_none())),
            "{fx:?}"
        );
        let s = screen(&a, w, h);
        assert!(s.contains("filter: the 1 entry marked"), "{s}");
        insta::assert_snapshot!(format!("marked_only_{w}x{h}"), s);
    }
}

#[test]
fn without_colour_the_histogram_cursor_and_the_local_time_still_show() {
    let mut a = app_with(ColorDepth::None, 80, 24, rows());
    key(&mut a, KeyCode::Tab);
    let t = draw(&a, 80, 24);
    let buf = t.backend().buffer();
    let reversed = (0..80u16).any(|x| {
        buf[(x, 2)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    });
    assert!(
        reversed,
        "the picked bucket is shown reversed, colour or not"
    );
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('t'));
    let s = screen(&a, 80, 24);
    assert!(s.contains("When (local)"), "{s}");
}

/// Issue 17, defect 15: at 80×24 the filter pane's bottom border sat right above the table's,
/// two borders stacked. An overlay that leaves a sliver of a row or two takes it.
#[test]
fn an_overlay_never_leaves_two_bottom_borders_stacked() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut a = app(w, h);
        key(&mut a, KeyCode::Char('f'));
        let s = screen(&a, w, h);
        assert!(s.contains("type to narrow"), "{s}");
        let lines: Vec<&str> = s.lines().collect();
        for pair in lines.windows(2) {
            let corner = |l: &str| l.trim_start_matches(['"', ' ']).starts_with('└');
            assert!(!(corner(pair[0]) && corner(pair[1])), "{s}");
        }
        insta::assert_snapshot!(format!("filter_pane_{w}x{h}"), s);
    }
}
