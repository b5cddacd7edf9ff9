//! One OData service as both OData stores talk to it: signed in through the HTTP foundation
//! (client credentials from the store's `auth`, the limits of its `http`), its root URL, its
//! `$metadata` read once, pages of a collection with the links the service sends followed as
//! sent, `$count`, and `$batch` posted and answered part by part. The stores add what their
//! service does differently (lookups and delta links for Dataverse; composite keys, companies
//! and enums for finance and operations).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OnceCell, watch};

use super::batch::{BatchRequest, PartResponse, parse_response};
use super::json;
use super::metadata::Metadata;
use crate::config::StoreConfig;
use crate::store::http::{ClientCredentials, HttpClient, Limits};
use crate::store::{ErrorKind, Result, StoreError};

/// A service root and the client that reaches it.
pub struct Service {
    pub client: HttpClient,
    /// The root, ending in `/` (`https://org.crm.dynamics.com/api/data/v9.2/`).
    root: url::Url,
    /// The service as messages name it (its URL without secrets).
    pub name: String,
    metadata: OnceCell<Arc<Metadata>>,
}

impl Service {
    /// The service `config` describes; its secret is read now, the service is first asked when
    /// something is read. `guide` names the documentation of the store's configuration.
    pub fn open(config: &StoreConfig, key: &str, guide: &str) -> Result<Service> {
        let usage = |m: String| StoreError::new(ErrorKind::Permanent, m).with_hint(format!("see {guide}"));
        let auth = config
            .auth
            .as_ref()
            .ok_or_else(|| usage(format!("`{key}.auth` is missing")))?;
        let secret = auth.client_secret(key, |v| std::env::var(v).ok()).map_err(usage)?;
        let credentials = ClientCredentials {
            token_url: auth
                .token_url()
                .ok_or_else(|| usage(format!("`{key}.auth` needs `tenant` or `token_url`")))?,
            client_id: auth.client_id.clone(),
            client_secret: secret,
            scope: auth.scope_for(&config.url),
        };
        let mut root = url::Url::parse(&config.url).map_err(|e| usage(format!("`{key}.url` is not a URL: {e}")))?;
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        let h = &config.http;
        let limits = Limits {
            requests: h.requests,
            window: Duration::from_secs(h.window_seconds),
            concurrent: h.concurrent,
            attempts: h.attempts,
            timeout: Duration::from_secs(h.timeout_seconds),
            ..Limits::default()
        };
        let client = HttpClient::new(config.url.as_str(), Some(credentials), limits)?;
        Ok(Service {
            name: client.name().to_string(),
            client,
            root,
            metadata: OnceCell::new(),
        })
    }

    /// An absolute URL of the service: `path` relative to the root.
    pub fn url(&self, path: &str) -> Result<url::Url> {
        self.root
            .join(path)
            .map_err(|e| StoreError::new(ErrorKind::Permanent, format!("cannot make a URL of {path}: {e}")))
    }

    /// The service's `$metadata`, read once.
    pub async fn metadata(&self) -> Result<Arc<Metadata>> {
        self.metadata
            .get_or_try_init(|| async {
                let url = self.url("$metadata")?;
                let response = self
                    .client
                    .send(|http| http.get(url.clone()).header(reqwest::header::ACCEPT, "application/xml"))
                    .await?;
                let text = self.text(response).await?;
                Metadata::parse(&text, &self.name).map(Arc::new)
            })
            .await
            .cloned()
    }

    /// The body of an answer, as text (values are read from it exactly, never through a float).
    pub async fn text(&self, response: reqwest::Response) -> Result<String> {
        response
            .text()
            .await
            .map_err(|e| crate::store::http::error::from_transport(&self.name, e))
    }

    /// GETs one page of a collection (`url` absolute) with a `Prefer` header; the page and the
    /// server's clock (its `Date` header), when it sent one.
    pub async fn get_page(
        &self,
        url: &url::Url,
        prefer: Option<&str>,
    ) -> Result<(json::Page, Option<chrono::DateTime<chrono::Utc>>)> {
        let response = self
            .client
            .send(|http| {
                let r = http.get(url.clone());
                match prefer {
                    Some(p) => r.header("Prefer", p),
                    None => r,
                }
            })
            .await?;
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
            .map(|d| d.with_timezone(&chrono::Utc));
        let text = self.text(response).await?;
        Ok((json::parse_entities(&text)?, date))
    }

    /// A link the service sent (absolute, or relative to the URL it answered), used as sent:
    /// a `$skiptoken` is never re-encoded.
    pub fn follow(&self, from: &url::Url, link: &str) -> Result<url::Url> {
        from.join(link).map_err(|e| {
            StoreError::new(
                ErrorKind::Permanent,
                format!("{} sent a link that is not a URL ({e}): {link}", self.name),
            )
        })
    }

    /// Every page of `url` (asking for `page` records a page) until `limit` entities or the
    /// last page; the entities in order.
    pub async fn get_all(&self, mut url: url::Url, page: usize, limit: usize) -> Result<Vec<json::Entity>> {
        let mut out = Vec::new();
        loop {
            let size = page.min(limit.saturating_sub(out.len())).max(1);
            let prefer = format!("odata.maxpagesize={size}");
            let (p, _) = self.get_page(&url, Some(&prefer)).await?;
            out.extend(p.entities().cloned());
            match p.next_link {
                Some(next) if out.len() < limit => url = self.follow(&url, &next)?,
                _ => return Ok(out),
            }
        }
    }

    /// The number a `$count` URL answers (as text).
    pub async fn count(&self, url: url::Url, what: &str) -> Result<u64> {
        let response = self
            .client
            .send(|http| http.get(url.clone()).header(reqwest::header::ACCEPT, "text/plain"))
            .await?;
        let text = self.text(response).await?;
        // The text may start with a byte-order mark.
        text.trim_start_matches('\u{feff}').trim().parse().map_err(|_| {
            StoreError::new(
                ErrorKind::Permanent,
                format!("{} answered $count of `{what}` with {text:?}", self.name),
            )
        })
    }

    /// POSTs `batch` to `$batch` (with `prefer`, if any) and returns one answer per request;
    /// an answer with another number of parts is a transient failure of the whole batch.
    pub async fn post_batch(
        &self,
        batch: &BatchRequest,
        prefer: Option<&str>,
        what: &str,
    ) -> Result<Vec<PartResponse>> {
        let (content_type, body) = batch.encode();
        let url = self.url("$batch")?;
        let response = self
            .client
            .send(|http| {
                let r = http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                    .body(body.clone());
                match prefer {
                    Some(p) => r.header("Prefer", p),
                    None => r,
                }
            })
            .await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = self.text(response).await?;
        let parts = parse_response(&content_type, &text)?;
        if parts.len() != batch.len() {
            return Err(StoreError::new(
                ErrorKind::Transient,
                format!(
                    "{} answered {} of the {} requests of a $batch to `{what}`",
                    self.name,
                    parts.len(),
                    batch.len()
                ),
            ));
        }
        Ok(parts)
    }
}

/// A watch that ticks every `every` (at least 100 ms) while the returned task runs: how an
/// HTTP store tells the live loop to poll again.
pub fn ticker(every: Duration) -> (watch::Receiver<u64>, tokio::task::JoinHandle<()>) {
    let (tick, watch) = watch::channel(0u64);
    let every = every.max(Duration::from_millis(100));
    let task = tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            tokio::time::sleep(every).await;
            n += 1;
            if tick.send(n).is_err() {
                return;
            }
        }
    });
    (watch, task)
}

/// What one failed answer inside a `$batch` says: the service's code and message together.
pub fn part_error(part: &PartResponse) -> (Option<String>, String) {
    let status = reqwest::StatusCode::from_u16(part.status).unwrap_or(reqwest::StatusCode::BAD_REQUEST);
    let (code, message) = part.error().unwrap_or_default();
    let said = match (code.is_empty(), message.is_empty()) {
        (_, true) => format!("{status}"),
        (true, false) => message,
        (false, false) => format!("{message} (code {code})"),
    };
    (Some(code).filter(|c| !c.is_empty()), said)
}

/// The error of a part whose failure fails its whole batch (throttled or failed inside it):
/// of `kind`, with the service's code and `Retry-After` kept, to be retried whole.
pub fn part_failure(service: &str, entity: &str, kind: ErrorKind, part: &PartResponse) -> StoreError {
    let (code, said) = part_error(part);
    let mut e = StoreError::new(
        kind,
        format!("{service} refused a write to `{entity}` in a $batch: {said}"),
    );
    e.code = code;
    e.retry_after = part
        .header("Retry-After")
        .and_then(|s| s.trim().parse().ok())
        .map(Duration::from_secs);
    e
}
