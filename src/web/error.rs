//! The web layer's one error type: what a request did wrong or what failed while serving it, its
//! HTTP status, machine-readable class and JSON body, and how store, scheduler and engine errors
//! map onto it.
//!
//! It does not write responses (`respond.rs` does) and does not decide what is an error.

use axum::http::StatusCode;
use serde_json::json;

use crate::engine::EngineError;
use crate::scheduler::SchedulerError;
use crate::store::StoreError;

/// What a request did wrong, or what failed while serving it. Messages name the object and the
/// field; they never contain a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WebError {
    /// A fabric, run or task that does not exist, or an unknown path.
    #[error("{0}")]
    NotFound(String),
    /// Malformed input (bad JSON, a value of the wrong type, a listen address refused).
    #[error("{0}")]
    BadRequest(String),
    /// Fields this endpoint does not accept.
    #[error("unknown or read-only field(s): {}; accepted: {accepted}", .fields.join(", "))]
    UnknownFields {
        /// Every refused field, dotted (`cluster.user`).
        fields: Vec<String>,
        /// The accepted fields, for the message.
        accepted: String,
    },
    /// A setting out of range or of the wrong shape.
    #[error("{message}")]
    Invalid {
        /// The field, dotted (`limits.qps`).
        field: String,
        /// The full sentence (names the fabric and the field).
        message: String,
    },
    /// A body of a type this endpoint does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials fine, request refused (CSRF, cross-origin, foreign host).
    #[error("{0}")]
    Forbidden(String),
    /// The path exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// fabsync cannot take the request now (shutting down).
    #[error("{0}")]
    Unavailable(String),
    /// NetBox or the cluster failed while serving the request (preview).
    #[error("{0}")]
    Upstream(String),
    /// NetBox or the cluster did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// fabsync itself failed (store).
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) | Self::UnknownFields { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-readable class.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::UnknownFields { .. } => "unknown_fields",
            Self::Invalid { .. } => "invalid",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Unavailable(_) => "unavailable",
            Self::Upstream(_) => "upstream_failed",
            Self::Timeout(_) => "timeout",
            Self::Internal(_) => "internal",
        }
    }

    /// The JSON body of an API error.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = json!({
            "status": self.status().as_u16(),
            "error": self.code(),
            "message": self.to_string(),
        });
        match self {
            Self::Invalid { field, .. } => body["field"] = json!(field),
            Self::UnknownFields { fields, .. } => body["fields"] = json!(fields),
            _ => {}
        }
        body
    }

    pub(crate) fn fabric_not_found(name: &str) -> Self {
        Self::NotFound(format!("fabric {name:?} does not exist"))
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what } => WebError::NotFound(format!("{what} does not exist")),
            e => WebError::Internal(e.to_string()),
        }
    }
}

impl From<SchedulerError> for WebError {
    fn from(e: SchedulerError) -> Self {
        match e {
            SchedulerError::UnknownFabric(name) => WebError::fabric_not_found(&name),
            SchedulerError::ShuttingDown => WebError::Unavailable(e.to_string()),
            SchedulerError::Store(e) => e.into(),
        }
    }
}

impl From<EngineError> for WebError {
    fn from(e: EngineError) -> Self {
        match &e {
            EngineError::Store(_) => WebError::Internal(e.to_string()),
            EngineError::Deadline { .. } => WebError::Timeout(e.to_string()),
            _ => WebError::Upstream(e.to_string()),
        }
    }
}
