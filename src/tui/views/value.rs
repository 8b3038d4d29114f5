//! The value pager: one value of an entry alone, wrapped to the width, scrolled by line.

use super::cells::{fit, width};
use crate::tui::app::App;
use crate::tui::value_view::ValueView;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// The value's lines wrapped to `w` columns (words kept whole where they can be).
pub fn lines(v: &ValueView, w: usize) -> Vec<Line<'static>> {
    v.text
        .iter()
        .flat_map(|l| {
            let wrapped = super::details::wrap(Line::raw(l.clone()), w, 0);
            if wrapped.is_empty() {
                vec![Line::raw("")]
            } else {
                wrapped
            }
        })
        .collect()
}

/// The inside of the pager at the screen's size: (width, height).
pub fn body(size: Rect) -> (usize, usize) {
    (
        size.width.saturating_sub(2) as usize,
        size.height.saturating_sub(2).max(1) as usize,
    )
}

/// Draws the pager over the whole screen.
pub fn render(app: &App, v: &ValueView, f: &mut Frame, area: Rect) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let t = &app.chrome.theme;
    f.render_widget(Clear, area);
    let (w, h) = body(area);
    let all = lines(v, w);
    let total = all.len();
    let scroll = v.scroll.min(total.saturating_sub(h));
    let last = (scroll + h).min(total);
    let room = (area.width as usize).saturating_sub(4);
    let title = fit(
        &format!(
            " {} · {} ",
            v.path,
            super::header::counted(v.chars as u64, "character", "characters")
        ),
        room,
    );
    let place = if total <= h {
        " all shown ".to_string()
    } else if last == total {
        format!(" lines {}–{} of {} · end ", scroll + 1, last, total)
    } else {
        format!(" lines {}–{} of {} ", scroll + 1, last, total)
    };
    let hint = " j/k line · PgDn/PgUp · g/G · Esc back ";
    let mut block = Block::bordered()
        .border_style(t.key())
        .title(Line::from(Span::styled(title, t.title())))
        .title_bottom(Line::from(Span::styled(place.clone(), t.dim())));
    if width(&place) + width(hint) + 4 <= area.width as usize {
        block = block.title_bottom(Line::from(Span::styled(hint, t.dim())).right_aligned());
    }
    f.render_widget(block, area);
    let inner = Rect::new(area.x + 1, area.y + 1, area.width - 2, area.height - 2);
    let shown: Vec<Line> = all.into_iter().skip(scroll).take(h).collect();
    f.render_widget(Paragraph::new(shown), inner);
}
