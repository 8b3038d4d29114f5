//! The filter pane: fields on the left, the focused field's values or input on the right.

use super::cells::{fit, pad, span, width};
use crate::model::{FacetField, FacetValue};
use crate::tui::app::App;
use crate::tui::filters::{FIELDS, FacetState, Field, FilterPane};
use crate::tui::input;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

fn count_selected(p: &FilterPane, i: usize) -> usize {
    let q = &p.draft;
    match FIELDS[i].1 {
        Field::List(f) => match f {
            crate::model::FacetField::Action => q.actions.len(),
            crate::model::FacetField::Actor => q.actors.len(),
            crate::model::FacetField::TargetType => q.target_types.len(),
            crate::model::FacetField::Channel => q.channels.len(),
            crate::model::FacetField::Kind => q.kinds.len(),
            crate::model::FacetField::Outcome => q.outcomes.len(),
        },
        Field::From => usize::from(!input::text(&p.from).trim().is_empty()),
        Field::To => usize::from(!input::text(&p.to).trim().is_empty()),
        Field::Search => usize::from(!input::text(&p.search).trim().is_empty()),
    }
}

/// Draws the pane over `area`.
pub fn render(app: &App, p: &FilterPane, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    if area.width < 10 || area.height < 3 {
        return;
    }
    f.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(t.key())
        .title(Span::styled(" Filters ", t.title()))
        .title_bottom(Line::from(Span::styled(
            " Tab field · type to narrow · Space select · Enter apply · Esc close ",
            t.dim(),
        )));
    let body = block.inner(area);
    f.render_widget(block, area);
    let left_w = 14.min(body.width / 3);
    f.render_widget(
        Paragraph::new(field_names(p, t, left_w as usize)),
        Rect::new(body.x, body.y, left_w, body.height),
    );
    let right = Rect::new(
        body.x + left_w + 1,
        body.y,
        body.width.saturating_sub(left_w + 1),
        body.height,
    );
    if right.width == 0 || right.height == 0 {
        return;
    }
    match p.current() {
        Field::List(field) => render_list(p, field, t, f, right),
        Field::From | Field::To | Field::Search => render_times(p, t, f, right),
    }
    if let Some(e) = &p.error {
        let y = body.y + body.height.saturating_sub(1);
        f.render_widget(
            Paragraph::new(Span::styled(fit(e, body.width as usize), t.error())),
            Rect::new(body.x, y, body.width, 1),
        );
    }
}

/// The left column: every field, with how many of its values are chosen.
fn field_names(p: &FilterPane, t: &Theme, w: usize) -> Vec<Line<'static>> {
    let mut left = Vec::new();
    for (i, (name, _)) in FIELDS.iter().enumerate() {
        let n = count_selected(p, i);
        let label = if n > 0 {
            format!("{name} ({n})")
        } else {
            name.to_string()
        };
        let style = if i == p.field {
            t.selected()
        } else if n > 0 {
            t.title()
        } else {
            ratatui::style::Style::new()
        };
        left.push(Line::from(Span::styled(pad(&label, w), style)));
    }
    left
}

/// A list field: the narrowing input, then its values with their counts, ticked when chosen.
fn render_list(p: &FilterPane, field: FacetField, t: &Theme, f: &mut Frame, right: Rect) {
    let rw = right.width as usize;
    let label = "narrow: ";
    f.render_widget(
        Paragraph::new(Span::styled(label, t.dim())),
        Rect::new(right.x, right.y, 8.min(right.width), 1),
    );
    let input_area = Rect::new(
        right.x + 8.min(right.width),
        right.y,
        right.width.saturating_sub(8),
        1,
    );
    f.render_widget(&p.typed, input_area);
    let list_h = right.height.saturating_sub(1) as usize;
    let values = p.visible_values();
    let mut lines = Vec::new();
    match &p.facets[p.field] {
        Some(FacetState::Loading) | None => {
            lines.push(Line::from(Span::styled("loading values…", t.dim())))
        }
        Some(FacetState::Failed(e)) => lines.push(Line::from(span(e, t.error()))),
        Some(FacetState::Loaded { .. }) if values.is_empty() => {
            lines.push(Line::from(Span::styled("no values", t.dim())))
        }
        _ => {}
    }
    let skip = p.list_cursor.saturating_sub(list_h.saturating_sub(1));
    for (i, v) in values.iter().enumerate().skip(skip).take(list_h) {
        let mut line = value_line(p, field, v, t, rw);
        if i == p.list_cursor {
            line = line.patch_style(t.selected());
        }
        lines.push(line);
    }
    f.render_widget(
        Paragraph::new(lines),
        Rect::new(
            right.x,
            right.y + 1,
            right.width,
            right.height.saturating_sub(1),
        ),
    );
}

/// One value of a list field, `rw` columns wide: tick, name (a kind in its colour), count.
fn value_line(
    p: &FilterPane,
    field: FacetField,
    v: &FacetValue,
    t: &Theme,
    rw: usize,
) -> Line<'static> {
    let mark = if p.is_selected(field, &v.value) {
        "[x] "
    } else {
        "[ ] "
    };
    let count = if p.estimated() {
        format!("≈{}", super::header::thousands(v.count))
    } else {
        super::header::thousands(v.count)
    };
    let name = match &v.label {
        Some(l) if *l != v.value => format!("{l} ({})", v.value),
        _ => v.value.clone(),
    };
    let room = rw.saturating_sub(4 + width(&count) + 1);
    let mut spans = vec![
        Span::raw(mark),
        Span::raw(pad(&name, room)),
        Span::raw(" "),
        Span::styled(count, t.dim()),
    ];
    if field == FacetField::Kind
        && let Some(k) = crate::model::Kind::parse(&v.value)
    {
        spans[1] = Span::styled(pad(&name, room), t.kind(k));
    }
    Line::from(spans)
}

/// The time and search fields: three inputs, then the forms a time may take.
fn render_times(p: &FilterPane, t: &Theme, f: &mut Frame, right: Rect) {
    let rows = [
        ("From", &p.from, Field::From),
        ("To", &p.to, Field::To),
        ("Search", &p.search, Field::Search),
    ];
    for (i, (name, ta, fld)) in (0u16..).zip(rows.iter()) {
        let y = right.y + i * 2;
        if y >= right.y + right.height {
            break;
        }
        let style = if p.current() == *fld {
            t.title().add_modifier(Modifier::UNDERLINED)
        } else {
            t.dim()
        };
        f.render_widget(
            Paragraph::new(Span::styled(format!("{name:<7}"), style)),
            Rect::new(right.x, y, 7.min(right.width), 1),
        );
        f.render_widget(
            *ta,
            Rect::new(
                right.x + 8.min(right.width),
                y,
                right.width.saturating_sub(8),
                1,
            ),
        );
    }
    let help = "2026-11-01 · 2026-11-01T08:00Z · 7d · 2h · yesterday · today";
    let y = right.y + 6;
    if y < right.y + right.height {
        f.render_widget(
            Paragraph::new(Span::styled(fit(help, right.width as usize), t.dim())),
            Rect::new(right.x, y, right.width, 1),
        );
    }
}
