//! Render tests: the TUI's views drawn into ratatui's TestBackend from a fixed state, snapshotted.

use crate::fixtures as tui_fixtures;
use tui_fixtures::*;

use chrono::Duration;
use crossterm::event::KeyCode;
use ratatui::style::Color;
use serde_json::json;
use trailscope::client::ClientError;
use trailscope::model::{Entry, FacetField, FacetValue, Facets, Kind, Outcome, Page};
use trailscope::tui::keymap::Keymap;
use trailscope::tui::theme::{ColorDepth, Theme};
use trailscope::tui::{Action, App, Effect, Settings, default_query};

#[test]
fn table_120x32() {
    let a = app(120, 32);
    insta::assert_snapshot!(screen(&a, 120, 32));
}

#[test]
fn table_80x24_folds_description_and_target() {
    let a = app(80, 24);
    let s = screen(&a, 80, 24);
    assert!(!s.contains("Description") && !s.contains("Target"));
    insta::assert_snapshot!(s);
}

#[test]
fn when_column_cycles_to_relative() {
    let mut a = app(120, 32);
    key(&mut a, KeyCode::Char('t'));
    key(&mut a, KeyCode::Char('t'));
    let s = screen(&a, 120, 32);
    assert!(s.contains("3m ago") && s.contains("2h ago"), "{s}");
}

#[test]
fn kind_badges_are_coloured_and_failures_bold() {
    let a = app(120, 32);
    let t = draw(&a, 120, 32);
    let buf = t.backend().buffer();
    let find = |needle: &str| -> (u16, u16) {
        for y in 0..buf.area.height {
            let line: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            if let Some(i) = line.find(needle) {
                return (line[..i].chars().count() as u16, y);
            }
        }
        panic!("{needle} not on screen");
    };
    let (x, y) = find("created ");
    assert_eq!(buf[(x, y)].fg, Color::Rgb(52, 211, 153));
    let (x, y) = find("✗ other");
    assert!(
        buf[(x, y)]
            .modifier
            .contains(ratatui::style::Modifier::BOLD)
    );
    assert!(screen(&a, 120, 32).contains("[System]"));
}

#[test]
fn filter_pane_with_facets() {
    let mut a = app(120, 32);
    let fx = key(&mut a, KeyCode::Char('f'));
    let Some(Effect::FetchFacets { load, field, .. }) = fx.into_iter().next() else {
        panic!("no facet fetch")
    };
    assert_eq!(field, FacetField::Action);
    let values = [
        ("ticket.created", 800),
        ("user.login", 312),
        ("integration_credentials_updated", 4),
        ("api_key_deleted", 2),
    ];
    let values = values
        .iter()
        .map(|(v, c)| FacetValue {
            value: v.to_string(),
            count: *c,
            label: None,
        })
        .collect();
    a.update(Action::Facets {
        load,
        field,
        result: Ok(Facets {
            field,
            values,
            estimate: false,
        }),
    });
    typed(&mut a, "e");
    key(&mut a, KeyCode::Down);
    let fx = key(&mut a, KeyCode::Char(' '));
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::FetchPage { query, .. } if query.actions == ["user.login"])
        ),
        "{fx:?}"
    );
    insta::assert_snapshot!(screen(&a, 120, 32));
}

#[test]
fn filter_pane_rejects_a_bad_time_in_place() {
    let mut a = app(120, 32);
    key(&mut a, KeyCode::Char('f'));
    for _ in 0..6 {
        key(&mut a, KeyCode::Tab);
    }
    for _ in 0..3 {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "lastweek");
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    assert!(screen(&a, 120, 32).contains("From: `lastweek` is not a time"));
    for _ in 0..8 {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "yesterday");
    let fx = key(&mut a, KeyCode::Enter);
    assert!(fx.iter().any(|e| matches!(e, Effect::FetchPage { query, .. } if query.to_string().contains("from:yesterday"))), "{fx:?}");
}

#[test]
fn query_bar_parse_error_keeps_the_old_filter() {
    let mut a = app(100, 24);
    key(&mut a, KeyCode::Char(':'));
    typed(&mut a, "colour:red");
    let fx = key(&mut a, KeyCode::Enter);
    assert!(fx.is_empty(), "a bad filter must not reload");
    assert_eq!(a.query, default_query());
    insta::assert_snapshot!(screen(&a, 100, 24));
}

#[test]
fn search_narrows_and_clear_restores() {
    let mut a = app(120, 32);
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "printer");
    let fx = key(&mut a, KeyCode::Enter);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::FetchPage { query, .. } if query.text == ["printer"]))
    );
    assert!(a.pager.rows.is_empty());
    let fx = key(&mut a, KeyCode::Char('c'));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::FetchPage { query, .. } if *query == default_query()))
    );
}

#[test]
fn search_written_in_the_query_language_filters_by_its_fields() {
    let mut a = app(120, 32);
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "channel:auth outcome:failure");
    let fx = key(&mut a, KeyCode::Enter);
    let applied = fx
        .iter()
        .find_map(|e| match e {
            Effect::FetchPage { query, .. } => Some(query.clone()),
            _ => None,
        })
        .expect("the filter is applied");
    assert_eq!(applied.channels, ["auth"]);
    assert_eq!(applied.outcomes, [trailscope::model::Outcome::Failure]);
    assert!(applied.text.is_empty(), "{applied:?}");
    // The time range the filter had stays.
    assert_eq!(applied.from, default_query().from);
    // Text that only looks like it (a time, a quoted term) is still a substring.
    for literal in ["09:00", "\"channel:auth\""] {
        key(&mut a, KeyCode::Char('c'));
        key(&mut a, KeyCode::Char('/'));
        typed(&mut a, literal);
        let fx = key(&mut a, KeyCode::Enter);
        assert!(
            fx.iter().any(|e| matches!(e, Effect::FetchPage { query, .. } if query.text == [literal] && query.channels.is_empty())),
            "{literal}: {fx:?}"
        );
    }
}

fn open_details(w: u16, h: u16) -> App {
    let mut a = app(w, h);
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Enter);
    a
}

#[test]
fn details_unfolded() {
    let a = open_details(120, 40);
    insta::assert_snapshot!(screen(&a, 120, 40));
}

#[test]
fn details_folded_and_stepping() {
    let mut a = open_details(160, 32);
    // fold the actor object: move to it and press space
    let s = screen(&a, 160, 32);
    assert!(s.contains("\"actor\": ▾ {"), "{s}");
    let rows = a
        .pane
        .detail
        .as_ref()
        .unwrap()
        .tree
        .rows()
        .iter()
        .position(|r| r.path == "/actor")
        .unwrap();
    for _ in 0..rows {
        key(&mut a, KeyCode::Down);
    }
    key(&mut a, KeyCode::Char(' '));
    insta::assert_snapshot!(screen(&a, 160, 32));
    key(&mut a, KeyCode::Char('_'));
    assert!(screen(&a, 160, 32).contains("▸ {…} 6 keys") || screen(&a, 160, 32).contains("▸ {…}"));
    key(&mut a, KeyCode::Char(']'));
    assert_eq!(a.current().unwrap().seq, 58);
    assert!(a.pane.detail.as_ref().unwrap().entry_id.ends_with("58"));
    key(&mut a, KeyCode::Char('['));
    key(&mut a, KeyCode::Char('['));
    assert_eq!(a.current().unwrap().seq, 60);
    let fx = key(&mut a, KeyCode::Char('y'));
    assert!(matches!(&fx[..], [Effect::Copy(j)] if j.contains("\"seq\": 60")));
}

#[test]
fn diff_view() {
    let mut a = app(120, 32);
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('d'));
    let s = screen(&a, 120, 32);
    assert!(
        s.contains("- base_url: \"https://old.example.com\"") && s.contains("+ retries: 3"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn details_full_screen_on_z() {
    let mut a = open_details(80, 24);
    key(&mut a, KeyCode::Char('z'));
    let s = screen(&a, 80, 24);
    assert!(!s.contains("Action"), "{s}");
    assert!(s.contains("\"action\": \"ticket_created\""));
}

#[test]
fn help() {
    let mut a = app(100, 32);
    key(&mut a, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&a, 100, 32));
    key(&mut a, KeyCode::Esc);
    assert!(!screen(&a, 100, 32).contains("Keys — table"));
}

#[test]
fn hostile_entry_is_inert_everywhere() {
    let mut e = entry(
        61,
        1,
        "user.renamed",
        Kind::Updated,
        Outcome::Success,
        Some((
            "u_66",
            "Mallory\x1b[2J\x1b]52;c;cHduZWQ=\x07\r\u{202e}evil\u{9b}31m",
        )),
        Some(("user", "u\x1b[31m66")),
        "name set to \u{202e}gnp.exe\x1b[0m\x00 with \x07 bell",
    );
    e.details = Some(json!({"note\x1b[1m": "x\u{2066}y\u{85}"}).into());
    let mut a = app_with(ColorDepth::TrueColor, 120, 32, vec![e]);
    key(&mut a, KeyCode::Enter);
    let t = draw(&a, 120, 32);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()
                || ('\u{2066}'..='\u{2069}').contains(&c)
                || c == '\u{202e}'),
            "raw control in a cell: {:?}",
            cell.symbol()
        );
    }
    let s = t.backend().to_string();
    assert!(s.contains("Mallory\\x1b[2J"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn no_color_keeps_badges_readable() {
    let mut a = app_with(ColorDepth::None, 100, 24, rows());
    key(&mut a, KeyCode::Enter);
    let t = draw(&a, 100, 24);
    for cell in t.backend().buffer().content() {
        assert_eq!(
            (cell.fg, cell.bg),
            (Color::Reset, Color::Reset),
            "a colour under NO_COLOR at {:?}",
            cell.symbol()
        );
    }
    let s = t.backend().to_string();
    assert!(s.contains("updated") && s.contains("✗ other") && s.contains("[System]"));
    insta::assert_snapshot!(s);
}

#[test]
fn sixteen_and_256_colour_fallbacks() {
    for (depth, want) in [
        (ColorDepth::Ansi16, Color::Green),
        (ColorDepth::Ansi256, Color::Indexed(42)),
    ] {
        assert_eq!(Theme::new(depth).kind(Kind::Created).fg, Some(want));
    }
}

#[test]
fn tiny_20x5_and_every_size_down_to_it() {
    let mut a = app(20, 5);
    insta::assert_snapshot!(screen(&a, 20, 5));
    key(&mut a, KeyCode::Enter);
    for (w, h) in [
        (1, 1),
        (5, 2),
        (20, 5),
        (33, 7),
        (80, 10),
        (150, 12),
        (200, 50),
    ] {
        a.update(Action::Resize(w, h));
        for code in [
            KeyCode::Char('z'),
            KeyCode::Char('?'),
            KeyCode::Esc,
            KeyCode::Char('f'),
            KeyCode::Esc,
            KeyCode::Char(':'),
        ] {
            key(&mut a, code);
            draw(&a, w, h);
        }
        key(&mut a, KeyCode::Esc);
    }
}

#[test]
fn errors_read_as_sentences_with_advice() {
    let mut a = App::new(Settings {
        source: "http://127.0.0.1:9".into(),
        query: default_query(),
        keymap: Keymap::default(),
        theme: Theme::new(ColorDepth::None),
        views: vec![],
        now: now(),
        size: (100, 20),
    });
    let load = a.generation() + 1;
    a.start();
    a.update(Action::Page {
        load,
        result: Err(ClientError::Unreachable {
            url: "http://127.0.0.1:9".into(),
            reason: "Connection refused (os error 111)".into(),
        }),
    });
    let s = screen(&a, 100, 20);
    assert!(
        s.contains("OFFLINE")
            && s.contains("cannot reach http://127.0.0.1:9")
            && s.contains("retrying"),
        "{s}"
    );
    // A retry is scheduled: five seconds later the page is asked for again.
    let fx = a.update(Action::Tick(now() + Duration::seconds(6)));
    assert!(fx.iter().any(|e| matches!(e, Effect::FetchPage { .. })));
    let load = a.generation();
    a.update(Action::Page {
        load,
        result: Err(ClientError::Unauthorized("the token is not valid".into())),
    });
    let s = screen(&a, 100, 20);
    assert!(s.contains("401") && s.contains("--token"), "{s}");
    assert!(
        a.update(Action::Tick(now() + Duration::seconds(60)))
            .is_empty(),
        "no retry after a 401"
    );
}

#[test]
fn saved_views_list_and_apply() {
    let mut a = app(100, 24);
    key(&mut a, KeyCode::Char('v'));
    assert!(screen(&a, 100, 24).contains("deletions"));
    let fx = key(&mut a, KeyCode::Enter);
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::FetchPage { query, .. } if query.kinds == [Kind::Deleted])
        )
    );
    key(&mut a, KeyCode::Char('s'));
    typed(&mut a, "mine");
    let fx = key(&mut a, KeyCode::Enter);
    assert_eq!(
        fx,
        vec![Effect::SaveView {
            name: "mine".into(),
            filter: "kind:deleted since:7d".into()
        }]
    );
}

#[test]
fn paging_prefetches_near_the_end() {
    let many: Vec<Entry> = (0..400u64)
        .map(|i| {
            entry(
                1000 - i,
                i as i64,
                "ticket.updated",
                Kind::Updated,
                Outcome::Success,
                None,
                None,
                "x",
            )
        })
        .collect();
    let mut a = App::new(Settings {
        source: "s".into(),
        query: default_query(),
        keymap: Keymap::default(),
        theme: Theme::new(ColorDepth::None),
        views: vec![],
        now: now(),
        size: (120, 32),
    });
    a.start();
    let load = a.generation();
    let fx = a.update(Action::Page {
        load,
        result: Ok(Page {
            entries: many,
            next_cursor: Some("next".into()),
        }),
    });
    assert!(fx.is_empty(), "far from the end: no fetch yet");
    let mut asked = 0;
    for _ in 0..300 {
        let fx = key(&mut a, KeyCode::Char('j'));
        asked += fx
            .iter()
            .filter(|e| matches!(e, Effect::FetchPage { cursor: Some(c), .. } if c == "next"))
            .count();
    }
    assert_eq!(
        asked, 1,
        "one background fetch of the next page, while the keys go on"
    );
    assert_eq!(a.pager.selected, 300);
    let s = screen(&a, 120, 32);
    assert!(s.contains("row 301 of 400+"), "{s}");
    // The selected row stays in view when the detail pane takes half the height.
    key(&mut a, KeyCode::Char('G'));
    key(&mut a, KeyCode::Enter);
    assert!(
        a.pager.selected >= a.pager.offset && a.pager.selected < a.pager.offset + a.page_rows(),
        "selected {} offset {}",
        a.pager.selected,
        a.pager.offset
    );
    key(&mut a, KeyCode::Esc);
    assert!(a.pager.selected < a.pager.offset + a.page_rows());
}

#[test]
fn a_failure_is_marked_in_the_detail_pane_too() {
    let mut a = app(120, 32);
    let failed = (0..a.pager.rows.len())
        .find(|i| a.pager.rows.get(*i).unwrap().outcome == Outcome::Failure)
        .unwrap();
    for _ in 0..failed {
        key(&mut a, KeyCode::Char('j'));
    }
    key(&mut a, KeyCode::Enter);
    let s = screen(&a, 120, 32);
    let title = s.lines().find(|l| l.contains("· JSON")).unwrap();
    assert!(title.contains("✗ failure"), "{title}");
    key(&mut a, KeyCode::Char('['));
    let s = screen(&a, 120, 32);
    let title = s.lines().find(|l| l.contains("· JSON")).unwrap();
    assert!(!title.contains("✗ failure"), "{title}");
}

#[test]
fn the_details_pane_shows_numbers_exactly_as_sent() {
    let mut e = rows()[0].clone();
    e.details = Some(
        trailscope::model::Details::parse(
            r#"{"amount":123456789.123456789,"big":340282366920938463463374607431768211457,"tiny":1e-7}"#,
        )
        .unwrap(),
    );
    let mut a = app_with(ColorDepth::TrueColor, 120, 40, vec![e]);
    key(&mut a, KeyCode::Enter);
    let s = screen(&a, 120, 40);
    for n in [
        "123456789.123456789",
        "340282366920938463463374607431768211457",
        "1e-7",
    ] {
        assert!(s.contains(n), "`{n}` not shown exactly:\n{s}");
    }
}

#[test]
fn the_histogram_axis_ends_now_when_the_last_bucket_runs_past_it() {
    let mut a = app(120, 32);
    // Three-hour buckets, the last one begun 10 minutes ago: it would end at 14:49.
    let buckets = (0..40)
        .map(|i| trailscope::model::StatsBucket {
            start: now() - Duration::minutes(10) - Duration::hours(3 * (39 - i)),
            count: 1 + (i % 5) as u64,
        })
        .collect();
    let load = a.generation();
    a.update(Action::Stats {
        load,
        result: Ok(trailscope::model::Stats {
            total: 120,
            from: None,
            to: None,
            bucket_seconds: 3 * 3600,
            buckets,
            estimate: false,
        }),
    });
    let s = screen(&a, 120, 32);
    let axis = s.lines().nth(2).unwrap();
    assert!(axis.contains(" 11-21 12:00 ▲"), "{axis}");
    assert!(!axis.contains("14:49"), "{axis}");
}

#[test]
fn an_estimated_count_is_marked_as_one_and_promised_to_no_dialog() {
    let mut a = app(80, 24);
    let load = a.generation();
    a.update(Action::Stats {
        load,
        result: Ok(trailscope::model::Stats {
            total: 101_234,
            from: None,
            to: None,
            bucket_seconds: 3600,
            buckets: vec![],
            estimate: true,
        }),
    });
    let s = screen(&a, 80, 24);
    assert!(s.contains("≈101,234 entries"), "the header:\n{s}");
    assert!(s.contains("of ≈101,234"), "the position:\n{s}");
    insta::assert_snapshot!(s);
    // The export dialog counts what it writes, and an estimate is no such count.
    key(&mut a, KeyCode::Char('e'));
    let s = screen(&a, 80, 24);
    let dialog: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("┌ Export"))
        .take_while(|l| !l.starts_with("\"└"))
        .collect();
    assert!(dialog.len() > 3, "{s}");
    assert!(dialog.iter().all(|l| !l.contains("101,234")), "{s}");
}

#[test]
fn estimated_facet_counts_are_marked() {
    let mut a = app(80, 24);
    let fx = key(&mut a, KeyCode::Char('f'));
    let Some(Effect::FetchFacets { load, field, .. }) = fx.into_iter().next() else {
        panic!("no facet fetch")
    };
    let values = vec![FacetValue {
        value: "rule_fired".into(),
        count: 12_345,
        label: None,
    }];
    a.update(Action::Facets {
        load,
        field,
        result: Ok(Facets {
            field,
            values,
            estimate: true,
        }),
    });
    let s = screen(&a, 80, 24);
    assert!(s.contains("≈12,345"), "{s}");
    insta::assert_snapshot!(s);
}
