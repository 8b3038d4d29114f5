//! Which format a file is in, from its first bytes: trailscope's own exports, or one of the
//! sources of [`super::SourceFormat`]. A file is only taken as a format when its first record
//! says so; anything else is an error that lists what can be read (and `--format`).

use super::SourceFormat;
use crate::export::read::{self, FileFormat, LoadError};
use serde_json::{Map, Value};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// One of trailscope's own exports.
    Export(FileFormat),
    /// Another system's audit log.
    Source(SourceFormat),
}

impl Detected {
    /// The name users know the format by.
    pub fn as_str(self) -> &'static str {
        match self {
            Detected::Export(f) => f.as_str(),
            Detected::Source(s) => s.as_str(),
        }
    }
}

/// What one JSON record says it is.
fn record_format(m: &Map<String, Value>) -> Option<Detected> {
    let s = |k: &str| m.get(k).and_then(Value::as_str);
    if s("kind") == Some("Event") && s("apiVersion").is_some_and(|v| v.starts_with("audit.k8s.io/"))
    {
        return Some(Detected::Source(SourceFormat::K8s));
    }
    if m.contains_key("eventVersion")
        && m.contains_key("eventSource")
        && m.contains_key("eventName")
    {
        return Some(Detected::Source(SourceFormat::CloudTrail));
    }
    if m.contains_key("action") && (m.contains_key("@timestamp") || m.contains_key("_document_id"))
    {
        return Some(Detected::Source(SourceFormat::GitHub));
    }
    if m.contains_key("seq") && m.contains_key("hash") && m.contains_key("action") {
        return Some(Detected::Export(FileFormat::Ndjson));
    }
    None
}

/// Markers of each source, for a first record that does not fit in the head (pretty-printed,
/// or longer than the bytes read).
fn markers(head: &str) -> Option<Detected> {
    if head.contains("\"audit.k8s.io/") && head.contains("\"auditID\"") {
        return Some(Detected::Source(SourceFormat::K8s));
    }
    if head.contains("\"eventVersion\"") && head.contains("\"eventSource\"") {
        return Some(Detected::Source(SourceFormat::CloudTrail));
    }
    if head.contains("\"action\"")
        && (head.contains("\"@timestamp\"") || head.contains("\"_document_id\""))
    {
        return Some(Detected::Source(SourceFormat::GitHub));
    }
    None
}

const WHAT_IS_READ: &str = "this is not a trailscope export nor an audit log it reads: expected a trailscope export (CSV, JSON, NDJSON), a Kubernetes audit log, a CloudTrail file or a GitHub audit-log export (JSON, CSV); name one with --format";

/// Says what `head` (a file's first bytes, decompressed) is.
pub fn detect(head: &[u8]) -> Result<Detected, LoadError> {
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or_else(|| LoadError {
            line: Some(1),
            byte: 0,
            message: "the file is empty".into(),
        })?;
    let rest = &body[start..];
    let unknown = || LoadError {
        line: Some(1),
        byte: start as u64,
        message: WHAT_IS_READ.into(),
    };
    let text = String::from_utf8_lossy(rest);
    let first_line = text.lines().next().unwrap_or_default();
    match rest[0] {
        b'{' => {
            if let Ok(read::FileFormat::Json) = read::detect(rest) {
                return Ok(Detected::Export(FileFormat::Json));
            }
            let key = text[1..].trim_start();
            if key.starts_with("\"Records\"") {
                return Ok(Detected::Source(SourceFormat::CloudTrail));
            }
            if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(first_line)
                && let Some(d) = record_format(&m)
            {
                return Ok(d);
            }
            // Anything else that opens with `{` is read as trailscope's NDJSON, whose reader
            // names the line that is not an entry.
            Ok(markers(&text).unwrap_or(Detected::Export(FileFormat::Ndjson)))
        }
        b'[' => {
            if let Ok(Value::Array(a)) = serde_json::from_str::<Value>(first_line)
                && let Some(Value::Object(m)) = a.first()
            {
                return record_format(m).ok_or_else(unknown);
            }
            markers(&text).ok_or_else(unknown)
        }
        _ => {
            if rest.starts_with(b"id,seq,") {
                return Ok(Detected::Export(FileFormat::Csv));
            }
            let columns: Vec<&str> = first_line
                .split(',')
                .map(|c| c.trim().trim_matches('"'))
                .collect();
            let has = |c: &str| columns.contains(&c);
            if has("action") && (has("@timestamp") || has("_document_id") || has("created_at")) {
                return Ok(Detected::Source(SourceFormat::GitHub));
            }
            Err(unknown())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_told_apart() {
        let k8s = br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete"}"#;
        assert_eq!(detect(k8s).unwrap(), Detected::Source(SourceFormat::K8s));
        let ct = br#"{"Records":[{"eventVersion":"1.08"}]}"#;
        assert_eq!(
            detect(ct).unwrap(),
            Detected::Source(SourceFormat::CloudTrail)
        );
        let ct_line = br#"{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}"#;
        assert_eq!(
            detect(ct_line).unwrap(),
            Detected::Source(SourceFormat::CloudTrail)
        );
        let gh = br#"[{"@timestamp":1700000000000,"action":"repo.create","_document_id":"x"}]"#;
        assert_eq!(detect(gh).unwrap(), Detected::Source(SourceFormat::GitHub));
        let gh_csv = b"@timestamp,_document_id,action,actor\n1,x,repo.create,octo\n";
        assert_eq!(
            detect(gh_csv).unwrap(),
            Detected::Source(SourceFormat::GitHub)
        );
        let own = b"\xEF\xBB\xBFid,seq,occurred_at\n";
        assert_eq!(detect(own).unwrap(), Detected::Export(FileFormat::Csv));
        let json = br#"{"exported_at":"2026-01-01T00:00:00.000Z","entries":[]}"#;
        assert_eq!(detect(json).unwrap(), Detected::Export(FileFormat::Json));
        assert_eq!(
            detect(b"{\"hello\":1}\n").unwrap(),
            Detected::Export(FileFormat::Ndjson)
        );
        assert!(detect(b"just text\n").is_err());
    }
}
