//! Initial-sync checkpoints: per map, whether the copy runs or is done, the last key copied
//! (a restart continues after it), the counts so far and the change-feed heads recorded at
//! the start (live sync begins from them, so nothing written during the copy is missed).

use chrono::{DateTime, Utc};

use super::{StateStore, count_arg, now, opt_int, opt_text, opt_time, text, time};
use crate::store::{Cursor, Result};
use crate::value::ValueType;

text_enum! {
    /// Whether an initial sync is under way or finished.
    pub enum CheckpointStatus ("checkpoint status") {
        Running = "running",
        Done = "done",
    }
}

/// What a sync run did with the records it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub read: u64,
    pub written: u64,
    /// Read, compared with the last written values, and left alone.
    pub unchanged: u64,
    pub skipped: u64,
    pub parked: u64,
    pub failed: u64,
}

/// The progress of one map's initial sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub map: String,
    pub status: CheckpointStatus,
    /// The side whose records are being copied (`operational` or `accounting`).
    pub side: String,
    /// Canonical key text of the last record copied; `None` before the first.
    pub last_key: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: SyncCounts,
    /// The operational change feed's head when the copy started.
    pub head_operational: Option<Cursor>,
    /// The accounting change feed's head when the copy started.
    pub head_accounting: Option<Cursor>,
}

impl Checkpoint {
    /// A running checkpoint that starts now, with nothing copied yet.
    pub fn start(
        map: &str,
        side: &str,
        head_operational: Option<Cursor>,
        head_accounting: Option<Cursor>,
    ) -> Checkpoint {
        Checkpoint {
            map: map.to_string(),
            status: CheckpointStatus::Running,
            side: side.to_string(),
            last_key: None,
            started_at: now(),
            finished_at: None,
            counts: SyncCounts::default(),
            head_operational,
            head_accounting,
        }
    }
}

const CHECKPOINT_TYPES: [ValueType; 16] = {
    use ValueType::{DateTime, Int, Text};
    [
        Text, Text, Text, Text, DateTime, DateTime, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int,
    ]
};

fn cursor_of(epoch: Option<i64>, seq: Option<i64>) -> Option<Cursor> {
    Some(Cursor {
        epoch: epoch?,
        seq: seq?,
    })
}

impl StateStore {
    /// The checkpoint of a map's initial sync, if one was saved.
    pub async fn get_checkpoint(&self, map: &str) -> Result<Option<Checkpoint>> {
        let row = self
            .fetch_one(
                "SELECT map, status, side, last_key, started_at, finished_at, read_count, written_count, \
                 unchanged_count, skipped_count, parked_count, failed_count, head_operational_epoch, \
                 head_operational_seq, head_accounting_epoch, head_accounting_seq \
                 FROM checkpoints WHERE map = ?",
                &[text(map)],
                &CHECKPOINT_TYPES,
            )
            .await?;
        let Some(mut c) = row else {
            return Ok(None);
        };
        let map = c.text()?;
        let status = c.parsed()?;
        let side = c.text()?;
        let last_key = c.opt_text()?;
        let started_at = c.time()?;
        let finished_at = c.opt_time()?;
        let counts = SyncCounts {
            read: c.count()?,
            written: c.count()?,
            unchanged: c.count()?,
            skipped: c.count()?,
            parked: c.count()?,
            failed: c.count()?,
        };
        let head_operational = cursor_of(c.opt_int()?, c.opt_int()?);
        let head_accounting = cursor_of(c.opt_int()?, c.opt_int()?);
        Ok(Some(Checkpoint {
            map,
            status,
            side,
            last_key,
            started_at,
            finished_at,
            counts,
            head_operational,
            head_accounting,
        }))
    }

    /// Stores a map's checkpoint, replacing the one it had.
    pub async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        let c = checkpoint;
        let counts = c.counts;
        self.execute(
            "INSERT INTO checkpoints (map, status, side, last_key, started_at, finished_at, read_count, \
             written_count, unchanged_count, skipped_count, parked_count, failed_count, head_operational_epoch, \
             head_operational_seq, head_accounting_epoch, head_accounting_seq) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (map) DO UPDATE SET status = excluded.status, side = excluded.side, \
             last_key = excluded.last_key, started_at = excluded.started_at, finished_at = excluded.finished_at, \
             read_count = excluded.read_count, written_count = excluded.written_count, \
             unchanged_count = excluded.unchanged_count, skipped_count = excluded.skipped_count, \
             parked_count = excluded.parked_count, failed_count = excluded.failed_count, \
             head_operational_epoch = excluded.head_operational_epoch, \
             head_operational_seq = excluded.head_operational_seq, \
             head_accounting_epoch = excluded.head_accounting_epoch, \
             head_accounting_seq = excluded.head_accounting_seq",
            &[
                text(&c.map),
                text(c.status.as_str()),
                text(&c.side),
                opt_text(c.last_key.as_deref()),
                time(c.started_at),
                opt_time(c.finished_at),
                count_arg(counts.read),
                count_arg(counts.written),
                count_arg(counts.unchanged),
                count_arg(counts.skipped),
                count_arg(counts.parked),
                count_arg(counts.failed),
                opt_int(c.head_operational.map(|h| h.epoch)),
                opt_int(c.head_operational.map(|h| h.seq)),
                opt_int(c.head_accounting.map(|h| h.epoch)),
                opt_int(c.head_accounting.map(|h| h.seq)),
            ],
        )
        .await?;
        Ok(())
    }

    /// Forgets a map's checkpoint (the next initial sync starts from the beginning); whether
    /// there was one.
    pub async fn clear_checkpoint(&self, map: &str) -> Result<bool> {
        Ok(self
            .execute("DELETE FROM checkpoints WHERE map = ?", &[text(map)])
            .await?
            > 0)
    }
}
