//! The entries the checks write, and small readers over the store.

use chrono::{DateTime, Duration, Utc};
use trailscope::model::{Actor, ActorType, Entry, NewEvent, Order, Outcome, Query, Target};
use trailscope::store::{PageRequest, Store};

pub const ACTIONS: [&str; 5] = [
    "user.login",
    "user.login_failed",
    "role.updated",
    "ticket.created",
    "ticket.updated",
];
pub const CHANNELS: [&str; 3] = ["auth", "admin", "rules"];

/// Where the fixture's time begins: two hours ago, on a whole minute (so windows are exact).
pub fn base(now: DateTime<Utc>) -> DateTime<Utc> {
    let two_hours_ago = now - Duration::hours(2);
    trailscope::model::from_millis(two_hours_ago.timestamp_millis() / 60_000 * 60_000)
}

/// Event `i` of a varied trail: every field takes several values, each filter selects some
/// entries and not others. Event `i` occurred `i` minutes after `base`.
pub fn event(i: usize, base: DateTime<Utc>) -> NewEvent {
    let who = i % 6;
    NewEvent {
        occurred_at: Some(base + Duration::minutes(i as i64)),
        action: ACTIONS[i % ACTIONS.len()].into(),
        channel: Some(CHANNELS[i % CHANNELS.len()].into()),
        outcome: Some(if i.is_multiple_of(4) {
            Outcome::Failure
        } else {
            Outcome::Success
        }),
        description: Some(if i.is_multiple_of(5) {
            format!("Printer on FIRE in Zürich, no. {i}")
        } else {
            format!("routine work item {i}")
        }),
        actor: Some(if i % 11 == 10 {
            Actor::system()
        } else {
            Actor {
                kind: ActorType::User,
                id: Some(format!("u_{who}")),
                name: Some(format!("Alice Example {who}")),
                email: Some(format!("Person{who}@Example.COM")),
                ip: Some(format!("10.0.0.{}", i % 4)),
                user_agent: Some("conformance/1".into()),
            }
        }),
        target: (i % 9 != 8).then(|| Target {
            kind: ["ticket", "user"][i % 2].into(),
            id: (i % 7).to_string(),
            name: Some(format!("Target {}", i % 3)),
        }),
        ..NewEvent::default()
    }
}

/// Events `from..to` of the trail.
pub fn events(from: usize, to: usize, base: DateTime<Utc>) -> Vec<NewEvent> {
    (from..to).map(|i| event(i, base)).collect()
}

/// Every entry of `tenant` matching `query`, oldest first, read page by page.
pub async fn all(store: &dyn Store, tenant: &str, query: &Query, now: DateTime<Utc>) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut req = PageRequest {
        limit: 1000,
        order: Order::Asc,
        cursor: None,
    };
    loop {
        let page = store
            .page(tenant, query, &req, now)
            .await
            .expect("a page reads");
        let next = page.next_cursor.clone();
        let last = page.entries.last().cloned();
        out.extend(page.entries);
        match (next, last) {
            (Some(_), Some(e)) => {
                req.cursor = Some(trailscope::model::Cursor {
                    occurred_at_ms: e.occurred_at.timestamp_millis(),
                    seq: e.seq,
                    order: Order::Asc,
                })
            }
            _ => return out,
        }
    }
}

/// Every entry of `tenant`, in seq order.
pub async fn by_seq(store: &dyn Store, tenant: &str) -> Vec<Entry> {
    let mut entries = all(store, tenant, &Query::default(), Utc::now()).await;
    entries.sort_by_key(|e| e.seq);
    entries
}

/// Appends and returns the acknowledgements.
pub async fn append(
    store: &dyn Store,
    tenant: &str,
    events: Vec<NewEvent>,
) -> Vec<trailscope::model::Appended> {
    store
        .append(tenant, events)
        .await
        .expect("the batch appends")
}

/// Waits (without sleeping blindly) until the wall clock has passed `t`, so what is appended
/// next is received strictly after it.
pub async fn clock_past(t: DateTime<Utc>) {
    while Utc::now() <= t {
        tokio::task::yield_now().await;
    }
}
