//! The header's word on the link when it is not the live server: offline on the cache, or a file.

use super::cells::span;
use crate::tui::app::App;
use crate::tui::link::{Link, synced_phrase};
use ratatui::text::Span;

/// `OFFLINE — cached, synced 5 min ago` or `file audit.ndjson`; `None` when online. A server
/// that stopped answering says since when: `OFFLINE since 20:31:05Z`, with
/// `, cached` while the cache answers in its place.
pub fn status(app: &App) -> Option<Vec<Span<'static>>> {
    let t = &app.chrome.theme;
    if let Some(since) = app.conn.down_since {
        let cached = if matches!(app.conn.link, Link::Offline { .. }) {
            ", cached"
        } else {
            ""
        };
        return Some(vec![Span::styled(
            format!("OFFLINE since {}{cached}", crate::tui::outage::clock(since)),
            t.error(),
        )]);
    }
    match &app.conn.link {
        Link::Online => None,
        Link::Offline { synced } => Some(vec![Span::styled(
            format!("OFFLINE — cached, {}", synced_phrase(*synced, app.now)),
            t.warn(),
        )]),
        Link::File { name, warning } => {
            // The name came from the command line, but a file name can hold anything: sanitised.
            let mut spans = vec![span(&format!("file {name}"), t.ok())];
            if warning.is_some() {
                spans.push(Span::styled(" ⚠ incomplete", t.error()));
            }
            Some(spans)
        }
    }
}
