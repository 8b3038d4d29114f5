//! Opening what `open` and `import` read: a file, or `-` for standard input, gzip-compressed
//! or not (told by the gzip magic bytes, not the name). The first bytes are read ahead to
//! detect the format and then handed back in front of the rest, so standard input works too.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Bytes read ahead for detection.
pub const HEAD: usize = 64 * 1024;

/// An input, opened and decompressed.
pub struct Input {
    /// The first bytes (decompressed), also at the start of `reader`.
    pub head: Vec<u8>,
    pub reader: Box<dyn BufRead + Send>,
    /// The file's size on disk when it is a plain file (for progress), else `None`.
    pub size: Option<u64>,
    pub gzip: bool,
}

/// Opens `path` (`-` is standard input).
pub fn open(path: &Path) -> std::io::Result<Input> {
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = std::fs::File::open(path)?;
        let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        (Box::new(f), size)
    };
    let mut raw = BufReader::with_capacity(1 << 20, raw);
    let gzip = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn Read + Send> = if gzip {
        // Several members (rotated logs concatenated) are read as one stream.
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let mut head = Vec::with_capacity(HEAD);
    (&mut reader).take(HEAD as u64).read_to_end(&mut head)?;
    let reader = std::io::Cursor::new(head.clone()).chain(reader);
    Ok(Input {
        head,
        reader: Box::new(BufReader::with_capacity(1 << 20, reader)),
        size: if gzip { None } else { size },
        gzip,
    })
}
