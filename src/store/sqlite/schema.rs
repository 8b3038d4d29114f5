//! The SQLite schema: entries, their indexes, the append-only triggers, chain heads and tokens.

use rusqlite::Connection;

/// The schema version this build writes; older files are migrated forward on open.
pub const SCHEMA_VERSION: i64 = 6;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS entries (
    tenant           TEXT    NOT NULL,
    seq              INTEGER NOT NULL,
    id               TEXT    NOT NULL UNIQUE,
    occurred_at      INTEGER NOT NULL,  -- milliseconds since the epoch, UTC
    received_at      INTEGER NOT NULL,
    action           TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    outcome          TEXT    NOT NULL,
    description      TEXT,
    actor_type       TEXT    NOT NULL,
    actor_id         TEXT,
    actor_name       TEXT,
    actor_email      TEXT COLLATE NOCASE,
    actor_ip         TEXT,
    actor_user_agent TEXT,
    target_type      TEXT,
    target_id        TEXT,
    target_name      TEXT,
    details          TEXT,              -- JSON
    idempotency_key  TEXT,
    commitments      TEXT    NOT NULL,  -- JSON: salted commitments of the personal fields
    prev_hash        TEXT    NOT NULL,
    hash             TEXT    NOT NULL,
    -- 1 once the entry is in the secondary and trigram indexes; NULL while it waits for them
    -- (the writer commits it without: store::sqlite::indexer adds it in batches). Not evidence.
    indexed          INTEGER DEFAULT 1,
    UNIQUE (tenant, seq)
);

-- Every filter is index-backed, and each index ends in the keyset (occurred_at, seq) so a
-- filtered page is an ordered range scan: page 1,000 costs what page 1 does.
-- The time index is kept at commit. The others list only the indexed rows (`indexed = 1`):
-- inserting every entry into ten B-trees at random places was most of the writer's time at
-- millions of entries, so they are added after the commit, many at once (the indexer). The
-- pending rows, few and recent, are read through their own index, in page order.
CREATE INDEX IF NOT EXISTS entries_time    ON entries (tenant, occurred_at, seq);
-- It carries the fields filters test, so a walk of it checks them without reading the rows.
CREATE INDEX IF NOT EXISTS entries_pending ON entries (tenant, occurred_at, seq, action, channel,
    kind, outcome, actor_id, actor_email, actor_name, actor_ip, target_id, target_type)
    WHERE indexed IS NULL;
CREATE INDEX IF NOT EXISTS entries_action  ON entries (tenant, action, occurred_at, seq) WHERE indexed = 1;
CREATE INDEX IF NOT EXISTS entries_channel ON entries (tenant, channel, occurred_at, seq) WHERE indexed = 1;
CREATE INDEX IF NOT EXISTS entries_kind    ON entries (tenant, kind, occurred_at, seq) WHERE indexed = 1;
CREATE INDEX IF NOT EXISTS entries_outcome ON entries (tenant, outcome, occurred_at, seq) WHERE indexed = 1;
CREATE INDEX IF NOT EXISTS entries_actor   ON entries (tenant, actor_id, occurred_at, seq) WHERE indexed = 1;
CREATE INDEX IF NOT EXISTS entries_email   ON entries (tenant, actor_email, occurred_at, seq) WHERE indexed = 1;
CREATE INDEX IF NOT EXISTS entries_target  ON entries (tenant, target_id, occurred_at, seq) WHERE indexed = 1;
CREATE INDEX IF NOT EXISTS entries_ttype   ON entries (tenant, target_type, occurred_at, seq) WHERE indexed = 1;
-- `ip:` and `actor:` by name (issue 17); the name compares as users type it, any ASCII case.
CREATE INDEX IF NOT EXISTS entries_ip      ON entries (tenant, actor_ip, occurred_at, seq) WHERE indexed = 1;
CREATE INDEX IF NOT EXISTS entries_aname   ON entries (tenant, actor_name COLLATE NOCASE, occurred_at, seq) WHERE indexed = 1;
CREATE UNIQUE INDEX IF NOT EXISTS entries_idem ON entries (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Trigram index of the searchable text (description, action, actor name/email/id, target
-- name/id), so `q` is index-backed: a rare word is found without reading the table. Contentless
-- (the text is in entries already); detail=none keeps it small, so the search ANDs the
-- trigrams and the exact match is checked on the candidates. It holds the indexed rows only.
CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5(
    text, content='', contentless_delete=1, tokenize='trigram', detail='none'
);

-- The one door through history: a permit row, written and removed inside the store's own
-- prune or pseudonymise transaction, never committed. Without it the triggers below refuse.
CREATE TABLE IF NOT EXISTS maintenance (
    tenant TEXT NOT NULL,
    op     TEXT NOT NULL,   -- 'prune' or 'pseudonymise'
    upto   INTEGER NOT NULL -- prune: the last seq it may remove
);

-- The database itself refuses to change history. Prune may delete a prefix of the chain it
-- holds a permit for; pseudonymise may rewrite the personal fields (their commitments stay in
-- the chain) and nothing else. The trigger fires for an UPDATE that sets any column but
-- `indexed` (a new column must be added to its list).
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE OF tenant, seq, id, occurred_at,
    received_at, action, kind, channel, outcome, description, actor_type, actor_id, actor_name,
    actor_email, actor_ip, actor_user_agent, target_type, target_id, target_name, details,
    idempotency_key, commitments, prev_hash, hash ON entries
WHEN NOT EXISTS (SELECT 1 FROM maintenance WHERE op = 'pseudonymise' AND tenant = OLD.tenant)
  OR NEW.tenant IS NOT OLD.tenant OR NEW.seq IS NOT OLD.seq OR NEW.id IS NOT OLD.id
  OR NEW.occurred_at IS NOT OLD.occurred_at OR NEW.received_at IS NOT OLD.received_at
  OR NEW.action IS NOT OLD.action OR NEW.kind IS NOT OLD.kind OR NEW.channel IS NOT OLD.channel
  OR NEW.outcome IS NOT OLD.outcome OR NEW.description IS NOT OLD.description
  OR NEW.actor_type IS NOT OLD.actor_type OR NEW.actor_id IS NOT OLD.actor_id
  OR NEW.target_type IS NOT OLD.target_type OR NEW.target_id IS NOT OLD.target_id
  OR NEW.target_name IS NOT OLD.target_name OR NEW.details IS NOT OLD.details
  OR NEW.idempotency_key IS NOT OLD.idempotency_key OR NEW.prev_hash IS NOT OLD.prev_hash
  OR NEW.hash IS NOT OLD.hash
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE is refused'); END;
-- The indexer's one change: a pending entry flagged indexed, never back (a trigger of its own,
-- so its update of tens of thousands of rows is not checked column by column). FAIL, not ABORT:
-- a statement that may abort keeps a copy of every page it changes to undo itself with, in
-- memory (temp_store=MEMORY), and an index step changes hundreds of MB of pages. A refused
-- update stops at the row refused; the rows before it could only have been flagged indexed.
CREATE TRIGGER IF NOT EXISTS entries_index_once BEFORE UPDATE OF indexed ON entries
WHEN NOT (OLD.indexed IS NULL AND NEW.indexed IS 1)
BEGIN SELECT RAISE(FAIL, 'audit entries are append-only: only a pending entry may be flagged indexed'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
WHEN NOT EXISTS (SELECT 1 FROM maintenance WHERE op = 'prune' AND tenant = OLD.tenant AND OLD.seq <= upto)
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE is refused'); END;

-- Where each tenant's chain starts after a prune: the last removed entry, and what the prune did.
CREATE TABLE IF NOT EXISTS chain_anchors (
    tenant    TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    report    TEXT NOT NULL     -- the last prune's report, JSON
) WITHOUT ROWID;

-- Each tenant's retention window in days (absent: the server's default).
CREATE TABLE IF NOT EXISTS retention (
    tenant TEXT PRIMARY KEY,
    days   INTEGER NOT NULL
) WITHOUT ROWID;

-- The head of each tenant's chain as of the last commit: verify compares the walked chain
-- with it, so a removed tail shows.
CREATE TABLE IF NOT EXISTS chain_heads (
    tenant      TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The actions each tenant has used: expands an `action:prefix*` filter into exact values.
CREATE TABLE IF NOT EXISTS actions (
    tenant TEXT NOT NULL,
    action TEXT NOT NULL,
    PRIMARY KEY (tenant, action)
) WITHOUT ROWID;

-- The Merkle tree over each tenant's entry hashes (RFC 6962), kept by the writer in the same
-- transaction as the entries. One row per leaf: the hashes that leaf's append stored (its leaf
-- hash, then the root of each perfect subtree it completes), 32 bytes each, so a root or a proof
-- at any size is a few primary-key reads. Rows outlive prune: old checkpoints stay provable.
CREATE TABLE IF NOT EXISTS tree_rows (
    tenant TEXT    NOT NULL,
    leaf   INTEGER NOT NULL,   -- 0-based: seq - trees.first_seq
    hashes BLOB    NOT NULL,
    PRIMARY KEY (tenant, leaf)
) WITHOUT ROWID;

-- The seq of each tenant's first leaf: 1, or, for a log that was pruned before it had a tree,
-- the first seq left when the tree was built.
CREATE TABLE IF NOT EXISTS trees (
    tenant    TEXT PRIMARY KEY,
    first_seq INTEGER NOT NULL
) WITHOUT ROWID;

-- Every checkpoint ever signed (C2SP signed notes), kept so verify can check them all.
CREATE TABLE IF NOT EXISTS checkpoints (
    tenant     TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    note       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, size)
) WITHOUT ROWID;

-- The tree and the checkpoints have no door at all: nothing in trailscope changes or removes them.
CREATE TRIGGER IF NOT EXISTS tree_rows_no_update BEFORE UPDATE ON tree_rows
BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS tree_rows_no_delete BEFORE DELETE ON tree_rows
BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only: DELETE is refused'); END;
CREATE TRIGGER IF NOT EXISTS trees_no_update BEFORE UPDATE ON trees
BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS trees_no_delete BEFORE DELETE ON trees
BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only: DELETE is refused'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE is refused'); END;

-- How many entries each minute, hour and day holds per (channel, kind, outcome, action, target
-- type), written with the entries (store::rollup): counts and histograms read these, not every
-- match. Derived, not evidence: no proof depends on them (verify does not check them).
CREATE TABLE IF NOT EXISTS rollups (
    tenant      TEXT    NOT NULL,
    width       INTEGER NOT NULL,  -- ms: 60000, 3600000 or 86400000
    slot        INTEGER NOT NULL,  -- ms: the start of the minute, hour or day
    channel     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL,  -- '' without a target
    n           INTEGER NOT NULL,
    PRIMARY KEY (tenant, width, slot, channel, kind, outcome, action, target_type)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tokens (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    name        TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
"#;

/// Settings every connection gets. `synchronous=FULL` makes a commit durable before it returns.
/// Readers keep a small page cache and no memory map: the OS caches the file anyway, and a
/// server that streams a million-row export must stay small.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL;
         PRAGMA synchronous=FULL;
         PRAGMA foreign_keys=ON;
         PRAGMA temp_store=MEMORY;
         PRAGMA cache_size=-8192;",
    )
}

/// Creates or migrates the schema.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    // Several connections may open a new file at once: one migrates, the others wait and see.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < SCHEMA_VERSION {
        // Version 2 gave the triggers their maintenance permits; version 3 added the Merkle
        // tree and the checkpoints (the writer builds the tree of existing entries at start);
        // version 4 the indexes on the actor's IP and name (created by the schema's IF NOT EXISTS);
        // version 5 the rollups, counted here from the entries already there; version 6 the
        // deferred indexes: the column that flags an indexed row (every row there is one) and
        // the indexes rebuilt as partial ones.
        let drop_old = if version < 2 {
            "DROP TRIGGER IF EXISTS entries_no_update; DROP TRIGGER IF EXISTS entries_no_delete;"
        } else {
            ""
        };
        let migrated = conn
            .execute_batch(drop_old)
            .and_then(|()| {
                if version < 6 {
                    defer_indexes(conn)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| conn.execute_batch(SCHEMA))
            .and_then(|()| {
                if version < 5 {
                    conn.execute(&crate::store::rollup::from_entries_sql("true"), [1])?;
                }
                Ok(())
            })
            .and_then(|()| conn.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}")));
        if let Err(e) = migrated {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    conn.execute_batch("COMMIT")
}

/// The indexes the indexer adds rows to after their commit (partial since version 6).
const DEFERRED_INDEXES: [&str; 10] = [
    "entries_action",
    "entries_channel",
    "entries_kind",
    "entries_outcome",
    "entries_actor",
    "entries_email",
    "entries_target",
    "entries_ttype",
    "entries_ip",
    "entries_aname",
];

/// Version 6 on a file from before it: the `indexed` column (1, the default, for every row
/// already there: they are in every index), and the indexes and the update trigger dropped, for
/// the schema to create again in their new form.
fn defer_indexes(conn: &Connection) -> rusqlite::Result<()> {
    let has_entries: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'entries'",
        [],
        |r| r.get(0),
    )?;
    if !has_entries {
        return Ok(());
    }
    let has_flag: bool = conn.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('entries') WHERE name = 'indexed'",
        [],
        |r| r.get(0),
    )?;
    if !has_flag {
        conn.execute_batch("ALTER TABLE entries ADD COLUMN indexed INTEGER DEFAULT 1")?;
    }
    for name in DEFERRED_INDEXES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    conn.execute_batch("DROP TRIGGER IF EXISTS entries_no_update")
}

/// The append-only triggers as this build creates them, by name.
fn expected_triggers() -> rusqlite::Result<Vec<(String, String)>> {
    let mem = Connection::open_in_memory()?;
    mem.execute_batch(SCHEMA)?;
    triggers(&mem)
}

fn triggers(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// What was changed in the schema outside trailscope: a trigger dropped, replaced or added, or a
/// maintenance permit left in the table (the store never commits one). One sentence each.
pub fn tampering(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let expected = expected_triggers()?;
    let found = triggers(conn)?;
    let mut problems = Vec::new();
    for (name, sql) in &expected {
        match found.iter().find(|(n, _)| n == name) {
            None => problems.push(format!("the append-only trigger {name} is missing")),
            Some((_, s)) if s != sql => {
                problems.push(format!("the append-only trigger {name} was replaced"))
            }
            Some(_) => {}
        }
    }
    for (name, _) in &found {
        if !expected.iter().any(|(n, _)| n == name) {
            problems.push(format!(
                "a trigger trailscope did not create is present: {}",
                crate::text::inert(name)
            ));
        }
    }
    let permits: i64 = conn.query_row("SELECT count(*) FROM maintenance", [], |r| r.get(0))?;
    if permits > 0 {
        problems.push(format!(
            "{permits} maintenance permit row(s) are lying open in the database, letting anyone delete or rewrite entries"
        ));
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How `name` was created.
    fn created(conn: &Connection, name: &str) -> String {
        conn.query_row(
            "SELECT sql FROM sqlite_master WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// A version 5 file: every index kept at commit, no `indexed` column.
    fn version_5() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        let mut sql = String::from(
            "DROP INDEX entries_pending; DROP TRIGGER entries_index_once; \
             DROP TRIGGER entries_no_update;",
        );
        for name in DEFERRED_INDEXES {
            let create = created(&conn, name);
            let full = create.split(" WHERE ").next().unwrap();
            sql.push_str(&format!("DROP INDEX {name}; {full};"));
        }
        sql.push_str("ALTER TABLE entries DROP COLUMN indexed; PRAGMA user_version = 5;");
        conn.execute_batch(&sql).unwrap();
        conn
    }

    #[test]
    fn version_5_gets_the_flag_set_on_every_row_and_partial_indexes() {
        let conn = version_5();
        for seq in 1..=3 {
            conn.execute(
                "INSERT INTO entries (tenant, seq, id, occurred_at, received_at, action, kind, \
                 channel, outcome, actor_type, actor_id, commitments, prev_hash, hash) \
                 VALUES ('t', ?1, ?1, 0, 0, 'a', 'other', 'c', 'success', 'user', 'u', '{}', '', '')",
                [seq],
            )
            .unwrap();
        }
        migrate(&conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let indexed: i64 = conn
            .query_row("SELECT count(*) FROM entries WHERE indexed = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(indexed, 3, "the rows already there are in every index");
        for name in DEFERRED_INDEXES {
            let sql = created(&conn, name);
            assert!(sql.ends_with("WHERE indexed = 1"), "{sql}");
        }
        assert_eq!(tampering(&conn).unwrap(), Vec::<String>::new());
        // And the actor's index finds them.
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE tenant = 't' AND indexed = 1 \
                 AND actor_id = 'u' ORDER BY occurred_at, seq",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("entries_actor"), "{plan}");
    }
}
