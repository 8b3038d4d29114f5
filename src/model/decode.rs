//! The event decoder: a request body as the JSON text of each of its events, before validation.
//! Attacker-controlled bytes meet the server here first (and the fuzz target `decode_events`).
//!
//! Each event stays text (`&RawValue`), never a `Value`: `details` must keep the exact text the
//! producer sent (see [`super::Details`]), so nothing here parses numbers.

use super::details::{MAX_DEPTH, nesting_depth};
use super::error::{ApiError, ErrorCode};
use super::validate::MAX_BATCH;
use serde_json::value::RawValue;

/// A body's events: one event object, a JSON array of events, or NDJSON (one per line, blank
/// lines skipped, at most [`MAX_BATCH`]).
pub fn decode_batch(body: &[u8], ndjson: bool) -> Result<Vec<&RawValue>, ApiError> {
    if ndjson {
        parse_ndjson(body)
    } else {
        parse_json(body)
    }
}

fn parse_json(body: &[u8]) -> Result<Vec<&RawValue>, ApiError> {
    too_deep(body, "the body")?;
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let parsed = if first == Some(&b'[') {
        serde_json::from_slice::<Vec<&RawValue>>(body)
    } else {
        serde_json::from_slice::<&RawValue>(body).map(|v| vec![v])
    };
    let values = parsed.map_err(|e| ApiError::bad_request(json_error("the body", &e)))?;
    if first != Some(&b'[') && first != Some(&b'{') {
        return Err(ApiError::bad_request(
            "the body must be an event object, a JSON array of events, or NDJSON (Content-Type: application/x-ndjson)",
        ));
    }
    Ok(values)
}

fn parse_ndjson(body: &[u8]) -> Result<Vec<&RawValue>, ApiError> {
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
        too_deep(line, &format!("line {}", line_no + 1)).map_err(|e| e.with_index(index))?;
        let v = serde_json::from_slice::<&RawValue>(line).map_err(|e| {
            ApiError::bad_request(json_error(&format!("line {}", line_no + 1), &e))
                .with_index(index)
        })?;
        out.push(v);
    }
    Ok(out)
}

/// Nothing below parses a body into a tree with serde_json's own depth limit (the events are
/// kept as text), so the limit of 128 levels is checked here, first.
fn too_deep(text: &[u8], what: &str) -> Result<(), ApiError> {
    if nesting_depth(text) > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "{what} is nested too deeply (the limit is {MAX_DEPTH} levels)"
        )));
    }
    Ok(())
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
