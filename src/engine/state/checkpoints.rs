//! Initial-sync checkpoints: per map, whether the copy runs or is done, the last key copied
//! (a restart continues after it), the counts so far and the change-feed heads recorded at
//! the start (live sync begins from them, so nothing written during the copy is missed).

use chrono::{DateTime, Utc};

use super::{StateStore, StateTx, count_arg, now, opt_text, opt_time, text, time};
use crate::store::{Position, Result};
use crate::value::ValueType;

text_enum! {
    /// Whether an initial sync is under way or finished.
    pub enum CheckpointStatus ("checkpoint status") {
        Running = "running",
        Done = "done",
    }
}

/// What a sync run did with the records it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
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
    /// The operational entity's change-feed head when the copy started.
    pub head_operational: Option<Position>,
    /// The accounting entity's change-feed head when the copy started.
    pub head_accounting: Option<Position>,
}

impl Checkpoint {
    /// A running checkpoint that starts now, with nothing copied yet.
    pub fn start(
        map: &str,
        side: &str,
        head_operational: Option<Position>,
        head_accounting: Option<Position>,
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

const CHECKPOINT_TYPES: [ValueType; 14] = {
    use ValueType::{DateTime, Int, Text};
    [
        Text, Text, Text, Text, DateTime, DateTime, Int, Int, Int, Int, Int, Int, Text, Text,
    ]
};

impl StateStore {
    /// The checkpoint of a map's initial sync, if one was saved.
    pub async fn get_checkpoint(&self, map: &str) -> Result<Option<Checkpoint>> {
        let row = self
            .fetch_one(
                "SELECT map, status, side, last_key, started_at, finished_at, read_count, written_count, \
                 unchanged_count, skipped_count, parked_count, failed_count, head_operational, head_accounting \
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
        let head_operational = c.opt_text()?.map(Position::new);
        let head_accounting = c.opt_text()?.map(Position::new);
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

    /// The maps whose initial sync is done.
    pub async fn done_maps(&self) -> Result<std::collections::HashSet<String>> {
        self.names(
            "SELECT map FROM checkpoints WHERE status = ?",
            &[text(CheckpointStatus::Done.as_str())],
        )
        .await
    }

    /// Stores a map's checkpoint, replacing the one it had.
    pub async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        let mut tx = self.begin().await?;
        self.check_fence(&mut tx, &[&checkpoint.map]).await?;
        write_checkpoint(&mut tx, checkpoint).await?;
        tx.commit().await
    }

    /// Forgets a map's checkpoint (the next initial sync starts from the beginning); whether
    /// there was one. Not fenced: an edited map is adopted by whichever replica loads it first.
    pub async fn clear_checkpoint(&self, map: &str) -> Result<bool> {
        Ok(self
            .execute("DELETE FROM checkpoints WHERE map = ?", &[text(map)])
            .await?
            > 0)
    }
}

/// Writes (inserts or replaces) a map's checkpoint in a transaction of the state store.
pub(super) async fn write_checkpoint(tx: &mut StateTx<'_>, checkpoint: &Checkpoint) -> Result<()> {
    let c = checkpoint;
    let counts = c.counts;
    tx.execute(
        "INSERT INTO checkpoints (map, status, side, last_key, started_at, finished_at, read_count, \
         written_count, unchanged_count, skipped_count, parked_count, failed_count, head_operational, \
         head_accounting) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (map) DO UPDATE SET status = excluded.status, side = excluded.side, \
         last_key = excluded.last_key, started_at = excluded.started_at, finished_at = excluded.finished_at, \
         read_count = excluded.read_count, written_count = excluded.written_count, \
         unchanged_count = excluded.unchanged_count, skipped_count = excluded.skipped_count, \
         parked_count = excluded.parked_count, failed_count = excluded.failed_count, \
         head_operational = excluded.head_operational, head_accounting = excluded.head_accounting",
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
            opt_text(c.head_operational.as_ref().map(Position::as_str)),
            opt_text(c.head_accounting.as_ref().map(Position::as_str)),
        ],
    )
    .await?;
    Ok(())
}
