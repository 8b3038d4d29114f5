//! Settings changes (`admin`, `rules`): the ones anyone with the role makes in a session, and
//! the month's planned ones — role changes, credential rotations, an API key, SCIM updates —
//! kept in time order so each change's `before` is the previous one's `after`.

use super::people::{
    ALERTS, INTEGRATIONS, Integration, LONDON, OFFICES, OSLO, PEOPLE, Person, SCIM, TORONTO,
};
use super::rng::Rng;
use super::sessions::Ctx;
use super::{DAY, Gen, HOUR, MINUTE, ev};
use crate::model::{Actor, Kind, format_ts, from_millis};
use serde_json::{Map, Value, json};

/// `rule.updated`: a threshold, priority, pause or schedule change, with before and after.
pub fn rule_updated(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let k = r.pick(&ALERTS);
    let (before, after, what) = match r.below(4) {
        0 if !k.priority.is_empty() => {
            let to = *r.pick(&["P1 - Critical", "P2 - High", "P3 - Normal", "P4 - Low"]);
            (
                json!({"priority": k.priority}),
                json!({"priority": to}),
                format!("priority {} → {to}", k.priority),
            )
        }
        0 | 1 => {
            let to = bump(r, k.condition);
            (
                json!({"condition": k.condition}),
                json!({"condition": to}),
                format!("condition `{}` → `{to}`", k.condition),
            )
        }
        2 => {
            let pause = r.chance(0.5);
            (
                json!({"enabled": pause}),
                json!({"enabled": !pause}),
                if pause { "paused" } else { "resumed" }.to_string(),
            )
        }
        _ => {
            let hours = r.chance(0.5);
            (
                json!({"business_hours_only": !hours}),
                json!({"business_hours_only": hours}),
                format!("business hours only: {hours}"),
            )
        }
    };
    let e = ev("rules", "rule.updated")
        .by(c.actor.clone())
        .on("rule", k.rule_id, k.rule_name)
        .says(format!("{} updated rule “{}”: {what}", c.person.name, k.rule_name))
        .details(json!({"before": before, "after": after, "version": r.range(3, 40), "session_id": c.session}));
    g.emit(at, e);
}

/// The condition with its number moved a little (`disk.free_pct < 10` → `disk.free_pct < 8`).
fn bump(r: &mut Rng, condition: &str) -> String {
    let Some(start) = condition.find(|ch: char| ch.is_ascii_digit()) else {
        return format!("{condition} and device.tags contains 'managed'");
    };
    let len = condition[start..]
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(condition.len() - start);
    let n: i64 = condition[start..start + len].parse().unwrap_or(10);
    let step = (n / 5).max(1);
    let to = if r.chance(0.5) || n <= step {
        n + step
    } else {
        n - step
    };
    format!("{}{to}{}", &condition[..start], &condition[start + len..])
}

/// `customer_matching.updated`: a device-prefix or email-domain rule added, changed or removed.
pub fn customer_matching(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let cust = &g.customers[r.index(g.customers.len())];
    let domain = format!(
        "{}.example",
        cust.name
            .split_whitespace()
            .next()
            .unwrap_or("x")
            .to_lowercase()
            .replace(['\'', '&'], "")
    );
    let by_prefix = json!({"match": "device_prefix", "value": format!("{}-", cust.prefix), "customer_id": cust.id});
    let by_domain = json!({"match": "email_domain", "value": domain, "customer_id": cust.id});
    let (before, after, what) = match r.below(3) {
        0 => (
            Value::Null,
            by_prefix,
            format!(
                "added a rule: devices named {}-* belong to {}",
                cust.prefix, cust.name
            ),
        ),
        1 => {
            let mut changed = by_domain.clone();
            changed["value"] = json!(format!("mail.{domain}"));
            (
                by_domain,
                changed,
                format!("changed the email domain rule for {}", cust.name),
            )
        }
        _ => (
            by_domain,
            Value::Null,
            format!("removed the email domain rule for {}", cust.name),
        ),
    };
    let e = ev("admin", "customer_matching.updated")
        .by(c.actor.clone())
        .on("settings", "customer_matching", "Customer matching rules")
        .says(format!("{} {what}", c.person.name))
        .details(json!({"before": before, "after": after, "session_id": c.session}));
    g.emit(at, e);
}

/// `branding.updated`: the customer portal's look.
pub fn branding(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let colours = ["#0B5FFF", "#1F6FEB", "#0E7C66", "#6E40C9"];
    let (a, b) = (r.index(4), 1 + r.index(3));
    let before = json!({"primary_color": colours[a], "portal_title": "Northwind Service Portal", "logo_url": "https://cdn.northwind.example.com/brand/logo-2025.svg"});
    let mut after = before.clone();
    after["primary_color"] = json!(colours[(a + b) % 4]);
    if r.chance(0.5) {
        after["logo_url"] = json!("https://cdn.northwind.example.com/brand/logo-2026.svg");
    }
    let e = ev("admin", "branding.updated")
        .by(c.actor.clone())
        .on("settings", "branding", "Portal branding")
        .says(format!("{} updated the portal branding", c.person.name))
        .details(json!({"before": before, "after": after, "session_id": c.session}));
    g.emit(at, e);
}

/// `session.invalidated` by an admin for someone else.
pub fn invalidate_sessions(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let colleagues: Vec<&Person> = PEOPLE
        .iter()
        .filter(|p| {
            OFFICES[p.office].domain == OFFICES[c.person.office].domain && p.id != c.person.id
        })
        .collect();
    let who = *r.pick(&colleagues);
    let reason = *r.pick(&[
        "lost laptop reported",
        "shared workstation left signed in",
        "browser profile reset",
        "phone replaced",
    ]);
    let n = r.range(1, 3);
    let e = ev("auth", "session.invalidated")
        .by(c.actor.clone())
        .on("user", who.id, who.name)
        .says(format!(
            "{} signed out all {n} sessions of {} ({reason})",
            c.person.name, who.name
        ))
        .details(json!({"sessions": n, "reason": reason, "session_id": c.session}));
    g.emit(at, e);
}

/// `user.invited`: a new starter or a contractor.
pub fn invite(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let (name, mailbox) = *r.pick(&[
        ("Tom Ashworth", "tom.ashworth"),
        ("Leah Morgan", "leah.morgan"),
        ("Kwame Mensah", "kwame.mensah"),
        ("Nina Petrova", "nina.petrova"),
    ]);
    let email = format!("{mailbox}@{}", OFFICES[c.person.office].domain);
    let e = ev("admin", "user.invited")
        .by(c.actor.clone())
        .on("invitation", format!("inv_{}", r.hex(10)), email.clone())
        .says(format!("{} invited {name} <{email}> as technician", c.person.name))
        .details(json!({"email": email, "name": name, "role": "technician", "expires_in_days": 7, "session_id": c.session}));
    g.emit(at, e);
}

/// A person acting from their office desk, for the planned changes.
fn at_desk(p: &Person) -> Actor {
    p.actor(
        OFFICES[p.office].egress_ips[0],
        super::people::BROWSERS[p.browser],
    )
}

fn person(id: &str) -> &'static Person {
    PEOPLE
        .iter()
        .find(|p| p.id == id)
        .expect("a person of the demo")
}

/// When people who started without MFA enrolled, besides the incident's victim.
pub fn mfa_enrolments(g: &Gen) -> Vec<(&'static str, i64)> {
    vec![("u_15", g.workday(9, LONDON) + 9 * HOUR + 20 * MINUTE)]
}

/// An integration's credentials as its settings page shows them: secrets masked to four characters.
pub fn credentials(g: &Gen, integ: &Integration, version: u64, site: Option<&str>) -> Value {
    let mut r =
        g.rng(1_000 + version * 31 + integ.id.len() as u64 * 7 + integ.id.as_bytes()[0] as u64);
    let mut m = Map::new();
    for (k, v) in integ.settings {
        m.insert(k.to_string(), json!(v));
    }
    if let Some(s) = site {
        m.insert(integ.settings[0].0.to_string(), json!(s));
    }
    for s in integ.secrets {
        let mask = if s.contains("private") || s.contains("secret") {
            "********".to_string()
        } else {
            format!("****{}", r.hex(4))
        };
        m.insert(s.to_string(), json!(mask));
    }
    // Masked secrets look alike; a fingerprint shows whether a secret really changed.
    m.insert(
        "secret_fingerprint".into(),
        json!(format!("sha256:{}", r.hex(12))),
    );
    Value::Object(m)
}

/// `integration_credentials_updated` with before and after.
pub fn credentials_updated(
    g: &mut Gen,
    actor: Actor,
    name: &str,
    integ: &Integration,
    before: Value,
    after: Value,
    at: i64,
) {
    let mut changed: Vec<String> = Vec::new();
    if let Some(fields) = after.as_object() {
        for (k, v) in fields {
            if before.get(k) != Some(v) {
                changed.push(k.clone());
            }
        }
    }
    let details = json!({"before": before, "after": after, "changed": changed});
    let e = ev("admin", "integration_credentials_updated")
        .by(actor)
        .on("integration", integ.id, integ.name)
        .says(format!("{name} updated the {} credentials", integ.name))
        .details(details);
    g.emit(at, e);
}

/// Every planned change of the month, in time order.
pub fn changes(g: &mut Gen) {
    let mut r = g.rng(3);
    role_changes(g, &mut r);
    rotations(g, &mut r);
    for (who, at) in mfa_enrolments(g) {
        let p = person(who);
        let e = ev("auth", "mfa.enrolled")
            .by(at_desk(p))
            .on("user", p.id, p.name)
            .says(format!("{} enrolled an MFA factor: Microsoft Authenticator", p.name))
            .details(json!({"factor": "totp", "authenticator": "Microsoft Authenticator", "prompted_by": "MFA enforcement reminder"}));
        g.emit(at, e);
    }
    grants(g, &mut r);
    scim_updates(g, &mut r);
}

/// Roles raised and lowered again: cover for a colleague, a dispatcher for a week.
fn role_changes(g: &mut Gen, r: &mut Rng) {
    let role_changes: [(i64, usize, i64, &str, &str, &str, &str); 6] = [
        (26, TORONTO, 10, "u_30", "u_40", "technician", "dispatcher"),
        (19, TORONTO, 9, "u_30", "u_40", "dispatcher", "technician"),
        (15, LONDON, 9, "u_1", "u_3", "service_manager", "admin"),
        (
            11,
            OSLO,
            13,
            "u_31",
            "u_36",
            "client_technician",
            "client_admin",
        ),
        (8, LONDON, 16, "u_1", "u_3", "admin", "service_manager"),
        (
            4,
            OSLO,
            10,
            "u_31",
            "u_36",
            "client_admin",
            "client_technician",
        ),
    ];
    for (days, office, hour, by, whom, from, to) in role_changes {
        let at = g.workday(days, office) + hour * HOUR + r.below_i64(HOUR);
        let (by, whom) = (person(by), person(whom));
        let e = ev("admin", "role.updated")
            .by(at_desk(by))
            .on("user", whom.id, whom.name)
            .says(format!(
                "{} changed the role of {} from {from} to {to}",
                by.name, whom.name
            ))
            .details(json!({"before": {"role": from}, "after": {"role": to}}));
        g.emit(at, e);
    }
}

/// Integration credentials rotated on schedule.
fn rotations(g: &mut Gen, r: &mut Rng) {
    let rotations: [(i64, usize, i64, &str, &str); 4] = [
        (24, LONDON, 10, "u_17", "ninjaone"),
        (17, TORONTO, 11, "u_30", "m365"),
        (9, LONDON, 15, "u_17", "connectwise"),
        (5, TORONTO, 14, "u_30", "slack"),
    ];
    for (days, office, hour, by, id) in rotations {
        let at = g.workday(days, office) + hour * HOUR + r.below_i64(HOUR);
        let integ = INTEGRATIONS
            .iter()
            .find(|i| i.id == id)
            .expect("a demo integration");
        let (before, after) = (
            credentials(g, integ, 0, None),
            credentials(g, integ, 1, None),
        );
        let by = person(by);
        credentials_updated(g, at_desk(by), by.name, integ, before, after, at);
    }
}

/// An API key for a customer's reporting script, and vendor support let in for a case.
fn grants(g: &mut Gen, r: &mut Rng) {
    let ingrid = person("u_31");
    let at = g.workday(20, OSLO) + 11 * HOUR + r.below_i64(HOUR);
    let e = ev("admin", "api_key.created")
        .by(at_desk(ingrid))
        .on("api_key", "key_7f3a91c2", "Halvorsen reporting script")
        .says("Ingrid Halvorsen created the API key “Halvorsen reporting script” (tickets:read, reports:read)")
        .details(json!({"scopes": ["tickets:read", "reports:read"], "expires_at": format_ts(&from_millis(at + 365 * DAY)), "key_prefix": "rd_live_7f3a"}));
    g.emit(at, e);
    let alice = person("u_17");
    let at = g.workday(22, LONDON) + 14 * HOUR + r.below_i64(HOUR);
    let e = ev("admin", "support_access.granted")
        .by(at_desk(alice))
        .on("organization", "northwind", "Northwind Managed Services")
        .says("Alice Smith granted Relaydesk Support access for 72 hours (case RD-20533)")
        .details(json!({"grantee": "Relaydesk Support", "case": "RD-20533", "hours": 72, "scope": "read settings and rules"}));
    g.emit(at, e);
}

/// Job titles provisioned from Entra ID (SCIM).
fn scim_updates(g: &mut Gen, r: &mut Rng) {
    for (i, who) in (0i64..).zip(["u_32", "u_33", "u_34", "u_35", "u_36", "u_32"].iter()) {
        let p = person(who);
        let at = g.workday(27 - 4 * i, OSLO) + 6 * HOUR + r.below_i64(HOUR);
        let title = *r.pick(&[
            "IT Support Specialist",
            "Senior IT Technician",
            "Systems Administrator",
            "IT Coordinator",
        ]);
        let e = ev("admin", "user.updated")
            .by(SCIM.actor())
            .on("user", p.id, p.name)
            .says(format!("Entra ID provisioning updated {}: job title", p.name))
            .details(json!({"before": {"title": "IT Technician"}, "after": {"title": title}, "source": "scim"}))
            .kind(Kind::Updated);
        g.emit(at, e);
    }
}
