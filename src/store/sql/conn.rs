//! The one place where SQLite and PostgreSQL differ at run time: pools and transactions,
//! binding a `Value` with its column type (so a null is typed), running queries (their rows
//! are decoded back into `Value`s by `decode`), and sorting database errors into transient
//! and row-level ones.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Postgres, Sqlite};
use uuid::Uuid;

use super::decode::{Cells, Fetched};
use crate::store::{ErrorKind, Row, StoreError};
use crate::value::{Value, ValueType};

/// Which SQL dialect a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The placeholder of the `n`th (1-based) parameter.
    pub fn param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_string(),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// SQL text written with `?` placeholders, for this dialect: `$1`, `$2`, ... on
    /// PostgreSQL. (For SQL written by dualsync itself, with no `?` inside literals.)
    pub fn sql(self, text: &str) -> std::borrow::Cow<'_, str> {
        if self == Dialect::Sqlite || !text.contains('?') {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut n = 0;
        for c in text.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&self.param(n));
            } else {
                out.push(c);
            }
        }
        std::borrow::Cow::Owned(out)
    }
}

/// A value to bind, with the type of the column it goes to.
#[derive(Debug, Clone)]
pub struct Arg {
    pub value: Value,
    pub ty: ValueType,
}

#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on one pooled connection, begun and ended by plain `BEGIN`/`COMMIT`/
/// `ROLLBACK` statements, so a connection whose commit or rollback failed (a full disk, a
/// read-only file, a broken link) is closed instead of going back to the pool half-way
/// through its transaction. Dropped without `commit`, it rolls back on a task of its own
/// before the connection returns to the pool.
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(PgTx),
}

/// The connection of a `Tx` of one dialect; `conn` is `None` once committed.
macro_rules! tx_conn {
    ($name:ident, $db:ty, $log:path, $after_commit:path) => {
        pub struct $name {
            conn: Option<PoolConnection<$db>>,
            /// The only connection of an in-memory SQLite database: closing it would lose the data.
            keep: bool,
            /// The database's write-ahead log file, kept bounded after each commit (SQLite).
            log: Option<std::path::PathBuf>,
        }

        impl $name {
            async fn begin(pool: &sqlx::Pool<$db>, begin: &'static str, keep: bool) -> Result<$name, StoreError> {
                let conn = pool.acquire().await.map_err(from_sqlx)?;
                // The transaction exists before its BEGIN runs: if this future is dropped while
                // BEGIN is under way (a pipeline stopped by another batch's error; the statement
                // still runs on the connection), dropping it rolls back, so no connection goes
                // back to the pool inside a transaction.
                let mut tx = $name {
                    conn: Some(conn),
                    keep,
                    log: $log(pool),
                };
                if let Err(e) = sqlx::raw_sql(begin).execute(&mut **tx.conn()?).await {
                    // Whatever state the failed BEGIN left, this connection does not go back.
                    if let Some(mut conn) = tx.conn.take()
                        && !keep
                    {
                        conn.close_on_drop();
                    }
                    return Err(from_sqlx(e));
                }
                Ok(tx)
            }

            fn conn(&mut self) -> Result<&mut PoolConnection<$db>, StoreError> {
                self.conn
                    .as_mut()
                    .ok_or_else(|| StoreError::new(ErrorKind::Permanent, "the transaction is over"))
            }

            async fn commit(mut self) -> Result<(), StoreError> {
                // The connection stays in the transaction until COMMIT has answered: dropped
                // while COMMIT is under way, the transaction rolls back or (committed already,
                // so the rollback fails) closes the connection.
                let done = sqlx::raw_sql("COMMIT").execute(&mut **self.conn()?).await;
                let Some(mut conn) = self.conn.take() else {
                    return Err(StoreError::new(ErrorKind::Permanent, "the transaction is over"));
                };
                match done {
                    Ok(_) => {
                        if let Some(log) = &self.log {
                            $after_commit(&mut conn, log).await;
                        }
                        Ok(())
                    }
                    Err(e) => {
                        // The transaction may still be open (SQLite keeps it after SQLITE_FULL
                        // or SQLITE_BUSY): roll it back, and close the connection either way.
                        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                        if !self.keep {
                            conn.close_on_drop();
                        }
                        Err(from_sqlx(e))
                    }
                }
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                let Some(mut conn) = self.conn.take() else {
                    return;
                };
                let keep = self.keep;
                match tokio::runtime::Handle::try_current() {
                    // The connection returns to the pool once the rollback is done; one whose
                    // rollback failed is closed.
                    Ok(handle) => drop(handle.spawn(async move {
                        if sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.is_err() && !keep {
                            conn.close_on_drop();
                        }
                    })),
                    // No runtime to roll back on: closing the connection rolls back.
                    Err(_) if !keep => conn.close_on_drop(),
                    Err(_) => {}
                }
            }
        }
    };
}

tx_conn!(SqliteTx, Sqlite, super::wal::log_of, super::wal::bound);
tx_conn!(PgTx, Postgres, no_log, nothing_after_commit);

/// PostgreSQL bounds its own log with its checkpoints: no file to watch.
fn no_log(_: &PgPool) -> Option<std::path::PathBuf> {
    None
}

/// PostgreSQL needs no upkeep after a commit.
async fn nothing_after_commit(_: &mut sqlx::PgConnection, _: &std::path::Path) {}

/// Binds `args` to a query of either dialect.
/// Statements with more parameters than this are not kept prepared on the connection: their
/// text changes with the batch (an `IN` list or a multi-row `VALUES` of each batch's length), so
/// sqlx's per-connection cache of 100 statements filled with large ones, some of them thousands
/// of parameters, and the memory of an initial sync grew with its length (issue 15). Preparing
/// one of them again costs far less than the batch it carries.
const PERSISTENT_MAX_ARGS: usize = 32;

macro_rules! bind_all {
    ($sql:expr, $args:expr, $bind:ident) => {{
        let args = $args;
        let mut q = sqlx::query(AssertSqlSafe($sql.to_string())).persistent(args.len() <= PERSISTENT_MAX_ARGS);
        for a in args {
            q = $bind(q, a)?;
        }
        q
    }};
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>;
type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn bind_sqlite<'q>(q: SqliteQuery<'q>, arg: &Arg) -> Result<SqliteQuery<'q>, StoreError> {
    Ok(match &arg.value {
        Value::Null => match arg.ty {
            ValueType::Int | ValueType::Bool => q.bind(None::<i64>),
            _ => q.bind(None::<String>),
        },
        Value::Bool(b) => q.bind(i64::from(*b)),
        Value::Int(i) => q.bind(*i),
        Value::Decimal(d) => q.bind(d.to_string()),
        Value::Text(s) => q.bind(s.clone()),
        Value::Date(d) => {
            let mut out = String::with_capacity(10);
            crate::value::text::push_date(&mut out, *d);
            q.bind(out)
        }
        Value::DateTime(t) => q.bind(format_datetime(t)),
        Value::Guid(g) => q.bind(g.hyphenated().to_string()),
    })
}

fn bind_pg<'q>(q: PgQuery<'q>, arg: &Arg) -> Result<PgQuery<'q>, StoreError> {
    Ok(match (&arg.value, arg.ty) {
        (Value::Null, ValueType::Bool) => q.bind(None::<bool>),
        (Value::Null, ValueType::Int) => q.bind(None::<i64>),
        (Value::Null, ValueType::Decimal) => q.bind(None::<Decimal>),
        (Value::Null, ValueType::Text) => q.bind(None::<String>),
        (Value::Null, ValueType::Date) => q.bind(None::<NaiveDate>),
        (Value::Null, ValueType::DateTime) => q.bind(None::<DateTime<Utc>>),
        (Value::Null, ValueType::Guid) => q.bind(None::<Uuid>),
        (Value::Bool(b), _) => q.bind(*b),
        (Value::Int(i), _) => q.bind(*i),
        (Value::Decimal(d), _) => q.bind(*d),
        (Value::Text(s), _) => q.bind(s.clone()),
        (Value::Date(d), _) => q.bind(*d),
        (Value::DateTime(t), _) => q.bind(*t),
        (Value::Guid(g), _) => q.bind(*g),
    })
}

/// Datetimes are stored in SQLite as RFC 3339 UTC text with microseconds, so text order is
/// time order.
pub fn format_datetime(t: &DateTime<Utc>) -> String {
    let mut out = String::with_capacity(27);
    crate::value::text::push_date_time(&mut out, t, 6);
    out
}

impl Pool {
    pub fn dialect(&self) -> Dialect {
        match self {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            // IMMEDIATE: take the write lock up front (waiting out the busy timeout), so a
            // transaction never fails when it turns from reading to writing.
            Pool::Sqlite(p) => {
                Tx::Sqlite(SqliteTx::begin(p, "BEGIN IMMEDIATE", super::connect::is_in_memory(p)).await?)
            }
            Pool::Postgres(p) => Tx::Postgres(PgTx::begin(p, "BEGIN", false).await?),
        })
    }

    /// Runs a query and decodes each result column with the type given for it; a value that
    /// cannot be decoded fails the read.
    pub async fn fetch(&self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Row>, StoreError> {
        self.fetch_all(sql, args).await?.rows(types)
    }

    /// Like `fetch`, but a value that cannot be decoded fails only its own cell, not the
    /// whole read (so one bad record does not hide the others).
    pub async fn fetch_cells(&self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Cells>, StoreError> {
        Ok(self.fetch_all(sql, args).await?.cells(types))
    }

    /// Runs a query and returns its rows undecoded.
    async fn fetch_all(&self, sql: &str, args: &[Arg]) -> Result<Fetched, StoreError> {
        Ok(match self {
            Pool::Sqlite(p) => {
                let q = bind_all!(sql, args, bind_sqlite);
                Fetched::Sqlite(q.fetch_all(p).await.map_err(from_sqlx)?)
            }
            Pool::Postgres(p) => {
                let q = bind_all!(sql, args, bind_pg);
                Fetched::Postgres(q.fetch_all(p).await.map_err(from_sqlx)?)
            }
        })
    }

    pub async fn execute(&self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        match self {
            Pool::Sqlite(p) => {
                let q = bind_all!(sql, args, bind_sqlite);
                Ok(q.execute(p).await.map_err(from_sqlx)?.rows_affected())
            }
            Pool::Postgres(p) => {
                let q = bind_all!(sql, args, bind_pg);
                Ok(q.execute(p).await.map_err(from_sqlx)?.rows_affected())
            }
        }
    }

    /// Runs several statements without parameters (DDL).
    pub async fn execute_script(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            Pool::Sqlite(p) => sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .map(|_| ()),
            Pool::Postgres(p) => sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .map(|_| ()),
        }
        .map_err(from_sqlx)
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a query in the transaction and decodes each result column with the type given
    /// for it; a value that cannot be decoded fails the read.
    pub async fn fetch(&mut self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Row>, StoreError> {
        let fetched = match self {
            Tx::Sqlite(tx) => {
                let q = bind_all!(sql, args, bind_sqlite);
                Fetched::Sqlite(q.fetch_all(&mut **tx.conn()?).await.map_err(from_sqlx)?)
            }
            Tx::Postgres(tx) => {
                let q = bind_all!(sql, args, bind_pg);
                Fetched::Postgres(q.fetch_all(&mut **tx.conn()?).await.map_err(from_sqlx)?)
            }
        };
        fetched.rows(types)
    }

    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        match self {
            Tx::Sqlite(tx) => {
                let q = bind_all!(sql, args, bind_sqlite);
                Ok(q.execute(&mut **tx.conn()?).await.map_err(from_sqlx)?.rows_affected())
            }
            Tx::Postgres(tx) => {
                let q = bind_all!(sql, args, bind_pg);
                Ok(q.execute(&mut **tx.conn()?).await.map_err(from_sqlx)?.rows_affected())
            }
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// Whether a database error concerns the row being written (a constraint, a bad value)
/// rather than the connection or the database as a whole.
fn is_row_error(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let code = db.code().map(|c| c.to_string()).unwrap_or_default();
    match db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        // SQLITE_CONSTRAINT (19), SQLITE_MISMATCH (20), SQLITE_TOOBIG (18), and extended codes.
        Some(_) => code
            .parse::<i64>()
            .map(|c| matches!(c & 0xff, 18..=20))
            .unwrap_or(false),
        // Class 22 data exception, class 23 integrity constraint violation.
        None => code.starts_with("22") || code.starts_with("23"),
    }
}

/// Sorts an sqlx error into a `StoreError` of the right kind.
/// Whether `e` says that `table` does not exist: PostgreSQL's SQLSTATE 42P01; SQLite has no
/// code of its own for it (a plain SQLITE_ERROR), so there the message names the table.
pub fn is_missing_table(e: &StoreError, table: &str) -> bool {
    match e.code.as_deref() {
        Some("42P01") => true,
        Some("1") => e.message.contains("no such table") && e.message.contains(table),
        _ => false,
    }
}

pub fn from_sqlx(e: sqlx::Error) -> StoreError {
    let kind = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_) => ErrorKind::Transient,
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let transient = match db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                // SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_READONLY (8: the file or its
                // file system made read-only for a while), SQLITE_IOERR (10), SQLITE_FULL (13: a
                // full disk, until space is freed), SQLITE_CANTOPEN (14)
                Some(_) => code
                    .parse::<i64>()
                    .map(|c| matches!(c & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
                    .unwrap_or(false),
                // 08 connection, 40001 serialization, 40P01 deadlock, 53 resources, 57P0x
                // shutdown, 55P03 lock timeout, 55000 with "not currently accepting
                // connections" (a database closed to connections for a while)
                None => {
                    code.starts_with("08")
                        || code == "40001"
                        || code == "40P01"
                        || code.starts_with("53")
                        || code.starts_with("57P")
                        || code == "55P03"
                        || (code == "55000" && db.message().contains("not currently accepting connections"))
                }
            };
            if transient {
                ErrorKind::Transient
            } else if is_row_error(&e) {
                ErrorKind::Rejected
            } else {
                ErrorKind::Permanent
            }
        }
        _ => ErrorKind::Permanent,
    };
    // SQLITE_READONLY (8) and SQLITE_FULL (13) need a person to act; dualsync goes on by itself.
    let cannot_write = matches!(&e, sqlx::Error::Database(db)
        if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
            && db.code().and_then(|c| c.parse::<i64>().ok()).is_some_and(|c| matches!(c & 0xff, 8 | 13)));
    let mut err = StoreError::new(kind, message_of(&e));
    if let sqlx::Error::Database(db) = &e {
        err.code = db.code().map(|c| c.to_string());
    }
    err.source = Some(std::sync::Arc::new(e));
    match kind {
        ErrorKind::Transient if cannot_write => err.with_hint(
            "the store's file is read-only or its disk is full; make it writable or free space, \
             and dualsync goes on by itself",
        ),
        ErrorKind::Transient => err.with_hint("the store is unreachable or busy; dualsync retries by itself"),
        _ => err,
    }
}

/// What the database said, without sqlx's prefix or PostgreSQL's position in its own C source
/// ("at line 3907" of the server's code means nothing to an operator); PostgreSQL's detail
/// (which key, which value) is kept.
fn message_of(e: &sqlx::Error) -> String {
    let sqlx::Error::Database(db) = e else {
        return e.to_string();
    };
    match db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(|pg| pg.detail())
    {
        Some(detail) => format!("{} ({detail})", db.message()),
        None => db.message().to_string(),
    }
}
