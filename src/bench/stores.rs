//! Fresh stores for one benchmark run: the operational store, the raw-copy target, the
//! dualsync accounting store and the state store, as SQLite files under the work folder or as
//! PostgreSQL databases named `dualsync_bench_<tag>_<store>` (dropped and created anew), and
//! the configuration file the `dualsync` children run with.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

/// The two kinds of store the benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The URLs of one run's stores, and its folder (configuration, logs, SQLite files).
pub struct BenchStores {
    pub operational: String,
    pub raw: String,
    pub accounting: String,
    pub state: String,
    pub dir: PathBuf,
}

const STORES: [&str; 4] = ["op", "raw", "acct", "state"];

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> Result<String, String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| format!("not a URL: {}", crate::store::sql::redact(url)))?;
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    Ok(format!("{}/{database}{query}", &base[..host_end]))
}

impl BenchStores {
    /// Empty stores for a run tagged `tag` (letters, digits and `_` only).
    pub async fn fresh(backend: Backend, work: &Path, pg_url: &str, tag: &str) -> Result<BenchStores, String> {
        let dir = work.join(format!("{}-{tag}", backend.name()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // Absolute: the configuration written into `dir` would make a relative SQLite path
        // relative to `dir` itself (`config::load`), doubling it.
        let dir = std::fs::canonicalize(&dir).map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
        let mut urls = Vec::new();
        for store in STORES {
            urls.push(match backend {
                Backend::Sqlite => format!("sqlite://{}", dir.join(format!("{store}.db")).display()),
                Backend::Postgres => {
                    let db = format!("dualsync_bench_{tag}_{store}");
                    drop_pg_database(pg_url, &db).await?;
                    with_database(pg_url, &db)?
                }
            });
        }
        let [operational, raw, accounting, state] = <[String; 4]>::try_from(urls).expect("four stores");
        Ok(BenchStores {
            operational,
            raw,
            accounting,
            state,
            dir,
        })
    }

    /// Writes the configuration of the `dualsync` children and returns its path. The
    /// accounting processes are off, so live sync is measured alone.
    pub fn write_config(&self, maps: &Path, batch_size: usize) -> Result<PathBuf, String> {
        let maps = std::fs::canonicalize(maps).map_err(|e| format!("map folder {}: {e}", maps.display()))?;
        let text = format!(
            "# Written by `dualsync bench`.\nmaps = {maps:?}\ncompanies = [\"USPM\", \"DEMF\"]\ndemo = false\n\
             [operational]\nurl = {:?}\n[accounting]\nurl = {:?}\n[state]\nurl = {:?}\n\
             [sync]\nbatch_size = {batch_size}\n[processes]\nenabled = false\n[log]\nlevel = \"info\"\n",
            self.operational, self.accounting, self.state
        );
        let path = self.dir.join("dualsync.toml");
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }
}

/// The PostgreSQL server's version, `autovacuum` and `synchronous_commit` (both change the
/// figures); `None` for SQLite or a server that does not answer.
pub async fn describe_server(backend: Backend, pg_url: &str) -> Option<String> {
    if backend != Backend::Postgres {
        return None;
    }
    let mut conn = PgConnectOptions::from_str(pg_url).ok()?.connect().await.ok()?;
    let row: (String, String, String) = sqlx::query_as(
        "SELECT current_setting('server_version'), current_setting('autovacuum'), \
         current_setting('synchronous_commit')",
    )
    .fetch_one(&mut conn)
    .await
    .ok()?;
    Some(format!(
        "PostgreSQL {}, autovacuum {}, synchronous_commit {}",
        row.0, row.1, row.2
    ))
}

/// Drops `database` on the server of `pg_url` if it exists (connections to it are ended).
async fn drop_pg_database(pg_url: &str, database: &str) -> Result<(), String> {
    let options = PgConnectOptions::from_str(pg_url).map_err(|e| format!("PostgreSQL URL: {e}"))?;
    let mut admin = options.database("postgres").connect().await.map_err(|e| {
        format!(
            "cannot reach PostgreSQL at {}: {e} (start it, pass --pg-url, or run with --backend sqlite)",
            crate::store::sql::redact(pg_url)
        )
    })?;
    let sql = format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        crate::store::sql::catalog::quote(database)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("{sql}: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_keeping_host_and_options() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "b").unwrap(),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "b").unwrap(),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "b").unwrap(), "postgres://h:1/b");
    }
}
