//! The header: source and status, entry count and range; the filter line; the sparkline.

use super::cells::{fit, span, width};
use crate::client::ClientError;
use crate::tui::app::{App, Status};
use crate::tui::follow::LiveState;
use crate::tui::keymap::Command;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

/// `1284` as `1,284`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn status_short(e: &ClientError) -> &'static str {
    match e {
        ClientError::Unreachable { .. } => "OFFLINE — server unreachable",
        ClientError::Unauthorized(_) => "token refused (401)",
        ClientError::Forbidden(_) => "forbidden (403)",
        ClientError::InvalidQuery(_) => "filter rejected",
        ClientError::NotFound(_) => "not found",
        ClientError::Server { .. } => "server error",
        ClientError::Decode(_) => "bad answer",
    }
}

/// A human phrase for the filter's time range.
pub fn range_phrase(q: &crate::model::Query) -> String {
    let r = crate::model::Query {
        from: q.from.clone(),
        to: q.to.clone(),
        ..crate::model::Query::default()
    };
    match (&q.from, &q.to) {
        (None, None) => "all time".to_string(),
        (Some(crate::model::TimeBound::Ago { amount, unit }), None) => {
            let unit = match unit {
                's' => "second",
                'm' => "minute",
                'h' => "hour",
                'd' => "day",
                _ => "week",
            };
            if *amount == 1 {
                format!("last {unit}")
            } else {
                format!("last {amount} {unit}s")
            }
        }
        _ => r.to_string(),
    }
}

/// Draws the first line; at narrow widths the range, then the server URL, give way.
pub fn render_header(app: &App, f: &mut Frame, area: Rect) {
    if let Some(banner) = super::witness::banner(app, area.width) {
        f.render_widget(Paragraph::new(banner), area);
        return;
    }
    let t = &app.theme;
    let status = match (&app.status, app.follow.as_ref().map(|f| &f.state)) {
        (Status::Failed(e), _) => Span::styled(status_short(e), t.error()),
        (_, Some(LiveState::Live)) => Span::styled("● live", t.ok().add_modifier(Modifier::BOLD)),
        (_, Some(LiveState::Connecting)) => Span::styled("● live: connecting…", t.warn()),
        (_, Some(LiveState::Reconnecting { retry_at, .. })) => {
            let secs = (*retry_at - app.now).num_seconds().max(0);
            Span::styled(format!("● live: reconnecting in {secs}s"), t.warn())
        }
        (Status::Connecting, None) => Span::styled("connecting…", t.warn()),
        (Status::Connected, None) => Span::styled("connected", t.ok()),
    };
    let count = match app.total {
        Some(n) => Span::raw(format!("{} entries", thousands(n))),
        None => Span::styled("… entries", t.dim()),
    };
    let short_source = app
        .source
        .split(" (")
        .next()
        .unwrap_or(&app.source)
        .to_string();
    let range = range_phrase(&app.query);
    let build = |source: Option<&str>, range: Option<&str>| {
        let mut spans = vec![Span::styled(" trailscope", t.title())];
        if let Some(s) = source {
            spans.push(Span::styled(" ─ ", t.dim()));
            spans.push(span(s, t.title()));
        }
        spans.push(Span::styled(" ─ ", t.dim()));
        match super::link::status(app) {
            Some(link) => spans.extend(link),
            None => spans.push(status.clone()),
        }
        spans.extend(super::witness::badge(app).unwrap_or_default());
        spans.extend([Span::styled(" ─ ", t.dim()), count.clone()]);
        if let Some(r) = range {
            spans.push(Span::styled(" ─ ", t.dim()));
            spans.push(span(r, t.dim()));
        }
        if app.loading {
            spans.push(Span::styled(
                format!(" {}", SPINNER[app.spinner % SPINNER.len()]),
                t.warn(),
            ));
        }
        Line::from(spans)
    };
    let w = area.width as usize;
    let candidates = [
        build(Some(&app.source), Some(&range)),
        build(Some(&short_source), Some(&range)),
        build(Some(&short_source), None),
        build(None, None),
    ];
    let line = candidates
        .iter()
        .find(|l| l.width() <= w)
        .unwrap_or(&candidates[3])
        .clone();
    f.render_widget(Paragraph::new(line), area);
}

/// Draws the filter line with the help hint on the right.
pub fn render_filter(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let hint = format!("[{} help]", app.keymap.first(Command::Help));
    let hint_w = width(&hint) + 1;
    let q = app.query.to_string();
    let q = if q.is_empty() {
        "(none)".to_string()
    } else {
        q
    };
    let room = (area.width as usize).saturating_sub(hint_w + 9);
    let text = fit(&q, room);
    let used = 9 + width(&text);
    let gap = (area.width as usize).saturating_sub(used + hint_w);
    let mut spans = vec![Span::styled(" filter: ", t.dim()), Span::raw(text)];
    if area.width as usize >= used + hint_w {
        spans.push(Span::raw(" ".repeat(gap)));
        spans.push(Span::styled(hint, t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Draws the activity sparkline of the filtered range.
pub fn render_spark(app: &App, f: &mut Frame, area: Rect) {
    if app.buckets.is_empty() || area.width < 3 {
        return;
    }
    let w = area.width.saturating_sub(1) as usize;
    // Resample the buckets to the width, summing the ones that share a column.
    let n = app.buckets.len();
    let cols = w.min(n).max(1);
    let data: Vec<u64> = (0..cols)
        .map(|c| {
            let (a, b) = (c * n / cols, ((c + 1) * n / cols).max(c * n / cols + 1));
            app.buckets[a..b.min(n)].iter().sum()
        })
        .collect();
    let area = Rect::new(area.x + 1, area.y, cols as u16, 1);
    f.render_widget(
        Sparkline::default().data(&data).style(app.theme.spark()),
        area,
    );
}
