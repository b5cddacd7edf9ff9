//! Initial sync of one map: the operational records are read in key order, a batch at a time
//! (memory does not grow with the row count), and written through the pipeline. After each
//! batch the links and a checkpoint (the last key copied, the counts) are saved, so a crash
//! resumes after the last saved key; records copied twice are recognized as unchanged. The
//! change-feed heads recorded at the start become the live cursors, so nothing that changed
//! during the copy is missed. A second pass over the accounting records brings the values that
//! flow back (two-way fields, posted attributes) to records present on both sides; where both
//! sides hold a two-way value, the map's `initial_sync_master` decides.

use chrono::Utc;

use super::Engine;
use super::compile::CompiledMap;
use super::conflict::Settle;
use super::retry::retry;
use super::state::{Checkpoint, CheckpointStatus, MapState, SyncCounts, key_text, parse_stored_key_text};
use crate::store::{Result, StoreError};
use crate::tablemap::model::Side;

/// Where an initial sync stands, for progress reports: sent as each pass starts and after every
/// batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InitialProgress {
    /// The counts so far, all passes together (and earlier runs, when resumed).
    pub counts: SyncCounts,
    /// The pass being copied: 0 is the main pass (operational records), 1 the write-back pass
    /// (accounting records), when the map has one.
    pub pass: usize,
    /// How many passes the map has (1 or 2).
    pub passes: usize,
    /// `counts.read` when this pass started in this run (0 for the first pass).
    pub read_before: u64,
    /// The records of this pass's side when it started; `None` when the store could not count.
    pub pass_total: Option<u64>,
}

impl Engine {
    /// Runs (or resumes, or skips when done) the initial sync of `name`; returns its counts.
    /// `progress` is called as each pass starts and after every batch.
    pub async fn initial_sync(&self, name: &str, progress: &mut dyn FnMut(&InitialProgress)) -> Result<SyncCounts> {
        let map = self.map(name).ok_or_else(|| {
            StoreError::new(
                crate::store::ErrorKind::NotFound,
                format!("there is no map named \"{name}\""),
            )
        })?;
        let mut checkpoint = match self.state.get_checkpoint(name).await? {
            Some(c) if c.status == CheckpointStatus::Done => return Ok(c.counts),
            Some(c) => c,
            None => {
                let (op_entity, acct_entity) = (&map.operational.entity, &map.accounting.entity);
                let head_op = retry(&self.retry, "head", || self.operational.head(op_entity))
                    .await
                    .ok();
                let head_acct = retry(&self.retry, "head", || self.accounting.head(acct_entity))
                    .await
                    .ok();
                let c = Checkpoint::start(name, Side::Operational.name(), head_op, head_acct);
                self.state.save_checkpoint(&c).await?;
                c
            }
        };
        self.state.set_map_state(name, MapState::InitialSync, None).await?;
        let passes = passes(map);
        let mut pass = passes
            .iter()
            .position(|s| s.name() == checkpoint.side)
            .unwrap_or_default();
        loop {
            let (from, entity) = (passes[pass], &map.side(passes[pass]).entity);
            let at = InitialProgress {
                counts: checkpoint.counts,
                pass,
                passes: passes.len(),
                read_before: if pass == 0 { 0 } else { checkpoint.counts.read },
                pass_total: retry(&self.retry, "count", || self.store(from).count(entity))
                    .await
                    .ok(),
            };
            progress(&at);
            let mut report = |counts: &SyncCounts| progress(&InitialProgress { counts: *counts, ..at });
            self.copy(map, from, &mut checkpoint, &mut report).await?;
            pass += 1;
            let Some(next) = passes.get(pass) else { break };
            checkpoint.side = next.name().to_string();
            checkpoint.last_key = None;
            self.state.save_checkpoint(&checkpoint).await?;
        }
        // Children parked for parents of this same map (a task tree) whose retry a crash cut short.
        self.sweep_parked(map).await?;
        // Live sync starts where the copy started, on both sides.
        for (side, head) in [
            (Side::Operational, &checkpoint.head_operational),
            (Side::Accounting, &checkpoint.head_accounting),
        ] {
            let entity = &map.side(side).entity;
            if self.state.get_cursor(name, side.name(), entity).await?.is_none() {
                let head = head.clone().unwrap_or_default();
                self.state.set_cursor(name, side.name(), entity, &head).await?;
            }
        }
        checkpoint.status = CheckpointStatus::Done;
        checkpoint.finished_at = Some(Utc::now());
        self.state.save_checkpoint(&checkpoint).await?;
        self.state.set_map_state(name, MapState::Running, None).await?;
        Ok(checkpoint.counts)
    }

    /// One pass of an initial sync: every record of side `from`, in key order from the
    /// checkpoint's last key, through the pipeline; the checkpoint is saved after each batch.
    async fn copy(
        &self,
        map: &CompiledMap,
        from: Side,
        checkpoint: &mut Checkpoint,
        progress: &mut dyn FnMut(&SyncCounts),
    ) -> Result<()> {
        let store = self.store(from);
        let full = retry(&self.retry, "describe", || store.describe(&map.side(from).entity)).await?;
        let cols = map.columns(from);
        let desc = full.project(&cols.iter().map(String::as_str).collect::<Vec<_>>())?;
        let key_types: Vec<_> = desc.key_columns().map(|c| c.value_type).collect();
        // The checkpoint keeps the key the store said to continue after, as the store gave it.
        let mut after = checkpoint
            .last_key
            .as_deref()
            .and_then(|t| parse_stored_key_text(t, &key_types));
        let settle = Settle::Master(map.initial_sync_master);
        let mut batches = 0u64;
        loop {
            let page = retry(&self.retry, "scan", || {
                store.read_page(&desc, after.as_ref(), self.batch_size)
            })
            .await?;
            let Some(last_key) = page.next else { return Ok(()) };
            // Records the store cannot read become record errors; the others sync.
            self.record_unreadable(map, from, &desc, &page.bad).await?;
            let mut result = self.sync_batch(map, from, &desc, &page.rows, &[], &settle).await?;
            result.counts.read += page.bad.len() as u64;
            result.counts.failed += page.bad.len() as u64;
            self.state
                .commit_batch(&result.links, &result.deleted_links, None)
                .await?;
            self.unpark_children(map, &result.linked).await?;
            checkpoint.counts = add(checkpoint.counts, result.counts);
            checkpoint.last_key = Some(key_text(&last_key));
            self.state.save_checkpoint(checkpoint).await?;
            progress(&checkpoint.counts);
            after = Some(last_key);
            batches += 1;
            if batches.is_power_of_two() {
                self.refresh_statistics(map, from.other()).await;
            }
        }
    }

    /// After batch 1, 2, 4, 8, ... of a copy: the tables it fills (links, the target entity)
    /// may have doubled since the last time, so the stores' planners are asked to look again.
    /// A failure only costs speed: it is logged, and the copy goes on.
    async fn refresh_statistics(&self, map: &CompiledMap, target: Side) {
        let entity = &map.side(target).entity;
        if let Err(e) = self.state.refresh_statistics().await {
            tracing::warn!(map = %map.name, error = %e, "could not refresh the state store's statistics");
        }
        if let Err(e) = self.store(target).refresh_statistics(entity).await {
            tracing::warn!(map = %map.name, entity = %entity, error = %e, "could not refresh statistics");
        }
    }
}

/// The sides an initial sync copies from, in order: the operational records, then the
/// accounting records when any field flows from them (two-way fields, written-back
/// attributes), so values the accounting side holds reach records present on both sides.
fn passes(map: &CompiledMap) -> Vec<Side> {
    let keys = &map.operational.key;
    let back = map
        .fields
        .iter()
        .any(|f| f.writes(Side::Operational) && f.operational.as_ref().is_some_and(|c| !keys.contains(c)));
    if back {
        vec![Side::Operational, Side::Accounting]
    } else {
        vec![Side::Operational]
    }
}

/// Counts of two batches added up.
pub fn add(a: SyncCounts, b: SyncCounts) -> SyncCounts {
    SyncCounts {
        read: a.read + b.read,
        written: a.written + b.written,
        unchanged: a.unchanged + b.unchanged,
        skipped: a.skipped + b.skipped,
        parked: a.parked + b.parked,
        failed: a.failed + b.failed,
    }
}
