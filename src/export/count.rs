//! Counting the rows of an export as its bytes stream past, for progress lines.

use super::Format;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

/// Counts rows in a stream of export bytes, without keeping them.
pub struct RowCounter {
    format: Format,
    rows: u64,
    csv: csv_core::Reader,
    header_seen: bool,
}

impl RowCounter {
    /// A counter for one export's bytes. JSON is counted by [`count_json_entries`] once whole.
    pub fn new(format: Format) -> RowCounter {
        RowCounter {
            format,
            rows: 0,
            csv: csv_core::Reader::new(),
            header_seen: false,
        }
    }

    /// Feeds the next chunk.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        match self.format {
            Format::Ndjson | Format::Ocsf => {
                self.rows += chunk.iter().filter(|b| **b == b'\n').count() as u64
            }
            Format::Json => {}
            Format::Csv => {
                let mut field = [0u8; 4096];
                let mut ends = [0usize; 64];
                while !chunk.is_empty() {
                    let (result, read, _, _) = self.csv.read_record(chunk, &mut field, &mut ends);
                    chunk = &chunk[read..];
                    match result {
                        csv_core::ReadRecordResult::Record => {
                            if std::mem::replace(&mut self.header_seen, true) {
                                self.rows += 1;
                            }
                        }
                        csv_core::ReadRecordResult::InputEmpty
                        | csv_core::ReadRecordResult::End => break,
                        // A field longer than the buffer: the rest of it is read on the next turn.
                        csv_core::ReadRecordResult::OutputFull
                        | csv_core::ReadRecordResult::OutputEndsFull => {}
                    }
                }
            }
        }
    }

    /// Rows seen so far (`None` for JSON, which is counted at the end).
    pub fn rows(&self) -> Option<u64> {
        (self.format != Format::Json).then_some(self.rows)
    }
}

/// The number of entries in a JSON export, read without holding them.
pub fn count_json_entries(reader: impl std::io::Read) -> Result<u64, serde_json::Error> {
    struct Doc;
    impl<'de> Visitor<'de> for Doc {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an export document")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
            let mut n = 0;
            while let Some(key) = map.next_key::<String>()? {
                if key == "entries" {
                    n = map.next_value::<Entries>()?.0;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(n)
        }
    }
    struct Entries(u64);
    impl<'de> serde::Deserialize<'de> for Entries {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Entries;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an array of entries")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
                    let mut n = 0;
                    while seq.next_element::<IgnoredAny>()?.is_some() {
                        n += 1;
                    }
                    Ok(Entries(n))
                }
            }
            d.deserialize_seq(V)
        }
    }
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    de.deserialize_map(Doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_csv_rows_across_chunk_boundaries_and_quoted_newlines() {
        let data = "\u{feff}id,description\n1,\"two\nlines\"\n2,plain\n3,\"a \"\"quote\"\"\"\n";
        let bytes = data.as_bytes();
        for split in 1..bytes.len() {
            let mut c = RowCounter::new(Format::Csv);
            c.feed(&bytes[..split]);
            c.feed(&bytes[split..]);
            assert_eq!(c.rows(), Some(3), "split at {split}");
        }
    }

    #[test]
    fn counts_json_entries() {
        let doc = r#"{"exported_at":"x","filters":{"a":[1,2]},"entries":[{"a":[1]},{"b":{}},{}]}"#;
        assert_eq!(count_json_entries(doc.as_bytes()).unwrap(), 3);
    }
}
