//! A failed HTTP request as a `StoreError`: the status decides the kind (429, 503, 502, 504
//! and broken connections are transient; 404 not found; 400, 409, 412, 413 and 422 a refused
//! record; the rest permanent), `Retry-After` is kept, and the service's error JSON
//! (`{"error":{"code":"0x80040265","message":"..."}}`, with finance and operations'
//! `innererror`) gives the code and the message.

use std::time::Duration;

use crate::store::{ErrorKind, StoreError};

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
    let (code, message) = match error_of(&text) {
        Some((code, message)) => (Some(code).filter(|c| !c.is_empty()), message),
        None => (None, text.chars().take(300).collect()),
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

/// `(code, message)` of an OData error object in `body`, if it is one. Finance and operations
/// says little in `message` ("An error has occurred.") and the reason in
/// `innererror.message`; both are kept, the reason first.
pub fn error_of(body: &str) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        innererror: Option<Innermost>,
    }
    #[derive(serde::Deserialize)]
    struct Innermost {
        #[serde(default)]
        message: String,
    }
    let b: Body = serde_json::from_str(body.trim()).ok()?;
    let message = match b.error.innererror.map(|i| i.message).filter(|m| !m.is_empty()) {
        Some(inner) if inner != b.error.message && !b.error.message.is_empty() => {
            format!("{inner} ({})", b.error.message)
        }
        Some(inner) => inner,
        None => b.error.message,
    };
    Some((b.error.code, message))
}
