//! The report's first page: what the pack is, the counts, and how to check it.

use super::draw::{H, HELV, HELV_BOLD, MARGIN, MONO, W, glyphs, points, rule, text, thousands};
use super::winansi::{ELLIPSIS, encode, fit_helvetica, fit_mono, pad_mono};
use super::{Counts, ReportHead, conditions};
use pdf_writer::Content;

/// Page 1: what the pack is, the counts, and how to check it.
pub(super) fn page(head: &ReportHead, counts: &Counts, pages: u64) -> Content {
    let mut c = Content::new();
    let y = title(&mut c, head);
    let mut fields = Fields { c: &mut c, y };
    what_fields(&mut fields, head, counts, pages);
    proof_fields(&mut fields, head);
    let y = fields.y;
    rule(&mut c, y + 4.0);
    count_columns(&mut c, y - 14.0, counts);
    fine_print(&mut c);
    c
}

/// The pack's title and what it is, under a rule; returns where the fields start.
fn title(c: &mut Content, head: &ReportHead) -> f32 {
    let mut y = H - MARGIN - 20.0;
    text(
        c,
        HELV_BOLD,
        20.0,
        MARGIN,
        y,
        &fit_helvetica(&encode(&head.title), 20.0, W - 2.0 * MARGIN),
    );
    y -= 17.0;
    c.set_fill_gray(0.35);
    text(
        c,
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
    rule(c, y - 7.0);
    y - 22.0
}

/// The summary's labelled fields, drawn down the page from `y`.
struct Fields<'a> {
    c: &'a mut Content,
    y: f32,
}

impl Fields<'_> {
    const LABEL_W: f32 = 92.0;
    const VALUE_SIZE: f32 = 8.0;

    /// A label and its value's lines, each wrapped to the room beside the label; at most
    /// `max` lines, the last marked with … when more were cut.
    fn field(&mut self, label: &str, lines: Vec<Vec<u8>>, max: usize) {
        let value_cols = glyphs((W - 2.0 * MARGIN - Self::LABEL_W) / (Self::VALUE_SIZE * 0.6));
        text(self.c, HELV_BOLD, 9.0, MARGIN, self.y, label.as_bytes());
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
            text(
                self.c,
                MONO,
                Self::VALUE_SIZE,
                MARGIN + Self::LABEL_W,
                self.y,
                &line,
            );
            self.y -= 10.5;
        }
        self.y -= 3.5;
    }
}

/// What the pack holds: its period, its filter (also in words) and its entries.
fn what_fields(fields: &mut Fields<'_>, head: &ReportHead, counts: &Counts, pages: u64) {
    fields.field(
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
    fields.field(
        if many { "Filter (any of)" } else { "Filter" },
        head.filter_lines
            .iter()
            .enumerate()
            .map(|(i, l)| numbered(i, if l.is_empty() { "(none)" } else { l }))
            .collect(),
        6,
    );
    fields.field(
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
    fields.field(
        "Entries",
        vec![encode(&format!(
            "{}, oldest first, on {table}; complete in {}",
            super::counted(counts.rows, "entry", "entries"),
            head.data_files.join(" and ")
        ))],
        2,
    );
}

/// What the pack is proved against, and the commands that check it.
fn proof_fields(fields: &mut Fields<'_>, head: &ReportHead) {
    fields.field(
        "Chain head",
        vec![match &head.chain_head {
            Some(h) => encode(&format!("seq {}, SHA-256 {}", h.seq, h.hash)),
            None => b"none: the log held no entries then".to_vec(),
        }],
        2,
    );
    if let Some(cp) = &head.checkpoint {
        fields.field(
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
        fields.field("Verifier key", vec![encode(&cp.verifier_key)], 2);
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
    fields.field(
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
}

/// The counts by action, actor and outcome in three columns from `y`, as many as fit.
fn count_columns(c: &mut Content, y: f32, counts: &Counts) {
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
        text(c, HELV_BOLD, 10.0, x, y, heading.as_bytes());
        let cols = glyphs((col_w - 16.0) / (8.0 * 0.6));
        let mut yy = y - 13.0;
        let shown = if values.len() > lines_left {
            lines_left - 1
        } else {
            values.len()
        };
        for (name, n) in values.iter().take(shown) {
            text(c, MONO, 8.0, x, yy, &count_line(&encode(name), *n, cols));
            yy -= 10.0;
        }
        if shown < values.len() {
            let rest: u64 = values[shown..].iter().map(|(_, n)| n).sum();
            let more = format!("{} more", values.len() - shown);
            text(
                c,
                MONO,
                8.0,
                x,
                yy,
                &count_line(more.as_bytes(), rest, cols),
            );
        }
        if values.is_empty() {
            text(c, MONO, 8.0, x, yy, b"(no entries)");
        }
    }
}

/// The note at the foot of page 1 on how cells are cut and text escaped.
fn fine_print(c: &mut Content) {
    c.set_fill_gray(0.35);
    text(
        c,
        HELV,
        7.0,
        MARGIN,
        MARGIN + 8.0,
        b"Table cells are cut to one line (marked \x85); the complete entries are in the pack's JSON and CSV files. Text from entries is shown as sent, except that control characters,",
    );
    text(
        c,
        HELV,
        7.0,
        MARGIN,
        MARGIN,
        b"bidi and invisible marks, and characters these fonts lack are written as escapes such as \\x1b or \\u{202e}.",
    );
    c.set_fill_gray(0.0);
}

/// "name ....... 1,234" in `cols` glyphs.
fn count_line(name: &[u8], n: u64, cols: usize) -> Vec<u8> {
    let count = thousands(n);
    let mut line = pad_mono(name, cols.saturating_sub(count.len() + 1));
    line.push(b' ');
    line.extend_from_slice(count.as_bytes());
    line
}
