//! The one row decoder (`store::sql::decode`), on SQLite and on PostgreSQL, through the real
//! pools and transactions: `Pool::fetch`, `Tx::fetch` and `Pool::fetch_cells` read every type
//! alike (values bound by dualsync, nulls, every integer width), and a stored value that cannot
//! be read is a recorded bad cell for `fetch_cells` and the error of `fetch`, with the same
//! message naming the stored value.

mod common;

use std::str::FromStr;

use chrono::{NaiveDate, TimeZone, Utc};
use common::TestStore;
use dualsync::store::ErrorKind;
use dualsync::store::sql::conn::{Arg, Dialect, Pool};
use dualsync::tablemap::model::Side;
use dualsync::value::{Value, ValueType};
use rust_decimal::Decimal;
use uuid::Uuid;

/// The probe table's columns and the types they are read as: id, int, small int, big int,
/// bool, decimal, text, date, datetime, guid.
const TYPES: [ValueType; 10] = [
    ValueType::Int,
    ValueType::Int,
    ValueType::Int,
    ValueType::Int,
    ValueType::Bool,
    ValueType::Decimal,
    ValueType::Text,
    ValueType::Date,
    ValueType::DateTime,
    ValueType::Guid,
];

const SELECT: &str = "SELECT id, n, small, big, b, d, t, dt, ts, g FROM decode_probe";

async fn create_probe(pool: &Pool) {
    let ddl = match pool.dialect() {
        Dialect::Sqlite => {
            "CREATE TABLE decode_probe (id INTEGER PRIMARY KEY, n INTEGER, small INTEGER, big INTEGER, \
             b INTEGER, d TEXT, t TEXT, dt TEXT, ts TEXT, g TEXT)"
        }
        Dialect::Postgres => {
            "CREATE TABLE decode_probe (id INTEGER PRIMARY KEY, n INTEGER, small SMALLINT, big BIGINT, \
             b BOOLEAN, d NUMERIC(40, 4), t TEXT, dt DATE, ts TIMESTAMPTZ, g UUID)"
        }
    };
    pool.execute_script(ddl).await.expect("create the probe table");
}

/// Inserts a row with dualsync's own binding.
async fn insert(pool: &Pool, row: &[Value]) {
    let marks: Vec<String> = (1..=row.len()).map(|n| pool.dialect().param(n)).collect();
    let sql = format!(
        "INSERT INTO decode_probe (id, n, small, big, b, d, t, dt, ts, g) VALUES ({})",
        marks.join(", ")
    );
    let args: Vec<Arg> = row
        .iter()
        .zip(TYPES)
        .map(|(v, ty)| Arg { value: v.clone(), ty })
        .collect();
    pool.execute(&sql, &args).await.expect("insert a probe row");
}

fn good_row() -> Vec<Value> {
    vec![
        Value::Int(1),
        Value::Int(42),
        Value::Int(-7),
        Value::Int(9_000_000_000),
        Value::Bool(true),
        Value::Decimal(Decimal::from_str("12.5000").unwrap()),
        Value::Text("héllo".into()),
        Value::Date(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()),
        Value::DateTime(Utc.with_ymd_and_hms(2024, 1, 31, 9, 30, 0).unwrap()),
        Value::Guid(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
    ]
}

fn null_row() -> Vec<Value> {
    let mut row = vec![Value::Null; TYPES.len()];
    row[0] = Value::Int(2);
    row
}

both!(
    fetch_tx_fetch_and_fetch_cells_decode_alike,
    Side::Operational,
    |t: TestStore| async move {
        let pool = t.store.pool();
        create_probe(pool).await;
        insert(pool, &good_row()).await;
        insert(pool, &null_row()).await;
        let sql = format!("{SELECT} ORDER BY id");

        let rows = pool.fetch(&sql, &[], &TYPES).await.unwrap();
        assert_eq!(rows, vec![good_row(), null_row()]);

        let cells = pool.fetch_cells(&sql, &[], &TYPES).await.unwrap();
        let from_cells: Vec<Vec<Value>> = cells
            .into_iter()
            .map(|r| r.into_iter().map(|c| c.expect("a readable cell")).collect())
            .collect();
        assert_eq!(from_cells, rows);

        let mut tx = pool.begin().await.unwrap();
        assert_eq!(tx.fetch(&sql, &[], &TYPES).await.unwrap(), rows);
        tx.commit().await.unwrap();
    }
);

both!(
    a_bad_cell_is_recorded_by_fetch_cells_and_fails_fetch,
    Side::Operational,
    |t: TestStore| async move {
        let pool = t.store.pool();
        create_probe(pool).await;
        insert(pool, &good_row()).await;
        let mut bad = good_row();
        bad[0] = Value::Int(3);
        insert(pool, &bad).await;
        // Another program writes what dualsync cannot read: text in an integer column and a
        // decimal beyond dualsync's on SQLite; NaN and an infinite date on PostgreSQL.
        let (update, bad_columns, first_message) = match pool.dialect() {
            Dialect::Sqlite => (
                "UPDATE decode_probe SET n = 'abc', d = '1e400' WHERE id = 3",
                vec![1, 5],
                "the stored value \"abc\" is not a valid integer".to_string(),
            ),
            Dialect::Postgres => (
                "UPDATE decode_probe SET d = 'NaN', dt = 'infinity' WHERE id = 3",
                vec![5, 7],
                "the stored value cannot be read as decimal: ".to_string(),
            ),
        };
        pool.execute_script(update).await.unwrap();
        let sql = format!("{SELECT} ORDER BY id");

        let cells = pool.fetch_cells(&sql, &[], &TYPES).await.unwrap();
        assert_eq!(cells.len(), 2, "the bad record does not hide the good one");
        assert!(cells[0].iter().all(Result::is_ok), "{:?}", cells[0]);
        let errors: Vec<usize> = (0..TYPES.len()).filter(|&i| cells[1][i].is_err()).collect();
        assert_eq!(errors, bad_columns, "{:?}", cells[1]);
        assert_eq!(cells[1][2], Ok(Value::Int(-7)), "the other cells are read");
        let first = cells[1][bad_columns[0]].clone().unwrap_err();
        assert!(first.message.starts_with(&first_message), "{first:?}");
        let second = cells[1][bad_columns[1]].clone().unwrap_err();
        match pool.dialect() {
            Dialect::Sqlite => {
                assert_eq!(first.raw.as_deref(), Some("abc"));
                assert_eq!(second.raw.as_deref(), Some("1e400"));
                assert_eq!(second.message, "the stored value \"1e400\" is not a valid decimal");
            }
            Dialect::Postgres => {
                assert_eq!(first.raw, None, "binary rows have no text");
                assert_eq!(
                    second.message,
                    "the stored value cannot be read as date: \
                     the stored date is infinite or out of the range dualsync reads"
                );
            }
        }

        // `fetch` fails on the first bad cell, with the message `fetch_cells` records.
        let err = pool.fetch(&sql, &[], &TYPES).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert_eq!(err.message, first.message);
        assert!(
            err.hint.as_deref().unwrap_or("").contains("correct it in the store"),
            "{err}"
        );
        let mut tx = pool.begin().await.unwrap();
        assert_eq!(tx.fetch(&sql, &[], &TYPES).await.unwrap_err(), err);
        drop(tx);

        // Without the bad record, `fetch` reads.
        let good = format!("{SELECT} WHERE id = 1");
        assert_eq!(pool.fetch(&good, &[], &TYPES).await.unwrap(), vec![good_row()]);
    }
);
