//! A failed HTTP request as a `StoreError`: the status decides the kind (429, 503, 502, 504
//! and broken connections are transient; 404 not found; 400, 409, 412, 413 and 422 a refused
//! record; the rest permanent), `Retry-After` is kept, and the service's error JSON
//! (`{"error":{"code":"0x80040265","message":"..."}}`) gives the code and the message.

use std::time::Duration;

use serde::Deserialize;

use crate::store::{ErrorKind, StoreError};

#[derive(Deserialize)]
struct Body {
    error: Inner,
}

#[derive(Deserialize)]
struct Inner {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The kind of failure an HTTP status stands for.
pub fn kind_of(status: reqwest::StatusCode) -> ErrorKind {
    match status.as_u16() {
        408 | 429 | 500 | 502 | 503 | 504 => ErrorKind::Transient,
        404 => ErrorKind::NotFound,
        400 | 409 | 412 | 413 | 422 => ErrorKind::Rejected,
        _ => ErrorKind::Permanent,
    }
}

/// `Retry-After` in seconds (an HTTP date is read as "now").
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    match value.parse::<u64>() {
        Ok(s) => Some(Duration::from_secs(s)),
        Err(_) => Some(Duration::ZERO),
    }
}

/// The error of an answer that is not a success; `what` names the request's target.
pub async fn from_response(what: &str, response: reqwest::Response) -> StoreError {
    let status = response.status();
    let wait = retry_after(response.headers());
    let text = response.text().await.unwrap_or_default();
    let (code, message) = match serde_json::from_str::<Body>(&text) {
        Ok(b) => (Some(b.error.code).filter(|c| !c.is_empty()), b.error.message),
        Err(_) => (None, text.chars().take(300).collect()),
    };
    let mut err = StoreError::new(
        kind_of(status),
        format!(
            "{what} answered {status}{}{}",
            code.as_deref().map(|c| format!(" (code {c})")).unwrap_or_default(),
            if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            }
        ),
    );
    err.code = code.or_else(|| Some(status.as_u16().to_string()));
    err.retry_after = wait;
    if err.kind == ErrorKind::Transient {
        err.hint = Some("the service is busy or limiting requests; dualsync waits and retries by itself".into());
    }
    err
}

/// The error of a request that got no answer (refused, reset, timed out).
pub fn from_transport(what: &str, e: reqwest::Error) -> StoreError {
    let mut err = StoreError::new(
        ErrorKind::Transient,
        format!(
            "{what} could not be reached: {}",
            crate::store::sql::redact_in(&e.to_string())
        ),
    )
    .with_hint("check the URL and the network; dualsync retries by itself");
    err.source = Some(std::sync::Arc::new(e));
    err
}
