//! Retention: `GET`/`PUT /v1/retention` and `POST /v1/retention/prune` (admin).

use super::AppState;
use super::auth::Caller;
use super::error::Failure;
use crate::model::{ApiError, ErrorCode, Retention};
use crate::store::{ArchiveSink, DirArchive, Role, Store, StoreError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// The server's retention settings (`[retention]` in the config file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// A tenant's window until an admin sets one: 395 days, a compliance year and a month.
    #[serde(default = "default_days")]
    pub default_days: u32,
    /// No tenant may keep less; configurable upward only (never below 30).
    #[serde(default = "floor")]
    pub floor_days: u32,
    /// When the daily prune runs, UTC, `HH:MM`.
    #[serde(default = "prune_at")]
    pub prune_at: String,
    /// Where pruned entries are archived (gzip NDJSON and a manifest) before they are removed.
    #[serde(default)]
    pub archive_dir: Option<PathBuf>,
}

fn default_days() -> u32 {
    395
}
fn floor() -> u32 {
    MIN_FLOOR_DAYS
}
fn prune_at() -> String {
    "03:00".into()
}

/// The floor below which no configuration can go.
pub const MIN_FLOOR_DAYS: u32 = 30;

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            default_days: default_days(),
            floor_days: floor(),
            prune_at: prune_at(),
            archive_dir: None,
        }
    }
}

impl RetentionConfig {
    /// Where a prune writes what it removes: the archive directory, when one is configured.
    pub fn archive(&self) -> Option<Arc<dyn ArchiveSink>> {
        self.archive_dir
            .as_ref()
            .map(|d| Arc::new(DirArchive::new(d)) as Arc<dyn ArchiveSink>)
    }

    /// Checks the settings at start-up: a floor under 30 days or a bad time is refused.
    pub fn check(&self) -> Result<chrono::NaiveTime, RetentionConfigError> {
        if self.floor_days < MIN_FLOOR_DAYS {
            return Err(RetentionConfigError::FloorTooLow(self.floor_days));
        }
        if self.default_days < self.floor_days {
            return Err(RetentionConfigError::DefaultBelowFloor {
                default: self.default_days,
                floor: self.floor_days,
            });
        }
        chrono::NaiveTime::parse_from_str(&self.prune_at, "%H:%M")
            .map_err(|_| RetentionConfigError::NotATime(self.prune_at.clone()))
    }
}

/// A `[retention]` setting the server refuses at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionConfigError {
    #[error("floor_days = {0} is below the minimum of {MIN_FLOOR_DAYS} days")]
    FloorTooLow(u32),
    #[error("default_days = {default} is below floor_days = {floor}")]
    DefaultBelowFloor { default: u32, floor: u32 },
    #[error("prune_at = {0:?} is not a time such as \"03:00\"")]
    NotATime(String),
}

/// A tenant's window: its own, or the server's default.
pub async fn days_for(
    store: &dyn Store,
    config: &RetentionConfig,
    tenant: &str,
) -> Result<u32, StoreError> {
    Ok(store
        .retention_days(tenant)
        .await?
        .unwrap_or(config.default_days)
        .max(config.floor_days))
}

/// Prunes every tenant by its own window as of `now`, together (see [`Store::prune_tenants`]).
pub async fn prune_every_tenant(
    store: &dyn Store,
    config: &RetentionConfig,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Result<crate::model::PruneReport, StoreError>)>, StoreError> {
    let mut plan = Vec::new();
    for tenant in store.tenants().await? {
        let days = days_for(store, config, &tenant).await?;
        plan.push((tenant, now - Duration::days(i64::from(days))));
    }
    Ok(store.prune_tenants(&plan, config.archive()).await)
}

/// Prunes one tenant by its window as of `now`.
pub async fn prune_tenant(
    store: &dyn Store,
    config: &RetentionConfig,
    tenant: &str,
    now: DateTime<Utc>,
) -> Result<crate::model::PruneReport, StoreError> {
    let days = days_for(store, config, tenant).await?;
    store
        .prune(
            tenant,
            now - Duration::days(i64::from(days)),
            config.archive(),
        )
        .await
}

/// `GET /v1/retention`.
pub async fn get(State(state): State<AppState>, caller: Caller) -> Result<Response, Failure> {
    caller.require(&[Role::Admin], "read the retention settings")?;
    let tenant = caller.tenant().to_string();
    let config = state.retention.clone();
    let s = state.store.as_ref();
    let info = Retention {
        days: days_for(s, &config, &tenant).await?,
        floor_days: config.floor_days,
        last_prune: s.last_prune(&tenant).await?,
    };
    Ok(Json(info).into_response())
}

/// The body of `PUT /v1/retention`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRetention {
    days: u32,
}

/// `PUT /v1/retention`.
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<SetRetention>, JsonRejection>,
) -> Result<Response, Failure> {
    caller.require(&[Role::Admin], "change the retention settings")?;
    let Json(req) =
        body.map_err(|e| super::error::body_rejection("the body must be {\"days\": N}", e))?;
    let floor = state.retention.floor_days;
    if req.days < floor {
        return Err(ApiError::new(ErrorCode::InvalidQuery, format!("{} days is below this server's floor of {floor} days; audit logs must be kept at least that long", req.days))
            .with_field("days")
            .into());
    }
    if req.days > 36_500 {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "keep at most 36,500 days (100 years)",
        )
        .with_field("days")
        .into());
    }
    let tenant = caller.tenant().to_string();
    let config = state.retention.clone();
    let s = state.store.as_ref();
    s.set_retention_days(&tenant, req.days).await?;
    let info = Retention {
        days: req.days,
        floor_days: config.floor_days,
        last_prune: s.last_prune(&tenant).await?,
    };
    Ok(Json(info).into_response())
}

/// What `POST /v1/retention/prune` takes: no body, or `{}` (a prune has no options; the window
/// is the tenant's own). Anything else is refused before a row is touched.
const PRUNE_SHAPE: &str = "the body must be empty or {} (a prune takes no options: the window is the tenant's retention setting)";

/// `POST /v1/retention/prune`: runs the caller's tenant's prune now. The body is read strictly:
/// a prune removes entries, so a request that is not exactly what the contract says does nothing.
pub async fn prune_now(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    caller.require(&[Role::Admin], "prune the log")?;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Failure(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("{PRUNE_SHAPE}; this one is larger than the limit"),
        )),
        _ if super::error::timed_out(&e) => super::error::body_too_slow(),
        _ => Failure(ApiError::bad_request(format!(
            "{PRUNE_SHAPE}: {}",
            e.body_text()
        ))),
    })?;
    if !body.is_empty() {
        let json = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(Failure(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("{PRUNE_SHAPE}, sent as Content-Type: application/json"),
            )));
        }
        // Exactly `{}`: serde would also take `[]` for an empty struct.
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Object(members)) if members.is_empty() => {}
            Ok(_) => return Err(Failure(ApiError::bad_request(PRUNE_SHAPE))),
            Err(e) => {
                return Err(Failure(ApiError::bad_request(format!(
                    "{PRUNE_SHAPE}: {e}"
                ))));
            }
        }
    }
    let tenant = caller.tenant().to_string();
    let config = state.retention.clone();
    let report = prune_tenant(state.store.as_ref(), &config, &tenant, Utc::now()).await?;
    Ok(Json(report).into_response())
}
