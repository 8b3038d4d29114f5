//! `render(&app, frame)`: draws the state and changes nothing.

pub mod cells;
pub mod details;
pub mod dialogs;
mod filters;
pub mod header;
mod help;
pub mod history;
mod info;
pub mod link;
mod pivot;
mod prompt;
mod table;
pub mod value;
pub mod witness;

use super::app::{App, Overlay};
use super::layout;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

pub use table::ago;

/// A centred rect of at most `w`×`h` inside `r`.
fn centred(r: Rect, w: u16, h: u16) -> Rect {
    // A sliver of one or two rows or columns left around an overlay only shows the border
    // underneath stacked against the overlay's own: the overlay takes it too.
    let fill = |want: u16, room: u16| {
        if room.saturating_sub(want) <= 2 {
            room
        } else {
            want
        }
    };
    let w = fill(w, r.width);
    let h = fill(h, r.height);
    Rect::new(r.x + (r.width - w) / 2, r.y + (r.height - h) / 2, w, h)
}

/// The furthest `?` help scrolls at the app's size (the rest of it is then in view).
pub fn help_max_scroll(app: &App) -> usize {
    let a = layout::areas(app.size, app.layout_state());
    let body_h = app
        .size
        .height
        .saturating_sub(a.header.height + a.footer.height);
    let h = body_h.min(40).saturating_sub(2) as usize;
    let in_detail = app.pane.detail.is_some() && app.pane.focus;
    let w = app.size.width.min(84).saturating_sub(2) as usize;
    help::lines(app, in_detail, w).len().saturating_sub(h)
}

/// Draws the whole screen.
pub fn render(app: &App, f: &mut Frame) {
    let size = f.area();
    let a = layout::areas(size, app.layout_state());
    header::render_header(app, f, a.header);
    if a.filter.height > 0 {
        header::render_filter(app, f, a.filter);
    }
    if a.spark.height > 0 {
        header::render_spark(app, f, a.spark);
    }
    table::render(app, f, a.table);
    if let Some(d) = &app.pane.detail {
        details::render(app, d, f, a.detail);
    }
    if a.footer.height > 0 {
        help::render_footer(app, f, a.footer);
    }
    // Overlays go over the body (below the header) so the user still sees the filter and count.
    let body = Rect::new(
        size.x,
        a.header.bottom(),
        size.width,
        size.height
            .saturating_sub(a.header.height + a.footer.height),
    );
    let bottom = if a.footer.height > 0 {
        a.footer
    } else {
        Rect::new(
            size.x,
            size.bottom().saturating_sub(1),
            size.width,
            1.min(size.height),
        )
    };
    match &app.chrome.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => help::render(app, *scroll, f, centred(body, 84, 40)),
        Overlay::Pivot(menu) => pivot::render(app, menu, f, centred(body, 70, 12)),
        Overlay::Export(d) => dialogs::render_export(app, d, f, centred(body, 84, 11)),
        Overlay::Evidence(d) => dialogs::render_evidence(app, d, f, centred(body, 112, 13)),
        Overlay::Info(info) => info::render_info(app, info, f, centred(body, 96, 20)),
        Overlay::History(h) => history::render(app, h, f, centred(body, 120, 18)),
        Overlay::Filters(p) => filters::render(app, p, f, centred(body, 100, 20)),
        Overlay::Value(v) => value::render(app, v, f, size),
        Overlay::Views { selected } => {
            prompt::render_views(app, *selected, f, centred(body, 90, 14))
        }
        Overlay::Search(t) => prompt::render_input(app, " / ", t, f, bottom),
        Overlay::SaveView(t) => prompt::render_input(app, " save view as: ", t, f, bottom),
        Overlay::Query { input, error, .. } => {
            let label = " : ";
            match error {
                Some(e) if bottom.y >= 2 => {
                    let area = Rect::new(bottom.x, bottom.y - 2, bottom.width, 3);
                    f.render_widget(Clear, area);
                    prompt::render_input(
                        app,
                        label,
                        input,
                        f,
                        Rect::new(area.x, area.y, area.width, 1),
                    );
                    let text = super::input::text(input);
                    let lines: Vec<Line> =
                        prompt::error_lines(app, label.len(), &text, e, area.width as usize);
                    f.render_widget(
                        Paragraph::new(lines),
                        Rect::new(area.x, area.y + 1, area.width, 2),
                    );
                }
                _ => prompt::render_input(app, label, input, f, bottom),
            }
        }
    }
}
