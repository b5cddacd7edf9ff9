//! One way to read, write and watch any system dualsync syncs: the `Store` trait, the
//! description of an entity, rows, write operations with per-row outcomes, each entity's
//! ordered change feed with opaque positions, and typed errors. SQL stores (SQLite,
//! PostgreSQL) live in `sql`; the HTTP foundation in `http`, the OData stores in `odata`.

pub mod coerce;
pub mod dataverse;
pub mod finops;
pub mod http;
pub mod odata;
mod open;
pub mod sql;

pub use open::{Setup, open};

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use crate::value::{Value, ValueType};

/// The key of one record: the values of the entity's key columns, in key order.
pub type Key = Vec<Value>;

/// One record: values aligned with the columns of the `EntityDesc` it was read or written with.
pub type Row = Vec<Value>;

/// One column of an entity, as the store's catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub value_type: ValueType,
    pub nullable: bool,
    /// Precision and scale of a decimal column.
    pub decimal: Option<(u32, u32)>,
}

/// An entity (table) and the columns a caller works with; `key` indexes into `columns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityDesc {
    pub name: String,
    pub columns: Vec<Column>,
    pub key: Vec<usize>,
}

impl EntityDesc {
    pub fn index_of(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == column)
    }

    pub fn column(&self, column: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == column)
    }

    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.key.iter().map(|&i| &self.columns[i])
    }

    /// The key of a row read or written with this description.
    pub fn key_of(&self, row: &Row) -> Key {
        self.key.iter().map(|&i| row[i].clone()).collect()
    }

    /// The same entity restricted to `columns` (the key columns come first, always included).
    /// Writes with a projection touch only its columns.
    pub fn project(&self, columns: &[&str]) -> Result<EntityDesc, StoreError> {
        let mut out: Vec<Column> = self.key_columns().cloned().collect();
        for name in columns {
            let col = self.column(name).ok_or_else(|| {
                StoreError::unknown_column(&self.name, name, self.columns.iter().map(|c| c.name.as_str()))
            })?;
            if !out.iter().any(|c| c.name == col.name) {
                out.push(col.clone());
            }
        }
        Ok(EntityDesc {
            name: self.name.clone(),
            key: (0..self.key.len()).collect(),
            columns: out,
        })
    }
}

/// One write in a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Insert the row, or update the columns of the description if the key exists.
    Upsert(Row),
    /// Delete the record with this key, if it exists.
    Delete(Key),
}

/// What happened to one write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Written,
    Deleted {
        existed: bool,
    },
    /// The store refused this row (a constraint, a value that does not fit); the rest of the
    /// batch was applied. The message names the column and the reason.
    Rejected {
        message: String,
    },
}

/// What kind of change a change-feed entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeOp {
    Insert,
    Update,
    Delete,
}

impl ChangeOp {
    pub fn code(self) -> &'static str {
        match self {
            ChangeOp::Insert => "I",
            ChangeOp::Update => "U",
            ChangeOp::Delete => "D",
        }
    }

    pub fn from_code(code: &str) -> Option<ChangeOp> {
        match code {
            "I" => Some(ChangeOp::Insert),
            "U" => Some(ChangeOp::Update),
            "D" => Some(ChangeOp::Delete),
            _ => None,
        }
    }
}

/// A position in one entity's change feed, as the store handed it out. Opaque to everyone
/// else: the SQL stores write `EPOCH:SEQ` of their change log (`Cursor`), the Dataverse store a
/// delta link. Saved per (map, side, entity) with the links of the batch it ends, and handed
/// back unchanged. The empty position is the start of the feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Position(String);

impl Position {
    pub fn new(text: impl Into<String>) -> Position {
        Position(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_start(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Cursor> for Position {
    fn from(c: Cursor) -> Position {
        Position(c.to_string())
    }
}

/// A position in a SQL store's change log. Entries are ordered by `(epoch, seq)`; a feed read
/// from a cursor returns only entries after it. SQLite uses epoch 0; PostgreSQL the
/// writing transaction's id, so the order never changes once an entry has been read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    pub epoch: i64,
    pub seq: i64,
}

impl Cursor {
    /// The cursor a position of a SQL store's feed holds (the start for the empty position).
    pub fn of(position: &Position) -> Result<Cursor> {
        if position.is_start() {
            return Ok(Cursor::default());
        }
        position.as_str().parse().map_err(|e: String| {
            StoreError::new(ErrorKind::Permanent, format!("change-feed position: {e}")).with_hint(
                "the saved position is not one of this store: was the map's entity moved to another kind \
                 of store? Its state must then be started afresh",
            )
        })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.seq)
    }
}

impl FromStr for Cursor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once(':')
            .ok_or_else(|| format!("cursor \"{s}\" is not EPOCH:SEQ"))?;
        let num = |t: &str| t.parse::<i64>().map_err(|_| format!("cursor \"{s}\" is not EPOCH:SEQ"));
        Ok(Cursor {
            epoch: num(a)?,
            seq: num(b)?,
        })
    }
}

/// What one read of an entity's change feed returned: its changes in feed order and where the
/// next read starts (after the last change, or further when the store knows nothing of this
/// entity happened in between). Commit `next` with what the changes caused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeBatch {
    pub changes: Vec<Change>,
    pub next: Position,
    /// The store could not go on from the position (a delta token that expired) and started
    /// the entity's feed again: the changes are every record there is, and the records deleted
    /// meanwhile are not among them. The reader finds those itself (the engine checks the
    /// records it has links for).
    pub restarted: bool,
    /// The feed never lists deletions (finance-and-operations data entities), and it is time
    /// to look for them: the reader checks the records it has links for, as after a restart.
    pub sweep: bool,
}

/// One entry of the change feed: a record of `entity` with `key` was inserted, updated or
/// deleted. Readers fetch the record's current state by key.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The position right after this entry, when the store has one per entry (the SQL
    /// stores); `None` when only the batch has one (a delta link).
    pub position: Option<Position>,
    pub entity: String,
    pub op: ChangeOp,
    pub key: Key,
    /// When the source system made the change, when it says (the `latest-wins` policy).
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// Set when the entry cannot be decoded (its key does not fit the entity's key types, an
    /// unknown operation): then `key` is empty. Readers record it and pass it.
    pub bad: Option<BadChange>,
}

/// A change-feed entry that cannot be decoded: the key as logged and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadChange {
    pub raw_key: String,
    pub message: String,
}

/// A stored record that could not be read as the description says (a value of the wrong
/// type, a number out of range, an impossible date, invalid UTF-8, or a key that another
/// record holds in another spelling): which record, which column, the stored value and why.
/// The other records of the read are returned as usual.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// The record's key, when its key columns could be read.
    pub key: Option<Key>,
    /// The key as stored, as a JSON array of texts (for a record whose key cannot be read).
    pub raw_key: String,
    /// The column that could not be read.
    pub column: String,
    /// The stored value as text, when the store could show it.
    pub raw: Option<String>,
    /// Why, naming the column and the value.
    pub message: String,
    /// Whether the record is unreadable because another record holds the same key in another
    /// spelling (then `column` is the key column).
    pub duplicate_key: bool,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {}: `{}`: {}", self.raw_key, self.column, self.message)
    }
}

/// What a read by key returned: the records, and those that could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub rows: Vec<Row>,
    pub bad: Vec<BadRow>,
}

/// One page of a scan: the records, those that could not be read, and the key to continue
/// after (the last record of the page, readable or not), `None` at the end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub rows: Vec<Row>,
    pub bad: Vec<BadRow>,
    /// Where the next page starts. It may hold a value as the store keeps it rather than as
    /// its type says (e.g. a GUID stored as text in another case, or unreadable): pass it back
    /// unchanged.
    pub next: Option<Key>,
}

/// One unreadable record as an error (for the callers of `scan` and `get` that need every row).
fn bad_row_error(entity: &str, bad: &BadRow) -> StoreError {
    StoreError::new(ErrorKind::Permanent, format!("`{entity}` {bad}"))
        .with_hint("another program wrote a value dualsync cannot read; correct it in the store")
}

/// How a failure should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Worth retrying with backoff: a lost connection, a busy or locked database, a timeout.
    Transient,
    /// An entity or column that the store does not have.
    NotFound,
    /// The store refused one row: a constraint, a value that does not fit the column.
    Rejected,
    /// A request that will never succeed as it is: a bad URL, an unsupported type.
    Permanent,
    /// A commit refused by the fencing token: this replica no longer holds the unit of work
    /// (issue 19). Not retried here: the unit's new owner goes on from the last commit.
    Fenced,
}

/// A store failure, with what to do about it.
#[derive(Debug, Clone)]
pub struct StoreError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
    /// How long the store asked us to wait before retrying (an HTTP `Retry-After`).
    pub retry_after: Option<std::time::Duration>,
    /// The database's own code for the error (a PostgreSQL SQLSTATE such as `3D000`, a SQLite
    /// extended result code such as `2067`), for code that decides by it instead of the text.
    pub code: Option<String>,
    /// The error of the driver underneath, kept whole.
    pub source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl PartialEq for StoreError {
    /// Equal when they say the same; the driver's error underneath is not compared.
    fn eq(&self, other: &StoreError) -> bool {
        self.kind == other.kind
            && self.message == other.message
            && self.hint == other.hint
            && self.retry_after == other.retry_after
            && self.code == other.code
    }
}

impl Eq for StoreError {}

impl StoreError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into(),
            hint: None,
            retry_after: None,
            code: None,
            source: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }

    pub fn unknown_column<'a>(entity: &str, column: &str, known: impl IntoIterator<Item = &'a str>) -> Self {
        let err = StoreError::new(
            ErrorKind::NotFound,
            format!("entity `{entity}` has no column `{column}`"),
        );
        match crate::tablemap::diagnostic::did_you_mean(column, known) {
            Some(s) => err.with_hint(format!("did you mean `{s}`?")),
            None => err.with_hint("check the column name against the store's schema"),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A system dualsync syncs with.
#[async_trait]
pub trait Store: Send + Sync {
    /// A printable name of the store, with any password removed.
    fn name(&self) -> &str;

    /// The entities (tables) the store has.
    async fn entities(&self) -> Result<Vec<String>>;

    /// The columns, types and key of an entity, from the store's catalog.
    async fn describe(&self, entity: &str) -> Result<EntityDesc>;

    /// Forgets the descriptions `describe` keeps, so the next one reads the catalog again
    /// (maps reloaded after columns were added). The HTTP stores keep the service's `$metadata`
    /// for the process's life: there, a restart reads it again.
    fn forget_catalog(&self) {}

    /// Up to `limit` records in key order, starting after `after` (keyset paging). A record
    /// that cannot be read fails the whole read; see `read_page` for a read that goes on.
    async fn scan(&self, desc: &EntityDesc, after: Option<&Key>, limit: usize) -> Result<Vec<Row>> {
        let page = self.read_page(desc, after, limit).await?;
        match page.bad.first() {
            Some(bad) => Err(bad_row_error(&desc.name, bad)),
            None => Ok(page.rows),
        }
    }

    /// The records with these keys (missing ones are left out), in no particular order. A
    /// record that cannot be read fails the whole read; see `read`.
    async fn get(&self, desc: &EntityDesc, keys: &[Key]) -> Result<Vec<Row>> {
        let rows = self.read(desc, keys).await?;
        match rows.bad.first() {
            Some(bad) => Err(bad_row_error(&desc.name, bad)),
            None => Ok(rows.rows),
        }
    }

    /// Up to `limit` records (readable or not) in key order after `after`: the readable ones,
    /// the others as `BadRow`s, and where the next page starts.
    async fn read_page(&self, desc: &EntityDesc, after: Option<&Key>, limit: usize) -> Result<Page>;

    /// A page of a scan that keeps only the records holding a value in at least one of the
    /// columns `set` (of `desc`); `next` continues the scan as `read_page`'s does. A store that
    /// can filter in the query does (SQL); the default reads the page and drops the others.
    async fn read_page_set(&self, desc: &EntityDesc, after: Option<&Key>, limit: usize, set: &[&str]) -> Result<Page> {
        let mut page = self.read_page(desc, after, limit).await?;
        let idx: Vec<usize> = set.iter().filter_map(|c| desc.index_of(c)).collect();
        page.rows.retain(|r| idx.iter().any(|&i| !r[i].is_null()));
        Ok(page)
    }

    /// The records with these keys (missing ones are left out), in no particular order; those
    /// that cannot be read as `BadRow`s. Keys compare as their type says (a GUID is
    /// case-insensitive), so two records whose keys differ only in spelling are both bad.
    async fn read(&self, desc: &EntityDesc, keys: &[Key]) -> Result<Rows>;

    /// How many records an entity holds (progress reporting; a connector may estimate).
    async fn count(&self, entity: &str) -> Result<u64>;

    /// Applies the writes in order, atomically: either the batch commits (rows the store
    /// rejects are left out and reported) or nothing does and the error is returned.
    async fn apply(&self, desc: &EntityDesc, ops: &[WriteOp]) -> Result<Vec<RowOutcome>>;

    /// `apply` for the sync engine's own writes: a store whose change capture can tell them
    /// apart leaves them out of its feed (the engine knows them; read back they were echoes to
    /// recognize and drop). A store that cannot tell them apart writes them as `apply` does.
    async fn apply_own(&self, desc: &EntityDesc, ops: &[WriteOp]) -> Result<Vec<RowOutcome>> {
        self.apply(desc, ops).await
    }

    /// Tells the store that an entity has grown a lot (an initial sync writes it), so its
    /// query planner can look again: PostgreSQL runs `ANALYZE`; others need nothing.
    async fn refresh_statistics(&self, _entity: &str) -> Result<()> {
        Ok(())
    }

    /// Starts (or upgrades) change capture for these entities.
    async fn install_capture(&self, entities: &[&str]) -> Result<()>;

    /// Up to `limit` changes of `entity` after `after`, in feed order, and the position to
    /// read on from. Reads only that entity's feed: a map never reads another map's changes.
    async fn changes(&self, entity: &str, after: &Position, limit: usize) -> Result<ChangeBatch>;

    /// The position after the last change of `entity` (where live sync of a map starts when
    /// its records are copied from now on). A delta-link store reads the entity to get one.
    async fn head(&self, entity: &str) -> Result<Position>;

    /// A counter that moves when new changes may be in the feed; wait on it instead of polling.
    fn watch(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Deletes the change log's entries that no reader needs any more: those before every one
    /// of `needed` (the positions of every map on this store, and those initial syncs will
    /// start from), `batch` at a time with `pause` between batches; how many. A store whose
    /// feed is not a log of its own keeps nothing to prune (the default).
    async fn prune_changes(&self, _needed: &[Position], _batch: usize, _pause: std::time::Duration) -> Result<u64> {
        Ok(0)
    }

    /// How many entries the change log holds; `None` when the store keeps no log of its own.
    async fn change_log_size(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// How many changes of `entity` the feed holds after `after`, and how old the oldest is;
    /// `None` when the store cannot tell without reading them.
    async fn pending_changes(&self, _entity: &str, _after: &Position) -> Result<Option<Pending>> {
        Ok(None)
    }
}

/// The changes of one entity waiting after a feed position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub count: u64,
    /// How long ago the oldest of them was made; `None` when none waits.
    pub oldest_age: Option<std::time::Duration>,
}
