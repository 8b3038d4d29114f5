//! Tampering with a SQLite file as its owner could: shared by the test binaries that break one.

/// An attacker with the SQLite file: runs `sql` with the triggers out of the way, then puts them
/// back exactly as they were.
pub fn tamper_sqlite(db: &std::path::Path, sql: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    let triggers: Vec<(String, String)> = c
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (name, _) in &triggers {
        c.execute_batch(&format!("DROP TRIGGER {name}")).unwrap();
    }
    c.execute_batch(sql).unwrap();
    for (_, sql) in &triggers {
        c.execute_batch(sql).unwrap();
    }
}
