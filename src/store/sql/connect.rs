//! Opening a connection pool for any SQL store dualsync uses (a reference store or the
//! engine's state store): SQLite with WAL, `synchronous = NORMAL`, a busy timeout and foreign
//! keys; PostgreSQL with a pool. With `create`, a missing SQLite file (and its folder) or
//! PostgreSQL database is created first.

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::catalog::quote;
use super::conn::{Dialect, Pool, from_sqlx};
use super::{dialect_of, redact};
use crate::store::{ErrorKind, Result, StoreError};

const ACQUIRE: Duration = Duration::from_secs(30);

/// The `application_name` of dualsync's PostgreSQL sessions.
pub const APPLICATION_NAME: &str = "dualsync";

/// Opens `url`; `what` names the store in messages ("the operational store", "the state store").
pub async fn connect_pool(url: &str, create: bool, what: &str) -> Result<Pool> {
    let name = redact(url);
    let unreachable = |e: sqlx::Error| {
        let mut err = from_sqlx(e);
        err.message = format!("cannot open {what} at {name}: {}", err.message);
        err.hint = Some(match dialect_of(url) {
            Ok(Dialect::Sqlite) if !create => "create it first with `dualsync store init --url ...`".into(),
            _ => "check that the server runs and the URL (host, port, user, database or path) is right".into(),
        });
        err
    };
    match dialect_of(url)? {
        Dialect::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(unreachable)?
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                // sqlx hands each row from the connection's thread to the reader through a
                // channel of this many rows; with its default of 50 the two threads woke each
                // other every few rows of a 500-row page (issue 15).
                .row_buffer_size(ROW_BUFFER);
            let in_memory = is_in_memory_url(url);
            if create
                && !in_memory
                && let Some(folder) = options.get_filename().parent()
                && !folder.as_os_str().is_empty()
                && !folder.exists()
            {
                std::fs::create_dir_all(folder).map_err(|e| {
                    StoreError::new(
                        ErrorKind::Permanent,
                        format!("cannot create the folder {} of {what}: {e}", folder.display()),
                    )
                    .with_hint("create the folder, or point the URL at a writable place")
                })?;
            }
            // A new database file is created by us, readable by its owner only (0600); SQLite
            // gives its -wal and -shm files the same permissions.
            if create && !in_memory {
                create_private(options.get_filename(), what)?;
            }
            // An in-memory database lives as long as one of its connections: keep exactly one.
            let pool_options = if in_memory {
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            } else {
                // A connection opened while the file (or its file system) was read-only stays
                // read-only for its whole life, though the file is writable again: one that
                // is read-only is closed when it comes back, so the next one opens afresh.
                SqlitePoolOptions::new()
                    .max_connections(4)
                    .after_release(|conn, _| Box::pin(async move { Ok(!is_read_only(conn).await) }))
            };
            let pool = pool_options
                .acquire_timeout(ACQUIRE)
                .connect_with(options)
                .await
                .map_err(unreachable)?;
            Ok(Pool::Sqlite(pool))
        }
        Dialect::Postgres => {
            if create {
                create_pg_database(url, what).await?;
            }
            // Every statement is planned with its parameters. A generic plan cached while a
            // table was small (an index scan on the map column alone, say, for a lookup of 500
            // keys) would otherwise stay in use as the table grows to a million rows, since
            // only ANALYZE invalidates it (found by `dualsync bench`: 2.8 s per lookup).
            // The server's notices and warnings are not sent: they only ever concerned dualsync's
            // own statements ("already exists, skipping" of idempotent DDL; "no transaction in
            // progress" when a transaction interrupted by a stop is rolled back as its
            // connection closes) and reached the log as noise after the daemon's last line.
            let options = PgConnectOptions::from_str(url).map_err(unreachable)?.options([
                ("plan_cache_mode", "force_custom_plan"),
                ("client_min_messages", "error"),
            ]);
            // Sessions name themselves in pg_stat_activity, unless the URL names them already.
            let options = match options.get_application_name() {
                Some(_) => options,
                None => options.application_name(APPLICATION_NAME),
            };
            // One connection first, so a server that cannot be reached fails now with the real
            // cause ("connection refused", a bad password) instead of the pool's timeout, which
            // waits out refused connections as if the server were starting.
            match tokio::time::timeout(ACQUIRE, options.connect()).await {
                Ok(Ok(conn)) => drop(conn),
                Ok(Err(e)) => return Err(unreachable(e)),
                Err(_) => {
                    return Err(StoreError::new(
                        ErrorKind::Transient,
                        format!("cannot open {what} at {name}: no answer within {} s", ACQUIRE.as_secs()),
                    )
                    .with_hint(
                        "check that the server runs and the URL (host, port) is right; dualsync retries by itself",
                    ));
                }
            }
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(ACQUIRE)
                .connect_with(options)
                .await
                .map_err(unreachable)?;
            Ok(Pool::Postgres(pool))
        }
    }
}

/// Rows a SQLite connection may read ahead of its reader (a few pages of a batch).
const ROW_BUFFER: usize = 2048;

unsafe extern "C" {
    // From the SQLite library sqlx links (libsqlite3-sys).
    fn sqlite3_db_readonly(db: *mut std::ffi::c_void, name: *const std::ffi::c_char) -> std::ffi::c_int;
}

/// Whether a SQLite connection has its main database open read-only (SQLite falls back to
/// read-only when the file cannot be opened for writing).
async fn is_read_only(conn: &mut sqlx::SqliteConnection) -> bool {
    let Ok(mut handle) = conn.lock_handle().await else {
        return true;
    };
    let db = handle.as_raw_handle().as_ptr().cast::<std::ffi::c_void>();
    // SAFETY: `db` is this connection's open handle, locked for the duration of the call;
    // the schema name is a NUL-terminated literal.
    unsafe { sqlite3_db_readonly(db, c"main".as_ptr()) == 1 }
}

/// Creates an empty file at `path` with mode 0600 if none exists (SQLite takes an empty file
/// for a new database).
fn create_private(path: &std::path::Path, what: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::new(
            ErrorKind::Permanent,
            format!("cannot create {} of {what}: {e}", path.display()),
        )
        .with_hint("point the URL at a writable place")),
    }
}

/// Whether a SQLite URL names an in-memory database (nothing on disk to create or find).
pub fn is_in_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Whether a SQLite pool holds an in-memory database (its one connection must never be closed).
pub fn is_in_memory(pool: &sqlx::SqlitePool) -> bool {
    let name = pool.connect_options().get_filename().to_string_lossy().into_owned();
    name == ":memory:" || name.contains("in-memory") || name.contains("mode=memory")
}

/// Creates the PostgreSQL database named in the URL if it does not exist.
async fn create_pg_database(url: &str, what: &str) -> Result<()> {
    let name = redact(url);
    let unreachable = |e: sqlx::Error| {
        let mut err = from_sqlx(e);
        err.message = format!("cannot reach {what} at {name}: {}", err.message);
        err.with_hint("check that PostgreSQL runs and the URL (host, port, user) is right")
    };
    let options = PgConnectOptions::from_str(url).map_err(unreachable)?;
    let Some(database) = options.get_database().map(str::to_string) else {
        return Ok(());
    };
    match options.connect().await {
        Ok(conn) => {
            drop(conn);
            return Ok(());
        }
        // 3D000: invalid_catalog_name, the database does not exist.
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("3D000") => {}
        Err(e) => return Err(unreachable(e)),
    }
    let mut admin = options.database("postgres").connect().await.map_err(unreachable)?;
    let sql = format!("CREATE DATABASE {}", quote(&database));
    match sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await {
        // Ours, so private: only its owner (and superusers) may connect, not every role.
        Ok(_) => {
            let revoke = format!("REVOKE ALL ON DATABASE {} FROM PUBLIC", quote(&database));
            sqlx::raw_sql(sqlx::AssertSqlSafe(revoke))
                .execute(&mut admin)
                .await
                .map(|_| ())
                .map_err(|e| {
                    let mut err = from_sqlx(e);
                    err.message = format!(
                        "cannot make the new database of {what} at {name} private: {}",
                        err.message
                    );
                    err
                })
        }
        // 42P04: duplicate_database, created meanwhile by someone else; 23505 on
        // pg_database's name index when that happened in the same instant.
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P04") => Ok(()),
        Err(sqlx::Error::Database(db))
            if db.code().as_deref() == Some("23505") && db.message().contains("pg_database_datname_index") =>
        {
            Ok(())
        }
        Err(e) => {
            let mut err = from_sqlx(e);
            err.message = format!("cannot create the database of {what} at {name}: {}", err.message);
            Err(err.with_hint("create the database by hand, or give the user the CREATEDB privilege"))
        }
    }
}
