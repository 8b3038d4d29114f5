//! The entries a store writes about changes to the log itself (a prune, a prune that could not
//! archive, a pseudonymisation): one wording and one shape for every backend, since `verify`
//! and auditors read them alike.

use crate::model::names::{action, channel};
use crate::model::{Actor, Kind, NewEvent, Outcome, PruneReport, PseudonymReport, format_ts};
use chrono::{DateTime, Utc};
use serde_json::json;

/// `retention.pruned`, with the report as its details.
pub fn pruned(report: &PruneReport) -> NewEvent {
    NewEvent {
        action: action::PRUNED.into(),
        kind: Some(Kind::Deleted),
        channel: Some(channel::SYSTEM.into()),
        description: Some(format!(
            "Retention removed {} entries received before {}",
            report.removed,
            format_ts(&report.cutoff)
        )),
        details: Some(serde_json::to_value(report).unwrap_or_default().into()),
        ..NewEvent::default()
    }
}

/// `retention.prune_failed`: nothing was removed because the archive at `archive` could not be
/// written.
pub fn prune_failed(cutoff: DateTime<Utc>, archive: Option<String>, why: &str) -> NewEvent {
    NewEvent {
        action: action::PRUNE_FAILED.into(),
        kind: Some(Kind::Other),
        channel: Some(channel::SYSTEM.into()),
        outcome: Some(Outcome::Failure),
        description: Some(format!(
            "Retention did not prune: the archive could not be written ({why})"
        )),
        details: Some(
            json!({"cutoff": format_ts(&cutoff), "archive_dir": archive, "error": why}).into(),
        ),
        ..NewEvent::default()
    }
}

/// `gdpr.pseudonymised`, by whoever asked; it names the pseudonym, never the person.
pub fn pseudonymised(report: &PseudonymReport, requested_by: &Actor) -> NewEvent {
    let pseudonym = report.pseudonym.as_deref().unwrap_or_default();
    NewEvent {
        action: action::PSEUDONYMISED.into(),
        kind: Some(Kind::Updated),
        channel: Some(channel::COMPLIANCE.into()),
        description: Some(format!(
            "Personal data in {} entries replaced with {pseudonym}",
            report.entries
        )),
        actor: Some(requested_by.clone()),
        details: Some(
            json!({"pseudonym": pseudonym, "entries": report.entries, "fields": ["name", "email", "ip", "user_agent"]})
                .into(),
        ),
        ..NewEvent::default()
    }
}
