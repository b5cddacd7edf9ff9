//! The `Store` for SQL databases over sqlx: SQLite (the embedded default: WAL, busy timeout)
//! and PostgreSQL (a pool). Reads page by key; writes are batched upserts and deletes in one
//! transaction with a result per row; changes come from trigger-fed change logs (`capture`).

pub mod capture;
pub mod catalog;
pub mod conn;
pub mod connect;
pub mod decode;
pub mod init;
mod read;
mod redact;
mod wal;
mod write;

pub use redact::{redact, redact_in};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use self::catalog::quote;
use self::conn::{Arg, Dialect, Pool};
use self::read::upper_case_args;
use super::coerce::fit;
use super::{
    ChangeBatch, Cursor, EntityDesc, ErrorKind, Key, Page, Position, Result, RowOutcome, Rows, Store, StoreError,
    WriteOp,
};
use crate::value::ValueType;

/// Rows per multi-row statement (well under both dialects' parameter limits).
const ROWS_PER_STATEMENT: usize = 500;
const MAX_PARAMS: usize = 30_000;

/// A SQLite or PostgreSQL store.
pub struct SqlStore {
    pool: Pool,
    name: String,
    catalog: Mutex<HashMap<String, Arc<EntityDesc>>>,
    watch: tokio::sync::watch::Receiver<u64>,
    _watcher: capture::Watcher,
    /// Whether this process installed change capture here (so own writes can be marked).
    captured: std::sync::atomic::AtomicBool,
}

/// Which dialect a URL names.
pub fn dialect_of(url: &str) -> Result<Dialect> {
    if url.starts_with("sqlite:") {
        Ok(Dialect::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Dialect::Postgres)
    } else {
        Err(StoreError::new(
            ErrorKind::Permanent,
            format!("unsupported store URL \"{}\"", redact(url)),
        )
        .with_hint("use sqlite://path/to/file.db or postgres://user@host:5432/database"))
    }
}

impl SqlStore {
    /// Opens an existing store. A SQLite file that does not exist is an error (see `init`).
    pub async fn open(url: &str) -> Result<SqlStore> {
        Self::connect(url, false).await
    }

    pub(crate) async fn connect(url: &str, create: bool) -> Result<SqlStore> {
        let name = redact(url);
        let pool = connect::connect_pool(url, create, "the store").await?;
        let (watcher, watch) = capture::Watcher::spawn(&pool);
        Ok(SqlStore {
            pool,
            name,
            catalog: Mutex::new(HashMap::new()),
            watch,
            _watcher: watcher,
            captured: Default::default(),
        })
    }

    /// The connection pool, for processes that run their own SQL on this store (the
    /// accounting processes of `crate::accounting`).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.pool.dialect()
    }

    /// The catalog's description of an entity, cached.
    async fn catalog_desc(&self, entity: &str) -> Result<Arc<EntityDesc>> {
        if let Some(d) = self.catalog.lock().expect("catalog lock").get(entity) {
            return Ok(d.clone());
        }
        let desc = Arc::new(catalog::describe(&self.pool, entity).await?);
        self.catalog
            .lock()
            .expect("catalog lock")
            .insert(entity.to_string(), desc.clone());
        Ok(desc)
    }

    /// Forgets cached descriptions (after a migration).
    pub fn refresh_catalog(&self) {
        self.catalog.lock().expect("catalog lock").clear();
    }

    /// Checks a caller's description against the catalog before any SQL is built from it.
    async fn checked(&self, desc: &EntityDesc) -> Result<()> {
        let real = self.catalog_desc(&desc.name).await?;
        catalog::check(desc, &real)
    }

    /// The select list of `desc`'s columns (PostgreSQL integers widened to 64 bits).
    fn select_list(&self, desc: &EntityDesc) -> String {
        desc.columns
            .iter()
            .map(|c| match (self.dialect(), c.value_type) {
                (Dialect::Postgres, ValueType::Int) => format!("{}::int8", quote(&c.name)),
                _ => quote(&c.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn key_list(desc: &EntityDesc) -> String {
        desc.key_columns()
            .map(|c| quote(&c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn types(desc: &EntityDesc) -> Vec<ValueType> {
        desc.columns.iter().map(|c| c.value_type).collect()
    }

    /// Binds a key, fitted to the key columns' types.
    fn key_args(desc: &EntityDesc, key: &Key) -> Result<Vec<Arg>> {
        if key.len() != desc.key.len() {
            return Err(StoreError::new(
                ErrorKind::Permanent,
                format!(
                    "a key of `{}` has {} values, not {}",
                    desc.name,
                    desc.key.len(),
                    key.len()
                ),
            ));
        }
        desc.key_columns()
            .zip(key)
            .map(|(c, v)| {
                let value = fit(v, c).map_err(|m| StoreError::new(ErrorKind::Permanent, m))?;
                Ok(Arg {
                    value,
                    ty: c.value_type,
                })
            })
            .collect()
    }

    /// `(k1, k2) IN (VALUES (...), ...)`, or `k IN (...)` for a single-column key. On SQLite
    /// a GUID key matches in lower and in upper case (see `read`).
    fn key_in(&self, desc: &EntityDesc, keys: &[Key], args: &mut Vec<Arg>) -> Result<String> {
        let mut spellings = Vec::with_capacity(keys.len());
        for key in keys {
            let canonical = Self::key_args(desc, key)?;
            let upper = self.case_keys(desc).then(|| upper_case_args(&canonical));
            spellings.extend(std::iter::once(canonical).chain(upper));
        }
        Ok(self.in_list(desc, spellings, args))
    }

    /// `(k1, k2) IN (VALUES (...), ...)`, or `k IN (...)` for a single-column key, of these
    /// bound key values (appended to `args`).
    fn in_list(&self, desc: &EntityDesc, keys: Vec<Vec<Arg>>, args: &mut Vec<Arg>) -> String {
        let mut tuples = Vec::with_capacity(keys.len());
        for key in keys {
            let mut marks = Vec::with_capacity(key.len());
            for a in key {
                args.push(a);
                marks.push(self.dialect().param(args.len()));
            }
            tuples.push(if desc.key.len() == 1 {
                marks.remove(0)
            } else {
                format!("({})", marks.join(", "))
            });
        }
        if desc.key.len() == 1 {
            format!("{} IN ({})", Self::key_list(desc), tuples.join(", "))
        } else {
            format!("({}) IN (VALUES {})", Self::key_list(desc), tuples.join(", "))
        }
    }

    /// The side (`operational` or `accounting`) this store was initialized as, if any.
    pub async fn side(&self) -> Result<Option<String>> {
        init::recorded_side(&self.pool).await
    }

    /// Runs SQL statements with no parameters and no results (DDL, maintenance). Never pass
    /// text from a map file or a user here.
    pub async fn execute_script(&self, sql: &str) -> Result<()> {
        self.pool.execute_script(sql).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqlStore {
    fn name(&self) -> &str {
        &self.name
    }

    async fn entities(&self) -> Result<Vec<String>> {
        catalog::entities(&self.pool).await
    }

    async fn describe(&self, entity: &str) -> Result<EntityDesc> {
        Ok((*self.catalog_desc(entity).await?).clone())
    }

    fn forget_catalog(&self) {
        self.refresh_catalog();
    }

    async fn read_page(&self, desc: &EntityDesc, after: Option<&Key>, limit: usize) -> Result<Page> {
        self.checked(desc).await?;
        self.page(desc, after, limit, &[]).await
    }

    async fn read_page_set(&self, desc: &EntityDesc, after: Option<&Key>, limit: usize, set: &[&str]) -> Result<Page> {
        self.checked(desc).await?;
        self.page(desc, after, limit, set).await
    }

    async fn read(&self, desc: &EntityDesc, keys: &[Key]) -> Result<Rows> {
        self.checked(desc).await?;
        self.by_keys(desc, keys).await
    }

    async fn apply(&self, desc: &EntityDesc, ops: &[WriteOp]) -> Result<Vec<RowOutcome>> {
        self.write(desc, ops, false).await
    }

    async fn apply_own(&self, desc: &EntityDesc, ops: &[WriteOp]) -> Result<Vec<RowOutcome>> {
        // Unmarked until this process has installed (and so knows) the capture triggers.
        let own = self.captured.load(std::sync::atomic::Ordering::Relaxed);
        self.write(desc, ops, own).await
    }

    async fn install_capture(&self, entities: &[&str]) -> Result<()> {
        let mut descs = Vec::new();
        for e in entities {
            descs.push(self.catalog_desc(e).await?);
        }
        capture::install(&self.pool, &descs).await?;
        self.captured.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    async fn changes(&self, entity: &str, after: &Position, limit: usize) -> Result<ChangeBatch> {
        let after = Cursor::of(after)?;
        let (raw, head) = capture::read(&self.pool, entity, after, limit).await?;
        // A full batch goes on after its last entry; a short one saw every entry up to the head.
        let next = match raw.last() {
            Some(last) if raw.len() >= limit => last.cursor,
            _ => head.max(after),
        };
        let desc = match raw.is_empty() {
            true => None,
            false => match self.catalog_desc(entity).await {
                Ok(desc) => Some(desc),
                // The entries of a table that is gone are passed, each as a bad entry.
                Err(e) if e.kind == ErrorKind::NotFound => {
                    let why = format!("an entity that is gone ({e})");
                    let changes = raw.into_iter().map(|r| r.bad(why.clone(), None)).collect();
                    return Ok(ChangeBatch {
                        changes,
                        next: next.into(),
                        restarted: false,
                        sweep: false,
                    });
                }
                Err(e) => return Err(e),
            },
        };
        let changes = raw
            .into_iter()
            .map(|r| r.decode(desc.as_ref().expect("described when there are entries")))
            .collect();
        Ok(ChangeBatch {
            changes,
            next: next.into(),
            restarted: false,
            sweep: false,
        })
    }

    async fn head(&self, _entity: &str) -> Result<Position> {
        capture::head(&self.pool).await.map(Position::from)
    }

    async fn prune_changes(&self, needed: &[Position], batch: usize, pause: std::time::Duration) -> Result<u64> {
        let mut lowest: Option<Cursor> = None;
        for p in needed {
            let c = Cursor::of(p)?;
            lowest = Some(lowest.map_or(c, |l| l.min(c)));
        }
        match lowest {
            Some(before) => capture::prune::prune(&self.pool, before, batch, pause).await,
            None => Ok(0),
        }
    }

    async fn change_log_size(&self) -> Result<Option<u64>> {
        capture::prune::log_size(&self.pool).await.map(Some)
    }

    async fn pending_changes(&self, entity: &str, after: &Position) -> Result<Option<crate::store::Pending>> {
        capture::prune::pending(&self.pool, entity, Cursor::of(after)?)
            .await
            .map(Some)
    }

    async fn count(&self, entity: &str) -> Result<u64> {
        let desc = self.describe(entity).await?;
        let sql = format!("SELECT COUNT(*) FROM {}", quote(&desc.name));
        match self
            .pool
            .fetch(&sql, &[], &[ValueType::Int])
            .await?
            .first()
            .map(|r| &r[0])
        {
            Some(crate::value::Value::Int(n)) => Ok(u64::try_from(*n).unwrap_or(0)),
            _ => Ok(0),
        }
    }

    async fn refresh_statistics(&self, entity: &str) -> Result<()> {
        if self.dialect() == Dialect::Postgres {
            let desc = self.describe(entity).await?;
            self.pool
                .execute(&format!("ANALYZE {}", quote(&desc.name)), &[])
                .await?;
        }
        Ok(())
    }

    fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.watch.clone()
    }
}
