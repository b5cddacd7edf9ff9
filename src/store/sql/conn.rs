//! The one place where SQLite and PostgreSQL differ at run time: pools and transactions,
//! binding a `Value` with its column type (so a null is typed), decoding columns back into
//! `Value`s, and sorting database errors into transient and row-level ones.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Postgres, Row as _, Sqlite};
use uuid::Uuid;

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
    ($name:ident, $db:ty) => {
        pub struct $name {
            conn: Option<PoolConnection<$db>>,
            /// The only connection of an in-memory SQLite database: closing it would lose the data.
            keep: bool,
        }

        impl $name {
            async fn begin(pool: &sqlx::Pool<$db>, begin: &'static str, keep: bool) -> Result<$name, StoreError> {
                let mut conn = pool.acquire().await.map_err(from_sqlx)?;
                if let Err(e) = sqlx::raw_sql(begin).execute(&mut *conn).await {
                    // Whatever state the failed BEGIN left, this connection does not go back.
                    if !keep {
                        conn.close_on_drop();
                    }
                    return Err(from_sqlx(e));
                }
                Ok($name {
                    conn: Some(conn),
                    keep,
                })
            }

            fn conn(&mut self) -> Result<&mut PoolConnection<$db>, StoreError> {
                self.conn
                    .as_mut()
                    .ok_or_else(|| StoreError::new(ErrorKind::Permanent, "the transaction is over"))
            }

            async fn commit(mut self) -> Result<(), StoreError> {
                let Some(mut conn) = self.conn.take() else {
                    return Err(StoreError::new(ErrorKind::Permanent, "the transaction is over"));
                };
                match sqlx::raw_sql("COMMIT").execute(&mut *conn).await {
                    Ok(_) => Ok(()),
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

tx_conn!(SqliteTx, Sqlite);
tx_conn!(PgTx, Postgres);

/// Binds `args` to a query of either dialect.
macro_rules! bind_all {
    ($query:expr, $args:expr, $bind:ident) => {{
        let mut q = $query;
        for a in $args {
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
        Value::Date(d) => q.bind(d.format("%Y-%m-%d").to_string()),
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
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Reads datetime text as written by dualsync or by another program (`2024-01-31 09:30:00`
/// is taken as UTC).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

fn decode_err(ty: ValueType, raw: &str) -> StoreError {
    StoreError::new(
        ErrorKind::Permanent,
        format!("stored value \"{raw}\" is not a valid {ty}"),
    )
    .with_hint("another program wrote a value of the wrong type; correct it in the store")
}

fn decode_sqlite(row: &SqliteRow, i: usize, ty: ValueType) -> Result<Value, StoreError> {
    let get_text = || row.try_get::<Option<String>, _>(i).map_err(from_sqlx);
    Ok(match ty {
        ValueType::Int => row
            .try_get::<Option<i64>, _>(i)
            .map_err(from_sqlx)?
            .map(Value::Int)
            .unwrap_or(Value::Null),
        ValueType::Bool => row
            .try_get::<Option<i64>, _>(i)
            .map_err(from_sqlx)?
            .map(|b| Value::Bool(b != 0))
            .unwrap_or(Value::Null),
        ValueType::Text => get_text()?.map(Value::Text).unwrap_or(Value::Null),
        _ => match get_text()? {
            None => Value::Null,
            Some(s) => parse_typed(ty, &s).ok_or_else(|| decode_err(ty, &s))?,
        },
    })
}

/// Parses text written for a column of type `ty`.
pub fn parse_typed(ty: ValueType, s: &str) -> Option<Value> {
    Some(match ty {
        ValueType::Text => Value::Text(s.to_string()),
        ValueType::Int => Value::Int(s.parse().ok()?),
        ValueType::Bool => match s {
            "1" | "true" => Value::Bool(true),
            "0" | "false" => Value::Bool(false),
            _ => return None,
        },
        ValueType::Decimal => Value::Decimal(Decimal::from_str(s).or_else(|_| Decimal::from_scientific(s)).ok()?),
        ValueType::Date => Value::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?),
        ValueType::DateTime => Value::DateTime(parse_datetime(s)?),
        ValueType::Guid => Value::Guid(Uuid::parse_str(s).ok()?),
    })
}

/// A stored value that could not be read as its column's type: the value as text (as far as
/// it can be shown) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// The stored value as text; `None` when the database did not let it be read as text.
    pub raw: Option<String>,
    pub message: String,
}

/// One row read cell by cell: a value, or why that column could not be read.
pub type Cells = Vec<Result<Value, CellError>>;

/// The stored value of a SQLite column as text, whatever its storage class: text (invalid
/// UTF-8 shown with replacement characters), an integer, a real, a blob (as hex).
fn raw_sqlite(row: &SqliteRow, i: usize) -> Option<String> {
    use sqlx::{TypeInfo, ValueRef};
    let value = row.try_get_raw(i).ok()?;
    if value.is_null() {
        return Some("null".to_string());
    }
    let kind = value.type_info().name().to_string();
    match kind.as_str() {
        "INTEGER" => row.try_get_unchecked::<i64, _>(i).ok().map(|n| n.to_string()),
        "REAL" => row.try_get_unchecked::<f64, _>(i).ok().map(|f| f.to_string()),
        "BLOB" => row
            .try_get_unchecked::<Vec<u8>, _>(i)
            .ok()
            .map(|b| format!("x'{}'", b.iter().map(|x| format!("{x:02x}")).collect::<String>())),
        _ => row
            .try_get_unchecked::<Vec<u8>, _>(i)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    }
}

fn cell_sqlite(row: &SqliteRow, i: usize, ty: ValueType) -> Result<Value, CellError> {
    decode_sqlite(row, i, ty).map_err(|e| {
        let raw = raw_sqlite(row, i);
        let message = match &raw {
            Some(r) => format!("the stored value \"{r}\" is not a valid {ty}"),
            None => format!("the stored value cannot be read as {ty}: {}", e.message),
        };
        CellError { raw, message }
    })
}

fn cell_pg(row: &PgRow, i: usize, ty: ValueType) -> Result<Value, CellError> {
    decode_pg(row, i, ty).map_err(|e| CellError {
        raw: None,
        message: format!("the stored value cannot be read as {ty}: {}", e.message),
    })
}

fn decode_pg(row: &PgRow, i: usize, ty: ValueType) -> Result<Value, StoreError> {
    fn get<'r, T>(row: &'r PgRow, i: usize) -> Result<Option<T>, StoreError>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        row.try_get::<Option<T>, _>(i).map_err(from_sqlx)
    }
    Ok(match ty {
        // Any integer width the column has (INTEGER columns are INT4, counters INT8).
        ValueType::Int => {
            use sqlx::{Column, TypeInfo};
            match row.columns().get(i).map(|c| c.type_info().name()) {
                Some("INT2") => get::<i16>(row, i)?.map(|n| Value::Int(n.into())),
                Some("INT4") => get::<i32>(row, i)?.map(|n| Value::Int(n.into())),
                _ => get::<i64>(row, i)?.map(Value::Int),
            }
        }
        ValueType::Bool => get::<bool>(row, i)?.map(Value::Bool),
        ValueType::Decimal => get::<Decimal>(row, i)?.map(Value::Decimal),
        ValueType::Text => get::<String>(row, i)?.map(Value::Text),
        // Read from the wire format here: sqlx panics on `infinity` and on dates beyond chrono's.
        ValueType::Date if pg_type(row, i) == Some("DATE") => row
            .try_get_unchecked::<Option<i32>, _>(i)
            .map_err(from_sqlx)?
            .map(|days| pg_date(days).map(Value::Date).ok_or_else(|| pg_out_of_range(ty)))
            .transpose()?,
        ValueType::DateTime if matches!(pg_type(row, i), Some("TIMESTAMPTZ" | "TIMESTAMP")) => row
            .try_get_unchecked::<Option<i64>, _>(i)
            .map_err(from_sqlx)?
            .map(|us| pg_datetime(us).map(Value::DateTime).ok_or_else(|| pg_out_of_range(ty)))
            .transpose()?,
        ValueType::Date => get::<NaiveDate>(row, i)?.map(Value::Date),
        ValueType::DateTime => get::<DateTime<Utc>>(row, i)?.map(Value::DateTime),
        ValueType::Guid => get::<Uuid>(row, i)?.map(Value::Guid),
    }
    .unwrap_or(Value::Null))
}

/// The PostgreSQL type name of a result column.
fn pg_type(row: &PgRow, i: usize) -> Option<&str> {
    use sqlx::{Column, TypeInfo};
    row.columns().get(i).map(|c| c.type_info().name())
}

/// A PostgreSQL `date` (days since 2000-01-01); None for `infinity` and dates chrono lacks.
fn pg_date(days: i32) -> Option<NaiveDate> {
    if days == i32::MAX || days == i32::MIN {
        return None;
    }
    NaiveDate::from_ymd_opt(2000, 1, 1)?.checked_add_signed(chrono::TimeDelta::try_days(days.into())?)
}

/// A PostgreSQL `timestamptz` (microseconds since 2000-01-01 UTC); None for `infinity`.
fn pg_datetime(us: i64) -> Option<DateTime<Utc>> {
    if us == i64::MAX || us == i64::MIN {
        return None;
    }
    NaiveDate::from_ymd_opt(2000, 1, 1)?
        .and_hms_opt(0, 0, 0)?
        .and_utc()
        .checked_add_signed(chrono::TimeDelta::microseconds(us))
}

fn pg_out_of_range(ty: ValueType) -> StoreError {
    StoreError::new(
        ErrorKind::Permanent,
        format!("the stored {ty} is infinite or out of the range dualsync reads"),
    )
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

    /// Runs a query and decodes each result column with the type given for it.
    pub async fn fetch(&self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Row>, StoreError> {
        match self {
            Pool::Sqlite(p) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_sqlite);
                let rows = q.fetch_all(p).await.map_err(from_sqlx)?;
                rows.iter()
                    .map(|r| decode_row(types, |i, t| decode_sqlite(r, i, t)))
                    .collect()
            }
            Pool::Postgres(p) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_pg);
                let rows = q.fetch_all(p).await.map_err(from_sqlx)?;
                rows.iter()
                    .map(|r| decode_row(types, |i, t| decode_pg(r, i, t)))
                    .collect()
            }
        }
    }

    /// Like `fetch`, but a value that cannot be decoded fails only its own cell, not the
    /// whole read (so one bad record does not hide the others).
    pub async fn fetch_cells(&self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Cells>, StoreError> {
        match self {
            Pool::Sqlite(p) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_sqlite);
                let rows = q.fetch_all(p).await.map_err(from_sqlx)?;
                Ok(rows
                    .iter()
                    .map(|r| types.iter().enumerate().map(|(i, t)| cell_sqlite(r, i, *t)).collect())
                    .collect())
            }
            Pool::Postgres(p) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_pg);
                let rows = q.fetch_all(p).await.map_err(from_sqlx)?;
                Ok(rows
                    .iter()
                    .map(|r| types.iter().enumerate().map(|(i, t)| cell_pg(r, i, *t)).collect())
                    .collect())
            }
        }
    }

    pub async fn execute(&self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        match self {
            Pool::Sqlite(p) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_sqlite);
                Ok(q.execute(p).await.map_err(from_sqlx)?.rows_affected())
            }
            Pool::Postgres(p) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_pg);
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

fn decode_row(
    types: &[ValueType],
    mut decode: impl FnMut(usize, ValueType) -> Result<Value, StoreError>,
) -> Result<Row, StoreError> {
    types.iter().enumerate().map(|(i, t)| decode(i, *t)).collect()
}

impl Tx {
    pub async fn fetch(&mut self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Row>, StoreError> {
        match self {
            Tx::Sqlite(tx) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_sqlite);
                let rows = q.fetch_all(&mut **tx.conn()?).await.map_err(from_sqlx)?;
                rows.iter()
                    .map(|r| decode_row(types, |i, t| decode_sqlite(r, i, t)))
                    .collect()
            }
            Tx::Postgres(tx) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_pg);
                let rows = q.fetch_all(&mut **tx.conn()?).await.map_err(from_sqlx)?;
                rows.iter()
                    .map(|r| decode_row(types, |i, t| decode_pg(r, i, t)))
                    .collect()
            }
        }
    }

    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        match self {
            Tx::Sqlite(tx) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_sqlite);
                Ok(q.execute(&mut **tx.conn()?).await.map_err(from_sqlx)?.rows_affected())
            }
            Tx::Postgres(tx) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, bind_pg);
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
