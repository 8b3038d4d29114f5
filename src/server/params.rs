//! Reading URL query strings strictly: repeated filter fields are how a filter says OR; any
//! other parameter is given once, and the string is UTF-8 once percent-decoded.

use crate::model::{ApiError, Query};
use percent_encoding::percent_decode_str;

/// Decodes a raw query string into pairs, keeping repeats and order. `+` is a space (the
/// form encoding every client's URL builder writes). Invalid UTF-8 once decoded is a 400: a
/// filter read lossily would search for something the caller never typed.
pub fn pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let key = decode(k, None)?;
        let value = decode(v, Some(&key))?;
        out.push((key, value));
    }
    Ok(out)
}

fn decode(s: &str, key: Option<&str>) -> Result<String, ApiError> {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            let err = ApiError::bad_request(match key {
                Some(k) => format!(
                    "the value of `{}` is not UTF-8 once percent-decoded",
                    k.chars().take(40).collect::<String>()
                ),
                None => "a parameter name is not UTF-8 once percent-decoded".to_string(),
            });
            match key {
                Some(k) => err.with_field(k),
                None => err,
            }
        })
}

/// A 400 when any parameter of `pairs` is given more than once.
pub fn once_each(pairs: &[(String, String)]) -> Result<(), ApiError> {
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(seen, _)| seen == k) {
            let n = pairs.iter().filter(|(other, _)| other == k).count();
            let k = k.chars().take(40).collect::<String>();
            return Err(ApiError::bad_request(format!(
                "`{k}` is given {n} times; it takes one value"
            ))
            .with_field(k));
        }
    }
    Ok(())
}

/// The pairs of a route without a filter: only `allowed` names (a typo is not silently
/// ignored), each at most once.
pub fn only(raw: Option<&str>, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = pairs(raw)?;
    if let Some((k, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        return Err(ApiError::invalid_query(format!(
            "`{}` is not a parameter of this route; it takes {}",
            k.chars().take(40).collect::<String>(),
            if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            }
        ))
        .with_field(k.clone()));
    }
    once_each(&pairs)?;
    Ok(pairs)
}

/// The filter of a read route plus the route's own parameters (`extra`, each at most once).
pub fn filter(
    raw: Option<&str>,
    extra: &[&str],
) -> Result<(Query, Vec<(String, String)>), ApiError> {
    let (query, rest) = Query::from_params(pairs(raw)?, extra)?;
    once_each(&rest)?;
    Ok((query, rest))
}

/// The value of a numeric parameter, checked against its range.
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

/// The value of a text parameter.
pub fn text<'a>(rest: &'a [(String, String)], name: &str) -> Option<&'a str> {
    rest.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
