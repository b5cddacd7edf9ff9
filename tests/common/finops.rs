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

use super::odata::ServiceClient;

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
    data: Option<PathBuf>,
    options: FinopsOptions,
    client: ServiceClient,
}

/// The URLs, the fault layer, the request log and the test's own requests.
impl std::ops::Deref for FinopsServer {
    type Target = ServiceClient;

    fn deref(&self) -> &ServiceClient {
        &self.client
    }
}

const CLIENT_ID: &str = "7c3e7a1e-5d1b-4f0e-9f43-0f1a2b3c4d5e";

impl FinopsServer {
    /// Starts the server (blocking until it has loaded `data`, replayed its journal and
    /// printed its port). `data`: a SQLite file with the reference accounting schema (see
    /// `accounting_sqlite`).
    pub fn start(data: Option<&Path>, options: FinopsOptions) -> FinopsServer {
        let data = data.map(Path::to_path_buf);
        let (child, port) = spawn(data.as_deref(), &options, options.port);
        FinopsServer {
            child,
            data,
            options,
            client: ServiceClient::new(port, "/data", CLIENT_ID),
        }
    }

    /// Kills the server and starts it again on the same port with the same data file and
    /// journal (a restarted F&O: rows written before are there again when journalled;
    /// tokens are not, the next request asks for a new one).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, _) = spawn(self.data.as_deref(), &self.options, Some(self.client.port()));
        self.child = child;
        // The old process's keep-alive connections and tokens died with it.
        self.client.reset();
    }

    /// The OData root, `http://127.0.0.1:PORT/data` (no trailing slash).
    pub fn data_url(&self) -> String {
        self.client.root_url()
    }

    /// GET `path` (relative to `data_url()`, or absolute).
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, &[], None).await
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
