//! What happens without anyone at a keyboard: scheduled jobs and retention (`system`), rate
//! limits and webhook forgeries (`security`), the SIEM's nightly export (`audit`), and the
//! compliance calendar — a policy roll-out, an access review, data subject requests.

use super::people::{LONDON, OFFICES, PEOPLE, REPORTING_SCRIPT, Role, Service};
use super::rng::Rng;
use super::{DAY, Gen, HOUR, MINUTE, ev, is_weekend};
use crate::model::{Actor, Kind, format_ts, from_millis};
use serde_json::json;

const SIEM: Service = Service {
    id: "svc_siem_export",
    name: "Sentinel log export",
    user_agent: "trailscope/0.1 (export)",
    ip: "10.20.9.4",
};

/// Syncs every ten minutes, device inventory hourly, backups, retention and reports daily.
pub fn system_jobs(g: &mut Gen) {
    let mut r = g.rng(4);
    syncs(g, &mut r);
    nightly(g, &mut r);
    let at = g.workday(13, LONDON) + 4 * HOUR + 12 * MINUTE;
    let e = ev("system", "certificate.renewed")
        .by(Actor::system())
        .on(
            "certificate",
            "portal.northwind.example.com",
            "portal.northwind.example.com",
        )
        .says(
            "Renewed the TLS certificate for portal.northwind.example.com (Let's Encrypt, 90 days)",
        )
        .details(json!({"issuer": "Let's Encrypt R11", "valid_days": 90}))
        .kind(Kind::Updated);
    g.emit(at, e);
}

/// The PSA sync every ten minutes (now and then failing), and the device inventory hourly.
fn syncs(g: &mut Gen, r: &mut Rng) {
    let first = g.start - g.start.rem_euclid(10 * MINUTE) + 10 * MINUTE;
    let mut t = first;
    while t <= g.now {
        let at = t + r.range(200, 4_000);
        let failed = r.chance(0.004);
        let (companies, contacts) = (r.range(0, 4), r.range(0, 25));
        let says = if failed {
            "PSA company and contact sync failed: ConnectWise answered 503".to_string()
        } else {
            format!(
                "PSA company and contact sync: {companies} companies and {contacts} contacts updated"
            )
        };
        let e = ev("system", "scheduled_job.completed")
            .by(Actor::system())
            .on("job", "psa_company_sync", "ConnectWise company & contact sync")
            .says(says)
            .details(json!({"schedule": "*/10 * * * *", "duration_ms": r.range(800, 9_000), "companies_updated": companies, "contacts_updated": contacts, "error": if failed { json!("503 Service Unavailable") } else { json!(null) }}))
            .outcome(!failed)
            .kind(Kind::Other);
        g.emit(at, e);
        if t.rem_euclid(HOUR) == 0 {
            let e = ev("system", "scheduled_job.completed")
                .by(Actor::system())
                .on("job", "rmm_device_sync", "NinjaOne device inventory sync")
                .says(format!(
                    "RMM device inventory sync: {} devices seen, {} new",
                    r.range(2_900, 3_100),
                    r.range(0, 3)
                ))
                .details(json!({"schedule": "0 * * * *", "duration_ms": r.range(4_000, 40_000)}))
                .kind(Kind::Other);
            g.emit(at + r.range(1_000, 30_000), e);
        }
        t += 10 * MINUTE;
    }
}

/// Every night: the backup, retention, the SIEM's pull, and on Mondays the SLA report.
fn nightly(g: &mut Gen, r: &mut Rng) {
    let first_day = g.start.div_euclid(DAY);
    for day in first_day..=g.now.div_euclid(DAY) {
        let midnight = day * DAY;
        let at = midnight + 2 * HOUR + r.range(0, 90_000);
        let size = r.range(3_800, 4_200) * 1_000_000;
        // A size for people to read: a tenth of a GB is all the precision wanted.
        #[allow(clippy::cast_precision_loss)]
        let gb = size as f64 / 1e9;
        let e = ev("system", "backup.completed")
            .by(Actor::system())
            .on("backup", format!("bk_{}", format_ts(&from_millis(midnight))[..10].replace('-', "")), "Nightly database backup")
            .says(format!("Nightly backup completed: {gb:.1} GB, encrypted, copied off-site"))
            .details(json!({"size_bytes": size, "duration_s": r.range(140, 400), "destination": "s3://northwind-backups-eu-west-2/relaydesk/", "encryption": "AES-256-GCM"}))
            .kind(Kind::Other);
        g.emit(at, e);
        let at = midnight + 3 * HOUR + r.range(0, 20_000);
        let cutoff = format_ts(&from_millis(midnight - 395 * DAY));
        let rows = r.range(900, 2_400);
        let e = ev("system", "retention.pruned")
            .by(Actor::system())
            .on("audit_log", "default", "Audit log")
            .says(format!(
                "Retention: removed {rows} entries received before {cutoff} (395 days)"
            ))
            .details(json!({"cutoff": cutoff, "rows_removed": rows, "retention_days": 395}))
            .kind(Kind::Deleted);
        g.emit(at, e);
        let at = midnight + HOUR + r.range(0, 60_000);
        let rows = r.range(1_500, 2_600);
        let e = ev("audit", "audit_log.exported")
            .by(SIEM.actor())
            .on("audit_log", "default", "Audit log")
            .says(format!(
                "Sentinel log export pulled {rows} entries (NDJSON)"
            ))
            .details(json!({"format": "ndjson", "filters": {"filter": "since:24h"}, "rows": rows, "name": "Sentinel daily pull"}))
            .kind(Kind::Other);
        g.emit(at, e);
        if (day + 3).rem_euclid(7) == 0 {
            let at = midnight + 6 * HOUR + r.range(0, 120_000);
            let e = ev("system", "report.generated")
                .by(Actor::system())
                .on("report", "weekly_sla", "Weekly SLA report")
                .says("Weekly SLA report generated and emailed to 6 recipients")
                .details(json!({"period_days": 7, "recipients": 6, "tickets": r.range(1_400, 1_900), "sla_met_pct": 90 + r.range(0, 8)}))
                .kind(Kind::Created);
            g.emit(at, e);
        }
    }
}

/// The reporting script tripping the API's rate limit, scanners on the login page, and forged
/// webhooks.
pub fn security(g: &mut Gen) {
    let mut r = g.rng(5);
    let off = OFFICES[REPORTING_SCRIPT_OFFICE].utc_offset_h * HOUR;
    for day in (g.start + off).div_euclid(DAY)..=(g.now + off).div_euclid(DAY) {
        if is_weekend(day) || !r.chance(0.6) {
            continue;
        }
        let mut at = day * DAY - off + 6 * HOUR + r.range(0, 120_000);
        for _ in 0..r.range(1, 4) {
            let observed = r.range(121, 260);
            let e = ev("security", "rate_limit.exceeded")
                .by(REPORTING_SCRIPT.actor())
                .on("route", "GET /api/v1/tickets", "GET /api/v1/tickets")
                .says(format!("Rate limit exceeded by Halvorsen reporting script: {observed} requests in 60 s (limit 120)"))
                .details(json!({"route": "GET /api/v1/tickets", "limit": 120, "window_s": 60, "observed": observed, "response": 429, "retry_after_s": 30}))
                .kind(Kind::Other);
            g.emit(at, e);
            at += r.range(30_000, 90_000);
        }
    }
    for _ in 0..40 {
        let at = g.start + r.below_i64(g.now - g.start);
        let ip = if r.chance(0.7) {
            format!("175.16.199.{}", r.range(2, 250))
        } else {
            format!(
                "2001:db8:bad:{:x}::{:x}",
                r.range(1, 0xfff),
                r.range(1, 0xff)
            )
        };
        let observed = r.range(11, 80);
        let e = ev("security", "rate_limit.exceeded")
            .by(Actor::system())
            .on("ip", ip.clone(), ip.clone())
            .says(format!("Rate limit exceeded on POST /login by {ip}: {observed} requests in 60 s (limit 10)"))
            .details(json!({"route": "POST /login", "limit": 10, "window_s": 60, "observed": observed, "user_agent": "Mozilla/5.0 zgrab/0.x", "response": 429}))
            .kind(Kind::Other);
        g.emit(at, e);
    }
    for _ in 0..12 {
        let at = g.start + r.below_i64(g.now - g.start);
        let ip = format!("175.16.199.{}", r.range(2, 250));
        let e = ev("security", "webhook.signature_invalid")
            .by(Actor::system())
            .on("integration", "ninjaone", "NinjaOne RMM")
            .says(format!(
                "Rejected a NinjaOne webhook from {ip}: the signature did not match"
            ))
            .details(json!({"route": "POST /hooks/n1/northwind", "source_ip": ip, "response": 401}))
            .kind(Kind::Other)
            .failed();
        g.emit(at, e);
    }
}

const REPORTING_SCRIPT_OFFICE: usize = super::people::OSLO;

/// The month's compliance work: a policy everyone acknowledges, an access review, data subject
/// requests and a legal hold.
pub fn compliance(g: &mut Gen) {
    let mut r = g.rng(6);
    let priya = PEOPLE
        .iter()
        .find(|p| p.role == Role::Compliance)
        .expect("a compliance officer");
    let desk = priya.actor(
        OFFICES[priya.office].egress_ips[0],
        super::people::BROWSERS[priya.browser],
    );
    policy_rollout(g, &mut r, &desk);
    access_review(g, &mut r, &desk);
    access_requests(g, &mut r, &desk);
    let at = g.workday(3, LONDON) + 16 * HOUR;
    let e = ev("compliance", "legal_hold.placed")
        .by(desk)
        .on("customer", g.customers[3].id.clone(), g.customers[3].name)
        .says(format!(
            "Priya Raman placed a legal hold on {}'s records (retention suspended)",
            g.customers[3].name
        ))
        .details(json!({"matter": "LH-2026-007", "scope": "tickets, time entries, audit entries"}))
        .kind(Kind::Other);
    g.emit(at, e);
}

/// A new acceptable use policy, and everyone (but vendor support) acknowledging it within
/// a fortnight.
fn policy_rollout(g: &mut Gen, r: &mut Rng, desk: &Actor) {
    let published = g.workday(20, LONDON) + 10 * HOUR + r.range(0, 30 * MINUTE);
    let e = ev("compliance", "policy.published")
        .by(desk.clone())
        .on("policy", "aup-2026.4", "Acceptable Use Policy 2026.4")
        .says("Priya Raman published Acceptable Use Policy 2026.4 and asked everyone to acknowledge it")
        .details(json!({"version": "2026.4", "previous": "2025.2", "acknowledge_within_days": 14}));
    g.emit(published, e);
    for p in PEOPLE.iter().filter(|p| p.role != Role::VendorSupport) {
        let off = OFFICES[p.office].utc_offset_h * HOUR;
        let mut day = (published + off).div_euclid(DAY) + r.range(0, 9);
        while is_weekend(day) {
            day += 1;
        }
        let at = day * DAY - off + r.range(9, 16) * HOUR + r.below_i64(HOUR);
        let ip = OFFICES[p.office].egress_ips[0];
        let e = ev("compliance", "policy.acknowledged")
            .by(p.actor(ip, super::people::BROWSERS[p.browser]))
            .on("policy", "aup-2026.4", "Acceptable Use Policy 2026.4")
            .says(format!(
                "{} acknowledged Acceptable Use Policy 2026.4",
                p.name
            ))
            .details(json!({"version": "2026.4"}))
            .kind(Kind::Other);
        g.emit(at, e);
    }
}

/// The quarter's access review, started and completed.
fn access_review(g: &mut Gen, r: &mut Rng, desk: &Actor) {
    let started = g.workday(14, LONDON) + 9 * HOUR + r.range(0, HOUR);
    let e = ev("compliance", "access_review.started")
        .by(desk.clone())
        .on("access_review", "ar-2026-q4", "Q4 2026 access review")
        .says("Priya Raman started the Q4 2026 access review (40 accounts, 6 reviewers)")
        .details(json!({"accounts": 40, "reviewers": 6, "due": format_ts(&from_millis(started + 7 * DAY))}))
        .kind(Kind::Other);
    g.emit(started, e);
    let done = g.workday(10, LONDON) + 15 * HOUR + r.range(0, HOUR);
    let e = ev("compliance", "access_review.completed")
        .by(desk.clone())
        .on("access_review", "ar-2026-q4", "Q4 2026 access review")
        .says("Priya Raman completed the Q4 2026 access review: 38 kept, 2 roles reduced")
        .details(json!({"accounts": 40, "kept": 38, "reduced": 2, "revoked": 0}))
        .kind(Kind::Other);
    g.emit(done, e);
}

/// Three data subject access requests from customers' contacts, each answered within days.
fn access_requests(g: &mut Gen, r: &mut Rng, desk: &Actor) {
    for (i, days) in [25i64, 16, 6].into_iter().enumerate() {
        let request = format!("dsar-2026-{:03}", 41 + i);
        let cust = &g.customers[r.index(g.customers.len())];
        let (cust_id, cust_name) = (cust.id.clone(), cust.name);
        let received = g.workday(days, LONDON) + 11 * HOUR + r.range(0, HOUR);
        let e = ev("compliance", "dsar.received")
            .by(desk.clone())
            .on("dsar", request.clone(), format!("Access request from a contact at {}", cust_name))
            .says(format!("Priya Raman logged a data subject access request from a contact at {}", cust_name))
            .details(json!({"type": "access", "customer_id": cust_id, "due": format_ts(&from_millis(received + 30 * DAY))}))
            .kind(Kind::Created);
        g.emit(received, e);
        let e = ev("compliance", "dsar.completed")
            .by(desk.clone())
            .on("dsar", request, format!("Access request from a contact at {}", cust_name))
            .says(format!("Priya Raman sent the data export for the access request from {}", cust_name))
            .details(json!({"records": r.range(12, 140), "delivered_via": "secure link, expires in 7 days"}))
            .kind(Kind::Other);
        g.emit(received + r.range(DAY, 4 * DAY), e);
    }
}
