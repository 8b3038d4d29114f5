//! RMM alerts → automation rules firing (`rules`) → tickets opened, alerts acknowledged and
//! tickets closed in the PSA (`writeback`), with throttling, server errors, retries and one
//! afternoon's ConnectWise outage.
//!
//! Just past 500 lines, kept whole: the alert → rule → ticket chain is one timeline sharing its
//! throttling, retries and outage; split, its steps would no longer read in order.

use super::people::{ALERTS, AlertKind, DEVICE_KINDS, LONDON, MATCHER, RULES_ENGINE, WRITEBACK};
use super::rng::Rng;
use super::{DAY, Gen, HOUR, MINUTE, Ticket, ev, is_weekend, with, work_weight};
use crate::model::Kind;
use serde_json::{Value, json};

/// Alerts over the thirty days; with what follows each, about 35,000 entries.
const ALERTS_PER_MONTH: usize = 15_000;
/// Support emails turned into tickets; two entries each.
const EMAILS_PER_MONTH: usize = 2_200;
/// Where the PSA's REST API lives.
pub const PSA_API: &str = "https://api-eu.myconnectwise.net/v4_6_release/apis/3.0";
/// Waits between write-back attempts, in seconds.
const BACKOFF_S: [i64; 3] = [30, 120, 480];

/// Every alert and support email of the month and what the automation did about them.
pub fn alerts(g: &mut Gen) {
    let mut r = g.rng(1);
    // Alerts come round the clock; people email in office hours.
    let mut arrivals: Vec<(i64, bool)> = arrival_times(g, &mut r, ALERTS_PER_MONTH, 0.25)
        .into_iter()
        .map(|t| (t, true))
        .collect();
    arrivals.extend(
        arrival_times(g, &mut r, EMAILS_PER_MONTH, 0.01)
            .into_iter()
            .map(|t| (t, false)),
    );
    arrivals.sort_unstable();
    let weights: Vec<f64> = ALERTS.iter().map(|a| a.weight).collect();
    // One afternoon the PSA is down: every write-back in it fails and retries.
    let outage_from = g.workday(12, LONDON) + 14 * HOUR + 5 * MINUTE;
    let outage = outage_from..outage_from + 43 * MINUTE;
    let mut next_ticket = g.first_ticket;
    for (n, (at, is_alert)) in arrivals.into_iter().enumerate() {
        // Lower indices are the bigger customers: the minimum of two draws leans towards them.
        let customers = g.customers.len();
        let customer = r.index(customers).min(r.index(customers));
        let (request, at) = if is_alert {
            let kind = &ALERTS[r.weighted(&weights)];
            let alert = Alert::new(&mut r, g, kind, customer, n);
            let fired = at + r.range(150, 900);
            if !rule_fired(g, &mut r, &alert, fired) {
                continue;
            }
            let at = fired + r.range(200, 2500);
            match kind.action {
                "create_ticket" => (alert.ticket_request(), at),
                "acknowledge_alert" => {
                    acknowledge(g, &mut r, &alert, at);
                    continue;
                }
                _ => continue,
            }
        } else {
            (email(g, &mut r, customer, at), at + r.range(400, 3_000))
        };
        let id = next_ticket;
        next_ticket += 1 + r.below(3);
        let Some(done) = create_ticket(g, &mut r, &request, id, at, &outage) else {
            continue;
        };
        g.tickets.push(Ticket {
            id,
            at: done,
            customer,
            summary: request.summary.clone(),
        });
        if is_alert && r.chance(0.42) {
            let closed = done + r.range(8 * MINUTE, 5 * HOUR);
            auto_close(g, &mut r, id, &request, closed);
        }
    }
    g.tickets.sort_by_key(|t| t.at);
}

/// What to open a ticket for: the alert's or the email's particulars.
struct TicketRequest {
    summary: String,
    customer: usize,
    /// What the ticket is about, in a person's words (the device, or the sender).
    about: String,
    board: &'static str,
    priority: &'static str,
    body: String,
    /// The alert or message that caused it: top-level keys of `details` (flat, as nested
    /// objects are what make a trail of this size heavy).
    origin: [(&'static str, String); 3],
}

impl TicketRequest {
    /// `details` with the origin's keys added.
    fn origin(&self, mut details: Value) -> Value {
        for (k, v) in &self.origin {
            details[*k] = Value::String(v.clone());
        }
        details
    }
}

const SUBJECTS: [&str; 10] = [
    "Can't print to the upstairs printer",
    "Outlook keeps asking for my password",
    "New starter on Monday — laptop and accounts please",
    "VPN disconnects every few minutes",
    "Shared drive S: is missing",
    "Teams calls drop when screen sharing",
    "Please reset my MFA, new phone",
    "Invoice PDF won't open",
    "Wi-Fi in the meeting room is slow",
    "Locked out of my account",
];
const FIRST: [&str; 10] = [
    "Karen", "Steve", "Aisha", "Tom", "Jenny", "Raj", "Lucy", "Mark", "Elena", "Dave",
];
const LAST: [&str; 8] = [
    "Wilson", "Clarke", "Hussain", "Green", "Baker", "Morris", "Novak", "Reid",
];

/// A support email: the customer matcher reads the sender's contact record to place it.
fn email(g: &mut Gen, r: &mut Rng, customer: usize, at: i64) -> TicketRequest {
    let c = &g.customers[customer];
    let (id, name, prefix) = (c.id.clone(), c.name, c.prefix);
    let sender = format!("{} {}", r.pick(&FIRST), r.pick(&LAST));
    let subject = *r.pick(&SUBJECTS);
    let message_id = format!("<{}@mail.{}.example>", r.hex(16), prefix.to_lowercase());
    let contact = format!("ct_{}", 3_000 + customer as u64 * 40 + r.below(12));
    let e = ev("pii-read", "pii.read")
        .by(MATCHER.actor())
        .on("customer", id.clone(), name)
        .says(format!("Customer matcher read the contact record of an email sender at {name} (name, email)"))
        .details(json!({"record": {"type": "contact", "id": contact}, "fields": ["name", "email"], "purpose": "match inbound email to a customer", "message_id": message_id}));
    g.emit(at, e);
    TicketRequest {
        summary: subject.to_string(),
        customer,
        about: format!("an email from {sender}"),
        board: "Service Desk",
        priority: "P3 - Normal",
        body: format!("Email from {sender} <{contact}>: {subject}"),
        origin: [
            ("source", "email".into()),
            ("message_id", message_id),
            ("contact_id", contact),
        ],
    }
}

/// `count` arrival times, sorted: busier when the offices are open, never below `floor`.
fn arrival_times(g: &Gen, r: &mut Rng, count: usize, floor: f64) -> Vec<i64> {
    let hours = (g.now - g.start) / HOUR + 1;
    let mut cumulative = Vec::with_capacity(usize::try_from(hours).unwrap_or(0));
    let mut total = 0.0;
    for h in 0..hours {
        let t = g.start + h * HOUR;
        let busy = |offset_h: i64| {
            let local = t + offset_h * HOUR;
            let w = work_weight(local.rem_euclid(DAY) / HOUR);
            if is_weekend(local.div_euclid(DAY)) {
                0.08 * w
            } else {
                w
            }
        };
        total += floor + 0.5 * busy(0) + 0.25 * busy(-5);
        cumulative.push(total);
    }
    let mut times: Vec<i64> = (0..count)
        .map(|_| {
            let x = r.unit() * total;
            let h = i64::try_from(cumulative.partition_point(|c| *c < x)).unwrap_or(0);
            g.start + h * HOUR + r.below_i64(HOUR)
        })
        .collect();
    times.sort_unstable();
    times
}

/// One alert as the RMM reported it.
struct Alert {
    kind: &'static AlertKind,
    customer: usize,
    customer_id: String,
    customer_name: &'static str,
    device: String,
    source: &'static str,
    alert_id: String,
    summary: String,
    seq: usize,
}

impl Alert {
    fn new(r: &mut Rng, g: &Gen, kind: &'static AlertKind, customer: usize, seq: usize) -> Alert {
        let c = &g.customers[customer];
        let role = *r.pick(&DEVICE_KINDS);
        let device = match role {
            "WS" | "LT" => format!("{}-{role}-{:04}", c.prefix, r.range(100, 420)),
            _ => format!("{}-{role}{:02}", c.prefix, r.range(1, 4)),
        };
        let source = if r.chance(0.8) {
            "ninjaone"
        } else {
            "datto_rmm"
        };
        let alert_id = format!(
            "{}-{}-4{}-a{}-{}",
            r.hex(8),
            r.hex(4),
            r.hex(3),
            r.hex(3),
            r.hex(12)
        );
        let summary = format!("{} — {device}", kind.summary);
        Alert {
            kind,
            customer,
            customer_id: c.id.clone(),
            customer_name: c.name,
            device,
            source,
            alert_id,
            summary,
            seq,
        }
    }

    fn ticket_request(&self) -> TicketRequest {
        TicketRequest {
            summary: self.summary.clone(),
            customer: self.customer,
            about: self.device.clone(),
            board: "Managed Alerts",
            priority: self.kind.priority,
            body: format!(
                "{} on {} ({} alert {}). Condition: {}",
                self.kind.summary, self.device, self.source, self.alert_id, self.kind.condition
            ),
            origin: [
                ("source", self.source.into()),
                ("rule_id", self.kind.rule_id.into()),
                ("alert_id", self.alert_id.clone()),
            ],
        }
    }

    fn trigger(&self) -> Value {
        json!({
            "source": self.source,
            "alert_id": self.alert_id,
            "device": self.device,
            "customer_id": self.customer_id,
            "severity": self.kind.severity,
            "condition": self.kind.condition,
            "message": self.kind.summary,
        })
    }
}

/// `rule_fired`; false when the rule could not act (no customer matched, a template broke).
fn rule_fired(g: &mut Gen, r: &mut Rng, a: &Alert, at: i64) -> bool {
    let k = a.kind;
    let payload = match k.action {
        "create_ticket" => {
            json!({"summary": a.summary, "board": "Managed Alerts", "priority": k.priority, "company": g.customers[a.customer].prefix})
        }
        "acknowledge_alert" => {
            json!({"alert_id": a.alert_id, "note": format!("Auto-acknowledged by rule {}", k.rule_id)})
        }
        _ => {
            json!({"integration": "pagerduty", "service": "Northwind on-call", "urgency": "high", "summary": a.summary})
        }
    };
    let error = if r.chance(0.012) {
        Some(if r.chance(0.6) {
            format!(
                "no customer matched device '{}': prefix unknown and no fallback matched",
                a.device
            )
        } else {
            "template error: variable {{site.primary_contact}} is undefined for this customer"
                .to_string()
        })
    } else {
        None
    };
    let ok = error.is_none();
    // Nested values are moved in rather than written inside json!, which would copy them.
    let mut details = json!({
        "action": k.action,
        "outcome": if ok { "dispatched" } else { "failed" },
        "duration_ms": r.range(4, 180),
    });
    details["trigger"] = a.trigger();
    details["payload"] = payload;
    if let Some(e) = &error {
        details["error"] = json!(e);
    }
    let what = if ok { "fired" } else { "failed" };
    let e = ev("rules", "rule_fired")
        .by(RULES_ENGINE.actor())
        .on("rule", k.rule_id, k.rule_name)
        .says(format!(
            "Rule “{}” {what} for {} ({})",
            k.rule_name, a.device, a.customer_name
        ))
        .details(details)
        .outcome(ok)
        .key(format!("rf-{:06}-{}", a.seq, &a.alert_id[..8]));
    g.emit(at, e);
    ok
}

/// The reason phrase and a PSA-style error body for a status.
pub fn http_error(status: u16) -> (&'static str, Value) {
    let (reason, code, message) = match status {
        400 => (
            "Bad Request",
            "InvalidObject",
            "board: Board 'Managed Alerts' not found for company",
        ),
        401 => (
            "Unauthorized",
            "Unauthorized",
            "Invalid credentials: the API member's keys were rejected",
        ),
        403 => (
            "Forbidden",
            "Forbidden",
            "API member lacks 'Service Tickets - Add' permission",
        ),
        404 => ("Not Found", "NotFound", "Ticket not found"),
        409 => (
            "Conflict",
            "Conflict",
            "The record was modified by another user; reload and retry",
        ),
        429 => (
            "Too Many Requests",
            "TooManyRequests",
            "Rate limit exceeded: 60 requests per minute",
        ),
        500 => (
            "Internal Server Error",
            "UnexpectedError",
            "An unexpected error occurred",
        ),
        502 => (
            "Bad Gateway",
            "BadGateway",
            "Upstream returned an invalid response",
        ),
        503 => (
            "Service Unavailable",
            "ServiceUnavailable",
            "The service is temporarily unavailable",
        ),
        _ => (
            "Gateway Timeout",
            "GatewayTimeout",
            "Upstream did not answer within 30 s",
        ),
    };
    (reason, json!({"code": code, "message": message}))
}

/// What the PSA answers this attempt.
fn psa_status(r: &mut Rng, at: i64, outage: &std::ops::Range<i64>) -> u16 {
    if outage.contains(&at) {
        return 503;
    }
    const STATUSES: [u16; 8] = [201, 429, 502, 500, 504, 400, 401, 403];
    const WEIGHTS: [f64; 8] = [0.962, 0.012, 0.006, 0.004, 0.006, 0.006, 0.002, 0.002];
    STATUSES[r.weighted(&WEIGHTS)]
}

/// `ticket.created`, retried on 429 and 5xx; the time the ticket exists, or `None` if it never did.
fn create_ticket(
    g: &mut Gen,
    r: &mut Rng,
    t: &TicketRequest,
    id: u64,
    mut at: i64,
    outage: &std::ops::Range<i64>,
) -> Option<i64> {
    let (prefix, customer) = (g.customers[t.customer].prefix, g.customers[t.customer].name);
    let body = json!({
        "summary": t.summary,
        "board": {"name": t.board},
        "company": {"identifier": prefix},
        "priority": {"name": t.priority},
        "initialDescription": t.body,
    });
    let mut request = json!({"method": "POST", "url": format!("{PSA_API}/service/tickets")});
    request["body"] = body;
    for attempt in 1..=BACKOFF_S.len() + 1 {
        let status = psa_status(r, at, outage);
        let duration = r.range(180, 1400);
        if status == 201 {
            let e = ev("writeback", "ticket.created")
                .by(WRITEBACK.actor())
                .on("ticket", id.to_string(), t.summary.clone())
                .says(format!(
                    "Created ConnectWise ticket #{id} “{}” for {customer}",
                    t.summary
                ))
                .details(with(
                    t.origin(json!({
                        "operation": "create_ticket", "psa": "connectwise", "attempt": attempt,
                        "response": {"status": 201, "duration_ms": duration, "body": {"id": id}},
                    })),
                    [("request", request)],
                ));
            g.emit(at, e);
            return Some(at);
        }
        let (reason, err) = http_error(status);
        let retry = (status == 429 || status >= 500) && attempt <= BACKOFF_S.len();
        let next = if retry {
            format!(", retrying in {} s", BACKOFF_S[attempt - 1])
        } else {
            ", giving up".to_string()
        };
        let e = ev("writeback", "ticket.created")
            .by(WRITEBACK.actor())
            .on("integration", "connectwise", "ConnectWise PSA")
            .says(format!("ConnectWise refused the ticket for {} ({customer}): {status} {reason} (attempt {attempt}{next})", t.about))
            .details(with(
                t.origin(json!({"operation": "create_ticket", "psa": "connectwise", "attempt": attempt, "will_retry": retry})),
                [
                    ("request", request.clone()),
                    ("response", with(json!({"status": status, "duration_ms": if status == 504 { 30_000 } else { duration }}), [("body", err)])),
                ],
            ))
            .failed();
        g.emit(at, e);
        if !retry {
            return None;
        }
        at += BACKOFF_S[attempt - 1] * 1000 + r.range(0, 4000);
    }
    None
}

/// `alert.acknowledged` in the RMM the alert came from.
fn acknowledge(g: &mut Gen, r: &mut Rng, a: &Alert, at: i64) {
    let (url, rmm) = match a.source {
        "ninjaone" => (
            format!("https://eu.ninjarmm.com/v2/alert/{}/reset", a.alert_id),
            "NinjaOne",
        ),
        _ => (
            format!(
                "https://merlot-api.centrastage.net/api/v2/alert/{}/resolve",
                a.alert_id
            ),
            "Datto RMM",
        ),
    };
    let status: u16 = if r.chance(0.985) { 204 } else { 404 };
    let ok = status == 204;
    let response = if ok {
        json!({"status": 204, "duration_ms": r.range(90, 600)})
    } else {
        json!({"status": 404, "duration_ms": r.range(90, 600), "body": {"error": "alert not found or already reset"}})
    };
    let says = if ok {
        format!(
            "Acknowledged {rmm} alert “{}” on {} ({})",
            a.kind.summary, a.device, a.customer_name
        )
    } else {
        format!(
            "{rmm} could not acknowledge the alert on {}: 404 (already reset)",
            a.device
        )
    };
    let e = ev("writeback", "alert.acknowledged")
        .by(WRITEBACK.actor())
        .on("alert", format!("{}:{}", a.source, &a.alert_id[..8]), a.summary.clone())
        .says(says)
        .details(with(json!({
            "operation": "acknowledge_alert", "rmm": a.source, "rule_id": a.kind.rule_id,
            "request": {"method": "POST", "url": url, "body": {"note": format!("Auto-acknowledged by rule {}", a.kind.rule_id)}},
        }), [("response", response)]))
        .kind(Kind::Updated)
        .outcome(ok);
    g.emit(at, e);
}

/// The alert cleared, so the write-back worker closes the ticket it opened.
fn auto_close(g: &mut Gen, r: &mut Rng, id: u64, t: &TicketRequest, at: i64) {
    let e = ev("writeback", "ticket_status.updated")
        .by(WRITEBACK.actor())
        .on("ticket", id.to_string(), t.summary.clone())
        .says(format!("Closed ticket #{id} automatically: the alert on {} cleared", t.about))
        .details(json!({
            "operation": "update_ticket_status", "psa": "connectwise",
            "before": {"status": "New"}, "after": {"status": "Closed (Auto)"},
            "request": {"method": "PATCH", "url": format!("{PSA_API}/service/tickets/{id}"),
                        "body": [{"op": "replace", "path": "status/name", "value": "Closed (Auto)"}]},
            "response": {"status": 200, "duration_ms": r.range(150, 900)},
        }));
    g.emit(at, e);
}
