//! The event decoder: a request body as the JSON values of its events, before validation.
//! Attacker-controlled bytes meet the server here first (and the fuzz target `decode_events`).

use super::error::{ApiError, ErrorCode};
use super::validate::MAX_BATCH;
use serde_json::Value;

/// A body's events: one event object, a JSON array of events, or NDJSON (one per line, blank
/// lines skipped, at most [`MAX_BATCH`]).
pub fn decode_batch(body: &[u8], ndjson: bool) -> Result<Vec<Value>, ApiError> {
    if ndjson {
        parse_ndjson(body)
    } else {
        parse_json(body)
    }
}

fn parse_json(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(json_error("the body", &e)))?;
    match v {
        Value::Array(items) => Ok(items),
        obj @ Value::Object(_) => Ok(vec![obj]),
        _ => Err(ApiError::bad_request(
            "the body must be an event object, a JSON array of events, or NDJSON (Content-Type: application/x-ndjson)",
        )),
    }
}

fn parse_ndjson(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for (line_no, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if out.len() == MAX_BATCH {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "a batch holds at most {MAX_BATCH} events; send the rest in another request"
                ),
            ));
        }
        let index = out.len();
        let v = serde_json::from_slice(line).map_err(|e| {
            ApiError::bad_request(json_error(&format!("line {}", line_no + 1), &e))
                .with_index(index)
        })?;
        out.push(v);
    }
    Ok(out)
}

fn json_error(what: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let why = match e.classify() {
        Category::Eof => "ends before the JSON does".to_string(),
        Category::Syntax if e.to_string().contains("recursion limit") => {
            "is nested too deeply (the limit is 128 levels)".to_string()
        }
        Category::Syntax | Category::Data => format!(
            "is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
        Category::Io => "could not be read".to_string(),
    };
    format!("{what} {why}")
}
