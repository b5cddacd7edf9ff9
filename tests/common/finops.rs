//! The finance-and-operations-shaped test server (`tests/fixtures/finops/server.py`: odatapy
//! 5.3.0 behind a layer that answers like F&O's `/data` OData endpoint: composite keys with
//! the company, cross-company reads, enum literals, `$skip` next links, F&O write errors,
//! `$batch` changesets, both kinds of 429, late commits and a write journal) as a process for
//! tests: `FinopsServer::start` (synchronous) runs it and kills it on drop; `restart` kills it
//! and starts it again on the same port with the same data file and journal; async helpers
//! drive its fault layer (`control`), read its request log (`stats`) and its rows (`rows`),
//! and send raw requests with a token of their own (`get`/`post`/`patch`/`delete`, e.g. a
//! finance clerk PATCHing posted attributes onto a staging row).
//!
//! Python: the interpreter with odatapy is the Dataverse test server's (`dataverse::python`:
//! `DUALSYNC_TEST_PYTHON`, else the shared venv under `target/test-venv`).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::Value;

use super::dataverse::python;

/// How to run the server (all optional; `Default` is F&O's defaults on any free port).
#[derive(Clone, Debug, Default)]
pub struct FinopsOptions {
    /// Default and maximum page size (F&O: 10,000).
    pub page_size: Option<usize>,
    /// The caller's company for reads without `cross-company=true` (default: the first
    /// `CompanyInfo.DataAreaId` of the data file, else `USPM`).
    pub default_company: Option<String>,
    /// Listen on this port (default: any free one).
    pub port: Option<u16>,
    /// Append every committed write to this JSON-lines file, and replay it at start.
    pub journal: Option<PathBuf>,
}

/// A running server; the process is killed when this is dropped.
pub struct FinopsServer {
    child: Child,
    port: u16,
    data: Option<PathBuf>,
    options: FinopsOptions,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<String>>,
}

impl FinopsServer {
    /// Starts the server (blocking until it has loaded `data`, replayed its journal and
    /// printed its port). `data`: a SQLite file with the reference accounting schema (see
    /// `accounting_sqlite`).
    pub fn start(data: Option<&Path>, options: FinopsOptions) -> FinopsServer {
        let data = data.map(Path::to_path_buf);
        let (child, port) = spawn(data.as_deref(), &options, options.port);
        FinopsServer {
            child,
            port,
            data,
            options,
            http: reqwest::Client::new(),
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// Kills the server and starts it again on the same port with the same data file and
    /// journal (a restarted F&O: rows written before are there again when journalled;
    /// tokens are not, the next request asks for a new one).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, port) = spawn(self.data.as_deref(), &self.options, Some(self.port));
        self.child = child;
        self.port = port;
        // The old process's keep-alive connections and tokens died with it.
        self.http = reqwest::Client::new();
        *self.token.get_mut() = None;
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The OData root, `http://127.0.0.1:PORT/data` (no trailing slash).
    pub fn data_url(&self) -> String {
        format!("{}/data", self.base_url())
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
        "7c3e7a1e-5d1b-4f0e-9f43-0f1a2b3c4d5e"
    }

    /// The only client secret accepted.
    pub fn secret(&self) -> &'static str {
        "s3cret"
    }

    /// The scope an F&O client asks for (`<environment URL>/.default`); the server ignores it.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.base_url())
    }

    /// Sends a fault-layer change (`POST /control`), e.g. `json!({"throttle": 2,
    /// "retry_after": 1, "throttle_kind": "resource"})` or `json!({"backdate": {"count": 1,
    /// "seconds": 30}})`.
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

    /// Every row of an entity set, raw and of every company (`GET /control/rows/<Set>`, no
    /// token, no paging): GUIDs, decimals and dates as text, enums by member name.
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

    /// An authenticated request; `path` is relative to `data_url()` (e.g.
    /// `ProjCDSActualsImports?$select=Amount`) or an absolute URL (a nextLink). The OData
    /// version headers are set; the token is asked for once and renewed after a 401 (a
    /// revoke or a restart).
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
            format!("{}/{}", self.data_url(), path.trim_start_matches('/'))
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
        rb.send().await.expect("F&O OData request")
    }

    /// GET `path` (relative to `data_url()`, or absolute).
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, &[], None).await
    }

    /// GET, answered with its JSON body (panics unless 200).
    pub async fn get_json(&self, path: &str, headers: &[(&str, &str)]) -> Value {
        let r = self.request(Method::GET, path, headers, None).await;
        let status = r.status();
        let text = r.text().await.expect("body");
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).expect("JSON body")
    }

    /// POST a row to an entity set (201 with the row).
    pub async fn post(&self, set: &str, row: &Value) -> Response {
        self.request(Method::POST, set, &[], Some(row)).await
    }

    /// PATCH the row at `path`, e.g.
    /// `ProjCDSActualsImports(ProjectDataAreaId='USPM',ActualId=<guid>)?cross-company=true`
    /// (204; 404 when missing: F&O does not upsert).
    pub async fn patch(&self, path: &str, row: &Value) -> Response {
        self.request(Method::PATCH, path, &[], Some(row)).await
    }

    /// DELETE the row at `path`.
    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path, &[], None).await
    }
}

impl Drop for FinopsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs server.py and waits for the port line; on a fixed port (a restart) it tries again
/// for a few seconds while the port is still taken.
fn spawn(data: Option<&Path>, options: &FinopsOptions, port: Option<u16>) -> (Child, u16) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/finops/server.py");
    let mut attempts = 0;
    loop {
        let mut cmd = Command::new(python());
        cmd.arg(script).stdout(Stdio::piped()).stdin(Stdio::null());
        if let Some(path) = data {
            cmd.arg("--data").arg(path);
        }
        if let Some(n) = options.page_size {
            cmd.arg("--page-size").arg(n.to_string());
        }
        if let Some(company) = &options.default_company {
            cmd.arg("--default-company").arg(company);
        }
        if let Some(p) = port {
            cmd.arg("--port").arg(p.to_string());
        }
        if let Some(journal) = &options.journal {
            cmd.arg("--journal").arg(journal);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run the F&O test server {script}: {e}"));
        let mut line = String::new();
        let read = std::io::BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
        if let (Ok(_), Ok(port)) = (read, line.trim().parse::<u16>()) {
            return (child, port);
        }
        let _ = child.kill();
        let status = child.wait();
        attempts += 1;
        if port.is_none() || attempts >= 50 {
            panic!(
                "the F&O test server did not start (printed {line:?}, exit {status:?}); its \
                 error output is above"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Makes a SQLite file with the reference accounting schema (`dualsync`'s own `init`) and
/// runs `sql` in it (INSERTs), for `FinopsServer::start(Some(path), ..)`.
pub async fn accounting_sqlite(path: &Path, sql: &str) {
    let url = format!("sqlite://{}", path.display());
    let store = dualsync::store::sql::init::init(&url, dualsync::tablemap::model::Side::Accounting)
        .await
        .expect("init the accounting SQLite file");
    if !sql.is_empty() {
        store.pool().execute_script(sql).await.expect("seed rows");
    }
    store.close().await;
}
