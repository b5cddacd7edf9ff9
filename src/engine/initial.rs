//! Initial sync of one map: the operational records are read in key order, a batch at a time
//! (memory does not grow with the row count), and written through the pipeline. After each
//! batch the links and a checkpoint (the last key copied, the counts) are saved, so a crash
//! resumes after the last saved key; records copied twice are recognized as unchanged. The
//! change-feed heads recorded at the start become the live cursors, so nothing that changed
//! during the copy is missed. A second pass over the accounting records brings the values that
//! flow back (two-way fields, posted attributes) to records present on both sides; where both
//! sides hold a two-way value, the map's `initial_sync_master` decides.

use chrono::Utc;
use futures_util::TryStreamExt;

use super::Engine;
use super::compile::CompiledMap;
use super::conflict::Settle;
use super::pipeline::BatchResult;
use super::retry::retry;
use super::state::{Checkpoint, CheckpointStatus, MapState, SyncCounts, key_text, parse_stored_key_text};
use crate::store::{Key, Result, StoreError};
use crate::tablemap::model::Side;

/// How many batches of a copy are transformed and written at once (see `Engine::copy`).
const IN_FLIGHT: usize = 2;

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
        // Whether the main pass, in this run, copied into a target that held none of the map's
        // records, for a map that creates records only from the operational side: then every
        // accounting record is one the copy made, the write-back pass needs only those with a
        // value to carry back, and the accounting changes before that pass (the copy's own
        // writes) need not be read again by live sync.
        let mut fresh = false;
        let own_target = !map.records.flows_from(Side::Accounting);
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
            let only_set = if pass > 0 && fresh {
                flow_back_columns(map)
            } else {
                None
            };
            let copied_fresh = self
                .copy(map, from, &mut checkpoint, only_set.as_deref(), &mut report)
                .await?;
            fresh = pass == 0 && copied_fresh && own_target;
            if fresh {
                // Live sync reads the accounting side from here: the write-back pass that follows
                // (if any) sees every value set so far, and the copy's echoes are behind.
                let acct = &map.accounting.entity;
                checkpoint.head_accounting = Some(retry(&self.retry, "head", || self.accounting.head(acct)).await?);
            }
            pass += 1;
            let Some(next) = passes.get(pass) else {
                if fresh {
                    self.state.save_checkpoint(&checkpoint).await?;
                }
                break;
            };
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
    /// With `only_set`, only the records holding a value in one of those columns. Returns
    /// whether the pass wrote into a target that held none of the map's records when it began
    /// (a pass that starts from the beginning into an empty entity: `Settle::Fresh`).
    async fn copy(
        &self,
        map: &CompiledMap,
        from: Side,
        checkpoint: &mut Checkpoint,
        only_set: Option<&[String]>,
        progress: &mut dyn FnMut(&SyncCounts),
    ) -> Result<bool> {
        let store = self.store(from);
        let full = retry(&self.retry, "describe", || store.describe(&map.side(from).entity)).await?;
        let cols = map.columns(from);
        let desc = full.project(&cols.iter().map(String::as_str).collect::<Vec<_>>())?;
        let key_types: Vec<_> = desc.key_columns().map(|c| c.value_type).collect();
        // The checkpoint keeps the key the store said to continue after, as the store gave it.
        let after = checkpoint
            .last_key
            .as_deref()
            .and_then(|t| parse_stored_key_text(t, &key_types));
        let fresh = after.is_none() && self.is_empty(map, from.other()).await?;
        let settle = match fresh {
            true => Settle::Fresh(map.initial_sync_master),
            false => Settle::Master(map.initial_sync_master),
        };
        let set: std::sync::Arc<Vec<String>> = std::sync::Arc::new(only_set.unwrap_or_default().to_vec());
        let shared_desc = std::sync::Arc::new(desc.clone());
        // Each page is read (and its rows decoded) in a task of its own, on another thread
        // than the one transforming the batch before it.
        let read = |after: Option<Key>| {
            let (store, desc, set) = (self.shared_store(from), shared_desc.clone(), set.clone());
            let (policy, limit) = (self.retry, self.batch_size);
            let page = tokio::spawn(async move {
                let set: Vec<&str> = set.iter().map(String::as_str).collect();
                retry(&policy, "scan", || async {
                    match set.is_empty() {
                        true => store.read_page(&desc, after.as_ref(), limit).await,
                        false => store.read_page_set(&desc, after.as_ref(), limit, &set).await,
                    }
                })
                .await
            });
            async move {
                page.await
                    .map_err(|e| StoreError::new(crate::store::ErrorKind::Permanent, format!("reading a page: {e}")))?
            }
        };
        // A pipeline: pages are read ahead (each in a task of its own), `IN_FLIGHT` batches
        // are transformed and written at once (one is transformed while the other's rows are
        // written), and finished batches are committed (links, checkpoint) in order while the
        // next ones run. A map whose lookups point into itself (a task tree) needs each batch's
        // links before the next batch is transformed: it runs one batch at a time.
        let own_lookups = map
            .fields
            .iter()
            .any(|f| f.lookup.as_deref() == Some(map.name.as_str()));
        let pages = futures_util::stream::try_unfold(Some(read(after)), move |pending| async move {
            let Some(pending) = pending else { return Ok(None) };
            let page = pending.await?;
            let Some(last_key) = page.next.clone() else {
                return Ok(None);
            };
            // The next page is read while this one is synced.
            Ok(Some(((page, last_key.clone()), Some(read(Some(last_key))))))
        });
        let (desc, settle) = (&desc, &settle);
        let synced = pages
            .map_ok(move |(page, last_key): (crate::store::Page, Key)| async move {
                // Records the store cannot read become record errors; the others sync.
                self.record_unreadable(map, from, desc, &page.bad).await?;
                let mut result = self.sync_batch(map, from, desc, &page.rows, &[], settle).await?;
                result.counts.read += page.bad.len() as u64;
                result.counts.failed += page.bad.len() as u64;
                Ok::<_, StoreError>(Copied { result, last_key })
            })
            .try_buffered(if own_lookups { 1 } else { IN_FLIGHT });
        let mut synced = std::pin::pin!(synced);
        let mut batches = 0u64;
        if own_lookups {
            while let Some(done) = synced.try_next().await? {
                self.commit_copied(map, from, checkpoint, done, &mut batches, progress)
                    .await?;
            }
            return Ok(fresh);
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Copied>(1);
        let produce = async move {
            while let Some(done) = synced.try_next().await? {
                if tx.send(done).await.is_err() {
                    break;
                }
            }
            Ok::<_, StoreError>(())
        };
        let commit = async {
            // The receiver is the committing loop's own: when a commit fails it is dropped, so
            // the producer's next send fails instead of waiting forever.
            let mut rx = rx;
            while let Some(done) = rx.recv().await {
                self.commit_copied(map, from, checkpoint, done, &mut batches, progress)
                    .await?;
            }
            Ok::<_, StoreError>(())
        };
        // A failed commit stops the pipeline (the producer's next send fails); a failed batch
        // leaves the ones before it to be committed first.
        let (produced, committed) = tokio::join!(produce, commit);
        committed?;
        produced?;
        Ok(fresh)
    }

    /// Commits one copied batch: its links, then the checkpoint after its last key; children
    /// parked for its records are synced; statistics are refreshed after batch 1, 2, 4, 8, ...
    async fn commit_copied(
        &self,
        map: &CompiledMap,
        from: Side,
        checkpoint: &mut Checkpoint,
        done: Copied,
        batches: &mut u64,
        progress: &mut dyn FnMut(&SyncCounts),
    ) -> Result<()> {
        let Copied { result, last_key } = done;
        let mut next = checkpoint.clone();
        next.counts = add(next.counts, result.counts);
        next.last_key = Some(key_text(&last_key));
        self.state
            .commit_copied(&result.links, &result.deleted_links, &next)
            .await?;
        super::metrics::records(&map.name, from, &result.counts);
        *checkpoint = next;
        // Children parked for these records (a crash before this point leaves them to the
        // sweep of parked records, which runs at the end of the copy and in the daemon).
        self.unpark_children(map, &result.linked).await?;
        progress(&checkpoint.counts);
        *batches += 1;
        if batches.is_power_of_two() {
            self.refresh_statistics(map, from.other()).await;
        }
        Ok(())
    }

    /// Whether the map's entity on `side` holds no record at all (one key read, exact on every
    /// store, unlike a count, which a connector may estimate).
    pub(super) async fn is_empty(&self, map: &CompiledMap, side: Side) -> Result<bool> {
        let store = self.store(side);
        let entity = &map.side(side).entity;
        let full = retry(&self.retry, "describe", || store.describe(entity)).await?;
        let keys = full.project(&[])?;
        let page = retry(&self.retry, "scan", || store.read_page(&keys, None, 1)).await?;
        Ok(page.next.is_none())
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
pub(super) fn passes(map: &CompiledMap) -> Vec<Side> {
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

/// The accounting columns whose values flow back to the operational side (`passes`), when
/// every such field has one; None when one flows back without a column (a constant), so the
/// write-back pass must see every record. After a main pass into an empty accounting entity,
/// a record with none of these set has nothing to carry back (the two-way values on it are the
/// ones the main pass wrote), and the pass reads only the others.
fn flow_back_columns(map: &CompiledMap) -> Option<Vec<String>> {
    let keys = &map.operational.key;
    let mut out = Vec::new();
    for f in &map.fields {
        if f.writes(Side::Operational) && f.operational.as_ref().is_some_and(|c| !keys.contains(c)) {
            out.push(f.accounting.clone()?);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A batch written to the target whose links and checkpoint are still to be committed.
struct Copied {
    result: BatchResult,
    /// The key the scan continues after (the checkpoint's last key once committed).
    last_key: Key,
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
