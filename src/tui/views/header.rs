//! The header: source and status, entry count and range; the filter line; the sparkline.

use super::cells::{fit, span, width};
use crate::client::ClientError;
use crate::tui::app::{App, Status};
use crate::tui::follow::LiveState;
use crate::tui::histogram::{self, Columns};
use crate::tui::keymap::Command;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

/// `1 entry`, `12,728 entries`.
pub fn entries(n: u64) -> String {
    counted(n, "entry", "entries")
}

/// `n` and the noun, singular for one.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

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
        ClientError::Integrity(_) => "INTEGRITY ALARM",
    }
}

/// `around 2026-11-21 09:14:03Z ±15m`.
pub fn around_phrase(a: &crate::model::Around) -> String {
    format!(
        "around {} ±{}{}",
        a.at.format("%Y-%m-%d %H:%M:%SZ"),
        a.amount,
        a.unit
    )
}

/// A human phrase for the filter's time range.
pub fn range_phrase(q: &crate::model::Query) -> String {
    if let Some(a) = &q.around {
        return around_phrase(a);
    }
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
    let t = &app.chrome.theme;
    let status = match (&app.conn.status, app.conn.follow.as_ref().map(|f| &f.state)) {
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
    let count = match app.pager.total {
        Some(n) if app.pager.estimate => Span::raw(format!("≈{}", entries(n))),
        Some(n) => Span::raw(entries(n)),
        None => Span::styled("… entries", t.dim()),
    };
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
        if app.pager.loading {
            spans.push(Span::styled(
                format!(" {}", SPINNER[app.chrome.spinner % SPINNER.len()]),
                t.warn(),
            ));
        }
        Line::from(spans)
    };
    let w = area.width as usize;
    let candidates = [
        build(Some(&app.conn.source), Some(&range)),
        build(Some(&app.conn.short_source), Some(&range)),
        build(Some(&app.conn.short_source), None),
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
    // A window around an entry reads as words (`around 2026-11-21 02:47:13Z ±15m`), and the
    // marked entries as what they are, not a row of ids.
    if !app.query.ids.is_empty() {
        let rest = crate::model::Query {
            ids: Vec::new(),
            ..app.query.clone()
        }
        .to_string();
        let n = app.query.ids.len() as u64;
        let mut words = format!("the {} marked", entries(n));
        if !rest.is_empty() {
            words = format!("{words}, {rest}");
        }
        return render_filter_text(app, f, area, words);
    }
    let q = match &app.query.around {
        Some(a) => {
            let rest = crate::model::Query {
                around: None,
                ..app.query.clone()
            }
            .to_string();
            let a = around_phrase(a);
            if rest.is_empty() {
                a
            } else {
                format!("{rest} {a}")
            }
        }
        None => app.query.to_string(),
    };
    render_filter_text(app, f, area, q);
}

fn render_filter_text(app: &App, f: &mut Frame, area: Rect, q: String) {
    let t = &app.chrome.theme;
    let hint = format!("[{} help]", app.chrome.keymap.first(Command::Help));
    let hint_w = width(&hint) + 1;
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

/// The histogram as drawn at `width`: its columns and the axis labels either side.
pub struct Spark {
    pub columns: Columns,
    pub left: String,
    pub right: String,
}

/// The histogram's parts at `width` (`None` when there is nothing to draw).
pub fn spark(app: &App, width: usize) -> Option<Spark> {
    let p = &app.pager;
    if p.buckets.is_empty() || width < 3 {
        return None;
    }
    let plain = |cols: usize, epoch_index: u64| Spark {
        columns: Columns::new(&p.buckets, cols, epoch_index),
        left: String::new(),
        right: String::new(),
    };
    let Some(start) = p.bucket_start else {
        return Some(plain(width - 1, 0));
    };
    // Label widths first (they do not depend on the column count), then the bars between.
    let epoch_index = u64::try_from(start.timestamp())
        .unwrap_or(0)
        .checked_div(p.bucket_seconds)
        .unwrap_or(0);
    let probe = Columns::new(&p.buckets, p.buckets.len(), epoch_index);
    let (first, last) = probe.bounds(start, p.bucket_seconds)?;
    // The last bucket runs past now; the axis ends where the time does.
    let last = last.min(app.now);
    let left = histogram::label(first, p.bucket_seconds);
    let peak = probe.peak();
    let right_for = |peak: u64| {
        format!(
            "{} ▲{}",
            histogram::label(last, p.bucket_seconds),
            thousands(peak)
        )
    };
    // The peak of the columns can exceed a bucket's when columns sum buckets; measure with the
    // widest it can be (the total).
    let widest = right_for(peak.max(p.buckets.iter().sum()));
    match histogram::layout(width, width_of(&left), width_of(&widest)) {
        Some(cols) => {
            let columns = Columns::new(&p.buckets, cols, epoch_index);
            let right = right_for(columns.peak());
            Some(Spark {
                columns,
                left,
                right,
            })
        }
        None => Some(plain(width - 1, epoch_index)),
    }
}

fn width_of(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// Draws the activity histogram of the filtered range with its time axis; with the focus, the
/// picked bucket is shown reversed.
pub fn render_spark(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    let Some(sp) = spark(app, area.width as usize) else {
        return;
    };
    let bars: Vec<char> = sp.columns.bars().chars().collect();
    let mut spans = vec![Span::raw(" ")];
    if !sp.left.is_empty() {
        spans.push(Span::styled(format!("{} ", sp.left), t.dim()));
    }
    let cursor = app
        .chrome
        .spark
        .map(|c| c.min(bars.len().saturating_sub(1)));
    match cursor {
        Some(c) => {
            let before: String = bars[..c].iter().collect();
            let after: String = bars[c + 1..].iter().collect();
            // An empty bucket shows as a reversed space: still visible as the cursor.
            let at = bars[c].to_string();
            spans.push(Span::styled(before, t.spark()));
            spans.push(Span::styled(at, t.spark().add_modifier(Modifier::REVERSED)));
            spans.push(Span::styled(after, t.spark()));
        }
        None => spans.push(Span::styled(bars.iter().collect::<String>(), t.spark())),
    }
    if !sp.right.is_empty() {
        spans.push(Span::styled(format!(" {}", sp.right), t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
