//! Every input a fuzz target (`fuzz/`) crashed on, kept as a test of its own: the same
//! property the target checks, on the exact bytes that broke it.

use trailscope::model::Query;

/// The query_language target's property: what parses formats and parses back the same.
fn round_trips(text: &str) {
    let q: Query = text.parse().unwrap();
    let again: Query = q.to_string().parse().unwrap();
    assert_eq!(q, again, "{text:?} formats as {:?}", q.to_string());
}

#[test]
fn query_language_a_zero_age_in_any_unit_round_trips() {
    let found = std::fs::read("tests/fuzz_regressions/query_language-zero-age").unwrap();
    round_trips(std::str::from_utf8(&found).unwrap());
    for text in ["since:0d", "since:0s", "from:0w to:0h", "since:000m"] {
        round_trips(text);
    }
}

#[test]
fn query_language_a_year_without_an_rfc3339_form_is_refused() {
    let found = std::fs::read("tests/fuzz_regressions/query_language-negative-year").unwrap();
    let text = std::str::from_utf8(&found).unwrap();
    let e = text.parse::<Query>().unwrap_err();
    assert!(e.message.contains("is not a time"), "{}", e.message);
    assert!("from:-025-11-20".parse::<Query>().is_err());
    assert!("to:10000-01-01 00:00".parse::<Query>().is_err());
    round_trips("from:2026-11-20 00:04");
    round_trips("from:0001-01-01");
}

#[test]
fn query_language_a_leap_second_round_trips() {
    let found = std::fs::read("tests/fuzz_regressions/query_language-leap-second").unwrap();
    round_trips(std::str::from_utf8(&found).unwrap());
    round_trips("from:2025-12-21T09:00:60 to:2025-12-31 23:59:60");
}
