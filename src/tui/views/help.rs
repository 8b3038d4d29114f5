//! `?`: every key of the current view, from the keymap in force; and the footer's key hints.

use super::cells::{fit, pad};
use crate::tui::app::{App, Status};
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
        Down, Up, FoldToggle, Fold, Unfold, FoldAll, UnfoldAll, Diff, Prev, Next, Zoom, Copy,
        Focus, Close, Help, Quit,
    ]
}

/// Draws the help for the focused view.
pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    if area.width < 10 || area.height < 3 {
        return;
    }
    f.render_widget(Clear, area);
    let in_detail = app.detail.is_some() && app.focus_detail;
    let title = if in_detail {
        " Keys — details "
    } else {
        " Keys — table "
    };
    let block = Block::bordered()
        .border_style(t.key())
        .title(Span::styled(title, t.title()))
        .title_bottom(Span::styled(" any key closes ", t.dim()));
    let body = block.inner(area);
    f.render_widget(block, area);
    let cmds = if in_detail {
        detail_commands()
    } else {
        table_commands()
    };
    let mut lines: Vec<Line> = Vec::new();
    for cmd in cmds {
        let Some((_, _, what)) = COMMANDS.iter().find(|(c, _, _)| c == cmd) else {
            continue;
        };
        let keys = app.keymap.keys_for(*cmd).join(" ");
        if keys.is_empty() {
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled(pad(&keys, 16), t.key()),
            Span::raw(fit(what, (body.width as usize).saturating_sub(17))),
        ]));
    }
    lines.push(Line::from(""));
    let note = if in_detail {
        "Tab moves focus back to the table; the table's keys work there."
    } else {
        "In text inputs: Ctrl-a/Ctrl-e start/end, Ctrl-w word, Ctrl-u line, Esc cancels. Mouse: click selects, click again opens, wheel scrolls."
    };
    lines.push(Line::from(Span::styled(note.to_string(), t.dim())));
    f.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
        body,
    );
}

/// Draws the footer: a message if there is one, else the key hints of the focused view.
pub fn render_footer(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let w = area.width as usize;
    if let Some(msg) = &app.flash {
        f.render_widget(
            Paragraph::new(Span::styled(fit(&format!(" {msg}"), w), t.warn())),
            area,
        );
        return;
    }
    if let Status::Failed(e) = &app.status {
        let line = format!(" {e}; {}", e.advice());
        f.render_widget(Paragraph::new(Span::styled(fit(&line, w), t.error())), area);
        return;
    }
    let k = |c| app.keymap.first(c);
    let hints: Vec<(String, &str)> = if app.detail.is_some() && app.focus_detail {
        vec![
            (format!("{}{}", k(Command::Down), k(Command::Up)), "move"),
            (k(Command::FoldToggle), "fold"),
            (
                format!("{}{}", k(Command::Prev), k(Command::Next)),
                "prev/next",
            ),
            (k(Command::Diff), "diff"),
            (k(Command::Copy), "copy"),
            (k(Command::Zoom), "zoom"),
            (k(Command::Focus), "table"),
            (k(Command::Close), "close"),
            (k(Command::Help), "help"),
        ]
    } else {
        vec![
            (format!("{}{}", k(Command::Down), k(Command::Up)), "move"),
            (k(Command::Details), "details"),
            (k(Command::Search), "search"),
            (k(Command::Filters), "filters"),
            (k(Command::Query), "query"),
            (k(Command::Export), "export"),
            (
                k(Command::Follow),
                if app.follow.is_some() {
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
