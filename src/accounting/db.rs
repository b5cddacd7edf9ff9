//! SQL on the accounting store for the accounting processes: `?` placeholders on both
//! dialects, typed rows, transactions. The tables and columns are the reference schema's own
//! (fixed names, quoted in the SQL text); values are always bound.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::store::sql::SqlStore;
pub use crate::store::sql::conn::Dialect;
use crate::store::sql::conn::{Arg, Pool, Tx};
use crate::store::{ErrorKind, Result, Row, StoreError};
use crate::value::{Value, ValueType};

/// The accounting store's connection, for process SQL.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    pub fn new(store: &SqlStore) -> Db {
        Db {
            pool: store.pool().clone(),
        }
    }

    /// Opens the accounting database at `url` (it must exist).
    pub async fn open(url: &str) -> Result<Db> {
        Ok(Db::new(&SqlStore::open(url).await?))
    }

    pub fn dialect(&self) -> Dialect {
        self.pool.dialect()
    }

    pub async fn fetch(&self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Row>> {
        self.pool.fetch(&self.dialect().sql(sql), args, types).await
    }

    pub async fn execute(&self, sql: &str, args: &[Arg]) -> Result<u64> {
        self.pool.execute(&self.dialect().sql(sql), args).await
    }

    pub async fn begin(&self) -> Result<DbTx> {
        Ok(DbTx {
            tx: self.pool.begin().await?,
            dialect: self.dialect(),
        })
    }
}

/// A transaction; dropped without `commit`, it rolls back.
pub struct DbTx {
    tx: Tx,
    dialect: Dialect,
}

impl DbTx {
    pub async fn fetch(&mut self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Row>> {
        self.tx.fetch(&self.dialect.sql(sql), args, types).await
    }

    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64> {
        self.tx.execute(&self.dialect.sql(sql), args).await
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

pub fn text(s: &str) -> Arg {
    Arg {
        value: Value::Text(s.to_string()),
        ty: ValueType::Text,
    }
}

pub fn opt_text(s: Option<&str>) -> Arg {
    Arg {
        value: s.map_or(Value::Null, |s| Value::Text(s.to_string())),
        ty: ValueType::Text,
    }
}

pub fn int(n: i64) -> Arg {
    Arg {
        value: Value::Int(n),
        ty: ValueType::Int,
    }
}

pub fn opt_int(n: Option<i64>) -> Arg {
    Arg {
        value: n.map_or(Value::Null, Value::Int),
        ty: ValueType::Int,
    }
}

/// Midnight UTC of `d`, as a date-time (or null).
pub fn opt_midnight(d: Option<NaiveDate>) -> Arg {
    Arg {
        value: d.map_or(Value::Null, |d| {
            Value::DateTime(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        }),
        ty: ValueType::DateTime,
    }
}

pub fn boolean(b: bool) -> Arg {
    Arg {
        value: Value::Bool(b),
        ty: ValueType::Bool,
    }
}

pub fn dec(d: Decimal) -> Arg {
    Arg {
        value: Value::Decimal(d),
        ty: ValueType::Decimal,
    }
}

pub fn opt_dec(d: Option<Decimal>) -> Arg {
    Arg {
        value: d.map_or(Value::Null, Value::Decimal),
        ty: ValueType::Decimal,
    }
}

pub fn guid(g: Uuid) -> Arg {
    Arg {
        value: Value::Guid(g),
        ty: ValueType::Guid,
    }
}

pub fn opt_guid(g: Option<Uuid>) -> Arg {
    Arg {
        value: g.map_or(Value::Null, Value::Guid),
        ty: ValueType::Guid,
    }
}

pub fn date(d: NaiveDate) -> Arg {
    Arg {
        value: Value::Date(d),
        ty: ValueType::Date,
    }
}

pub fn opt_date(d: Option<NaiveDate>) -> Arg {
    Arg {
        value: d.map_or(Value::Null, Value::Date),
        ty: ValueType::Date,
    }
}

pub fn now() -> Arg {
    Arg {
        value: Value::DateTime(Utc::now()),
        ty: ValueType::DateTime,
    }
}

/// Any value, bound as `ty` (for nulls of a column's type).
pub fn value(v: &Value, ty: ValueType) -> Arg {
    Arg { value: v.clone(), ty }
}

/// Typed reads of one row's columns, in order.
pub struct Cells(std::vec::IntoIter<Value>);

impl Cells {
    pub fn new(row: Row) -> Cells {
        Cells(row.into_iter())
    }

    fn next_value(&mut self) -> Value {
        self.0.next().unwrap_or(Value::Null)
    }

    pub fn text(&mut self) -> Option<String> {
        match self.next_value() {
            Value::Null => None,
            v => Some(v.to_string()),
        }
    }

    pub fn int(&mut self) -> Option<i64> {
        match self.next_value() {
            Value::Int(n) => Some(n),
            _ => None,
        }
    }

    pub fn boolean(&mut self) -> bool {
        matches!(self.next_value(), Value::Bool(true))
    }

    pub fn dec(&mut self) -> Option<Decimal> {
        match self.next_value() {
            Value::Decimal(d) => Some(d),
            Value::Int(n) => Some(Decimal::from(n)),
            _ => None,
        }
    }

    pub fn guid(&mut self) -> Option<Uuid> {
        match self.next_value() {
            Value::Guid(g) => Some(g),
            _ => None,
        }
    }

    pub fn date(&mut self) -> Option<NaiveDate> {
        match self.next_value() {
            Value::Date(d) => Some(d),
            Value::DateTime(t) => Some(t.date_naive()),
            _ => None,
        }
    }

    pub fn value(&mut self) -> Value {
        self.next_value()
    }
}

/// A setup problem the operator must fix (a missing parameter, number sequence, ...).
pub fn setup_error(message: impl Into<String>, hint: impl Into<String>) -> StoreError {
    StoreError::new(ErrorKind::Permanent, message).with_hint(hint)
}
