//! Scheduled jobs run once across replicas: the first store on the database to claim a day's
//! run gets it, every other store (another replica) is told no.

use crate::common::pg;
use trailscope::store::Store;
use trailscope::store::postgres::PostgresStore;

#[tokio::test]
async fn a_days_prune_is_claimed_by_one_replica_only() {
    let Some(pg) = pg::cluster() else { return };
    let url = pg.fresh_database();
    let a = PostgresStore::open(&url, 2).await.unwrap();
    let b = PostgresStore::open(&url, 2).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let (first, second) = tokio::join!(
        Store::claim_scheduled(&a, "prune", day),
        Store::claim_scheduled(&b, "prune", day)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(
        first ^ second,
        "exactly one replica runs it: {first} {second}"
    );
    assert!(!a.claim_scheduled("prune", day).await.unwrap());
    let next = day.succ_opt().unwrap();
    assert!(b.claim_scheduled("prune", next).await.unwrap());
    assert!(!a.claim_scheduled("prune", next).await.unwrap());
    a.close().await;
    b.close().await;
}
