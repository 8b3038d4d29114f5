//! The PostgreSQL test harness itself: a cluster starts as an unprivileged user, each test gets
//! a database of its own, and the extension the store needs (pg_trgm) is there.

use crate::common::pg;

#[test]
fn a_fresh_database_per_test_with_pg_trgm() {
    let Some(pg) = pg::cluster() else { return };
    let a = pg.fresh_database();
    let b = pg.fresh_database();
    assert_ne!(a, b);
    let db = pg::db_name(&a);
    pg.psql(db, "CREATE EXTENSION IF NOT EXISTS pg_trgm");
    assert_eq!(
        pg.psql(db, "SELECT similarity('trailscope', 'trailscope')")
            .trim(),
        "1"
    );
    // Each database starts empty.
    pg.psql(pg::db_name(&b), "CREATE TABLE only_here (x int)");
    let (ok, err) = pg.try_psql(db, "SELECT * FROM only_here");
    assert!(!ok && err.contains("does not exist"), "{err}");
}
