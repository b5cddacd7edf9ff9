//! The Dataverse-shaped test server (`tests/fixtures/dataverse/server.py`: odatapy 5.3.0
//! behind a layer that answers like the Dataverse Web API, plus OAuth and faults) as a
//! process for tests: `DataverseServer::start` (synchronous) runs it and kills it on drop;
//! async helpers drive its fault layer (`control`), read its request log (`stats`) and read
//! or write rows directly with a token of their own.
//!
//! Python: `DUALSYNC_TEST_PYTHON` may name an interpreter that has odatapy; otherwise a venv
//! is made once under the target folder (`target/test-venv`, `python3 -m venv` + `pip install
//! odatapy==5.3.0`), under a file lock so tests starting together wait for one another, and
//! reused after (`.ci/run` makes the same venv before the tests).

use std::io::BufRead;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use reqwest::{Method, Response};
use serde_json::Value;

use super::odata::ServiceClient;

/// The odatapy release the server is written against.
pub const ODATAPY: &str = "odatapy==5.3.0";
/// A file in the venv that says the install finished (also checked by `.ci/run`).
pub const VENV_MARKER: &str = ".odatapy-5.3.0";

/// A running server; the process is killed when this is dropped.
pub struct DataverseServer {
    child: Child,
    client: ServiceClient,
}

/// The URLs, the fault layer, the request log and the test's own requests.
impl std::ops::Deref for DataverseServer {
    type Target = ServiceClient;

    fn deref(&self) -> &ServiceClient {
        &self.client
    }
}

impl DataverseServer {
    /// Starts the server (blocking until it has loaded `data` and printed its port).
    /// `data`: a SQLite file with the reference operational schema; `page_size`: the default
    /// and maximum page size (Dataverse: 5,000).
    pub fn start(data: Option<&Path>, page_size: Option<usize>) -> DataverseServer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dataverse/server.py");
        let mut cmd = Command::new(python());
        cmd.arg(script).stdout(Stdio::piped()).stdin(Stdio::null());
        if let Some(path) = data {
            cmd.arg("--data").arg(path);
        }
        if let Some(n) = page_size {
            cmd.arg("--page-size").arg(n.to_string());
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run the Dataverse test server {script}: {e}"));
        let mut line = String::new();
        let read = std::io::BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
        let port = match (read, line.trim().parse::<u16>()) {
            (Ok(_), Ok(port)) => port,
            _ => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "the Dataverse test server did not start (printed {line:?}, exit {status:?}); \
                     its error output is above"
                );
            }
        };
        DataverseServer {
            child,
            client: ServiceClient::new(port, "/api/data/v9.2", "51f81489-12ee-4a9e-aaae-a2591f45987d"),
        }
    }

    /// The Web API root, `http://127.0.0.1:PORT/api/data/v9.2` (no trailing slash).
    pub fn api_url(&self) -> String {
        self.client.root_url()
    }

    /// POST a row to an entity set.
    pub async fn post(&self, set: &str, row: &Value) -> Response {
        self.request(Method::POST, set, &[], Some(row)).await
    }

    /// PATCH (update, or create when missing: Dataverse's upsert) `set(id)`.
    pub async fn patch(&self, set: &str, id: &str, row: &Value) -> Response {
        self.request(Method::PATCH, &format!("{set}({id})"), &[], Some(row))
            .await
    }

    /// DELETE `set(id)`.
    pub async fn delete(&self, set: &str, id: &str) -> Response {
        self.request(Method::DELETE, &format!("{set}({id})"), &[], None).await
    }
}

impl Drop for DataverseServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes a SQLite file with the reference operational schema (`dualsync`'s own `init`) and
/// runs `sql` in it (INSERTs), for `DataverseServer::start(Some(path), ..)`.
pub async fn operational_sqlite(path: &Path, sql: &str) {
    let url = format!("sqlite://{}", path.display());
    let store = dualsync::store::sql::init::init(&url, dualsync::tablemap::model::Side::Operational)
        .await
        .expect("init the operational SQLite file");
    if !sql.is_empty() {
        store.pool().execute_script(sql).await.expect("seed rows");
    }
    store.close().await;
}

/// The Python interpreter with odatapy: `DUALSYNC_TEST_PYTHON`, or the shared test venv.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| match std::env::var_os("DUALSYNC_TEST_PYTHON") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => venv_python(),
        })
        .clone()
}

/// `target/test-venv` (from CARGO_TARGET_TMPDIR = target/tmp, else the manifest folder).
fn venv_dir() -> PathBuf {
    match option_env!("CARGO_TARGET_TMPDIR") {
        Some(tmp) => Path::new(tmp)
            .parent()
            .expect("target/tmp has a parent")
            .join("test-venv"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv"),
    }
}

fn venv_python() -> PathBuf {
    let dir = venv_dir();
    let python = dir.join("bin/python");
    if dir.join(VENV_MARKER).exists() {
        return python;
    }
    let parent = dir.parent().expect("venv parent");
    std::fs::create_dir_all(parent).expect("create the target folder");
    let lock = std::fs::File::create(parent.join("test-venv.lock")).expect("venv lock file");
    // SAFETY: flock on a file descriptor we own; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        panic!("cannot lock {}", parent.join("test-venv.lock").display());
    }
    if !dir.join(VENV_MARKER).exists() {
        let _ = std::fs::remove_dir_all(&dir);
        run_setup(Command::new("python3").args(["-m", "venv"]).arg(&dir), &dir);
        run_setup(
            Command::new(dir.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check", ODATAPY]),
            &dir,
        );
        std::fs::write(dir.join(VENV_MARKER), ODATAPY).expect("write the venv marker");
    }
    drop(lock);
    python
}

fn run_setup(cmd: &mut Command, dir: &Path) {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "setting up the Python venv for the Dataverse test server failed: {shown}: {e}. \
             Install python3 with the venv module (Debian: apt-get install python3-venv), or \
             set DUALSYNC_TEST_PYTHON to a Python that has {ODATAPY}."
        )
    });
    if !out.status.success() {
        panic!(
            "setting up the Python venv for the Dataverse test server failed: {shown} exited \
             {}:\n{}{}\nFix: make `python3 -m venv` and `pip install {ODATAPY}` work (PyPI \
             reachable), or set DUALSYNC_TEST_PYTHON to a Python that has {ODATAPY}; then \
             remove {} and run the tests again.",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            dir.display()
        );
    }
}
