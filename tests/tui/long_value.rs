//! Issue 25 point 2: a description of thousands of characters is read to its end in the detail
//! pane — by line with `j`/`k`, by page with PgDn and Ctrl-d, with the wheel — zoomed or not, at
//! 60×20, 80×24 and 200×50; and alone in the value pager (`o`, or Enter in the pane).

use crate::fixtures as tui_fixtures;
use tui_fixtures::*;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use trailscope::model::{Kind, Outcome};
use trailscope::tui::app::Overlay;
use trailscope::tui::theme::ColorDepth;
use trailscope::tui::{Action, App};

const SIZES: [(u16, u16); 3] = [(60, 20), (80, 24), (200, 50)];

/// A description of about `n` characters: START, numbered words, END.
fn long_text(n: usize) -> String {
    let mut s = String::from("DESC-START ");
    let mut i = 0;
    while s.len() < n {
        s.push_str(&format!("word{i} "));
        i += 1;
    }
    s.push_str("DESC-END");
    s
}

fn app_long(w: u16, h: u16, chars: usize) -> App {
    let mut rows = rows();
    rows[0] = entry(
        500,
        1,
        "ticket.updated",
        Kind::Updated,
        Outcome::Success,
        Some(("u_1", "Alice Smith")),
        Some(("ticket", "7")),
        &long_text(chars),
    );
    app_with(ColorDepth::TrueColor, w, h, rows)
}

/// Opens the first entry (zoomed or not) with the cursor on its description.
fn on_description(a: &mut App, zoom: bool) {
    key(a, KeyCode::Enter);
    if zoom {
        key(a, KeyCode::Char('z'));
    }
    for _ in 0..40 {
        let d = a.pane.detail.as_ref().unwrap();
        if d.tree.rows()[d.cursor].path == "/description" {
            return;
        }
        key(a, KeyCode::Char('j'));
    }
    panic!("no description row");
}

fn cursor_path(a: &App) -> String {
    let d = a.pane.detail.as_ref().unwrap();
    d.tree.rows()[d.cursor].path.clone()
}

fn ctrl(a: &mut App, ch: char) {
    a.update(Action::Key(KeyEvent::new(
        KeyCode::Char(ch),
        KeyModifiers::CONTROL,
    )));
}

fn wheel_down(a: &mut App) {
    let body = a.areas().detail_body;
    a.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: body.x + 1,
        row: body.y + 1,
        modifiers: KeyModifiers::NONE,
    }));
}

/// Presses until the end of the description shows, at most `limit` times; how many it took.
fn until_end(a: &mut App, w: u16, h: u16, limit: usize, mut press: impl FnMut(&mut App)) -> usize {
    for n in 0..limit {
        if screen(a, w, h).contains("DESC-END") {
            return n;
        }
        press(a);
    }
    panic!(
        "the end of the description never showed:\n{}",
        screen(a, w, h)
    );
}

#[test]
fn j_reads_a_long_value_line_by_line_to_its_end_at_every_size_zoomed_or_not() {
    for (w, h) in SIZES {
        for zoom in [false, true] {
            let mut a = app_long(w, h, 12000);
            on_description(&mut a, zoom);
            let first = screen(&a, w, h);
            assert!(first.contains("DESC-START"), "{w}x{h}: {first}");
            let mut before = a.pane.detail.as_ref().unwrap().scroll;
            let presses = until_end(&mut a, w, h, 2000, |a| {
                key(a, KeyCode::Char('j'));
                let now = a.pane.detail.as_ref().unwrap().scroll;
                // Inside the value, one line at a time.
                assert!(now <= before + 1, "{w}x{h}: jumped from {before} to {now}");
                before = now;
            });
            assert!(
                presses > 0,
                "{w}x{h} zoom {zoom}: the value is longer than the pane"
            );
            assert_eq!(
                cursor_path(&a),
                "/description",
                "{w}x{h}: j scrolled within the value rather than leaving it"
            );
            // And back up to its first line with k.
            until_start(&mut a, w, h, |a| {
                key(a, KeyCode::Char('k'));
            });
            assert_eq!(cursor_path(&a), "/description");
        }
    }
}

fn until_start(a: &mut App, w: u16, h: u16, mut press: impl FnMut(&mut App)) {
    for _ in 0..2000 {
        if screen(a, w, h).contains("DESC-START") {
            return;
        }
        press(a);
    }
    panic!("the start never showed again:\n{}", screen(a, w, h));
}

#[test]
fn page_down_ctrl_d_and_the_wheel_reach_the_end_of_a_long_value() {
    for (w, h) in SIZES {
        for zoom in [false, true] {
            let mut a = app_long(w, h, 8000);
            on_description(&mut a, zoom);
            until_end(&mut a, w, h, 400, |a| {
                key(a, KeyCode::PageDown);
            });
            let mut a = app_long(w, h, 8000);
            on_description(&mut a, zoom);
            until_end(&mut a, w, h, 400, |a| ctrl(a, 'd'));
            assert_eq!(cursor_path(&a), "/description", "{w}x{h}");
            let mut a = app_long(w, h, 8000);
            on_description(&mut a, zoom);
            until_end(&mut a, w, h, 800, wheel_down);
        }
    }
}

#[test]
fn the_end_of_a_long_value_in_the_pane_snapshots() {
    let mut a = app_long(80, 24, 3000);
    on_description(&mut a, false);
    until_end(&mut a, 80, 24, 500, |a| {
        key(a, KeyCode::Char('j'));
    });
    insta::assert_snapshot!("long_value_end_80x24", screen(&a, 80, 24));
    let mut a = app_long(60, 20, 3000);
    on_description(&mut a, true);
    until_end(&mut a, 60, 20, 500, |a| {
        key(a, KeyCode::Char('j'));
    });
    insta::assert_snapshot!("long_value_end_zoomed_60x20", screen(&a, 60, 20));
}

#[test]
fn a_value_opens_alone_in_a_pager_read_to_its_end() {
    for (w, h) in SIZES {
        let mut a = app_long(w, h, 5000);
        on_description(&mut a, false);
        key(&mut a, KeyCode::Char('o'));
        assert!(matches!(a.chrome.overlay, Overlay::Value(_)));
        let s = screen(&a, w, h);
        assert!(s.contains("/description"), "{s}");
        assert!(s.contains("DESC-START"), "{s}");
        if (w, h) == (80, 24) {
            insta::assert_snapshot!("value_pager_80x24", s);
        }
        key(&mut a, KeyCode::Char('G'));
        let s = screen(&a, w, h);
        assert!(
            s.contains("DESC-END") && (s.contains("· end") || s.contains("all shown")),
            "{s}"
        );
        insta::assert_snapshot!(format!("value_pager_end_{w}x{h}"), s);
        // Back up a line at a time, then back to the pane where it was.
        key(&mut a, KeyCode::Char('k'));
        assert!(!screen(&a, w, h).contains("· end"));
        key(&mut a, KeyCode::Esc);
        assert!(matches!(a.chrome.overlay, Overlay::None));
        assert_eq!(cursor_path(&a), "/description");
        // Enter on the value opens it too; the wheel scrolls it.
        key(&mut a, KeyCode::Enter);
        assert!(matches!(a.chrome.overlay, Overlay::Value(_)));
        for _ in 0..200 {
            let body = a.areas().table_body;
            a.update(Action::Mouse(MouseEvent {
                kind: MouseEventKind::ScrollDown,
                column: body.x + 1,
                row: body.y + 1,
                modifiers: KeyModifiers::NONE,
            }));
        }
        assert!(screen(&a, w, h).contains("DESC-END"));
        key(&mut a, KeyCode::Char('q'));
        assert!(!a.quitting(), "q closes the pager, not the program");
    }
}
