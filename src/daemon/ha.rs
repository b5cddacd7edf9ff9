//! High availability (issue 19, `docs/ha.md`): the coordinator of one replica of a group that
//! shares a PostgreSQL state store. Every `renew_seconds` it records the replica's heartbeat,
//! renews the leases it holds (a lease it could not renew is forgotten at once: its work stops
//! and commits nothing more), hands over the units that now belong to another replica (drained
//! first: the step in progress finishes and commits), and takes the units it should own.
//!
//! `active-standby`: every replica wants the one unit `all`; whoever holds it does everything.
//! `partitioned`: each map and each scheduled process is a unit, assigned by rendezvous hashing
//! over the live replicas (a replica that joins or leaves moves only the units it wins or held,
//! so units do not bounce). The fencing token of each lease guards every commit (`Fence`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::{HaConfig, HaMode};
use crate::engine::metrics;
use crate::engine::state::{ALL, Fence, Lease, StateStore};

/// The coordinator's inputs and what it tells the daemon.
pub struct Group {
    pub id: String,
    pub mode: HaMode,
    pub fence: Arc<Fence>,
    /// The units of work: each map's and each scheduled process's (`partitioned`), or `all`.
    units: Arc<Mutex<Vec<String>>>,
    /// Bumped whenever a unit is gained or lost, so the daemon looks at its work again.
    changed: watch::Sender<u64>,
}

impl Group {
    pub fn new(config: &HaConfig) -> Group {
        let id = config.replica_id();
        Group {
            fence: Fence::new(&id, config.mode == HaMode::Partitioned),
            id,
            mode: config.mode,
            units: Arc::new(Mutex::new(vec![ALL.to_string()])),
            changed: watch::channel(0).0,
        }
    }

    /// Sets the units of work from the maps and the scheduled processes (after a reload too).
    pub fn set_units<'a>(&self, maps: impl IntoIterator<Item = &'a str>, processes: &[&str]) {
        let units: Vec<String> = match self.mode {
            HaMode::Partitioned => maps
                .into_iter()
                .map(|m| self.fence.map_unit(m))
                .chain(processes.iter().map(|p| self.fence.process_unit(p)))
                .collect(),
            _ => vec![ALL.to_string()],
        };
        *self.units.lock().expect("units") = units;
    }

    /// A receiver that changes whenever this replica gains or loses a unit.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

/// Why the daemon's live phase ended to look at its work again (a unit gained or lost, or a
/// map waiting for its initial sync).
pub const LOOK_AGAIN: &str = "the units of work changed";

/// The scheduled processes that are units of work, as configured.
pub fn processes(config: &crate::config::Config) -> Vec<&'static str> {
    let p = &config.processes;
    let mut out = Vec::new();
    if p.enabled {
        for (name, seconds) in [
            ("documents", p.documents_seconds),
            ("approve", p.approve_seconds),
            ("forecasts", p.forecasts_seconds),
            ("import", p.import_seconds),
            ("post", p.post_seconds),
        ] {
            if seconds > 0 {
                out.push(name);
            }
        }
    }
    if config.sync.prune_seconds > 0 {
        out.push(super::prune::UNIT);
    }
    out
}

/// How many maps this replica holds that have not finished their initial sync.
pub async fn waiting_maps(engine: &crate::engine::Engine) -> usize {
    let done = engine.state.done_maps().await.unwrap_or_default();
    engine
        .maps
        .iter()
        .filter(|m| !done.contains(&m.name) && engine.state.owns_map(&m.name))
        .count()
}

/// A stable 64-bit hash (FNV-1a): the same on every replica and version.
pub fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The replica that wins `unit` among `replicas` (rendezvous hashing); `None` without replicas.
pub fn winner<'a>(unit: &str, replicas: &'a [String]) -> Option<&'a str> {
    replicas
        .iter()
        .max_by_key(|r| (fnv(&[r, unit]), r.as_str()))
        .map(String::as_str)
}

/// The units `me` should own among `units`, given the live replicas.
fn desired(mode: HaMode, me: &str, units: &[String], live: &[String]) -> BTreeSet<String> {
    match mode {
        HaMode::Partitioned => units.iter().filter(|u| winner(u, live) == Some(me)).cloned().collect(),
        _ => units.iter().cloned().collect(),
    }
}

/// Runs the coordinator until `stop`; then gives back every lease and leaves the group.
pub async fn coordinate(group: Arc<Group>, state: StateStore, config: HaConfig, mut stop: watch::Receiver<bool>) {
    let (lease, renew) = (config.lease(), config.renew());
    tracing::info!(
        replica = %group.id, mode = group.mode.name(), lease_seconds = config.lease_seconds,
        renew_seconds = config.renew_seconds, "joined the high-availability group"
    );
    while !*stop.borrow() {
        let started = Instant::now();
        if let Err(e) = round(&group, &state, lease).await {
            tracing::error!(error = %e, "the lease round failed; leases not renewed run out and their work stops");
        }
        // Every round, so a standby reports its 0 (what `DualsyncNoActiveReplica` reads).
        metrics::units_held(group.fence.units().len());
        let wait = renew.saturating_sub(started.elapsed());
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    leave(&group, &state).await;
}

/// One round: heartbeat, renewals, hand-overs, takeovers.
async fn round(group: &Group, state: &StateStore, lease: Duration) -> crate::store::Result<()> {
    let fence = &group.fence;
    state.replica_heartbeat(&group.id, group.mode.name(), lease).await?;
    let mut live: Vec<String> = state
        .list_replicas(Some(lease))
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    if !live.contains(&group.id) {
        live.push(group.id.clone());
    }
    let units = group.units.lock().expect("units").clone();
    let want = desired(group.mode, &group.id, &units, &live);
    let mut changed = false;
    // Renew what is held; a lease that cannot be renewed is lost: its work stops now.
    for (unit, token) in fence.units() {
        let at = Instant::now();
        let mut held = Lease {
            unit: unit.clone(),
            owner: group.id.clone(),
            token,
            expires_at: chrono::Utc::now(),
        };
        match state.renew_lease(&mut held, lease).await {
            Ok(true) => fence.hold(&unit, token, at + lease),
            Ok(false) => {
                fence.forget(&unit);
                metrics::lease_change(&unit, "lost");
                tracing::warn!(
                    unit,
                    token,
                    "lease lost (it ran out and another replica took it): work on it stopped"
                );
                changed = true;
            }
            Err(e) => tracing::error!(unit, error = %e, "renewing the lease failed; it is tried again next round"),
        }
    }
    // Hand over what belongs elsewhere now, once the work in progress on it is committed.
    for (unit, _) in fence.units() {
        if want.contains(&unit) {
            fence.set_draining(&unit, false);
            continue;
        }
        fence.set_draining(&unit, true);
        if fence.idle(&unit) {
            let token = fence.token(&unit).unwrap_or_default();
            let held = Lease {
                unit: unit.clone(),
                owner: group.id.clone(),
                token,
                expires_at: chrono::Utc::now(),
            };
            fence.forget(&unit);
            state.release_lease(&held).await?;
            metrics::lease_change(&unit, "released");
            tracing::info!(unit, token, "unit handed over (rebalance)");
            changed = true;
        }
    }
    // Take what this replica should own and nobody holds (or whose holder's lease ran out).
    let held: HashMap<String, i64> = fence.units().into_iter().collect();
    // The owners before this round's takeovers, to tell a failover from a hand-over.
    let before: HashMap<String, String> = match want.iter().any(|u| !held.contains_key(u)) {
        true => state
            .list_leases()
            .await?
            .into_iter()
            .map(|l| (l.unit, l.owner))
            .collect(),
        false => HashMap::new(),
    };
    for unit in want.iter().filter(|u| !held.contains_key(*u)) {
        let at = Instant::now();
        let Some(got) = state.acquire_lease(unit, &group.id, lease).await? else {
            continue;
        };
        fence.hold(unit, got.token, at + lease);
        metrics::lease_change(unit, "acquired");
        match before.get(unit) {
            Some(owner) if owner != &group.id && !live.contains(owner) => {
                metrics::failover(unit);
                tracing::warn!(unit, token = got.token, from = %owner, "took the unit over from a replica that stopped renewing (failover)");
            }
            Some(owner) => tracing::info!(unit, token = got.token, from = %owner, "unit taken"),
            None => tracing::info!(unit, token = got.token, "unit taken"),
        }
        changed = true;
    }
    if changed {
        group.bump();
    }
    Ok(())
}

/// A clean stop: every lease given back and the replica row removed, so the others take over
/// at their next round instead of after the lease time.
async fn leave(group: &Group, state: &StateStore) {
    for (unit, token) in group.fence.units() {
        group.fence.forget(&unit);
        let held = Lease {
            unit: unit.clone(),
            owner: group.id.clone(),
            token,
            expires_at: chrono::Utc::now(),
        };
        match state.release_lease(&held).await {
            Ok(()) => metrics::lease_change(&unit, "released"),
            Err(e) => tracing::warn!(unit, error = %e, "giving the lease back failed; it runs out by itself"),
        }
    }
    if let Err(e) = state.remove_replica(&group.id).await {
        tracing::warn!(error = %e, "leaving the group failed; the replica row ages out");
    }
    group.bump();
    tracing::info!(replica = %group.id, "left the high-availability group");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("replica-{i}")).collect()
    }

    #[test]
    fn every_unit_has_one_winner_and_a_join_moves_only_what_the_newcomer_wins() {
        let units: Vec<String> = (0..60).map(|i| format!("map:m{i}")).collect();
        let (two, three) = (ids(2), ids(3));
        let mut moved = 0;
        for u in &units {
            let before = winner(u, &two).unwrap();
            let after = winner(u, &three).unwrap();
            if before != after {
                assert_eq!(after, "replica-2", "a unit moved between the old replicas");
                moved += 1;
            }
        }
        assert!(
            (10..=30).contains(&moved),
            "about a third moves to the newcomer, got {moved}"
        );
        let mine: usize = three
            .iter()
            .map(|r| desired(HaMode::Partitioned, r, &units, &three).len())
            .sum();
        assert_eq!(mine, units.len(), "each unit is desired by exactly one replica");
        assert_eq!(
            desired(HaMode::ActiveStandby, "replica-0", &[ALL.into()], &three).len(),
            1
        );
    }
}
