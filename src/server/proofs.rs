//! `GET /v1/checkpoint`, `GET /v1/proof/inclusion`, `GET /v1/proof/consistency`: what an
//! auditor or a witness needs to hold the log to what it signed.

use super::auth::Caller;
use super::error::Failure;
use super::{AppState, params};
use crate::model::ApiError;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};

/// Refuses parameters a route does not take, so a typo is not silently ignored.
fn only(raw: Option<&str>, allowed: &[&str]) -> Result<Vec<(String, String)>, Failure> {
    Ok(params::only(raw, allowed)?)
}

/// A required whole number of at least 1.
fn count(pairs: &[(String, String)], name: &str) -> Result<u64, Failure> {
    let v = params::text(pairs, name).ok_or_else(|| {
        ApiError::invalid_query(format!("say which {name}: `{name}=N`")).with_field(name)
    })?;
    v.parse::<u64>()
        .ok()
        .filter(|n| *n >= 1 && i64::try_from(*n).is_ok())
        .ok_or_else(|| {
            ApiError::invalid_query(format!(
                "{name}=`{}` must be a whole number of at least 1",
                v.chars().take(32).collect::<String>()
            ))
            .with_field(name)
            .into()
        })
}

/// The newest signed checkpoint; signs one first if the tree grew since the last.
pub async fn checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("read checkpoints")?;
    only(raw.as_deref(), &[])?;
    let signer = state.signer.clone().ok_or_else(|| {
        ApiError::internal(
            "this server was started without a signing key, so it signs no checkpoints",
        )
    })?;
    let tenant = caller.tenant().to_string();
    let signed = signer.checkpoint(state.store.as_ref(), &tenant).await?;
    Ok(Json(signed).into_response())
}

/// Proof that entry `seq` is in the tree of `size` entries.
pub async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("read proofs")?;
    let pairs = only(raw.as_deref(), &["seq", "size"])?;
    let (seq, size) = (count(&pairs, "seq")?, count(&pairs, "size")?);
    let tenant = caller.tenant().to_string();
    let proof = state.store.inclusion_proof(&tenant, seq, size).await?;
    Ok(Json(proof).into_response())
}

/// Proof that the tree of `from` entries is a prefix of the tree of `to` entries.
pub async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("read proofs")?;
    let pairs = only(raw.as_deref(), &["from", "to"])?;
    let (from, to) = (count(&pairs, "from")?, count(&pairs, "to")?);
    let tenant = caller.tenant().to_string();
    let proof = state.store.consistency_proof(&tenant, from, to).await?;
    Ok(Json(proof).into_response())
}
