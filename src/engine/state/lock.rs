//! Process locks on the state store: one `dualsync run` per state store, and one run at a time
//! of each accounting process (`journal-import`, `journal-post`, `journal-forecasts`).
//!
//! The lock is one the operating system or the server drops when the holding process dies, so
//! a SIGKILL never blocks the next start: on SQLite an exclusive file lock (`flock`) on a file
//! beside the database (`state.db.daemon.lock`), on PostgreSQL a session advisory lock held by
//! a connection of its own. The `instances` table names the holder (host, pid, version, since,
//! heartbeat, clean stop) for the refusal message and for `dualsync status`.

use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::SqliteConnectOptions;

use super::{Cols, StateStore, int, now, text, time};
use crate::store::sql::conn::{Dialect, from_sqlx};
use crate::store::{ErrorKind, Result, StoreError};
use crate::value::ValueType;

/// The lock of `dualsync run`.
pub const DAEMON: &str = "daemon";

/// The first key of every dualsync advisory lock on PostgreSQL ("ds").
const PG_LOCK_CLASS: i64 = 0x6473;

/// Who holds (or last held) a lock, as recorded in `instances`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub name: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// When it stopped cleanly; `None` while it runs, or when it was killed.
    pub stopped_at: Option<DateTime<Utc>>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "host {}, pid {}, version {}, since {}",
            self.host,
            self.pid,
            self.version,
            self.started_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// A lock this process holds; released when dropped (or by the process's death).
#[derive(Debug)]
pub struct ProcessLock {
    name: String,
    store: StateStore,
    // Held for their side effect: the lock lives as long as the file or the connection.
    held: Held,
}

#[derive(Debug)]
enum Held {
    File(#[allow(dead_code)] std::fs::File),
    /// The connection holding the advisory lock (replaced if the server drops it).
    Postgres(tokio::sync::Mutex<PgConnection>),
    /// An in-memory SQLite state store belongs to this process alone.
    Nothing,
}

/// The host name, for the `instances` table.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into our buffer.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match ok && end > 0 {
        true => String::from_utf8_lossy(&buf[..end]).into_owned(),
        false => "unknown host".into(),
    }
}

/// A stable 31-bit key for a lock name (FNV-1a), the second key of the advisory lock.
fn pg_key(name: &str) -> i64 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i64::from(h & 0x7fff_ffff)
}

const HOLDER_SELECT: &str =
    "SELECT name, host, pid, version, started_at, heartbeat_at, stopped_at FROM instances WHERE name = ?";
const HOLDER_TYPES: [ValueType; 7] = {
    use ValueType::{DateTime, Int, Text};
    [Text, Text, Int, Text, DateTime, DateTime, DateTime]
};

impl StateStore {
    /// The lock file of `name` beside a SQLite state database; `None` in memory.
    fn lock_file(&self, name: &str) -> Result<Option<PathBuf>> {
        if crate::store::sql::connect::is_in_memory_url(&self.url) {
            return Ok(None);
        }
        let options = SqliteConnectOptions::from_str(&self.url).map_err(from_sqlx)?;
        let mut path = options.get_filename().as_os_str().to_owned();
        path.push(format!(".{name}.lock"));
        Ok(Some(PathBuf::from(path)))
    }

    fn open_lock_file(&self, path: &PathBuf) -> Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                StoreError::new(
                    ErrorKind::Permanent,
                    format!("cannot open the lock file {}: {e}", path.display()),
                )
                .with_hint("the folder of the state store must be writable by dualsync")
            })
    }

    async fn pg_lock_connection(&self) -> Result<PgConnection> {
        let options = PgConnectOptions::from_str(&self.url)
            .map_err(from_sqlx)?
            .application_name("dualsync lock");
        PgConnection::connect_with(&options)
            .await
            .map_err(|e| self.context(from_sqlx(e)))
    }

    async fn pg_try_lock(&self, conn: &mut PgConnection, name: &str) -> Result<bool> {
        sqlx::query_scalar("SELECT pg_try_advisory_lock(CAST($1 AS INTEGER), CAST($2 AS INTEGER))")
            .bind(PG_LOCK_CLASS)
            .bind(pg_key(name))
            .fetch_one(conn)
            .await
            .map_err(|e| self.context(from_sqlx(e)))
    }

    /// Takes the lock `name` if nobody holds it, and records this process as its holder.
    /// `Err(holder)` when another process holds it (`None` when it has not recorded itself yet).
    pub async fn try_lock(&self, name: &str) -> Result<std::result::Result<ProcessLock, Option<Holder>>> {
        let held = match self.dialect() {
            Dialect::Sqlite => match self.lock_file(name)? {
                None => Held::Nothing,
                Some(path) => {
                    let file = self.open_lock_file(&path)?;
                    match file.try_lock() {
                        Ok(()) => Held::File(file),
                        Err(std::fs::TryLockError::WouldBlock) => return Ok(Err(self.holder(name).await?)),
                        Err(std::fs::TryLockError::Error(e)) => {
                            return Err(StoreError::new(
                                ErrorKind::Permanent,
                                format!("cannot lock {}: {e}", path.display()),
                            ));
                        }
                    }
                }
            },
            Dialect::Postgres => {
                let mut conn = self.pg_lock_connection().await?;
                if !self.pg_try_lock(&mut conn, name).await? {
                    return Ok(Err(self.holder(name).await?));
                }
                Held::Postgres(tokio::sync::Mutex::new(conn))
            }
        };
        let at = now();
        self.execute(
            "INSERT INTO instances (name, host, pid, version, started_at, heartbeat_at, stopped_at) \
             VALUES (?, ?, ?, ?, ?, ?, NULL) \
             ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, \
             version = excluded.version, started_at = excluded.started_at, \
             heartbeat_at = excluded.heartbeat_at, stopped_at = NULL",
            &[
                text(name),
                text(&host_name()),
                int(i64::from(std::process::id())),
                text(env!("CARGO_PKG_VERSION")),
                time(at),
                time(at),
            ],
        )
        .await?;
        Ok(Ok(ProcessLock {
            name: name.to_string(),
            store: self.clone(),
            held,
        }))
    }

    /// Waits for the SQLite migration lock (`<state file>.migrate.lock`): two processes
    /// opening a new state store at once (a daemon and a `status`) would otherwise both apply
    /// the first migration, and one would fail. Held until the returned file is dropped; `None`
    /// where no lock is needed (PostgreSQL's migrator takes an advisory lock itself; in memory).
    pub(super) async fn migration_lock(&self) -> Result<Option<std::fs::File>> {
        if self.dialect() != Dialect::Sqlite {
            return Ok(None);
        }
        let Some(path) = self.lock_file("migrate")? else {
            return Ok(None);
        };
        let file = self.open_lock_file(&path)?;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(file)),
                Err(std::fs::TryLockError::WouldBlock) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StoreError::new(
                        ErrorKind::Permanent,
                        format!("cannot lock {}: {e}", path.display()),
                    ));
                }
            }
        }
    }

    /// Whether some process holds the lock `name` now (a probe that does not disturb it).
    pub async fn lock_held(&self, name: &str) -> Result<bool> {
        match self.dialect() {
            Dialect::Sqlite => {
                let Some(path) = self.lock_file(name)? else {
                    return Ok(false);
                };
                if !path.exists() {
                    return Ok(false);
                }
                let file = self.open_lock_file(&path)?;
                // Free if we can take it; given back at once (a starting daemon retries briefly).
                let held = matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock));
                Ok(held)
            }
            Dialect::Postgres => {
                let n = self
                    .count(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
                         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                         AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 2",
                        &[int(PG_LOCK_CLASS), int(pg_key(name))],
                    )
                    .await?;
                Ok(n > 0)
            }
        }
    }

    /// Who holds, or last held, the lock `name`.
    pub async fn holder(&self, name: &str) -> Result<Option<Holder>> {
        let Some(mut c) = self.fetch_one(HOLDER_SELECT, &[text(name)], &HOLDER_TYPES).await? else {
            return Ok(None);
        };
        let holder = |c: &mut Cols| -> Result<Holder> {
            Ok(Holder {
                name: c.text()?,
                host: c.text()?,
                pid: c.int()?,
                version: c.text()?,
                started_at: c.time()?,
                heartbeat_at: c.time()?,
                stopped_at: c.opt_time()?,
            })
        };
        holder(&mut c).map(Some)
    }
}

impl ProcessLock {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Notes that the holder is alive. On PostgreSQL it first checks the connection that holds
    /// the advisory lock: if the server dropped it (a restart), the lock went with it and is
    /// taken again on a new connection — or, when another process took it meanwhile, this is
    /// an error naming that process.
    pub async fn heartbeat(&self) -> Result<()> {
        if let Held::Postgres(conn) = &self.held {
            let mut conn = conn.lock().await;
            if sqlx::query("SELECT 1").execute(&mut *conn).await.is_err() {
                let mut fresh = self.store.pg_lock_connection().await?;
                if !self.store.pg_try_lock(&mut fresh, &self.name).await? {
                    let who = self.store.holder(&self.name).await?;
                    return Err(StoreError::new(
                        ErrorKind::Permanent,
                        format!(
                            "the lock `{}` was lost when the server dropped its connection, and another process took it ({})",
                            self.name,
                            who.map_or_else(|| "not recorded".to_string(), |h| h.to_string())
                        ),
                    )
                    .with_hint("two daemons now run on one state store: stop this one"));
                }
                tracing::warn!(lock = %self.name, "the server dropped the lock's connection; lock taken again");
                *conn = fresh;
            }
        }
        self.store
            .execute(
                "UPDATE instances SET heartbeat_at = ? WHERE name = ? AND pid = ?",
                &[time(now()), text(&self.name), int(i64::from(std::process::id()))],
            )
            .await?;
        Ok(())
    }

    /// Records a clean stop and gives the lock back.
    pub async fn release(self) -> Result<()> {
        let at = now();
        self.store
            .execute(
                "UPDATE instances SET heartbeat_at = ?, stopped_at = ? WHERE name = ? AND pid = ?",
                &[time(at), time(at), text(&self.name), int(i64::from(std::process::id()))],
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_positive() {
        assert_eq!(pg_key(DAEMON), pg_key("daemon"));
        assert_ne!(pg_key("journal-import"), pg_key("journal-post"));
        assert!(pg_key("journal-forecasts") >= 0);
    }

    #[tokio::test]
    async fn a_second_holder_is_refused_and_named_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let a = StateStore::open(&url).await.unwrap();
        let b = StateStore::open(&url).await.unwrap();
        let lock = a.try_lock(DAEMON).await.unwrap().expect("free at first");
        assert!(b.lock_held(DAEMON).await.unwrap());
        let holder = b.try_lock(DAEMON).await.unwrap().expect_err("held").expect("named");
        assert_eq!(holder.pid, i64::from(std::process::id()));
        assert!(holder.stopped_at.is_none());
        lock.release().await.unwrap();
        assert!(!b.lock_held(DAEMON).await.unwrap());
        assert!(b.holder(DAEMON).await.unwrap().unwrap().stopped_at.is_some());
        assert!(b.try_lock(DAEMON).await.unwrap().is_ok());
    }
}
