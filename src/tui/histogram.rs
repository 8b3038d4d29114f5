//! The activity histogram under the header: the stats' buckets laid over the width the screen
//! gives them, with a time axis, and the bucket the user picks when it has the focus (`Tab`).
//! Shared by `update` (which bucket a column is, what Enter narrows to) and `render`.

use chrono::{DateTime, Duration, Utc};

/// Blocks from one eighth to full; a bucket with any entry gets at least the lowest.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The buckets as `cols` columns. With more buckets than columns, every column sums the same
/// number of buckets (`k`), in groups aligned to `k` bucket widths since the epoch: a column
/// summing two buckets next to one showing a single bucket would stand twice as tall for the
/// same activity, and its time range would read oddly (21:00 – 03:00). The groups, or the
/// buckets when they fit, are then spread over the columns, repeated where there is room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// (first bucket, end bucket) of each column.
    spans: Vec<(usize, usize)>,
    pub counts: Vec<u64>,
}

impl Columns {
    /// `buckets` over `cols` columns; `epoch_index` is how many bucket widths bucket 0 begins
    /// after the epoch (it aligns the groups; 0 when the start is not known).
    pub fn new(buckets: &[u64], cols: usize, epoch_index: u64) -> Columns {
        let n = buckets.len();
        if n == 0 || cols == 0 {
            return Columns {
                spans: Vec::new(),
                counts: Vec::new(),
            };
        }
        let groups = groups(n, cols, epoch_index);
        let g = groups.len();
        let spans: Vec<(usize, usize)> = (0..cols).map(|c| groups[c * g / cols]).collect();
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

    /// The column one bar over from `c` (forward or back): where the next different range
    /// begins, so a bar drawn two columns wide is one step; `c` at either end stays.
    pub fn step(&self, c: usize, forward: bool) -> usize {
        let Some(here) = self.spans.get(c) else {
            return c;
        };
        if forward {
            (c + 1..self.len())
                .find(|i| self.spans[*i] != *here)
                .unwrap_or(c)
        } else {
            self.first_of((0..c).rev().find(|i| self.spans[*i] != *here).unwrap_or(c))
        }
    }

    /// The first column drawing the same range as column `c`.
    pub fn first_of(&self, c: usize) -> usize {
        let span = self.spans[c];
        (0..=c)
            .rev()
            .take_while(|i| self.spans[*i] == span)
            .last()
            .unwrap_or(c)
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

/// The buckets `0..n` cut into at most `cols` groups of `k` buckets each, the smallest `k`
/// that fits, with the cuts where `epoch_index + i` is a multiple of `k` (so the first and the
/// last group may hold fewer).
fn groups(n: usize, cols: usize, epoch_index: u64) -> Vec<(usize, usize)> {
    let mut k = n.div_ceil(cols).max(1);
    loop {
        let phase = usize::try_from(epoch_index % k as u64).unwrap_or(0);
        let lead = (k - phase) % k;
        let mut cuts = vec![0];
        let mut at = if lead == 0 { k } else { lead };
        while at < n {
            cuts.push(at);
            at += k;
        }
        cuts.push(n);
        if cuts.len() - 1 <= cols {
            return cuts.windows(2).map(|w| (w[0], w[1])).collect();
        }
        k += 1;
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
        let c = Columns::new(&[0, 1, 500, 2, 0], 5, 0);
        assert_eq!(c.bars(), " ▁█▁ ");
        assert_eq!(c.peak(), 500);
    }

    #[test]
    fn fewer_buckets_than_columns_stretch_and_ranges_follow() {
        let c = Columns::new(&[1, 2], 4, 0);
        assert_eq!(c.counts, [1, 1, 2, 2]);
        let start = DateTime::parse_from_rfc3339("2026-11-21T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (from, to) = c.range(3, start, 3600).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-21T01:00:00+00:00");
        assert_eq!(to.timestamp_millis(), from.timestamp_millis() + 3_599_999);
        let many = Columns::new(&[1, 2, 3, 4], 2, 0);
        assert_eq!(many.counts, [3, 7]);
    }

    #[test]
    fn every_column_sums_as_many_buckets_aligned_to_the_epoch() {
        // Five buckets on four columns: never one column of two beside columns of one; pairs
        // cut where the bucket's index since the epoch is even.
        let odd = Columns::new(&[1, 1, 1, 1, 1], 4, 7);
        assert_eq!(odd.spans, [(0, 1), (0, 1), (1, 3), (3, 5)]);
        assert_eq!(odd.counts, [1, 1, 2, 2]);
        let even = Columns::new(&[1, 1, 1, 1, 1], 4, 8);
        assert_eq!(even.spans, [(0, 2), (0, 2), (2, 4), (4, 5)]);
        // 57 three-hour buckets on 51 columns: six-hour columns, none wider.
        let many = Columns::new(&[1; 57], 51, 3);
        let inner: Vec<_> = many.spans.iter().filter(|s| **s != (0, 1)).collect();
        assert_eq!(inner.len(), 49, "{:?}", many.spans);
        assert!(
            inner.iter().all(|(a, b)| (a + 3) % 2 == 0 && b - a == 2),
            "{inner:?}"
        );
        // ← and → step a bar, not a column, and land on its first column.
        assert_eq!(odd.step(0, true), 2);
        assert_eq!(odd.step(1, true), 2);
        assert_eq!(odd.step(2, true), 3);
        assert_eq!(odd.step(3, true), 3);
        assert_eq!(odd.step(3, false), 2);
        assert_eq!(odd.step(2, false), 0);
        assert_eq!(odd.step(1, false), 0);
        // When even groups of k leave one too many, the groups widen.
        let tight = Columns::new(&[1; 4], 2, 1);
        assert_eq!(tight.spans, [(0, 2), (2, 4)]);
    }
}
