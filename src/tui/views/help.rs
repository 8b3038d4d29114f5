//! `?`: every key of the current view, from the keymap in force; and the footer's key hints.

use super::cells::{fit, pad};
use crate::tui::app::App;
use crate::tui::keymap::{COMMANDS, Command};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

fn table_commands() -> &'static [Command] {
    use Command::*;
    &[
        Down,
        Up,
        PageDown,
        PageUp,
        HalfDown,
        HalfUp,
        Top,
        Bottom,
        Details,
        PivotIn,
        PivotOut,
        Around,
        AroundWide,
        Back,
        Mark,
        Marked,
        MarkRange,
        MarkAll,
        UnmarkAll,
        Search,
        Filters,
        Query,
        Clear,
        CycleTime,
        Refresh,
        Follow,
        SaveView,
        Views,
        Export,
        Evidence,
        ExportHistory,
        Info,
        Help,
        Quit,
    ]
}

fn detail_commands() -> &'static [Command] {
    use Command::*;
    &[
        Down, Up, PageDown, PageUp, HalfDown, HalfUp, Top, Bottom, OpenValue, FoldToggle, Fold,
        Unfold, FoldAll, UnfoldAll, PivotIn, PivotOut, Diff, Prev, Next, Zoom, Copy, Focus, Close,
        Help, Quit,
    ]
}

/// Every line of the help for the focused view, `w` columns wide.
pub fn lines(app: &App, in_detail: bool, w: usize) -> Vec<Line<'static>> {
    let t = &app.chrome.theme;
    let cmds = if in_detail {
        detail_commands()
    } else {
        table_commands()
    };
    let mut lines: Vec<Line> = Vec::new();
    let row = |key: &str, what: &str, style| {
        // Keys take 14 columns; a longer term (the query language's) takes what it needs.
        let kw = crate::tui::views::cells::width(key).max(14);
        Line::from(vec![
            Span::styled(pad(key, kw), style),
            Span::raw(" "),
            Span::raw(fit(what, w.saturating_sub(kw + 1))),
        ])
    };
    for cmd in cmds {
        let Some((_, _, what)) = COMMANDS.iter().find(|(c, _, _)| c == cmd) else {
            continue;
        };
        let mut what = (*what).to_string();
        if in_detail && matches!(cmd, Command::PivotIn | Command::PivotOut) {
            what = if *cmd == Command::PivotIn {
                "filter on the value under the cursor".into()
            } else {
                "exclude the value under the cursor".into()
            };
        }
        // In the pane, moving goes through a long value a line at a time.
        if in_detail {
            match cmd {
                Command::Down => what = "down a line (through a long value), then the next".into(),
                Command::Up => what = "up a line, then the previous".into(),
                _ => {}
            }
        }
        let keys = app.chrome.keymap.keys_for(*cmd).join(" ");
        if keys.is_empty() {
            continue;
        }
        lines.push(row(&keys, &what, t.key()));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "The query language (: edits the filter as one line)",
        t.title(),
    )));
    for (term, what) in crate::model::FIELD_HELP
        .iter()
        .chain(crate::model::OPERATOR_HELP.iter())
    {
        lines.push(row(term, what, t.key()));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Text inputs and the mouse",
        t.title(),
    )));
    for (keys, what) in [
        ("Ctrl-a Ctrl-e", "start / end of the line"),
        ("Ctrl-w Ctrl-u", "delete a word / the line"),
        ("↑ ↓", "in the : bar, the filters applied before"),
        ("Esc", "cancel"),
        ("click", "select a row; again opens it"),
        ("wheel", "scroll"),
    ] {
        lines.push(row(keys, what, t.key()));
    }
    if in_detail {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            fit(
                "Tab moves focus back to the table; the table's keys work there.",
                w,
            ),
            t.dim(),
        )));
    }
    lines
}

/// Draws the help for the focused view, scrolled `scroll` lines.
pub fn render(app: &App, scroll: usize, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    if area.width < 10 || area.height < 3 {
        return;
    }
    f.render_widget(Clear, area);
    let in_detail = app.pane.detail.is_some() && app.pane.focus;
    let title = if in_detail {
        " Keys — details "
    } else {
        " Keys — table "
    };
    let all = lines(app, in_detail, area.width.saturating_sub(2) as usize);
    let h = area.height.saturating_sub(2) as usize;
    let max = all.len().saturating_sub(h);
    let scroll = scroll.min(max);
    let hint = if max > 0 {
        format!(
            " {}–{} of {} · ↑↓ PgUp PgDn scroll · other keys close ",
            scroll + 1,
            (scroll + h).min(all.len()),
            all.len()
        )
    } else {
        " any key closes ".to_string()
    };
    let block = Block::bordered()
        .border_style(t.key())
        .title(Span::styled(title, t.title()))
        .title_bottom(Span::styled(
            fit(&hint, area.width.saturating_sub(2) as usize),
            t.dim(),
        ));
    let body = block.inner(area);
    f.render_widget(block, area);
    let shown: Vec<Line> = all.into_iter().skip(scroll).take(h).collect();
    f.render_widget(Paragraph::new(shown), body);
}

/// Draws the footer: a message if there is one, else the key hints of the focused view.
pub fn render_footer(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    let w = area.width as usize;
    // A message is shown whole: the footer grows (up to three lines) to hold it, and only
    // what still does not fit is cut.
    if let Some(msg) = app.footer_message() {
        let style = if app.chrome.flash.is_some() {
            t.warn()
        } else {
            t.error()
        };
        let room = w * area.height as usize;
        f.render_widget(
            Paragraph::new(Span::styled(fit(&format!(" {msg}"), room), style))
                .wrap(ratatui::widgets::Wrap { trim: false }),
            area,
        );
        return;
    }
    if app.chrome.spark.is_some() {
        let what = spark_hint(app);
        f.render_widget(Paragraph::new(Span::styled(fit(&what, w), t.key())), area);
        return;
    }
    let hints = if app.pane.detail.is_some() && app.pane.focus {
        detail_hints(app)
    } else {
        table_hints(app)
    };
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, what) in hints {
        let n = key.chars().count() + what.len() + 3;
        if used + n > w {
            break;
        }
        used += n;
        spans.push(Span::styled(key, t.key()));
        spans.push(Span::styled(format!(" {what}  "), t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The footer while the histogram has the focus: the picked bucket and what keys do with it.
fn spark_hint(app: &App) -> String {
    let k = |c| app.chrome.keymap.first(c);
    match app.spark_range() {
        Some((from, to, n)) => format!(
            " {} – {} · {} · ←→ pick  {} narrow to it  {} back  {} table",
            from.format("%m-%d %H:%M"),
            (to + chrono::Duration::milliseconds(1)).format("%m-%d %H:%M"),
            super::header::entries(n),
            k(Command::Details),
            k(Command::Back),
            k(Command::Focus),
        ),
        None => " the histogram: ←→ pick a bucket".to_string(),
    }
}

/// The detail pane's key hints, most used first (the footer shows what fits).
fn detail_hints(app: &App) -> Vec<(String, &'static str)> {
    let k = |c| app.chrome.keymap.first(c);
    vec![
        (format!("{}{}", k(Command::Down), k(Command::Up)), "move"),
        (k(Command::FoldToggle), "fold"),
        (
            format!("{}{}", k(Command::Prev), k(Command::Next)),
            "prev/next",
        ),
        (k(Command::OpenValue), "open value"),
        (k(Command::Diff), "diff"),
        (k(Command::Copy), "copy"),
        (k(Command::Zoom), "zoom"),
        (k(Command::Focus), "table"),
        (k(Command::Close), "close"),
        (k(Command::Help), "help"),
    ]
}

/// The table's key hints, most used first (the footer shows what fits).
fn table_hints(app: &App) -> Vec<(String, &'static str)> {
    let k = |c| app.chrome.keymap.first(c);
    vec![
        (format!("{}{}", k(Command::Down), k(Command::Up)), "move"),
        (k(Command::Details), "details"),
        (k(Command::Search), "search"),
        (k(Command::Filters), "filters"),
        (k(Command::Query), "query"),
        (k(Command::Export), "export"),
        (
            k(Command::Follow),
            if app.conn.follow.is_some() {
                "stop follow"
            } else {
                "follow"
            },
        ),
        (k(Command::Help), "help"),
        (k(Command::Quit), "quit"),
        (k(Command::Clear), "clear"),
        (k(Command::CycleTime), "time"),
        (k(Command::Views), "views"),
        // Last, so the footers drawn before it keep their hints; `?` always lists it.
        (k(Command::ExportHistory), "history"),
    ]
}
