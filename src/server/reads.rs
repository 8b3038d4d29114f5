//! `GET /v1/facets/{field}`, `GET /v1/stats`, `GET /v1/verify`: what the filter panes, the
//! count, the histogram and the integrity check read.

use super::auth::Caller;
use super::error::Failure;
use super::{AppState, params};
use crate::model::{ApiError, FacetField};
use crate::proof::VerifierKey;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};

/// The values of one field under the filter, most frequent first.
pub async fn facets(
    State(state): State<AppState>,
    caller: Caller,
    Path(field): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("read facets")?;
    let field = FacetField::parse(&field).ok_or_else(|| {
        let names: Vec<&str> = FacetField::ALL.iter().map(|f| f.as_str()).collect();
        ApiError::not_found(format!(
            "there is no facet `{}`; the facets are {}",
            field.chars().take(32).collect::<String>(),
            names.join(", ")
        ))
    })?;
    let (query, rest) = params::filter(raw.as_deref(), &["limit"])?;
    let limit = params::number(&rest, "limit", 100, 1, 10_000)?;
    let tenant = caller.tenant().to_string();
    let now = chrono::Utc::now();
    let facets = state
        .store
        .facets(&tenant, field, &query, limit, now)
        .await?;
    Ok(Json(facets).into_response())
}

/// The count under the filter and its activity histogram.
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("read stats")?;
    let (query, rest) = params::filter(raw.as_deref(), &["buckets"])?;
    let buckets = params::number(&rest, "buckets", 60, 1, 1000)?;
    let tenant = caller.tenant().to_string();
    let now = chrono::Utc::now();
    let stats = state.store.stats(&tenant, &query, buckets, now).await?;
    Ok(Json(stats).into_response())
}

/// Walks the caller's tenant's chain and tree and checks every checkpoint: with the key given
/// as `?key=<verifier key>` (pinned by the caller), else with the server's own.
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("verify the chain")?;
    let pairs = params::only(raw.as_deref(), &["key"])?;
    let key = match params::text(&pairs, "key") {
        Some(text) => Some(
            VerifierKey::parse(text)
                .map_err(|e| ApiError::invalid_query(e.to_string()).with_field("key"))?,
        ),
        None => state
            .signer
            .as_ref()
            .map(|s| s.key().verifier_for(caller.tenant())),
    };
    let tenant = caller.tenant().to_string();
    let Some(signer) = &state.signer else {
        let report = state.store.verify(&tenant, key.as_ref()).await?;
        return Ok(Json(report).into_response());
    };
    // What grew since the last checkpoint is signed first (an honest log is never "unsigned"),
    // unless the signer refuses: then the walk says where the log left what it signed.
    match signer.checkpoint(state.store.as_ref(), &tenant).await {
        Ok(_) | Err(crate::store::StoreError::Tampered(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let mut report = state
        .store
        .verify_remembered(&tenant, key.as_ref(), signer.remembered(&tenant))
        .await?;
    if let Some(alarm) = signer.alarm(&tenant) {
        if report.ok {
            report.ok = false;
            report.head = None;
            report.reason = Some("signer_refused".into());
        }
        report.problems.push(format!(
            "the server refuses to sign this log: {}",
            crate::text::inert(&alarm)
        ));
    }
    Ok(Json(report).into_response())
}
