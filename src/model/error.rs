//! The JSON error shape every route answers with.

use serde::{Deserialize, Serialize};

/// The error codes of API.md "Conventions", each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    InvalidEvent,
    InvalidQuery,
    RateLimited,
    Internal,
    /// 408: the request did not arrive in time.
    RequestTimeout,
    /// 414: the request line is longer than the server reads.
    UriTooLong,
    /// 415: a body in a media type or encoding the route does not take.
    UnsupportedMediaType,
    /// 431: too many or too large request headers.
    HeadersTooLarge,
    /// 503: the server cannot do it now (the database cannot write); retry after `Retry-After`.
    Unavailable,
    /// 409: the log no longer matches what was signed (an integrity alarm); the message says
    /// what was found. Never a retry: someone has to look.
    Integrity,
    /// Anything a newer server sends that this build does not know.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status that carries this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::InvalidEvent | ErrorCode::InvalidQuery => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::UriTooLong => 414,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::HeadersTooLarge => 431,
            ErrorCode::Unavailable => 503,
            ErrorCode::Integrity => 409,
            ErrorCode::Internal | ErrorCode::Unknown => 500,
        }
    }
}

/// `{"error": {...}}`: what every non-2xx response carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

/// One error: a code, a sentence for a person, and where a batch item or field is at fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error with a code and a message, no index or field.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            index: None,
            field: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidQuery, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
    pub fn integrity(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Integrity, message)
    }
    /// Names the query field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// Names the batch index at fault.
    pub fn with_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}
