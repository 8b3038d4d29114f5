//! Streaming downloads: exports and evidence packs, chunk by chunk into a sink, never whole.

use super::{Client, ClientError, reqwest_reason, status_error};
use crate::export::Format;
use crate::model::Query;
use std::time::Duration;

/// A download that failed: the server said no, or writing what arrived failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{0}")]
    Client(#[from] ClientError),
    #[error("the transfer broke off: {0}")]
    Interrupted(String),
    #[error("{0}")]
    Write(#[from] std::io::Error),
}

/// Where a download's chunks go, in order; `Send` so a download can run on any task.
pub type Sink<'a> = dyn FnMut(&[u8]) -> std::io::Result<()> + Send + 'a;

/// Long enough for a very large export; a stalled server is still noticed by the connection.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

impl Client {
    /// Streams `GET /v1/export` for the filter into `sink`; returns the bytes received.
    pub async fn export(
        &self,
        q: &Query,
        format: Format,
        trailer: bool,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        self.export_named(q, format, None, trailer, sink).await
    }

    /// [`Client::export`] under a name the export history shows.
    pub async fn export_named(
        &self,
        q: &Query,
        format: Format,
        name: Option<&str>,
        trailer: bool,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        let mut params = super::filter_params(q);
        params.push(("format", format.as_str().to_string()));
        if let Some(n) = name {
            params.push(("name", n.to_string()));
        }
        if trailer {
            // CSV and NDJSON end with their proof, which the caller splits off.
            params.push(("proof", "trailer".to_string()));
        }
        let req = self
            .http
            .get(format!("{}/v1/export", self.base))
            .query(&params);
        self.stream(req, sink).await
    }

    /// Streams `POST /v1/evidence-packs` into `sink`; returns the bytes received.
    pub async fn evidence_pack(
        &self,
        kind: &str,
        from: &str,
        to: &str,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        let body = crate::model::PackRequest {
            kind: kind.into(),
            from: Some(from.into()),
            to: Some(to.into()),
            ..Default::default()
        };
        self.pack(&body, sink).await
    }

    /// Streams `POST /v1/evidence-packs` for any request (a custom pack, a named one) into
    /// `sink`; returns the bytes received.
    pub async fn pack(
        &self,
        body: &crate::model::PackRequest,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        let req = self
            .http
            .post(format!("{}/v1/evidence-packs", self.base))
            .json(body);
        self.stream(req, sink).await
    }

    /// `GET /v1/exports`: the newest `limit` exports and packs.
    pub async fn exports(&self, limit: usize) -> Result<crate::model::ExportList, ClientError> {
        self.get("/v1/exports", &[("limit", limit.to_string())])
            .await
    }

    /// The oldest entry still in the log (where the chain starts after a prune).
    pub async fn oldest(&self) -> Result<Option<crate::model::Entry>, ClientError> {
        let page: crate::model::Page = self
            .get(
                "/v1/events",
                &[("order", "asc".to_string()), ("limit", "1".to_string())],
            )
            .await?;
        Ok(page.entries.into_iter().next())
    }

    /// `POST /v1/retention/prune`.
    pub async fn prune(&self) -> Result<crate::model::PruneReport, ClientError> {
        self.post_admin("/v1/retention/prune", &serde_json::json!({}))
            .await
    }

    /// `POST /v1/pseudonymise`: `{"actor_id": …}` or `{"email": …}`.
    pub async fn pseudonymise(
        &self,
        who: &crate::store::Identity,
    ) -> Result<crate::model::PseudonymReport, ClientError> {
        let body = match who {
            crate::store::Identity::ActorId(id) => serde_json::json!({ "actor_id": id }),
            crate::store::Identity::Email(email) => serde_json::json!({ "email": email }),
        };
        self.post_admin("/v1/pseudonymise", &body).await
    }

    /// A POST of one JSON body whose answer is one JSON value; generous timeout, as these
    /// rewrite or remove many entries.
    async fn post_admin<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ClientError> {
        let unreachable = |e: reqwest::Error| super::unreachable(&self.base, &e);
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .timeout(DOWNLOAD_TIMEOUT)
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(unreachable)?;
        if !(200..300).contains(&status) {
            return Err(status_error(status, &text));
        }
        serde_json::from_str(&text).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn stream(
        &self,
        req: reqwest::RequestBuilder,
        sink: &mut Sink<'_>,
    ) -> Result<u64, DownloadError> {
        let unreachable = |e: reqwest::Error| super::unreachable(&self.base, &e);
        let mut resp = req
            .bearer_auth(&self.token)
            .timeout(DOWNLOAD_TIMEOUT)
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let text = resp.text().await.unwrap_or_default();
            return Err(status_error(status, &text).into());
        }
        let mut total = 0u64;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    sink(&chunk)?;
                    total += chunk.len() as u64;
                }
                Ok(None) => return Ok(total),
                Err(e) => return Err(DownloadError::Interrupted(reqwest_reason(&e))),
            }
        }
    }
}
