//! What a SQL store holds, read from its own catalog: the entities, their columns with
//! logical types, and their keys. Every identifier dualsync puts into SQL is first found
//! here, then quoted; nothing from a map file reaches SQL any other way.

use crate::store::sql::conn::{Arg, Dialect, Pool};
use crate::store::{Column, EntityDesc, ErrorKind, StoreError};
use crate::tablemap::diagnostic::did_you_mean;
use crate::value::{Value, ValueType};

/// Quotes an identifier for either dialect (double quotes, inner quotes doubled).
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Tables of dualsync's own and of the migration tool are not entities.
fn is_internal(name: &str) -> bool {
    name.starts_with("_dualsync") || name.starts_with("_sqlx") || name.starts_with("sqlite_")
}

pub async fn entities(pool: &Pool) -> Result<Vec<String>, StoreError> {
    let sql = match pool.dialect() {
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Dialect::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    let rows = pool.fetch(sql, &[], &[ValueType::Text]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| match r.into_iter().next() {
            Some(Value::Text(name)) if !is_internal(&name) => Some(name),
            _ => None,
        })
        .collect())
}

/// The logical type of a SQLite declared type (see the migrations' type conventions).
fn sqlite_type(declared: &str) -> Option<(ValueType, Option<(u32, u32)>)> {
    let t = declared.to_ascii_uppercase();
    if let Some(args) = t.strip_prefix("DECIMAL_TEXT") {
        return Some((ValueType::Decimal, precision_scale(args)));
    }
    Some(match t.as_str() {
        "BOOLEAN" => (ValueType::Bool, None),
        "DATE_TEXT" => (ValueType::Date, None),
        "DATETIME_TEXT" => (ValueType::DateTime, None),
        "UUID_TEXT" => (ValueType::Guid, None),
        _ if t.contains("INT") => (ValueType::Int, None),
        _ if t.is_empty() || t.contains("TEXT") || t.contains("CHAR") || t.contains("CLOB") => (ValueType::Text, None),
        _ => return None,
    })
}

fn precision_scale(args: &str) -> Option<(u32, u32)> {
    let inner = args.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',')?;
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

fn pg_type(data_type: &str) -> Option<ValueType> {
    Some(match data_type {
        "text" | "character varying" | "character" => ValueType::Text,
        "smallint" | "integer" | "bigint" => ValueType::Int,
        "numeric" => ValueType::Decimal,
        "boolean" => ValueType::Bool,
        "date" => ValueType::Date,
        "timestamp with time zone" => ValueType::DateTime,
        "uuid" => ValueType::Guid,
        _ => return None,
    })
}

/// Reads an entity's description from the catalog. Columns of types dualsync cannot carry
/// exactly (floating point, binary) are left out.
pub async fn describe(pool: &Pool, entity: &str) -> Result<EntityDesc, StoreError> {
    let known = entities(pool).await?;
    if !known.iter().any(|e| e == entity) {
        let err = StoreError::new(ErrorKind::NotFound, format!("the store has no entity `{entity}`"));
        return Err(match did_you_mean(entity, known.iter().map(String::as_str)) {
            Some(s) => err.with_hint(format!("did you mean `{s}`?")),
            None => err.with_hint("run `dualsync store init` for this store, or check the entity name"),
        });
    }
    let arg = [Arg {
        value: Value::Text(entity.to_string()),
        ty: ValueType::Text,
    }];
    let mut columns = Vec::new();
    let mut key: Vec<(i64, usize)> = Vec::new();
    match pool.dialect() {
        Dialect::Sqlite => {
            let sql = "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid";
            let types = [ValueType::Text, ValueType::Text, ValueType::Int, ValueType::Int];
            for row in pool.fetch(sql, &arg, &types).await? {
                let [
                    Value::Text(name),
                    Value::Text(declared),
                    Value::Int(notnull),
                    Value::Int(pk),
                ] = &row[..]
                else {
                    continue;
                };
                let Some((value_type, decimal)) = sqlite_type(declared) else {
                    continue;
                };
                if *pk > 0 {
                    key.push((*pk, columns.len()));
                }
                columns.push(Column {
                    name: name.clone(),
                    value_type,
                    nullable: *notnull == 0 && *pk == 0,
                    decimal,
                });
            }
        }
        Dialect::Postgres => {
            let sql = "SELECT c.column_name::text, c.data_type::text, (c.is_nullable = 'YES'), \
                 c.numeric_precision::int8, c.numeric_scale::int8, k.ordinal_position::int8 \
                 FROM information_schema.columns c \
                 LEFT JOIN (SELECT kcu.column_name, kcu.ordinal_position FROM information_schema.table_constraints tc \
                   JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name \
                    AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name \
                   WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() AND tc.table_name = $1) k \
                 ON k.column_name = c.column_name \
                 WHERE c.table_schema = current_schema() AND c.table_name = $1 ORDER BY c.ordinal_position";
            let types = [
                ValueType::Text,
                ValueType::Text,
                ValueType::Bool,
                ValueType::Int,
                ValueType::Int,
                ValueType::Int,
            ];
            for row in pool.fetch(sql, &arg, &types).await? {
                let (Value::Text(name), Value::Text(data_type), Value::Bool(nullable)) = (&row[0], &row[1], &row[2])
                else {
                    continue;
                };
                let Some(value_type) = pg_type(data_type) else {
                    continue;
                };
                let decimal = match (&row[3], &row[4]) {
                    (Value::Int(p), Value::Int(s)) if value_type == ValueType::Decimal => Some((*p as u32, *s as u32)),
                    _ => None,
                };
                if let Value::Int(pos) = row[5] {
                    key.push((pos, columns.len()));
                }
                columns.push(Column {
                    name: name.clone(),
                    value_type,
                    nullable: *nullable,
                    decimal,
                });
            }
        }
    }
    if key.is_empty() {
        return Err(
            StoreError::new(ErrorKind::Permanent, format!("entity `{entity}` has no primary key"))
                .with_hint("dualsync matches records by key; give the table a primary key"),
        );
    }
    key.sort();
    Ok(EntityDesc {
        name: entity.to_string(),
        columns,
        key: key.into_iter().map(|(_, i)| i).collect(),
    })
}

/// Checks a description a caller passes in against the catalog's: the entity, each column
/// and its type, and the key must all be the store's own.
pub fn check(desc: &EntityDesc, catalog: &EntityDesc) -> Result<(), StoreError> {
    for c in &desc.columns {
        match catalog.column(&c.name) {
            None => {
                return Err(StoreError::unknown_column(
                    &desc.name,
                    &c.name,
                    catalog.columns.iter().map(|c| c.name.as_str()),
                ));
            }
            Some(real) if real.value_type != c.value_type => {
                return Err(StoreError::new(
                    ErrorKind::Permanent,
                    format!(
                        "column `{}`.`{}` is {} in the store, not {}",
                        desc.name, c.name, real.value_type, c.value_type
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let wanted: Vec<&str> = desc.key_columns().map(|c| c.name.as_str()).collect();
    let real: Vec<&str> = catalog.key_columns().map(|c| c.name.as_str()).collect();
    if wanted != real {
        return Err(StoreError::new(
            ErrorKind::Permanent,
            format!(
                "the key of `{}` is ({}) in the store, not ({})",
                desc.name,
                real.join(", "),
                wanted.join(", ")
            ),
        ));
    }
    Ok(())
}
