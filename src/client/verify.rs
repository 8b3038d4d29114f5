//! Asking for the chain's verdict (`trailscope verify`): `GET /v1/verify` read as its NDJSON
//! stream, progress lines handed to the caller as they come, the report at the end.

use super::{Client, ClientError, status_error, unreachable};
use crate::model::{ErrorBody, VerifyLine, VerifyProgress, VerifyReport};
use std::time::Duration;

/// Long enough for a walk of any log; a stalled server is noticed by [`SILENCE`].
const WALK_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The server tells its progress every second: this long without a line, it is gone.
const SILENCE: Duration = Duration::from_secs(60);
/// The longest line read (a report naming every problem it found is a few KiB).
const MAX_LINE: usize = 16 << 20;

impl Client {
    /// `GET /v1/verify`; with `key`, the server checks every checkpoint's signature with it.
    pub async fn verify(&self, key: Option<&str>) -> Result<VerifyReport, ClientError> {
        self.verify_watched(key, &mut |_| {}).await
    }

    /// [`Client::verify`], handing `progress` each count the server tells as it walks (about
    /// once a second). A server that answers plain JSON (an older one) is read as such.
    pub async fn verify_watched(
        &self,
        key: Option<&str>,
        progress: &mut (dyn FnMut(VerifyProgress) + Send),
    ) -> Result<VerifyReport, ClientError> {
        let params: Vec<(&str, &str)> = key.map(|k| ("key", k)).into_iter().collect();
        let mut resp = self
            .http
            .get(format!("{}/v1/verify", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/x-ndjson")
            .query(&params)
            .timeout(WALK_TIMEOUT)
            .send()
            .await
            .map_err(|e| unreachable(&self.base, &e))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let text = resp.text().await.unwrap_or_default();
            return Err(status_error(status, &text));
        }
        let ndjson = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/x-ndjson"));
        if !ndjson {
            return resp
                .json::<VerifyReport>()
                .await
                .map_err(|e| ClientError::Decode(e.to_string()));
        }
        let mut buf: Vec<u8> = Vec::new();
        // How much of `buf` holds no line end: a long line arriving in many chunks is searched once.
        let mut scanned = 0;
        loop {
            let chunk = match tokio::time::timeout(SILENCE, resp.chunk()).await {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => return Err(self.broken("the answer ended before its report")),
                Ok(Err(e)) => return Err(unreachable(&self.base, &e)),
                Err(_) => {
                    return Err(self.broken(&format!(
                        "no word from the server for {} s",
                        SILENCE.as_secs()
                    )));
                }
            };
            buf.extend_from_slice(&chunk);
            while let Some(end) = buf[scanned..].iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=scanned + end).collect();
                scanned = 0;
                if line.trim_ascii().is_empty() {
                    continue;
                }
                match serde_json::from_slice::<VerifyLine>(&line) {
                    Ok(VerifyLine::Progress(p)) => progress(p),
                    Ok(VerifyLine::Report(report)) => return Ok(report),
                    Ok(VerifyLine::Error(error)) => {
                        let status = error.code.status();
                        let body = serde_json::to_string(&ErrorBody { error }).unwrap_or_default();
                        return Err(status_error(status, &body));
                    }
                    Err(e) => return Err(ClientError::Decode(e.to_string())),
                }
            }
            scanned = buf.len();
            if buf.len() > MAX_LINE {
                return Err(ClientError::Decode(format!(
                    "a line of the verify stream is longer than {} MiB",
                    MAX_LINE >> 20
                )));
            }
        }
    }

    /// The stream broke off before its last line.
    fn broken(&self, why: &str) -> ClientError {
        ClientError::Unreachable {
            url: self.base.clone(),
            reason: why.to_string(),
        }
    }
}
