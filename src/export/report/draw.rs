//! The report's pages: a summary page, then the entries as a table, A4 landscape, with the
//! standard fonts (see [`super::winansi`]).

use super::winansi::{ELLIPSIS, encode, fit_helvetica, fit_mono, pad_mono};
use super::{Counts, ReportHead, conditions};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::io::{self, Write};

const W: f32 = 842.0;
const H: f32 = 595.0;
const MARGIN: f32 = 32.0;

/// The table's font size and the width of one Courier glyph at it.
const ROW_SIZE: f32 = 7.0;
const COL_W: f32 = ROW_SIZE * 0.6;
const ROW_H: f32 = 8.6;
/// Glyphs on one line of the table.
pub const LINE_COLS: usize = glyphs((W - 2.0 * MARGIN) / COL_W);
/// Table rows on one page.
pub const ROWS_PER_PAGE: u64 = 54;

/// The table's columns: heading and width in glyphs (the last takes what is left).
const COLUMNS: [(&str, usize); 7] = [
    ("Seq", 7),
    ("When (UTC)", 19),
    ("Action", 26),
    ("Outcome", 7),
    ("Actor", 24),
    ("Target", 22),
    ("Description", 0),
];
const GAP: usize = 2;

const HELV: Name = Name(b"F1");
const HELV_BOLD: Name = Name(b"F2");
const MONO: Name = Name(b"F3");
const MONO_BOLD: Name = Name(b"F4");
const FONTS: [(Name, &[u8]); 4] = [
    (HELV, b"Helvetica"),
    (HELV_BOLD, b"Helvetica-Bold"),
    (MONO, b"Courier"),
    (MONO_BOLD, b"Courier-Bold"),
];

const CATALOG: Ref = Ref::new(1);
const TREE: Ref = Ref::new(2);
const INFO: Ref = Ref::new(3);
/// How many whole glyphs (or lines) fit in `room` of them: layout, where dropping the
/// fraction is the point; a negative room fits none.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
const fn glyphs(room: f32) -> usize {
    room as usize
}

/// A count of glyphs (or columns) as a length on the page; counts on a page are small, so the
/// f32 holds them exactly.
#[allow(clippy::cast_precision_loss)]
fn points(n: usize) -> f32 {
    n as f32
}

const FIRST_FONT: i32 = 4;
const FIRST_PAGE: i32 = 10;

/// The width of each column in glyphs, the last one filling the line.
fn widths() -> [usize; 7] {
    let fixed: usize = COLUMNS.iter().map(|c| c.1).sum::<usize>() + GAP * (COLUMNS.len() - 1);
    let mut w = COLUMNS.map(|c| c.1);
    w[6] = LINE_COLS - fixed;
    w
}

/// Draws the whole document; `rows` yields each entry's cells, oldest first.
pub(super) fn document(
    head: &ReportHead,
    counts: &Counts,
    rows: &mut dyn Iterator<Item = io::Result<Vec<Vec<u8>>>>,
) -> io::Result<Vec<u8>> {
    let table_pages = counts.rows.div_ceil(ROWS_PER_PAGE).max(1);
    let pages = 1 + table_pages;
    let mut pdf = Pdf::new();
    pdf.catalog(CATALOG).pages(TREE);
    // A PDF object number is an i32: a report that would need more pages cannot be written.
    let pages_i32 = i32::try_from(pages)
        .map_err(|_| io::Error::other("the report would have more pages than a PDF can hold"))?;
    let page_refs: Vec<Ref> = (0..pages_i32)
        .map(|i| Ref::new(FIRST_PAGE + 2 * i))
        .collect();
    pdf.pages(TREE)
        .kids(page_refs.iter().copied())
        .count(pages_i32);
    for (i, (_, base)) in (0i32..).zip(FONTS.iter()) {
        pdf.type1_font(Ref::new(FIRST_FONT + i))
            .base_font(Name(base))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    // A plain title for the viewer's window; no dates, no producer version, no id.
    let title = crate::text::inert(&head.title).into_owned();
    pdf.document_info(INFO)
        .title(TextStr(&title))
        .producer(TextStr("trailscope"));
    let footer_left = encode(&format!(
        "{} - evidence pack ({}), tenant {}, {} to {}",
        head.title, head.kind, head.tenant, head.from, head.to
    ));
    let mut page_no = 0u64;
    let mut emit = |pdf: &mut Pdf, mut c: Content| -> io::Result<()> {
        page_no += 1;
        footer(&mut c, &footer_left, page_no, pages);
        // page_no never passes `pages`, which fits an i32 (checked above).
        let page_i32 = i32::try_from(page_no).unwrap_or(i32::MAX);
        let page = Ref::new(FIRST_PAGE + 2 * (page_i32 - 1));
        let contents = Ref::new(FIRST_PAGE + 2 * (page_i32 - 1) + 1);
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&c.finish())?;
        let data = z.finish()?;
        pdf.stream(contents, &data).filter(Filter::FlateDecode);
        let mut p = pdf.page(page);
        p.media_box(Rect::new(0.0, 0.0, W, H))
            .parent(TREE)
            .contents(contents);
        let mut resources = p.resources();
        let mut fonts = resources.fonts();
        for (i, (name, _)) in (0i32..).zip(FONTS.iter()) {
            fonts.pair(*name, Ref::new(FIRST_FONT + i));
        }
        fonts.finish();
        resources.finish();
        p.finish();
        Ok(())
    };
    emit(&mut pdf, summary(head, counts, pages))?;
    let w = widths();
    for n in 0..table_pages {
        let mut c = Content::new();
        let mut y = H - MARGIN - 12.0;
        text(
            &mut c,
            HELV_BOLD,
            11.0,
            MARGIN,
            y,
            &fit_helvetica(
                &encode(&format!("Entries, oldest first - {}", head.title)),
                11.0,
                W - 2.0 * MARGIN,
            ),
        );
        y -= 18.0;
        let mut x = MARGIN;
        for (i, (name, _)) in COLUMNS.iter().enumerate() {
            text(&mut c, MONO_BOLD, ROW_SIZE, x, y, name.as_bytes());
            x += points(w[i] + GAP) * COL_W;
        }
        rule(&mut c, y - 3.0);
        y -= ROW_H + 3.0;
        let mut drawn = 0;
        while drawn < ROWS_PER_PAGE {
            let Some(cells) = rows.next().transpose()? else {
                break;
            };
            if drawn % 2 == 1 {
                c.set_fill_gray(0.93);
                c.rect(MARGIN - 2.0, y - 2.2, W - 2.0 * MARGIN + 4.0, ROW_H);
                c.fill_nonzero();
                c.set_fill_gray(0.0);
            }
            let mut x = MARGIN;
            for (i, cell) in cells.iter().enumerate().take(w.len()) {
                let failed = i == 3 && cell.as_slice() == b"failure";
                if failed {
                    c.set_fill_rgb(0.75, 0.0, 0.0);
                }
                text(&mut c, MONO, ROW_SIZE, x, y, &fit_mono(cell, w[i]));
                if failed {
                    c.set_fill_gray(0.0);
                }
                x += points(w[i] + GAP) * COL_W;
            }
            y -= ROW_H;
            drawn += 1;
        }
        if n == 0 && drawn == 0 {
            text(
                &mut c,
                HELV,
                10.0,
                MARGIN,
                y - 4.0,
                b"No entries match this pack's filter in its period.",
            );
        }
        emit(&mut pdf, c)?;
    }
    Ok(pdf.finish())
}

/// Page 1: what the pack is, the counts, and how to check it.
fn summary(head: &ReportHead, counts: &Counts, pages: u64) -> Content {
    let mut c = Content::new();
    let mut y = H - MARGIN - 20.0;
    text(
        &mut c,
        HELV_BOLD,
        20.0,
        MARGIN,
        y,
        &fit_helvetica(&encode(&head.title), 20.0, W - 2.0 * MARGIN),
    );
    y -= 17.0;
    c.set_fill_gray(0.35);
    text(
        &mut c,
        HELV,
        10.0,
        MARGIN,
        y,
        &fit_helvetica(
            &encode(&format!(
                "Audit log evidence pack ({}), tenant {}",
                head.kind, head.tenant
            )),
            10.0,
            W - 2.0 * MARGIN,
        ),
    );
    c.set_fill_gray(0.0);
    rule(&mut c, y - 7.0);
    y -= 22.0;

    const LABEL_W: f32 = 92.0;
    const VALUE_SIZE: f32 = 8.0;
    let value_cols = glyphs((W - 2.0 * MARGIN - LABEL_W) / (VALUE_SIZE * 0.6));
    let field = |c: &mut Content, y: &mut f32, label: &str, lines: Vec<Vec<u8>>, max: usize| {
        text(c, HELV_BOLD, 9.0, MARGIN, *y, label.as_bytes());
        let wrapped: Vec<Vec<u8>> = lines
            .iter()
            .flat_map(|l| {
                if l.is_empty() {
                    vec![Vec::new()]
                } else {
                    l.chunks(value_cols).map(<[u8]>::to_vec).collect()
                }
            })
            .collect();
        let total = wrapped.len();
        for (i, line) in wrapped.into_iter().take(max).enumerate() {
            let mut line = line;
            if i + 1 == max && total > max {
                line = fit_mono(&line, value_cols.saturating_sub(1));
                line.push(ELLIPSIS);
            }
            text(c, MONO, VALUE_SIZE, MARGIN + LABEL_W, *y, &line);
            *y -= 10.5;
        }
        *y -= 3.5;
    };
    field(
        &mut c,
        &mut y,
        "Period",
        vec![encode(&format!("{} to {} (UTC)", head.from, head.to))],
        1,
    );
    let many = head.filter_lines.len() > 1;
    let numbered = |i: usize, s: &str| {
        if many {
            encode(&format!("({}) {s}", i + 1))
        } else {
            encode(s)
        }
    };
    field(
        &mut c,
        &mut y,
        if many { "Filter (any of)" } else { "Filter" },
        head.filter_lines
            .iter()
            .enumerate()
            .map(|(i, l)| numbered(i, if l.is_empty() { "(none)" } else { l }))
            .collect(),
        6,
    );
    field(
        &mut c,
        &mut y,
        "In words",
        head.filters
            .iter()
            .enumerate()
            .map(|(i, q)| numbered(i, &conditions(q)))
            .collect(),
        6,
    );
    let table = if pages > 2 {
        format!("pages 2 to {pages}")
    } else {
        "page 2".into()
    };
    field(
        &mut c,
        &mut y,
        "Entries",
        vec![encode(&format!(
            "{}, oldest first, on {table}; complete in {}",
            super::counted(counts.rows, "entry", "entries"),
            head.data_files.join(" and ")
        ))],
        2,
    );
    field(
        &mut c,
        &mut y,
        "Chain head",
        vec![match &head.chain_head {
            Some(h) => encode(&format!("seq {}, SHA-256 {}", h.seq, h.hash)),
            None => b"none: the log held no entries then".to_vec(),
        }],
        2,
    );
    if let Some(cp) = &head.checkpoint {
        field(
            &mut c,
            &mut y,
            "Checkpoint",
            vec![
                encode(&format!(
                    "size {} (the log's first {}), root {}",
                    cp.size,
                    super::counted(cp.size, "entry", "entries"),
                    cp.root
                )),
                b"  signed; the pack's proof.json proves every entry against it".to_vec(),
            ],
            2,
        );
        field(
            &mut c,
            &mut y,
            "Verifier key",
            vec![encode(&cp.verifier_key)],
            2,
        );
    }
    // The key on a line of its own (a shell continuation), so no line is cut inside it.
    let command = match &head.checkpoint {
        Some(cp) => vec![
            encode(&format!("trailscope verify-pack {} \\", head.pack_file)),
            encode(&format!("    --key {}", cp.verifier_key)),
        ],
        None => vec![encode(&format!(
            "trailscope verify-pack {}",
            head.pack_file
        ))],
    };
    field(
        &mut c,
        &mut y,
        "To verify",
        [command, vec![
            encode(&format!(
                "  (the name the server gave this pack: {}; name the file as you saved it)",
                head.pack_file
            )),
            b"  checks every file against manifest.json and the entries against the signed checkpoint"
                .to_vec(),
            b"trailscope verify --server URL --token TOKEN --key VERIFIER-KEY".to_vec(),
            b"  checks that the log's hash chain and signed checkpoints still hold".to_vec(),
        ]]
        .concat(),
        7,
    );
    rule(&mut c, y + 4.0);
    y -= 14.0;

    let col_w = (W - 2.0 * MARGIN) / 3.0;
    let lines_left = glyphs(((y - MARGIN - 40.0) / 10.0).max(3.0));
    for (i, (heading, values)) in [
        ("By action", &counts.by_action),
        ("By actor", &counts.by_actor),
        ("By outcome", &counts.by_outcome),
    ]
    .into_iter()
    .enumerate()
    {
        let x = MARGIN + points(i) * col_w;
        text(&mut c, HELV_BOLD, 10.0, x, y, heading.as_bytes());
        let cols = glyphs((col_w - 16.0) / (8.0 * 0.6));
        let mut yy = y - 13.0;
        let shown = if values.len() > lines_left {
            lines_left - 1
        } else {
            values.len()
        };
        for (name, n) in values.iter().take(shown) {
            text(
                &mut c,
                MONO,
                8.0,
                x,
                yy,
                &count_line(&encode(name), *n, cols),
            );
            yy -= 10.0;
        }
        if shown < values.len() {
            let rest: u64 = values[shown..].iter().map(|(_, n)| n).sum();
            let more = format!("{} more", values.len() - shown);
            text(
                &mut c,
                MONO,
                8.0,
                x,
                yy,
                &count_line(more.as_bytes(), rest, cols),
            );
        }
        if values.is_empty() {
            text(&mut c, MONO, 8.0, x, yy, b"(no entries)");
        }
    }
    c.set_fill_gray(0.35);
    text(
        &mut c,
        HELV,
        7.0,
        MARGIN,
        MARGIN + 8.0,
        b"Table cells are cut to one line (marked \x85); the complete entries are in the pack's JSON and CSV files. Text from entries is shown as sent, except that control characters,",
    );
    text(
        &mut c,
        HELV,
        7.0,
        MARGIN,
        MARGIN,
        b"bidi and invisible marks, and characters these fonts lack are written as escapes such as \\x1b or \\u{202e}.",
    );
    c.set_fill_gray(0.0);
    c
}

/// "name ....... 1,234" in `cols` glyphs.
fn count_line(name: &[u8], n: u64, cols: usize) -> Vec<u8> {
    let count = thousands(n);
    let mut line = pad_mono(name, cols.saturating_sub(count.len() + 1));
    line.push(b' ');
    line.extend_from_slice(count.as_bytes());
    line
}

pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn footer(c: &mut Content, left: &[u8], page: u64, pages: u64) {
    let right = format!("Page {page} of {pages}");
    let right_w = points(right.len()) * 7.0 * 0.6;
    c.set_fill_gray(0.35);
    text(
        c,
        HELV,
        7.0,
        MARGIN,
        18.0,
        &fit_helvetica(left, 7.0, W - 2.0 * MARGIN - right_w - 20.0),
    );
    text(c, MONO, 7.0, W - MARGIN - right_w, 18.0, right.as_bytes());
    c.set_fill_gray(0.0);
}

fn rule(c: &mut Content, y: f32) {
    c.set_stroke_gray(0.6);
    c.set_line_width(0.5);
    c.move_to(MARGIN, y);
    c.line_to(W - MARGIN, y);
    c.stroke();
    c.set_stroke_gray(0.0);
}

/// One run of text at (`x`, `y`); `bytes` are WinAnsi, already made harmless.
fn text(c: &mut Content, font: Name, size: f32, x: f32, y: f32, bytes: &[u8]) {
    c.begin_text();
    c.set_font(font, size);
    c.next_line(x, y);
    c.show(Str(bytes));
    c.end_text();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_fills_the_line() {
        let w = super::widths();
        assert!(w[6] >= 40, "{w:?}");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
