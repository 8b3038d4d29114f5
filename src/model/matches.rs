//! Whether one entry matches a filter, in memory: what a live stream applies to each entry
//! as it is written. It must agree exactly with the stores' SQL (one compiler for both,
//! `store/filter/`); the property test `stream_filter_agrees_with_the_store` and the store
//! conformance suite's `every_filter_matches_the_in_memory_filter` hold them together.

use super::event::Entry;
use super::query::Query;
use crate::text::contains_ci;
use chrono::{DateTime, Utc};

impl Query {
    /// True when `e` is one of the entries this filter selects; relative times resolve against `now`.
    pub fn matches(&self, e: &Entry, now: DateTime<Utc>) -> bool {
        let x = &self.exclude;
        let (from, to) = self.range_millis(now);
        let at = e.occurred_at.timestamp_millis();
        let time_ok = from.is_none_or(|f| at >= f) && to.is_none_or(|t| at <= t);
        let text_ok = self.text.iter().all(|t| {
            let needle = t.to_lowercase();
            [
                e.description.as_deref(),
                Some(e.action.as_str()),
                e.actor.name.as_deref(),
                e.actor.email.as_deref(),
                e.actor.id.as_deref(),
                e.target.as_ref().and_then(|t| t.name.as_deref()),
                e.target.as_ref().map(|t| t.id.as_str()),
            ]
            .into_iter()
            .flatten()
            .any(|hay| contains_ci(hay, &needle))
        });
        let included = |values: &[String], test: fn(&Entry, &str) -> bool| {
            values.is_empty() || values.iter().any(|v| test(e, v))
        };
        let excluded =
            |values: &[String], test: fn(&Entry, &str) -> bool| values.iter().any(|v| test(e, v));
        included(&self.actions, action_is)
            && included(&self.actors, actor_is)
            && included(&self.targets, target_is)
            && included(&self.target_types, target_type_is)
            && included(&self.channels, |e, c| e.channel == c)
            && included(&self.ips, ip_is)
            && included(&self.ids, |e, id| e.id == id)
            && (self.kinds.is_empty() || self.kinds.contains(&e.kind))
            && (self.outcomes.is_empty() || self.outcomes.contains(&e.outcome))
            && !excluded(&x.actions, action_is)
            && !excluded(&x.actors, actor_is)
            && !excluded(&x.targets, target_is)
            && !excluded(&x.target_types, target_type_is)
            && !excluded(&x.channels, |e, c| e.channel == c)
            && !excluded(&x.ips, ip_is)
            && !x.kinds.contains(&e.kind)
            && !x.outcomes.contains(&e.outcome)
            && time_ok
            && text_ok
    }
}

fn action_is(e: &Entry, a: &str) -> bool {
    match a.strip_suffix('*') {
        Some(prefix) => e.action.starts_with(prefix),
        None => e.action == a,
    }
}

/// By id, or by email or name ignoring case as the columns' NOCASE collation does (ASCII
/// letters only).
fn actor_is(e: &Entry, a: &str) -> bool {
    let ci = |v: Option<&str>| v.is_some_and(|m| m.eq_ignore_ascii_case(a));
    e.actor.id.as_deref() == Some(a)
        || (a.contains('@') && ci(e.actor.email.as_deref()))
        || ci(e.actor.name.as_deref())
}

fn target_is(e: &Entry, t: &str) -> bool {
    let target_id = e.target.as_ref().map(|t| t.id.as_str());
    let target_type = e.target.as_ref().map(|t| t.kind.as_str());
    target_id == Some(t)
        || t.split_once('/')
            .is_some_and(|(kind, id)| target_id == Some(id) && target_type == Some(kind))
}

fn target_type_is(e: &Entry, t: &str) -> bool {
    e.target.as_ref().map(|t| t.kind.as_str()) == Some(t)
}

fn ip_is(e: &Entry, ip: &str) -> bool {
    e.actor.ip.as_deref() == Some(ip)
}
