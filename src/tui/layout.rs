//! Where everything goes at a given size; shared by `update` (paging, clicks) and `render`.

use ratatui::layout::Rect;

/// What of the state decides the layout: whether a detail pane is open, and zoomed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State {
    pub detail: bool,
    pub zoom: bool,
    /// Lines the footer's message needs beyond the first (a long one is shown whole).
    pub footer_extra: u16,
}

/// Width from which the detail pane sits right of the table instead of below it.
pub const WIDE: u16 = 150;

/// The screen's regions; empty rects for what does not fit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub filter: Rect,
    pub spark: Rect,
    /// The table including its border.
    pub table: Rect,
    /// The rows of the table (no border, no column header).
    pub table_body: Rect,
    pub detail: Rect,
    pub detail_body: Rect,
    pub footer: Rect,
}

fn take_top(r: &mut Rect, h: u16) -> Rect {
    let h = h.min(r.height);
    let top = Rect::new(r.x, r.y, r.width, h);
    r.y += h;
    r.height -= h;
    top
}

fn take_bottom(r: &mut Rect, h: u16) -> Rect {
    let h = h.min(r.height);
    r.height -= h;
    Rect::new(r.x, r.y + r.height, r.width, h)
}

/// Whether a region is big enough to draw a border around.
pub fn bordered(r: Rect) -> bool {
    r.width >= 24 && r.height >= 5
}

/// The inside of a region, without the border when it has one.
pub fn inner(r: Rect) -> Rect {
    if bordered(r) {
        Rect::new(
            r.x + 1,
            r.y + 1,
            r.width.saturating_sub(2),
            r.height.saturating_sub(2),
        )
    } else {
        r
    }
}

/// Lays out the screen for `state` at `size`.
pub fn areas(size: Rect, state: State) -> Areas {
    let mut rest = size;
    let mut a = Areas {
        header: take_top(&mut rest, 1),
        ..Areas::default()
    };
    if size.height >= 4 {
        // A long message takes up to two more lines, while the table keeps at least five.
        let extra = state
            .footer_extra
            .min(size.height.saturating_sub(9) / 2)
            .min(2);
        a.footer = take_bottom(&mut rest, 1 + extra);
    }
    if size.height >= 9 {
        a.filter = take_top(&mut rest, 1);
    }
    if size.height >= 14 {
        a.spark = take_top(&mut rest, 1);
    }
    if state.detail {
        if state.zoom {
            a.detail = rest;
            rest = Rect::new(rest.x, rest.y, rest.width, 0);
        } else if size.width >= WIDE {
            let tw = rest.width * 11 / 20;
            a.detail = Rect::new(rest.x + tw, rest.y, rest.width - tw, rest.height);
            rest.width = tw;
        } else {
            let dh = (rest.height * 3 / 5).max(rest.height.min(3));
            a.detail = take_bottom(&mut rest, dh);
        }
        a.detail_body = inner(a.detail);
    }
    a.table = rest;
    let mut body = inner(rest);
    take_top(&mut body, 1); // the column header
    a.table_body = body;
    a
}
