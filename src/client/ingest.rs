//! Posting events: what `trailscope ingest` needs.

use super::{Client, ClientError, status_error};
use crate::model::{AppendResponse, ErrorBody};

/// A batch the server refused, with the batch index of the event at fault when it named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub error: ClientError,
    pub index: Option<usize>,
    pub field: Option<String>,
    /// The server's own sentence, when it sent the error shape.
    pub message: Option<String>,
}

impl Client {
    /// `POST /v1/events` with an NDJSON body (at most 1000 lines, 16 MiB).
    pub async fn append_ndjson(&self, body: String) -> Result<AppendResponse, Refused> {
        let refused = |error| Refused {
            error,
            index: None,
            field: None,
            message: None,
        };
        let resp = self
            .http
            .post(format!("{}/v1/events", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .map_err(|e| refused(super::unreachable(&self.base, &e)))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| refused(super::unreachable(&self.base, &e)))?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text)
                .map_err(|e| refused(ClientError::Decode(e.to_string())));
        }
        let detail = serde_json::from_str::<ErrorBody>(&text).ok();
        Err(Refused {
            error: status_error(status, &text),
            index: detail.as_ref().and_then(|b| b.error.index),
            field: detail.as_ref().and_then(|b| b.error.field.clone()),
            message: detail.map(|b| b.error.message),
        })
    }
}
