//! People's working sessions: signing in (and failing to), MFA, password resets and lockouts
//! (`auth`, `security`), then a run of work (see [`super::work`] and [`super::admin`]) and a
//! sign-out.

use super::people::{BROWSERS, MOBILE_IPS, OFFICES, OSLO, PEOPLE, Person, Role};
use super::rng::Rng;
use super::{DAY, Gen, HOUR, MINUTE, admin, ev, is_weekend, work, work_weight};
use crate::model::{Actor, ActorType, Kind};
use serde_json::json;

/// Who is signed in, from where, and in which session: what every action in a session shares.
pub struct Ctx {
    pub person: &'static Person,
    pub actor: Actor,
    pub session: String,
}

/// Before this many days back, people fail to sign in at random; since then, only as
/// [`RECENT_FAILURES`] says, so `channel:auth outcome:failure since:7d` counts the same every run
/// (the README's walkthrough states the count). A day more than the week, so the failures of
/// random sessions never reach into `since:7d` whatever the time of day.
const RECENT_DAYS: i64 = 8;

/// The sessions of the last days that begin with failed sign-ins: (days back in the person's
/// local calendar, person, local time h:m, failures): in working hours, none near the
/// incident's night, 14 failed sign-ins in all ([`RECENT_FAILURE_COUNT`]).
const RECENT_FAILURES: [(i64, &str, i64, i64, usize); 9] = [
    (1, "u_30", 14, 12, 2),
    (1, "u_9", 9, 3, 1),
    (2, "u_33", 8, 41, 1),
    (2, "u_24", 12, 18, 1),
    (3, "u_5", 7, 56, 2),
    (3, "u_37", 11, 27, 1),
    (4, "u_22", 16, 5, 2),
    (5, "u_15", 10, 34, 3),
    (6, "u_12", 13, 49, 1),
];

/// How many failed sign-ins of people other than the attacker fall in the last seven days.
#[cfg_attr(not(test), allow(dead_code))]
pub(super) const RECENT_FAILURE_COUNT: usize = 14;

/// Every session of every person over the window.
pub fn everyone(g: &mut Gen) {
    let mut r = g.rng(2);
    let recent = g.now - RECENT_DAYS * DAY;
    for (days_ago, id, h, m, fails) in RECENT_FAILURES {
        let person = PEOPLE
            .iter()
            .find(|p| p.id == id)
            .expect("a person of the demo");
        let off = OFFICES[person.office].utc_offset_h * HOUR;
        let day = (g.now + off).div_euclid(DAY) - days_ago;
        let start = day * DAY - off + h * HOUR + m * MINUTE + r.below_i64(MINUTE);
        session(g, &mut r, person, start, is_weekend(day), Some(fails));
    }
    let hour_weights: Vec<f64> = (0..24).map(work_weight).collect();
    for person in PEOPLE.iter() {
        let off = OFFICES[person.office].utc_offset_h * HOUR;
        let first = (g.start + off).div_euclid(DAY);
        let last = (g.now + off).div_euclid(DAY);
        for day in first..=last {
            let weekend = is_weekend(day);
            if !r.chance(presence(person.role, weekend)) {
                continue;
            }
            let sessions = 1 + usize::from(r.chance(0.45)) + usize::from(r.chance(0.15));
            for _ in 0..sessions {
                let hour = i64::try_from(r.weighted(&hour_weights)).unwrap_or(0);
                let start = day * DAY - off + hour * HOUR + r.below_i64(HOUR);
                let fails = (start >= recent).then_some(0);
                session(g, &mut r, person, start, weekend, fails);
            }
        }
    }
}

/// The chance someone works on a given day: technicians take weekend on-call turns.
fn presence(role: Role, weekend: bool) -> f64 {
    match (role, weekend) {
        (Role::Technician | Role::Dispatcher, true) => 0.12,
        (_, true) => 0.04,
        (Role::VendorSupport, false) => 0.3,
        (Role::ClientAdmin | Role::ClientIt, false) => 0.6,
        (Role::Owner | Role::Compliance | Role::Billing, false) => 0.75,
        _ => 0.9,
    }
}

/// A session from `start`; `fails` fixes how many sign-ins fail first (and rules out a
/// lockout), `None` leaves it to chance.
fn session(
    g: &mut Gen,
    r: &mut Rng,
    person: &'static Person,
    start: i64,
    weekend: bool,
    fails: Option<usize>,
) {
    let office = &OFFICES[person.office];
    let (ip, ua) = if (weekend && r.chance(0.5)) || r.chance(0.04) {
        (r.pick(&MOBILE_IPS).to_string(), BROWSERS[6 + r.index(2)])
    } else if !weekend && r.chance(0.8) {
        (
            r.pick(office.egress_ips).to_string(),
            BROWSERS[person.browser],
        )
    } else {
        (person.home_ip(), BROWSERS[person.browser])
    };
    let c = Ctx {
        person,
        actor: person.actor(&ip, ua),
        session: format!("sess_{}", r.hex(16)),
    };
    let mut t = start;
    if fails.is_none() && r.chance(0.004) {
        t = lockout(g, r, &c, t);
    } else {
        let fails = fails.unwrap_or_else(|| if r.chance(0.05) { 1 + r.index(2) } else { 0 });
        for _ in 0..fails {
            login_failed(g, r, &c, t);
            t += r.range(6_000, 40_000);
        }
        if r.chance(0.006) {
            t = password_reset(g, r, &c, t);
        }
    }
    login(g, r, &c, t);
    if r.chance(0.003) {
        t += r.range(20_000, 90_000);
        mfa_enrolled(g, r, &c, t);
    }
    let (lo, hi) = match person.role {
        Role::Technician | Role::ClientIt => (4, 14),
        Role::Dispatcher => (5, 14),
        _ => (2, 8),
    };
    for _ in 0..r.range(lo, hi) {
        // Mostly quick steps, now and then a long stretch of work off-screen.
        let u = r.unit();
        // At most 40 minutes in ms: the cast to whole milliseconds is the rounding wanted.
        #[allow(clippy::cast_possible_truncation)]
        let stretch = (u * u * u * 40.0 * 60_000.0) as i64;
        t += r.range(15_000, 60_000) + stretch;
        act(g, r, &c, t);
    }
    if r.chance(0.55) {
        t += r.range(30_000, 10 * MINUTE);
        let e = ev("auth", "user.logout")
            .by(c.actor.clone())
            .on("user", person.id, person.name)
            .says(format!("{} signed out", person.name))
            .details(json!({"session_id": c.session}))
            .kind(Kind::Other);
        g.emit(t, e);
    }
}

/// One thing done in a session, chosen by what the person's role does all day.
fn act(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    use Action::*;
    let menu: &[(Action, f64)] = match c.person.role {
        Role::Technician | Role::ClientIt => &[
            (Pii, 0.34),
            (Time, 0.24),
            (Status, 0.24),
            (Ack, 0.1),
            (Feedback, 0.08),
        ],
        Role::Dispatcher => &[
            (Pii, 0.3),
            (Status, 0.35),
            (Ack, 0.15),
            (Feedback, 0.08),
            (Time, 0.07),
            (Matching, 0.03),
        ],
        Role::ServiceManager => &[
            (Pii, 0.22),
            (Status, 0.18),
            (Rule, 0.2),
            (Matching, 0.05),
            (Feedback, 0.1),
            (Time, 0.1),
            (Export, 0.04),
            (Ack, 0.1),
        ],
        Role::Owner | Role::Admin => &[
            (Pii, 0.2),
            (Rule, 0.22),
            (Matching, 0.06),
            (Branding, 0.015),
            (Invalidate, 0.04),
            (Status, 0.15),
            (Feedback, 0.05),
            (Export, 0.04),
            (Invite, 0.01),
            (Ack, 0.08),
        ],
        Role::Compliance => &[
            (Pii, 0.35),
            (Export, 0.35),
            (Evidence, 0.08),
            (Feedback, 0.05),
        ],
        Role::Billing => &[(Pii, 0.8), (Feedback, 0.1), (Export, 0.05)],
        Role::ClientAdmin => &[(Pii, 0.35), (Status, 0.25), (Feedback, 0.15), (Ack, 0.1)],
        Role::VendorSupport => &[(Pii, 0.7), (Rule, 0.08), (Feedback, 0.05)],
    };
    let weights: Vec<f64> = menu.iter().map(|(_, w)| *w).collect();
    match menu[r.weighted(&weights)].0 {
        Pii => work::pii_read(g, r, c, at),
        Time => work::time_entry(g, r, c, at),
        Status => work::ticket_status(g, r, c, at),
        Ack => work::acknowledge(g, r, c, at),
        Feedback => work::feedback(g, r, c, at),
        Export => work::audit_export(g, r, c, at),
        Evidence => work::evidence_pack(g, r, c, at),
        Rule => admin::rule_updated(g, r, c, at),
        Matching => admin::customer_matching(g, r, c, at),
        Branding => admin::branding(g, r, c, at),
        Invalidate => admin::invalidate_sessions(g, r, c, at),
        Invite => admin::invite(g, r, c, at),
    }
}

#[derive(Clone, Copy)]
enum Action {
    Pii,
    Time,
    Status,
    Ack,
    Feedback,
    Export,
    Evidence,
    Rule,
    Matching,
    Branding,
    Invalidate,
    Invite,
}

/// How the person signs in: the co-managed client through its own identity provider.
fn method(g: &Gen, p: &Person, at: i64) -> (&'static str, Option<&'static str>) {
    if p.office == OSLO {
        return ("sso:entra_id", Some("idp"));
    }
    if !g.has_mfa(p, at) {
        return ("password", None);
    }
    let n: usize = p.id[2..].parse().unwrap_or(0);
    ("password", Some(["totp", "webauthn", "push"][n % 3]))
}

/// `user.login`.
pub fn login(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let (method, mfa) = method(g, c.person, at);
    let how = match mfa {
        Some("idp") => "single sign-on via Entra ID".to_string(),
        Some(f) => format!("password + {}", f.to_uppercase()),
        None => "password only, no MFA".to_string(),
    };
    let ip = c.actor.ip.as_deref().unwrap_or("");
    let e = ev("auth", "user.login")
        .by(c.actor.clone())
        .on("user", c.person.id, c.person.name)
        .says(format!("{} signed in from {ip} ({how})", c.person.name))
        .details(json!({"method": method, "mfa": mfa, "session_id": c.session, "risk": if r.chance(0.97) { "low" } else { "medium" }}))
        .kind(Kind::Other);
    g.emit(at, e);
}

/// `user.login_failed`, for a reason that fits how the person signs in.
pub fn login_failed(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let p = c.person;
    let (reason, why) = if p.office == OSLO {
        ("sso_assertion_expired", "the SAML assertion had expired")
    } else if g.has_mfa(p, at) && r.chance(0.2) {
        ("mfa_failed", "wrong MFA code")
    } else if r.chance(0.06) {
        ("unknown_user", "no such user")
    } else {
        ("invalid_password", "wrong password")
    };
    let ip = c.actor.ip.clone().unwrap_or_default();
    let (actor, email) = if reason == "unknown_user" {
        // A typo in the address: the server cannot say who it was, only what was typed.
        let typed = format!(
            "{}@{}",
            p.mailbox,
            OFFICES[p.office].domain.trim_end_matches(".com")
        );
        let actor = Actor {
            kind: ActorType::User,
            email: Some(typed.clone()),
            ip: c.actor.ip.clone(),
            user_agent: c.actor.user_agent.clone(),
            ..Actor::default()
        };
        (actor, typed)
    } else {
        (c.actor.clone(), p.email())
    };
    let e = ev("auth", "user.login_failed")
        .by(actor)
        .on(
            "user",
            if reason == "unknown_user" {
                "unknown"
            } else {
                p.id
            },
            email.clone(),
        )
        .says(format!("Sign-in failed for {email}: {why} (from {ip})"))
        .details(json!({"reason": reason, "method": method(g, p, at).0}))
        .kind(Kind::Other)
        .failed();
    g.emit(at, e);
}

/// Five wrong passwords, the account locked, a reset by email, unlocked: the time it ends.
fn lockout(g: &mut Gen, r: &mut Rng, c: &Ctx, mut t: i64) -> i64 {
    let p = c.person;
    for _ in 0..5 {
        let e = ev("auth", "user.login_failed")
            .by(c.actor.clone())
            .on("user", p.id, p.email())
            .says(format!(
                "Sign-in failed for {}: wrong password (from {})",
                p.email(),
                c.actor.ip.as_deref().unwrap_or("")
            ))
            .details(json!({"reason": "invalid_password", "method": "password"}))
            .kind(Kind::Other)
            .failed();
        g.emit(t, e);
        t += r.range(8_000, 30_000);
    }
    let e = ev("security", "account.locked")
        .by(Actor::system())
        .on("user", p.id, p.name)
        .says(format!("Locked {}'s account for 30 minutes after 5 failed sign-ins", p.name))
        .details(json!({"failed_attempts": 5, "window_minutes": 15, "locked_minutes": 30, "last_ip": c.actor.ip}))
        .kind(Kind::Updated);
    g.emit(t, e);
    t += r.range(2 * MINUTE, 6 * MINUTE);
    let t = password_reset(g, r, c, t);
    let e = ev("security", "account.unlocked")
        .by(Actor::system())
        .on("user", p.id, p.name)
        .says(format!(
            "Unlocked {}'s account: the password was reset",
            p.name
        ))
        .details(json!({"reason": "password_reset"}))
        .kind(Kind::Updated);
    g.emit(t + 40, e);
    t + 10_000
}

/// A self-service password reset and the sign-out everywhere it causes: the time it ends.
pub fn password_reset(g: &mut Gen, r: &mut Rng, c: &Ctx, mut t: i64) -> i64 {
    let p = c.person;
    let e = ev("auth", "password_reset.requested")
        .by(c.actor.clone())
        .on("user", p.id, p.name)
        .says(format!("{} asked for a password reset link", p.name))
        .details(json!({"delivery": "email", "to": p.email()}))
        .kind(Kind::Other);
    g.emit(t, e);
    t += r.range(MINUTE, 6 * MINUTE);
    let e = ev("auth", "password_reset.completed")
        .by(c.actor.clone())
        .on("user", p.id, p.name)
        .says(format!("{} reset their password", p.name))
        .details(json!({"via": "email_link", "password_policy": "min 14 chars, breached-password check passed"}))
        .kind(Kind::Updated);
    g.emit(t, e);
    let e = ev("auth", "session.invalidated")
        .by(Actor::system())
        .on("user", p.id, p.name)
        .says(format!(
            "Signed out {} everywhere after a password change",
            p.name
        ))
        .details(json!({"reason": "password_changed", "sessions": r.range(0, 3)}));
    g.emit(t + 25, e);
    t + r.range(20_000, 60_000)
}

/// `mfa.enrolled`: a new phone or security key.
pub fn mfa_enrolled(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let (factor, device) = *r.pick(&[
        ("webauthn", "YubiKey 5C NFC"),
        ("webauthn", "iCloud Keychain passkey"),
        ("totp", "Microsoft Authenticator"),
        ("push", "Relaydesk Mobile (iPhone 17)"),
    ]);
    let e = ev("auth", "mfa.enrolled")
        .by(c.actor.clone())
        .on("user", c.person.id, c.person.name)
        .says(format!(
            "{} enrolled an MFA factor: {device}",
            c.person.name
        ))
        .details(json!({"factor": factor, "authenticator": device, "session_id": c.session}));
    g.emit(at, e);
}
