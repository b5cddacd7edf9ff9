//! The change feed of a data entity without change tracking: polling a modified-timestamp
//! column (`ModifiedDateTime` unless configured), in (timestamp, key) order.
//!
//! A timestamp is stamped when a record is written, but the record is seen only when its
//! transaction commits, possibly later; the timestamp has whole seconds, so two writes can
//! share one. So a poll does not start at the newest timestamp seen but at a *floor*
//! `overlap_seconds` before the server's clock at the last poll that read everything, and a
//! record is a change only if its key and values hash to something not yet seen. The position
//! holds the floor, the hashes seen since the floor (grouped by timestamp, dropped as the floor
//! passes them), and, while a backlog is being read a batch at a time, where the last batch
//! stopped. Why this misses nothing, given that no transaction commits more than
//! `overlap_seconds` after stamping its records: a poll that read everything from the floor at
//! server time P saw every record committed before P; one committed after P was stamped after
//! P − overlap, which becomes the next floor.
//!
//! Deletions leave no trace in a poll. Every `sweep_seconds` a batch says `sweep`, and the
//! engine then looks up the records it has synced from this entity by key and syncs the
//! deletion of those that are gone.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::FinopsStore;
use super::read::select;
use super::shape::Shape;
use crate::store::odata::json::Entity;
use crate::store::odata::query;
use crate::store::{BadChange, Change, ChangeBatch, ChangeOp, ErrorKind, Position, Result, StoreError};
use crate::value::{Value, ValueType};

/// What a position of this feed holds (as JSON text).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Mark {
    /// Polls read from here (`None`: from the first record there is).
    floor: Option<DateTime<Utc>>,
    /// Where the last batch stopped when it did not read everything: the `$filter` of the
    /// records after it, in (timestamp, key) order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    /// When the records were last swept for deletions (Unix seconds).
    swept: i64,
    /// Hashes of (key, values) already reported, by their records' timestamp (Unix seconds).
    seen: BTreeMap<i64, BTreeSet<String>>,
}

impl Mark {
    fn of(position: &Position) -> Result<Mark> {
        if position.is_start() {
            return Ok(Mark::default());
        }
        serde_json::from_str(position.as_str()).map_err(|e| {
            StoreError::new(
                ErrorKind::Permanent,
                format!("a change-feed position of a finance-and-operations store cannot be read: {e}"),
            )
            .with_hint("was the map's entity moved to another kind of store? Its state must then be started afresh")
        })
    }

    fn position(&self) -> Position {
        Position::new(serde_json::to_string(self).expect("a mark is JSON"))
    }

    fn has_seen(&self, at: i64, hash: &str) -> bool {
        self.seen.get(&at).is_some_and(|s| s.contains(hash))
    }

    /// Moves the floor up to `floor` and forgets what lies below it.
    fn raise(&mut self, floor: DateTime<Utc>) {
        if self.floor.is_some_and(|f| f >= floor) {
            return;
        }
        self.floor = Some(floor);
        self.seen = self.seen.split_off(&floor.timestamp());
    }
}

/// FNV-1a, 64 bits: stable across builds (positions are saved), enough to tell values apart.
fn fnv(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0x1f]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

impl FinopsStore {
    /// The entity exists; a missing modified column is reported now. Such an entity's feed
    /// stays empty: maps that only write it need nothing from it, and a map that takes fields
    /// back from it gets them only once the column is there (the warning says so).
    pub(super) async fn check_feed(&self, entity: &str) -> Result<()> {
        let shape = self.shape(entity).await?;
        if shape.modified.is_none() {
            tracing::warn!(
                store = %self.service.name, entity, column = %shape.modified_wanted,
                "this data entity has no modified-timestamp column: changes made to it in finance and operations are not found, so no field flows back from it; add the column to the entity or name another under [accounting.finops.entities]"
            );
        }
        Ok(())
    }

    fn modified<'a>(&self, shape: &'a Shape) -> Result<&'a str> {
        shape.modified.as_deref().ok_or_else(|| {
            StoreError::new(
                ErrorKind::Permanent,
                format!(
                    "the data entity `{}` (entity set `{}`) has no column `{}`: its changes cannot be found",
                    shape.desc.name, shape.set, shape.modified_wanted
                ),
            )
            .with_hint(format!(
                "add the table's ModifiedDateTime field to the data entity in Visual Studio, or name another \
                 modified-timestamp column under `[accounting.finops.entities.{}] modified`",
                shape.desc.name
            ))
        })
    }

    pub(super) async fn read_changes(&self, entity: &str, after: &Position, limit: usize) -> Result<ChangeBatch> {
        let quiet = self.quiet_since.lock().expect("quiet").get(entity).copied();
        if quiet.is_some_and(|t| t.elapsed() < self.http.poll()) {
            return Ok(ChangeBatch {
                changes: Vec::new(),
                next: after.clone(),
                restarted: false,
                sweep: false,
            });
        }
        let shape = self.shape(entity).await?;
        if shape.modified.is_none() {
            return Ok(ChangeBatch {
                changes: Vec::new(),
                next: after.clone(),
                restarted: false,
                sweep: false,
            });
        }
        let mut mark = Mark::of(after)?;
        let (changes, exhausted) = self.poll(&shape, &mut mark, limit.max(1)).await?;
        let now = Utc::now().timestamp();
        let sweep = self.finops.sweep_seconds > 0 && now - mark.swept >= self.finops.sweep_seconds as i64;
        if sweep {
            mark.swept = now;
        }
        let mut quiet = self.quiet_since.lock().expect("quiet");
        match changes.is_empty() && exhausted {
            true => quiet.insert(entity.to_string(), std::time::Instant::now()),
            false => quiet.remove(entity),
        };
        Ok(ChangeBatch {
            changes,
            next: mark.position(),
            restarted: false,
            sweep,
        })
    }

    /// The position from now on: a poll that reads (and counts as seen) the records of the
    /// last overlap window.
    pub(super) async fn feed_head(&self, entity: &str) -> Result<Position> {
        let shape = self.shape(entity).await?;
        if shape.modified.is_none() {
            // Its feed stays empty (see `check_feed`).
            return Ok(Position::default());
        }
        let mut mark = Mark {
            swept: Utc::now().timestamp(),
            ..Mark::default()
        };
        // The floor is the server's clock less the overlap: ask it with an empty read.
        let probe = self.query_url(&shape, &shape.key_names().join(","), &[], &[("$top", "1".into())])?;
        let (_, date) = self.service.get_page(&probe, None).await?;
        let overlap = Duration::seconds(self.finops.overlap_seconds as i64);
        mark.floor = Some(date.unwrap_or_else(Utc::now) - overlap);
        loop {
            let (_, exhausted) = self.poll(&shape, &mut mark, self.page_size(usize::MAX)).await?;
            if exhausted {
                return Ok(mark.position());
            }
        }
    }

    /// Reads the records after `mark` until `limit` new ones or the last, moving `mark`
    /// along; the changes and whether everything was read.
    async fn poll(&self, shape: &Shape, mark: &mut Mark, limit: usize) -> Result<(Vec<Change>, bool)> {
        let modified = self.modified(shape)?;
        let keys = shape.key_names();
        let mut order: Vec<&str> = vec![modified];
        order.extend(keys.iter().copied());
        let full = mark.after.is_none();
        let mut changes = Vec::new();
        let mut server_now = None;
        // Whole pages: a poll re-reads the overlap window, mostly records seen already.
        let page = self.page_size(usize::MAX);
        loop {
            let mut filters = Vec::new();
            match (&mark.after, mark.floor) {
                (Some(after), _) => filters.push(after.clone()),
                (None, Some(floor)) => {
                    filters.push(format!("{modified} ge {}", query::literal(&Value::DateTime(floor))?))
                }
                (None, None) => {}
            }
            filters.extend(self.company_filter(shape)?);
            let orderby: Vec<String> = order.iter().map(|c| format!("{c} asc")).collect();
            let url = self.query_url(
                shape,
                &select(&shape.desc),
                &filters,
                &[("$orderby", orderby.join(",")), ("$top", page.to_string())],
            )?;
            let (got, date) = self.service.get_page(&url, None).await?;
            server_now = server_now.or(date);
            let entities: Vec<&Entity> = got.entities().collect();
            let mut exhausted = entities.len() < page;
            // Up to `limit` new changes: the batch stops after the last one reported, and the
            // records after it are read again by the next batch.
            let mut last = None;
            for (i, e) in entities.iter().enumerate() {
                let (change, at, hash) = self.change_of(shape, modified, e);
                let at_s = at.map_or(i64::MIN, |t| t.timestamp());
                if !mark.has_seen(at_s, &hash) {
                    changes.push(change);
                    mark.seen.entry(at_s).or_default().insert(hash);
                }
                last = Some(*e);
                if changes.len() >= limit && i + 1 < entities.len() {
                    exhausted = false;
                    break;
                }
            }
            if let Some(last) = last {
                let mut values = vec![last.value(modified, ValueType::DateTime).unwrap_or(Value::Null)];
                values.extend(
                    shape
                        .desc
                        .key_columns()
                        .map(|c| last.value(&c.name, c.value_type).unwrap_or(Value::Null)),
                );
                mark.after = match values.iter().any(Value::is_null) {
                    // A record without a timestamp or key cannot be passed by a filter; the
                    // next poll starts at the floor again.
                    true => None,
                    // Records let through again (an enumeration in the key) are seen already.
                    false => Some(shape.after_filter(&order, &values)?.0),
                };
            }
            if exhausted {
                mark.after = None;
                // Only a read from the floor that saw everything may move the floor.
                if full && let Some(now) = server_now {
                    mark.raise(now - Duration::seconds(self.finops.overlap_seconds as i64) - Duration::seconds(1));
                }
                return Ok((changes, true));
            }
            if changes.len() >= limit {
                return Ok((changes, false));
            }
        }
    }

    /// One polled record as a change (an update: the engine reads it by key), its timestamp
    /// and the hash of its key and values.
    fn change_of(&self, shape: &Shape, modified: &str, e: &Entity) -> (Change, Option<DateTime<Utc>>, String) {
        let at = match e.value(modified, ValueType::DateTime) {
            Ok(Value::DateTime(t)) => Some(t),
            _ => None,
        };
        let raw: Vec<&str> = shape
            .desc
            .columns
            .iter()
            .map(|c| e.raw(&c.name).unwrap_or("null"))
            .collect();
        let hash = fnv(&raw);
        let key: std::result::Result<Vec<Value>, String> = shape
            .desc
            .key_columns()
            .map(|c| e.value(&c.name, c.value_type))
            .collect();
        let entity = shape.desc.name.clone();
        let change = match key {
            Ok(k) if !k.iter().any(Value::is_null) => Change {
                position: None,
                entity,
                op: ChangeOp::Update,
                key: k,
                at,
                bad: None,
            },
            _ => {
                let raw_key: Vec<&str> = shape
                    .desc
                    .key_columns()
                    .map(|c| e.raw(&c.name).unwrap_or("null"))
                    .collect();
                let raw_key = format!("[{}]", raw_key.join(","));
                Change {
                    position: None,
                    entity: entity.clone(),
                    op: ChangeOp::Update,
                    key: Vec::new(),
                    at,
                    bad: Some(BadChange {
                        message: format!("a changed record of `{entity}` whose key cannot be read: {raw_key}"),
                        raw_key,
                    }),
                }
            }
        };
        (change, at, hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_survives_its_text_and_forgets_below_its_floor() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let mut m = Mark {
            floor: Some(t("2026-12-03T06:00:00Z")),
            after: None,
            swept: 7,
            seen: BTreeMap::new(),
        };
        m.seen
            .entry(t("2026-12-03T06:00:10Z").timestamp())
            .or_default()
            .insert("a".into());
        m.seen
            .entry(t("2026-12-03T06:05:00Z").timestamp())
            .or_default()
            .insert("b".into());
        let back = Mark::of(&m.position()).unwrap();
        assert_eq!(back, m);
        m.raise(t("2026-12-03T06:01:00Z"));
        assert!(!m.has_seen(t("2026-12-03T06:00:10Z").timestamp(), "a"));
        assert!(m.has_seen(t("2026-12-03T06:05:00Z").timestamp(), "b"));
        // A floor never moves down.
        m.raise(t("2026-12-03T05:00:00Z"));
        assert_eq!(m.floor, Some(t("2026-12-03T06:01:00Z")));
        assert_eq!(Mark::of(&Position::default()).unwrap(), Mark::default());
        assert_ne!(fnv(&["a", "bc"]), fnv(&["ab", "c"]));
    }
}
