//! `POST /v1/pseudonymise` (admin): a GDPR erasure request that keeps the chain verifiable.

use super::AppState;
use super::auth::Caller;
use super::error::Failure;
use crate::model::{ApiError, ErrorCode};
use crate::store::{Identity, Role};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Whom to erase: exactly one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymiseRequest {
    actor_id: Option<String>,
    email: Option<String>,
}

const SHAPE: &str = "the body must be {\"actor_id\": \"…\"} or {\"email\": \"…\"}";

/// Pseudonymises one person in the caller's tenant and answers with the pseudonym and count.
pub async fn pseudonymise(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PseudonymiseRequest>, JsonRejection>,
) -> Result<Response, Failure> {
    caller.require(&[Role::Admin], "pseudonymise a person")?;
    let Json(req) = body.map_err(|e| super::error::body_rejection(SHAPE, e))?;
    let who = match (req.actor_id, req.email) {
        (Some(id), None) => Identity::ActorId(id.trim().to_string()),
        (None, Some(email)) => Identity::Email(email.trim().to_string()),
        _ => {
            return Err(ApiError::bad_request(format!("{SHAPE}, with exactly one of them")).into());
        }
    };
    let (field, value) = match &who {
        Identity::ActorId(v) => ("actor_id", v),
        Identity::Email(v) => ("email", v),
    };
    if value.is_empty() || value.chars().count() > 256 {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("{field} must be 1 to 256 characters"),
        )
        .with_field(field)
        .into());
    }
    let tenant = caller.tenant().to_string();
    let requested_by = caller.actor();
    let report = state
        .store
        .pseudonymise(&tenant, &who, &requested_by)
        .await?;
    Ok(Json(report).into_response())
}
