//! The detail pane: the entry as a syntax-coloured JSON tree, or the before/after diff.

use super::cells::{span, width};
use crate::tui::app::App;
use crate::tui::detail::{Detail, Lines};
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
        Value::String(s) => Span::styled(crate::tui::json_tree::quoted(s), t.json_string()),
        Value::Number(n) => Span::styled(n.to_string(), t.json_number()),
        other => Span::styled(other.to_string(), t.json_literal()),
    }
}

fn tree_line(r: &Row, t: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw("  ".repeat(r.depth))];
    if let Some(k) = &r.key {
        spans.push(Span::styled(crate::tui::json_tree::quoted(k), t.json_key()));
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

fn diff_line(d: &DiffLine, t: &Theme) -> Line<'static> {
    let (sign, path, value, style) = match d {
        DiffLine::Same { path, value } => (' ', path, value, t.dim()),
        DiffLine::Removed { path, value } => ('-', path, value, t.removed()),
        DiffLine::Added { path, value } => ('+', path, value, t.added()),
    };
    Line::from(span(&format!("{sign} {path}: {value}"), style))
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
    let w = body.width as usize;
    // Every row wrapped to the width (no value is cut off); the view starts at the scroll
    // line, which may be inside a long value (see `Lines`).
    let lines = layout(d, w, t);
    let scroll = d.scroll.min(lines.max_scroll(h));
    let mut out: Vec<Line> = Vec::with_capacity(h);
    let mut i = lines.row_at(scroll);
    let mut skip = scroll - lines.span(i).0;
    while out.len() < h && i < d.row_count() {
        let mut more = row_lines(d, i, w, t);
        if i == d.cursor && app.pane.focus {
            more = more
                .into_iter()
                .map(|l| l.patch_style(t.selected()))
                .collect();
        }
        out.extend(more.into_iter().skip(skip));
        skip = 0;
        i += 1;
    }
    out.truncate(h);
    f.render_widget(Paragraph::new(out).style(Style::new()), body);
}

/// Row `i` of the pane wrapped to `w` columns.
fn row_lines(d: &Detail, i: usize, w: usize, t: &Theme) -> Vec<Line<'static>> {
    let line = if d.show_diff {
        match d.diff.as_deref().and_then(|diff| diff.get(i)) {
            Some(l) => diff_line(l, t),
            None => return Vec::new(),
        }
    } else {
        match d.tree.rows().get(i) {
            Some(r) => tree_line(r, t),
            None => return Vec::new(),
        }
    };
    let indent = if d.show_diff {
        2
    } else {
        d.tree.rows().get(i).map_or(0, |r| 2 * r.depth + 2)
    };
    wrap(line, w, indent)
}

/// Where each row's wrapped lines start at width `w`: what the pane scrolls over.
pub fn layout(d: &Detail, w: usize, t: &Theme) -> Lines {
    Lines::new((0..d.row_count()).map(|i| row_lines(d, i, w, t).len()))
}

/// `line` broken into lines of at most `w` columns; the continuation lines start `indent`
/// columns in, so a wrapped value reads as one.
pub fn wrap(line: Line<'static>, w: usize, indent: usize) -> Vec<Line<'static>> {
    use unicode_width::UnicodeWidthChar;
    if w == 0 {
        return Vec::new();
    }
    if line.width() <= w {
        return vec![line];
    }
    let indent = indent.min(w / 2);
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for sp in line.spans {
        let style = sp.style;
        let mut buf = String::new();
        for ch in sp.content.chars() {
            let cw = ch.width().unwrap_or(0);
            if used + cw > w {
                // Break after the last space of this piece when there is one not too far
                // back, so words stay whole; else mid-word (a long token has no space).
                let carry = match buf.rfind(' ') {
                    Some(i) if width(&buf[i + 1..]) < w / 3 => buf.split_off(i + 1),
                    _ => String::new(),
                };
                if !buf.is_empty() {
                    cur.push(Span::styled(std::mem::take(&mut buf), style));
                }
                out.push(Line::from(std::mem::take(&mut cur)));
                cur.push(Span::raw(" ".repeat(indent)));
                used = indent + width(&carry);
                buf = carry;
            }
            buf.push(ch);
            used += cw;
        }
        if !buf.is_empty() {
            cur.push(Span::styled(buf, style));
        }
    }
    if !cur.is_empty() {
        out.push(Line::from(cur));
    }
    out
}
