//! `GET /v1/exports`: the tenant's exports and evidence packs, newest first, as the log itself
//! recorded them (see [`crate::store::history`]).

use super::auth::Caller;
use super::error::Failure;
use super::{AppState, params};
use crate::model::ExportList;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};

/// Lists them; `limit` (1–1000, default 50) and `before_seq` (the `seq` of the last one of the
/// previous page) page through older ones.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    caller.require_reader("read the export history")?;
    let pairs = params::only(raw.as_deref(), &["limit", "before_seq"])?;
    let limit = params::number(&pairs, "limit", 50, 1, 1000)?;
    let before = match params::text(&pairs, "before_seq") {
        None => None,
        Some(_) => Some(params::number(&pairs, "before_seq", 0, 1, usize::MAX)? as u64),
    };
    let tenant = caller.tenant().to_string();
    let now = chrono::Utc::now();
    let exports =
        crate::store::history::exports(state.store.as_ref(), &tenant, limit, before, now).await?;
    Ok(Json(ExportList { exports }).into_response())
}
