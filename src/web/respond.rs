//! How a [`WebError`] is answered: JSON (`{"status", "error", "message", "field"?, "fields"?}`)
//! for API routes and `/metrics`, an HTML error page for everything else; the handler error
//! wrappers ([`ApiError`], [`PageError`]) and the not-found / method-not-allowed fallbacks.
//!
//! It only maps errors to responses; it does not decide what is an error.

use axum::Json;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::html::error_page;

/// An error answered as JSON.
#[derive(Debug)]
pub(crate) struct ApiError(pub(crate) WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_error(&self.0)
    }
}

/// An error answered as an HTML page.
#[derive(Debug)]
pub(crate) struct PageError(pub(crate) WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        html_error(&self.0)
    }
}

pub(crate) fn json_error(e: &WebError) -> Response {
    let mut resp = (e.status(), Json(e.to_json())).into_response();
    if matches!(e, WebError::Unauthorized(_)) {
        resp.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer realm=\"fabsync\""),
        );
    }
    resp
}

pub(crate) fn html_error(e: &WebError) -> Response {
    (e.status(), error_page(e)).into_response()
}

/// Whether a path is answered in JSON.
pub(crate) fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/metrics"
}

pub(crate) async fn not_found(uri: Uri) -> Response {
    let e = WebError::NotFound(format!("no page or API route at {}", uri.path()));
    if is_api_path(uri.path()) {
        json_error(&e)
    } else {
        html_error(&e)
    }
}

pub(crate) async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Response {
    let e = WebError::MethodNotAllowed(format!("{} is not allowed on {}", method, uri.path()));
    if is_api_path(uri.path()) {
        json_error(&e)
    } else {
        html_error(&e)
    }
}
