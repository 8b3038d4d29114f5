//! The entry table: only the visible window of rows is built; columns fold away when narrow.

use super::cells::{pad, span, width};
use super::header::thousands;
use crate::model::Outcome;
use crate::tui::app::{App, Status, TimeMode};
use crate::tui::keymap::Command;
use crate::tui::layout::{bordered, inner};
use crate::tui::rows::{ActorCell, ViewRow};
use chrono::{DateTime, Local, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    When,
    Event,
    Action,
    Actor,
    Target,
    Description,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::When => "When",
            Col::Event => "Event",
            Col::Action => "Action",
            Col::Actor => "Actor",
            Col::Target => "Target",
            Col::Description => "Description",
        }
    }
}

/// A relative age: `42s ago`, `5m ago`, `2h ago`, `3d ago`.
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds();
    if s < 0 {
        return "in the future".into();
    }
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86400),
    }
}

/// How much of a time the When column shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span3 {
    /// `2026-11-21 09:14:03Z`
    Full,
    /// `11-21 09:14:03` (80 columns: the year is the same on every row that matters)
    Compact,
    /// `11-21 09:14`
    Narrow,
}

fn when(t: DateTime<Utc>, mode: TimeMode, now: DateTime<Utc>, span: Span3) -> String {
    match (mode, span) {
        (TimeMode::Relative, _) => ago(t, now),
        (TimeMode::Utc, Span3::Full) => t.format("%Y-%m-%d %H:%M:%SZ").to_string(),
        (TimeMode::Utc, Span3::Compact) => t.format("%m-%d %H:%M:%S").to_string(),
        (TimeMode::Utc, Span3::Narrow) => t.format("%m-%d %H:%M").to_string(),
        // Local times carry their zone's offset, so a reader never takes them for UTC.
        (TimeMode::Local, Span3::Full) => t
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S%:z")
            .to_string(),
        (TimeMode::Local, Span3::Compact) => {
            t.with_timezone(&Local).format("%m-%d %H:%M:%S").to_string()
        }
        (TimeMode::Local, Span3::Narrow) => {
            t.with_timezone(&Local).format("%m-%d %H:%M").to_string()
        }
    }
}

/// What the visible rows need: the widest value of each column that varies.
#[derive(Debug, Clone, Copy, Default)]
struct Needs {
    action: usize,
    actor: usize,
    target: usize,
    description: usize,
}

impl Needs {
    fn of(rows: &[ViewRow]) -> Needs {
        let mut n = Needs {
            action: 6,
            actor: 5,
            target: 6,
            description: 11,
        };
        for r in rows {
            n.action = n.action.max(width(&r.action));
            n.actor = n.actor.max(match &r.actor {
                ActorCell::System => 8,
                ActorCell::Pseudonym(who) => 12 + width(who),
                ActorCell::Named(l) => width(l),
                ActorCell::Nobody => 1,
            });
            n.target = n.target.max(width(&r.target));
            n.description = n.description.max(width(&r.description));
        }
        n
    }
}

/// The columns shown at `width` and their widths, sized to what the visible rows hold: Action
/// is never cut while another column has room; Description folds first, then Target, then
/// Actor, then Event; whatever is left goes to Description (or the last column).
fn columns(width: usize, mode: TimeMode, needs: Needs) -> (Vec<(Col, usize)>, Span3) {
    // 60 columns (58 inside the border) keep the seconds: rows a `w` window shows are often
    // seconds apart.
    let span = match width {
        0..50 => Span3::Narrow,
        50..110 => Span3::Compact,
        _ => Span3::Full,
    };
    let when_w = match (mode, span) {
        (TimeMode::Relative, _) => 9,
        (_, Span3::Narrow) => 11,
        (_, Span3::Compact) => 14,
        (TimeMode::Utc, Span3::Full) => 20,
        (TimeMode::Local, Span3::Full) => 25,
    };
    // Wide values are capped so one odd row cannot take the screen; the cap is still wider
    // than almost every real value.
    let action = needs.action.min(40);
    let actor = needs.actor.min(28);
    let target = needs.target.min(36);
    let sum = |v: &[(Col, usize)]| v.iter().map(|c| c.1).sum::<usize>() + v.len().saturating_sub(1);
    let candidates: [&[(Col, usize)]; 5] = [
        &[
            (Col::When, when_w),
            (Col::Event, 9),
            (Col::Action, action),
            (Col::Actor, actor),
            (Col::Target, target),
            (Col::Description, needs.description.min(16)),
        ],
        &[
            (Col::When, when_w),
            (Col::Event, 9),
            (Col::Action, action),
            (Col::Actor, actor),
            (Col::Target, target),
        ],
        &[
            (Col::When, when_w),
            (Col::Event, 9),
            (Col::Action, action),
            (Col::Actor, actor),
        ],
        &[(Col::When, when_w), (Col::Event, 9), (Col::Action, action)],
        &[(Col::When, when_w), (Col::Action, action)],
    ];
    for (i, cols) in candidates.iter().enumerate() {
        if sum(cols) <= width {
            let mut v = cols.to_vec();
            let last = v.len() - 1;
            v[last].1 += width - sum(cols);
            return (v, span);
        }
        // Before Actor folds away, Action gives what it has to spare: who did it matters more
        // than the end of a long action name (60 columns).
        if i == 2 {
            let room = width.saturating_sub(when_w + 9 + 3);
            let actor_w = actor.min(16);
            if room >= actor_w + 10 {
                return (
                    vec![
                        (Col::When, when_w),
                        (Col::Event, 9),
                        (Col::Action, room - actor_w),
                        (Col::Actor, actor_w),
                    ],
                    span,
                );
            }
        }
    }
    // Tiny: the time and whatever of the action fits.
    let w = when_w.min(width);
    let mut v = vec![(Col::When, w)];
    if width > w + 1 {
        v.push((Col::Action, width - w - 1));
    }
    (v, span)
}

fn cell(app: &App, e: &ViewRow, col: Col, w: usize, span: Span3) -> Span<'static> {
    let t = &app.chrome.theme;
    match col {
        Col::When => Span::raw(pad(
            &when(e.occurred_at, app.chrome.time_mode, app.now, span),
            w,
        )),
        Col::Event => {
            if e.outcome == Outcome::Failure {
                Span::styled(
                    pad(&format!("✗ {}", e.kind), w),
                    t.kind(e.kind).patch(t.failure()),
                )
            } else {
                Span::styled(pad(e.kind.as_str(), w), t.kind(e.kind))
            }
        }
        Col::Action => Span::raw(pad(&e.action, w)),
        Col::Actor => match &e.actor {
            ActorCell::System => Span::styled(pad("[System]", w), t.system()),
            // The pseudonym itself says nothing; the id keeps the person followable.
            ActorCell::Pseudonym(who) => {
                Span::styled(pad(&format!("[pseudonym] {who}"), w), t.pseudonym())
            }
            ActorCell::Named(l) => Span::raw(pad(l, w)),
            ActorCell::Nobody => Span::styled(pad("—", w), t.dim()),
        },
        Col::Target => Span::raw(pad(&e.target, w)),
        Col::Description => Span::raw(pad(&e.description, w)),
    }
}

fn empty_message(app: &App) -> Vec<Line<'static>> {
    let t = &app.chrome.theme;
    match &app.conn.status {
        Status::Failed(e) if app.pager.rows.is_empty() => vec![
            Line::from(span(&e.to_string(), t.error())),
            Line::from(span(&format!("What to do: {}.", e.advice()), Style::new())),
        ],
        _ if app.pager.loading => vec![Line::from(Span::styled("loading…", t.dim()))],
        _ => vec![Line::from(span(
            &format!(
                "No entries match this filter. {} clears it, {} edits it.",
                app.chrome.keymap.first(Command::Clear),
                app.chrome.keymap.first(Command::Query)
            ),
            t.dim(),
        ))],
    }
}

/// `row 12 of 12,728`: of the count under the filter when it is known, else of what is
/// loaded (`of 200+` while more remain).
pub fn position(app: &App) -> String {
    let p = &app.pager;
    let of = match p.total {
        Some(n) if p.estimate => format!("≈{}", thousands(n.max(p.rows.len() as u64))),
        Some(n) => thousands(n.max(p.rows.len() as u64)),
        None if p.exhausted => thousands(p.rows.len() as u64),
        None => format!("{}+", thousands(p.rows.len() as u64)),
    };
    format!("row {} of {of}", thousands(p.selected as u64 + 1))
}

/// Draws the table into `area`.
pub fn render(app: &App, f: &mut Frame, area: Rect) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let t = &app.chrome.theme;
    let body = inner(area);
    if bordered(area) {
        f.render_widget(frame(app), area);
    }
    let visible = body.height.saturating_sub(1) as usize;
    let offset = app.pager.offset;
    // The cells built when the rows or the place last changed; built here only when this frame
    // is drawn at another size than the app was told of.
    let built: Vec<ViewRow>;
    let window = match app.pager.window(offset, visible) {
        Some(w) => w,
        None => {
            built = app
                .pager
                .rows
                .range(offset, offset + visible)
                .map(|e| ViewRow::new(&e))
                .collect();
            &built
        }
    };
    let (cols, span) = columns(body.width as usize, app.chrome.time_mode, Needs::of(window));
    let mut lines = Vec::with_capacity(body.height as usize);
    lines.push(header(app, &cols));
    if app.pager.rows.is_empty() {
        lines.extend(empty_message(app));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), body);
        return;
    }
    for ((i, y), e) in (0usize..).zip(0u16..).zip(window.iter()) {
        lines.push(row_line(app, e, offset + i, &cols, span));
        if let Some(sign) = sign(app, e).filter(|_| bordered(area)) {
            let y = body.y + 1 + y;
            if let Some(cell) = f.buffer_mut().cell_mut((area.x, y)) {
                cell.set_symbol(sign).set_style(t.key());
            }
        }
    }
    f.render_widget(Paragraph::new(lines), body);
}

/// The table's border: the position (and the marked count) below, new entries while
/// following above.
fn frame(app: &App) -> Block<'static> {
    let t = &app.chrome.theme;
    // The case being built is counted where the position is: `● 92 marked · row 3 of 92`.
    let marked = app.marked_count() as u64;
    let marks = if marked > 0 {
        format!("● {} marked · ", thousands(marked))
    } else {
        String::new()
    };
    let pos = if app.pager.rows.is_empty() {
        if marks.is_empty() {
            String::new()
        } else {
            format!(" {} ", marks.trim_end_matches(" · "))
        }
    } else {
        format!(" {marks}{} ", position(app))
    };
    let mut block = Block::bordered()
        .border_style(t.dim())
        .title_bottom(Line::from(Span::styled(pos, t.dim())).right_aligned());
    if app.pane.focus && app.pane.detail.is_some() {
        block = block.border_style(t.dim().add_modifier(Modifier::DIM));
    }
    if let Some(f) = app.conn.follow.as_ref().filter(|f| f.unseen > 0) {
        let top = app.chrome.keymap.first(crate::tui::keymap::Command::Top);
        block = block.title_top(
            Line::from(Span::styled(
                format!(" ▲ {} new ({top}) ", thousands(f.unseen as u64)),
                t.fresh().add_modifier(Modifier::BOLD),
            ))
            .right_aligned(),
        );
    }
    block
}

/// The column titles.
fn header(app: &App, cols: &[(Col, usize)]) -> Line<'static> {
    let t = &app.chrome.theme;
    let header: Vec<Span> = cols
        .iter()
        .enumerate()
        .flat_map(|(i, (c, w))| {
            let sep = if i > 0 { Some(Span::raw(" ")) } else { None };
            sep.into_iter().chain(std::iter::once(Span::styled(
                // Local times say so in the title: without it a reader takes them for UTC.
                pad(
                    match (c, app.chrome.time_mode) {
                        (Col::When, TimeMode::Local) => "When (local)",
                        (c, _) => c.title(),
                    },
                    *w,
                ),
                t.title().add_modifier(Modifier::UNDERLINED),
            )))
        })
        .collect();
    Line::from(header)
}

/// Row `row` of the table: a failure in bold, fresh and selected rows in their colours.
fn row_line(
    app: &App,
    e: &ViewRow,
    row: usize,
    cols: &[(Col, usize)],
    span: Span3,
) -> Line<'static> {
    let t = &app.chrome.theme;
    let mut spans = Vec::with_capacity(cols.len() * 2);
    for (j, (c, w)) in cols.iter().enumerate() {
        if j > 0 {
            spans.push(Span::raw(" "));
        }
        spans.push(cell(app, e, *c, *w, span));
    }
    let mut line = Line::from(spans);
    if e.outcome == Outcome::Failure {
        line = line.style(Style::new().add_modifier(Modifier::BOLD));
    }
    if app.is_fresh(e.seq) {
        line = line.patch_style(t.fresh());
    }
    if row == app.pager.selected {
        line = line.patch_style(t.selected());
    }
    line
}

/// In the border beside the row: `●` a marked entry, `▶` the one `w` opened the window around.
fn sign(app: &App, e: &ViewRow) -> Option<&'static str> {
    if app.is_marked(&e.id) {
        Some("●")
    } else if app.pager.anchor.is_some_and(|(_, seq)| seq == e.seq) {
        Some("▶")
    } else {
        None
    }
}
