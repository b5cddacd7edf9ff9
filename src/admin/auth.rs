//! The admin listener's bearer token: read from a file (never from the configuration itself),
//! compared in constant time, and never logged or shown (its `Debug` is redacted). Browsers
//! cannot send a bearer header, so the status page's sign-in form (`/login`) sets it as an
//! HttpOnly, SameSite=Strict cookie that is accepted instead. And a guard against requests
//! another site's page makes a browser send (`same_origin`).

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
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

/// The cookie the sign-in form sets.
pub const COOKIE: &str = "dualsync_token";

/// Lets a request through when no token is set or it carries `Authorization: Bearer <token>`
/// (or the sign-in cookie); otherwise answers 401 with a `WWW-Authenticate` challenge, or for
/// the status page sends a browser to the sign-in form.
pub async fn require(State(admin): State<Arc<Admin>>, request: Request, next: Next) -> Response {
    let Some(token) = &admin.token else {
        return next.run(request).await;
    };
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='));
    if bearer.or(cookie).is_some_and(|given| token.matches(given.trim())) {
        return next.run(request).await;
    }
    if request.method() == Method::GET && request.uri().path() == "/" {
        return Redirect::to("/login").into_response();
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "a bearer token is required: send `Authorization: Bearer <token>` with the token of `admin.token_file`\n",
    )
        .into_response()
}

/// Whether `given` is the configured token (true when none is configured).
pub fn accepts(admin: &Admin, given: &str) -> bool {
    admin.token.as_ref().is_none_or(|t| t.matches(given.trim()))
}

/// Refuses a request that changes something (any method but GET and HEAD) when a browser says
/// another site made it (`Sec-Fetch-Site: cross-site`/`same-site`, or an `Origin` whose host is
/// not this one's): a page elsewhere must not pause maps or retry records through the
/// browser of an operator on this machine. Programs (curl, Prometheus) send neither header.
pub async fn same_origin(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let fetch_site = text(header::HeaderName::from_static("sec-fetch-site"));
    let foreign_site = fetch_site.is_some_and(|s| s != "same-origin" && s != "none");
    let foreign_origin = match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .map(|(_, rest)| rest)
            .is_none_or(|origin_host| origin_host != host),
        (Some(_), None) => true,
        _ => false,
    };
    if foreign_site || foreign_origin {
        return (
            StatusCode::FORBIDDEN,
            "refused: the request came from another site's page\n",
        )
            .into_response();
    }
    next.run(request).await
}
