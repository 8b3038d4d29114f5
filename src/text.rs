//! Making attacker-controlled text inert before it reaches a terminal.

/// Returns `s` with every control character, escape sequence introducer and bidi override
/// shown escaped (`\x1b`, `\u{202e}`), so it draws as plain text and cannot steer the terminal.
pub fn inert(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            let n = c as u32;
            if n < 0x100 {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{{{n:04x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// C0 and C1 controls, DEL, and the Unicode bidi controls and invisible formatting marks.
fn needs_escape(c: char) -> bool {
    let n = c as u32;
    n < 0x20
        || (0x7f..=0x9f).contains(&n)
        || matches!(n, 0x061c | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069 | 0xfeff)
}

/// Case-insensitive substring test; `needle` is already lowercase. The one definition of what
/// a search term matches, used by the store's SQL function and by live streams alike.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

/// `12.3 MB`.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GB", ratio(n, 1 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MB", ratio(n, 1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KB", ratio(n, 1 << 10)),
        n => format!("{n} B"),
    }
}

/// `a / b` for people to read (a size in MiB, a share of a bar): beyond 2^53 an f64 rounds,
/// which no display shows.
#[allow(clippy::cast_precision_loss)]
pub fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b as f64
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(inert("ok"), "ok");
        assert_eq!(inert("a\x1b[31mb"), "a\\x1b[31mb");
        assert_eq!(inert("x\u{202e}y\r"), "x\\u{202e}y\\x0d");
        assert_eq!(inert("\u{9b}"), "\\x9b");
    }
}
