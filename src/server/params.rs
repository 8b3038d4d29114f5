//! Reading URL query strings: repeated keys are how a filter says OR.

use crate::model::{ApiError, Query};

/// Decodes a raw query string into pairs, keeping repeats and order.
pub fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The filter of a read route plus the route's own parameters (`extra`).
pub fn filter(
    raw: Option<&str>,
    extra: &[&str],
) -> Result<(Query, Vec<(String, String)>), ApiError> {
    Query::from_params(pairs(raw), extra)
}

/// The last value of a numeric parameter, checked against its range.
pub fn number(
    rest: &[(String, String)],
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match rest.iter().rev().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_query(format!(
                    "{name}=`{}` must be a whole number from {min} to {max}",
                    v.chars().take(32).collect::<String>()
                ))
                .with_field(name)
            }),
    }
}

/// The last value of a text parameter.
pub fn text<'a>(rest: &'a [(String, String)], name: &str) -> Option<&'a str> {
    rest.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
