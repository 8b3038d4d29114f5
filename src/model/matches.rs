//! Whether one entry matches a filter, in memory: what a live stream applies to each entry
//! as it is written. It must agree with the store's SQL exactly (`store/sqlite/sql.rs`); the
//! property test `stream_filter_agrees_with_the_store` holds the two together.

use super::event::Entry;
use super::query::Query;
use crate::text::contains_ci;
use chrono::{DateTime, Utc};

impl Query {
    /// True when `e` is one of the entries this filter selects; relative times resolve against `now`.
    pub fn matches(&self, e: &Entry, now: DateTime<Utc>) -> bool {
        let any = |values: &[String], test: &dyn Fn(&str) -> bool| {
            values.is_empty() || values.iter().any(|v| test(v))
        };
        let target_id = e.target.as_ref().map(|t| t.id.as_str());
        let target_type = e.target.as_ref().map(|t| t.kind.as_str());
        let action_ok = any(&self.actions, &|a| match a.strip_suffix('*') {
            Some(prefix) => e.action.starts_with(prefix),
            None => e.action == a,
        });
        // Emails compare as the column's NOCASE collation does: ASCII letters only.
        let actor_ok = any(&self.actors, &|a| {
            e.actor.id.as_deref() == Some(a)
                || (a.contains('@')
                    && e.actor
                        .email
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(a)))
        });
        let target_ok = any(&self.targets, &|t| {
            target_id == Some(t)
                || t.split_once('/')
                    .is_some_and(|(kind, id)| target_id == Some(id) && target_type == Some(kind))
        });
        let target_type_ok = any(&self.target_types, &|t| target_type == Some(t));
        let channel_ok = any(&self.channels, &|c| e.channel == c);
        let kind_ok = self.kinds.is_empty() || self.kinds.contains(&e.kind);
        let outcome_ok = self.outcomes.is_empty() || self.outcomes.contains(&e.outcome);
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
                target_id,
            ]
            .into_iter()
            .flatten()
            .any(|hay| contains_ci(hay, &needle))
        });
        action_ok
            && actor_ok
            && target_ok
            && target_type_ok
            && channel_ok
            && kind_ok
            && outcome_ok
            && time_ok
            && text_ok
    }
}
