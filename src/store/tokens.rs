//! Bearer tokens: random secrets shown once, stored only as a hash, each with a role and a tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// What a token may do (API.md "Roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Producers: `POST /v1/events` only.
    Writer,
    /// Read routes, export, evidence packs, verify.
    Auditor,
    /// Everything, plus retention, prune, pseudonymise, tokens.
    Admin,
}

impl Role {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Writer => "writer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "writer" => Some(Role::Writer),
            "auditor" => Some(Role::Auditor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token as stored: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// A short public id (`tok_…`) for listing and revoking.
    pub id: String,
    pub role: Role,
    pub tenant: String,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new random secret: `ts_` and 32 random bytes in URL-safe base64.
pub fn new_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    format!(
        "ts_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What the database keeps of a secret: its SHA-256 in hex. The secret has 256 bits of entropy,
/// so a plain hash (no slow KDF) is enough to make a stolen database useless for logging in.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A token to create: what [`crate::store::Store::create_token`] stores. The caller made the
/// secret (with [`new_secret`]) and shows it once; the store sees only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub role: Role,
    pub tenant: String,
    pub name: Option<String>,
    /// [`hash_secret`] of the secret.
    pub secret_hash: String,
}

impl NewToken {
    /// A new random secret and the token that holds its hash.
    pub fn generate(role: Role, tenant: &str, name: Option<&str>) -> (NewToken, String) {
        let secret = new_secret();
        let token = NewToken {
            role,
            tenant: tenant.to_string(),
            name: name.map(str::to_string),
            secret_hash: hash_secret(&secret),
        };
        (token, secret)
    }
}

/// Whether `tenant` is a tenant name: 1–64 letters, digits, `_`, `.` or `-`.
pub fn valid_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// A token's public id: `tok_` and 12 hex digits.
pub fn new_token_id() -> String {
    let mut id_bytes = [0u8; 6];
    getrandom::fill(&mut id_bytes).expect("the operating system's random source failed");
    format!("tok_{}", hex::encode(id_bytes))
}
