//! A realistic, deterministic audit trail for `trailscope demo`: thirty days of a helpdesk
//! automation SaaS used by an MSP (Northwind Managed Services, offices in London and Toronto),
//! its co-managed client's IT team (Halvorsen Logistics, Oslo) and the vendor's support staff.
//!
//! What is in it: sign-ins and their failures, MFA and password resets (`auth`); role, integration
//! credential, branding and customer-matching changes (`admin`); automation rules firing on RMM
//! alerts and being edited (`rules`); the tickets, status changes, alert acknowledgements and time
//! entries written back to the PSA, including a ConnectWise outage (`writeback`); ratings of the
//! automation (`feedback`); rate limits and lockouts (`security`); policy, access review and data
//! subject requests (`compliance`); who read whose personal data (`pii-read`); exports of the log
//! (`audit`); and scheduled jobs and retention (`system`). Busy on weekday working hours in each
//! office, quiet at night and at weekends. A handful of entries carry attacker-controlled text
//! (ANSI escapes, OSC sequences, bidi overrides, CR/LF): a terminal must draw them inertly.
//!
//! # The incident
//! Find it with `channel:auth outcome:failure` (the spike in the histogram) or by searching for
//! [`INCIDENT_IP`]. At 02:47 UTC on the day two days before `now` ([`incident_start`]; so
//! between about 45 and 69 hours ago), 40–80 sign-ins (75 with the demo's seed) to **Grace
//! Whitfield** (`grace.whitfield@northwind.example.com`, `u_2`, an admin without MFA) fail within
//! ten minutes from `198.51.100.77` with an old Firefox-on-Linux user agent, tripping the login
//! rate limiter. Then, within about four minutes of the last failure, a sign-in succeeds from that
//! address, and from the same session: an invitation of
//! `helpdesk.backup@northwind-support.example.net` (`u_41`, a look-alike domain), that account
//! made **admin** (`role.updated`), the **ConnectWise credentials** pointed at another host
//! (`integration_credentials_updated`), the new admin signing in from the same address, and a run
//! of customer contact reads (`pii.read`). At about 08:50 UTC the same day Alice Smith responds:
//! sessions invalidated, the account deactivated, the credentials rotated, Grace's password reset
//! and MFA enrolled, an incident recorded and evidence exported.
//!
//! # What the README's walkthrough relies on
//! The walkthrough states figures, so they do not move with the date or the time of day: the
//! incident draws from its own seeded stream (the same burst and steps every run); other
//! people's failed sign-ins in the last eight days are a fixed schedule (14 in the last seven,
//! `sessions.rs`); and the intruder's rows up to the first read stay within the 16 rows above the
//! last failure that `w` shows at 80×24, however busy the night's automation is.

mod admin;
mod automation;
mod background;
mod hostile;
mod incident;
mod people;
mod rng;
mod sessions;
#[cfg(test)]
mod tests;
mod work;

use crate::model::{Actor, Kind, NewEvent, Outcome, Target, from_millis};
use chrono::{DateTime, Utc};
use rng::Rng;
use serde_json::Value;

pub use incident::{INCIDENT_IP, INCIDENT_USER_EMAIL, INCIDENT_USER_ID, incident_start};

/// How far back the trail reaches.
pub const DAYS: i64 = 30;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Thirty days of events before `now`, sorted by `occurred_at`; the same `(now, seed)` always
/// gives the same trail.
pub fn trail(now: DateTime<Utc>, seed: u64) -> Vec<NewEvent> {
    let mut g = Gen::new(now, seed);
    // Sessions ask whether someone had MFA yet, so the enrolments are settled first.
    g.mfa_since = admin::mfa_enrolments(&g);
    g.mfa_since.extend(incident::mfa_enrolments(&g));
    // Automation runs first: people's sessions work on the tickets it opened.
    automation::alerts(&mut g);
    sessions::everyone(&mut g);
    admin::changes(&mut g);
    background::system_jobs(&mut g);
    background::security(&mut g);
    background::compliance(&mut g);
    incident::takeover(&mut g);
    hostile::entries(&mut g);
    g.finish()
}

/// What keeps happening after `now`, for the demo's live feed: the automation's alerts, rule
/// dispatches, tickets and write-backs of the next 30 days, in order, with ticket numbers from
/// `first_ticket` on so they continue the trail's. Post them with the time they are posted at.
pub fn live_feed(now: DateTime<Utc>, seed: u64, first_ticket: u64) -> Vec<NewEvent> {
    let mut g = Gen::new(now + chrono::Duration::days(DAYS), seed);
    g.first_ticket = first_ticket;
    automation::alerts(&mut g);
    g.finish()
}

/// The highest ticket number in `trail`, for [`live_feed`] to continue from.
pub fn last_ticket(trail: &[NewEvent]) -> u64 {
    trail
        .iter()
        .filter_map(|e| e.target.as_ref())
        .filter(|t| t.kind == "ticket")
        .filter_map(|t| t.id.parse::<u64>().ok())
        .max()
        .unwrap_or(48_212)
}

/// A ticket the automation opened, for people to work on later.
#[derive(Debug, Clone)]
struct Ticket {
    id: u64,
    at: i64,
    customer: usize,
    summary: String,
}

/// The generator's state: the window, the seed, the events so far and the open tickets.
struct Gen {
    seed: u64,
    now: i64,
    start: i64,
    events: Vec<NewEvent>,
    tickets: Vec<Ticket>,
    customers: Vec<people::Customer>,
    /// When people who started without MFA enrolled (by person id).
    mfa_since: Vec<(&'static str, i64)>,
    /// The number of the first ticket the automation opens.
    first_ticket: u64,
}

impl Gen {
    fn new(now: DateTime<Utc>, seed: u64) -> Gen {
        let now = now.timestamp_millis();
        Gen {
            seed,
            now,
            start: now - DAYS * DAY,
            events: Vec::with_capacity(60_000),
            tickets: Vec::with_capacity(12_000),
            customers: people::customers(),
            mfa_since: Vec::new(),
            first_ticket: 48_213,
        }
    }

    /// A random stream of its own for each part, so tuning one part leaves the others alone.
    fn rng(&self, stream: u64) -> Rng {
        Rng::new(self.seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// Records an event at `at` (ms since the epoch); anything outside the window is dropped,
    /// as a chain that runs past `now` simply has not happened yet.
    fn emit(&mut self, at: i64, e: Ev) {
        if at >= self.start && at <= self.now {
            let mut ev = e.0;
            ev.occurred_at = Some(from_millis(at));
            self.events.push(ev);
        }
    }

    /// UTC midnight of the day `days_ago` days before today, in `office`'s local calendar,
    /// moved back to the Friday before when it falls on a weekend.
    fn workday(&self, days_ago: i64, office: usize) -> i64 {
        let off = people::OFFICES[office].utc_offset_h * HOUR;
        let mut day = (self.now + off).div_euclid(DAY) - days_ago;
        while is_weekend(day) {
            day -= 1;
        }
        day * DAY - off
    }

    /// Whether `person` had MFA at `at`.
    fn has_mfa(&self, person: &people::Person, at: i64) -> bool {
        person.mfa
            || self
                .mfa_since
                .iter()
                .any(|(id, since)| *id == person.id && at >= *since)
    }

    /// A ticket opened not long before `at`, if any.
    fn recent_ticket(&self, r: &mut Rng, at: i64) -> Option<Ticket> {
        let end = self.tickets.partition_point(|t| t.at < at);
        if end == 0 {
            return None;
        }
        let back = (r.index(400)).min(end - 1);
        Some(self.tickets[end - 1 - back].clone())
    }

    fn finish(self) -> Vec<NewEvent> {
        // Sorting small keys and moving each event once beats shuffling the big structs
        // through a merge sort; the index keeps events of the same millisecond in the order
        // they were generated in.
        let mut order: Vec<(Option<DateTime<Utc>>, usize)> = self
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.occurred_at, i))
            .collect();
        order.sort_unstable();
        let mut slots: Vec<Option<NewEvent>> = self.events.into_iter().map(Some).collect();
        order
            .into_iter()
            .filter_map(|(_, i)| slots[i].take())
            .collect()
    }
}

/// Days since the epoch (1970-01-01 was a Thursday) that fall on Saturday or Sunday.
fn is_weekend(day: i64) -> bool {
    (day + 3).rem_euclid(7) >= 5
}

/// How busy people are at a local hour of a working day, relative to mid-morning.
fn work_weight(hour: i64) -> f64 {
    match hour {
        0..=5 => 0.004,
        6 => 0.03,
        7 => 0.25,
        8 => 0.85,
        9..=11 => 1.0,
        12 => 0.6,
        13..=16 => 0.95,
        17 => 0.5,
        18 => 0.15,
        19..=21 => 0.05,
        _ => 0.01,
    }
}

/// `base` with `fields` moved in: a `Value` written inside `json!` is copied through serde,
/// which is most of the generator's time when the nested values are big.
fn with<const N: usize>(mut base: Value, fields: [(&str, Value); N]) -> Value {
    for (k, v) in fields {
        base[k] = v;
    }
    base
}

/// An event under construction.
struct Ev(NewEvent);

/// Starts an event on `channel` with `action`; the kind is left to inference.
fn ev(channel: &str, action: &str) -> Ev {
    Ev(NewEvent {
        action: action.to_string(),
        channel: Some(channel.to_string()),
        ..NewEvent::default()
    })
}

impl Ev {
    fn by(mut self, actor: Actor) -> Ev {
        self.0.actor = Some(actor);
        self
    }
    fn on(mut self, kind: &str, id: impl Into<String>, name: impl Into<String>) -> Ev {
        self.0.target = Some(Target {
            kind: kind.to_string(),
            id: id.into(),
            name: Some(name.into()),
        });
        self
    }
    fn says(mut self, description: impl Into<String>) -> Ev {
        self.0.description = Some(description.into());
        self
    }
    fn details(mut self, details: Value) -> Ev {
        self.0.details = Some(details.into());
        self
    }
    fn failed(mut self) -> Ev {
        self.0.outcome = Some(Outcome::Failure);
        self
    }
    fn outcome(mut self, ok: bool) -> Ev {
        self.0.outcome = Some(if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        });
        self
    }
    fn kind(mut self, kind: Kind) -> Ev {
        self.0.kind = Some(kind);
        self
    }
    fn key(mut self, key: String) -> Ev {
        self.0.idempotency_key = Some(key);
        self
    }
}
