//! The event decoder and validator on any body, as JSON and as NDJSON: an error or events,
//! never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = chrono_now();
    for ndjson in [false, true] {
        if let Ok(values) = trailscope::model::decode_batch(data, ndjson) {
            assert!(!ndjson || values.len() <= trailscope::model::MAX_BATCH);
            for v in values {
                let _ = trailscope::model::validate_event_text(v.get(), now);
            }
        }
    }
});

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    // Fixed, so a crash reproduces.
    chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap()
}
