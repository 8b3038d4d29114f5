//! The detail pane: the entry as a syntax-coloured JSON tree, or the before/after diff.

use super::cells::{fit, span, width};
use crate::tui::app::App;
use crate::tui::detail::Detail;
use crate::tui::diff::DiffLine;
use crate::tui::json_tree::{Row, RowKind};
use crate::tui::keymap::Command;
use crate::tui::layout::{bordered, inner};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use serde_json::Value;

fn scalar(v: &Value, t: &Theme) -> Span<'static> {
    match v {
        Value::String(_) => span(&v.to_string(), t.json_string()),
        Value::Number(n) => Span::styled(n.to_string(), t.json_number()),
        other => Span::styled(other.to_string(), t.json_literal()),
    }
}

fn tree_line(r: &Row, t: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw("  ".repeat(r.depth))];
    if let Some(k) = &r.key {
        spans.push(span(&Value::String(k.clone()).to_string(), t.json_key()));
        spans.push(Span::styled(": ", t.dim()));
    }
    match &r.kind {
        RowKind::Open { bracket } => spans.push(Span::styled(format!("▾ {bracket}"), t.dim())),
        RowKind::Close { bracket } => spans.push(Span::styled(bracket.to_string(), t.dim())),
        RowKind::Folded { bracket, len } => {
            let (close, what) = if *bracket == '{' {
                ('}', "key")
            } else {
                (']', "item")
            };
            spans.push(Span::styled(format!("▸ {bracket}…{close}"), t.dim()));
            let s = if *len == 1 { "" } else { "s" };
            spans.push(Span::styled(format!(" {len} {what}{s}"), t.dim()));
        }
        RowKind::Scalar(v) => spans.push(scalar(v, t)),
    }
    if r.comma {
        spans.push(Span::styled(",", t.dim()));
    }
    Line::from(spans)
}

fn diff_line(d: &DiffLine, t: &Theme, w: usize) -> Line<'static> {
    let (sign, path, value, style) = match d {
        DiffLine::Same { path, value } => (' ', path, value, t.dim()),
        DiffLine::Removed { path, value } => ('-', path, value, t.removed()),
        DiffLine::Added { path, value } => ('+', path, value, t.added()),
    };
    Line::from(Span::styled(
        fit(&format!("{sign} {path}: {value}"), w),
        style,
    ))
}

/// Draws the detail pane into `area`.
pub fn render(app: &App, d: &Detail, f: &mut Frame, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let t = &app.chrome.theme;
    f.render_widget(Clear, area);
    let body = inner(area);
    if bordered(area) {
        let current = app.current();
        let seq = current.as_ref().map(|e| e.seq).unwrap_or_default();
        let view = if d.show_diff {
            "diff before → after"
        } else {
            "JSON"
        };
        let mut title = vec![Span::styled(format!(" entry #{seq} · {view} "), t.title())];
        // A failure is marked in every view, the pane included.
        if current
            .as_ref()
            .is_some_and(|e| e.outcome == crate::model::Outcome::Failure)
        {
            title.push(Span::styled("✗ failure ", t.failure()));
        }
        if current.as_ref().is_some_and(|e| e.actor.is_pseudonymised()) {
            title.push(Span::styled("[pseudonym] ", t.pseudonym()));
        }
        if d.diff.is_some() {
            let other = if d.show_diff { "JSON" } else { "diff" };
            title.push(Span::styled(
                format!("[{} {other}] ", app.chrome.keymap.first(Command::Diff)),
                t.key(),
            ));
        }
        let hint = format!(
            " {}/{} entry · {} copy · {} zoom · Esc close ",
            app.chrome.keymap.first(Command::Prev),
            app.chrome.keymap.first(Command::Next),
            app.chrome.keymap.first(Command::Copy),
            app.chrome.keymap.first(Command::Zoom)
        );
        let border = if app.pane.focus { t.key() } else { t.dim() };
        let mut block = Block::bordered()
            .border_style(border)
            .title(Line::from(title));
        if width(&hint) + 4 < area.width as usize {
            block = block.title_bottom(Line::from(Span::styled(hint, t.dim())).right_aligned());
        }
        f.render_widget(block, area);
    }
    let h = body.height as usize;
    let lines: Vec<Line> = if d.show_diff {
        let diff = d.diff.as_deref().unwrap_or(&[]);
        diff.iter()
            .skip(d.scroll)
            .take(h)
            .map(|l| diff_line(l, t, body.width as usize))
            .collect()
    } else {
        d.tree
            .rows()
            .iter()
            .skip(d.scroll)
            .take(h)
            .map(|r| tree_line(r, t))
            .collect()
    };
    let lines: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            if d.scroll + i == d.cursor && app.pane.focus {
                l.patch_style(t.selected())
            } else {
                l
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines).style(Style::new()), body);
}
