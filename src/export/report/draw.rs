//! The report's pages: a summary page, then the entries as a table, A4 landscape, with the
//! standard fonts (see [`super::winansi`]).

use super::winansi::{encode, fit_helvetica, fit_mono};
use super::{Counts, ReportHead};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::io::{self, Write};

pub(super) const W: f32 = 842.0;
pub(super) const H: f32 = 595.0;
pub(super) const MARGIN: f32 = 32.0;

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

pub(super) const HELV: Name = Name(b"F1");
pub(super) const HELV_BOLD: Name = Name(b"F2");
pub(super) const MONO: Name = Name(b"F3");
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
pub(super) const fn glyphs(room: f32) -> usize {
    room as usize
}

/// A count of glyphs (or columns) as a length on the page; counts on a page are small, so the
/// f32 holds them exactly.
#[allow(clippy::cast_precision_loss)]
pub(super) fn points(n: usize) -> f32 {
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

/// Draws the whole document: `first_page` (given the page count), then the table; `rows`
/// yields each entry's cells, oldest first.
pub(super) fn document(
    head: &ReportHead,
    counts: &Counts,
    first_page: fn(&ReportHead, &Counts, u64) -> Content,
    rows: &mut dyn Iterator<Item = io::Result<Vec<Vec<u8>>>>,
) -> io::Result<Vec<u8>> {
    let table_pages = counts.rows.div_ceil(ROWS_PER_PAGE).max(1);
    let pages = 1 + table_pages;
    let mut pdf = Pdf::new();
    // A PDF object number is an i32: a report that would need more pages cannot be written.
    let pages_i32 = i32::try_from(pages)
        .map_err(|_| io::Error::other("the report would have more pages than a PDF can hold"))?;
    skeleton(&mut pdf, head, pages_i32);
    let mut emit = Emitter {
        footer_left: encode(&format!(
            "{} - evidence pack ({}), tenant {}, {} to {}",
            head.title, head.kind, head.tenant, head.from, head.to
        )),
        page_no: 0,
        pages,
    };
    emit.page(&mut pdf, first_page(head, counts, pages))?;
    for n in 0..table_pages {
        let c = table_page(head, rows, n == 0)?;
        emit.page(&mut pdf, c)?;
    }
    Ok(pdf.finish())
}

/// The catalog, the page tree of `pages` pages, the fonts and the document info.
fn skeleton(pdf: &mut Pdf, head: &ReportHead, pages: i32) {
    pdf.catalog(CATALOG).pages(TREE);
    let page_refs: Vec<Ref> = (0..pages).map(|i| Ref::new(FIRST_PAGE + 2 * i)).collect();
    pdf.pages(TREE).kids(page_refs.iter().copied()).count(pages);
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
}

/// Writes the pages in order, each with its footer, under the object numbers the page tree
/// gave them.
struct Emitter {
    footer_left: Vec<u8>,
    page_no: u64,
    pages: u64,
}

impl Emitter {
    fn page(&mut self, pdf: &mut Pdf, mut c: Content) -> io::Result<()> {
        self.page_no += 1;
        footer(&mut c, &self.footer_left, self.page_no, self.pages);
        // page_no never passes `pages`, which fits an i32 (checked in `document`).
        let page_i32 = i32::try_from(self.page_no).unwrap_or(i32::MAX);
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
    }
}

/// One page of the table: its heading, the column titles and up to `ROWS_PER_PAGE` rows from
/// `rows`; the `first` says so when there are none at all.
fn table_page(
    head: &ReportHead,
    rows: &mut dyn Iterator<Item = io::Result<Vec<Vec<u8>>>>,
    first: bool,
) -> io::Result<Content> {
    let w = widths();
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
        table_row(&mut c, &cells, &w, y, drawn % 2 == 1);
        y -= ROW_H;
        drawn += 1;
    }
    if first && drawn == 0 {
        text(
            &mut c,
            HELV,
            10.0,
            MARGIN,
            y - 4.0,
            b"No entries match this pack's filter in its period.",
        );
    }
    Ok(c)
}

/// One entry's cells at `y`, on a grey band when `shaded`, a failure's outcome in red.
fn table_row(c: &mut Content, cells: &[Vec<u8>], w: &[usize; 7], y: f32, shaded: bool) {
    if shaded {
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
        text(c, MONO, ROW_SIZE, x, y, &fit_mono(cell, w[i]));
        if failed {
            c.set_fill_gray(0.0);
        }
        x += points(w[i] + GAP) * COL_W;
    }
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

/// A thin grey line across the page at `y`.
pub(super) fn rule(c: &mut Content, y: f32) {
    c.set_stroke_gray(0.6);
    c.set_line_width(0.5);
    c.move_to(MARGIN, y);
    c.line_to(W - MARGIN, y);
    c.stroke();
    c.set_stroke_gray(0.0);
}

/// One run of text at (`x`, `y`); `bytes` are WinAnsi, already made harmless.
pub(super) fn text(c: &mut Content, font: Name, size: f32, x: f32, y: f32, bytes: &[u8]) {
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
