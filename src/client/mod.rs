//! The typed HTTP client for the API (API.md), shared by the TUI and the CLI commands.

use crate::model::{Entry, ErrorBody, FacetField, Facets, Page, Query, Stats};
use serde::de::DeserializeOwned;
use std::time::Duration;

pub mod cache;
mod download;
mod follow;
mod ingest;
mod proofs;
pub mod save;
pub mod source;
pub mod sse;
mod verify;
pub use download::{DownloadError, Sink};
pub use follow::{Live, LiveStream, StreamItem, follow};
pub use ingest::Refused;

/// What went wrong talking to the server, in terms a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer: connection refused, DNS, TLS, timeout.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// 401: the token is missing, wrong or revoked.
    #[error("the server refused the token (401): {0}")]
    Unauthorized(String),
    /// 403: the token's role may not do this.
    #[error("the token's role may not do this (403): {0}")]
    Forbidden(String),
    /// 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// 422 on a query: the server rejected the filter.
    #[error("the server rejected the filter: {0}")]
    InvalidQuery(String),
    /// Any other error status, with the server's own message.
    #[error("the server answered {status}: {message}")]
    Server { status: u16, message: String },
    /// 409 `integrity`: the server says its log no longer matches what it signed.
    #[error("INTEGRITY ALARM from the server: {0}")]
    Integrity(String),
    /// A 2xx whose body is not what the API promises.
    #[error("the server's answer could not be read: {0}")]
    Decode(String),
}

impl ClientError {
    /// Whether trying again later can help (the network or the server may recover).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } => true,
            ClientError::Server { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// What the user should do about it, as one sentence.
    pub fn advice(&self) -> &'static str {
        match self {
            ClientError::Unreachable { .. } => {
                "check the URL and that the server runs; retrying in the background"
            }
            ClientError::Unauthorized(_) => {
                "pass a valid token: --token, TRAILSCOPE_TOKEN or the profile's token"
            }
            ClientError::Forbidden(_) => "use a token with the auditor or admin role",
            ClientError::NotFound(_) => "the entry may have been pruned",
            ClientError::InvalidQuery(_) => "fix the filter with : and try again",
            ClientError::Server { .. } => "the server's log has the details; retrying",
            ClientError::Integrity(_) => {
                "the log was changed behind the server's back; run `trailscope verify --key`"
            }
            ClientError::Decode(_) => "the server may run a different API version",
        }
    }
}

/// A client for one server and token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// The filter as request parameters: the query language in one `filter` parameter.
pub fn filter_params(q: &Query) -> Vec<(&'static str, String)> {
    if q.is_empty() {
        Vec::new()
    } else {
        vec![("filter", q.to_string())]
    }
}

/// The CA certificates `--ca-cert` names: when set, the only roots every client of this
/// process trusts (a private CA, or a self-signed server certificate).
static TRUSTED_CA: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();

/// Makes the PEM certificates in `pem` the only roots of trust for every [`Client`] this process
/// builds afterwards (`--ca-cert`). Returns how many certificates were read; set once.
pub fn trust_only(pem: &[u8]) -> Result<usize, TrustError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(TrustError::NotPem)?;
    if certs.is_empty() {
        return Err(TrustError::Empty);
    }
    let n = certs.len();
    TRUSTED_CA.set(certs).map_err(|_| TrustError::AlreadySet)?;
    Ok(n)
}

/// Why `--ca-cert`'s file cannot be the roots of trust.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("not a PEM certificate bundle: {0}")]
    NotPem(reqwest::Error),
    #[error("it holds no PEM certificate")]
    Empty,
    #[error("the trusted CA is already set")]
    AlreadySet,
}

impl Client {
    /// A client for `base` (e.g. `http://127.0.0.1:7807`) with a bearer token.
    pub fn new(base: &str, token: &str) -> Result<Client, ClientError> {
        check_base(base).map_err(|e| ClientError::Unreachable {
            url: base.to_string(),
            reason: e.to_string(),
        })?;
        let mut builder = reqwest::Client::builder();
        if let Some(roots) = TRUSTED_CA.get() {
            builder = builder.tls_certs_only(roots.iter().cloned());
        }
        let http = builder
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("trailscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: base.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let url = format!("{}{}", self.base, path);
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .query(params)
            .send()
            .await
            .map_err(|e| unreachable(&self.base, &e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return resp
                .json::<T>()
                .await
                .map_err(|e| ClientError::Decode(e.to_string()));
        }
        let text = resp.text().await.unwrap_or_default();
        Err(status_error(status, &text))
    }

    /// One page of `GET /v1/events`, newest first.
    pub async fn events(
        &self,
        q: &Query,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, ClientError> {
        let mut params = filter_params(q);
        params.push(("limit", limit.to_string()));
        if let Some(c) = cursor {
            params.push(("cursor", c.to_string()));
        }
        self.get("/v1/events", &params).await
    }

    /// One entry by id.
    pub async fn entry(&self, id: &str) -> Result<Entry, ClientError> {
        let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        self.get(&format!("/v1/events/{id}"), &[]).await
    }

    /// The values of one field under the filter (the field's own terms excluded).
    pub async fn facets(
        &self,
        field: FacetField,
        q: &Query,
        limit: usize,
    ) -> Result<Facets, ClientError> {
        let mut params = filter_params(&q.without(field));
        params.push(("limit", limit.to_string()));
        self.get(&format!("/v1/facets/{}", field.as_str()), &params)
            .await
    }

    /// The token's tenant's retention window and last prune (admin only).
    pub async fn retention(&self) -> Result<crate::model::Retention, ClientError> {
        self.get("/v1/retention", &[]).await
    }

    /// `GET /healthz`: whether the server answers at all (no token needed).
    pub async fn health(&self) -> Result<(), ClientError> {
        let resp = self
            .http
            .get(format!("{}/healthz", self.base))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .map_err(|e| unreachable(&self.base, &e))?;
        match resp.status().as_u16() {
            s if (200..300).contains(&s) => Ok(()),
            s => Err(status_error(s, "")),
        }
    }

    /// The count and activity histogram under the filter.
    pub async fn stats(&self, q: &Query, buckets: usize) -> Result<Stats, ClientError> {
        let mut params = filter_params(q);
        params.push(("buckets", buckets.clamp(1, 1000).to_string()));
        self.get("/v1/stats", &params).await
    }
}

/// The error a non-2xx answer stands for, with the server's own sentence.
fn status_error(status: u16, body: &str) -> ClientError {
    let parsed = serde_json::from_str::<ErrorBody>(body).ok();
    if let Some(b) = &parsed
        && b.error.code == crate::model::ErrorCode::Integrity
    {
        return ClientError::Integrity(b.error.message.clone());
    }
    let message = parsed
        .map(|b| b.error.message)
        .unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        401 => ClientError::Unauthorized(message),
        403 => ClientError::Forbidden(message),
        404 => ClientError::NotFound(message),
        400 | 422 => ClientError::InvalidQuery(message),
        _ => ClientError::Server { status, message },
    }
}

/// No answer from `base`: connection refused, DNS, TLS, timeout, a transfer broken off.
fn unreachable(base: &str, e: &reqwest::Error) -> ClientError {
    ClientError::Unreachable {
        url: base.to_string(),
        reason: reqwest_reason(e),
    }
}

/// The innermost cause of a reqwest error: "connection refused" says more than "error sending request".
fn reqwest_reason(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    let inner = source.to_string();
    if e.is_timeout() {
        "no answer in time".to_string()
    } else if inner.contains("InvalidContentType") || inner.contains("corrupt message") {
        // rustls met plain HTTP where it expected TLS.
        "the server answers plain HTTP, not HTTPS: use an http:// URL".to_string()
    } else {
        inner
    }
}

/// A server URL [`check_base`] refuses, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--server `{base}` {fault}: write it as http://HOST:PORT or https://HOST")]
pub struct BadServerUrl {
    pub base: String,
    pub fault: UrlFault,
}

/// What is wrong with a server URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlFault {
    #[error("is not a URL")]
    NotAUrl,
    #[error("has no http:// or https://")]
    NoScheme,
    #[error("names no host")]
    NoHost,
    #[error("has a query or fragment")]
    QueryOrFragment,
}

/// Checks a server URL before anything is sent: `http://` or `https://`, a host, nothing else.
/// The error is one sentence that says what to write instead.
pub fn check_base(base: &str) -> Result<(), BadServerUrl> {
    let hint = |fault| BadServerUrl {
        base: base.to_string(),
        fault,
    };
    let url = reqwest::Url::parse(base).map_err(|_| hint(UrlFault::NotAUrl))?;
    match url.scheme() {
        "http" | "https" => {}
        // `127.0.0.1:7807` parses with `127.0.0.1` as its scheme.
        _ => return Err(hint(UrlFault::NoScheme)),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(hint(UrlFault::NoHost));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(hint(UrlFault::QueryOrFragment));
    }
    Ok(())
}
