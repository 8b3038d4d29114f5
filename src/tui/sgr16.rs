//! 16-colour terminals. crossterm writes even the 16 named colours in the 256-colour form
//! (`ESC[38;5;8m` for dark grey), which a terminal of 16 colours (the Linux console, old xterms,
//! serial consoles) draws wrong or not at all. On such a terminal the TUI's output goes through
//! [`Sgr16`], which rewrites exactly those colour parameters into the classic SGR codes
//! (`ESC[90m`) and passes every other byte through unchanged.
//!
//! Only the TUI's own sequences reach this writer: entry text is made inert before it becomes a
//! cell, so no escape from an entry can be rewritten here.

use std::io::{self, Write};

const ESC: u8 = 0x1b;
/// Longer than any sequence crossterm writes; a longer one is passed on untouched.
const MAX_SEQUENCE: usize = 64;

/// A writer that turns `38;5;N` / `48;5;N` with N < 16 into SGR 30–37, 90–97 / 40–47, 100–107.
pub struct Sgr16<W: Write> {
    inner: W,
    /// An escape sequence begun in one `write` and not yet ended.
    pending: Vec<u8>,
}

impl<W: Write> Sgr16<W> {
    pub fn new(inner: W) -> Sgr16<W> {
        Sgr16 {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for Sgr16<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 8);
        for &b in buf {
            if self.pending.is_empty() {
                if b == ESC {
                    self.pending.push(b);
                } else {
                    out.push(b);
                }
                continue;
            }
            self.pending.push(b);
            let len = self.pending.len();
            let is_csi = self.pending[1] == b'[';
            if !is_csi || len > MAX_SEQUENCE {
                out.append(&mut self.pending);
            } else if len > 2 && (0x40..=0x7e).contains(&b) {
                out.extend_from_slice(&rewrite(&self.pending));
                self.pending.clear();
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A sequence cut in half stays pending: flushing half of it would garble the screen.
        self.inner.flush()
    }
}

/// One whole CSI sequence, rewritten when it is an SGR with 16-colour parameters.
fn rewrite(seq: &[u8]) -> Vec<u8> {
    let Some(params) = seq
        .strip_prefix(b"\x1b[")
        .and_then(|s| s.strip_suffix(b"m"))
        .and_then(|p| std::str::from_utf8(p).ok())
    else {
        return seq.to_vec();
    };
    let parts: Vec<&str> = params.split(';').collect();
    let mut codes: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while i < parts.len() {
        let colour = parts
            .get(i + 2)
            .filter(|_| parts.get(i + 1) == Some(&"5"))
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| *n < 16);
        match (parts[i], colour) {
            ("38", Some(n)) => codes.push(classic(n, 30, 90)),
            ("48", Some(n)) => codes.push(classic(n, 40, 100)),
            _ => {
                codes.push(parts[i].to_string());
                i += 1;
                continue;
            }
        }
        i += 3;
    }
    format!("\x1b[{}m", codes.join(";")).into_bytes()
}

fn classic(n: u8, normal: u8, bright: u8) -> String {
    if n < 8 {
        (normal + n).to_string()
    } else {
        (bright + n - 8).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(chunks: &[&[u8]]) -> Vec<u8> {
        let mut w = Sgr16::new(Vec::new());
        for c in chunks {
            w.write_all(c).unwrap();
        }
        w.inner
    }

    #[test]
    fn the_16_colours_become_classic_sgr_codes() {
        assert_eq!(through(&[b"\x1b[38;5;8m"]), b"\x1b[90m");
        assert_eq!(through(&[b"\x1b[38;5;1m"]), b"\x1b[31m");
        assert_eq!(through(&[b"\x1b[48;5;2m"]), b"\x1b[42m");
        assert_eq!(through(&[b"\x1b[48;5;15m"]), b"\x1b[107m");
        assert_eq!(through(&[b"\x1b[1;38;5;9;48;5;0m"]), b"\x1b[1;91;40m");
    }

    #[test]
    fn everything_else_passes_unchanged() {
        for seq in [
            &b"\x1b[38;5;200m"[..],
            b"\x1b[38;2;1;2;3m",
            b"\x1b[39m",
            b"\x1b[0m",
            b"\x1b[12;40H",
            b"\x1b[?1049h",
            b"\x1b]52;c;aGk=\x07",
            b"plain text \xe2\x94\x80",
        ] {
            assert_eq!(through(&[seq]), seq, "{:?}", String::from_utf8_lossy(seq));
        }
    }

    #[test]
    fn a_sequence_split_across_writes_is_rewritten_whole() {
        let bytes = b"ab\x1b[38;5;8mcd\x1b[1mef";
        let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(through(&chunks), b"ab\x1b[90mcd\x1b[1mef");
        assert_eq!(through(&[b"x\x1b[38;", b"5;", b"3", b"my"]), b"x\x1b[33my");
    }
}
