//! Key links (which operational record is which accounting record, per map and fan-out part,
//! with the hashes of the values last written each way) and change-feed cursors, and the
//! batch commit that writes both in one transaction: the cursor advances only when the
//! batch's links are stored.

use std::collections::HashMap;

use super::{CHUNK, Cols, StateStore, StateTx, marks, now, opt_text, text, time};
use crate::store::{Position, Result};
use crate::value::ValueType;

/// One link: the operational record `operational_key` of `map` (in fan-out part `part`) is
/// the accounting record `accounting_key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub map: String,
    /// Canonical key text (`key_text`) of the operational record.
    pub operational_key: String,
    /// The fan-out part: empty when the map has no fan-out, otherwise the fan-out value
    /// (e.g. the company) that this accounting record was made for.
    pub part: String,
    /// Canonical key text of the accounting record.
    pub accounting_key: String,
    pub company: Option<String>,
    /// Hash of the values last written to the accounting side (echo and no-op suppression).
    pub hash_to_accounting: Option<String>,
    /// Hash of the values last written to the operational side.
    pub hash_to_operational: Option<String>,
    /// The two-way fields' values as each side held them at the last sync (JSON of
    /// `engine::conflict::Agreed`), for telling conflicts from one-sided changes.
    pub agreed: Option<String>,
}

const LINK_SELECT: &str = "SELECT map, operational_key, part, accounting_key, company, hash_to_accounting, \
                           hash_to_operational, agreed FROM links";
const LINK_TYPES: [ValueType; 8] = [ValueType::Text; 8];

fn link_of(mut c: Cols) -> Result<Link> {
    Ok(Link {
        map: c.text()?,
        operational_key: c.text()?,
        part: c.text()?,
        accounting_key: c.text()?,
        company: c.opt_text()?,
        hash_to_accounting: c.opt_text()?,
        hash_to_operational: c.opt_text()?,
        agreed: c.opt_text()?,
    })
}

impl StateStore {
    /// How often the links of `map` were changed through this store (or a clone) so far.
    pub fn link_changes(&self, map: &str) -> u64 {
        self.link_changes
            .lock()
            .expect("link changes")
            .get(map)
            .copied()
            .unwrap_or(0)
    }

    /// Counts a change of the links of these maps, once it is committed (or failed): a reader
    /// that took the old number may have read the old links or the new ones, and whatever it
    /// caches under the old number is discarded.
    fn changing_links<'a>(&self, maps: impl IntoIterator<Item = &'a str>) {
        let mut changes = self.link_changes.lock().expect("link changes");
        for map in maps {
            match changes.get_mut(map) {
                Some(n) => *n += 1,
                None => {
                    changes.insert(map.to_string(), 1);
                }
            }
        }
    }

    /// The links of these operational records (every fan-out part), ordered by key and part.
    pub async fn links_by_operational(&self, map: &str, operational_keys: &[String]) -> Result<Vec<Link>> {
        self.links_by("operational_key", map, operational_keys).await
    }

    /// The links of these accounting records, ordered by operational key and part.
    pub async fn links_by_accounting(&self, map: &str, accounting_keys: &[String]) -> Result<Vec<Link>> {
        self.links_by("accounting_key", map, accounting_keys).await
    }

    async fn links_by(&self, column: &'static str, map: &str, keys: &[String]) -> Result<Vec<Link>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            let sql = format!("{LINK_SELECT} WHERE map = ? AND {column} IN ({})", marks(chunk.len()));
            let mut args = vec![text(map)];
            args.extend(chunk.iter().map(|k| text(k)));
            for row in self.fetch(&sql, &args, &LINK_TYPES).await? {
                out.push(link_of(row)?);
            }
        }
        out.sort_by(|a, b| (&a.operational_key, &a.part).cmp(&(&b.operational_key, &b.part)));
        out.dedup();
        Ok(out)
    }

    /// Up to `limit` distinct record keys of `map` on `side` (`operational` or `accounting`)
    /// after `after`, in key-text order: the records the map has synced, page by page.
    pub async fn linked_keys(&self, map: &str, side: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let column = match side {
            "operational" => "operational_key",
            _ => "accounting_key",
        };
        let sql = format!(
            "SELECT DISTINCT {column} FROM links WHERE map = ? AND {column} > ? ORDER BY {column} LIMIT {}",
            limit.max(1)
        );
        let mut out = Vec::new();
        for mut c in self
            .fetch(&sql, &[text(map), text(after.unwrap_or(""))], &[ValueType::Text])
            .await?
        {
            out.push(c.text()?);
        }
        Ok(out)
    }

    /// Inserts or replaces these links (each row becomes exactly the given link), in one
    /// transaction. When a link appears twice, the last one wins.
    pub async fn upsert_links(&self, links: &[Link]) -> Result<()> {
        let done = async {
            let mut tx = self.begin().await?;
            let maps: Vec<&str> = links.iter().map(|l| l.map.as_str()).collect();
            self.check_fence(&mut tx, &maps).await?;
            write_links(&mut tx, links).await?;
            tx.commit().await
        }
        .await;
        self.changing_links(links.iter().map(|l| l.map.as_str()));
        done
    }

    /// Deletes every link (all fan-out parts) of an operational record; how many there were.
    pub async fn delete_links(&self, map: &str, operational_key: &str) -> Result<u64> {
        let done = self
            .fenced_execute(
                map,
                "DELETE FROM links WHERE map = ? AND operational_key = ?",
                &[text(map), text(operational_key)],
            )
            .await;
        self.changing_links([map]);
        done
    }

    /// Deletes the link of one fan-out part of an operational record; whether it existed.
    pub async fn delete_link(&self, map: &str, operational_key: &str, part: &str) -> Result<bool> {
        let done = self
            .fenced_execute(
                map,
                "DELETE FROM links WHERE map = ? AND operational_key = ? AND part = ?",
                &[text(map), text(operational_key), text(part)],
            )
            .await;
        self.changing_links([map]);
        Ok(done? > 0)
    }

    /// How many links a map has.
    pub async fn count_links(&self, map: &str) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM links WHERE map = ?", &[text(map)])
            .await
    }

    /// The change-feed position in `entity` on `side` applied so far by `map`. A position
    /// saved for another entity (the map's entity changed) is none.
    pub async fn get_cursor(&self, map: &str, side: &str, entity: &str) -> Result<Option<Position>> {
        let row = self
            .fetch_one(
                "SELECT entity, position FROM feed_positions WHERE map = ? AND side = ?",
                &[text(map), text(side)],
                &[ValueType::Text, ValueType::Text],
            )
            .await?;
        let Some(mut c) = row else { return Ok(None) };
        let (saved_for, position) = (c.text()?, c.text()?);
        if !saved_for.is_empty() && saved_for != entity {
            tracing::warn!(
                map,
                side,
                saved_for,
                entity,
                "the map's entity changed: its saved feed position is not used"
            );
            return Ok(None);
        }
        Ok(Some(Position::new(position)))
    }

    /// Records the change-feed position in `entity` on `side` applied by `map` (it may move
    /// back: an operator may rewind a map).
    pub async fn set_cursor(&self, map: &str, side: &str, entity: &str, position: &Position) -> Result<()> {
        let mut tx = self.begin().await?;
        self.check_fence(&mut tx, &[map]).await?;
        write_cursor(
            &mut tx,
            &FeedMark {
                map,
                side,
                entity,
                position,
            },
        )
        .await?;
        tx.commit().await
    }

    /// Commits what one batch did, atomically: deletes the links of `deleted` (map,
    /// operational key; every fan-out part), then upserts `links`, then sets the cursor
    /// position. Either all of it is stored or none of it.
    pub async fn commit_batch(
        &self,
        links: &[Link],
        deleted: &[(String, String)],
        cursor: Option<&FeedMark<'_>>,
    ) -> Result<()> {
        self.commit_links(links, deleted, cursor, None).await
    }

    /// `commit_batch` of an initial sync's batch: the links and the checkpoint after it in one
    /// transaction (one flushed commit instead of two).
    pub async fn commit_copied(
        &self,
        links: &[Link],
        deleted: &[(String, String)],
        checkpoint: &super::Checkpoint,
    ) -> Result<()> {
        self.commit_links(links, deleted, None, Some(checkpoint)).await
    }

    async fn commit_links(
        &self,
        links: &[Link],
        deleted: &[(String, String)],
        cursor: Option<&FeedMark<'_>>,
        checkpoint: Option<&super::Checkpoint>,
    ) -> Result<()> {
        let mut maps: Vec<&str> = links.iter().map(|l| l.map.as_str()).collect();
        maps.extend(deleted.iter().map(|(m, _)| m.as_str()));
        maps.extend(cursor.map(|c| c.map));
        maps.extend(checkpoint.map(|c| c.map.as_str()));
        maps.sort_unstable();
        maps.dedup();
        let done = async {
            let mut tx = self.begin().await?;
            self.check_fence(&mut tx, &maps).await?;
            for (map, key) in deleted {
                tx.execute(
                    "DELETE FROM links WHERE map = ? AND operational_key = ?",
                    &[text(map), text(key)],
                )
                .await?;
            }
            write_links(&mut tx, links).await?;
            if let Some(mark) = cursor {
                write_cursor(&mut tx, mark).await?;
            }
            if let Some(checkpoint) = checkpoint {
                super::checkpoints::write_checkpoint(&mut tx, checkpoint).await?;
            }
            tx.commit().await
        }
        .await;
        self.changing_links(maps);
        done
    }
}

async fn write_links(tx: &mut StateTx<'_>, links: &[Link]) -> Result<()> {
    // One row per (map, operational key, part), the last given: PostgreSQL refuses a
    // statement that would update the same row twice.
    let mut last: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (i, l) in links.iter().enumerate() {
        last.insert((&l.map, &l.operational_key, &l.part), i);
    }
    let unique: Vec<&Link> = links
        .iter()
        .enumerate()
        .filter(|(i, l)| last[&(l.map.as_str(), l.operational_key.as_str(), l.part.as_str())] == *i)
        .map(|(_, l)| l)
        .collect();
    let at = now();
    for chunk in unique.chunks(CHUNK) {
        let tuples = vec![format!("({})", marks(9)); chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO links (map, operational_key, part, accounting_key, company, hash_to_accounting, \
             hash_to_operational, agreed, updated_at) VALUES {tuples} \
             ON CONFLICT (map, operational_key, part) DO UPDATE SET accounting_key = excluded.accounting_key, \
             company = excluded.company, hash_to_accounting = excluded.hash_to_accounting, \
             hash_to_operational = excluded.hash_to_operational, agreed = excluded.agreed, \
             updated_at = excluded.updated_at"
        );
        let mut args = Vec::with_capacity(chunk.len() * 9);
        for l in chunk {
            args.extend([
                text(&l.map),
                text(&l.operational_key),
                text(&l.part),
                text(&l.accounting_key),
                opt_text(l.company.as_deref()),
                opt_text(l.hash_to_accounting.as_deref()),
                opt_text(l.hash_to_operational.as_deref()),
                opt_text(l.agreed.as_deref()),
                time(at),
            ]);
        }
        tx.execute(&sql, &args).await?;
    }
    Ok(())
}

/// Where a map has read an entity's change feed to: saved with the links of the batch it ends.
#[derive(Debug, Clone, Copy)]
pub struct FeedMark<'a> {
    pub map: &'a str,
    pub side: &'a str,
    pub entity: &'a str,
    pub position: &'a Position,
}

async fn write_cursor(tx: &mut StateTx<'_>, mark: &FeedMark<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO feed_positions (map, side, entity, position, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (map, side) DO UPDATE SET entity = excluded.entity, position = excluded.position, \
         updated_at = excluded.updated_at",
        &[
            text(mark.map),
            text(mark.side),
            text(mark.entity),
            text(mark.position.as_str()),
            time(now()),
        ],
    )
    .await?;
    Ok(())
}
