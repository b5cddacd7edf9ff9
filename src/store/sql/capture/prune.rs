//! Pruning the change log: entries every reader's cursor has passed are deleted in bounded
//! batches (one short statement each), so the log of a store synced for a year stays the size
//! of what is still unread. The entry a cursor points at is kept, so the feed's head never
//! moves back.

use super::super::conn::{Arg, Dialect, Pool};
use super::missing_log;
use crate::store::{Cursor, Pending, Result};
use crate::value::{Value, ValueType};

fn int(i: i64) -> Arg {
    Arg {
        value: Value::Int(i),
        ty: ValueType::Int,
    }
}

/// Deletes at most `batch` entries before `before` (in feed order); how many it deleted.
pub async fn prune_batch(pool: &Pool, before: Cursor, batch: usize) -> Result<u64> {
    let limit = i64::try_from(batch).unwrap_or(i64::MAX);
    let (sql, args) = match pool.dialect() {
        Dialect::Sqlite => (
            "DELETE FROM _dualsync_changes WHERE seq IN \
             (SELECT seq FROM _dualsync_changes WHERE seq < ? ORDER BY seq LIMIT ?)",
            vec![int(before.seq), int(limit)],
        ),
        Dialect::Postgres => (
            "DELETE FROM _dualsync_changes WHERE seq IN \
             (SELECT seq FROM _dualsync_changes WHERE (txid, seq) < ($1, $2) ORDER BY txid, seq LIMIT $3)",
            vec![int(before.epoch), int(before.seq), int(limit)],
        ),
    };
    pool.execute(sql, &args).await.map_err(missing_log)
}

/// Deletes every entry before `before`, `batch` at a time, pausing `pause` between batches so
/// the store's other writers (and live sync) go first. Returns how many it deleted.
pub async fn prune(pool: &Pool, before: Cursor, batch: usize, pause: std::time::Duration) -> Result<u64> {
    let batch = batch.max(1);
    let mut total = 0;
    loop {
        let n = prune_batch(pool, before, batch).await?;
        total += n;
        if n < batch as u64 {
            return Ok(total);
        }
        tokio::time::sleep(pause).await;
    }
}

/// How many entries of `entity` the change log holds after `after` (in feed order): how far
/// a reader of that entity at `after` is behind.
pub async fn pending(pool: &Pool, entity: &str, after: Cursor) -> Result<Pending> {
    let text = |s: &str| Arg {
        value: Value::Text(s.to_string()),
        ty: ValueType::Text,
    };
    // The count, and the age in milliseconds of the oldest (NULL when none waits), by the
    // database's own clock, which stamped the entries.
    let (sql, args) = match pool.dialect() {
        Dialect::Sqlite => (
            "SELECT count(*), CAST((julianday('now') - julianday(min(changed_at))) * 86400000.0 AS INTEGER) \
             FROM _dualsync_changes WHERE entity = ? AND seq > ?",
            vec![text(entity), int(after.seq)],
        ),
        Dialect::Postgres => (
            "SELECT count(*), CAST(EXTRACT(EPOCH FROM clock_timestamp() - min(changed_at)) * 1000 AS BIGINT) \
             FROM _dualsync_changes WHERE entity = $1 AND (txid, seq) > ($2, $3)",
            vec![text(entity), int(after.epoch), int(after.seq)],
        ),
    };
    let rows = pool
        .fetch(sql, &args, &[ValueType::Int, ValueType::Int])
        .await
        .map_err(missing_log)?;
    let row = rows.first();
    let count = match row.and_then(|r| r.first()) {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let oldest_age = match row.and_then(|r| r.get(1)) {
        // A clock a little behind the stamp reads as a negative age: none yet.
        Some(Value::Int(ms)) => Some(std::time::Duration::from_millis(u64::try_from(*ms).unwrap_or(0))),
        _ => None,
    };
    Ok(Pending { count, oldest_age })
}

/// How many entries the change log holds.
pub async fn log_size(pool: &Pool) -> Result<u64> {
    let rows = pool
        .fetch("SELECT count(*) FROM _dualsync_changes", &[], &[ValueType::Int])
        .await
        .map_err(missing_log)?;
    Ok(match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    })
}
