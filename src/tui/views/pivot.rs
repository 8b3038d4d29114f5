//! The pivot menu (`=` / `-`): the selected entry's values, each with its letter.

use super::cells::{fit, pad};
use crate::tui::app::App;
use crate::tui::pivot::PivotMenu;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// Draws the menu in `area`.
pub fn render(app: &App, menu: &PivotMenu, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    if area.width < 12 || area.height < 3 {
        return;
    }
    let h = u16::try_from(menu.choices.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(area.height);
    let area = Rect::new(area.x, area.y, area.width, h);
    f.render_widget(Clear, area);
    let title = if menu.exclude {
        " Exclude … "
    } else {
        " Filter on … "
    };
    let block = Block::bordered()
        .border_style(t.key())
        .title(Span::styled(title, t.title()))
        .title_bottom(Span::styled(" a letter picks · Esc cancels ", t.dim()));
    let body = block.inner(area);
    f.render_widget(block, area);
    let w = body.width as usize;
    let lines: Vec<Line> = menu
        .choices
        .iter()
        .map(|c| {
            let field = match &c.term {
                crate::tui::pivot::Term::Field(f, _) => f.label(),
                crate::tui::pivot::Term::Text(_) => "text",
            };
            Line::from(vec![
                Span::styled(format!(" {} ", c.letter), t.key()),
                Span::styled(pad(field, 8), t.dim()),
                // Entry text: made inert by `fit`.
                Span::raw(fit(&c.shown, w.saturating_sub(12))),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), body);
}
