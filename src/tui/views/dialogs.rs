//! The export and evidence-pack dialogs and the info view.

use super::cells::{fit, pad, span};
use super::header::{range_phrase, thousands};
use crate::export::Format;
use crate::model::{Outcome, Query};
use crate::text::human_bytes;
use crate::tui::app::App;
use crate::tui::dialogs::{EvidenceDialog, ExportDialog, FORMATS, PACK_KINDS, Stage};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui_textarea::TextArea;

/// Columns of the label before each field.
pub(super) const LABEL: usize = 12;

/// The filter as a sentence: "1,284 failed entries in channel auth, of the last 7 days".
pub fn in_words(q: &Query, count: Option<u64>) -> String {
    let or = |v: &[String]| v.join(" or ");
    let noun = if count == Some(1) { "entry" } else { "entries" };
    let mut s = if q.kinds.is_empty() {
        noun.to_string()
    } else {
        let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_string()).collect();
        format!("{} {noun}", or(&kinds))
    };
    if q.outcomes == [Outcome::Failure] {
        s = format!("failed {s}");
    } else if q.outcomes == [Outcome::Success] {
        s = format!("successful {s}");
    }
    if let Some(n) = count {
        s = format!("{} {s}", thousands(n));
    } else {
        s = format!("the {s}");
    }
    let mut add = |prefix: &str, v: &[String]| {
        if !v.is_empty() {
            s.push_str(&format!(" {prefix} {}", or(v)));
        }
    };
    add("with action", &q.actions);
    add("by", &q.actors);
    add("on", &q.targets);
    add("on a", &q.target_types);
    add("in channel", &q.channels);
    add("from IP", &q.ips);
    if !q.exclude.is_empty() {
        // The exclusions in the language's own words: short, and exact.
        let only = Query {
            exclude: q.exclude.clone(),
            ..Query::default()
        };
        s.push_str(&format!(" except {only}"));
    }
    if !q.text.is_empty() {
        let quoted: Vec<String> = q.text.iter().map(|t| format!("“{t}”")).collect();
        s.push_str(&format!(" mentioning {}", quoted.join(" and ")));
    }
    let range = range_phrase(q);
    if range == "all time" {
        format!("{s}, of all time")
    } else if range.starts_with("last ") {
        format!("{s}, of the {range}")
    } else {
        format!("{s}, {range}")
    }
}

pub(super) fn frame<'a>(t: &Theme, title: &'a str, hint: &'a str) -> Block<'a> {
    Block::bordered()
        .border_style(t.key())
        .title(Span::styled(title, t.title()))
        .title_bottom(Line::from(Span::styled(hint, t.dim())).right_aligned())
}

/// The label of a field that can take the focus: `▸` and bold on the focused one, so it shows
/// without colour (NO_COLOR) too.
fn field_label(text: &str, t: &Theme, focused: bool) -> Span<'static> {
    if focused {
        Span::styled(
            pad(&format!("▸ {text}"), LABEL),
            t.key().add_modifier(Modifier::BOLD),
        )
    } else {
        Span::styled(pad(&format!("  {text}"), LABEL), t.dim())
    }
}

/// The label before a field's value, brighter when it has the focus.
pub(super) fn label(text: &str, t: &Theme, focused: bool) -> Span<'static> {
    let style = if focused { t.key() } else { t.dim() };
    Span::styled(pad(text, LABEL), style)
}

/// A row of choices with the current one in reverse video: readable without colour.
fn choices(names: &[&str], current: usize, t: &Theme) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let style = if i == current {
            t.key().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        out.push(Span::styled(format!(" {n} "), style));
        out.push(Span::raw(" "));
    }
    out
}

/// Lines for a download's stage below the form; `None` while editing without an error.
pub(super) fn stage_lines(
    stage: &Stage,
    t: &Theme,
    w: usize,
    expected: Option<u64>,
) -> Vec<Line<'static>> {
    let unit = |n: u64| if n == 1 { "entry" } else { "entries" };
    match stage {
        Stage::Editing { error: None } => Vec::new(),
        Stage::Editing { error: Some(e) } => vec![Line::from(span(&fit(e, w), t.error()))],
        Stage::Confirm(p) => vec![
            Line::from(span(&fit(&format!("{} exists.", p.display()), w), t.warn())),
            Line::from(Span::styled("Overwrite it?", t.warn())),
        ],
        Stage::Running { bytes, rows } => {
            let cells = w.saturating_sub(8).min(48);
            let (filled, text) = match (rows, expected) {
                (Some(r), Some(n)) if n > 0 => {
                    let done = (*r).min(n);
                    let share = crate::text::ratio(done, n);
                    (
                        usize::try_from(done.saturating_mul(cells as u64) / n).unwrap_or(cells),
                        format!(
                            "{} of {} {} · {} · {:.0}%",
                            thousands(*r),
                            thousands(n),
                            unit(n),
                            human_bytes(*bytes),
                            share * 100.0
                        ),
                    )
                }
                // No total to measure against: the bar shows that bytes keep arriving.
                _ => (
                    (*bytes / 65_536) as usize % cells.max(1) + 1,
                    match rows {
                        Some(r) => format!(
                            "{} {} · {} received",
                            thousands(*r),
                            unit(*r),
                            human_bytes(*bytes)
                        ),
                        None => format!("{} received", human_bytes(*bytes)),
                    },
                ),
            };
            let bar: String = (0..cells)
                .map(|i| if i < filled { '█' } else { '░' })
                .collect();
            vec![
                Line::from(Span::styled(bar, t.key())),
                Line::from(span(&fit(&text, w), Style::new())),
            ]
        }
        Stage::Done { path, bytes, rows } => vec![Line::from(span(
            &fit(
                &format!(
                    "✓ wrote {} {} ({}) to {}",
                    thousands(*rows),
                    unit(*rows),
                    human_bytes(*bytes),
                    path.display()
                ),
                w,
            ),
            t.ok(),
        ))],
        Stage::Failed(e) => vec![Line::from(span(&fit(&format!("✗ {e}"), w), t.error()))],
    }
}

fn hint(stage: &Stage, editing: &'static str) -> &'static str {
    match stage {
        Stage::Editing { .. } => editing,
        Stage::Confirm(_) => " y overwrite · n keep ",
        Stage::Running { .. } => " Esc cancel ",
        Stage::Failed(_) => " ⏎ try again · Esc close ",
        Stage::Done { .. } => " any key closes ",
    }
}

/// A labelled text field; only the focused one shows its cursor (in reverse video), so which
/// field takes the typing is plain without colour.
fn input_row(
    f: &mut Frame,
    body: Rect,
    y: u16,
    (text, t, focused): (&str, &Theme, bool),
    input: &TextArea<'static>,
) {
    if y >= body.bottom() {
        return;
    }
    let lw = u16::try_from(LABEL).unwrap_or(u16::MAX).min(body.width);
    f.render_widget(
        Paragraph::new(field_label(text, t, focused)),
        Rect::new(body.x, y, lw, 1),
    );
    let area = Rect::new(body.x + lw, y, body.width - lw, 1);
    if focused {
        f.render_widget(input, area);
    } else {
        let mut quiet = input.clone();
        quiet.set_cursor_style(Style::new());
        f.render_widget(&quiet, area);
    }
}

/// Draws the export dialog.
pub fn render_export(app: &App, d: &ExportDialog, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    if area.width < 20 || area.height < 5 {
        return;
    }
    f.render_widget(Clear, area);
    let block = frame(
        t,
        " Export ",
        hint(&d.stage, " ⏎ export · Tab format · Esc cancel "),
    );
    let body = block.inner(area);
    f.render_widget(block, area);
    let w = body.width as usize;
    let mut lines = vec![
        format_line(d, t),
        Line::from(""),
        Line::from(""),
        Line::from(""),
    ];
    lines.extend(filter_lines(d, t, w));
    lines.extend(stage_lines(&d.stage, t, w, d.total));
    f.render_widget(Paragraph::new(lines), body);
    input_row(
        f,
        body,
        body.y + 2,
        ("Save to", t, !d.name_focused),
        &d.path,
    );
    // The name for the export history, under the path (↓ to type it).
    input_row(
        f,
        body,
        body.y + 3,
        ("Name (↓)", t, d.name_focused),
        &d.name,
    );
}

/// The export's format, the chosen one of every format.
fn format_line(d: &ExportDialog, t: &Theme) -> Line<'static> {
    let names: Vec<&str> = FORMATS
        .iter()
        .map(|f| match f {
            Format::Csv => "CSV",
            Format::Json => "JSON",
            Format::Ndjson => "NDJSON",
            Format::Ocsf => "OCSF",
        })
        .collect();
    let current = FORMATS.iter().position(|f| *f == d.format).unwrap_or(0);
    let mut format_line = vec![label("Format", t, false)];
    format_line.extend(choices(&names, current, t));
    Line::from(format_line)
}

/// What is exported, `w` columns wide: the filter, in words under it, and the choice of only
/// the marked entries.
fn filter_lines(d: &ExportDialog, t: &Theme, w: usize) -> [Line<'static>; 3] {
    let filter = if d.only_marked {
        "the marked entries only".to_string()
    } else {
        d.query.to_string()
    };
    [
        Line::from(vec![
            label("Filter", t, false),
            span(
                &fit(
                    if filter.is_empty() { "(none)" } else { &filter },
                    w.saturating_sub(LABEL),
                ),
                Style::new(),
            ),
        ]),
        Line::from(vec![
            Span::raw(" ".repeat(LABEL)),
            span(
                &fit(
                    &if d.only_marked {
                        format!(
                            "{}, whenever they happened",
                            super::header::entries(d.marked.len() as u64)
                        )
                    } else {
                        in_words(&d.query, d.total)
                    },
                    w.saturating_sub(LABEL),
                ),
                t.dim(),
            ),
        ]),
        // Offered only when something is marked: the case being built, on its own.
        if d.marked.is_empty() {
            Line::from("")
        } else {
            Line::from(vec![
                label("Only", t, false),
                Span::styled(
                    fit(
                        &format!(
                            "[{}] the {} marked on this server · Ctrl-o",
                            if d.only_marked { "x" } else { " " },
                            super::header::entries(d.marked.len() as u64)
                        ),
                        w.saturating_sub(LABEL),
                    ),
                    if d.only_marked { t.key() } else { t.dim() },
                ),
            ])
        },
    ]
}

/// Draws the evidence-pack dialog.
pub fn render_evidence(app: &App, d: &EvidenceDialog, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    if area.width < 20 || area.height < 5 {
        return;
    }
    f.render_widget(Clear, area);
    let block = frame(
        t,
        " Evidence pack ",
        hint(&d.stage, " ⏎ make · Tab next field · ←→ kind · Esc cancel "),
    );
    let body = block.inner(area);
    f.render_widget(block, area);
    let w = body.width as usize;
    let mut names: Vec<&str> = PACK_KINDS.iter().map(|(k, _)| *k).collect();
    names.extend(d.custom.iter().map(|(l, _, _)| *l));
    let mut kind_line = vec![field_label("Kind", t, d.focus == 0)];
    let all = choices(&names, d.kind, t);
    let all_w: usize = all.iter().map(|s| s.width()).sum();
    if LABEL + all_w <= w {
        kind_line.extend(all);
    } else {
        // Too narrow for every kind: the chosen one, where it is among them, and ←→.
        kind_line.extend(choices(&[names[d.kind]], 0, t));
        kind_line.push(Span::styled(
            format!("{}/{} ←→", d.kind + 1, names.len()),
            t.dim(),
        ));
    }
    let what = match d.chosen_custom() {
        Some((_, q, _)) if !q.ids.is_empty() => format!(
            "the {} marked (the case)",
            super::header::counted(q.ids.len() as u64, "entry", "entries")
        ),
        Some((_, q, _)) => in_words(q, None),
        None => PACK_KINDS[d.kind].1.to_string(),
    };
    let mut lines = vec![
        Line::from(kind_line),
        Line::from(vec![
            Span::raw(" ".repeat(LABEL)),
            span(&fit(&what, w.saturating_sub(LABEL)), t.dim()),
        ]),
        Line::from(""),
        Line::from(""),
        Line::from(""),
        Line::from(""),
        Line::from(""),
        Line::from(Span::styled(
            fit(
                "JSON, CSV, report.pdf and a manifest of SHA-256s; check it with trailscope verify-pack",
                w,
            ),
            t.dim(),
        )),
        Line::from(""),
    ];
    lines.extend(stage_lines(&d.stage, t, w, None));
    f.render_widget(Paragraph::new(lines), body);
    input_row(f, body, body.y + 2, ("From", t, d.focus == 1), &d.from);
    input_row(f, body, body.y + 3, ("To", t, d.focus == 2), &d.to);
    input_row(f, body, body.y + 4, ("Save to", t, d.focus == 3), &d.path);
    input_row(f, body, body.y + 5, ("Name", t, d.focus == 4), &d.name);
    input_row(f, body, body.y + 6, ("Title", t, d.focus == 5), &d.title);
}
