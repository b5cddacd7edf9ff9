//! Fencing (issue 19): the units of work this replica holds a lease on, with their fencing
//! tokens, and the check every progress commit makes against the `leases` table in its own
//! transaction.
//!
//! A state store with a fence (`StateStore::with_fence`) refuses to commit links, cursors and
//! checkpoints of a map whose unit this replica does not hold, and checks the token in the same
//! transaction (`FOR SHARE` on PostgreSQL: a successor's takeover waits for the commit, or the
//! commit sees the successor's token and is refused). Without a fence (a single daemon, the
//! admin commands) nothing is checked. The engine asks the fence which maps it may work on
//! (`owns`), and the coordinator (`daemon::ha`) keeps it up to date: leases taken, renewed,
//! lost, drained before a rebalance hands them over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{StateStore, StateTx, text};
use crate::store::sql::conn::Dialect;
use crate::store::{ErrorKind, Result, StoreError};
use crate::value::ValueType;

/// The one unit of `active-standby`: every map and process.
pub const ALL: &str = "all";

/// The units of work and the leases this replica holds on them.
#[derive(Debug)]
pub struct Fence {
    owner: String,
    /// Partitioned: a unit per map and per process; otherwise the single unit `all`.
    partitioned: bool,
    held: Mutex<HashMap<String, Held>>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    token: i64,
    /// When the lease runs out by this process's monotonic clock (measured from before the
    /// request that took or renewed it, so never later than the row's expiry).
    until: Instant,
    /// Being handed over: no new work starts on it; work in progress may still commit.
    draining: bool,
    /// Steps of work in progress on it (`enter`).
    busy: usize,
}

impl Held {
    fn valid(&self) -> bool {
        Instant::now() < self.until
    }
}

/// Work in progress on a unit; the unit cannot be handed over until it is dropped.
#[derive(Debug)]
pub struct Working {
    fence: Arc<Fence>,
    unit: String,
}

impl Drop for Working {
    fn drop(&mut self) {
        if let Some(h) = self.fence.held.lock().expect("fence").get_mut(&self.unit) {
            h.busy = h.busy.saturating_sub(1);
        }
    }
}

impl Fence {
    pub fn new(owner: &str, partitioned: bool) -> Arc<Fence> {
        Arc::new(Fence {
            owner: owner.to_string(),
            partitioned,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// This replica's id, the owner its leases name.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The unit a map belongs to.
    pub fn map_unit(&self, map: &str) -> String {
        match self.partitioned {
            true => format!("map:{map}"),
            false => ALL.to_string(),
        }
    }

    /// The unit of a scheduled process.
    pub fn process_unit(&self, process: &str) -> String {
        match self.partitioned {
            true => format!("process:{process}"),
            false => ALL.to_string(),
        }
    }

    /// Records a lease taken or renewed: `token` until `until`.
    pub fn hold(&self, unit: &str, token: i64, until: Instant) {
        let mut held = self.held.lock().expect("fence");
        let h = held.entry(unit.to_string()).or_insert(Held {
            token,
            until,
            draining: false,
            busy: 0,
        });
        h.token = token;
        h.until = until;
    }

    /// Forgets a unit (its lease was lost or given back): nothing of it commits from now on.
    pub fn forget(&self, unit: &str) {
        self.held.lock().expect("fence").remove(unit);
    }

    /// Stops new work on a unit that is to be handed over (`true`), or lets it start again.
    pub fn set_draining(&self, unit: &str, draining: bool) {
        if let Some(h) = self.held.lock().expect("fence").get_mut(unit) {
            h.draining = draining;
        }
    }

    /// Whether no work is in progress on `unit` (it may be given back).
    pub fn idle(&self, unit: &str) -> bool {
        self.held.lock().expect("fence").get(unit).is_none_or(|h| h.busy == 0)
    }

    /// Whether new work may start on `unit`: its lease is held, valid and not draining.
    pub fn owns(&self, unit: &str) -> bool {
        self.held
            .lock()
            .expect("fence")
            .get(unit)
            .is_some_and(|h| h.valid() && !h.draining)
    }

    /// Starts work on `unit`; `None` when it may not start (see `owns`).
    pub fn enter(self: &Arc<Self>, unit: &str) -> Option<Working> {
        let mut held = self.held.lock().expect("fence");
        let h = held.get_mut(unit).filter(|h| h.valid() && !h.draining)?;
        h.busy += 1;
        Some(Working {
            fence: self.clone(),
            unit: unit.to_string(),
        })
    }

    /// The token of a unit whose lease is held and has not run out (draining or not).
    pub fn token(&self, unit: &str) -> Option<i64> {
        self.held
            .lock()
            .expect("fence")
            .get(unit)
            .filter(|h| h.valid())
            .map(|h| h.token)
    }

    /// The units held, with their tokens, sorted.
    pub fn units(&self) -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = self
            .held
            .lock()
            .expect("fence")
            .iter()
            .map(|(u, h)| (u.clone(), h.token))
            .collect();
        v.sort();
        v
    }
}

/// The error of a commit refused by the fence: the unit is not (or no longer) this replica's.
pub fn fenced(unit: &str, why: &str) -> StoreError {
    StoreError::new(
        ErrorKind::Fenced,
        format!("the lease of unit `{unit}` is not this replica's ({why}): nothing of it was committed"),
    )
    .with_hint("nothing to do: the replica that holds the unit goes on from its last commit")
}

impl StateStore {
    /// This store with `fence`: its progress commits are checked against the leases.
    pub fn with_fence(mut self, fence: Arc<Fence>) -> StateStore {
        self.fence = Some(fence);
        self
    }

    /// The fence of this store, if it has one.
    pub fn fence(&self) -> Option<&Arc<Fence>> {
        self.fence.as_ref()
    }

    /// Whether work on `map` may start here: always without a fence.
    pub fn owns_map(&self, map: &str) -> bool {
        self.fence.as_ref().is_none_or(|f| f.owns(&f.map_unit(map)))
    }

    /// `sql` in a transaction of its own after the fencing check of `map`.
    pub(super) async fn fenced_execute(
        &self,
        map: &str,
        sql: &str,
        args: &[crate::store::sql::conn::Arg],
    ) -> Result<u64> {
        if self.fence.is_none() {
            return self.execute(sql, args).await;
        }
        let mut tx = self.begin().await?;
        self.check_fence(&mut tx, &[map]).await?;
        let n = tx.execute(sql, args).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The fencing check of a commit touching `maps`, inside its transaction `tx`.
    pub(super) async fn check_fence(&self, tx: &mut StateTx<'_>, maps: &[&str]) -> Result<()> {
        let Some(fence) = &self.fence else { return Ok(()) };
        let mut units: Vec<String> = maps.iter().map(|m| fence.map_unit(m)).collect();
        units.sort_unstable();
        units.dedup();
        for unit in units {
            self.check_unit(tx, fence, &unit).await?;
        }
        Ok(())
    }

    /// The fencing check of one unit inside `tx`.
    pub(super) async fn check_unit(&self, tx: &mut StateTx<'_>, fence: &Fence, unit: &str) -> Result<()> {
        let Some(token) = fence.token(unit) else {
            return Err(fenced(unit, "its lease is not held or ran out"));
        };
        let lock = match self.dialect() {
            Dialect::Postgres => " FOR SHARE",
            Dialect::Sqlite => "",
        };
        let rows = tx
            .fetch(
                &format!("SELECT token FROM leases WHERE unit = ? AND owner = ?{lock}"),
                &[text(unit), text(fence.owner())],
                &[ValueType::Int],
            )
            .await?;
        let current = match rows.into_iter().next() {
            Some(mut c) => Some(c.int()?),
            None => None,
        };
        if current != Some(token) {
            fence.forget(unit);
            crate::engine::metrics::fenced(unit);
            return Err(fenced(unit, &format!("token {token}; another replica took it over")));
        }
        Ok(())
    }

    /// Claims the run of a scheduled process `name` for the period that ends `every` after its
    /// last run, fenced by the process's unit: true for exactly one replica per period.
    pub async fn claim_run(&self, name: &str, every: std::time::Duration) -> Result<bool> {
        let at = super::now();
        let due = at - chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
        let mut tx = self.begin().await?;
        if let Some(fence) = &self.fence {
            self.check_unit(&mut tx, fence, &fence.process_unit(name)).await?;
        }
        let owner = self.fence.as_ref().map_or("", |f| f.owner());
        let n = tx
            .execute(
                "INSERT INTO process_runs (name, started_at, replica) VALUES (?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET started_at = excluded.started_at, replica = excluded.replica \
                 WHERE process_runs.started_at <= ?",
                &[text(name), super::time(at), text(owner), super::time(due)],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }
}
