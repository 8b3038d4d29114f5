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

/// Long enough for a very large export; a stalled server is still noticed by the connection.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

impl Client {
    /// Streams `GET /v1/export` for the filter into `sink`; returns the bytes received.
    pub async fn export(
        &self,
        q: &Query,
        format: Format,
        sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u64, DownloadError> {
        let mut params = super::filter_params(q);
        params.push(("format", format.as_str().to_string()));
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
        sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u64, DownloadError> {
        let body = serde_json::json!({"kind": kind, "from": from, "to": to});
        let req = self
            .http
            .post(format!("{}/v1/evidence-packs", self.base))
            .json(&body);
        self.stream(req, sink).await
    }

    async fn stream(
        &self,
        req: reqwest::RequestBuilder,
        sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u64, DownloadError> {
        let unreachable = |e: reqwest::Error| ClientError::Unreachable {
            url: self.base.clone(),
            reason: reqwest_reason(&e),
        };
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
