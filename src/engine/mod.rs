//! The sync engine: executes compiled table maps between the operational and the accounting
//! store — initial sync (`initial`), live sync in both directions (`live`), one batch at a time
//! (`pipeline`), with links and record errors in the state store (`state`) and retries of
//! transient store errors (`retry`).

pub mod compile;
pub mod conflict;
pub mod initial;
pub mod live;
pub mod metrics;
mod parents;
pub mod pipeline;
pub mod plan;
pub mod policy;
mod problems;
pub mod reconcile;
pub mod retry;
pub mod state;
pub mod transform;

use crate::tablemap::ValidMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use self::compile::CompiledMap;
use self::retry::RetryPolicy;
use self::state::StateStore;
use crate::store::Store;
use crate::tablemap::model::Side;

/// Writes to one store pass this limiter (no limit when built with 0 per second).
pub struct Limiter(Option<(DefaultDirectRateLimiter, u32)>);

impl Limiter {
    pub fn per_second(n: u32) -> Limiter {
        Limiter(NonZeroU32::new(n).map(|n| (RateLimiter::direct(Quota::per_second(n)), n.get())))
    }

    /// Waits until `n` more writes are allowed.
    pub async fn until_n(&self, n: usize) {
        let Some((limiter, burst)) = &self.0 else { return };
        let mut left = u32::try_from(n).unwrap_or(u32::MAX);
        while let Some(step) = NonZeroU32::new(left.min(*burst)) {
            // Never more than the burst at once, so the request can always be granted.
            let _ = limiter.until_n_ready(step).await;
            left -= step.get();
        }
    }
}

/// Everything a sync needs: the two stores, the state store, the compiled maps in
/// dependency order, and the settings.
pub struct Engine {
    pub operational: Arc<dyn Store>,
    pub accounting: Arc<dyn Store>,
    pub state: StateStore,
    pub maps: Vec<CompiledMap>,
    pub companies: Vec<String>,
    pub retry: RetryPolicy,
    pub batch_size: usize,
    /// How long a record may wait for its parent before it becomes a record error.
    pub park_timeout: std::time::Duration,
    /// This many record errors of one map within `alert_window` pause the map (0 = never).
    pub alert_max_errors: u64,
    pub alert_window: std::time::Duration,
    limits: [Limiter; 2],
    /// Whether any record may be parked (then new links look for waiting children).
    parked_any: AtomicBool,
    /// Feed positions of quiet (map, direction)s not saved yet (see `live::QUIET_SAVE`).
    quiet: std::sync::Mutex<std::collections::HashMap<(String, Side), live::Quiet>>,
    /// The parents' links lookups translate through (`parents`).
    parent_links: parents::ParentLinks,
    /// The batch size of each live (map, direction), when it grew past `batch_size`
    /// (`live::LIVE_GROWTH`).
    live_batch: std::sync::Mutex<std::collections::HashMap<(String, Side), usize>>,
    /// The next live batch of a (map, direction) being read while the last one syncs
    /// (`live::Ahead`).
    ahead: std::sync::Mutex<std::collections::HashMap<(String, Side), live::Ahead>>,
}

impl Engine {
    /// The maps come validated (`tablemap::Loaded::valid`, or `tablemap::check_maps` for maps
    /// built in code); they are compiled, which cannot fail, and put in dependency order.
    pub fn new(
        operational: Arc<dyn Store>,
        accounting: Arc<dyn Store>,
        state: StateStore,
        maps: &[ValidMap],
        companies: Vec<String>,
    ) -> Engine {
        Engine {
            operational,
            accounting,
            state,
            maps: compile_ordered(maps),
            companies,
            retry: RetryPolicy::default(),
            batch_size: 500,
            park_timeout: std::time::Duration::from_secs(3600),
            alert_max_errors: 100,
            alert_window: std::time::Duration::from_secs(300),
            limits: [Limiter::per_second(0), Limiter::per_second(0)],
            parked_any: AtomicBool::new(true),
            quiet: Default::default(),
            parent_links: Default::default(),
            live_batch: Default::default(),
            ahead: Default::default(),
        }
    }

    /// Replaces the maps (validated ones): compiled and put in dependency order.
    pub fn set_maps(&mut self, maps: &[ValidMap]) {
        self.maps = compile_ordered(maps);
        // A map's entity may have changed: read positions from the state store again.
        self.quiet.lock().expect("quiet").clear();
        // Batches read ahead with the old maps' columns are read again.
        self.ahead.lock().expect("ahead").clear();
    }

    /// Limits writes per second to each store (0 = no limit).
    pub fn with_write_limits(mut self, operational: u32, accounting: u32) -> Engine {
        self.limits = [Limiter::per_second(operational), Limiter::per_second(accounting)];
        self
    }

    pub fn map(&self, name: &str) -> Option<&CompiledMap> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// The store of `side`, to move into a task of its own.
    pub fn shared_store(&self, side: Side) -> Arc<dyn Store> {
        match side {
            Side::Operational => self.operational.clone(),
            Side::Accounting => self.accounting.clone(),
        }
    }

    pub fn store(&self, side: Side) -> &dyn Store {
        match side {
            Side::Operational => self.operational.as_ref(),
            Side::Accounting => self.accounting.as_ref(),
        }
    }

    /// Writes `ops` of `map` to `side`. When no other map reads that entity on that side, they
    /// are written as the engine's own (`Store::apply_own`): the map's reverse direction
    /// would only read them back as echoes. Another map reading the entity must see them.
    async fn write(
        &self,
        map: &CompiledMap,
        side: Side,
        desc: &crate::store::EntityDesc,
        ops: &[crate::store::WriteOp],
    ) -> crate::store::Result<Vec<crate::store::RowOutcome>> {
        // In a high-availability group, a replica whose lease ran out by its own clock writes
        // nothing more to a store (its successor may be writing the same records).
        if let Some(fence) = self.state.fence() {
            let unit = fence.map_unit(&map.name);
            if fence.token(&unit).is_none() {
                return Err(state::fenced(&unit, "its lease is not held or ran out"));
            }
        }
        let entity = &map.side(side).entity;
        let readers = self
            .maps
            .iter()
            .filter(|m| m.side(side).entity.eq_ignore_ascii_case(entity))
            .count();
        match readers {
            1 => self.store(side).apply_own(desc, ops).await,
            _ => self.store(side).apply(desc, ops).await,
        }
    }

    fn limiter(&self, side: Side) -> &Limiter {
        match side {
            Side::Operational => &self.limits[0],
            Side::Accounting => &self.limits[1],
        }
    }
}

/// Validated maps compiled and put in dependency order (parents first). Validation refused
/// duplicate names, unknown requirements and cycles, so ordering cannot fail here.
fn compile_ordered(maps: &[ValidMap]) -> Vec<CompiledMap> {
    let compiled: Vec<CompiledMap> = maps.iter().map(compile::compile).collect();
    let order =
        compile::order(&compiled).expect("a validated set of maps has unique names, known requirements and no cycle");
    let mut by_order = Vec::with_capacity(compiled.len());
    for name in order {
        if let Some(m) = compiled.iter().find(|m| m.name == name) {
            by_order.push(m.clone());
        }
    }
    by_order
}
