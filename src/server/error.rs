//! Every failure leaves the server as the JSON error shape, never a panic or an HTML page.

use crate::model::{ApiError, ErrorBody, ErrorCode};
use crate::store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An [`ApiError`] on its way out as a response.
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed => Failure(ApiError::internal(
                "the server is shutting down; retry in a moment",
            )),
            StoreError::NotFound(why) => Failure(ApiError::not_found(why)),
            StoreError::BadRequest(why) => Failure(ApiError::invalid_query(why)),
            StoreError::Tampered(why) => {
                tracing::error!("integrity: {why}");
                Failure(ApiError::internal(why))
            }
            other => {
                tracing::error!("store error: {other}");
                Failure(ApiError::internal(
                    "the server could not complete the request; the details are in its log",
                ))
            }
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(ErrorBody { error: self.0 })).into_response()
    }
}

/// A response for a code and a sentence.
pub fn failure(code: ErrorCode, message: impl Into<String>) -> Response {
    Failure(ApiError::new(code, message)).into_response()
}
