//! The one place where text from entries (or anything else) becomes terminal cells:
//! every string is made inert first, then cut to its width with `…`.

use ratatui::style::Style;
use ratatui::text::Span;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The display width of already-inert text.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` made inert and cut to at most `max` columns, ending in `…` when cut.
pub fn fit(s: &str, max: usize) -> String {
    let safe = crate::text::inert(s);
    if width(&safe) <= max {
        return safe.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for ch in safe.chars() {
        let cw = ch.width().unwrap_or(0);
        if w + cw > max - 1 {
            break;
        }
        out.push(ch);
        w += cw;
    }
    out.push('…');
    out
}

/// `s` made inert, cut to `max` columns and padded to exactly `max`.
pub fn pad(s: &str, max: usize) -> String {
    let mut out = fit(s, max);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', max.saturating_sub(w)));
    out
}

/// A styled span of inert text.
pub fn span(s: &str, style: Style) -> Span<'static> {
    Span::styled(crate::text::inert(s).into_owned(), style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_and_escapes() {
        assert_eq!(fit("hello world", 6), "hello…");
        assert_eq!(fit("a\x1bb", 10), "a\\x1bb");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(fit("日本語", 4), "日…");
        assert_eq!(fit("x", 0), "");
    }
}
