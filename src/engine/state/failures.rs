//! Records that did not sync, and why: dead letters (permanent failures, one unresolved letter
//! per record that counts its attempts), parked records (waiting for a parent record's link)
//! and skipped records (left out by a skip rule).

use chrono::{DateTime, Utc};

use super::{CHUNK, Cols, StateStore, int, marks, now, opt_text, text, time};
use crate::store::Result;
use crate::tablemap::model::Side;
use crate::value::ValueType;

text_enum! {
    /// What went wrong with a record, as dead letters record it.
    pub enum RecordErrorKind ("record error kind") {
        /// Two records share a key.
        DuplicateKey = "duplicate-key",
        /// A value another program wrote that dualsync cannot read.
        Unreadable = "unreadable",
        /// A change-log entry that names no readable record.
        BadChange = "bad-change",
        /// A synced record that now names another legal entity.
        CompanyChanged = "company-changed",
        /// The transform refused the record (a value that does not fit the map).
        Rejected = "rejected",
        /// The target store refused the record.
        Refused = "refused",
        /// The record waited longer than `park_timeout_seconds` for its parent.
        MissingParent = "missing-parent",
    }
}

text_enum! {
    /// Where a dead letter stands.
    pub enum DeadLetterStatus ("dead-letter status") {
        /// Waiting for someone to look at it.
        Open = "open",
        /// Handed back to the engine for another try.
        Retrying = "retrying",
        /// The record synced later, or an operator closed it.
        Resolved = "resolved",
    }
}

/// A failure to record as a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeadLetter {
    pub map: String,
    /// Where the record was read.
    pub side: Side,
    /// Canonical key text of the record.
    pub record_key: String,
    /// The record's values as JSON text, when known.
    pub payload: Option<String>,
    pub error_kind: RecordErrorKind,
    pub message: String,
    pub hint: Option<String>,
    /// When the failure happened.
    pub at: DateTime<Utc>,
}

/// A record that failed permanently, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: i64,
    pub map: String,
    /// Where the record was read.
    pub side: Side,
    pub record_key: String,
    pub payload: Option<String>,
    pub error_kind: RecordErrorKind,
    /// The latest failure's message and hint.
    pub message: String,
    pub hint: Option<String>,
    /// How many times the record failed while this letter was unresolved.
    pub attempts: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub status: DeadLetterStatus,
}

const DEAD_LETTER_SELECT: &str = "SELECT id, map, side, record_key, payload, error_kind, message, hint, attempts, \
                                  first_seen, last_seen, status FROM dead_letters";
const DEAD_LETTER_TYPES: [ValueType; 12] = {
    use ValueType::{DateTime, Int, Text};
    [
        Int, Text, Text, Text, Text, Text, Text, Text, Int, DateTime, DateTime, Text,
    ]
};

fn dead_letter_of(mut c: Cols) -> Result<DeadLetter> {
    Ok(DeadLetter {
        id: c.int()?,
        map: c.text()?,
        side: c.parsed()?,
        record_key: c.text()?,
        payload: c.opt_text()?,
        error_kind: c.parsed()?,
        message: c.text()?,
        hint: c.opt_text()?,
        attempts: c.count()?,
        first_seen: c.time()?,
        last_seen: c.time()?,
        status: c.parsed()?,
    })
}

/// A record waiting for its parent's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    pub map: String,
    pub side: Side,
    /// Canonical key text of the waiting record.
    pub record_key: String,
    /// The map whose link the record waits for.
    pub waiting_for_map: String,
    /// The operational key text of the parent in that map, as links store it.
    pub waiting_for_key: String,
    pub parked_at: DateTime<Utc>,
    pub reason: Option<String>,
}

const PARKED_COLUMNS: &str = "map, side, record_key, waiting_for_map, waiting_for_key, parked_at, reason";
const PARKED_TYPES: [ValueType; 7] = {
    use ValueType::{DateTime, Text};
    [Text, Text, Text, Text, Text, DateTime, Text]
};

fn parked_of(mut c: Cols) -> Result<Parked> {
    Ok(Parked {
        map: c.text()?,
        side: c.parsed()?,
        record_key: c.text()?,
        waiting_for_map: c.text()?,
        waiting_for_key: c.text()?,
        parked_at: c.time()?,
        reason: c.opt_text()?,
    })
}

/// `WHERE` conditions on an optional map, and their arguments.
fn map_filter(map: Option<&str>, conds: &mut Vec<&'static str>, args: &mut Vec<super::Arg>) {
    if let Some(m) = map {
        conds.push("map = ?");
        args.push(text(m));
    }
}

fn where_clause(conds: &[&str]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

impl StateStore {
    /// Records a permanent failure and returns its letter's id. A record that already has an
    /// unresolved (open or retrying) letter gets that letter updated instead: one more
    /// attempt, the new time, message, hint, kind (and payload, if given), and status open.
    pub async fn add_dead_letter(&self, letter: &NewDeadLetter) -> Result<i64> {
        let l = letter;
        let row = self
            .fetch_one(
                "INSERT INTO dead_letters (map, side, record_key, payload, error_kind, message, hint, attempts, \
                 first_seen, last_seen, status) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 'open') \
                 ON CONFLICT (map, side, record_key) WHERE status <> 'resolved' DO UPDATE SET \
                 attempts = dead_letters.attempts + 1, last_seen = excluded.last_seen, \
                 message = excluded.message, hint = excluded.hint, error_kind = excluded.error_kind, \
                 payload = COALESCE(excluded.payload, dead_letters.payload), status = 'open' \
                 RETURNING id",
                &[
                    text(&l.map),
                    text(l.side.name()),
                    text(&l.record_key),
                    opt_text(l.payload.as_deref()),
                    text(l.error_kind.as_str()),
                    text(&l.message),
                    opt_text(l.hint.as_deref()),
                    time(l.at),
                    time(l.at),
                ],
                &[ValueType::Int],
            )
            .await?;
        match row {
            Some(mut c) => c.int(),
            None => Err(self.not_found(format!(
                "the dead letter of {} record {} of map `{}` was not stored",
                l.side, l.record_key, l.map
            ))),
        }
    }

    /// Dead letters, oldest first, of one map or all, in one status or any.
    pub async fn list_dead_letters(
        &self,
        map: Option<&str>,
        status: Option<DeadLetterStatus>,
    ) -> Result<Vec<DeadLetter>> {
        let mut conds = Vec::new();
        let mut args = Vec::new();
        map_filter(map, &mut conds, &mut args);
        if let Some(s) = status {
            conds.push("status = ?");
            args.push(text(s.as_str()));
        }
        let sql = format!("{DEAD_LETTER_SELECT}{} ORDER BY id", where_clause(&conds));
        self.fetch(&sql, &args, &DEAD_LETTER_TYPES)
            .await?
            .into_iter()
            .map(dead_letter_of)
            .collect()
    }

    pub async fn get_dead_letter(&self, id: i64) -> Result<Option<DeadLetter>> {
        let sql = format!("{DEAD_LETTER_SELECT} WHERE id = ?");
        self.fetch_one(&sql, &[int(id)], &DEAD_LETTER_TYPES)
            .await?
            .map(dead_letter_of)
            .transpose()
    }

    /// Sets a letter's status. A letter that does not exist is a `NotFound` error; reopening a
    /// resolved letter of a record that has another unresolved one is `Rejected`.
    pub async fn set_dead_letter_status(&self, id: i64, status: DeadLetterStatus) -> Result<()> {
        let n = self
            .execute(
                "UPDATE dead_letters SET status = ? WHERE id = ?",
                &[text(status.as_str()), int(id)],
            )
            .await?;
        if n == 0 {
            return Err(self
                .not_found(format!("there is no dead letter {id}"))
                .with_hint("list the dead letters to see their ids"));
        }
        Ok(())
    }

    /// Resolves the unresolved letters of these records (they synced fine since); how many
    /// there were. One statement per chunk of keys, not one per record.
    pub async fn resolve_dead_letters_for(&self, map: &str, side: &str, record_keys: &[String]) -> Result<u64> {
        self.per_key_chunk(
            "UPDATE dead_letters SET status = 'resolved' WHERE status <> 'resolved' AND",
            map,
            side,
            record_keys,
        )
        .await
    }

    /// Letters of these records still `retrying` (their retry neither synced nor failed them
    /// again) go back to open; how many.
    pub async fn reopen_retrying(&self, map: &str, side: &str, record_keys: &[String]) -> Result<u64> {
        self.per_key_chunk(
            "UPDATE dead_letters SET status = 'open' WHERE status = 'retrying' AND",
            map,
            side,
            record_keys,
        )
        .await
    }

    /// Every letter left `retrying` (by a retry that a crash cut short) goes back to open; how
    /// many.
    pub async fn reopen_all_retrying(&self) -> Result<u64> {
        self.execute("UPDATE dead_letters SET status = 'open' WHERE status = 'retrying'", &[])
            .await
    }

    /// Runs `head map = ? AND side = ? AND record_key IN (...)` for every chunk of `record_keys`;
    /// the rows it touched in all.
    async fn per_key_chunk(&self, head: &str, map: &str, side: &str, record_keys: &[String]) -> Result<u64> {
        let mut n = 0;
        for chunk in record_keys.chunks(CHUNK) {
            let sql = format!("{head} map = ? AND side = ? AND record_key IN ({})", marks(chunk.len()));
            let mut args = vec![text(map), text(side)];
            args.extend(chunk.iter().map(|k| text(k)));
            n += self.execute(&sql, &args).await?;
        }
        Ok(n)
    }

    /// Unresolved (open or retrying) dead letters of one map, or of all.
    pub async fn count_open_dead_letters(&self, map: Option<&str>) -> Result<u64> {
        let mut conds = vec!["status <> 'resolved'"];
        let mut args = Vec::new();
        map_filter(map, &mut conds, &mut args);
        let sql = format!("SELECT COUNT(*) FROM dead_letters{}", where_clause(&conds));
        self.count(&sql, &args).await
    }

    /// Dead letters (any status) of one map, or of all, whose record last failed at or after
    /// `since`: the input of an "N errors within a window" alert.
    pub async fn count_recent_dead_letters(&self, map: Option<&str>, since: DateTime<Utc>) -> Result<u64> {
        let mut conds = Vec::new();
        let mut args = Vec::new();
        map_filter(map, &mut conds, &mut args);
        conds.push("last_seen >= ?");
        args.push(time(since));
        let sql = format!("SELECT COUNT(*) FROM dead_letters{}", where_clause(&conds));
        self.count(&sql, &args).await
    }

    /// Parks a record until its parent's link appears. Parking a parked record again updates
    /// what it waits for and why, and keeps when it was first parked.
    pub async fn park(&self, parked: &Parked) -> Result<()> {
        let p = parked;
        self.execute(
            "INSERT INTO parked (map, side, record_key, waiting_for_map, waiting_for_key, parked_at, reason) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (map, side, record_key) DO UPDATE SET \
             waiting_for_map = excluded.waiting_for_map, waiting_for_key = excluded.waiting_for_key, \
             reason = excluded.reason",
            &[
                text(&p.map),
                text(p.side.name()),
                text(&p.record_key),
                text(&p.waiting_for_map),
                text(&p.waiting_for_key),
                time(p.parked_at),
                opt_text(p.reason.as_deref()),
            ],
        )
        .await?;
        Ok(())
    }

    /// Removes and returns the records waiting for this parent (oldest first), for the engine
    /// to retry now that the parent's link exists.
    pub async fn take_parked_waiting_for(&self, parent_map: &str, parent_key: &str) -> Result<Vec<Parked>> {
        let sql =
            format!("DELETE FROM parked WHERE waiting_for_map = ? AND waiting_for_key = ? RETURNING {PARKED_COLUMNS}");
        let mut out: Vec<Parked> = self
            .fetch(&sql, &[text(parent_map), text(parent_key)], &PARKED_TYPES)
            .await?
            .into_iter()
            .map(parked_of)
            .collect::<Result<_>>()?;
        out.sort_by(|a, b| {
            (a.parked_at, &a.map, &a.side, &a.record_key).cmp(&(b.parked_at, &b.map, &b.side, &b.record_key))
        });
        Ok(out)
    }

    /// The records waiting for this parent, left parked: the engine removes each one only
    /// once it has synced, so a crash in between loses none.
    pub async fn parked_waiting_for(&self, parent_map: &str, parent_key: &str) -> Result<Vec<Parked>> {
        let sql = format!(
            "SELECT {PARKED_COLUMNS} FROM parked WHERE waiting_for_map = ? AND waiting_for_key = ? \
             ORDER BY parked_at, map, side, record_key"
        );
        self.fetch(&sql, &[text(parent_map), text(parent_key)], &PARKED_TYPES)
            .await?
            .into_iter()
            .map(parked_of)
            .collect()
    }

    /// Records parked before `before` (oldest first): candidates for a dead letter.
    pub async fn parked_older_than(&self, before: DateTime<Utc>) -> Result<Vec<Parked>> {
        let sql = format!(
            "SELECT {PARKED_COLUMNS} FROM parked WHERE parked_at < ? ORDER BY parked_at, map, side, record_key"
        );
        self.fetch(&sql, &[time(before)], &PARKED_TYPES)
            .await?
            .into_iter()
            .map(parked_of)
            .collect()
    }

    /// Stops waiting for a record's parent; whether it was parked.
    pub async fn unpark(&self, map: &str, side: &str, record_key: &str) -> Result<bool> {
        let n = self
            .execute(
                "DELETE FROM parked WHERE map = ? AND side = ? AND record_key = ?",
                &[text(map), text(side), text(record_key)],
            )
            .await?;
        Ok(n > 0)
    }

    /// Stops waiting for the parents of these records (they synced by other means); how many
    /// were parked. One statement per chunk of keys.
    pub async fn unpark_many(&self, map: &str, side: &str, record_keys: &[String]) -> Result<u64> {
        self.per_key_chunk("DELETE FROM parked WHERE", map, side, record_keys)
            .await
    }

    pub async fn count_parked(&self, map: &str) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM parked WHERE map = ?", &[text(map)])
            .await
    }

    /// Notes that skip rule `rule` left a record out (replacing an earlier note for it).
    pub async fn record_skip(&self, map: &str, side: &str, record_key: &str, rule: &str) -> Result<()> {
        self.record_skips(map, side, &[(record_key.to_string(), rule.to_string())])
            .await
    }

    /// `record_skip` for many records (record key, rule), one statement per chunk: a batch's
    /// skipped records were a statement (and on PostgreSQL a flushed commit) each.
    pub async fn record_skips(&self, map: &str, side: &str, skips: &[(String, String)]) -> Result<()> {
        let at = now();
        for chunk in skips.chunks(CHUNK) {
            // One row per record key, the last rule given (a statement may not touch a row twice).
            let mut last: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
            for (key, rule) in chunk {
                last.insert(key, rule);
            }
            let sql = format!(
                "INSERT INTO skipped (map, side, record_key, rule, skipped_at) VALUES {} \
                 ON CONFLICT (map, side, record_key) DO UPDATE SET rule = excluded.rule, \
                 skipped_at = excluded.skipped_at",
                vec![format!("({})", marks(5)); last.len()].join(", ")
            );
            let mut args = Vec::with_capacity(last.len() * 5);
            for (key, rule) in last {
                args.extend([text(map), text(side), text(key), text(rule), time(at)]);
            }
            self.execute(&sql, &args).await?;
        }
        Ok(())
    }

    /// Forgets that these records were skipped (they sync now); how many were.
    pub async fn clear_skips(&self, map: &str, side: &str, record_keys: &[String]) -> Result<u64> {
        self.per_key_chunk("DELETE FROM skipped WHERE", map, side, record_keys)
            .await
    }

    /// How many records of a map each skip rule leaves out, by rule name.
    pub async fn count_skipped_by_rule(&self, map: &str) -> Result<Vec<(String, u64)>> {
        self.fetch(
            "SELECT rule, COUNT(*) FROM skipped WHERE map = ? GROUP BY rule ORDER BY rule",
            &[text(map)],
            &[ValueType::Text, ValueType::Int],
        )
        .await?
        .into_iter()
        .map(|mut c| Ok((c.text()?, c.count()?)))
        .collect()
    }
}
