//! The benchmark's raw baseline: the fastest plain bulk copy of the operational actuals into
//! the accounting staging table, with no engine — one SQL statement generated from the shipped
//! `actuals` map (its columns renamed, its option-set codes turned into labels by `CASE`, the
//! Skip Sync records left out). SQLite: `INSERT ... SELECT` across attached files in one
//! transaction; PostgreSQL: `COPY (SELECT ...) TO STDOUT` from the operational database piped
//! into `COPY ... FROM STDIN` of the accounting one. It does what the map's field list says and
//! nothing more: no lookups through links, no no-op checks, no change capture, no state.

use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sqlx::Connection;

use crate::store::Store;
use crate::store::sql::SqlStore;
use crate::store::sql::catalog::quote;
use crate::tablemap::TableMap;
use crate::tablemap::model::Side;

/// The column the generated copy leaves records out by (the map's skip rules all need it set).
const SKIP_COLUMN: &str = "msdyn_skipsync";

/// The copy as SQL: target columns, and the SELECT producing them from the operational entity.
#[derive(Debug, Clone, PartialEq)]
pub struct CopySql {
    pub target: String,
    pub columns: Vec<String>,
    pub select: String,
}

/// A literal for SQL: an integer as is, anything else as a quoted string.
fn literal(s: &str) -> String {
    match s.parse::<i64>() {
        Ok(n) => n.to_string(),
        Err(_) => format!("'{}'", s.replace('\'', "''")),
    }
}

/// The copy of `map` (fields sent to the accounting side, and its company column).
pub fn copy_sql(map: &TableMap) -> CopySql {
    let mut columns = Vec::new();
    let mut exprs = Vec::new();
    if let (Some(op), Some(acct)) = (&map.operational.company, &map.accounting.company) {
        columns.push(quote(acct));
        exprs.push(quote(op));
    }
    for field in &map.fields {
        let (Some(op), Some(acct)) = (field.column(Side::Operational), field.column(Side::Accounting)) else {
            continue;
        };
        if !field.direction_or(map.direction).flows_from(Side::Operational) {
            continue;
        }
        columns.push(quote(acct));
        exprs.push(match &field.values {
            Some(values) => {
                let arms: String = values
                    .iter()
                    .map(|(code, label)| format!(" WHEN {} THEN {}", literal(code), literal(label)))
                    .collect();
                format!("CASE {}{arms} END", quote(op))
            }
            None => quote(op),
        });
    }
    CopySql {
        target: quote(&map.accounting.entity),
        select: format!(
            "SELECT {} FROM {} WHERE NOT {}",
            exprs.join(", "),
            quote(&map.operational.entity),
            quote(SKIP_COLUMN)
        ),
        columns,
    }
}

/// Every column the copy names exists in the stores' catalogs (the map is the shipped one, but
/// identifiers reach SQL only after the catalog has them).
async fn check_catalog(map: &TableMap, op: &SqlStore, acct: &SqlStore) -> Result<(), String> {
    let op_desc = op.describe(&map.operational.entity).await.map_err(|e| e.to_string())?;
    let acct_desc = acct.describe(&map.accounting.entity).await.map_err(|e| e.to_string())?;
    let mut op_cols = vec![SKIP_COLUMN];
    let mut acct_cols = vec![];
    op_cols.extend(map.operational.company.as_deref());
    acct_cols.extend(map.accounting.company.as_deref());
    for f in &map.fields {
        op_cols.extend(f.column(Side::Operational));
        acct_cols.extend(f.column(Side::Accounting));
    }
    for (desc, cols) in [(&op_desc, op_cols), (&acct_desc, acct_cols)] {
        if let Some(c) = cols.iter().find(|c| desc.index_of(c).is_none()) {
            return Err(format!(
                "the raw copy needs column {c} of {}, which is not there",
                desc.name
            ));
        }
    }
    Ok(())
}

/// Copies the actuals from `op_url` into the staging table at `acct_url`; returns the rows
/// copied and the time the copy took (connections already open).
pub async fn copy(map: &TableMap, op_url: &str, acct_url: &str) -> Result<(u64, Duration), String> {
    {
        let op = SqlStore::open(op_url).await.map_err(|e| e.to_string())?;
        let acct = SqlStore::open(acct_url).await.map_err(|e| e.to_string())?;
        check_catalog(map, &op, &acct).await?;
        op.close().await;
        acct.close().await;
    }
    let sql = copy_sql(map);
    let err = |e: sqlx::Error| format!("raw copy: {e}");
    if op_url.starts_with("sqlite:") {
        // The file as sqlx itself reads the URL (query options such as `?mode=` left out).
        let op_options = sqlx::sqlite::SqliteConnectOptions::from_str(op_url).map_err(err)?;
        let path = op_options.get_filename().display().to_string();
        let mut conn = sqlx::SqliteConnection::connect(acct_url).await.map_err(err)?;
        // The same durability as dualsync's SQLite stores: WAL, synchronous NORMAL.
        sqlx::raw_sql("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
            .execute(&mut conn)
            .await
            .map_err(err)?;
        sqlx::query("ATTACH DATABASE ? AS op")
            .bind(path)
            .execute(&mut conn)
            .await
            .map_err(err)?;
        let select = sql.select.replacen(" FROM ", " FROM op.", 1);
        let insert = format!("INSERT INTO {} ({}) {select}", sql.target, sql.columns.join(", "));
        let started = Instant::now();
        let mut tx = conn.begin().await.map_err(err)?;
        // Identifiers checked against the catalogs above and quoted; no values.
        let n = sqlx::query(sqlx::AssertSqlSafe(insert))
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        tx.commit().await.map_err(err)?;
        Ok((n, started.elapsed()))
    } else {
        let mut src = sqlx::PgConnection::connect(op_url).await.map_err(err)?;
        let mut dst = sqlx::PgConnection::connect(acct_url).await.map_err(err)?;
        let started = Instant::now();
        let mut sink = dst
            .copy_in_raw(&format!("COPY {} ({}) FROM STDIN", sql.target, sql.columns.join(", ")))
            .await
            .map_err(err)?;
        let mut source = src
            .copy_out_raw(&format!("COPY ({}) TO STDOUT", sql.select))
            .await
            .map_err(err)?;
        while let Some(chunk) = source.next().await {
            sink.send(chunk.map_err(err)?).await.map_err(err)?;
        }
        let n = sink.finish().await.map_err(err)?;
        Ok((n, started.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_of_the_shipped_actuals_map_renames_columns_and_maps_codes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
        let loaded = crate::tablemap::load(&[dir]).unwrap();
        let map = loaded.maps().find(|m| m.name == "actuals").unwrap();
        let sql = copy_sql(map);
        assert_eq!(sql.target, "\"ProjCDSActualsImport\"");
        assert_eq!(sql.columns[0], "\"ProjectDataAreaId\"");
        assert!(sql.columns.contains(&"\"Amount\"".to_string()));
        // Posted attributes flow back only: not copied.
        assert!(!sql.columns.contains(&"\"VoucherNumber\"".to_string()));
        assert!(
            sql.select
                .contains("CASE \"msdyn_transactionclassification\" WHEN 192350000 THEN 'Time'")
        );
        assert!(
            sql.select
                .ends_with("FROM \"msdyn_actuals\" WHERE NOT \"msdyn_skipsync\"")
        );
        assert_eq!(sql.columns.len(), sql.select.matches(", ").count() + 1);
    }
}
