//! The query language: any line parses or says why; what parses formats and parses back to
//! the same filter (API.md: "Formatting a filter and parsing it back gives the same filter").
#![no_main]
use libfuzzer_sys::fuzz_target;
use trailscope::model::Query;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(q) = text.parse::<Query>() {
        let again: Query = q.to_string().parse().unwrap_or_else(|e| {
            panic!(
                "{q:?} formats as {:?}, which does not parse: {e}",
                q.to_string()
            )
        });
        assert_eq!(q, again, "round trip of {text:?}");
    }
    // The same text as URL parameters.
    let pairs = [
        ("filter".to_string(), text.to_string()),
        ("q".to_string(), text.to_string()),
    ];
    let _ = Query::from_params(pairs, &[]);
});
