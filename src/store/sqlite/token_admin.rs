//! Tokens in the SQLite database: the store's token admin (through its writer), and
//! [`TokenAdmin`], a thin synchronous wrapper over the same statements for tools and tests that
//! hold no store (it opens one connection on the file and works while a server runs).

use super::{connect, parse_role};
use crate::model::from_millis;
use crate::store::{NewToken, Role, StoreError, TokenRecord, new_token_id, valid_tenant};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::path::Path;

const TOKEN_COLUMNS: &str = "id, role, tenant, name, created_at, revoked_at";

fn token_from_row(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        role: parse_role(&r.get::<_, String>(1)?)?,
        tenant: r.get(2)?,
        name: r.get(3)?,
        created_at: from_millis(r.get(4)?),
        revoked_at: r.get::<_, Option<i64>>(5)?.map(from_millis),
    })
}

/// The live token whose secret hashes to `secret_hash`.
pub(super) fn find(
    conn: &Connection,
    secret_hash: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = ?1 AND revoked_at IS NULL"
    ))?;
    Ok(stmt.query_row([secret_hash], token_from_row).optional()?)
}

/// Stores `new` under a fresh id.
pub(super) fn create(conn: &Connection, new: &NewToken) -> Result<TokenRecord, StoreError> {
    if !valid_tenant(&new.tenant) {
        return Err(StoreError::Invalid(
            "a tenant name is 1–64 letters, digits, _ . or -".into(),
        ));
    }
    let id = new_token_id();
    let now = chrono::Utc::now().timestamp_millis();
    conn.execute(
        "INSERT INTO tokens (id, secret_hash, role, tenant, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, new.secret_hash, new.role.as_str(), new.tenant, new.name, now],
    )?;
    Ok(TokenRecord {
        id,
        role: new.role,
        tenant: new.tenant.clone(),
        name: new.name.clone(),
        created_at: from_millis(now),
        revoked_at: None,
    })
}

/// Every token, newest first, revoked ones included.
pub(super) fn list(conn: &Connection) -> Result<Vec<TokenRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at DESC, id"
    ))?;
    Ok(stmt
        .query_map([], token_from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Revokes a token by id; false when no live token has that id.
pub(super) fn revoke(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    let now = chrono::Utc::now().timestamp_millis();
    let n = conn.execute(
        "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![now, id],
    )?;
    Ok(n == 1)
}

/// One connection for creating, listing and revoking tokens without a store: test fixtures and
/// benchmarks that set a database up before (or beside) a server. The command line uses the
/// store's own token admin.
pub struct TokenAdmin {
    conn: Connection,
}

impl TokenAdmin {
    /// Opens the database at `path`, creating it and its schema if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<TokenAdmin, StoreError> {
        Ok(TokenAdmin {
            conn: connect(path.as_ref())?,
        })
    }

    /// Creates a token and returns its record and its secret, which is never stored.
    pub fn create(
        &self,
        role: Role,
        tenant: &str,
        name: Option<&str>,
    ) -> Result<(TokenRecord, String), StoreError> {
        let (new, secret) = NewToken::generate(role, tenant, name);
        Ok((create(&self.conn, &new)?, secret))
    }

    /// Every token, newest first, revoked ones included.
    pub fn list(&self) -> Result<Vec<TokenRecord>, StoreError> {
        list(&self.conn)
    }

    /// Revokes a token by id; false when no live token has that id.
    pub fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        revoke(&self.conn, id)
    }
}

/// The store's token admin: reads on a pooled connection, writes through the writer.
impl super::SqliteDb {
    pub fn authenticate(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.with_reader(|conn| find(conn, secret_hash))
    }

    /// Stores a new token through the writer.
    pub fn create_token(&self, new: NewToken) -> Result<TokenRecord, StoreError> {
        self.create_token_answer(new)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    pub(super) fn create_token_answer(
        &self,
        new: NewToken,
    ) -> Result<super::Answer<TokenRecord>, StoreError> {
        self.on_writer(move |conn| create(conn, &new))
    }

    /// Every token, newest first, revoked ones included.
    pub fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.with_reader(list)
    }

    /// Revokes a token by id through the writer; false when no live token has that id.
    pub fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.revoke_token_answer(id)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    pub(super) fn revoke_token_answer(&self, id: &str) -> Result<super::Answer<bool>, StoreError> {
        let id = id.to_string();
        self.on_writer(move |conn| revoke(conn, &id))
    }
}
