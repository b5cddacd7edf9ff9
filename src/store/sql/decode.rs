//! The one row decoder of both dialects: each cell of a SQLite or PostgreSQL result row read
//! as the `ValueType` given for its column, or a `CellError` saying which stored value could
//! not be read and why. `Fetched::cells` keeps a bad cell in its place (so one bad record
//! does not hide the others, see `read.rs`); `Fetched::rows` is the same decoding with the
//! first bad cell failing the read. Also the reading of typed values from text (SQLite
//! columns kept as text, change-feed payloads, literals).

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Postgres, Row as _, TypeInfo, ValueRef};
use uuid::Uuid;

use crate::store::{ErrorKind, Row, StoreError};
use crate::value::{Value, ValueType};

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

/// The rows a query returned, not yet decoded.
pub(super) enum Fetched {
    Sqlite(Vec<SqliteRow>),
    Postgres(Vec<PgRow>),
}

impl Fetched {
    /// Every row decoded cell by cell; a cell that cannot be read is kept as its `CellError`.
    pub(super) fn cells(&self, types: &[ValueType]) -> Vec<Cells> {
        match self {
            Fetched::Sqlite(rows) => rows.iter().map(|r| cells_of(r, types)).collect(),
            Fetched::Postgres(rows) => rows.iter().map(|r| cells_of(r, types)).collect(),
        }
    }

    /// Every row decoded; the first cell that cannot be read fails the whole read.
    pub(super) fn rows(&self, types: &[ValueType]) -> Result<Vec<Row>, StoreError> {
        match self {
            Fetched::Sqlite(rows) => rows.iter().map(|r| row_of(r, types)).collect(),
            Fetched::Postgres(rows) => rows.iter().map(|r| row_of(r, types)).collect(),
        }
    }
}

/// A result row of one dialect: its cells read by type, and as text for error messages.
trait DbRow {
    /// The cell `i` as a value of type `ty`, or why it cannot be read.
    fn value(&self, i: usize, ty: ValueType) -> Result<Value, String>;

    /// The stored value of cell `i` as text, whatever its type; `None` when that cannot be
    /// shown from the row as fetched.
    fn raw(&self, i: usize) -> Option<String>;
}

/// Cell `i` of `row` as type `ty`: the decoder both `cells_of` and `row_of` use.
fn cell<R: DbRow>(row: &R, i: usize, ty: ValueType) -> Result<Value, CellError> {
    row.value(i, ty).map_err(|reason| {
        let raw = row.raw(i);
        let message = match &raw {
            Some(r) => format!("the stored value \"{r}\" is not a valid {ty}"),
            None => format!("the stored value cannot be read as {ty}: {reason}"),
        };
        CellError { raw, message }
    })
}

fn cells_of<R: DbRow>(row: &R, types: &[ValueType]) -> Cells {
    types.iter().enumerate().map(|(i, &ty)| cell(row, i, ty)).collect()
}

fn row_of<R: DbRow>(row: &R, types: &[ValueType]) -> Result<Row, StoreError> {
    types
        .iter()
        .enumerate()
        .map(|(i, &ty)| cell(row, i, ty).map_err(unreadable))
        .collect()
}

/// A bad cell as the error of a read that cannot go on without it.
fn unreadable(e: CellError) -> StoreError {
    StoreError::new(ErrorKind::Permanent, e.message)
        .with_hint("another program wrote a value of the wrong type; correct it in the store")
}

/// What sqlx said when a cell could not be decoded.
fn why(e: sqlx::Error) -> String {
    e.to_string()
}

impl DbRow for SqliteRow {
    fn value(&self, i: usize, ty: ValueType) -> Result<Value, String> {
        let get_text = || self.try_get::<Option<String>, _>(i).map_err(why);
        Ok(match ty {
            ValueType::Int => self
                .try_get::<Option<i64>, _>(i)
                .map_err(why)?
                .map(Value::Int)
                .unwrap_or(Value::Null),
            ValueType::Bool => self
                .try_get::<Option<i64>, _>(i)
                .map_err(why)?
                .map(|b| Value::Bool(b != 0))
                .unwrap_or(Value::Null),
            ValueType::Text => get_text()?.map(Value::Text).unwrap_or(Value::Null),
            // Decimals, dates, datetimes and GUIDs are kept as text.
            _ => match get_text()? {
                None => Value::Null,
                Some(s) => parse_typed(ty, &s).ok_or_else(|| format!("stored value \"{s}\" is not a valid {ty}"))?,
            },
        })
    }

    /// Any storage class: text (invalid UTF-8 shown with replacement characters), an
    /// integer, a real, a blob (as hex).
    fn raw(&self, i: usize) -> Option<String> {
        let value = self.try_get_raw(i).ok()?;
        if value.is_null() {
            return Some("null".to_string());
        }
        let kind = value.type_info().name().to_string();
        match kind.as_str() {
            "INTEGER" => self.try_get_unchecked::<i64, _>(i).ok().map(|n| n.to_string()),
            "REAL" => self.try_get_unchecked::<f64, _>(i).ok().map(|f| f.to_string()),
            "BLOB" => self
                .try_get_unchecked::<Vec<u8>, _>(i)
                .ok()
                .map(|b| format!("x'{}'", b.iter().map(|x| format!("{x:02x}")).collect::<String>())),
            _ => self
                .try_get_unchecked::<Vec<u8>, _>(i)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
        }
    }
}

impl DbRow for PgRow {
    fn value(&self, i: usize, ty: ValueType) -> Result<Value, String> {
        fn get<'r, T>(row: &'r PgRow, i: usize) -> Result<Option<T>, String>
        where
            T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
        {
            row.try_get::<Option<T>, _>(i).map_err(why)
        }
        let out_of_range = || format!("the stored {ty} is infinite or out of the range dualsync reads");
        Ok(match ty {
            // Any integer width the column has (INTEGER columns are INT4, counters INT8).
            ValueType::Int => match pg_type(self, i) {
                Some("INT2") => get::<i16>(self, i)?.map(|n| Value::Int(n.into())),
                Some("INT4") => get::<i32>(self, i)?.map(|n| Value::Int(n.into())),
                _ => get::<i64>(self, i)?.map(Value::Int),
            },
            ValueType::Bool => get::<bool>(self, i)?.map(Value::Bool),
            ValueType::Decimal => get::<Decimal>(self, i)?.map(Value::Decimal),
            ValueType::Text => get::<String>(self, i)?.map(Value::Text),
            // Read from the wire format here: sqlx panics on `infinity` and on dates beyond chrono's.
            ValueType::Date if pg_type(self, i) == Some("DATE") => self
                .try_get_unchecked::<Option<i32>, _>(i)
                .map_err(why)?
                .map(|days| pg_date(days).map(Value::Date).ok_or_else(out_of_range))
                .transpose()?,
            ValueType::DateTime if matches!(pg_type(self, i), Some("TIMESTAMPTZ" | "TIMESTAMP")) => self
                .try_get_unchecked::<Option<i64>, _>(i)
                .map_err(why)?
                .map(|us| pg_datetime(us).map(Value::DateTime).ok_or_else(out_of_range))
                .transpose()?,
            ValueType::Date => get::<NaiveDate>(self, i)?.map(Value::Date),
            ValueType::DateTime => get::<DateTime<Utc>>(self, i)?.map(Value::DateTime),
            ValueType::Guid => get::<Uuid>(self, i)?.map(Value::Guid),
        }
        .unwrap_or(Value::Null))
    }

    /// Rows come in the binary format, so a value that could not be decoded has no text here
    /// (`read.rs` reads it again as text).
    fn raw(&self, _i: usize) -> Option<String> {
        None
    }
}

/// The PostgreSQL type name of a result column.
fn pg_type(row: &PgRow, i: usize) -> Option<&str> {
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
