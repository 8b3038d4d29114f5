//! Token administration straight on the database file: works while the server runs.

use super::{connect, parse_role};
use crate::model::from_millis;
use crate::store::{Role, StoreError, TokenRecord, hash_secret, new_secret};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::path::Path;

/// A connection for creating, listing and revoking tokens.
pub struct TokenAdmin {
    conn: Connection,
}

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
        if tenant.is_empty()
            || tenant.len() > 64
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(StoreError::Invalid(
                "a tenant name is 1–64 letters, digits, _ . or -".into(),
            ));
        }
        let secret = new_secret();
        let mut id_bytes = [0u8; 6];
        getrandom::fill(&mut id_bytes).expect("the operating system's random source failed");
        let id = format!("tok_{}", hex::encode(id_bytes));
        let now = chrono::Utc::now().timestamp_millis();
        self.conn.execute(
            "INSERT INTO tokens (id, secret_hash, role, tenant, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, hash_secret(&secret), role.as_str(), tenant, name, now],
        )?;
        let record = TokenRecord {
            id,
            role,
            tenant: tenant.into(),
            name: name.map(Into::into),
            created_at: from_millis(now),
            revoked_at: None,
        };
        Ok((record, secret))
    }

    /// Every token, newest first, revoked ones included.
    pub fn list(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at DESC, id"
        ))?;
        Ok(stmt
            .query_map([], token_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Revokes a token by id; false when no live token has that id.
    pub fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        let n = self.conn.execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![now, id],
        )?;
        Ok(n == 1)
    }
}
