//! OAuth 2.0 client credentials (RFC 6749 section 4.4), as Microsoft Entra ID serves them: a
//! token is asked for with the client's id, secret and scope, cached, and asked for again
//! shortly before it expires or when the service refuses it (a 401). The secret never appears
//! in a message or a log.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::error::from_response;
use crate::store::{ErrorKind, Result, StoreError};

/// A token is renewed when less than this is left of it.
const RENEW_BEFORE: Duration = Duration::from_secs(120);

/// What the token endpoint needs to hand out a token.
#[derive(Clone)]
pub struct ClientCredentials {
    /// e.g. `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// e.g. `https://<org>.crm.dynamics.com/.default`
    pub scope: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; Entra ID sends a number (some servers send it as a string).
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<u64>,
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => Ok(n.as_u64()),
        serde_json::Value::String(s) => Ok(s.parse().ok()),
        _ => Ok(None),
    }
}

/// The current token and when it must be renewed.
struct Held {
    token: String,
    renew_at: Instant,
}

/// A cached token for one set of credentials; cheap to share behind an `Arc`.
pub struct TokenCache {
    credentials: ClientCredentials,
    held: Mutex<Option<Held>>,
}

impl TokenCache {
    pub fn new(credentials: ClientCredentials) -> TokenCache {
        TokenCache {
            credentials,
            held: Mutex::new(None),
        }
    }

    /// A token that is good for a while yet: the cached one, or a new one.
    pub async fn token(&self, http: &reqwest::Client) -> Result<String> {
        let mut held = self.held.lock().await;
        if let Some(h) = held.as_ref()
            && Instant::now() < h.renew_at
        {
            return Ok(h.token.clone());
        }
        let fresh = self.fetch(http).await?;
        let token = fresh.token.clone();
        *held = Some(fresh);
        Ok(token)
    }

    /// Forgets `token` (the service refused it), so the next `token` asks for a new one. A
    /// token renewed meanwhile by another request is kept.
    pub async fn invalidate(&self, token: &str) {
        let mut held = self.held.lock().await;
        if held.as_ref().is_some_and(|h| h.token == token) {
            *held = None;
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Held> {
        let c = &self.credentials;
        let what = format!("the token endpoint {}", crate::store::sql::redact(&c.token_url));
        let response = http
            .post(&c.token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", c.client_id.as_str()),
                ("client_secret", c.client_secret.as_str()),
                ("scope", c.scope.as_str()),
            ])
            .send()
            .await
            .map_err(|e| super::error::from_transport(&what, e))?;
        if !response.status().is_success() {
            let mut err = from_response(&what, response).await;
            if err.kind != ErrorKind::Transient {
                err.kind = ErrorKind::Permanent;
                err.hint = Some(
                    "check the client id, the secret (its file or variable), the tenant and the scope of \
                     the app registration"
                        .into(),
                );
            }
            return Err(err);
        }
        let body: TokenResponse = response.json().await.map_err(|e| {
            StoreError::new(
                ErrorKind::Permanent,
                format!("{what} answered with no access token: {e}"),
            )
        })?;
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(3600));
        // Renewed a little before it runs out (a tenth of a short lifetime).
        let margin = RENEW_BEFORE.min(lifetime / 10);
        Ok(Held {
            token: body.access_token,
            renew_at: Instant::now() + lifetime.saturating_sub(margin),
        })
    }
}
