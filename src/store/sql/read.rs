//! Reading records so that one bad record never hides the others: a scan page or a read by key
//! returns the records it can read and reports each one it cannot (a value of the wrong type,
//! a number out of range, an impossible date, invalid UTF-8) as a `BadRow` naming its key,
//! column and stored value. Every read also selects the key columns as stored text, so a page
//! continues after the last key exactly as the database holds it.
//!
//! SQLite keeps GUIDs as text, lower case by convention, but another program may write upper
//! case: a GUID key is looked up in both cases, and two records whose keys differ only in case
//! are both reported (a GUID is case-insensitive, so neither is the record). PostgreSQL's
//! `uuid` type compares GUIDs by value by itself.

use std::collections::{HashMap, HashSet};

use super::SqlStore;
use super::catalog::quote;
use super::conn::{Arg, Dialect};
use super::decode::Cells;
use crate::store::coerce::fit;
use crate::store::{BadRow, EntityDesc, ErrorKind, Key, Page, Result, Row, Rows, StoreError};
use crate::value::{Value, ValueType};

/// Keys (or spellings of keys) per statement, well under both dialects' parameter limits.
const KEYS_PER_STATEMENT: usize = 500;

/// What one statement returned: readable records with their keys as stored, and the others.
#[derive(Default)]
struct Read {
    rows: Vec<(Row, Vec<String>)>,
    bad: Vec<BadRow>,
}

impl SqlStore {
    /// One page of a scan (see `Store::read_page`); with `set`, only records holding a value in
    /// one of those columns (see `Store::read_page_set`; the columns are `desc`'s, checked).
    pub(super) async fn page(
        &self,
        desc: &EntityDesc,
        after: Option<&Key>,
        limit: usize,
        set: &[&str],
    ) -> Result<Page> {
        let mut args = Vec::new();
        let mut sql = format!(
            "SELECT {}, {} FROM {}",
            self.select_list(desc),
            self.stored_key_list(desc),
            quote(&desc.name)
        );
        let mut conditions = Vec::new();
        if let Some(key) = after {
            args = self.stored_key_args(desc, key)?;
            let marks: Vec<String> = (1..=args.len()).map(|n| self.dialect().param(n)).collect();
            conditions.push(format!("({}) > ({})", Self::key_list(desc), marks.join(", ")));
        }
        let set: Vec<String> = set
            .iter()
            .filter(|c| desc.index_of(c).is_some())
            .map(|c| format!("{} IS NOT NULL", quote(c)))
            .collect();
        if !set.is_empty() {
            conditions.push(format!("({})", set.join(" OR ")));
        }
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        sql.push_str(&format!(" ORDER BY {} LIMIT {}", Self::key_list(desc), limit));
        let cells = self.pool.fetch_cells(&sql, &args, &read_types(desc)).await?;
        let next = match cells.last() {
            Some(last) => Some(self.resume_key(desc, last)?),
            None => None,
        };
        let mut read = self.sort(desc, cells).await;
        if self.case_keys(desc) {
            self.page_collisions(desc, &mut read).await?;
        }
        Ok(Page {
            rows: read.rows.into_iter().map(|(r, _)| r).collect(),
            bad: read.bad,
            next,
        })
    }

    /// The records with these keys (see `Store::read`).
    pub(super) async fn by_keys(&self, desc: &EntityDesc, keys: &[Key]) -> Result<Rows> {
        let case = self.case_keys(desc);
        let mut wanted: Vec<Key> = Vec::with_capacity(keys.len() * 2);
        for key in keys {
            let canonical: Key = Self::key_args(desc, key)?.into_iter().map(|a| a.value).collect();
            if case {
                let upper = spelled(desc, &canonical, str::to_uppercase);
                if upper != spelled(desc, &canonical, str::to_lowercase) {
                    wanted.push(upper);
                }
            }
            wanted.push(canonical);
        }
        let mut read = Read::default();
        for chunk in wanted.chunks(KEYS_PER_STATEMENT) {
            let mut args = Vec::new();
            let cond = self.stored_key_in(desc, chunk, &mut args)?;
            let sql = format!(
                "SELECT {}, {} FROM {} WHERE {cond}",
                self.select_list(desc),
                self.stored_key_list(desc),
                quote(&desc.name)
            );
            let cells = self.pool.fetch_cells(&sql, &args, &read_types(desc)).await?;
            let part = self.sort(desc, cells).await;
            read.rows.extend(part.rows);
            read.bad.extend(part.bad);
        }
        if case {
            let mut spellings: HashMap<Key, Vec<Vec<String>>> = HashMap::new();
            for (row, stored) in &read.rows {
                spellings.entry(desc.key_of(row)).or_default().push(stored.clone());
            }
            let (rows, twice): (Vec<_>, Vec<_>) = read
                .rows
                .into_iter()
                .partition(|(row, _)| spellings[&desc.key_of(row)].len() == 1);
            read.rows = rows;
            for (row, stored) in twice {
                let key = desc.key_of(&row);
                read.bad.push(collision(desc, key.clone(), &stored, &spellings[&key]));
            }
        }
        Ok(Rows {
            rows: read.rows.into_iter().map(|(r, _)| r).collect(),
            bad: read.bad,
        })
    }

    /// Whether keys of `desc` need looking up in both cases: SQLite, and a GUID key column.
    pub(super) fn case_keys(&self, desc: &EntityDesc) -> bool {
        self.dialect() == Dialect::Sqlite && desc.key_columns().any(|c| c.value_type == ValueType::Guid)
    }

    /// The key columns as the database holds them, as text (appended to every read).
    fn stored_key_list(&self, desc: &EntityDesc) -> String {
        // Aliased: an output column named like the key column would make ORDER BY ambiguous.
        desc.key_columns()
            .enumerate()
            .map(|(j, c)| match self.dialect() {
                Dialect::Sqlite => format!("CAST({} AS TEXT) AS \"_dualsync_key_{j}\"", quote(&c.name)),
                Dialect::Postgres => format!("{}::text AS \"_dualsync_key_{j}\"", quote(&c.name)),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Binds a key that may hold values as stored: on SQLite a text value in a column of
    /// another type is bound as that text (a GUID in upper case, an unreadable value), so it
    /// compares as the database stores it; everything else is fitted to its column.
    fn stored_key_args(&self, desc: &EntityDesc, key: &Key) -> Result<Vec<Arg>> {
        if key.len() != desc.key.len() {
            return Self::key_args(desc, key);
        }
        desc.key_columns()
            .zip(key)
            .map(|(c, v)| match v {
                Value::Text(_) if self.dialect() == Dialect::Sqlite && c.value_type != ValueType::Text => Ok(Arg {
                    value: v.clone(),
                    ty: ValueType::Text,
                }),
                _ => {
                    let value = fit(v, c).map_err(|m| StoreError::new(ErrorKind::Permanent, m))?;
                    Ok(Arg {
                        value,
                        ty: c.value_type,
                    })
                }
            })
            .collect()
    }

    /// `k IN (...)` or `(k1, k2) IN (VALUES ...)` of keys bound as stored.
    fn stored_key_in(&self, desc: &EntityDesc, keys: &[Key], args: &mut Vec<Arg>) -> Result<String> {
        let bound = keys
            .iter()
            .map(|key| self.stored_key_args(desc, key))
            .collect::<Result<Vec<_>>>()?;
        Ok(self.in_list(desc, bound, args))
    }

    /// Where the page after this row starts. On SQLite the key columns kept as text (GUIDs,
    /// decimals, dates) resume from the text as stored, so a key in another spelling or one
    /// that cannot be read is passed exactly; on PostgreSQL from the typed values.
    fn resume_key(&self, desc: &EntityDesc, cells: &Cells) -> Result<Key> {
        let n = desc.columns.len();
        desc.key
            .iter()
            .enumerate()
            .map(|(j, &i)| {
                let column = &desc.columns[i];
                let stored = match &cells[n + j] {
                    Ok(Value::Text(t)) => Some(t.clone()),
                    _ => None,
                };
                let as_text = matches!(
                    column.value_type,
                    ValueType::Guid | ValueType::Decimal | ValueType::Date | ValueType::DateTime
                );
                match (self.dialect(), &cells[i], stored) {
                    (Dialect::Sqlite, _, Some(t)) if as_text => Ok(Value::Text(t)),
                    (_, Ok(v), _) => Ok(v.clone()),
                    (Dialect::Sqlite, Err(_), Some(t)) => Ok(Value::Text(t)),
                    (_, Err(e), _) => Err(StoreError::new(
                        ErrorKind::Permanent,
                        format!(
                            "`{}`: a record's key column `{}` cannot be read ({}), so the scan cannot continue after it",
                            desc.name, column.name, e.message
                        ),
                    )
                    .with_hint("correct the key in the store")),
                }
            })
            .collect()
    }

    /// Splits decoded rows into readable records and `BadRow`s.
    async fn sort(&self, desc: &EntityDesc, cells: Vec<Cells>) -> Read {
        let n = desc.columns.len();
        let mut read = Read::default();
        for row in cells {
            let stored: Vec<String> = (0..desc.key.len())
                .map(|j| match &row[n + j] {
                    Ok(Value::Text(t)) => t.clone(),
                    Ok(other) => other.to_string(),
                    Err(e) => e.raw.clone().unwrap_or_else(|| "?".to_string()),
                })
                .collect();
            let key: Option<Key> = desc.key.iter().map(|&i| row[i].clone().ok()).collect();
            match row[..n].iter().position(Result::is_err) {
                None => read
                    .rows
                    .push((row.into_iter().take(n).map(|c| c.expect("readable")).collect(), stored)),
                Some(i) => {
                    let column = &desc.columns[i];
                    let err = row[i].clone().expect_err("unreadable");
                    let mut raw = err.raw.clone();
                    let mut message = err.message.clone();
                    if raw.is_none()
                        && let Some(k) = &key
                        && let Some(text) = self.stored_text(desc, k, &column.name).await
                    {
                        message = format!("the stored value \"{text}\" is not a valid {}", column.value_type);
                        raw = Some(text);
                    }
                    read.bad.push(BadRow {
                        key,
                        raw_key: json_texts(&stored),
                        column: column.name.clone(),
                        raw,
                        message,
                        duplicate_key: false,
                    });
                }
            }
        }
        read
    }

    /// A value as the database shows it as text (PostgreSQL decodes in binary, so a value it
    /// could not decode is read again as text), or None.
    async fn stored_text(&self, desc: &EntityDesc, key: &Key, column: &str) -> Option<String> {
        let mut args = Vec::new();
        let cond = self.stored_key_in(desc, std::slice::from_ref(key), &mut args).ok()?;
        let cast = match self.dialect() {
            Dialect::Sqlite => format!("CAST({} AS TEXT)", quote(column)),
            Dialect::Postgres => format!("{}::text", quote(column)),
        };
        let sql = format!("SELECT {cast} FROM {} WHERE {cond}", quote(&desc.name));
        match self
            .pool
            .fetch(&sql, &args, &[ValueType::Text])
            .await
            .ok()?
            .first()?
            .first()?
        {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// Records of a page whose key another record holds in another case become `BadRow`s.
    async fn page_collisions(&self, desc: &EntityDesc, read: &mut Read) -> Result<()> {
        let mut others: Vec<Key> = Vec::new();
        for (row, stored) in &read.rows {
            let key = desc.key_of(row);
            for spelling in [str::to_lowercase, str::to_uppercase] {
                let variant = spelled(desc, &key, spelling);
                if stored_texts(desc, &variant) != *stored {
                    others.push(variant);
                }
            }
        }
        if others.is_empty() {
            return Ok(());
        }
        let mut found: HashMap<Key, Vec<Vec<String>>> = HashMap::new();
        let key_desc = desc.project(&[])?;
        for chunk in others.chunks(KEYS_PER_STATEMENT) {
            let mut args = Vec::new();
            let cond = self.stored_key_in(desc, chunk, &mut args)?;
            let sql = format!(
                "SELECT {}, {} FROM {} WHERE {cond}",
                self.select_list(&key_desc),
                self.stored_key_list(desc),
                quote(&desc.name)
            );
            let cells = self.pool.fetch_cells(&sql, &args, &read_types(&key_desc)).await?;
            for part in self.sort(&key_desc, cells).await.rows {
                found.entry(part.0).or_default().push(part.1);
            }
        }
        let rows = std::mem::take(&mut read.rows);
        for (row, stored) in rows {
            let key = desc.key_of(&row);
            match found.get(&key) {
                Some(other) => {
                    let mut all = vec![stored.clone()];
                    all.extend(other.iter().cloned());
                    read.bad.push(collision(desc, key, &stored, &all));
                }
                None => read.rows.push((row, stored)),
            }
        }
        Ok(())
    }
}

/// The column types of a read: the description's, then the key columns as stored text.
fn read_types(desc: &EntityDesc) -> Vec<ValueType> {
    let mut types: Vec<ValueType> = desc.columns.iter().map(|c| c.value_type).collect();
    types.extend(desc.key.iter().map(|_| ValueType::Text));
    types
}

/// The key with its GUIDs written as text in one case (how another program may store them).
fn spelled(desc: &EntityDesc, key: &Key, case: fn(&str) -> String) -> Key {
    desc.key_columns()
        .zip(key)
        .map(|(c, v)| match v {
            Value::Guid(g) if c.value_type == ValueType::Guid => Value::Text(case(&g.hyphenated().to_string())),
            other => other.clone(),
        })
        .collect()
}

/// The texts a key is stored as (the key columns' stored text).
fn stored_texts(desc: &EntityDesc, key: &Key) -> Vec<String> {
    desc.key_columns()
        .zip(key)
        .map(|(_, v)| match v {
            Value::Text(t) => t.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn json_texts(texts: &[String]) -> String {
    serde_json::to_string(texts).unwrap_or_default()
}

/// Two or more records whose keys differ only in case: this one (`stored`) is reported.
fn collision(desc: &EntityDesc, key: Key, stored: &[String], all: &[Vec<String>]) -> BadRow {
    let mut spellings: Vec<String> = all
        .iter()
        .map(|s| json_texts(s))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    spellings.sort();
    let column = desc
        .key_columns()
        .find(|c| c.value_type == ValueType::Guid)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    BadRow {
        key: Some(key),
        raw_key: json_texts(stored),
        raw: stored.first().cloned(),
        message: format!(
            "{} records have this key, spelled {}: a GUID does not depend on case, so they are one key twice",
            spellings.len(),
            spellings.join(" and ")
        ),
        column,
        duplicate_key: true,
    }
}

/// Key arguments with their GUIDs as upper-case text (how another program may store them).
pub(super) fn upper_case_args(args: &[Arg]) -> Vec<Arg> {
    args.iter()
        .map(|a| match &a.value {
            Value::Guid(g) => Arg {
                value: Value::Text(g.hyphenated().to_string().to_uppercase()),
                ty: ValueType::Text,
            },
            _ => a.clone(),
        })
        .collect()
}
