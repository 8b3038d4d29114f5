//! The activity histogram under the header: the stats' buckets laid over the width the screen
//! gives them, with a time axis, and the bucket the user picks when it has the focus (`Tab`).
//! Shared by `update` (which bucket a column is, what Enter narrows to) and `render`.

use chrono::{DateTime, Duration, Utc};

/// Blocks from one eighth to full; a bucket with any entry gets at least the lowest.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The buckets as `cols` columns: each column sums the buckets it covers, or repeats the one
/// bucket it shows when there are fewer buckets than columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// (first bucket, end bucket) of each column.
    spans: Vec<(usize, usize)>,
    pub counts: Vec<u64>,
}

impl Columns {
    /// `buckets` over `cols` columns (at most one column per bucket... or more, repeating).
    pub fn new(buckets: &[u64], cols: usize) -> Columns {
        let n = buckets.len();
        if n == 0 || cols == 0 {
            return Columns {
                spans: Vec::new(),
                counts: Vec::new(),
            };
        }
        let spans: Vec<(usize, usize)> = (0..cols)
            .map(|c| {
                let a = c * n / cols;
                let b = ((c + 1) * n / cols).max(a + 1).min(n);
                (a, b)
            })
            .collect();
        let counts = spans
            .iter()
            .map(|&(a, b)| buckets[a..b].iter().sum())
            .collect();
        Columns { spans, counts }
    }

    /// How many columns there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The bars: every non-empty column at least one block high, the peak full height.
    pub fn bars(&self) -> String {
        let peak = self.peak();
        self.counts
            .iter()
            .map(|&v| match v {
                0 => ' ',
                v => {
                    let level = (v.saturating_mul(8)).div_ceil(peak.max(1)).clamp(1, 8);
                    BLOCKS[usize::try_from(level - 1).unwrap_or(0)]
                }
            })
            .collect()
    }

    /// The highest column's count.
    pub fn peak(&self) -> u64 {
        self.counts.iter().copied().max().unwrap_or(0)
    }

    /// The time range column `c` covers, given where the buckets start and how wide they are.
    pub fn range(
        &self,
        c: usize,
        start: DateTime<Utc>,
        bucket_seconds: u64,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let &(a, b) = self.spans.get(c)?;
        let w = i64::try_from(bucket_seconds).ok()?;
        let (a, b) = (i64::try_from(a).ok()?, i64::try_from(b).ok()?);
        let from = start + Duration::seconds(w * a);
        let to = start + Duration::seconds(w * b) - Duration::milliseconds(1);
        Some((from, to))
    }

    /// Where the axis starts and ends.
    pub fn bounds(
        &self,
        start: DateTime<Utc>,
        bucket_seconds: u64,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let (first, _) = self.range(0, start, bucket_seconds)?;
        let (_, last) = self.range(self.len().checked_sub(1)?, start, bucket_seconds)?;
        Some((first, last))
    }
}

/// An axis label: the date and time at the precision the buckets have.
pub fn label(t: DateTime<Utc>, bucket_seconds: u64) -> String {
    if bucket_seconds >= 86_400 {
        t.format("%m-%d").to_string()
    } else {
        t.format("%m-%d %H:%M").to_string()
    }
}

/// How many columns the bars get at `width`, and the labels' widths (left, right).
pub fn layout(width: usize, left: usize, right: usize) -> Option<usize> {
    let bars = width.checked_sub(left + right + 3)?;
    (bars >= 8).then_some(bars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buckets_stay_visible_next_to_a_spike() {
        let c = Columns::new(&[0, 1, 500, 2, 0], 5);
        assert_eq!(c.bars(), " ▁█▁ ");
        assert_eq!(c.peak(), 500);
    }

    #[test]
    fn fewer_buckets_than_columns_stretch_and_ranges_follow() {
        let c = Columns::new(&[1, 2], 4);
        assert_eq!(c.counts, [1, 1, 2, 2]);
        let start = DateTime::parse_from_rfc3339("2026-11-21T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (from, to) = c.range(3, start, 3600).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-21T01:00:00+00:00");
        assert_eq!(to.timestamp_millis(), from.timestamp_millis() + 3_599_999);
        let many = Columns::new(&[1, 2, 3, 4], 2);
        assert_eq!(many.counts, [3, 7]);
    }
}
