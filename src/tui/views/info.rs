//! `i`: the info view — where the data comes from, the tenant's retention and last prune, and
//! what the table's badges mean.

use super::cells::{fit, span};
use super::dialogs::{LABEL, frame, in_words, label};
use super::header::thousands;
use crate::tui::app::App;
use crate::tui::dialogs::RetentionInfo;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

/// Draws the info view: where the data comes from, retention, the last prune, the badges.
pub fn render_info(app: &App, info: &RetentionInfo, f: &mut Frame, area: Rect) {
    let t = &app.chrome.theme;
    if area.width < 20 || area.height < 5 {
        return;
    }
    f.render_widget(Clear, area);
    let block = frame(t, " About this log ", " any key closes ");
    let body = block.inner(area);
    f.render_widget(block, area);
    let room = (body.width as usize).saturating_sub(LABEL).max(10);
    let row = |l: &str, text: String, style: Style| info_row(t, room, l, &text, style);
    let mut lines = row("Source", app.conn.source.clone(), Style::new());
    for (l, text) in &app.conn.about {
        lines.extend(row(l, text.clone(), Style::new()));
    }
    lines.extend(row(
        "Showing",
        if app.pager.estimate {
            format!("≈{}", in_words(&app.query, app.pager.total))
        } else {
            in_words(&app.query, app.pager.total)
        },
        Style::new(),
    ));
    lines.push(Line::from(""));
    lines.extend(retention_lines(app, info, &row));
    lines.push(Line::from(""));
    lines.extend(badge_lines(t));
    f.render_widget(
        Paragraph::new(ellipsised(lines, body.width as usize, body.height as usize)),
        body,
    );
}

/// A label and its text, wrapped to `room` under itself rather than under the label.
fn info_row(t: &Theme, room: usize, l: &str, text: &str, style: Style) -> Vec<Line<'static>> {
    wrap(text, room)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let head = if i == 0 {
                label(l, t, false)
            } else {
                Span::raw(" ".repeat(LABEL))
            };
            Line::from(vec![head, span(&part, style)])
        })
        .collect()
}

/// The tenant's retention and its last prune, as `row`s of the info view.
fn retention_lines(
    app: &App,
    info: &RetentionInfo,
    row: &impl Fn(&str, String, Style) -> Vec<Line<'static>>,
) -> Vec<Line<'static>> {
    let t = &app.chrome.theme;
    let r = match info {
        RetentionInfo::Loading => return row("Retention", "asking the server…".into(), t.dim()),
        RetentionInfo::NotAdmin => {
            return row(
                "Retention",
                "visible to admin tokens only; this token cannot read it".into(),
                t.dim(),
            );
        }
        RetentionInfo::Failed(e) => return row("Retention", e.clone(), t.error()),
        RetentionInfo::Loaded(r) => r,
    };
    let cutoff = app.now - chrono::Duration::days(i64::from(r.days));
    let mut lines = row(
        "Retention",
        format!(
            "{} days (floor {}): entries received before {} go at the next prune",
            thousands(u64::from(r.days)),
            r.floor_days,
            cutoff.format("%Y-%m-%d")
        ),
        Style::new(),
    );
    let Some(p) = &r.last_prune else {
        lines.extend(row(
            "Last prune",
            "none yet: nothing has been removed".into(),
            t.dim(),
        ));
        return lines;
    };
    lines.extend(row(
        "Last prune",
        format!(
            "{} removed {} received before {}",
            minute(&p.pruned_at),
            super::header::entries(p.removed),
            minute(&p.cutoff)
        ),
        Style::new(),
    ));
    if let Some(a) = &p.anchor {
        lines.extend(row(
            "Chain",
            format!(
                "verifies from seq {}, anchored to the last pruned entry",
                thousands(a.seq + 1)
            ),
            Style::new(),
        ));
    }
    if let Some(a) = &p.archive {
        lines.extend(row("Archive", a.clone(), Style::new()));
    }
    lines
}

/// What the table's badges mean.
fn badge_lines(t: &Theme) -> [Line<'static>; 3] {
    [
        Line::from(vec![
            label("Badges", t, false),
            Span::styled("[System]", t.system()),
            Span::raw(" the system acted, no person or service named"),
        ]),
        Line::from(vec![
            Span::raw(" ".repeat(LABEL)),
            Span::styled("[pseudonym] u_9", t.pseudonym()),
            Span::raw(" personal data erased (GDPR); the id remains"),
        ]),
        Line::from(vec![
            Span::raw(" ".repeat(LABEL)),
            Span::styled("✗", t.failure()),
            Span::raw(" the action failed"),
        ]),
    ]
}

/// `text` in lines of at most `w` columns, broken at spaces; a word longer than a line (a
/// verifier key, a token) is broken across lines rather than cut, so all of it can be read.
fn wrap(text: &str, w: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut words: Vec<String> = Vec::new();
    for word in text.split(' ') {
        if w == 0 || super::cells::width(word) <= w {
            words.push(word.to_string());
            continue;
        }
        let mut piece = String::new();
        for c in word.chars() {
            let mut c_buf = [0u8; 4];
            let cw = super::cells::width(c.encode_utf8(&mut c_buf));
            if !piece.is_empty() && super::cells::width(&piece) + cw > w {
                words.push(std::mem::take(&mut piece));
            }
            piece.push(c);
        }
        words.push(piece);
    }
    for word in &words {
        let word = word.as_str();
        let last = out.last_mut().expect("never empty");
        if !last.is_empty() && super::cells::width(last) + 1 + super::cells::width(word) > w {
            out.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    out.into_iter().map(|l| fit(&l, w)).collect()
}

/// `2026-11-21 03:00Z`: a prune's times to the minute.
fn minute(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}

/// `lines` cut to `w` columns and `h` lines, each cut marked with `…`: nothing disappears
/// without a sign that there is more.
fn ellipsised(lines: Vec<Line<'static>>, w: usize, h: usize) -> Vec<Line<'static>> {
    let over = lines.len() > h;
    let mut out: Vec<Line<'static>> = lines
        .into_iter()
        .take(h)
        .map(|l| {
            if l.width() <= w {
                return l;
            }
            let mut left = w.saturating_sub(1);
            let mut spans = Vec::new();
            for sp in l.spans {
                if left == 0 {
                    break;
                }
                let mut text = String::new();
                for ch in sp.content.chars() {
                    let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
                    if cw > left {
                        left = 0;
                        break;
                    }
                    text.push(ch);
                    left -= cw;
                }
                spans.push(Span::styled(text, sp.style));
            }
            spans.push(Span::raw("…"));
            Line::from(spans)
        })
        .collect();
    if over && let Some(last) = out.last_mut() {
        *last = Line::from(Span::raw("…"));
    }
    out
}

#[cfg(test)]
mod wrap_tests {
    use super::wrap;

    #[test]
    fn a_word_longer_than_a_line_is_broken_not_cut() {
        let key = "trailscope/default+5cd00203+AaMZqYkLkLF2QM8owJjy6sMLftEQGpVMq1HGjycEI4/H";
        let lines = wrap(&format!("{key} (the key to pin)"), 30);
        assert!(
            lines.iter().all(|l| super::super::cells::width(l) <= 30),
            "{lines:?}"
        );
        let joined: String = lines.concat();
        assert!(joined.starts_with(key), "{lines:?}");
        assert!(joined.ends_with("(the key to pin)"), "{lines:?}");
    }
}
