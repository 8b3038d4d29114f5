//! `GET /v1/facets/{field}`, `GET /v1/stats`: what the filter panes, the count and the
//! histogram read (`GET /v1/verify` is in `verify.rs`).

use super::auth::Caller;
use super::error::Failure;
use super::{AppState, params};
use crate::model::{ApiError, FacetField};
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
