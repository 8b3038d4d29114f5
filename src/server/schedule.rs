//! The daily prune, driven by a clock that tests can replace.

use super::retention::{RetentionConfig, prune_every_tenant};
use crate::store::Store;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Time, as the scheduler sees it.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
    /// Resolves at `at` (a test clock jumps there at once).
    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// The next time of day `at` strictly after `now`.
pub fn next_run(now: DateTime<Utc>, at: NaiveTime) -> DateTime<Utc> {
    let today = now.date_naive().and_time(at).and_utc();
    if today > now {
        today
    } else {
        today + Duration::days(1)
    }
}

/// Prunes every tenant at `at` each day, for ever (or `runs` times, for tests).
pub async fn run_daily(
    store: Arc<dyn Store>,
    config: RetentionConfig,
    at: NaiveTime,
    clock: Arc<dyn Clock>,
    runs: Option<usize>,
) {
    let mut done = 0;
    while runs.is_none_or(|r| done < r) {
        let when = next_run(clock.now(), at);
        clock.sleep_until(when).await;
        let now = clock.now();
        let outcome = async {
            let mut pruned = Vec::new();
            if !store.claim_scheduled("prune", now.date_naive()).await? {
                tracing::info!("another replica runs today's prune");
                return Ok(pruned);
            }
            for (tenant, r) in prune_every_tenant(store.as_ref(), &config, now).await? {
                match r {
                    Ok(r) => pruned.push((tenant, r.removed)),
                    Err(e) => tracing::error!(tenant, "daily prune failed: {e}"),
                }
            }
            Ok::<_, crate::store::StoreError>(pruned)
        }
        .await;
        match outcome {
            Ok(pruned) => tracing::info!(?pruned, "daily prune done"),
            Err(e) => tracing::error!("daily prune failed: {e}"),
        }
        done += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_run_is_strictly_later() {
        let at = NaiveTime::from_hms_opt(3, 0, 0).unwrap();
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            next_run(t("2026-11-21T02:59:59Z"), at),
            t("2026-11-21T03:00:00Z")
        );
        assert_eq!(
            next_run(t("2026-11-21T03:00:00Z"), at),
            t("2026-11-22T03:00:00Z")
        );
        assert_eq!(
            next_run(t("2026-11-21T23:00:00Z"), at),
            t("2026-11-22T03:00:00Z")
        );
    }
}
