//! Shared test support: fresh stores on SQLite (a temporary file) and PostgreSQL (a database
//! of the test's own on the server named by `DUALSYNC_TEST_PG_URL`), and a macro that runs one
//! test body against both.
#![allow(dead_code)]

pub mod engine;

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
