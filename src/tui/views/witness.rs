//! What the header says of the log's history: `✓ verified`, or a red banner in its place.

use super::cells::{fit, width};
use crate::tui::app::App;
use crate::tui::witness::Witnessed;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// The spans the header adds after its status, if the history was checked and holds.
pub fn badge(app: &App) -> Option<Vec<Span<'static>>> {
    match &app.conn.witness {
        Witnessed::Verified { .. } => Some(vec![
            Span::styled(" ─ ", app.chrome.theme.dim()),
            Span::styled("✓ verified", app.chrome.theme.ok()),
        ]),
        _ => None,
    }
}

/// The banner that replaces the header line when the history changed: what was seen, what the
/// server shows, and that the cached copies are kept.
pub fn banner(app: &App, cols: u16) -> Option<Line<'static>> {
    let Witnessed::Changed(c) = &app.conn.witness else {
        return None;
    };
    let head = " ⚠ HISTORY CHANGED ";
    let text = c.describe();
    let room = (cols as usize).saturating_sub(width(head));
    // The theme's error colour reversed: a red bar in colour, an inverse bar under NO_COLOR.
    let style = app.chrome.theme.error().add_modifier(Modifier::REVERSED);
    let body = fit(&text, room);
    let pad = room.saturating_sub(width(&body));
    Some(Line::from(vec![
        Span::styled(head, style.add_modifier(Modifier::BOLD)),
        Span::styled(format!("{body}{}", " ".repeat(pad)), style),
    ]))
}
