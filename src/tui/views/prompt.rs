//! One-line prompts at the bottom: search, the query bar (with its error in place), save view;
//! and the saved-views list.

use super::cells::{fit, pad, span};
use crate::model::QueryParseError;
use crate::tui::app::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui_textarea::TextArea;

/// Draws a prompt: a label and an input on the first row of `area`.
pub fn render_input(app: &App, label: &str, input: &TextArea<'static>, f: &mut Frame, area: Rect) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    f.render_widget(Clear, area);
    let lw = u16::try_from(label.chars().count())
        .unwrap_or(u16::MAX)
        .min(area.width);
    f.render_widget(
        Paragraph::new(Span::styled(label.to_string(), app.chrome.theme.key())),
        Rect::new(area.x, area.y, lw, 1),
    );
    f.render_widget(input, Rect::new(area.x + lw, area.y, area.width - lw, 1));
}

/// The query bar's error: a caret line under the bad term and the message.
pub fn error_lines(
    app: &App,
    label_w: usize,
    input: &str,
    e: &QueryParseError,
    w: usize,
) -> Vec<Line<'static>> {
    let t = &app.chrome.theme;
    let start = input
        .get(..e.offset.min(input.len()))
        .map_or(0, |s| s.chars().count());
    let len = input
        .get(e.offset.min(input.len())..(e.offset + e.len).min(input.len()))
        .map_or(1, |s| s.chars().count().max(1));
    let caret = format!("{}{}", " ".repeat(label_w + start), "^".repeat(len));
    vec![
        Line::from(Span::styled(fit(&caret, w), t.error())),
        Line::from(span(&fit(&e.message, w), t.error())),
    ]
}

/// Draws the saved-views list.
pub fn render_views(app: &App, selected: usize, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    if area.width < 10 || area.height < 3 {
        return;
    }
    f.render_widget(Clear, area);
    let block = Block::bordered().border_style(t.key()).title(Span::styled(
        " Saved views — ⏎ apply · Esc close ",
        t.title(),
    ));
    let body = block.inner(area);
    f.render_widget(block, area);
    let w = body.width as usize;
    let name_w = app
        .chrome
        .views
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(4)
        .min(w / 3);
    let lines: Vec<Line> = app
        .chrome
        .views
        .iter()
        .enumerate()
        .skip(selected.saturating_sub(body.height.saturating_sub(1) as usize))
        .map(|(i, (n, q))| {
            let l = Line::from(vec![
                Span::styled(pad(n, name_w), t.title()),
                Span::raw("  "),
                Span::raw(fit(q, w.saturating_sub(name_w + 2))),
            ]);
            if i == selected {
                l.patch_style(t.selected())
            } else {
                l
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), body);
}
