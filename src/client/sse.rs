//! Reading a Server-Sent Events body as it arrives: bytes in, whole events out.

/// The longest line accepted: an entry is at most a few hundred KiB; a line that never ends
/// is a broken or hostile server, not a reason to fill memory.
const MAX_LINE: usize = 32 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (`message` when absent, as the standard says).
    pub event: String,
    /// The `id:` field of this event, if it had one.
    pub id: Option<String>,
    /// The `data:` lines, joined with newlines.
    pub data: String,
}

/// An incremental parser (the WHATWG `text/event-stream` rules): feed it chunks, take events.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: a LF at the start of the next one belongs to it.
    after_cr: bool,
    event: String,
    id: Option<String>,
    data: Option<String>,
}

/// The body broke the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event stream holds a line longer than {} MiB", MAX_LINE / (1024 * 1024))]
pub struct LineTooLong;

impl SseParser {
    /// Parses `chunk`, appending every event it completes to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), LineTooLong> {
        for &b in chunk {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line_done(&line, out);
                }
                _ => {
                    if self.line.len() >= MAX_LINE {
                        return Err(LineTooLong);
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseEvent {
                    event: std::mem::take(&mut self.event),
                    id: self.id.take(),
                    data,
                });
            }
            self.event.clear();
            self.id = None;
            return;
        }
        if line[0] == b':' {
            return; // a comment: keep-alive
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
        if self.event.is_empty() && field == "data" {
            self.event = "message".into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn events_split_anywhere_parse_the_same() {
        let body = b": keep-alive\n\nid: 7\nevent: entry\ndata: {\"a\":1}\n\nid:8\r\nevent:entry\r\ndata:x\r\ndata:y\r\n\r\n";
        let whole = parse(&[body]);
        assert_eq!(
            whole,
            vec![
                SseEvent {
                    event: "entry".into(),
                    id: Some("7".into()),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: "entry".into(),
                    id: Some("8".into()),
                    data: "x\ny".into()
                },
            ]
        );
        for cut in 1..body.len() {
            assert_eq!(parse(&[&body[..cut], &body[cut..]]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(parse(&bytes), whole);
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_and_the_default_type_is_message() {
        assert_eq!(parse(&[b"event: entry\n\n"]), vec![]);
        assert_eq!(parse(&[b"data: hi\n\n"])[0].event, "message");
    }

    #[test]
    fn an_endless_line_is_refused_not_buffered() {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        let chunk = vec![b'a'; 1024 * 1024];
        let mut refused = false;
        for _ in 0..40 {
            if p.feed(&chunk, &mut out).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused);
    }
}
