//! Bearer tokens to callers, and the role each route requires.

use super::AppState;
use super::error::Failure;
use crate::model::{ApiError, ErrorCode};
use crate::store::{Role, TokenRecord, hash_secret};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub TokenRecord);

impl Caller {
    /// The token as the actor of the entries the server writes on its behalf.
    pub fn actor(&self) -> crate::model::Actor {
        token_actor(&self.0)
    }

    /// The caller's tenant: every store call is scoped to it.
    pub fn tenant(&self) -> &str {
        &self.0.tenant
    }

    /// 403 unless the caller holds one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), Failure> {
        if roles.contains(&self.0.role) {
            return Ok(());
        }
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "a {} token cannot {what}; this needs the role {}",
                self.0.role,
                allowed.join(" or ")
            ),
        )
        .into())
    }

    /// Routes that read the log: auditor or admin.
    pub fn require_reader(&self, what: &str) -> Result<(), Failure> {
        self.require(&[Role::Auditor, Role::Admin], what)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = |m: &str| Failure(ApiError::new(ErrorCode::Unauthorized, m));
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized("send a token: Authorization: Bearer <token> (create one with `trailscope token create`)"))?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header must read `Bearer <token>`"))?;
        let hash = hash_secret(secret);
        let found = state.store.authenticate(&hash).await?;
        found
            .map(Caller)
            .ok_or_else(|| unauthorized("this token is not valid: it is unknown or was revoked"))
    }
}

/// A token as an actor: a service named by its label, identified by its public id.
pub fn token_actor(token: &TokenRecord) -> crate::model::Actor {
    crate::model::Actor {
        kind: crate::model::ActorType::Service,
        id: Some(token.id.clone()),
        name: token.name.clone(),
        ..crate::model::Actor::default()
    }
}
