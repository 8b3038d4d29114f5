//! The SQLite schema: entries, their indexes, the append-only triggers, chain heads and tokens.

use rusqlite::Connection;

/// The schema version this build writes; older files are migrated forward on open.
pub const SCHEMA_VERSION: i64 = 1;

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
    UNIQUE (tenant, seq)
);

-- Every filter is index-backed, and each index ends in the keyset (occurred_at, seq) so a
-- filtered page is an ordered range scan: page 1,000 costs what page 1 does.
CREATE INDEX IF NOT EXISTS entries_time    ON entries (tenant, occurred_at, seq);
CREATE INDEX IF NOT EXISTS entries_action  ON entries (tenant, action, occurred_at, seq);
CREATE INDEX IF NOT EXISTS entries_channel ON entries (tenant, channel, occurred_at, seq);
CREATE INDEX IF NOT EXISTS entries_kind    ON entries (tenant, kind, occurred_at, seq);
CREATE INDEX IF NOT EXISTS entries_outcome ON entries (tenant, outcome, occurred_at, seq);
CREATE INDEX IF NOT EXISTS entries_actor   ON entries (tenant, actor_id, occurred_at, seq);
CREATE INDEX IF NOT EXISTS entries_email   ON entries (tenant, actor_email, occurred_at, seq);
CREATE INDEX IF NOT EXISTS entries_target  ON entries (tenant, target_id, occurred_at, seq);
CREATE INDEX IF NOT EXISTS entries_ttype   ON entries (tenant, target_type, occurred_at, seq);
CREATE UNIQUE INDEX IF NOT EXISTS entries_idem ON entries (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Trigram index of the searchable text (description, action, actor name/email/id, target
-- name/id), so `q` is index-backed: a rare word is found without reading the table. Contentless
-- (the text is in entries already); detail=none keeps it small, so the search ANDs the
-- trigrams and the exact match is checked on the candidates.
CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5(
    text, content='', contentless_delete=1, tokenize='trigram', detail='none'
);

-- The database itself refuses to change history. Retention and pseudonymisation will be the
-- only, explicit exceptions.
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE is refused'); END;

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
    if version < SCHEMA_VERSION {
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))?;
    }
    Ok(())
}
