//! Text for the report's PDF: the standard fonts' WinAnsi encoding, with everything it cannot
//! show, and everything that could steer a reader, spelled out as an escape instead.
//!
//! The report uses the PDF's standard fonts (Helvetica and Courier), which every viewer has, so
//! no font is embedded and the file stays small and byte-stable. They cover Latin-1 and a few
//! typographic marks; any other character is written as `\u{…}` text, and control characters,
//! bidi overrides and invisible marks as `\x..`/`\u{…}` exactly as the terminal shows them
//! ([`crate::text::inert`]), so what an entry says can never hide or reorder what is printed.

/// `s` as WinAnsi bytes, with what the encoding cannot hold (and everything [`crate::text::inert`]
/// escapes) written as escapes in plain ASCII.
pub fn encode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match byte_for(c) {
            Some(b) => out.push(b),
            None => {
                let n = c as u32;
                let esc = if n < 0x100 {
                    format!("\\x{n:02x}")
                } else {
                    format!("\\u{{{n:04x}}}")
                };
                out.extend_from_slice(esc.as_bytes());
            }
        }
    }
    out
}

/// The WinAnsi byte of `c`, if it has one and is safe to show as itself.
fn byte_for(c: char) -> Option<u8> {
    let n = c as u32;
    match n {
        0x20..=0x7e => u8::try_from(n).ok(),
        // Latin-1's upper half is WinAnsi's too; the soft hyphen (0xad) is invisible, so escaped.
        0xa0..=0xac | 0xae..=0xff => u8::try_from(n).ok(),
        _ => {
            if crate::text::inert(c.encode_utf8(&mut [0; 4])) != c.to_string() {
                return None;
            }
            WINANSI_EXTRA.iter().find(|(u, _)| *u == c).map(|(_, b)| *b)
        }
    }
}

/// The characters WinAnsi places in 0x80–0x9f (where Latin-1 has its C1 controls).
const WINANSI_EXTRA: [(char, u8); 27] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('ƒ', 0x83),
    ('„', 0x84),
    ('…', 0x85),
    ('†', 0x86),
    ('‡', 0x87),
    ('ˆ', 0x88),
    ('‰', 0x89),
    ('Š', 0x8a),
    ('‹', 0x8b),
    ('Œ', 0x8c),
    ('Ž', 0x8e),
    ('‘', 0x91),
    ('’', 0x92),
    ('“', 0x93),
    ('”', 0x94),
    ('•', 0x95),
    ('–', 0x96),
    ('—', 0x97),
    ('˜', 0x98),
    ('™', 0x99),
    ('š', 0x9a),
    ('›', 0x9b),
    ('œ', 0x9c),
    ('ž', 0x9e),
    ('Ÿ', 0x9f),
];

/// The ellipsis that marks a cut cell.
pub const ELLIPSIS: u8 = 0x85;

/// `text` cut to at most `cols` glyphs of a monospaced font, ending in `…` when cut.
pub fn fit_mono(text: &[u8], cols: usize) -> Vec<u8> {
    if text.len() <= cols {
        return text.to_vec();
    }
    if cols == 0 {
        return Vec::new();
    }
    let mut out = text[..cols - 1].to_vec();
    out.push(ELLIPSIS);
    out
}

/// `text` padded with spaces (or cut) to exactly `cols` glyphs of a monospaced font.
pub fn pad_mono(text: &[u8], cols: usize) -> Vec<u8> {
    let mut out = fit_mono(text, cols);
    out.resize(cols, b' ');
    out
}

/// An upper bound of the width of `text` in Helvetica (regular or bold) at `size` points.
/// Printable ASCII uses the wider of Helvetica's and Helvetica-Bold's metrics;
/// anything else counts as a full em, so text cut with this never overflows.
pub fn helvetica_width(text: &[u8], size: f32) -> f32 {
    let units: u32 = text
        .iter()
        .map(|&b| match b {
            0x20..=0x7e => HELVETICA_BOLD[(b - 0x20) as usize] as u32,
            _ => 1000,
        })
        .sum();
    // A line's width in thousandths of the size: far below 2^24, so exact in an f32.
    #[allow(clippy::cast_precision_loss)]
    let units = units as f32;
    units * size / 1000.0
}

/// `text` cut (with `…`) to fit `width` points of Helvetica at `size`.
pub fn fit_helvetica(text: &[u8], size: f32, width: f32) -> Vec<u8> {
    if helvetica_width(text, size) <= width {
        return text.to_vec();
    }
    let room = width - helvetica_width(&[ELLIPSIS], size);
    let mut out = Vec::new();
    for &b in text {
        out.push(b);
        if helvetica_width(&out, size) > room {
            out.pop();
            break;
        }
    }
    out.push(ELLIPSIS);
    out
}

/// Advance widths (per 1000 em) of the characters 0x20–0x7e: Helvetica-Bold's from Adobe's
/// AFM files, or the regular face's where that is wider.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    333, 333, 584, 584, 584, 611, 1015, // : to @ (regular's @, the wider)
    722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A-Z
    333, 278, 333, 584, 556, 333, // [ to `
    556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556,
    333, 611, 556, 778, 556, 556, 500, // a-z
    389, 280, 389, 584, // { to ~
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_latin_text_passes_as_itself() {
        assert_eq!(encode("Grace Whitfield"), b"Grace Whitfield");
        assert_eq!(encode("Zoë – 5 €"), b"Zo\xeb \x96 5 \x80");
    }

    #[test]
    fn controls_bidi_and_the_rest_are_spelled_out() {
        assert_eq!(encode("a\x1b[31mb"), b"a\\x1b[31mb");
        assert_eq!(encode("x\u{202e}y\r\n"), b"x\\u{202e}y\\x0d\\x0a");
        assert_eq!(encode("\u{9b}\u{ad}"), b"\\x9b\\xad");
        assert_eq!(encode("日本"), b"\\u{65e5}\\u{672c}");
        // Nothing outside printable ASCII and WinAnsi's own letters is ever emitted.
        for b in encode("\u{0}\u{7f}\u{200b}\u{feff}😀") {
            assert!((0x20..0x7f).contains(&b), "{b:#x}");
        }
    }

    #[test]
    fn cutting_to_fit() {
        assert_eq!(fit_mono(b"abcdef", 4), b"abc\x85");
        assert_eq!(fit_mono(b"abc", 4), b"abc");
        assert_eq!(pad_mono(b"ab", 4), b"ab  ");
        let cut = fit_helvetica(&[b'W'; 100], 10.0, 100.0);
        assert!(helvetica_width(&cut, 10.0) <= 100.0);
        assert_eq!(cut.last(), Some(&ELLIPSIS));
        assert_eq!(fit_helvetica(b"short", 10.0, 100.0), b"short");
    }
}
