//! The proof routes, for witnesses (API.md "Proofs that hold against the operator").

use super::{Client, ClientError};
use crate::model::{ConsistencyProof, SignedCheckpoint};

impl Client {
    /// `GET /v1/checkpoint`: the newest signed checkpoint of the token's tenant.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, ClientError> {
        self.get("/v1/checkpoint", &[]).await
    }

    /// `GET /v1/proof/consistency?from=M&to=N`.
    pub async fn consistency(&self, from: u64, to: u64) -> Result<ConsistencyProof, ClientError> {
        self.get(
            "/v1/proof/consistency",
            &[("from", from.to_string()), ("to", to.to_string())],
        )
        .await
    }
}
