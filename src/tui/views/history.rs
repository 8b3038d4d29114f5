//! The export history view: one line per export or pack, newest first, and a re-run's progress.

use super::cells::{fit, pad, span};
use super::dialogs::{frame, stage_lines};
use crate::model::{ExportRecord, ExportStatus};
use crate::tui::app::App;
use crate::tui::history::{ExportHistory, Listing};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

/// Draws the view.
pub fn render(app: &App, h: &ExportHistory, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    if area.width < 30 || area.height < 5 {
        return;
    }
    f.render_widget(Clear, area);
    let hint = match &h.rerun {
        Some(crate::tui::dialogs::Stage::Running { .. }) => " Esc cancel ",
        Some(_) => " any key: back to the list ",
        None => " ⏎ make again into a new file · r reload · Esc close ",
    };
    let block = frame(t, " Export history ", hint);
    let body = block.inner(area);
    f.render_widget(block, area);
    let w = body.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    match &h.listing {
        Listing::Loading => lines.push(Line::from(span("loading…", t.dim()))),
        Listing::Failed(e) => lines.push(Line::from(span(&fit(e, w), t.error()))),
        Listing::Loaded(records) if records.is_empty() => lines.push(Line::from(span(
            "no exports or evidence packs yet: e exports, E makes a pack",
            t.dim(),
        ))),
        Listing::Loaded(records) => {
            lines.push(Line::from(Span::styled(
                fit(
                    &format!(
                        "{:<17} {:<10} {:<30} {:<16} {:>8}  {}",
                        "When (UTC)", "Status", "Name", "Made as", "Rows", "Filter"
                    ),
                    w,
                ),
                t.dim(),
            )));
            let room = (body.height as usize).saturating_sub(3).max(1);
            let first = h.selected.saturating_sub(room - 1);
            for (i, r) in records.iter().enumerate().skip(first).take(room) {
                let style = if i == h.selected {
                    t.selected()
                } else {
                    Style::new()
                };
                lines.push(row(app, r, w, style));
            }
            if let Some(r) = records.get(h.selected) {
                let who = r
                    .actor
                    .name
                    .clone()
                    .or(r.actor.id.clone())
                    .unwrap_or_default();
                let period = match (&r.from, &r.to) {
                    (Some(a), Some(b)) => format!(", {a} to {b}"),
                    _ => String::new(),
                };
                let why = r
                    .reason
                    .as_ref()
                    .map(|x| format!(" — {x}"))
                    .unwrap_or_default();
                lines.push(Line::from(span(
                    &fit(&format!("by {who}{period}{why}"), w),
                    t.dim(),
                )));
            }
        }
    }
    if let Some(stage) = &h.rerun {
        lines.push(Line::from(""));
        lines.extend(stage_lines(stage, t, w, None));
    }
    f.render_widget(Paragraph::new(lines), body);
}

fn row(app: &App, r: &ExportRecord, w: usize, style: Style) -> Line<'static> {
    let t = &app.chrome.theme;
    let made = match (&r.format, &r.kind) {
        (Some(f), _) => format!("export {f}"),
        (None, Some(k)) => format!("pack {k}"),
        _ => r.what.clone(),
    };
    let status_style = match r.status {
        ExportStatus::Completed => t.ok(),
        ExportStatus::Incomplete => t.warn(),
        ExportStatus::Failed => t.error(),
    };
    let name = r.name.as_deref().or(r.title.as_deref()).unwrap_or("—");
    let rows = r.rows.map_or("—".to_string(), |n| n.to_string());
    let filter = if r.filter.is_empty() {
        "(everything)"
    } else {
        &r.filter
    };
    let fixed = 17 + 1 + 10 + 1 + 30 + 1 + 16 + 1 + 8 + 2;
    Line::from(vec![
        Span::styled(format!("{} ", r.at.format("%Y-%m-%d %H:%M")), style),
        Span::styled(
            format!("{} ", pad(r.status.as_str(), 10)),
            status_style.patch(style),
        ),
        Span::styled(format!("{} ", pad(name, 30)), style),
        Span::styled(format!("{} ", pad(&made, 16)), style),
        Span::styled(format!("{:>8}  ", fit(&rows, 8)), style),
        Span::styled(pad(filter, w.saturating_sub(fixed)), style),
    ])
}
