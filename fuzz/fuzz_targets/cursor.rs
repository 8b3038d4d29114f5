//! Cursors come back from clients: any text decodes or is refused, and a decoded cursor
//! encodes back to a cursor that decodes the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trailscope::model::{Cursor, Order};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for order in [Order::Asc, Order::Desc] {
        if let Ok(c) = Cursor::decode(text, order) {
            assert_eq!(Cursor::decode(&c.encode(), order).ok(), Some(c));
        }
    }
});
