//! The reads a count takes, in order, written once for every store: a store answers each
//! [`Read`] with its [`Rows`] and is handed the next, until the [`Stats`] or the [`Facets`].
//!
//! Most filters are counted exactly, from the rollups or their matches
//! ([`super::Filter::extent_sql`]). A search term that is common in the log cannot be: no index
//! lists its matches in fewer reads than there are matches (`q:firewall`, 1 entry in 100, took
//! 6.9 s to count at 1M entries). Such a count walks the newest [`WINDOW`] matches of the rest
//! of the filter, counting the term's share of them; the bars the walk covered are exact, the
//! older ones are the rest of the filter's count there (exact, from the rollups) times that
//! share, and the whole is marked an estimate. A walk that sees every match of the rest is
//! exact; one that finds fewer than [`MIN_HITS`] (too few to scale) falls back to counting.

use super::stats::{Extent, Frame, Histogram};
use super::{Dialect, Filter, Statement};
use crate::model::{FacetField, FacetValue, Facets, Stats};
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The newest matches of the rest of the filter a search term is counted in.
/// 20,000 took 54 / 81 ms (p50 / p99) for `q:firewall` at 1M entries on SQLite; 10,000 keeps
/// a broad count within 50 ms.
pub const WINDOW: usize = 10_000;

/// The fewest matches of a term in the walk that its share is scaled from (a share within
/// about ±15 % at 50, two standard deviations).
pub const MIN_HITS: usize = 50;

/// A statement for the store to run, by the shape of its rows.
#[derive(Debug)]
pub enum Read<D: Dialect> {
    /// One row: count, first and last `occurred_at` (integers, the last two may be NULL).
    Extent(Statement<D>),
    /// `bucket, count` rows (integers).
    Bars(Statement<D>),
    /// `occurred_at, hit (0 or 1), value, label` rows (the last two text, or NULL).
    Walk(Statement<D>),
    /// `value, count, label` rows.
    Facet(Statement<D>),
}

/// A walked row: when it occurred, whether the search terms are in it, and its facet value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    pub at: i64,
    pub hit: bool,
    pub value: Option<String>,
    pub label: Option<String>,
}

/// What a [`Read`] returned.
#[derive(Debug)]
pub enum Rows {
    Extent(Extent),
    Bars(Vec<(i64, u64)>),
    Walk(Vec<Walked>),
    Facet(Vec<FacetValue>),
}

/// What to do next.
#[derive(Debug)]
pub enum Next<D: Dialect, T> {
    Read(Read<D>),
    Done(T),
}

/// A sequence of reads that ends in a `Output`.
pub trait Reads<D: Dialect> {
    type Output;
    /// The first read.
    fn first(&mut self) -> Read<D>;
    /// The answer to the last read: the next one, or the result.
    fn answer(&mut self, rows: Rows) -> Result<Next<D, Self::Output>, StoreError>;
}

fn out_of_turn() -> StoreError {
    StoreError::Internal("a count was answered with rows of another read".into())
}

fn hits(walk: &[Walked]) -> usize {
    walk.iter().filter(|w| w.hit).count()
}

/// `n × num / den`, rounded to the nearest (0 when `den` is).
fn scale(n: u64, num: u64, den: u64) -> u64 {
    if den == 0 {
        return 0;
    }
    let (n, num, den) = (u128::from(n), u128::from(num), u128::from(den));
    u64::try_from((n * num + den / 2) / den).unwrap_or(u64::MAX)
}

fn len(walk: &[Walked]) -> u64 {
    walk.len() as u64
}

/// How a [`StatsReads`] stands.
enum StatsState {
    Start,
    Walked,
    /// The extent of the filter, or (with the walk) of the rest of it.
    Extent(Option<Vec<Walked>>),
    Bars(Frame, Option<Vec<Walked>>),
    Over,
}

/// The reads of `GET /v1/stats`.
pub struct StatsReads<D: Dialect> {
    /// The filter as a page reads it: what a walk is built from.
    filter: Filter<D>,
    /// The filter as it is counted exactly (SQLite reads a term's trigram candidates).
    exact: Filter<D>,
    now: DateTime<Utc>,
    buckets: usize,
    state: StatsState,
}

impl<D: Dialect> StatsReads<D> {
    pub fn new(filter: Filter<D>, exact: Filter<D>, now: DateTime<Utc>, buckets: usize) -> Self {
        StatsReads {
            filter,
            exact,
            now,
            buckets,
            state: StatsState::Start,
        }
    }

    /// The frame of `extent`, or the stats when nothing is left to count.
    fn frame(&self, extent: Extent) -> Result<Result<Frame, Stats>, StoreError> {
        Ok(
            match Histogram::new(extent, self.filter.time_range(), self.now, self.buckets)? {
                Histogram::Drawn(stats) => Err(stats),
                Histogram::Count(frame) => Ok(frame),
            },
        )
    }

    /// The stats of a walk that saw every match of the rest of the filter: exact.
    fn walked_whole(&self, walk: &[Walked]) -> Result<Stats, StoreError> {
        let times: Vec<i64> = walk.iter().filter(|w| w.hit).map(|w| w.at).collect();
        let extent = Extent {
            total: times.len() as u64,
            min: times.iter().min().copied(),
            max: times.iter().max().copied(),
        };
        Ok(match self.frame(extent)? {
            Err(stats) => stats,
            Ok(frame) => {
                let bars: Vec<(i64, u64)> = times.iter().map(|&t| (frame.bar_of(t), 1)).collect();
                frame.stats(bars)
            }
        })
    }
}

impl<D: Dialect> Reads<D> for StatsReads<D> {
    type Output = Stats;

    fn first(&mut self) -> Read<D> {
        if self.filter.estimable() {
            self.state = StatsState::Walked;
            Read::Walk(self.filter.walk_sql(WINDOW, None))
        } else {
            self.state = StatsState::Extent(None);
            Read::Extent(self.exact.extent_sql())
        }
    }

    fn answer(&mut self, rows: Rows) -> Result<Next<D, Stats>, StoreError> {
        match (std::mem::replace(&mut self.state, StatsState::Over), rows) {
            (StatsState::Walked, Rows::Walk(walk)) => {
                if walk.len() < WINDOW {
                    return Ok(Next::Done(self.walked_whole(&walk)?));
                }
                if hits(&walk) < MIN_HITS {
                    self.state = StatsState::Extent(None);
                    return Ok(Next::Read(Read::Extent(self.exact.extent_sql())));
                }
                self.state = StatsState::Extent(Some(walk));
                Ok(Next::Read(Read::Extent(
                    self.filter.without_text().extent_sql(),
                )))
            }
            (StatsState::Extent(walk), Rows::Extent(extent)) => match self.frame(extent)? {
                Err(mut stats) => {
                    // Nothing matches the rest of the filter: none match the whole.
                    stats.total = if walk.is_some() { 0 } else { stats.total };
                    Ok(Next::Done(stats))
                }
                Ok(frame) => {
                    let counted = match walk {
                        Some(_) => self.filter.without_text(),
                        None => self.exact.clone(),
                    };
                    let read = Read::Bars(counted.histogram_sql(frame.start, frame.width_ms));
                    self.state = StatsState::Bars(frame, walk);
                    Ok(Next::Read(read))
                }
            },
            (StatsState::Bars(frame, None), Rows::Bars(bars)) => Ok(Next::Done(frame.stats(bars))),
            (StatsState::Bars(frame, Some(walk)), Rows::Bars(bars)) => {
                let bars = estimate_bars(&frame, &bars, &walk);
                let mut stats = frame.stats(bars);
                stats.total = stats.buckets.iter().map(|b| b.count).sum();
                stats.estimate = true;
                Ok(Next::Done(stats))
            }
            _ => Err(out_of_turn()),
        }
    }
}

/// The bars of a search term from the bars of the rest of the filter (`rest`) and the walk of
/// its newest matches: what the walk saw, counted; what it did not, scaled by the term's share
/// of the walk.
fn estimate_bars(frame: &Frame, rest: &[(i64, u64)], walk: &[Walked]) -> Vec<(i64, u64)> {
    let Some(oldest) = walk.iter().map(|w| w.at).min() else {
        return Vec::new();
    };
    let walk_hits = hits(walk) as u64;
    // Rows at the oldest instant may be only partly walked: that instant counts as unwalked.
    let mut seen: HashMap<i64, (u64, u64)> = HashMap::new();
    for w in walk.iter().filter(|w| w.at > oldest) {
        let bar = seen.entry(frame.bar_of(w.at)).or_default();
        bar.0 += 1;
        bar.1 += u64::from(w.hit);
    }
    rest.iter()
        .map(|&(bar, all)| {
            let (walked, hit) = seen.get(&bar).copied().unwrap_or_default();
            let unwalked = all.saturating_sub(walked);
            (bar, hit + scale(unwalked, walk_hits, len(walk)))
        })
        .collect()
}

/// How a [`FacetReads`] stands.
enum FacetState {
    Start,
    Walked,
    Extent(Vec<Walked>),
    Counted,
    Over,
}

/// The reads of `GET /v1/facets/{field}`: `filter` and `exact` as in [`StatsReads`], compiled
/// from the query without the field's own terms.
pub struct FacetReads<D: Dialect> {
    filter: Filter<D>,
    exact: Filter<D>,
    field: FacetField,
    limit: usize,
    state: FacetState,
}

impl<D: Dialect> FacetReads<D> {
    pub fn new(filter: Filter<D>, exact: Filter<D>, field: FacetField, limit: usize) -> Self {
        FacetReads {
            filter,
            exact,
            field,
            limit,
            state: FacetState::Start,
        }
    }

    /// The walk's hits per value, each scaled from the walk's rows to `all` rows, most first.
    fn values(&self, walk: &[Walked], all: u64) -> Vec<FacetValue> {
        let mut counts: HashMap<&str, (u64, Option<&str>)> = HashMap::new();
        for w in walk.iter().filter(|w| w.hit) {
            if let Some(v) = w.value.as_deref() {
                let c = counts.entry(v).or_default();
                c.0 += 1;
                c.1 = c.1.max(w.label.as_deref());
            }
        }
        let mut values: Vec<FacetValue> = counts
            .into_iter()
            .map(|(v, (n, label))| FacetValue {
                value: v.to_string(),
                count: scale(n, all, len(walk)),
                label: label.map(str::to_string),
            })
            .collect();
        values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        values.truncate(self.limit);
        values
    }

    fn done(&self, values: Vec<FacetValue>, estimate: bool) -> Next<D, Facets> {
        Next::Done(Facets {
            field: self.field,
            values,
            estimate,
        })
    }
}

impl<D: Dialect> Reads<D> for FacetReads<D> {
    type Output = Facets;

    fn first(&mut self) -> Read<D> {
        if self.filter.estimable() {
            self.state = FacetState::Walked;
            Read::Walk(self.filter.walk_sql(WINDOW, Some(self.field)))
        } else {
            self.state = FacetState::Counted;
            Read::Facet(self.exact.facet_sql(self.field, self.limit))
        }
    }

    fn answer(&mut self, rows: Rows) -> Result<Next<D, Facets>, StoreError> {
        match (std::mem::replace(&mut self.state, FacetState::Over), rows) {
            (FacetState::Walked, Rows::Walk(walk)) => {
                if walk.len() < WINDOW {
                    return Ok(self.done(self.values(&walk, len(&walk)), false));
                }
                if hits(&walk) < MIN_HITS {
                    self.state = FacetState::Counted;
                    return Ok(Next::Read(Read::Facet(
                        self.exact.facet_sql(self.field, self.limit),
                    )));
                }
                self.state = FacetState::Extent(walk);
                Ok(Next::Read(Read::Extent(
                    self.filter.without_text().extent_sql(),
                )))
            }
            (FacetState::Extent(walk), Rows::Extent(rest)) => {
                Ok(self.done(self.values(&walk, rest.total), true))
            }
            (FacetState::Counted, Rows::Facet(values)) => Ok(self.done(values, false)),
            _ => Err(out_of_turn()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walked(at: i64, hit: bool) -> Walked {
        Walked {
            at,
            hit,
            value: None,
            label: None,
        }
    }

    #[test]
    fn walked_bars_are_counted_and_older_ones_scaled_by_the_share() {
        let extent = Extent {
            total: 1000,
            min: Some(0),
            max: Some(3_599_999),
        };
        let Histogram::Count(frame) = Histogram::new(extent, (None, None), Utc::now(), 60).unwrap()
        else {
            panic!("counted")
        };
        // Bars of a minute. The walk covers the last two bars entirely and reaches back
        // into bar 57 (its oldest instant, 57m30s, counts as unwalked): 1 in 4 rows a hit.
        let mut walk = Vec::new();
        for i in 0..40 {
            let at = 3_599_999 - i * 4_500;
            walk.push(walked(at, i % 4 == 0));
        }
        let oldest = walk.last().unwrap().at;
        assert_eq!(frame.bar_of(oldest), 57);
        let rest = [(0, 100), (57, 30), (58, 20), (59, 20)];
        let bars: HashMap<i64, u64> = estimate_bars(&frame, &rest, &walk).into_iter().collect();
        let walked_in = |bar: i64, hit: bool| {
            walk.iter()
                .filter(|w| w.at > oldest && frame.bar_of(w.at) == bar && (w.hit || !hit))
                .count() as u64
        };
        let want =
            |bar: i64, all: u64| walked_in(bar, true) + scale(all - walked_in(bar, false), 1, 4);
        assert_eq!(bars[&59], want(59, 20));
        assert_eq!(bars[&58], want(58, 20));
        assert_eq!(bars[&57], want(57, 30));
        assert_eq!(bars[&0], 25, "an unwalked bar is its share");
        assert!(walked_in(58, false) > 0 && walked_in(57, false) > 0);
    }
}
