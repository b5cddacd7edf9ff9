//! The one HTTP client of the OData stores. Every request gets the OData version headers and
//! the bearer token; waits for a slot under the configured limits (the documented per-user
//! service-protection limits by default: 6,000 requests per 5 minutes and 52 at once), so
//! dualsync slows itself down before the service has to; and is retried on a transient failure:
//! after exactly `Retry-After` when the service sends one (429, 503), otherwise after a growing
//! delay with jitter (`backon`). A `Retry-After` holds back every request of the client, not
//! only the refused one (the limits are per user). A 401 renews the token and retries once.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use super::auth::{ClientCredentials, TokenCache};
use super::error::{from_response, from_transport};
use crate::store::{ErrorKind, Result, StoreError};

/// How hard dualsync may press a service, and how long it keeps trying.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Requests per `window` (Dataverse: 6,000 per 300 s per user and web server).
    pub requests: u32,
    pub window: Duration,
    /// Requests in flight at once (Dataverse: 52).
    pub concurrent: usize,
    /// Attempts of one request before its failure is returned.
    pub attempts: usize,
    /// The first and the longest delay between attempts without `Retry-After`.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            requests: 6_000,
            window: Duration::from_secs(300),
            concurrent: 52,
            attempts: 8,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            timeout: Duration::from_secs(120),
        }
    }
}

/// An authenticated, limited, retrying HTTP client for one service.
pub struct HttpClient {
    http: reqwest::Client,
    auth: Option<Arc<TokenCache>>,
    rate: DefaultDirectRateLimiter,
    slots: Semaphore,
    limits: Limits,
    /// The service as messages name it (its URL without secrets).
    name: String,
    /// Until when the service asked every request to wait (its last `Retry-After`): the limits
    /// are per user, so one refusal holds back every request, not only the refused one.
    paused_until: std::sync::Mutex<Option<tokio::time::Instant>>,
}

/// Requests sent, by `service` and HTTP `status` (or `transport-error`); 429s are the
/// service's throttling.
pub const HTTP_REQUESTS: &str = "dualsync_http_requests_total";
/// Time requests were held back by the rate limit, a `Retry-After` or a backoff, by `service`.
pub const HTTP_WAIT_SECONDS: &str = "dualsync_http_limit_wait_seconds";

impl HttpClient {
    /// A client for the service at `url`; `auth` when it wants a bearer token.
    pub fn new(url: &str, auth: Option<ClientCredentials>, limits: Limits) -> Result<HttpClient> {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(limits.timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| StoreError::new(ErrorKind::Permanent, format!("cannot set up HTTP: {e}")))?;
        let per = limits.window / limits.requests.max(1);
        let burst =
            NonZeroU32::new(u32::try_from(limits.concurrent.max(1)).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(per.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Ok(HttpClient {
            http,
            auth: auth.map(|c| Arc::new(TokenCache::new(c))),
            rate: RateLimiter::direct(quota),
            slots: Semaphore::new(limits.concurrent.max(1)),
            limits,
            name: crate::store::sql::redact(url),
            paused_until: std::sync::Mutex::new(None),
        })
    }

    /// Records time spent holding a request back (the rate limit, a `Retry-After`, a backoff).
    fn waited(&self, wait: Duration) {
        if !wait.is_zero() {
            metrics::histogram!(HTTP_WAIT_SECONDS, "service" => self.name.clone()).record(wait.as_secs_f64());
        }
    }

    /// The underlying client, to build requests with.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The service as messages name it (its URL without secrets).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends the request `build` makes (called again for each attempt) and returns the first
    /// successful answer, or the failure once retrying cannot help or the attempts are spent.
    pub async fn send(&self, build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let mut delays = backon::ExponentialBuilder::default()
            .with_min_delay(self.limits.min_delay)
            .with_max_delay(self.limits.max_delay)
            .with_jitter()
            .with_max_times(self.limits.attempts.saturating_sub(1))
            .build();
        let mut renewed = false;
        loop {
            let (failure, token) = {
                let _slot = self
                    .slots
                    .acquire()
                    .await
                    .map_err(|_| StoreError::new(ErrorKind::Permanent, "the HTTP client was closed"))?;
                let waiting = std::time::Instant::now();
                self.rate.until_ready().await;
                let paused = *self.paused_until.lock().expect("pause");
                if let Some(until) = paused {
                    tokio::time::sleep_until(until).await;
                }
                self.waited(waiting.elapsed());
                let token = match &self.auth {
                    Some(auth) => Some(auth.token(&self.http).await?),
                    None => None,
                };
                let mut request = build(&self.http)
                    .header("OData-MaxVersion", "4.0")
                    .header("OData-Version", "4.0");
                if let Some(t) = &token {
                    request = request.bearer_auth(t);
                }
                let mut request = request.build().map_err(|e| from_transport(&self.name, e))?;
                // JSON unless the caller asked for something else ($metadata is XML).
                request
                    .headers_mut()
                    .entry(reqwest::header::ACCEPT)
                    .or_insert(reqwest::header::HeaderValue::from_static("application/json"));
                let answer = self.http.execute(request).await;
                let status = match &answer {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(_) => "transport-error".to_string(),
                };
                metrics::counter!(HTTP_REQUESTS, "service" => self.name.clone(), "status" => status).increment(1);
                match answer {
                    Ok(r) if r.status().is_success() => return Ok(r),
                    Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED && token.is_some() && !renewed => {
                        (None, token)
                    }
                    Ok(r) => (Some(from_response(&self.name, r).await), token),
                    Err(e) => (Some(from_transport(&self.name, e)), token),
                }
            };
            let Some(err) = failure else {
                // A refused token: renewed once, then the request is sent again.
                renewed = true;
                if let (Some(auth), Some(t)) = (&self.auth, token) {
                    tracing::info!(service = %self.name, "the token was refused; renewing it");
                    auth.invalidate(&t).await;
                }
                continue;
            };
            if err.kind != ErrorKind::Transient {
                return Err(err);
            }
            let Some(backoff) = delays.next() else {
                return Err(err);
            };
            let wait = err.retry_after.unwrap_or(backoff);
            if let Some(after) = err.retry_after {
                let until = tokio::time::Instant::now() + after;
                let mut paused = self.paused_until.lock().expect("pause");
                *paused = Some(paused.map_or(until, |p| p.max(until)));
            }
            tracing::warn!(service = %self.name, error = %err, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
            self.waited(wait);
        }
    }
}
