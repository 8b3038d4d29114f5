//! The histogram's arithmetic, once for every store: where its bars begin, how wide they are,
//! and the [`Stats`] a store's two counts make.

use crate::model::{Stats, StatsBucket, from_millis};
use crate::store::StoreError;
use chrono::{DateTime, Utc};

/// The most bars a histogram has, whatever it is asked for.
const MAX_BARS: i64 = 10_000;

/// The smallest readable bucket width (in seconds) that fits `span_ms` into `buckets` bars.
pub fn bucket_seconds(span_ms: i64, buckets: usize) -> u64 {
    const NICE: [u64; 21] = [
        1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
        172800, 604800, 2_592_000, 31_536_000,
    ];
    let want = span_ms
        .max(1)
        .unsigned_abs()
        .div_ceil(1000)
        .div_ceil(u64::try_from(buckets.max(1)).unwrap_or(u64::MAX));
    NICE.into_iter().find(|n| *n >= want).unwrap_or(want)
}

/// Where the first bar begins: `from` rounded down to a multiple of the width since the epoch,
/// so bars read as whole hours and days; but never before year 0, which RFC 3339 cannot write
/// (a log holding entries dated in year 6, and a bar 33 years wide, once began at "-0018").
pub fn bucket_start(from_ms: i64, width_ms: i64) -> i64 {
    /// 0000-01-01T00:00:00Z.
    const YEAR_ZERO_MS: i64 = -62_167_219_200_000;
    let aligned = from_ms - from_ms.rem_euclid(width_ms.max(1));
    if aligned < YEAR_ZERO_MS {
        from_ms
    } else {
        aligned
    }
}

/// What a store counted first: the matches, and the first and last `occurred_at` among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub total: u64,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// What a store does next for a histogram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Histogram {
    /// Nothing to count: these are the stats.
    Drawn(Stats),
    /// Count the matches per bar of this frame ([`crate::store::filter::Filter::histogram_sql`]),
    /// then [`Frame::stats`].
    Count(Frame),
}

impl Histogram {
    /// The histogram of `extent` under a filter whose time range is `range` (ms), with about
    /// `buckets` bars: the frame to count in, or [`Histogram::Drawn`] when nothing is left to
    /// count (no match).
    pub fn new(
        extent: Extent,
        range: (Option<i64>, Option<i64>),
        now: DateTime<Utc>,
        buckets: usize,
    ) -> Result<Histogram, StoreError> {
        let (qfrom, qto) = range;
        let from = qfrom.or(extent.min);
        // A range open at its end runs to now, or to the newest match when that is later (a
        // producer's clock ahead of ours, the log's own record of a prune written after `now`):
        // the bars always add up to the total.
        let to = qto.or(match (qfrom, extent.max) {
            (Some(_), Some(max)) => Some(max.max(now.timestamp_millis())),
            (Some(_), None) => Some(now.timestamp_millis()),
            (None, max) => max,
        });
        let (Some(from), Some(to)) = (from, to) else {
            return Ok(Histogram::Drawn(Stats {
                total: extent.total,
                from: None,
                to: None,
                bucket_seconds: 0,
                buckets: vec![],
                estimate: false,
            }));
        };
        let to = to.max(from);
        let width_seconds = bucket_seconds(to - from, buckets);
        let width_ms = width_seconds
            .checked_mul(1000)
            .and_then(|w| i64::try_from(w).ok())
            .ok_or_else(|| StoreError::Invalid("the histogram's bucket is too wide".into()))?;
        let start = bucket_start(from, width_ms);
        let bars = usize::try_from(((to - start) / width_ms + 1).clamp(1, MAX_BARS)).unwrap_or(1);
        let frame = Frame {
            total: extent.total,
            from,
            to,
            width_seconds,
            start,
            width_ms,
            bars,
        };
        Ok(if extent.total == 0 {
            Histogram::Drawn(frame.stats([]))
        } else {
            Histogram::Count(frame)
        })
    }
}

/// The bars of a histogram: the span shown (the filter's time range where it has one, else the
/// matches' own), cut into readable widths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    total: u64,
    from: i64,
    to: i64,
    width_seconds: u64,
    /// Where bar 0 begins, and each bar's width, in ms.
    pub start: i64,
    pub width_ms: i64,
    bars: usize,
}

impl Frame {
    /// The bar `at` (ms) falls in, as the stores' SQL computes it.
    pub fn bar_of(&self, at: i64) -> i64 {
        (at - self.start).div_euclid(self.width_ms)
    }

    /// The stats from the `(bar, count)` pairs a store counted (bars outside the frame are
    /// dropped: a store's bar arithmetic may reach past the last one).
    pub fn stats(self, counted: impl IntoIterator<Item = (i64, u64)>) -> Stats {
        let mut counts = vec![0u64; self.bars];
        for (bar, count) in counted {
            if let Some(slot) = usize::try_from(bar).ok().and_then(|b| counts.get_mut(b)) {
                *slot += count;
            }
        }
        let buckets = counts
            .into_iter()
            .zip(0i64..)
            .map(|(count, n)| StatsBucket {
                start: from_millis(self.start + n * self.width_ms),
                count,
            })
            .collect();
        Stats {
            total: self.total,
            from: Some(from_millis(self.from)),
            to: Some(from_millis(self.to)),
            bucket_seconds: self.width_seconds,
            buckets,
            estimate: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bar_never_begins_before_year_zero() {
        let year_six = -61_972_732_800_000; // 0006-03-01
        let width = 1_062_821_808_000;
        assert_eq!(bucket_start(year_six, width), year_six);
        assert_eq!(bucket_start(3_600_500, 3_600_000), 3_600_000);
        assert_eq!(bucket_start(-500, 1000), -1000);
    }

    #[test]
    fn buckets_are_readable_widths() {
        assert_eq!(bucket_seconds(7 * 86_400_000, 60), 3 * 3600);
        assert_eq!(bucket_seconds(3_600_000, 60), 60);
    }

    #[test]
    fn a_range_open_at_its_end_reaches_a_match_later_than_now() {
        let now = from_millis(10 * 3_600_000);
        let extent = Extent {
            total: 2,
            min: Some(9 * 3_600_000),
            max: Some(12 * 3_600_000),
        };
        let Histogram::Count(frame) =
            Histogram::new(extent, (Some(9 * 3_600_000), None), now, 60).unwrap()
        else {
            panic!("2 matches are counted")
        };
        let last = frame.bar_of(12 * 3_600_000);
        let stats = frame.stats([(0, 1), (last, 1)]);
        assert_eq!(stats.buckets.iter().map(|b| b.count).sum::<u64>(), 2);
        // Without a later match it ends at now.
        let early = Extent {
            max: Some(9 * 3_600_000 + 1),
            ..extent
        };
        let Histogram::Count(frame) =
            Histogram::new(early, (Some(9 * 3_600_000), None), now, 60).unwrap()
        else {
            panic!("2 matches are counted")
        };
        assert_eq!(
            frame.bar_of(10 * 3_600_000),
            i64::try_from(frame.stats([]).buckets.len()).unwrap() - 1
        );
    }

    #[test]
    fn a_frame_spans_the_matches_and_counts_land_in_their_bars() {
        let extent = Extent {
            total: 3,
            min: Some(0),
            max: Some(3_600_000),
        };
        let Histogram::Count(frame) = Histogram::new(extent, (None, None), Utc::now(), 60).unwrap()
        else {
            panic!("3 matches are counted")
        };
        assert_eq!((frame.start, frame.width_ms), (0, 60_000));
        let stats = frame.stats([(0, 2), (60, 1), (99_999, 5), (-1, 5)]);
        assert_eq!(stats.buckets.len(), 61);
        assert_eq!(stats.buckets[0].count, 2);
        assert_eq!(stats.buckets[60].count, 1);
        assert_eq!(stats.buckets.iter().map(|b| b.count).sum::<u64>(), 3);
        let empty = Extent {
            total: 0,
            min: None,
            max: None,
        };
        let none = Histogram::new(empty, (None, None), Utc::now(), 60).unwrap();
        assert!(matches!(none, Histogram::Drawn(s) if s.buckets.is_empty() && s.total == 0));
    }
}
