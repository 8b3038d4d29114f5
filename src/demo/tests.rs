use super::*;
use crate::model::{ActorType, validate_event};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// A Sunday evening, so the window ends on a weekend like it often will.
fn now() -> DateTime<Utc> {
    crate::model::parse_ts("2026-11-22T21:12:41.503Z").unwrap()
}

fn sample() -> &'static [NewEvent] {
    static TRAIL: OnceLock<Vec<NewEvent>> = OnceLock::new();
    TRAIL.get_or_init(|| trail(now(), 42))
}

fn at(e: &NewEvent) -> DateTime<Utc> {
    e.occurred_at.expect("every demo event carries its time")
}

fn ip(e: &NewEvent) -> Option<&str> {
    e.actor.as_ref().and_then(|a| a.ip.as_deref())
}

#[test]
fn same_seed_same_trail_other_seed_other_trail() {
    let again = trail(now(), 42);
    assert!(
        again == sample(),
        "the same (now, seed) must give the same trail"
    );
    let other = trail(now(), 43);
    assert!(other != sample(), "another seed must give another trail");
}

#[test]
fn fifty_thousand_sorted_events_in_the_thirty_days_before_now() {
    let t = sample();
    assert!(t.len() >= 50_000, "only {} events", t.len());
    assert!(
        t.len() <= 70_000,
        "{} events: the demo should stay quick to load",
        t.len()
    );
    assert!(
        t.windows(2).all(|w| at(&w[0]) <= at(&w[1])),
        "not sorted by occurred_at"
    );
    let from = now() - chrono::Duration::days(DAYS);
    assert!(at(&t[0]) >= from && at(t.last().unwrap()) <= now());
    // It really spans the month, not one corner of it.
    assert!(at(&t[0]) < from + chrono::Duration::hours(2));
    assert!(at(t.last().unwrap()) > now() - chrono::Duration::hours(2));
}

#[test]
fn every_channel_of_the_contract_is_there() {
    let channels: BTreeSet<&str> = sample()
        .iter()
        .filter_map(|e| e.channel.as_deref())
        .collect();
    for c in [
        "auth",
        "admin",
        "rules",
        "writeback",
        "feedback",
        "security",
        "compliance",
        "pii-read",
        "audit",
        "system",
    ] {
        assert!(channels.contains(c), "no `{c}` events");
    }
    let actions: BTreeSet<&str> = sample().iter().map(|e| e.action.as_str()).collect();
    for a in [
        "user.login",
        "user.login_failed",
        "mfa.enrolled",
        "session.invalidated",
        "password_reset.completed",
        "role.updated",
        "integration_credentials_updated",
        "branding.updated",
        "customer_matching.updated",
        "rule.updated",
        "rule_fired",
        "ticket.created",
        "ticket_status.updated",
        "alert.acknowledged",
        "time_entry.created",
        "feedback.submitted",
        "pii.read",
        "rate_limit.exceeded",
        "account.locked",
        "audit_log.exported",
        "retention.pruned",
        "scheduled_job.completed",
    ] {
        assert!(actions.contains(a), "no `{a}` events");
    }
}

#[test]
fn every_event_passes_the_servers_validation_unchanged() {
    for (i, e) in sample().iter().enumerate() {
        let value = serde_json::to_value(e).unwrap();
        match validate_event(value, now()) {
            Ok(back) => assert!(back == *e, "event {i} changes when validated: {e:?}"),
            Err(err) => panic!(
                "event {i} ({}) fails validation: {} {}",
                e.action, err.field, err.message
            ),
        }
    }
}

#[test]
fn people_services_and_the_system_act() {
    let t = sample();
    let users: BTreeSet<&str> = t
        .iter()
        .filter_map(|e| e.actor.as_ref())
        .filter(|a| a.kind == ActorType::User)
        .filter_map(|a| a.id.as_deref())
        .collect();
    assert!(users.len() >= 40, "{} named users", users.len());
    let kinds: BTreeSet<&str> = t
        .iter()
        .filter_map(|e| e.actor.as_ref())
        .map(|a| a.kind.as_str())
        .collect();
    assert_eq!(kinds.len(), 3, "user, service and system actors: {kinds:?}");
}

#[test]
fn people_work_weekdays_and_sleep_at_night() {
    let mut by_hour = [0usize; 24];
    let (mut weekday, mut weekend) = (0usize, 0usize);
    for e in sample() {
        let Some(a) = &e.actor else { continue };
        let email = a.email.as_deref().unwrap_or("");
        // London staff only: one office, one clock (UTC in November).
        if a.kind != ActorType::User || !email.ends_with("@northwind.example.com") {
            continue;
        }
        let t = at(e);
        if ![
            "alice.smith",
            "harry.patel",
            "isla.murray",
            "priya.raman",
            "jack.thompson",
        ]
        .iter()
        .any(|m| email.starts_with(m))
        {
            continue;
        }
        by_hour[chrono::Timelike::hour(&t) as usize] += 1;
        match chrono::Datelike::weekday(&t) {
            chrono::Weekday::Sat | chrono::Weekday::Sun => weekend += 1,
            _ => weekday += 1,
        }
    }
    let night: usize = by_hour[0..6].iter().sum();
    let day: usize = by_hour[9..17].iter().sum();
    assert!(
        day > 20 * night.max(1),
        "day {day} vs night {night}: {by_hour:?}"
    );
    // Per day, a weekday is far busier than a weekend day (about 22 weekdays to 8 weekend days).
    assert!(
        weekday > 10 * weekend,
        "weekday {weekday} vs weekend {weekend}"
    );
}

#[test]
fn writebacks_fail_sometimes_with_client_and_server_errors() {
    let mut statuses: BTreeMap<u64, usize> = BTreeMap::new();
    for e in sample().iter().filter(|e| {
        e.channel.as_deref() == Some("writeback") && e.outcome == Some(Outcome::Failure)
    }) {
        let status = e
            .details
            .as_ref()
            .and_then(|d| d.to_value()["response"]["status"].as_u64())
            .expect("a failed write-back says what the PSA answered");
        *statuses.entry(status).or_default() += 1;
    }
    assert!(
        statuses.keys().any(|s| (400..500).contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.keys().any(|s| *s >= 500), "{statuses:?}");
    let fails = sample()
        .iter()
        .filter(|e| e.action == "rule_fired" && e.outcome == Some(Outcome::Failure))
        .count();
    assert!(fails > 0, "no rule ever failed");
}

#[test]
fn some_text_is_hostile_to_terminals() {
    let texts = || sample().iter().filter_map(|e| e.description.as_deref());
    assert!(texts().any(|d| d.contains("\u{1b}[")), "no ANSI escape");
    assert!(texts().any(|d| d.contains('\u{202e}')), "no bidi override");
    assert!(texts().any(|d| d.contains("\r\n")), "no line break");
    assert!(
        sample()
            .iter()
            .filter_map(|e| e.target.as_ref()?.name.as_deref())
            .any(|n| n.contains("\u{1b}]52;")),
        "no OSC 52 in a target"
    );
}

/// The incident as an investigator would confirm it, for a `now` at either end of a day.
#[test]
fn the_incident_is_there_to_find() {
    for now in [
        now(),
        crate::model::parse_ts("2026-11-21T00:03:00Z").unwrap(),
    ] {
        let owned;
        let t: &[NewEvent] = if now == self::now() {
            sample()
        } else {
            owned = trail(now, 7);
            &owned
        };
        let start = incident_start(now);
        assert!(
            start < now - chrono::Duration::hours(44) && start > now - chrono::Duration::hours(72),
            "{start}"
        );
        let from_ip: Vec<&NewEvent> = t.iter().filter(|e| ip(e) == Some(INCIDENT_IP)).collect();
        let last = the_burst(&from_ip, start);
        the_break_in(&from_ip, last);
        // Nobody else ever uses that address, so it is a clean pivot.
        assert!(
            from_ip
                .iter()
                .all(|e| at(e) >= start && at(e) - start < chrono::Duration::hours(1))
        );
        the_burst_stands_out(t);
    }
}

/// Forty to eighty failed sign-ins for the victim from the attacking address, starting at
/// `start`, within ten minutes; the time of the last.
fn the_burst(from_ip: &[&NewEvent], start: DateTime<Utc>) -> DateTime<Utc> {
    let failures: Vec<&NewEvent> = from_ip
        .iter()
        .copied()
        .filter(|e| e.action == "user.login_failed" && e.outcome == Some(Outcome::Failure))
        .collect();
    assert!(
        (40..=80).contains(&failures.len()),
        "{} failed sign-ins",
        failures.len()
    );
    assert!(
        failures
            .iter()
            .all(|e| e.target.as_ref().is_some_and(|t| t.id == INCIDENT_USER_ID))
    );
    assert!(
        failures
            .iter()
            .all(|e| e.actor.as_ref().unwrap().email.as_deref() == Some(INCIDENT_USER_EMAIL))
    );
    let (first, last) = (at(failures[0]), at(failures[failures.len() - 1]));
    assert_eq!(first, start);
    assert!(
        last - first <= chrono::Duration::minutes(10),
        "the burst lasts {}",
        last - first
    );
    last
}

/// A sign-in as the victim succeeds minutes after the `last` failure, and from the same
/// browser a role is raised to admin and an integration's credentials are changed.
fn the_break_in(from_ip: &[&NewEvent], last: DateTime<Utc>) {
    let success = from_ip
        .iter()
        .find(|e| e.action == "user.login" && e.outcome != Some(Outcome::Failure))
        .expect("a sign-in succeeds from the attacking address");
    assert!(at(success) > last && at(success) - last < chrono::Duration::minutes(5));
    assert_eq!(
        success.actor.as_ref().unwrap().id.as_deref(),
        Some(INCIDENT_USER_ID)
    );
    let ua = success.actor.as_ref().unwrap().user_agent.clone();
    let role = from_ip
        .iter()
        .find(|e| e.action == "role.updated")
        .expect("a role change from that address");
    assert_eq!(
        role.details.as_ref().unwrap().to_value()["after"]["role"],
        "admin"
    );
    let creds = from_ip
        .iter()
        .find(|e| e.action == "integration_credentials_updated")
        .expect("a credential change from that address");
    for e in [role, creds] {
        assert!(at(e) > at(success) && at(e) - at(success) < chrono::Duration::minutes(15));
        assert_eq!(
            e.actor.as_ref().unwrap().user_agent,
            ua,
            "the same browser as the break-in"
        );
        assert_eq!(
            e.actor.as_ref().unwrap().id.as_deref(),
            Some(INCIDENT_USER_ID)
        );
    }
}

/// The burst stands out: no other ten minutes of the month has half as many failures.
fn the_burst_stands_out(t: &[NewEvent]) {
    let others = t
        .iter()
        .filter(|e| e.action == "user.login_failed" && ip(e) != Some(INCIDENT_IP));
    let mut per_slot: BTreeMap<i64, usize> = BTreeMap::new();
    for e in others {
        *per_slot.entry(at(e).timestamp() / 600).or_default() += 1;
    }
    assert!(
        per_slot.values().all(|n| *n < 20),
        "{:?}",
        per_slot.values().max()
    );
}

#[test]
fn credential_changes_chain_and_never_show_a_secret() {
    let changes: Vec<&NewEvent> = sample()
        .iter()
        .filter(|e| e.action == "integration_credentials_updated")
        .collect();
    assert!(changes.len() >= 5);
    for e in &changes {
        let d = e.details.as_ref().unwrap().to_value();
        for side in ["before", "after"] {
            for (k, v) in d[side].as_object().unwrap() {
                let v = v.as_str().unwrap();
                let secret = k.contains("key")
                    || k.contains("token")
                    || k == "client_id"
                    || (k.contains("secret") && k != "secret_fingerprint");
                if secret {
                    assert!(v.starts_with("****"), "{k} = {v} is not masked");
                }
            }
        }
    }
    // Each ConnectWise change starts from what the previous one left.
    let cw: Vec<serde_json::Value> = changes
        .iter()
        .filter(|e| e.target.as_ref().unwrap().id == "connectwise")
        .map(|e| e.details.as_ref().unwrap().to_value())
        .collect();
    assert_eq!(cw.len(), 3);
    for w in cw.windows(2) {
        assert_eq!(w[0]["after"], w[1]["before"]);
    }
}

#[test]
fn the_live_feed_continues_the_trail_after_now_with_new_ticket_numbers() {
    let last = last_ticket(sample());
    assert!(last > 48_213, "the trail opened tickets: {last}");
    let feed = live_feed(now(), 43, last + 1);
    assert!(feed.len() > 10_000, "hours of activity: {}", feed.len());
    assert!(
        feed.windows(2).all(|w| at(&w[0]) <= at(&w[1])),
        "in time order"
    );
    assert!(feed.iter().all(|e| at(e) >= now()), "nothing before now");
    let trail_tickets: BTreeSet<&str> = sample()
        .iter()
        .filter_map(|e| e.target.as_ref())
        .filter(|t| t.kind == "ticket")
        .map(|t| t.id.as_str())
        .collect();
    let created: Vec<&NewEvent> = feed
        .iter()
        .filter(|e| e.action == "ticket.created" && e.target.as_ref().unwrap().kind == "ticket")
        .collect();
    assert!(!created.is_empty());
    for e in created {
        let id = &e.target.as_ref().unwrap().id;
        assert!(
            id.parse::<u64>().unwrap() > last,
            "ticket {id} continues after {last}"
        );
        assert!(!trail_tickets.contains(id.as_str()), "ticket {id} is new");
    }
    for e in &feed {
        validate_event(
            serde_json::to_value(e).unwrap(),
            now() + chrono::Duration::days(31),
        )
        .unwrap_or_else(|err| panic!("{}: {err:?}", e.action));
    }
}

/// What the README's walkthrough states, for the demo's seed and a `now` at any time of day:
/// `channel:auth outcome:failure since:7d` counts the burst of 75 and the others' 14, `w` on
/// the burst's last failure shows, in the 16 rows above it at 80×24, the break-in, the backdoor
/// and the first of its reads (newest first, so those rows are the next 16 entries in time),
/// and the attacker's address did 92 things in that window.
#[test]
fn the_readme_walkthrough_holds_at_any_time_of_day() {
    let owned: Vec<(DateTime<Utc>, Vec<NewEvent>)> = [
        "2026-11-21T00:03:00Z",
        "2026-12-02T12:31:17.250Z",
        "2026-12-09T23:58:40Z",
    ]
    .iter()
    .map(|s| {
        let now = crate::model::parse_ts(s).unwrap();
        (now, trail(now, 42))
    })
    .collect();
    let runs = std::iter::once((now(), sample())).chain(owned.iter().map(|(n, t)| (*n, &t[..])));
    for (now, t) in runs {
        let week = now - chrono::Duration::days(7);
        let failed: Vec<&NewEvent> = t
            .iter()
            .filter(|e| {
                e.channel.as_deref() == Some("auth")
                    && e.outcome == Some(Outcome::Failure)
                    && at(e) >= week
            })
            .collect();
        let burst = failed.iter().filter(|e| ip(e) == Some(INCIDENT_IP)).count();
        assert_eq!(burst, 75, "{now}: the burst");
        assert_eq!(
            failed.len() - burst,
            sessions::RECENT_FAILURE_COUNT,
            "{now}: the others' failed sign-ins"
        );
        assert_eq!(sessions::RECENT_FAILURE_COUNT, 14, "the README says 14");
        // The others' failures are far from both ends of the week, so a `since:7d` asked
        // hours later counts the same.
        assert!(
            failed
                .iter()
                .all(|e| at(e) > week + chrono::Duration::hours(12)),
            "{now}"
        );
        let last = failed
            .iter()
            .filter(|e| ip(e) == Some(INCIDENT_IP))
            .map(|e| at(e))
            .max()
            .unwrap();
        let after: Vec<&NewEvent> = t.iter().filter(|e| at(e) > last).take(16).collect();
        let shown = |action: &str, actor: &str| {
            after.iter().any(|e| {
                e.action == action
                    && e.actor.as_ref().and_then(|a| a.name.as_deref()) == Some(actor)
            })
        };
        for (action, actor) in [
            ("user.login", "Grace Whitfield"),
            ("user.invited", "Grace Whitfield"),
            ("role.updated", "Grace Whitfield"),
            ("integration_credentials_updated", "Grace Whitfield"),
            ("user.login", "Helpdesk Backup"),
            ("pii.read", "Helpdesk Backup"),
        ] {
            assert!(
                shown(action, actor),
                "{now}: {action} by {actor} in the 16 rows above the last failure: {:#?}",
                after.iter().map(|e| (&e.action, at(e))).collect::<Vec<_>>()
            );
        }
        assert!(
            at(after[0]) < last + chrono::Duration::seconds(60),
            "the break-in follows the burst"
        );
        // `ip:198.51.100.77` in that window: the burst, the break-in, three changes, the new
        // admin's sign-in and its 12 reads.
        let window = last - chrono::Duration::minutes(15)..=last + chrono::Duration::minutes(15);
        let from_ip = t
            .iter()
            .filter(|e| ip(e) == Some(INCIDENT_IP) && window.contains(&at(e)))
            .count();
        assert_eq!(from_ip, 92, "{now}");
    }
}

/// A night on which the automation crowds the minutes after the burst: the intruder is taken to
/// be faster, so their rows still come before the crowd; a quiet night keeps the usual pace.
#[test]
fn a_busy_night_makes_the_intruder_faster() {
    let mut g = Gen::new(now(), 42);
    let last = incident_start(now()).timestamp_millis() + 9 * MINUTE;
    let quiet = incident::intruder_gaps(&g, last, last + 7_000);
    assert_eq!(quiet, [41_000, 55_000, 40_000, 50_000, 45_000, 10_000]);
    for n in 0..10 {
        g.emit(
            last + 3 * MINUTE + n * 5_000,
            ev("rules", "rule_fired").by(people::RULES_ENGINE.actor()),
        );
    }
    let busy = incident::intruder_gaps(&g, last, last + 7_000);
    assert_eq!(busy, quiet.map(|d| d / 2));
    let first_read = last + 7_000 + busy.iter().sum::<i64>() + busy[5] / 2;
    assert!(first_read < last + 3 * MINUTE, "before the crowd");
}

/// The README's walkthrough picks the histogram's highest bar at 80 columns, six hours cut at
/// 00:00, 06:00, …: on the incident's day from 00:00 to 06:00 the only failed sign-ins are the
/// burst's, whatever the hour the demo starts at.
#[test]
fn the_bursts_six_hours_hold_no_other_failed_sign_in() {
    for hour in [0, 7, 15, 23] {
        let now = crate::model::parse_ts(&format!("2026-12-07T{hour:02}:35:09Z")).unwrap();
        let t = trail(now, 42);
        let day = incident_start(now).timestamp().div_euclid(86_400) * 86_400;
        let failed: Vec<&NewEvent> = t
            .iter()
            .filter(|e| {
                let s = at(e).timestamp();
                e.action == "user.login_failed" && (day..day + 6 * 3600).contains(&s)
            })
            .collect();
        assert!(!failed.is_empty());
        assert!(
            failed.iter().all(|e| ip(e) == Some(INCIDENT_IP)),
            "at {now}: {:?}",
            failed.iter().map(|e| at(e)).collect::<Vec<_>>()
        );
    }
}
