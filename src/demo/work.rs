//! The everyday work inside a session: reading customers' personal data (`pii-read`), time
//! entries and status changes written back to the PSA (`writeback`), acknowledging alerts,
//! rating the automation (`feedback`) and exporting the log (`audit`).

use super::automation::{PSA_API, http_error};
use super::people::{OFFICES, Role, WORK_NOTES};
use super::rng::Rng;
use super::sessions::Ctx;
use super::{DAY, Gen, MINUTE, Ticket, ev, with};
use crate::model::{Kind, format_ts, from_millis};
use serde_json::json;

const CONTACT_FIELDS: [&str; 6] = [
    "name",
    "email",
    "phone",
    "mobile",
    "job_title",
    "site_address",
];

/// A recent ticket, or a made-up older one when the automation had opened none yet.
fn ticket(g: &Gen, r: &mut Rng, at: i64) -> Ticket {
    g.recent_ticket(r, at).unwrap_or_else(|| Ticket {
        id: 47_000 + r.below(1_200),
        at: at - DAY,
        customer: r.index(g.customers.len()),
        summary: "Onboarding: new starter laptop setup".to_string(),
    })
}

/// `pii.read`: whose contact details were opened, which fields, and why.
pub fn pii_read(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let (customer, purpose) = match c.person.role {
        Role::VendorSupport => (
            r.index(g.customers.len()),
            format!("vendor support case RD-{}", 20_400 + r.below(900)),
        ),
        Role::Billing => (r.index(g.customers.len()), "invoice query".to_string()),
        Role::Compliance => (
            r.index(g.customers.len()),
            "data subject request check".to_string(),
        ),
        _ => {
            let t = ticket(g, r, at);
            (t.customer, format!("ticket #{}", t.id))
        }
    };
    let mut fields: Vec<&str> = CONTACT_FIELDS
        .iter()
        .copied()
        .filter(|_| r.chance(0.45))
        .collect();
    if fields.is_empty() {
        fields.push("phone");
    }
    let cust = &g.customers[customer];
    let contact = format!("ct_{}", 3_000 + customer as u64 * 40 + r.below(12));
    let e = ev("pii-read", "pii.read")
        .by(c.actor.clone())
        .on("customer", cust.id.clone(), cust.name)
        .says(format!("{} viewed contact details at {} ({}) for {purpose}", c.person.name, cust.name, fields.join(", ")))
        .details(json!({"record": {"type": "contact", "id": contact}, "fields": fields, "purpose": purpose, "session_id": c.session}));
    g.emit(at, e);
}

/// The PSA member identifier: `hpatel` for harry.patel.
fn member(c: &Ctx) -> String {
    let (first, last) = c
        .person
        .mailbox
        .split_once('.')
        .unwrap_or(("x", c.person.mailbox));
    format!("{}{last}", &first[..1])
}

/// `time_entry.created`, written back to the PSA on the technician's behalf.
pub fn time_entry(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let t = ticket(g, r, at);
    let minutes = *r.pick(&[15i64, 15, 30, 30, 45, 60, 90]);
    let notes = *r.pick(&WORK_NOTES);
    let body = json!({
        "chargeToId": t.id, "chargeToType": "ServiceTicket", "member": {"identifier": member(c)},
        "timeStart": format_ts(&from_millis(at - minutes * MINUTE)), "timeEnd": format_ts(&from_millis(at)),
        "notes": notes, "billableOption": "Billable",
    });
    let status: u16 = if r.chance(0.975) {
        201
    } else {
        *r.pick(&[400, 403, 502])
    };
    let ok = status == 201;
    let response = if ok {
        json!({"status": 201, "duration_ms": r.range(150, 800), "body": {"id": 910_000 + r.below(90_000)}})
    } else if status == 400 {
        json!({"status": 400, "duration_ms": r.range(150, 800), "body": {"code": "InvalidObject", "message": "timeStart: overlaps an existing time entry for this member"}})
    } else {
        json!({"status": status, "duration_ms": r.range(150, 800), "body": http_error(status).1})
    };
    let says = if ok {
        format!("{} logged {minutes} min on ticket #{}", c.person.name, t.id)
    } else {
        format!(
            "ConnectWise refused {}'s {minutes} min time entry on ticket #{}: {status} {}",
            c.person.name,
            t.id,
            http_error(status).0
        )
    };
    let e = ev("writeback", "time_entry.created")
        .by(c.actor.clone())
        .on("ticket", t.id.to_string(), t.summary)
        .says(says)
        .details(with(
            json!({"operation": "create_time_entry", "psa": "connectwise"}),
            [
                (
                    "request",
                    with(
                        json!({"method": "POST", "url": format!("{PSA_API}/time/entries")}),
                        [("body", body)],
                    ),
                ),
                ("response", response),
            ],
        ))
        .outcome(ok);
    g.emit(at, e);
}

/// `ticket_status.updated` by a person: triage, work, resolution.
pub fn ticket_status(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let t = ticket(g, r, at);
    let (from, to) = *r.pick(&[
        ("New", "Assigned"),
        ("New", "In Progress"),
        ("Assigned", "In Progress"),
        ("In Progress", "Waiting on Customer"),
        ("Waiting on Customer", "In Progress"),
        ("In Progress", "Resolved"),
        ("In Progress", "Resolved"),
    ]);
    let status: u16 = if r.chance(0.98) {
        200
    } else {
        *r.pick(&[409, 404])
    };
    let ok = status == 200;
    let response = if ok {
        json!({"status": 200, "duration_ms": r.range(120, 700)})
    } else {
        json!({"status": status, "duration_ms": r.range(120, 700), "body": http_error(status).1})
    };
    let says = if ok {
        format!(
            "{} moved ticket #{} from {from} to {to}",
            c.person.name, t.id
        )
    } else {
        format!(
            "{} could not move ticket #{} to {to}: {status} {}",
            c.person.name,
            t.id,
            http_error(status).0
        )
    };
    let e = ev("writeback", "ticket_status.updated")
        .by(c.actor.clone())
        .on("ticket", t.id.to_string(), t.summary)
        .says(says)
        .details(with(json!({
            "operation": "update_ticket_status", "psa": "connectwise",
            "before": {"status": from}, "after": {"status": to},
            "request": {"method": "PATCH", "url": format!("{PSA_API}/service/tickets/{}", t.id), "body": [{"op": "replace", "path": "status/name", "value": to}]},
        }), [("response", response)]))
        .outcome(ok);
    g.emit(at, e);
}

/// `alert.acknowledged` by hand, from the alert console.
pub fn acknowledge(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let cust = &g.customers[r.index(g.customers.len())];
    let device = format!(
        "{}-{}",
        cust.prefix,
        r.pick(&["PR01", "PR02", "FS01", "WS-0144", "LT-0207", "DC01"])
    );
    let alert_id = r.hex(8);
    let what = *r.pick(&[
        "Printer offline",
        "Disk space below 20%",
        "Backup completed with warnings",
        "Low available memory",
    ]);
    let e = ev("writeback", "alert.acknowledged")
        .by(c.actor.clone())
        .on("alert", format!("ninjaone:{alert_id}"), format!("{what} — {device}"))
        .says(format!("{} acknowledged the NinjaOne alert “{what}” on {device}", c.person.name))
        .details(json!({
            "operation": "acknowledge_alert", "rmm": "ninjaone",
            "request": {"method": "POST", "url": format!("https://eu.ninjarmm.com/v2/alert/{alert_id}/reset"), "body": {"note": format!("Acknowledged by {}", c.person.name)}},
            "response": {"status": 204, "duration_ms": r.range(90, 500)},
        }))
        .kind(Kind::Updated);
    g.emit(at, e);
}

const PRAISE: [&str; 5] = [
    "Spot on",
    "Saved me ten minutes",
    "Right board, right priority",
    "",
    "",
];
const COMPLAINTS: [&str; 6] = [
    "Wrong board, should be Projects",
    "Duplicate of a ticket we already had open",
    "Priority too high for a printer",
    "Matched to the wrong site (Leeds, not York)",
    "Alert had already cleared when the ticket arrived",
    "",
];

/// `feedback.submitted`: a thumbs up or down on what the automation did with a ticket.
pub fn feedback(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let t = ticket(g, r, at);
    let up = r.chance(0.72);
    let comment = if up {
        *r.pick(&PRAISE)
    } else {
        *r.pick(&COMPLAINTS)
    };
    let thumb = if up { "👍" } else { "👎" };
    let says = if comment.is_empty() {
        format!(
            "{} rated the automation on ticket #{} {thumb}",
            c.person.name, t.id
        )
    } else {
        format!(
            "{} rated the automation on ticket #{} {thumb}: “{comment}”",
            c.person.name, t.id
        )
    };
    let e = ev("feedback", "feedback.submitted")
        .by(c.actor.clone())
        .on("ticket", t.id.to_string(), t.summary)
        .says(says)
        .details(json!({"rating": if up { "up" } else { "down" }, "question": "Did the automation handle this ticket correctly?", "comment": comment, "surface": "ticket sidebar"}))
        .kind(Kind::Created);
    g.emit(at, e);
}

/// `audit_log.exported`: pulling the log is part of the log.
pub fn audit_export(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let format = *r.pick(&["csv", "csv", "json", "ndjson"]);
    let filter = *r.pick(&[
        "channel:auth outcome:failure since:7d",
        "channel:admin since:30d",
        "channel:pii-read since:30d",
        "action:role.updated since:30d",
        "action:integration_credentials_updated",
        "channel:writeback outcome:failure since:7d",
    ]);
    let rows = r.range(40, 4_800);
    // What the export history (`H`, `trailscope exports`) calls it.
    let name = match filter {
        "channel:auth outcome:failure since:7d" => "Failed sign-ins, last week",
        "channel:admin since:30d" => "Admin changes for the monthly review",
        "channel:pii-read since:30d" => "Personal data reads (GDPR Art. 30)",
        "action:role.updated since:30d" => "Role changes, last 30 days",
        "action:integration_credentials_updated" => "Integration credential changes",
        _ => "Failed write-backs, last week",
    };
    let e = ev("audit", "audit_log.exported")
        .by(c.actor.clone())
        .on("audit_log", "default", "Audit log")
        .says(format!(
            "{} exported {rows} audit entries as {} ({filter})",
            c.person.name,
            format.to_uppercase()
        ))
        .details(
            json!({"format": format, "filters": {"filter": filter}, "rows": rows, "name": name}),
        )
        .kind(Kind::Other);
    g.emit(at, e);
}

/// `evidence_pack.exported` for an audit or a review.
pub fn evidence_pack(g: &mut Gen, r: &mut Rng, c: &Ctx, at: i64) {
    let kind = *r.pick(&["access_review", "change_management", "incident_response"]);
    let from = format_ts(&from_millis(at - 30 * DAY));
    let to = format_ts(&from_millis(at));
    let e = ev("audit", "evidence_pack.exported")
        .by(c.actor.clone())
        .on("evidence_pack", format!("ep_{}", r.hex(10)), kind.replace('_', " "))
        .says(format!("{} exported a {} evidence pack for the last 30 days", c.person.name, kind.replace('_', " ")))
        .details(json!({"kind": kind, "from": from, "to": to, "rows": r.range(200, 9_000), "requested_for": OFFICES[c.person.office].company,
                        "name": format!("{} {} for {}", OFFICES[c.person.office].company, kind.replace('_', " "), from.get(..7).unwrap_or(""))}))
        .kind(Kind::Other);
    g.emit(at, e);
}
