//! The sync engine's own database, the state store (SQLite by default, PostgreSQL supported):
//! key links between the two sides, change-feed positions, initial-sync checkpoints, dead
//! letters, parked and skipped records, map states and the job log of the accounting processes.
//!
//! Record keys are kept as canonical JSON text (`key_text`). Timestamps are TEXT (RFC 3339
//! UTC, microseconds) on SQLite and TIMESTAMPTZ on PostgreSQL; both go through the store
//! layer's typed binding (`store::sql::conn`), so the SQL text is the same for both dialects
//! apart from the placeholders (`?` here, rewritten to `$n` for PostgreSQL).

/// An enumeration stored as text: `as_str`, `Display`, `FromStr` (whose error names the
/// accepted values) and `ALL`.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text the state store keeps and admins see.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> std::result::Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!("unknown {} \"{s}\" (expected {})", $what, [$($text),+].join(", "))),
                }
            }
        }
    };
}

mod checkpoints;
mod failures;
mod fence;
mod jobs;
mod keys;
mod lease;
mod links;
mod lock;
mod maps;

use std::borrow::Cow;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::migrate::{MigrateError, Migrator};

use crate::store::sql::conn::{Arg, Dialect, Pool, Tx, from_sqlx};
use crate::store::sql::connect::connect_pool;
use crate::store::sql::redact;
use crate::store::{ErrorKind, Result, StoreError};
use crate::value::{Value, ValueType};

pub use checkpoints::{Checkpoint, CheckpointStatus, SyncCounts};
pub use failures::{DeadLetter, DeadLetterStatus, NewDeadLetter, Parked, RecordErrorKind};
pub use fence::{ALL, Fence, Working, fenced};
pub use jobs::{Job, JobStatus};
pub use keys::{key_text, parse_key_text, parse_stored_key_text};
pub use lease::{Lease, LeaseRow, Replica};
pub use links::{FeedMark, Link};
pub use lock::{DAEMON, Holder, ProcessLock, host_name};
pub use maps::{MapDefinition, MapState, MapStatus};

/// `url` with the option that makes its connections read-only.
fn read_only_url(url: &str) -> Result<String> {
    let bad = |e: url::ParseError| {
        StoreError::new(
            ErrorKind::Permanent,
            format!("bad state store URL {}: {e}", redact(url)),
        )
    };
    match crate::store::sql::dialect_of(url)? {
        Dialect::Sqlite => Ok(format!("{url}{}mode=ro", if url.contains('?') { '&' } else { '?' })),
        Dialect::Postgres => {
            let mut parsed = url::Url::parse(url).map_err(bad)?;
            parsed
                .query_pairs_mut()
                .append_pair("options", "-c default_transaction_read_only=on");
            Ok(parsed.to_string())
        }
    }
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/state/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/state/postgres");

/// The table that tracks the state schema's migrations: not sqlx's default, so a state store
/// may share a database with a reference store (which tracks its own schema in the default).
const MIGRATIONS_TABLE: &str = "_dualsync_state_migrations";

/// Rows (or keys) per statement, well under both dialects' parameter limits (a link row binds
/// 9 values: 9,000 against SQLite's 32,766 and PostgreSQL's 65,535). 200 before issue 15: a
/// live batch of thousands of records took dozens of statements per lookup.
const CHUNK: usize = 1000;

/// The engine's state store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct StateStore {
    pool: Pool,
    name: String,
    /// The URL as given (with its password), for the lock of `lock.rs`.
    url: String,
    /// How often each map's links were changed through this store (shared by its clones): a
    /// cache of links (`engine::parents`) is valid while the number stays.
    link_changes: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>>,
    /// The leases this replica holds, when it runs in a high-availability group (`fence.rs`).
    fence: Option<std::sync::Arc<Fence>>,
}

impl StateStore {
    /// Opens the state store at `url` (`sqlite://path` or `postgres://...`), creating it if
    /// missing (a SQLite file and its folder, or a PostgreSQL database) and bringing its
    /// schema up to date. Idempotent.
    pub async fn open(url: &str) -> Result<StateStore> {
        let name = redact(url);
        let pool = connect_pool(url, true, "the state store").await?;
        let store = StateStore {
            pool,
            name,
            url: url.to_string(),
            link_changes: Default::default(),
            fence: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the state store at `url` only if it exists and has this version's schema: `None`
    /// when there is none yet (no SQLite file, no PostgreSQL database, or an empty one: the
    /// daemon never ran). Creates nothing and migrates nothing, for the admin commands, which
    /// must not set up an installation. With `read_only`, the connections cannot write at all
    /// (SQLite `mode=ro`; PostgreSQL `default_transaction_read_only`).
    pub async fn open_existing(url: &str, read_only: bool) -> Result<Option<StateStore>> {
        let name = redact(url);
        let given = url;
        let url = &match read_only {
            true => read_only_url(url)?,
            false => url.to_string(),
        };
        if crate::store::sql::dialect_of(url)? == Dialect::Sqlite {
            let options = <sqlx::sqlite::SqliteConnectOptions as FromStr>::from_str(url)
                .map_err(|e| StoreError::new(ErrorKind::Permanent, format!("bad state store URL {name}: {e}")))?;
            let file = options.get_filename();
            let in_memory = crate::store::sql::connect::is_in_memory_url(url);
            if in_memory || !file.exists() {
                return Ok(None);
            }
        }
        let pool = match connect_pool(url, false, "the state store").await {
            Ok(pool) => pool,
            // 3D000 invalid_catalog_name: the PostgreSQL database does not exist.
            Err(e) if e.code.as_deref() == Some("3D000") => return Ok(None),
            Err(e) => return Err(e),
        };
        let store = StateStore {
            pool,
            name,
            url: given.to_string(),
            link_changes: Default::default(),
            fence: None,
        };
        let source = match store.dialect() {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        let wanted = source.iter().map(|m| m.version).max().unwrap_or(0);
        let applied = match store
            .pool
            .fetch(
                &format!("SELECT MAX(version) FROM {MIGRATIONS_TABLE} WHERE success"),
                &[],
                &[ValueType::Int],
            )
            .await
        {
            Ok(rows) => match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
                Some(Value::Int(v)) => v,
                _ => 0,
            },
            Err(e) if crate::store::sql::conn::is_missing_table(&e, MIGRATIONS_TABLE) => 0,
            Err(e) => return Err(store.context(e)),
        };
        if applied == 0 {
            store.close().await;
            return Ok(None);
        }
        if applied != wanted {
            let (what, hint) = if applied < wanted {
                (
                    "an older schema",
                    "start `dualsync run` of this version once: it brings the schema up to date",
                )
            } else {
                ("a newer schema", "use the newer dualsync that wrote it")
            };
            store.close().await;
            return Err(StoreError::new(
                ErrorKind::Permanent,
                format!(
                    "the state store at {} has {what} (version {applied}) than this dualsync expects ({wanted})",
                    store.name
                ),
            )
            .with_hint(hint));
        }
        Ok(Some(store))
    }

    /// The store's URL without its password, for messages and logs.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dialect(&self) -> Dialect {
        self.pool.dialect()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Lets PostgreSQL's planner see how the tables an initial sync fills have grown (see
    /// `Store::refresh_statistics`); nothing to do on SQLite.
    pub async fn refresh_statistics(&self) -> Result<()> {
        if self.dialect() == Dialect::Postgres {
            self.execute("ANALYZE links, skipped, parked", &[]).await?;
        }
        Ok(())
    }

    async fn migrate(&self) -> Result<()> {
        let source = match self.dialect() {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        let _guard = self.migration_lock().await?;
        let mut migrator = Migrator::with_migrations(source.iter().cloned().collect());
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        let migrated = match &self.pool {
            Pool::Sqlite(p) => migrator.run(p).await,
            Pool::Postgres(p) => migrator.run(p).await,
        };
        migrated.map_err(|e| {
            let what = format!("migrating the state store at {} failed", self.name);
            match e {
                MigrateError::Execute(db) | MigrateError::ExecuteMigration(db, _) => {
                    let mut err = from_sqlx(db);
                    err.message = format!("{what}: {}", err.message);
                    if err.kind != ErrorKind::Transient {
                        err.kind = ErrorKind::Permanent;
                        err.hint =
                            Some("the state store's schema could not be brought up to date; see the message".into());
                    }
                    err
                }
                other => StoreError::new(ErrorKind::Permanent, format!("{what}: {other}")).with_hint(
                    "the state store's schema differs from what this version of dualsync expects; \
                     use a newer dualsync or another state database",
                ),
            }
        })
    }

    /// The SQL text for this store's dialect: `?` placeholders become `$1`, `$2`, ... on
    /// PostgreSQL. (The state store's SQL has no `?` inside literals.)
    fn sql<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.dialect().sql(text)
    }

    async fn fetch(&self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Cols>> {
        let rows = self
            .pool
            .fetch(&self.sql(sql), args, types)
            .await
            .map_err(|e| self.context(e))?;
        Ok(rows.into_iter().map(Cols::new).collect())
    }

    async fn fetch_one(&self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Option<Cols>> {
        Ok(self.fetch(sql, args, types).await?.into_iter().next())
    }

    async fn execute(&self, sql: &str, args: &[Arg]) -> Result<u64> {
        self.pool
            .execute(&self.sql(sql), args)
            .await
            .map_err(|e| self.context(e))
    }

    /// The texts of a one-column query, as a set (names of maps, units).
    async fn names(&self, sql: &str, args: &[Arg]) -> Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        for mut c in self.fetch(sql, args, &[ValueType::Text]).await? {
            out.insert(c.text()?);
        }
        Ok(out)
    }

    async fn count(&self, sql: &str, args: &[Arg]) -> Result<u64> {
        match self.fetch_one(sql, args, &[ValueType::Int]).await? {
            Some(mut c) => c.count(),
            None => Ok(0),
        }
    }

    async fn begin(&self) -> Result<StateTx<'_>> {
        let tx = self.pool.begin().await.map_err(|e| self.context(e))?;
        Ok(StateTx { tx, store: self })
    }

    fn context(&self, mut e: StoreError) -> StoreError {
        e.message = format!("state store at {}: {}", self.name, e.message);
        e
    }

    fn not_found(&self, what: String) -> StoreError {
        StoreError::new(ErrorKind::NotFound, format!("state store at {}: {what}", self.name))
    }
}

/// A transaction on the state store; dropping it without `commit` rolls it back.
struct StateTx<'s> {
    tx: Tx,
    store: &'s StateStore,
}

impl StateTx<'_> {
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64> {
        self.tx
            .execute(&self.store.sql(sql), args)
            .await
            .map_err(|e| self.store.context(e))
    }

    async fn fetch(&mut self, sql: &str, args: &[Arg], types: &[ValueType]) -> Result<Vec<Cols>> {
        let rows = self
            .tx
            .fetch(&self.store.sql(sql), args, types)
            .await
            .map_err(|e| self.store.context(e))?;
        Ok(rows.into_iter().map(Cols::new).collect())
    }

    async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(|e| self.store.context(e))
    }
}

/// `?, ?, ?` for `n` parameters.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The current time as the state store keeps it (microseconds), so a value read back
/// equals the value written.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn text(s: &str) -> Arg {
    Arg {
        value: Value::Text(s.to_string()),
        ty: ValueType::Text,
    }
}

fn opt_text(s: Option<&str>) -> Arg {
    Arg {
        value: s.map_or(Value::Null, |s| Value::Text(s.to_string())),
        ty: ValueType::Text,
    }
}

fn int(i: i64) -> Arg {
    Arg {
        value: Value::Int(i),
        ty: ValueType::Int,
    }
}

fn count_arg(n: u64) -> Arg {
    int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn time(t: DateTime<Utc>) -> Arg {
    Arg {
        value: Value::DateTime(t.trunc_subsecs(6)),
        ty: ValueType::DateTime,
    }
}

fn opt_time(t: Option<DateTime<Utc>>) -> Arg {
    Arg {
        value: t.map_or(Value::Null, |t| Value::DateTime(t.trunc_subsecs(6))),
        ty: ValueType::DateTime,
    }
}

/// Reads the columns of one result row in order.
struct Cols(std::vec::IntoIter<Value>);

impl Cols {
    fn new(row: Vec<Value>) -> Cols {
        Cols(row.into_iter())
    }

    fn next(&mut self) -> Value {
        self.0.next().unwrap_or(Value::Null)
    }

    fn bad(expected: &str, got: &Value) -> StoreError {
        StoreError::new(
            ErrorKind::Permanent,
            format!("the state store holds {got:?} where {expected} was expected"),
        )
        .with_hint("the state store was changed by hand or by another program; restore it")
    }

    fn text(&mut self) -> Result<String> {
        match self.next() {
            Value::Text(s) => Ok(s),
            other => Err(Self::bad("text", &other)),
        }
    }

    fn opt_text(&mut self) -> Result<Option<String>> {
        match self.next() {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s)),
            other => Err(Self::bad("text", &other)),
        }
    }

    fn int(&mut self) -> Result<i64> {
        match self.next() {
            Value::Int(i) => Ok(i),
            other => Err(Self::bad("an integer", &other)),
        }
    }

    fn count(&mut self) -> Result<u64> {
        Ok(u64::try_from(self.int()?).unwrap_or(0))
    }

    fn time(&mut self) -> Result<DateTime<Utc>> {
        match self.next() {
            Value::DateTime(t) => Ok(t),
            other => Err(Self::bad("a timestamp", &other)),
        }
    }

    fn opt_time(&mut self) -> Result<Option<DateTime<Utc>>> {
        match self.next() {
            Value::Null => Ok(None),
            Value::DateTime(t) => Ok(Some(t)),
            other => Err(Self::bad("a timestamp", &other)),
        }
    }

    /// A value of an enumeration stored as text.
    fn parsed<T: FromStr<Err = String>>(&mut self) -> Result<T> {
        let s = self.text()?;
        s.parse().map_err(|e: String| {
            StoreError::new(ErrorKind::Permanent, format!("the state store holds {e}"))
                .with_hint("the state store was changed by hand or by another program; restore it")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        let q = "SELECT a FROM t WHERE b = ? AND c IN (?, ?)";
        assert_eq!(Dialect::Sqlite.sql(q), q);
        assert_eq!(
            Dialect::Postgres.sql(q),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
        );
        assert_eq!(marks(3), "?, ?, ?");
    }

    #[tokio::test]
    async fn an_in_memory_sqlite_state_store_keeps_its_data_between_calls() {
        let s = StateStore::open("sqlite::memory:").await.unwrap();
        let at = crate::store::Position::new("0:3");
        s.set_cursor("m", "operational", "e", &at).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(s.get_cursor("m", "operational", "e").await.unwrap(), Some(at));
    }

    #[tokio::test]
    async fn an_unsupported_url_is_refused_with_a_hint() {
        let err = StateStore::open("mysql://localhost/state").await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert!(err.hint.is_some());
    }
}
