//! What the two OData test servers (Dataverse-shaped, finance-and-operations-shaped) answer
//! alike, for tests: the URLs of one server on loopback, its fault layer (`control`), its
//! request log (`stats`), its rows read directly (`rows`), and requests of the test's own with
//! a token asked for once and renewed after a 401 (a revoke, a restart).

use reqwest::{Method, Response};
use serde_json::Value;

/// A test's client of one server: `http://127.0.0.1:PORT` with the service at `root`.
pub struct ServiceClient {
    http: reqwest::Client,
    port: u16,
    /// The service's path (`/api/data/v9.2`, `/data`).
    root: &'static str,
    client_id: &'static str,
    token: tokio::sync::Mutex<Option<String>>,
}

impl ServiceClient {
    pub fn new(port: u16, root: &'static str, client_id: &'static str) -> ServiceClient {
        ServiceClient {
            http: reqwest::Client::new(),
            port,
            root,
            client_id,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// Forgets the connections and the token (the server was restarted).
    pub fn reset(&mut self) {
        self.http = reqwest::Client::new();
        *self.token.get_mut() = None;
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The service root, without a trailing slash.
    pub fn root_url(&self) -> String {
        format!("{}{}", self.base_url(), self.root)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The OAuth client-credentials token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url())
    }

    /// Any client id is accepted; this is the one to use.
    pub fn client_id(&self) -> &'static str {
        self.client_id
    }

    /// The only client secret accepted.
    pub fn secret(&self) -> &'static str {
        "s3cret"
    }

    /// The scope a client asks for (`<environment URL>/.default`); the server ignores it.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.base_url())
    }

    /// Sends a fault-layer change (`POST /control`), e.g. `json!({"throttle": 2, "retry_after": 1})`.
    pub async fn control(&self, change: Value) {
        let r = self
            .http
            .post(format!("{}/control", self.base_url()))
            .json(&change)
            .send()
            .await
            .expect("POST /control");
        assert!(r.status().is_success(), "POST /control answered {}", r.status());
    }

    /// `GET /stats`: `requests` (method, path, at, status, in_batch), `total`, `batch_parts`,
    /// `by_status`, `max_in_flight`, `in_flight`, `tokens_issued`.
    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/stats", self.base_url()))
            .send()
            .await
            .expect("GET /stats")
            .json()
            .await
            .expect("stats JSON")
    }

    /// Every row of an entity set, raw (`GET /control/rows/<set>`, no token, no paging):
    /// GUIDs, decimals and dates as text.
    pub async fn rows(&self, set: &str) -> Vec<Value> {
        let body: Value = self
            .http
            .get(format!("{}/control/rows/{set}", self.base_url()))
            .send()
            .await
            .expect("GET /control/rows")
            .json()
            .await
            .expect("rows JSON");
        body["value"].as_array().cloned().unwrap_or_default()
    }

    /// A fresh access token (client credentials).
    pub async fn new_token(&self) -> String {
        let r = self
            .http
            .post(self.token_url())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id()),
                ("client_secret", self.secret()),
                ("scope", &self.scope()),
            ])
            .send()
            .await
            .expect("POST /token");
        let body: Value = r.json().await.expect("token JSON");
        body["access_token"].as_str().expect("access_token").to_string()
    }

    /// An authenticated request; `path` is relative to the root (e.g. `msdyn_actuals?$select=…`)
    /// or an absolute URL (a nextLink). The OData version headers are set; the token is asked
    /// for once and renewed after a 401.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Response {
        let first = self.send(false, &method, path, headers, body).await;
        if first.status() == reqwest::StatusCode::UNAUTHORIZED {
            return self.send(true, &method, path, headers, body).await;
        }
        first
    }

    async fn send(
        &self,
        renew: bool,
        method: &Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Response {
        let token = {
            let mut slot = self.token.lock().await;
            if slot.is_none() || renew {
                *slot = Some(self.new_token().await);
            }
            slot.clone().expect("token")
        };
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}/{}", self.root_url(), path.trim_start_matches('/'))
        };
        let mut rb = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token)
            .header("OData-MaxVersion", "4.0")
            .header("OData-Version", "4.0")
            .header("Accept", "application/json");
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        rb.send().await.expect("an OData request")
    }

    /// GET, answered with its JSON body (panics unless 200).
    pub async fn get_json(&self, path: &str, headers: &[(&str, &str)]) -> Value {
        let r = self.request(Method::GET, path, headers, None).await;
        let status = r.status();
        let text = r.text().await.expect("body");
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).expect("JSON body")
    }
}
