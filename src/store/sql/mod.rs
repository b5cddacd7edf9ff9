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

pub use redact::{redact, redact_in};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use self::catalog::quote;
use self::conn::{Arg, Dialect, Pool};
use self::read::upper_case_args;
use super::coerce::fit;
use super::{
    ChangeBatch, Cursor, EntityDesc, ErrorKind, Key, Page, Position, Result, Row, RowOutcome, Rows, Store, StoreError,
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

    /// Fits every value of an upsert row to its column.
    fn fit_row(desc: &EntityDesc, row: &Row) -> std::result::Result<Vec<Arg>, String> {
        if row.len() != desc.columns.len() {
            return Err(format!(
                "the row has {} values for {} columns",
                row.len(),
                desc.columns.len()
            ));
        }
        desc.columns
            .iter()
            .zip(row)
            .map(|(c, v)| {
                fit(v, c).map(|value| Arg {
                    value,
                    ty: c.value_type,
                })
            })
            .collect()
    }

    /// `INSERT ... VALUES (...), ... ON CONFLICT (key) DO UPDATE SET ...` for `rows` rows.
    fn upsert_sql(&self, desc: &EntityDesc, rows: usize) -> String {
        let cols: Vec<String> = desc.columns.iter().map(|c| quote(&c.name)).collect();
        let mut n = 0;
        let tuples: Vec<String> = (0..rows)
            .map(|_| {
                let marks: Vec<String> = cols
                    .iter()
                    .map(|_| {
                        n += 1;
                        self.dialect().param(n)
                    })
                    .collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let updates: Vec<String> = desc
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !desc.key.contains(i))
            .map(|(_, c)| format!("{0} = excluded.{0}", quote(&c.name)))
            .collect();
        let action = if updates.is_empty() {
            "NOTHING".to_string()
        } else {
            format!("UPDATE SET {}", updates.join(", "))
        };
        format!(
            "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO {action}",
            quote(&desc.name),
            cols.join(", "),
            tuples.join(", "),
            Self::key_list(desc)
        )
    }

    /// Which of `keys` exist.
    async fn existing_keys(&self, tx: &mut conn::Tx, desc: &EntityDesc, keys: &[Key]) -> Result<HashSet<Key>> {
        let mut args = Vec::new();
        let cond = self.key_in(desc, keys, &mut args)?;
        let key_desc = desc.project(&[])?;
        let sql = format!(
            "SELECT {} FROM {} WHERE {cond}",
            self.select_list(&key_desc),
            quote(&desc.name)
        );
        Ok(tx
            .fetch(&sql, &args, &Self::types(&key_desc))
            .await?
            .into_iter()
            .collect())
    }

    /// Updates the non-key columns of an existing record; the number of rows it changed.
    /// (An upsert of a projection that leaves out a NOT NULL column must not go through
    /// INSERT ... ON CONFLICT: the database checks the insert before the conflict.)
    async fn update_row(&self, tx: &mut conn::Tx, desc: &EntityDesc, row: &[Arg]) -> Result<u64> {
        let mut args = Vec::with_capacity(row.len());
        let mut sets = Vec::new();
        for (i, c) in desc.columns.iter().enumerate().filter(|(i, _)| !desc.key.contains(i)) {
            args.push(row[i].clone());
            sets.push(format!("{} = {}", quote(&c.name), self.dialect().param(args.len())));
        }
        let mut conds = Vec::new();
        let case = self.case_keys(desc);
        for &k in &desc.key {
            args.push(row[k].clone());
            let mark = self.dialect().param(args.len());
            match upper_case_args(std::slice::from_ref(&row[k])).pop() {
                // SQLite: a GUID key in either case (see `read`).
                Some(upper) if case && desc.columns[k].value_type == ValueType::Guid => {
                    args.push(upper);
                    conds.push(format!(
                        "{} IN ({mark}, {})",
                        quote(&desc.columns[k].name),
                        self.dialect().param(args.len())
                    ));
                }
                _ => conds.push(format!("{} = {mark}", quote(&desc.columns[k].name))),
            }
        }
        if sets.is_empty() {
            let sql = format!("SELECT 1 FROM {} WHERE {}", quote(&desc.name), conds.join(" AND "));
            return Ok(tx.fetch(&sql, &args, &[ValueType::Int]).await?.len() as u64);
        }
        let sql = format!(
            "UPDATE {} SET {} WHERE {}",
            quote(&desc.name),
            sets.join(", "),
            conds.join(" AND ")
        );
        tx.execute(&sql, &args).await
    }

    /// Updates the non-key columns of existing records, many per statement:
    /// `UPDATE t SET c = v.c FROM (VALUES (...), ...) AS v WHERE t.key = v.key`. (Not an upsert,
    /// for the reason `update_row` gives.)
    async fn update_rows(&self, tx: &mut conn::Tx, desc: &EntityDesc, rows: &[&Vec<Arg>]) -> Result<()> {
        let width = desc.columns.len();
        if desc.key.len() == width || rows.is_empty() {
            return Ok(()); // nothing but the key: the records exist, nothing to change
        }
        let pg = self.dialect() == Dialect::Postgres;
        let column = |i: usize| match pg {
            true => format!("v.c{}", i + 1),
            false => format!("v.column{}", i + 1),
        };
        let sets: Vec<String> = (0..width)
            .filter(|i| !desc.key.contains(i))
            .map(|i| format!("{} = {}", quote(&desc.columns[i].name), column(i)))
            .collect();
        let case = self.case_keys(desc);
        let conds: Vec<String> = desc
            .key
            .iter()
            .map(|&k| {
                let name = quote(&desc.columns[k].name);
                match case && desc.columns[k].value_type == ValueType::Guid {
                    // SQLite: a GUID key in either case (see `read`).
                    true => format!("t.{name} IN ({0}, upper({0}))", column(k)),
                    false => format!("t.{name} = {}", column(k)),
                }
            })
            .collect();
        let alias = match pg {
            true => format!(
                "v({})",
                (1..=width).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", ")
            ),
            false => "v".to_string(),
        };
        let per_stmt = ROWS_PER_STATEMENT.min(MAX_PARAMS / width).max(1);
        for chunk in rows.chunks(per_stmt) {
            let mut n = 0;
            let tuples: Vec<String> = chunk
                .iter()
                .map(|_| {
                    let marks: Vec<String> = (0..width)
                        .map(|_| {
                            n += 1;
                            self.dialect().param(n)
                        })
                        .collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let sql = format!(
                "UPDATE {} AS t SET {} FROM (VALUES {}) AS {alias} WHERE {}",
                quote(&desc.name),
                sets.join(", "),
                tuples.join(", "),
                conds.join(" AND ")
            );
            let args: Vec<Arg> = chunk.iter().flat_map(|r| r.iter().cloned()).collect();
            tx.execute(&sql, &args).await?;
        }
        Ok(())
    }

    /// Deletes `keys`, returning which of them existed.
    async fn delete_keys(&self, tx: &mut conn::Tx, desc: &EntityDesc, keys: &[Key]) -> Result<HashSet<Key>> {
        let mut args = Vec::new();
        let cond = self.key_in(desc, keys, &mut args)?;
        let key_desc = desc.project(&[])?;
        let sql = format!(
            "DELETE FROM {} WHERE {cond} RETURNING {}",
            quote(&desc.name),
            self.select_list(&key_desc)
        );
        Ok(tx
            .fetch(&sql, &args, &Self::types(&key_desc))
            .await?
            .into_iter()
            .collect())
    }

    /// The fast path: every op in as few statements as possible. Any row-level refusal
    /// aborts it (the caller then goes row by row).
    async fn apply_batched(
        &self,
        tx: &mut conn::Tx,
        desc: &EntityDesc,
        ops: &[WriteOp],
        fitted: &[Option<Vec<Arg>>],
    ) -> Result<Vec<RowOutcome>> {
        let mut out = vec![RowOutcome::Written; ops.len()];
        let per_stmt = ROWS_PER_STATEMENT.min(MAX_PARAMS / desc.columns.len().max(1)).max(1);
        let mut i = 0;
        while i < ops.len() {
            // A run of consecutive ops of one kind, with no key twice.
            let mut seen = HashSet::new();
            let mut j = i;
            while j < ops.len() && j - i < per_stmt {
                let same_kind = matches!(
                    (&ops[i], &ops[j]),
                    (WriteOp::Upsert(_), WriteOp::Upsert(_)) | (WriteOp::Delete(_), WriteOp::Delete(_))
                );
                let key = match &ops[j] {
                    WriteOp::Upsert(r) => desc.key_of(r),
                    WriteOp::Delete(k) => k.clone(),
                };
                if !same_kind || !seen.insert(key) {
                    break;
                }
                j += 1;
            }
            match &ops[i] {
                WriteOp::Upsert(_) => {
                    let rows: Vec<&Vec<Arg>> = fitted[i..j]
                        .iter()
                        .map(|a| a.as_ref().expect("fitted upsert"))
                        .collect();
                    let keys: Vec<Key> = rows
                        .iter()
                        .map(|r| desc.key.iter().map(|&k| r[k].value.clone()).collect())
                        .collect();
                    let existing = self.existing_keys(tx, desc, &keys).await?;
                    let (old, new): (Vec<_>, Vec<_>) = rows.iter().zip(&keys).partition(|(_, k)| existing.contains(*k));
                    if !new.is_empty() {
                        let args: Vec<Arg> = new.iter().flat_map(|(r, _)| r.iter().cloned()).collect();
                        tx.execute(&self.upsert_sql(desc, new.len()), &args).await?;
                    }
                    let old: Vec<&Vec<Arg>> = old.into_iter().map(|(r, _)| *r).collect();
                    self.update_rows(tx, desc, &old).await?;
                }
                WriteOp::Delete(_) => {
                    let keys: Vec<Key> = ops[i..j]
                        .iter()
                        .filter_map(|op| match op {
                            WriteOp::Delete(k) => Some(k.clone()),
                            WriteOp::Upsert(_) => None,
                        })
                        .collect();
                    let existed = self.delete_keys(tx, desc, &keys).await?;
                    for (o, k) in out[i..j].iter_mut().zip(&keys) {
                        let normalized: Key = Self::key_args(desc, k)?.into_iter().map(|a| a.value).collect();
                        *o = RowOutcome::Deleted {
                            existed: existed.contains(&normalized),
                        };
                    }
                }
            }
            i = j;
        }
        Ok(out)
    }

    /// The slow path: one statement per op, so each row gets its own outcome. PostgreSQL
    /// needs a savepoint per row (an error aborts its transaction); SQLite undoes only the
    /// failed statement.
    async fn apply_row_by_row(
        &self,
        tx: &mut conn::Tx,
        desc: &EntityDesc,
        ops: &[WriteOp],
        fitted: &[Option<Vec<Arg>>],
    ) -> Result<Vec<RowOutcome>> {
        let pg = self.dialect() == Dialect::Postgres;
        let mut out = Vec::with_capacity(ops.len());
        for (op, args) in ops.iter().zip(fitted) {
            if pg {
                tx.execute("SAVEPOINT dualsync_row", &[]).await?;
            }
            let result = match op {
                WriteOp::Upsert(_) => {
                    let row = args.as_deref().unwrap_or_default();
                    match self.update_row(tx, desc, row).await {
                        Ok(0) => tx
                            .execute(&self.upsert_sql(desc, 1), row)
                            .await
                            .map(|_| RowOutcome::Written),
                        other => other.map(|_| RowOutcome::Written),
                    }
                }
                WriteOp::Delete(k) => self
                    .delete_keys(tx, desc, std::slice::from_ref(k))
                    .await
                    .map(|e| RowOutcome::Deleted { existed: !e.is_empty() }),
            };
            match result {
                Ok(o) => {
                    if pg {
                        tx.execute("RELEASE SAVEPOINT dualsync_row", &[]).await?;
                    }
                    out.push(o);
                }
                Err(e) if e.kind == ErrorKind::Rejected => {
                    if pg {
                        tx.execute("ROLLBACK TO SAVEPOINT dualsync_row", &[]).await?;
                    }
                    out.push(RowOutcome::Rejected { message: e.message });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `apply`, marked as the engine's own writes when `own` (see `capture`).
    async fn write(&self, desc: &EntityDesc, ops: &[WriteOp], own: bool) -> Result<Vec<RowOutcome>> {
        self.checked(desc).await?;
        // Values that cannot fit their column are refused before any SQL runs.
        let mut refused: Vec<Option<String>> = vec![None; ops.len()];
        let mut fitted: Vec<Option<Vec<Arg>>> = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match op {
                WriteOp::Upsert(row) => match Self::fit_row(desc, row) {
                    Ok(args) => fitted.push(Some(args)),
                    Err(m) => {
                        refused[i] = Some(m);
                        fitted.push(None);
                    }
                },
                WriteOp::Delete(_) => fitted.push(None),
            }
        }
        let keep: Vec<usize> = (0..ops.len()).filter(|&i| refused[i].is_none()).collect();
        let kept_ops: Vec<WriteOp> = keep.iter().map(|&i| ops[i].clone()).collect();
        let kept_args: Vec<Option<Vec<Arg>>> = keep.iter().map(|&i| fitted[i].clone()).collect();

        let mut tx = self.begin_write(own).await?;
        let outcomes = match self.apply_batched(&mut tx, desc, &kept_ops, &kept_args).await {
            Ok(o) => o,
            Err(e) if e.kind == ErrorKind::Rejected => {
                drop(tx); // rolls back
                tx = self.begin_write(own).await?;
                self.apply_row_by_row(&mut tx, desc, &kept_ops, &kept_args).await?
            }
            Err(e) => return Err(e),
        };
        if own {
            capture::unmark_own(&mut tx).await?;
        }
        tx.commit().await?;

        let mut outcomes = outcomes.into_iter();
        Ok(refused
            .into_iter()
            .map(|r| match r {
                Some(message) => RowOutcome::Rejected { message },
                None => outcomes.next().expect("one outcome per kept op"),
            })
            .collect())
    }

    /// A write transaction, marked as the engine's own when `own`.
    async fn begin_write(&self, own: bool) -> Result<conn::Tx> {
        let mut tx = self.pool.begin().await?;
        if own {
            capture::mark_own(&mut tx).await?;
        }
        Ok(tx)
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

    async fn pending_changes(&self, entity: &str, after: &Position) -> Result<Option<u64>> {
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
