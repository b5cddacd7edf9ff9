//! Shared test support: fresh stores on SQLite (a temporary file) and PostgreSQL (a database
//! of the test's own on the server named by `DUALSYNC_TEST_PG_URL`), and a macro that runs one
//! test body against both; the daemon as a process (`DaemonStores`, `Daemon`, `dualsync status`).
//! `engine` builds an in-process engine over seeded stores; `faults` holds what the fault tests
//! share (seed, scale, content checksums).
#![allow(dead_code)]

pub mod admin;
pub mod books;
pub mod changer;
pub mod dataverse;
pub mod engine;
pub mod faults;
pub mod finops;
pub mod ledger;
pub mod metrics;
pub mod odata;

use std::str::FromStr;

use dualsync::store::sql::{SqlStore, init::init};
use dualsync::tablemap::model::Side;
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn pg_base_url() -> String {
    std::env::var("DUALSYNC_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

/// A store made for one test; its SQLite file lives as long as this value.
pub struct TestStore {
    pub store: SqlStore,
    pub url: String,
    pub backend: &'static str,
    dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl TestStore {
    pub async fn sqlite(side: Side) -> TestStore {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = init(&url, side).await.expect("init SQLite store");
        TestStore {
            store,
            url,
            backend: "sqlite",
            dir: Some(std::sync::Arc::new(dir)),
        }
    }

    /// A fresh PostgreSQL database named after the test (dropped first if a previous run left it).
    pub async fn postgres(name: &str, side: Side) -> TestStore {
        let url = fresh_pg_database(name).await;
        let store = init(&url, side).await.expect("init PostgreSQL store");
        TestStore {
            store,
            url,
            backend: "postgres",
            dir: None,
        }
    }

    pub async fn new(backend: &str, name: &str, side: Side) -> TestStore {
        match backend {
            "sqlite" => Self::sqlite(side).await,
            _ => Self::postgres(name, side).await,
        }
    }

    /// Keeps the SQLite file's folder alive. A test body that captures only some fields of
    /// its `TestStore` would otherwise drop (and delete) the folder before it runs.
    pub fn keep_alive(&self) -> Option<std::sync::Arc<tempfile::TempDir>> {
        self.dir.clone()
    }

    /// Runs SQL through the backend's own command-line client, as "another program" would.
    pub fn run_client(&self, sql: &str) {
        if let Err(e) = self.try_client(sql) {
            panic!("client failed: {e}");
        }
    }

    /// Like `run_client`, returning the client's error output when it fails.
    pub fn try_client(&self, sql: &str) -> Result<(), String> {
        let out = match self.backend {
            "sqlite" => std::process::Command::new("sqlite3")
                .arg(self.url.trim_start_matches("sqlite://"))
                .arg(sql)
                .output(),
            _ => std::process::Command::new("psql")
                .args(["-v", "ON_ERROR_STOP=1", "-q", &self.url, "-c", sql])
                .output(),
        }
        .expect("run the database's command-line client");
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }
}

/// Creates (or re-creates) a database for one test and returns its URL.
pub async fn fresh_pg_database(name: &str) -> String {
    let base = pg_base_url();
    let options = PgConnectOptions::from_str(&base).expect("DUALSYNC_TEST_PG_URL is a PostgreSQL URL");
    let mut admin = options.connect().await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {base}: {e}\n\
             Set DUALSYNC_TEST_PG_URL, or start the server: \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    });
    let db = format!(
        "dualsync_t_{}",
        name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    for sql in [
        format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{db}\""),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .expect("create test database");
    }
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database");
    format!("{prefix}/{db}")
}

/// Runs an async test body against a fresh store on SQLite and on PostgreSQL:
/// `both!(name, Side::Operational, |t: TestStore| async move { ... });`
#[macro_export]
macro_rules! both {
    ($name:ident, $side:expr, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = common::TestStore::new("sqlite", stringify!($name), $side).await;
                let _dir = t.keep_alive();
                ($body)(t).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let t = common::TestStore::new("postgres", stringify!($name), $side).await;
                ($body)(t).await;
            }
        }
    };
}

/// How many table maps ship in `table-maps/`.
#[allow(dead_code)]
pub fn shipped_maps() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/table-maps"))
        .expect("table-maps/")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
        })
        .count()
}

/// A PostgreSQL database name for one test that does not exist (dropped if a previous run left
/// it), for tests where the program under test creates its databases itself. Returns the URL.
pub async fn absent_pg_database(name: &str) -> String {
    let url = fresh_pg_database(name).await;
    let db = url.rsplit_once('/').expect("URL with a database").1.to_string();
    pg_admin_sql(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).await;
    url
}

/// Runs one statement on the server's administrative database (the one `DUALSYNC_TEST_PG_URL`
/// names), e.g. `ALTER DATABASE`.
pub async fn pg_admin_sql(sql: &str) {
    let base = pg_base_url();
    let options = PgConnectOptions::from_str(&base).expect("DUALSYNC_TEST_PG_URL is a PostgreSQL URL");
    let mut admin = options
        .connect()
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {base}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

// ---------------------------------------------------------------------------------------------
// The daemon as a separate process: its three store URLs, its configuration file, starting it,
// signalling it, and reading `dualsync status`.

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;

/// The operational, accounting and state store URLs of one daemon under test: SQLite files in
/// a temporary folder (under `data/`, which does not exist yet), or PostgreSQL databases of
/// the test's own named `<name>_op`, `<name>_acct`, `<name>_state`.
pub struct DaemonStores {
    pub backend: &'static str,
    pub operational: String,
    pub accounting: String,
    pub state: String,
    /// Holds the configuration, the log and (SQLite) the store files.
    pub dir: tempfile::TempDir,
}

impl DaemonStores {
    /// URLs of stores that exist (PostgreSQL: fresh empty databases; SQLite: nothing yet, the
    /// first opener creates the file).
    pub async fn new(backend: &str, name: &str) -> DaemonStores {
        Self::make(backend, name, false).await
    }

    /// URLs of stores that do not exist at all, for a start from scratch.
    pub async fn absent(backend: &str, name: &str) -> DaemonStores {
        Self::make(backend, name, true).await
    }

    async fn make(backend: &str, name: &str, absent: bool) -> DaemonStores {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut urls = Vec::new();
        for side in ["op", "acct", "state"] {
            let url = match backend {
                "sqlite" => format!(
                    "sqlite://{}",
                    dir.path().join("data").join(format!("{side}.db")).display()
                ),
                _ if absent => absent_pg_database(&format!("{name}_{side}")).await,
                _ => fresh_pg_database(&format!("{name}_{side}")).await,
            };
            urls.push(url);
        }
        let state = urls.pop().unwrap();
        let accounting = urls.pop().unwrap();
        let operational = urls.pop().unwrap();
        DaemonStores {
            backend: if backend == "sqlite" { "sqlite" } else { "postgres" },
            operational,
            accounting,
            state,
            dir,
        }
    }

    /// Stores with the reference schemas, seeded with demo data (`actuals` actuals from `seed`);
    /// the operational and accounting stores, open.
    pub async fn seeded(backend: &str, name: &str, actuals: u64, seed: u64) -> (DaemonStores, SqlStore, SqlStore) {
        let stores = Self::new(backend, name).await;
        let opts = dualsync::demo::SeedOptions { actuals, seed };
        let op = init(&stores.operational, Side::Operational).await.unwrap();
        let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
        dualsync::demo::load::seed(&op, Side::Operational, &opts).await.unwrap();
        dualsync::demo::load::seed(&acct, Side::Accounting, &opts)
            .await
            .unwrap();
        (stores, op, acct)
    }

    /// Writes `dualsync.toml` for these stores: the shipped maps, both demo companies, JSON
    /// logs, and `extra` (more sections, e.g. "[sync]\nbatch_size = 50\n") at the end.
    pub fn write_config(&self, demo: bool, extra: &str) -> std::path::PathBuf {
        let maps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
        let path = self.dir.path().join("dualsync.toml");
        std::fs::write(
            &path,
            format!(
                "maps = \"{}\"\ncompanies = [\"USPM\", \"DEMF\"]\ndemo = {demo}\n\
                 [operational]\nurl = \"{}\"\n[accounting]\nurl = \"{}\"\n[state]\nurl = \"{}\"\n\
                 [log]\nformat = \"json\"\n{extra}",
                maps.display(),
                self.operational,
                self.accounting,
                self.state
            ),
        )
        .expect("write the configuration");
        path
    }

    /// Where the daemons of a test append their log (stderr).
    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("daemon.log")
    }
}

/// A `dualsync run` process; killed (SIGKILL) when dropped while still running, so a failing
/// test leaves no daemon behind.
pub struct Daemon {
    pub child: std::process::Child,
    pub config: std::path::PathBuf,
    /// The file its stderr is appended to.
    pub log: std::path::PathBuf,
}

impl Daemon {
    /// Starts `dualsync run --config CONFIG`, its stderr appended to `log`.
    pub fn start(config: &std::path::Path, log_path: &std::path::Path) -> Daemon {
        Daemon::start_with_env(config, log_path, &[])
    }

    /// `start` with these environment variables set (`DUALSYNC_…` overrides).
    pub fn start_with_env(config: &std::path::Path, log_path: &std::path::Path, env: &[(String, String)]) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .expect("open the daemon log");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_dualsync"))
            .args(["run", "--config", config.to_str().unwrap()])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dualsync run");
        Daemon {
            child,
            config: config.to_path_buf(),
            log: log_path.to_path_buf(),
        }
    }

    /// Whether the process is still running (false once it exited by itself).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("query the daemon").is_none()
    }

    /// Sends `sig`; false when the process was gone already.
    pub fn signal(&mut self, sig: i32) -> bool {
        if !self.is_running() {
            return false;
        }
        // SAFETY: kill(2) with the pid of our own child, which has not been reaped yet.
        unsafe { libc_kill(self.child.id() as i32, sig) == 0 }
    }

    /// SIGKILL, then reaps the process. Returns whether it was still running.
    pub fn kill(&mut self) -> bool {
        let was_running = self.signal(SIGKILL);
        self.child.wait().expect("reap the daemon");
        was_running
    }

    /// SIGTERM, then waits for the exit (at most `timeout`, then SIGKILL and a panic).
    pub fn terminate(&mut self, timeout: std::time::Duration) -> std::process::ExitStatus {
        assert!(self.signal(SIGTERM), "the daemon was not running any more");
        let started = std::time::Instant::now();
        loop {
            if let Some(code) = self.child.try_wait().expect("query the daemon") {
                return code;
            }
            if started.elapsed() > timeout {
                self.kill();
                panic!("the daemon did not stop within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The last `lines` lines of the daemon's log, for a failure message.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The output of `dualsync status` for this daemon's configuration.
    pub fn status(&self) -> String {
        status_of(&self.config)
    }

    /// Polls `dualsync status` until `done` holds for the parsed maps; panics after `timeout`
    /// (or when the daemon exits) with the last status. Returns the status text.
    pub async fn wait_status(
        &mut self,
        what: &str,
        timeout: std::time::Duration,
        done: impl Fn(&[MapStatus]) -> bool,
    ) -> String {
        let started = std::time::Instant::now();
        loop {
            let text = self.status();
            if done(&parse_status(&text)) {
                return text;
            }
            assert!(
                self.is_running(),
                "the daemon exited while waiting for {what}:\n{text}\nthe end of its log:\n{}",
                self.log_tail(20)
            );
            assert!(started.elapsed() < timeout, "no {what} after {timeout:?}:\n{text}");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }

    /// Waits until `dualsync status` lists all shipped maps as running.
    pub async fn wait_all_running(&mut self, timeout: std::time::Duration) -> String {
        let n = shipped_maps();
        self.wait_status(&format!("{n} maps running"), timeout, |maps| {
            maps.len() == n && maps.iter().all(|m| m.state == "running")
        })
        .await
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `dualsync ARGS... --config CONFIG` to the end: (exit code, stdout, stderr).
pub fn dualsync(args: &[&str], config: &std::path::Path) -> (Option<i32>, String, String) {
    dualsync_with_env(args, config, &[])
}

/// `dualsync` with these environment variables set.
pub fn dualsync_with_env(
    args: &[&str],
    config: &std::path::Path,
    env: &[(String, String)],
) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args(args)
        .args(["--config", config.to_str().unwrap()])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("run dualsync {args:?}: {e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The daemon's state in `dualsync status` (`running`, `stale`, `stopped`) and its details,
/// from the line `daemon: STATE; DETAILS` after the map table.
pub fn daemon_state(status: &str) -> Option<(String, String)> {
    let line = status.lines().find_map(|l| l.strip_prefix("daemon: "))?;
    let (state, details) = line.split_once("; ").unwrap_or((line, ""));
    Some((state.to_string(), details.to_string()))
}

/// Runs `dualsync status --config CONFIG` and returns its standard output.
pub fn status_of(config: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args(["status", "--config", config.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run dualsync status");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// One map's line of `dualsync status` (and its message line, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapStatus {
    pub map: String,
    pub state: String,
    pub links: u64,
    pub applied: u64,
    pub skipped: u64,
    pub parked: u64,
    pub errors: u64,
    /// Changes of the map's entities waiting after its cursors (`-` when unknown).
    pub behind: String,
    pub message: Option<String>,
}

/// Parses the table `dualsync status` prints (header line, a line per map, indented messages).
pub fn parse_status(text: &str) -> Vec<MapStatus> {
    let mut maps: Vec<MapStatus> = Vec::new();
    for line in text.lines().skip(1) {
        // A blank line ends the map table (the daemon's line follows it).
        if line.is_empty() {
            break;
        }
        if line.starts_with(' ') {
            if let Some(last) = maps.last_mut() {
                last.message = Some(line.trim().to_string());
            }
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 7 {
            continue;
        }
        let n = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
        maps.push(MapStatus {
            map: f[0].to_string(),
            state: f[1].to_string(),
            links: n(f[2]),
            applied: n(f[3]),
            skipped: n(f[4]),
            parked: n(f[5]),
            errors: n(f[6]),
            behind: f.get(7).unwrap_or(&"-").to_string(),
            message: None,
        });
    }
    maps
}

/// A child process (a daemon under test) that is killed when the test ends, even by a panic,
/// so it never outlives the test holding connections.
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `check` says yes (or fails the test with what it last said).
pub async fn eventually<F, Fut>(what: &str, daemon: &mut Daemon, timeout: std::time::Duration, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let started = std::time::Instant::now();
    loop {
        let why = match check().await {
            Ok(()) => return,
            Err(why) => why,
        };
        assert!(
            daemon.is_running(),
            "the daemon exited while waiting for {what}; the end of its log:\n{}",
            daemon.log_tail(40)
        );
        assert!(
            started.elapsed() < timeout,
            "no {what} after {timeout:?}: {why}\nthe end of the daemon's log:\n{}",
            daemon.log_tail(40)
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}
