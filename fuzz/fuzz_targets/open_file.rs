//! `trailscope open`: any file is detected and read, or refused with a reason; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use trailscope::export::read::{detect, read_file};

fuzz_target!(|data: &[u8]| {
    let Ok(format) = detect(data) else {
        return;
    };
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(data).unwrap();
    file.flush().unwrap();
    let mut seen = 0u64;
    let loaded = read_file(file.path(), format, &mut |batch, _| {
        seen += batch.len() as u64;
        true
    })
    .unwrap();
    assert_eq!(loaded.entries, seen);
});
