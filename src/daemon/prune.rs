//! Keeps the stores' change logs bounded: every `sync.prune_seconds` the daemon deletes the
//! entries that every map's cursor on that side has passed (see `store::sql::capture::prune`),
//! a bounded batch at a time with a pause between batches, so live sync is not held up.

use std::time::Duration;

use tokio::sync::watch;

use crate::engine::state::StateStore;
use std::sync::Arc;

use crate::store::{Store, StoreError};
use crate::tablemap::model::Side;

/// The unit of work of pruning in a high-availability group.
pub const UNIT: &str = "prune";

/// Entries deleted per statement. Small, because on PostgreSQL the feed reads only below the
/// oldest running transaction: while a pruning statement runs, live sync waits for it.
pub const BATCH: usize = 1_000;

/// The pause between two batches, in which the feed moves on.
pub const PAUSE: Duration = Duration::from_millis(100);

/// Deletes the entries of `side`'s change log that every map has passed; how many.
pub async fn prune_side(state: &StateStore, side: Side, store: &dyn Store, batch: usize) -> Result<u64, StoreError> {
    let needed = state.needed_positions(side.name()).await?;
    if needed.is_empty() {
        return Ok(0);
    }
    store.prune_changes(&needed, batch, PAUSE).await
}

/// Prunes both change logs every `every` until `stop` turns true. Failures are logged and
/// tried again at the next interval.
pub async fn run(
    state: StateStore,
    stores: [(Side, Arc<dyn Store>); 2],
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(every) => {}
        }
        // In a high-availability group, the replica that holds the `prune` unit.
        if let Some(fence) = state.fence()
            && !fence.owns(&fence.process_unit(UNIT))
        {
            continue;
        }
        for (side, store) in &stores {
            match prune_side(&state, *side, store.as_ref(), BATCH).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(side = side.name(), deleted = n, "change log pruned"),
                Err(e) => {
                    tracing::warn!(side = side.name(), error = %e, "pruning the change log failed; tried again later")
                }
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}
