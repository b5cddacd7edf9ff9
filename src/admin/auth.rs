//! The admin listener's bearer token: read from a file (never from the configuration itself),
//! compared in constant time, and never logged or shown (its `Debug` is redacted).

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::Admin;
use crate::error::{Error, Kind};

/// The token requests must carry.
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(redacted)")
    }
}

impl Token {
    /// Reads the token from `path` (surrounding whitespace ignored); an empty file is refused.
    pub fn read(path: &Path) -> Result<Token, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                Kind::Usage,
                format!("cannot read the admin token file {}", path.display()),
            )
            .with_hint("check `admin.token_file`")
            .with_source(e)
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(
                Error::new(Kind::Usage, format!("the admin token file {} is empty", path.display()))
                    .with_hint("write a long random token into it, e.g. `openssl rand -hex 32`"),
            );
        }
        Ok(Token(token.to_string()))
    }

    /// Whether `given` is the token (in time independent of where they differ).
    fn matches(&self, given: &str) -> bool {
        self.0.as_bytes().ct_eq(given.as_bytes()).into()
    }
}

/// Lets a request through when no token is set or it carries `Authorization: Bearer <token>`;
/// otherwise answers 401 with a `WWW-Authenticate` challenge.
pub async fn require(State(admin): State<Arc<Admin>>, request: Request, next: Next) -> Response {
    let Some(token) = &admin.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if token.matches(given.trim()) => next.run(request).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required: send `Authorization: Bearer <token>` with the token of `admin.token_file`\n",
        )
            .into_response(),
    }
}
