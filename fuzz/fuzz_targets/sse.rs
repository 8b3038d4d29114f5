//! The client's Server-Sent Events parser on any bytes, fed whole and split at every fuzzed
//! point: the same events either way, or the same refusal.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trailscope::client::sse::SseParser;

fuzz_target!(|data: &[u8]| {
    let mut whole = SseParser::default();
    let mut all = Vec::new();
    let whole_ok = whole.feed(data, &mut all).is_ok();
    let split = data.first().map_or(0, |b| *b as usize) % (data.len() + 1);
    let mut parts = SseParser::default();
    let mut got = Vec::new();
    let parts_ok = parts.feed(&data[..split], &mut got).is_ok()
        && parts.feed(&data[split..], &mut got).is_ok();
    if whole_ok && parts_ok {
        assert_eq!(all, got);
    }
});
