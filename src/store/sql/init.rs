//! Creating and migrating a reference store: the database (a SQLite file, or a PostgreSQL
//! database created if missing), the side's schema from `migrations/`, and a marker that
//! remembers which side the store is, so it cannot be initialized as the other one.

use sqlx::migrate::Migrator;

use super::SqlStore;
use super::conn::{Arg, Dialect, Pool};
use crate::store::{ErrorKind, Result, StoreError};
use crate::tablemap::model::Side;
use crate::value::{Value, ValueType};

static OPERATIONAL_SQLITE: Migrator = sqlx::migrate!("migrations/operational/sqlite");
static OPERATIONAL_POSTGRES: Migrator = sqlx::migrate!("migrations/operational/postgres");
static ACCOUNTING_SQLITE: Migrator = sqlx::migrate!("migrations/accounting/sqlite");
static ACCOUNTING_POSTGRES: Migrator = sqlx::migrate!("migrations/accounting/postgres");

/// Creates the store if needed and brings its schema up to date. Idempotent.
pub async fn init(url: &str, side: Side) -> Result<SqlStore> {
    let store = SqlStore::connect(url, true).await?;
    let pool = store.pool();
    pool.execute_script("CREATE TABLE IF NOT EXISTS _dualsync_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .await?;
    match recorded_side(pool).await? {
        Some(s) if s != side.name() => {
            return Err(StoreError::new(
                ErrorKind::Permanent,
                format!(
                    "the store at {} was initialized as the {s} side, not the {}",
                    store.name,
                    side.name()
                ),
            )
            .with_hint("use another database (or file) for each side"));
        }
        Some(_) => {}
        None => {
            let sql = format!(
                "INSERT INTO _dualsync_meta (name, value) VALUES ('side', {})",
                pool.dialect().param(1)
            );
            pool.execute(
                &sql,
                &[Arg {
                    value: Value::Text(side.name().into()),
                    ty: ValueType::Text,
                }],
            )
            .await?;
        }
    }
    let migrator = match (side, pool.dialect()) {
        (Side::Operational, Dialect::Sqlite) => &OPERATIONAL_SQLITE,
        (Side::Operational, Dialect::Postgres) => &OPERATIONAL_POSTGRES,
        (Side::Accounting, Dialect::Sqlite) => &ACCOUNTING_SQLITE,
        (Side::Accounting, Dialect::Postgres) => &ACCOUNTING_POSTGRES,
    };
    let migrated = match pool {
        Pool::Sqlite(p) => migrator.run(p).await,
        Pool::Postgres(p) => migrator.run(p).await,
    };
    migrated.map_err(|e| {
        StoreError::new(ErrorKind::Permanent, format!("migrating {} failed: {e}", store.name))
            .with_hint("the store's schema differs from what this version of dualsync expects")
    })?;
    store.refresh_catalog();
    Ok(store)
}

/// Which side a store was initialized as, if any.
pub async fn recorded_side(pool: &Pool) -> Result<Option<String>> {
    let rows = match pool
        .fetch(
            "SELECT value FROM _dualsync_meta WHERE name = 'side'",
            &[],
            &[ValueType::Text],
        )
        .await
    {
        Ok(rows) => rows,
        Err(e) if super::conn::is_missing_table(&e, "_dualsync_meta") => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(rows.into_iter().next().and_then(|r| match r.into_iter().next() {
        Some(Value::Text(s)) => Some(s),
        _ => None,
    }))
}
