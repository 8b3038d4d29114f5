//! The account takeover an investigator can find (see the module doc of [`super`]) and the
//! response to it the next morning.

use super::admin::{credentials, credentials_updated};
use super::people::{BROWSERS, INTEGRATIONS, OFFICES, PEOPLE, Person};
use super::rng::Rng;
use super::sessions::{Ctx, login, password_reset};
use super::{DAY, Gen, HOUR, MINUTE, ev};
use crate::model::{Actor, ActorType, Kind, format_ts, from_millis};
use chrono::{DateTime, Utc};
use serde_json::json;

/// Where the attack comes from.
pub const INCIDENT_IP: &str = "198.51.100.77";
/// The account taken over (Grace Whitfield, an admin without MFA).
pub const INCIDENT_USER_ID: &str = "u_2";
/// Her address, what the failed sign-ins name.
pub const INCIDENT_USER_EMAIL: &str = "grace.whitfield@northwind.example.com";
/// The attacker's browser: an old Firefox ESR nobody at Northwind uses.
const ATTACKER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0";
/// The incident the response is filed under: `target:incident/INC-2026-014` is everything the
/// responder recorded about it, and the custom evidence pack to make of it.
pub const INCIDENT_ID: &str = "INC-2026-014";
const INCIDENT_NAME: &str = "Account takeover: Grace Whitfield";
/// The admin account the attacker makes for themselves.
const BACKDOOR_ID: &str = "u_41";
const BACKDOOR_NAME: &str = "Helpdesk Backup";
const BACKDOOR_EMAIL: &str = "helpdesk.backup@northwind-support.example.net";

/// When the burst of failed sign-ins begins: 02:47:13 UTC on the day two days before `now`.
pub fn incident_start(now: DateTime<Utc>) -> DateTime<Utc> {
    from_millis(start_ms(now.timestamp_millis()))
}

fn start_ms(now: i64) -> i64 {
    (now - 2 * DAY).div_euclid(DAY) * DAY + 2 * HOUR + 47 * MINUTE + 13_000
}

/// When the responder has Grace enrol MFA.
pub fn mfa_enrolments(g: &Gen) -> Vec<(&'static str, i64)> {
    vec![(INCIDENT_USER_ID, response_start(g) + 40 * MINUTE)]
}

fn response_start(g: &Gen) -> i64 {
    start_ms(g.now).div_euclid(DAY) * DAY + 8 * HOUR + 41 * MINUTE
}

fn grace() -> &'static Person {
    PEOPLE
        .iter()
        .find(|p| p.id == INCIDENT_USER_ID)
        .expect("the incident's victim")
}

/// The burst, the break-in, what the intruder did, and the clean-up.
pub fn takeover(g: &mut Gen) {
    let mut r = g.rng(7);
    let victim = grace();
    let attacker = victim.actor(INCIDENT_IP, ATTACKER_UA);
    let (last, t) = failed_sign_ins(g, &mut r, victim, &attacker);
    let gaps = intruder_gaps(g, last, t);
    let t = break_in(g, &mut r, victim, &attacker, t, &gaps);
    backdoor_reads(g, &mut r, t, gaps[5]);
    respond(g, &mut r, victim);
}

/// Forty to eighty wrong passwords for Grace in nine minutes, the rate limiter tripping on
/// them; the time of the last, and of when the next would have come.
fn failed_sign_ins(g: &mut Gen, r: &mut Rng, victim: &Person, attacker: &Actor) -> (i64, i64) {
    let mut t = start_ms(g.now);
    let failures = 40 + r.below_i64(41);
    let spacing = 9 * MINUTE / failures;
    let mut last = t;
    for n in 1..=failures {
        last = t;
        let e = ev("auth", "user.login_failed")
            .by(attacker.clone())
            .on("user", victim.id, INCIDENT_USER_EMAIL)
            .says(format!(
                "Sign-in failed for {INCIDENT_USER_EMAIL}: wrong password (from {INCIDENT_IP})"
            ))
            .details(json!({"reason": "invalid_password", "method": "password", "attempt": n}))
            .kind(Kind::Other)
            .failed();
        g.emit(t, e);
        if n % 20 == 10 {
            let e = ev("security", "rate_limit.exceeded")
                .by(Actor::system())
                .on("ip", INCIDENT_IP, INCIDENT_IP)
                .says(format!("Rate limit exceeded on POST /login by {INCIDENT_IP}: 12 requests in 60 s (limit 10)"))
                .details(json!({"route": "POST /login", "limit": 10, "window_s": 60, "observed": 12, "user_agent": ATTACKER_UA, "response": 429}))
                .kind(Kind::Other);
            g.emit(t + 150, e);
        }
        t += spacing + r.range(-1_500, 1_500);
    }
    (last, t)
}

/// The password guessed: the intruder signs in as Grace, invites a technician, makes it an
/// admin and redirects the ConnectWise integration; returns when the new admin signs in.
fn break_in(
    g: &mut Gen,
    r: &mut Rng,
    victim: &'static Person,
    attacker: &Actor,
    mut t: i64,
    gaps: &[i64; 6],
) -> i64 {
    t += gaps[0];
    let c = Ctx {
        person: victim,
        actor: attacker.clone(),
        session: format!("sess_{}", r.hex(16)),
    };
    login(g, r, &c, t);
    t += gaps[1];
    let e = ev("admin", "user.invited")
        .by(attacker.clone())
        .on("user", BACKDOOR_ID, BACKDOOR_NAME)
        .says(format!("{} invited {BACKDOOR_NAME} <{BACKDOOR_EMAIL}> as technician", victim.name))
        .details(json!({"email": BACKDOOR_EMAIL, "name": BACKDOOR_NAME, "role": "technician", "expires_in_days": 7, "session_id": c.session}));
    g.emit(t, e);
    t += gaps[2];
    let e = ev("admin", "role.updated")
        .by(attacker.clone())
        .on("user", BACKDOOR_ID, BACKDOOR_NAME)
        .says(format!("{} changed the role of {BACKDOOR_NAME} from technician to admin", victim.name))
        .details(json!({"before": {"role": "technician"}, "after": {"role": "admin"}, "session_id": c.session}));
    g.emit(t, e);
    t += gaps[3];
    let cw = &INTEGRATIONS[0];
    let before = credentials(g, cw, 1, None);
    let after = credentials(g, cw, 2, Some("cw-api-eu.myconnectwise-sync.example.net"));
    credentials_updated(g, attacker.clone(), victim.name, cw, before, after, t);
    t + gaps[4]
}

/// The backdoor admin signs in at `t` and reads customers' contact details, the first read
/// `first_gap` later.
fn backdoor_reads(g: &mut Gen, r: &mut Rng, mut t: i64, first_gap: i64) {
    let backdoor = Actor {
        kind: ActorType::User,
        id: Some(BACKDOOR_ID.into()),
        name: Some(BACKDOOR_NAME.into()),
        email: Some(BACKDOOR_EMAIL.into()),
        ip: Some(INCIDENT_IP.into()),
        user_agent: Some(ATTACKER_UA.into()),
    };
    let e = ev("auth", "user.login")
        .by(backdoor.clone())
        .on("user", BACKDOOR_ID, BACKDOOR_NAME)
        .says(format!("{BACKDOOR_NAME} signed in from {INCIDENT_IP} (password only, no MFA)"))
        .details(json!({"method": "password", "mfa": null, "session_id": format!("sess_{}", r.hex(16)), "first_sign_in": true, "risk": "high"}))
        .kind(Kind::Other);
    g.emit(t, e);
    let mut step = first_gap;
    for _ in 0..r.range(9, 14) {
        t += r.range(step / 2, step * 3 / 2);
        step = 13_000;
        let cust = &g.customers[r.index(g.customers.len())];
        let e = ev("pii-read", "pii.read")
            .by(backdoor.clone())
            .on("customer", cust.id.clone(), cust.name)
            .says(format!("{BACKDOOR_NAME} viewed contact details at {} (name, email, phone, mobile) for contact export", cust.name))
            .details(json!({"record": {"type": "contact_list", "id": format!("cl_{}", cust.id)}, "fields": ["name", "email", "phone", "mobile"], "purpose": "contact export"}));
        g.emit(t, e);
    }
}

/// The intruder's pace after the last failed sign-in (at `last`; `from`, when another would
/// have come):
/// the break-in, the invitation, the role change, the credentials, the new admin's sign-in and
/// the first read. A practised hand, done in about four minutes, so that `w` on the last failure
/// shows all of it at 80×24 (16 rows above it, the README's walkthrough). Should the night's
/// automation happen to crowd those minutes, the intruder is taken to be faster still: the rows
/// above the failure up to the first read stay within the screen every run.
pub(super) fn intruder_gaps(g: &Gen, last: i64, from: i64) -> [i64; 6] {
    // The 03:00 jobs land in these minutes every night: three rows of the budget.
    const NOISE_BUDGET: usize = 8;
    let mut gaps = [41_000, 55_000, 40_000, 50_000, 45_000, 10_000];
    for _ in 0..6 {
        let end = from + gaps.iter().sum::<i64>() + gaps[5] / 2;
        let noise = g
            .events
            .iter()
            .filter_map(|e| e.occurred_at)
            .map(|at| at.timestamp_millis())
            .filter(|at| (last + 1..=end).contains(at))
            .count();
        if noise <= NOISE_BUDGET {
            break;
        }
        gaps = gaps.map(|d| (d / 2).max(2_000));
    }
    gaps
}

/// Alice Smith's response when London opens, Grace's recovery, and the paperwork.
fn respond(g: &mut Gen, r: &mut Rng, victim: &'static Person) {
    let responder = contain(g, r, victim);
    let enrolled = recover(g, r, victim);
    let e = ev("compliance", "incident.updated")
        .by(responder.clone())
        .on("incident", INCIDENT_ID, INCIDENT_NAME)
        .says(format!("Alice Smith recorded the remediation of {INCIDENT_ID}: password reset and MFA enrolled for {}", victim.name))
        .details(json!({"remediation": ["password reset", "MFA enrolled (webauthn)"], "status": "monitoring"}))
        .kind(Kind::Updated);
    g.emit(enrolled + 5 * MINUTE, e);
    paperwork(g, responder, enrolled);
}

/// Alice signs in, ends Grace's sessions, deactivates the backdoor, rotates the credentials
/// and opens the incident; returns her as the actor.
fn contain(g: &mut Gen, r: &mut Rng, victim: &'static Person) -> Actor {
    let alice = PEOPLE
        .iter()
        .find(|p| p.id == "u_17")
        .expect("the responder");
    let london = OFFICES[alice.office].egress_ips[0];
    let responder = alice.actor(london, BROWSERS[alice.browser]);
    let mut t = response_start(g);
    let c = Ctx {
        person: alice,
        actor: responder.clone(),
        session: format!("sess_{}", r.hex(16)),
    };
    login(g, r, &c, t);
    t += 11 * MINUTE;
    let e = ev("auth", "session.invalidated")
        .by(responder.clone())
        .on("user", victim.id, victim.name)
        .says(format!(
            "Alice Smith signed out all 2 sessions of {} (suspected account takeover)",
            victim.name
        ))
        .details(
            json!({"sessions": 2, "reason": "suspected account takeover", "session_id": c.session}),
        );
    g.emit(t, e);
    t += 70_000;
    let e = ev("admin", "user.deactivated")
        .by(responder.clone())
        .on("user", BACKDOOR_ID, BACKDOOR_NAME)
        .says(format!("Alice Smith deactivated {BACKDOOR_NAME} <{BACKDOOR_EMAIL}>"))
        .details(json!({"before": {"status": "active", "role": "admin"}, "after": {"status": "deactivated", "role": null}, "session_id": c.session}))
        .kind(Kind::Updated);
    g.emit(t, e);
    t += 4 * MINUTE;
    let cw = &INTEGRATIONS[0];
    let before = credentials(g, cw, 2, Some("cw-api-eu.myconnectwise-sync.example.net"));
    let after = credentials(g, cw, 3, None);
    credentials_updated(g, responder.clone(), alice.name, cw, before, after, t);
    t += 6 * MINUTE;
    let e = ev("compliance", "incident.reported")
        .by(responder.clone())
        .on("incident", INCIDENT_ID, INCIDENT_NAME)
        .says(format!("Alice Smith opened security incident INC-2026-014: takeover of {}'s account from {INCIDENT_IP}", victim.name))
        .details(json!({"severity": "high", "category": "account_takeover", "first_seen": format_ts(&from_millis(start_ms(g.now))), "notify": ["dpo@northwind.example.com"], "gdpr_assessment_due": format_ts(&from_millis(t + 3 * DAY))}))
        .kind(Kind::Created);
    g.emit(t, e);
    let e = ev("compliance", "incident.updated")
        .by(responder.clone())
        .on("incident", INCIDENT_ID, INCIDENT_NAME)
        .says(format!("Alice Smith recorded the containment of {INCIDENT_ID}: {}'s sessions revoked, {BACKDOOR_NAME} deactivated, ConnectWise credentials rotated; attacker IP {INCIDENT_IP}", victim.name))
        .details(json!({"containment": ["sessions revoked", "backdoor admin deactivated", "ConnectWise credentials rotated"], "attacker_ip": INCIDENT_IP, "backdoor_account": BACKDOOR_ID}))
        .kind(Kind::Updated);
    g.emit(t + 3 * MINUTE, e);
    responder
}

/// Grace, at her desk, resets her password and finally enrols MFA; returns when she enrolled.
fn recover(g: &mut Gen, r: &mut Rng, victim: &'static Person) -> i64 {
    let desk = victim.actor(
        OFFICES[victim.office].egress_ips[0],
        BROWSERS[victim.browser],
    );
    let gc = Ctx {
        person: victim,
        actor: desk.clone(),
        session: format!("sess_{}", r.hex(16)),
    };
    let t = password_reset(g, r, &gc, response_start(g) + 30 * MINUTE);
    let enrolled = mfa_enrolments(g)[0].1.max(t);
    let e = ev("auth", "mfa.enrolled")
        .by(desk)
        .on("user", victim.id, victim.name)
        .says(format!("{} enrolled an MFA factor: YubiKey 5C NFC", victim.name))
        .details(json!({"factor": "webauthn", "authenticator": "YubiKey 5C NFC", "prompted_by": "incident INC-2026-014"}));
    g.emit(enrolled, e);
    login(g, r, &gc, enrolled + 50_000);
    enrolled
}

/// Priya exports Grace's activity and the incident's evidence pack for the DPO; Alice closes
/// the incident.
fn paperwork(g: &mut Gen, responder: Actor, enrolled: i64) {
    let priya = PEOPLE
        .iter()
        .find(|p| p.id == "u_14")
        .expect("the compliance officer");
    let pc = priya.actor(OFFICES[priya.office].egress_ips[0], BROWSERS[priya.browser]);
    let from = format_ts(&from_millis(start_ms(g.now) - HOUR));
    let e = ev("audit", "audit_log.exported")
        .by(pc.clone())
        .on("audit_log", "default", "Audit log")
        .says(format!("Priya Raman exported 212 audit entries as CSV (actor:{INCIDENT_USER_EMAIL} from:{from})"))
        .details(json!({"format": "csv", "filters": {"filter": format!("actor:{INCIDENT_USER_EMAIL} from:{from}")}, "rows": 212, "name": format!("{INCIDENT_ID}: Grace Whitfield's activity")}))
        .kind(Kind::Other);
    g.emit(enrolled + 25 * MINUTE, e);
    let e = ev("audit", "evidence_pack.exported")
        .by(pc)
        .on("evidence_pack", "ep_inc2026014", INCIDENT_ID)
        .says(format!("Priya Raman exported the evidence pack of {INCIDENT_ID} (everything about the incident)"))
        .details(json!({"kind": "custom", "title": format!("{INCIDENT_ID} account takeover"), "filters": [format!("target:incident/{INCIDENT_ID}")],
                        "from": format_ts(&from_millis(response_start(g))), "to": format_ts(&from_millis(enrolled + 5 * MINUTE)), "rows": 3,
                        "name": format!("{INCIDENT_ID} for the DPO")}))
        .kind(Kind::Other);
    g.emit(enrolled + 31 * MINUTE, e);
    let e = ev("compliance", "incident.closed")
        .by(responder)
        .on("incident", INCIDENT_ID, INCIDENT_NAME)
        .says(format!("Alice Smith closed {INCIDENT_ID}: contained and remediated, no data taken found; the DPO has the evidence pack"))
        .details(json!({"resolution": "contained", "data_exfiltration": "none found", "notified": ["dpo@northwind.example.com"]}))
        .kind(Kind::Updated);
    g.emit(enrolled + 40 * MINUTE, e);
}
