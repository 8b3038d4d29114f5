//! Bearer tokens in the database, so `token create|list|revoke --database-url` and every
//! replica see the same ones.

use super::{PostgresStore, db_error, internal};
use crate::model::from_millis;
use crate::store::NewToken;
use crate::store::{Role, StoreError, TokenRecord};
use tokio_postgres::Row;

const COLUMNS: &str = "id, role, tenant, name, created_at, revoked_at";

fn record(r: &Row) -> Result<TokenRecord, StoreError> {
    let role: String = r.get(1);
    Ok(TokenRecord {
        id: r.get(0),
        role: Role::parse(&role).ok_or_else(|| internal(format!("unknown stored role {role}")))?,
        tenant: r.get(2),
        name: r.get(3),
        created_at: from_millis(r.get(4)),
        revoked_at: r.get::<_, Option<i64>>(5).map(from_millis),
    })
}

impl PostgresStore {
    pub async fn authenticate(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let client = self.client().await?;
        let r = client
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM tokens WHERE secret_hash = $1 AND revoked_at IS NULL"
                ),
                &[&secret_hash],
            )
            .await
            .map_err(db_error)?;
        r.as_ref().map(record).transpose()
    }

    pub async fn create_token(&self, new: NewToken) -> Result<TokenRecord, StoreError> {
        if !crate::store::valid_tenant(&new.tenant) {
            return Err(StoreError::Invalid(
                "a tenant name is 1–64 letters, digits, _ . or -".into(),
            ));
        }
        let record = TokenRecord {
            id: crate::store::new_token_id(),
            role: new.role,
            tenant: new.tenant.clone(),
            name: new.name.clone(),
            created_at: from_millis(chrono::Utc::now().timestamp_millis()),
            revoked_at: None,
        };
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO tokens (id, secret_hash, role, tenant, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &record.id,
                    &new.secret_hash,
                    &record.role.as_str(),
                    &record.tenant,
                    &record.name,
                    &record.created_at.timestamp_millis(),
                ],
            )
            .await
            .map_err(db_error)?;
        Ok(record)
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM tokens ORDER BY created_at DESC, id"),
                &[],
            )
            .await
            .map_err(db_error)?;
        rows.iter().map(record).collect()
    }

    pub async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[&chrono::Utc::now().timestamp_millis(), &id],
            )
            .await
            .map_err(db_error)?;
        Ok(n == 1)
    }
}
