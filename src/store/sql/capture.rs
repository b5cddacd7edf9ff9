//! Change capture for SQL stores. Triggers on each captured table write the key of every
//! inserted, updated or deleted row into the change log `_dualsync_changes`, so changes made
//! by ANY program are seen. `read` returns one entity's entries in a stable order from a cursor; the
//! `Watcher` wakes readers: LISTEN/NOTIFY on PostgreSQL, a cheap poll on SQLite.
//!
//! Order on PostgreSQL: sequence numbers are taken in statement order but become visible in
//! commit order, so "everything after seq N" could miss a late commit. Each entry therefore
//! records its transaction id, and `read` returns only entries below a horizon: the oldest
//! transaction still running in THIS database (only those can write this log), or the next
//! transaction id when none runs. It is computed in a statement before the one that reads, so
//! every transaction below it has finished before the read's snapshot. Entries come in
//! (txid, seq) order; below the horizon the log can no longer change, so a cursor never skips
//! an entry, and a long transaction in another database never holds the feed back. (A role
//! that cannot see other sessions' transaction ids falls back to the cluster-wide xmin.)
//! On SQLite writers are serialized, so seq order is commit order.
//!
//! **Own writes.** The sync engine's own writes (`Store::apply_own`) are left out of the log:
//! the engine knows them already, and reading them back as echoes doubled its live work. The
//! writing transaction marks itself — PostgreSQL: the transaction-local setting
//! `dualsync.own_writes`; SQLite (no session variables a trigger can see): a row in
//! `_dualsync_meta` inserted at the start of the transaction and deleted before its commit, so
//! no other connection ever sees it (SQLite runs one write transaction at a time) — and the
//! triggers' `WHEN` skips marked writes. Every other program's writes are captured as before.
//!
//! Each read takes the head first and returns the entity's entries up to it: a reader of a quiet
//! entity moves on to the head (its position never holds pruning back), and an entry committed
//! between the two statements is left for the next read instead of being passed.

pub mod prune;

use std::time::Duration;

use super::catalog::quote;
use super::conn::{Arg, Dialect, Pool};
use super::decode::parse_typed;
use crate::store::{BadChange, Change, ChangeOp, Cursor, EntityDesc, ErrorKind, Result, StoreError};
use crate::value::{Value, ValueType};

/// Bumped when the trigger shape changes; `install` replaces triggers of older versions.
pub const CAPTURE_VERSION: i64 = 2;
const CHANNEL: &str = "dualsync_changes";

const SQLITE_LOG: &str = "
CREATE TABLE IF NOT EXISTS _dualsync_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('I', 'U', 'D')),
    key TEXT NOT NULL,
    changed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS _dualsync_changes_entity ON _dualsync_changes (entity, seq);
CREATE TABLE IF NOT EXISTS _dualsync_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
";

const PG_LOG: &str = "
CREATE TABLE IF NOT EXISTS _dualsync_changes (
    seq BIGSERIAL PRIMARY KEY,
    txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    entity TEXT NOT NULL,
    op CHAR(1) NOT NULL CHECK (op IN ('I', 'U', 'D')),
    key TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS _dualsync_changes_order ON _dualsync_changes (txid, seq);
CREATE INDEX IF NOT EXISTS _dualsync_changes_entity ON _dualsync_changes (entity, txid, seq);
CREATE TABLE IF NOT EXISTS _dualsync_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE OR REPLACE FUNCTION _dualsync_capture() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    k_new jsonb := '[]';
    k_old jsonb := '[]';
    c text;
    n jsonb;
    o jsonb;
BEGIN
    IF TG_OP <> 'DELETE' THEN n := to_jsonb(NEW); END IF;
    IF TG_OP <> 'INSERT' THEN o := to_jsonb(OLD); END IF;
    FOREACH c IN ARRAY TG_ARGV LOOP
        IF n IS NOT NULL THEN k_new := k_new || jsonb_build_array(n -> c); END IF;
        IF o IS NOT NULL THEN k_old := k_old || jsonb_build_array(o -> c); END IF;
    END LOOP;
    IF TG_OP = 'UPDATE' AND k_new IS DISTINCT FROM k_old THEN
        INSERT INTO _dualsync_changes (entity, op, key) VALUES (TG_TABLE_NAME, 'D', k_old::text);
    END IF;
    INSERT INTO _dualsync_changes (entity, op, key)
    VALUES (TG_TABLE_NAME, substr(TG_OP, 1, 1), (CASE WHEN TG_OP = 'DELETE' THEN k_old ELSE k_new END)::text);
    PERFORM pg_notify('dualsync_changes', '');
    RETURN NULL;
END
$fn$;
";

/// The name of the `_dualsync_meta` row (SQLite) and the setting (PostgreSQL) that mark a
/// transaction of the sync engine's own writes.
const OWN_WRITES: &str = "own_writes";
/// The triggers' condition: the write is not one of the engine's own.
const SQLITE_OTHERS: &str = "NOT EXISTS (SELECT 1 FROM _dualsync_meta WHERE name = 'own_writes')";
const PG_OTHERS: &str = "current_setting('dualsync.own_writes', true) IS DISTINCT FROM 'on'";

/// Marks the transaction `tx` as the engine's own writes, which the triggers leave out of the
/// log; on SQLite `unmark_own` must run before the commit.
pub async fn mark_own(tx: &mut super::conn::Tx) -> Result<()> {
    match tx.dialect() {
        Dialect::Sqlite => {
            let sql = format!("INSERT OR REPLACE INTO _dualsync_meta (name, value) VALUES ('{OWN_WRITES}', '1')");
            tx.execute(&sql, &[]).await?;
        }
        Dialect::Postgres => {
            let sql = format!("SELECT set_config('dualsync.{OWN_WRITES}', 'on', true)");
            tx.execute(&sql, &[]).await?;
        }
    }
    Ok(())
}

/// Removes the mark of `mark_own` before the commit (SQLite; PostgreSQL's setting ends with the
/// transaction).
pub async fn unmark_own(tx: &mut super::conn::Tx) -> Result<()> {
    if tx.dialect() == Dialect::Sqlite {
        let sql = format!("DELETE FROM _dualsync_meta WHERE name = '{OWN_WRITES}'");
        tx.execute(&sql, &[]).await?;
    }
    Ok(())
}

/// DROP statements for the capture triggers of earlier versions (their names carry the version).
async fn older_triggers(pool: &Pool) -> Result<String> {
    let current = format!("_dualsync_v{CAPTURE_VERSION}_");
    let (sql, types) = match pool.dialect() {
        Dialect::Sqlite => (
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_dualsync\\_v%' ESCAPE '\\'",
            [ValueType::Text, ValueType::Text],
        ),
        Dialect::Postgres => (
            "SELECT tgname::text, tgrelid::regclass::text FROM pg_trigger \
             WHERE NOT tgisinternal AND tgname LIKE '\\_dualsync\\_v%'",
            [ValueType::Text, ValueType::Text],
        ),
    };
    let mut out = String::new();
    for row in pool.fetch(sql, &[], &types).await? {
        let (Some(Value::Text(name)), Some(Value::Text(table))) = (row.first(), row.get(1)) else {
            continue;
        };
        if name.starts_with(&current) {
            continue;
        }
        out.push_str(&match pool.dialect() {
            Dialect::Sqlite => format!("DROP TRIGGER IF EXISTS {};\n", quote(name)),
            // `regclass` text is the table's name as the server quotes it.
            Dialect::Postgres => format!("DROP TRIGGER IF EXISTS {} ON {table};\n", quote(name)),
        });
    }
    Ok(out)
}

fn trigger_name(entity: &str, what: &str) -> String {
    quote(&format!("_dualsync_v{CAPTURE_VERSION}_{entity}_{what}"))
}

/// The longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer ones are cut.
const PG_MAX_IDENTIFIER: usize = 63;

/// A name as PostgreSQL stores it: cut to 63 bytes at a character boundary, as the server
/// does. (A trigger name only has to be unique per table, so two cut names never collide.)
fn pg_stored_name(name: &str) -> &str {
    if name.len() <= PG_MAX_IDENTIFIER {
        return name;
    }
    let mut end = PG_MAX_IDENTIFIER;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The DDL that captures one table (idempotent: drops this version's triggers first).
fn table_ddl(dialect: Dialect, desc: &EntityDesc) -> String {
    let table = quote(&desc.name);
    match dialect {
        Dialect::Sqlite => {
            let keys = |row: &str| {
                let cols: Vec<String> = desc
                    .key_columns()
                    .map(|c| format!("{row}.{}", quote(&c.name)))
                    .collect();
                format!("json_array({})", cols.join(", "))
            };
            let name = sql_string(&desc.name);
            let (ins, upd, del) = (
                trigger_name(&desc.name, "ins"),
                trigger_name(&desc.name, "upd"),
                trigger_name(&desc.name, "del"),
            );
            format!(
                "DROP TRIGGER IF EXISTS {ins}; DROP TRIGGER IF EXISTS {upd}; DROP TRIGGER IF EXISTS {del};
CREATE TRIGGER {ins} AFTER INSERT ON {table} WHEN {others} BEGIN
  INSERT INTO _dualsync_changes (entity, op, key) VALUES ({name}, 'I', {new});
END;
CREATE TRIGGER {upd} AFTER UPDATE ON {table} WHEN {others} BEGIN
  INSERT INTO _dualsync_changes (entity, op, key) SELECT {name}, 'D', {old} WHERE {old} IS NOT {new};
  INSERT INTO _dualsync_changes (entity, op, key) VALUES ({name}, 'U', {new});
END;
CREATE TRIGGER {del} AFTER DELETE ON {table} WHEN {others} BEGIN
  INSERT INTO _dualsync_changes (entity, op, key) VALUES ({name}, 'D', {old});
END;",
                new = keys("NEW"),
                old = keys("OLD"),
                others = SQLITE_OTHERS,
            )
        }
        Dialect::Postgres => {
            let trg = trigger_name(&desc.name, "cdc");
            let args: Vec<String> = desc.key_columns().map(|c| sql_string(&c.name)).collect();
            format!(
                "DROP TRIGGER IF EXISTS {trg} ON {table};
CREATE TRIGGER {trg} AFTER INSERT OR UPDATE OR DELETE ON {table}
  FOR EACH ROW WHEN ({PG_OTHERS}) EXECUTE FUNCTION _dualsync_capture({});",
                args.join(", ")
            )
        }
    }
}

/// Creates the change log and (re)creates the triggers of these tables, in one transaction —
/// unless they are all in place at the current version already (checked read-only first, so a
/// restart never takes locks that other programs' writes would wait for). On PostgreSQL an
/// advisory lock keeps two installers apart and a lock timeout turns a wait behind a busy
/// application into a transient error, retried by the caller.
pub async fn install(pool: &Pool, descs: &[std::sync::Arc<EntityDesc>]) -> Result<()> {
    if installed(pool, descs).await {
        return Ok(());
    }
    let dialect = pool.dialect();
    let mut script = String::from(match dialect {
        Dialect::Sqlite => SQLITE_LOG,
        Dialect::Postgres => PG_LOG,
    });
    for d in descs {
        script.push_str(&table_ddl(dialect, d));
        script.push('\n');
    }
    // Triggers of an older version go in the same transaction. When they cannot be listed,
    // installing fails (and is retried) instead of leaving them to capture every change twice.
    script.push_str(&older_triggers(pool).await?);
    // A mark of own writes is never committed; one left by a bug would stop all capture.
    script.push_str(&format!("DELETE FROM _dualsync_meta WHERE name = '{OWN_WRITES}';\n"));
    let upsert = format!(
        "INSERT INTO _dualsync_meta (name, value) VALUES ('capture_version', '{CAPTURE_VERSION}') \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value"
    );
    script.push_str(&upsert);
    script.push(';');
    let wrapped = match dialect {
        Dialect::Sqlite => format!("BEGIN IMMEDIATE;\n{script}\nCOMMIT;"),
        Dialect::Postgres => format!(
            "BEGIN;\nSET LOCAL lock_timeout = '5s';\nSELECT pg_advisory_xact_lock(7710420160);\n{script}\nCOMMIT;"
        ),
    };
    pool.execute_script(&wrapped).await
}

/// Whether the change log, the current capture version and every table's triggers are in place.
async fn installed(pool: &Pool, descs: &[std::sync::Arc<EntityDesc>]) -> bool {
    let version = pool
        .fetch(
            "SELECT value FROM _dualsync_meta WHERE name = 'capture_version'",
            &[],
            &[ValueType::Text],
        )
        .await;
    if !matches!(version.as_deref(), Ok([row]) if row[0] == Value::Text(CAPTURE_VERSION.to_string())) {
        return false;
    }
    let names: Vec<String> = descs
        .iter()
        .flat_map(|d| match pool.dialect() {
            Dialect::Sqlite => ["ins", "upd", "del"].map(|w| trigger_name(&d.name, w)).to_vec(),
            Dialect::Postgres => vec![trigger_name(&d.name, "cdc")],
        })
        .map(|quoted| quoted.trim_matches('"').replace("\"\"", "\""))
        // PostgreSQL cut names longer than 63 bytes when it created them: compare them cut, or
        // a long table's trigger never looks installed and is re-created at every start.
        .map(|name| match pool.dialect() {
            Dialect::Sqlite => name,
            Dialect::Postgres => pg_stored_name(&name).to_string(),
        })
        .collect();
    let sql = match pool.dialect() {
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'trigger'",
        Dialect::Postgres => "SELECT tgname::text FROM pg_trigger WHERE NOT tgisinternal",
    };
    let Ok(rows) = pool.fetch(sql, &[], &[ValueType::Text]).await else {
        return false;
    };
    let present: std::collections::HashSet<String> = rows
        .into_iter()
        .filter_map(|r| match r.into_iter().next() {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        })
        .collect();
    names.iter().all(|n| present.contains(n))
}

/// A change-log entry before its key is decoded with the entity's key types.
pub struct RawChange {
    pub cursor: Cursor,
    pub entity: String,
    pub op: String,
    pub key: String,
    /// `changed_at` as RFC 3339 text.
    pub at: String,
}

impl RawChange {
    /// The entry with its key read as the entity's key types. An entry that cannot be read so
    /// (a key that is not a JSON array of the key's values, an unknown operation) comes back
    /// with `bad` set and an empty key, for the reader to record and pass: one bad entry never
    /// stops the feed.
    pub fn decode(self, desc: &EntityDesc) -> Change {
        let at = chrono::DateTime::parse_from_rfc3339(&self.at).ok().map(|t| t.to_utc());
        let (key, op) = match self.key_and_op(desc) {
            Ok(ok) => ok,
            Err(why) => return self.bad(why, at),
        };
        Change {
            position: Some(self.cursor.into()),
            entity: self.entity,
            op,
            key,
            at,
            bad: None,
        }
    }

    /// The entry as one that cannot be decoded, and why.
    pub fn bad(self, why: String, at: Option<chrono::DateTime<chrono::Utc>>) -> Change {
        let message = format!(
            "change-log entry {} of `{}` has {why}: {}",
            self.cursor, self.entity, self.key
        );
        Change {
            position: Some(self.cursor.into()),
            entity: self.entity,
            op: ChangeOp::from_code(self.op.trim()).unwrap_or(ChangeOp::Update),
            key: Vec::new(),
            at,
            bad: Some(BadChange {
                raw_key: self.key,
                message,
            }),
        }
    }

    fn key_and_op(&self, desc: &EntityDesc) -> std::result::Result<(Vec<Value>, ChangeOp), String> {
        let json: Vec<serde_json::Value> =
            serde_json::from_str(&self.key).map_err(|_| "a key that is not a JSON array".to_string())?;
        if json.len() != desc.key.len() {
            return Err("a key of the wrong length".to_string());
        }
        let key = desc
            .key_columns()
            .zip(&json)
            .map(|(c, v)| {
                let value = json_value(c.value_type, v)
                    .filter(|v| !v.is_null())
                    .ok_or_else(|| format!("a value for `{}` that is not a valid {}", c.name, c.value_type))?;
                // A GUID key is found by key in lower or upper case (hyphenated) only; any other
                // spelling would read as deleted, so it is reported instead.
                if let (Value::Guid(g), serde_json::Value::String(t)) = (&value, v) {
                    let lower = g.hyphenated().to_string();
                    if *t != lower && *t != lower.to_uppercase() {
                        return Err(format!(
                            "a GUID for `{}` written neither in lower nor in upper case with hyphens ({lower} or {})",
                            c.name,
                            lower.to_uppercase()
                        ));
                    }
                }
                Ok(value)
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let op = ChangeOp::from_code(self.op.trim()).ok_or_else(|| "an unknown operation".to_string())?;
        Ok((key, op))
    }
}

fn json_value(ty: ValueType, v: &serde_json::Value) -> Option<Value> {
    match v {
        serde_json::Value::Null => Some(Value::Null),
        serde_json::Value::String(s) => parse_typed(ty, s),
        serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
        serde_json::Value::Number(n) => match ty {
            ValueType::Bool => Some(Value::Bool(n.as_i64()? != 0)),
            ValueType::Int => Some(Value::Int(n.as_i64()?)),
            _ => parse_typed(ty, &n.to_string()),
        },
        _ => None,
    }
}

/// The PostgreSQL horizon: entries of transactions below it are final (see the module doc).
/// A running transaction's 32-bit `backend_xid` is widened against the snapshot's 64-bit xmax,
/// which is never more than 2^31 ahead of it.
const PG_HORIZON: &str = "
WITH s AS (
    SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax,
           pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
           (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
             OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS sees_all
)
SELECT CASE WHEN s.sees_all THEN least(s.xmax, (
    SELECT min(s.xmax - (((s.xmax % 4294967296) - a.backend_xid::text::bigint + 4294967296) % 4294967296))
    FROM pg_stat_activity a
    WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
)) ELSE s.xmin END
FROM s";

async fn pg_horizon(pool: &Pool) -> Result<i64> {
    match pool
        .fetch(PG_HORIZON, &[], &[ValueType::Int])
        .await?
        .first()
        .map(|r| &r[0])
    {
        Some(Value::Int(h)) => Ok(*h),
        _ => Err(StoreError::new(
            ErrorKind::Permanent,
            "could not read the transaction horizon",
        )),
    }
}

/// Up to `limit` entries of `entity` after `after` and not after the feed's head, in feed
/// order, and that head: where the reader goes on from when fewer than `limit` came back.
pub async fn read(pool: &Pool, entity: &str, after: Cursor, limit: usize) -> Result<(Vec<RawChange>, Cursor)> {
    let head = head(pool).await?;
    if head <= after {
        return Ok((Vec::new(), after));
    }
    let int = |i: i64| Arg {
        value: Value::Int(i),
        ty: ValueType::Int,
    };
    let name = Arg {
        value: Value::Text(entity.to_string()),
        ty: ValueType::Text,
    };
    let (sql, args) = match pool.dialect() {
        Dialect::Sqlite => (
            format!(
                "SELECT 0, seq, entity, op, key, changed_at FROM _dualsync_changes \
                 WHERE entity = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT {limit}"
            ),
            vec![name, int(after.seq), int(head.seq)],
        ),
        Dialect::Postgres => (
            format!(
                "SELECT txid, seq, entity, op::text, key, \
                 to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM _dualsync_changes \
                 WHERE entity = $1 AND (txid, seq) > ($2, $3) AND (txid, seq) <= ($4, $5) \
                 ORDER BY txid, seq LIMIT {limit}"
            ),
            vec![name, int(after.epoch), int(after.seq), int(head.epoch), int(head.seq)],
        ),
    };
    let types = [
        ValueType::Int,
        ValueType::Int,
        ValueType::Text,
        ValueType::Text,
        ValueType::Text,
        ValueType::Text,
    ];
    let rows = pool.fetch(&sql, &args, &types).await.map_err(missing_log)?;
    let entries: Vec<RawChange> = rows
        .into_iter()
        .filter_map(|r| match <[Value; 6]>::try_from(r).ok()? {
            [
                Value::Int(epoch),
                Value::Int(seq),
                Value::Text(entity),
                Value::Text(op),
                Value::Text(key),
                Value::Text(at),
            ] => Some(RawChange {
                cursor: Cursor { epoch, seq },
                entity,
                op,
                key,
                at,
            }),
            _ => None,
        })
        .collect();
    Ok((entries, head))
}

/// The last readable entry's position.
pub async fn head(pool: &Pool) -> Result<Cursor> {
    let (sql, args) = match pool.dialect() {
        Dialect::Sqlite => ("SELECT 0, coalesce(max(seq), 0) FROM _dualsync_changes", vec![]),
        Dialect::Postgres => (
            "SELECT txid, seq FROM _dualsync_changes WHERE txid < $1 ORDER BY txid DESC, seq DESC LIMIT 1",
            vec![Arg {
                value: Value::Int(pg_horizon(pool).await?),
                ty: ValueType::Int,
            }],
        ),
    };
    let rows = pool
        .fetch(sql, &args, &[ValueType::Int, ValueType::Int])
        .await
        .map_err(missing_log)?;
    match rows.first().map(|r| (&r[0], &r[1])) {
        Some((Value::Int(epoch), Value::Int(seq))) => Ok(Cursor {
            epoch: *epoch,
            seq: *seq,
        }),
        _ => Ok(Cursor::default()),
    }
}

fn missing_log(e: StoreError) -> StoreError {
    if super::conn::is_missing_table(&e, "_dualsync_changes") {
        StoreError::new(ErrorKind::NotFound, "change capture is not installed in this store")
            .with_hint("run `dualsync store init` (or start the daemon) to install it")
    } else {
        e
    }
}

/// Keeps a `watch` counter moving while new changes may be waiting; stops when dropped.
pub struct Watcher {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const SQLITE_POLL: Duration = Duration::from_millis(50);
/// PostgreSQL also wakes readers this often, in case a notification was lost on a reconnect.
const PG_HEARTBEAT: Duration = Duration::from_secs(2);

impl Watcher {
    pub fn spawn(pool: &Pool) -> (Watcher, tokio::sync::watch::Receiver<u64>) {
        let (tx, rx) = tokio::sync::watch::channel(0u64);
        let bump = move |tx: &tokio::sync::watch::Sender<u64>| tx.send_modify(|n| *n = n.wrapping_add(1));
        let task = match pool {
            Pool::Sqlite(_) => {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let mut last = None;
                    loop {
                        let sql = "SELECT coalesce(max(seq), 0) FROM _dualsync_changes";
                        if let Ok(rows) = pool.fetch(sql, &[], &[ValueType::Int]).await {
                            let now = rows.first().and_then(|r| r.first().cloned());
                            if now != last {
                                last = now;
                                bump(&tx);
                            }
                        }
                        tokio::time::sleep(SQLITE_POLL).await;
                    }
                })
            }
            Pool::Postgres(pg) => {
                let pg = pg.clone();
                tokio::spawn(async move {
                    loop {
                        let listener = async {
                            let mut l = sqlx::postgres::PgListener::connect_with(&pg).await?;
                            l.listen(CHANNEL).await?;
                            Ok::<_, sqlx::Error>(l)
                        };
                        let Ok(mut listener) = listener.await else {
                            tokio::time::sleep(PG_HEARTBEAT).await;
                            bump(&tx);
                            continue;
                        };
                        bump(&tx); // anything committed while we were not listening
                        // Ends (and reconnects) when the connection is lost.
                        while let Ok(Some(_)) | Err(_) = tokio::time::timeout(PG_HEARTBEAT, listener.try_recv())
                            .await
                            .map(|r| r.ok().flatten())
                        {
                            bump(&tx);
                        }
                    }
                })
            }
        };
        (Watcher { task }, rx)
    }
}
