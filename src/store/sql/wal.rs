//! Keeps a SQLite file's write-ahead log bounded. SQLite's automatic checkpoint copies the log
//! into the database but starts the log over only at a moment when no reader is using it; while
//! dualsync's own reads and writes overlap without pause (an initial sync's pipeline, a live
//! backlog), that moment never comes, and the log grew with everything written: 3.5 GB beside a
//! 1 GB accounting file after an initial sync of a million actuals, with its index in shared
//! memory (resident, so counted in the daemon's memory) growing alike (issue 15). After a commit
//! that leaves the log past `LIMIT`, the committing connection checkpoints it and truncates it,
//! waiting at most `WAIT` for readers to move off it; when it cannot, the next try comes only
//! after `RETRY_AFTER`, so a long reader (someone else's report) does not slow every commit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::{SqliteConnection, SqlitePool};

/// The log size past which a commit checkpoints and truncates it.
const LIMIT: u64 = 64 * 1024 * 1024;
/// How long the checkpoint waits for the write lock and for readers to move off the log.
const WAIT: Duration = Duration::from_millis(500);
/// After a checkpoint that could not truncate the log, how long until the next try.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// The connections' busy timeout, restored after the checkpoint (as `connect` sets it).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Per log file: no try before this instant.
static NEXT_TRY: Mutex<Option<HashMap<PathBuf, Instant>>> = Mutex::new(None);

/// The log file of the pool's database, named once per transaction from the pool's options (an
/// in-memory database's name has no log file beside it, so it is never found too big).
pub(super) fn log_of(pool: &SqlitePool) -> Option<PathBuf> {
    let mut name = pool.connect_options().get_filename().as_os_str().to_owned();
    name.push("-wal");
    Some(PathBuf::from(name))
}

/// After a commit on `conn`: checkpoints and truncates the log `wal` when it has grown past
/// `LIMIT`. Never fails: a log that cannot be truncated now is tried again later, and stays
/// correct.
pub(super) async fn bound(conn: &mut SqliteConnection, wal: &Path) {
    let big = std::fs::metadata(wal).is_ok_and(|m| m.len() > LIMIT);
    if !big || !due(wal) {
        return;
    }
    let started = Instant::now();
    let truncated = checkpoint(conn).await;
    let size = std::fs::metadata(wal).map(|m| m.len()).unwrap_or_default();
    if truncated {
        tracing::debug!(log = %wal.display(), ms = started.elapsed().as_millis() as u64, "write-ahead log truncated");
    } else {
        tracing::debug!(log = %wal.display(), bytes = size, "write-ahead log in use by readers; truncating it later");
        NEXT_TRY
            .lock()
            .expect("wal lock")
            .get_or_insert_with(HashMap::new)
            .insert(wal.to_path_buf(), Instant::now() + RETRY_AFTER);
    }
}

/// Whether a try on `wal` is due (none failed within `RETRY_AFTER`).
fn due(wal: &Path) -> bool {
    let mut next = NEXT_TRY.lock().expect("wal lock");
    match next.as_mut().and_then(|m| m.get(wal).copied()) {
        Some(at) if at > Instant::now() => false,
        Some(_) => {
            next.as_mut().map(|m| m.remove(wal));
            true
        }
        None => true,
    }
}

/// `PRAGMA wal_checkpoint(TRUNCATE)` with a short busy wait; whether the log was truncated.
async fn checkpoint(conn: &mut SqliteConnection) -> bool {
    let set = |d: Duration| format!("PRAGMA busy_timeout = {}", d.as_millis());
    if sqlx::raw_sql(sqlx::AssertSqlSafe(set(WAIT)))
        .execute(&mut *conn)
        .await
        .is_err()
    {
        return false;
    }
    // One row: busy (1 when readers or a writer kept it from finishing), log frames, frames
    // checkpointed.
    let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut *conn)
        .await;
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(set(BUSY_TIMEOUT)))
        .execute(&mut *conn)
        .await;
    matches!(done, Ok((0, _, _)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    /// A log grown past the limit while a reader kept the automatic checkpoint from starting it
    /// over is truncated by the next commit once the reader is gone.
    #[tokio::test]
    async fn a_commit_truncates_a_log_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let opts = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .unwrap()
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let mut w = SqliteConnection::connect_with(&opts).await.unwrap();
        let mut r = SqliteConnection::connect_with(&opts).await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB)")
            .execute(&mut w)
            .await
            .unwrap();
        // The reader holds a snapshot from before the writes: no checkpoint may start the log over.
        sqlx::raw_sql("BEGIN; SELECT count(*) FROM t;")
            .execute(&mut r)
            .await
            .unwrap();
        let pool = SqlitePool::connect_with(opts.clone()).await.unwrap();
        let wal = log_of(&pool).unwrap();
        assert_eq!(wal, dir.path().join("t.db-wal"));
        let mut i = 0;
        while std::fs::metadata(&wal).unwrap().len() <= LIMIT {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "INSERT INTO t (pad) SELECT randomblob(4000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000) SELECT x FROM c); -- {i}"
            )))
            .execute(&mut w)
            .await
            .unwrap();
            i += 1;
        }
        // With the reader still there, the log cannot be truncated, and the commit does not wait long.
        let started = Instant::now();
        bound(&mut w, &wal).await;
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert!(std::fs::metadata(&wal).unwrap().len() > LIMIT);
        sqlx::raw_sql("COMMIT").execute(&mut r).await.unwrap();
        // The next try comes after the pause.
        NEXT_TRY.lock().unwrap().as_mut().unwrap().remove(&wal);
        bound(&mut w, &wal).await;
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut r)
            .await
            .unwrap();
        assert_eq!(n, i64::from(i) * 1000);
    }
}
