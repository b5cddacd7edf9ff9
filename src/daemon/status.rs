//! `dualsync status`: what each map is doing and how far behind it is, read from the state
//! store and the feeds' heads, and whether the daemon runs (its lock and heartbeat). The exit
//! status says whether a person is needed.

use super::instance::{self, Liveness};
use super::{StartError, load_maps};
use crate::config::Config;
use crate::engine::state::{MapState, MapStatus, StateStore};
use crate::store::sql::SqlStore;
use crate::store::{Store, StoreError};
use crate::tablemap::model::Side;

/// How the alert rule's pause message starts (`engine::live::check_alert`).
const ALERT_PREFIX: &str = "alert:";

/// What `dualsync status` prints, and whether all is well (its exit status).
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub text: String,
    /// False when a map failed or was paused by the alert rule, or the daemon is stale.
    pub healthy: bool,
}

/// The status table: per map its state, links, live applies, parked records, open errors; then
/// the daemon (running, stale or stopped, with host, pid, version and heartbeat).
pub async fn status(config: &Config) -> Result<StatusReport, StartError> {
    let state = StateStore::open(&config.state.url)
        .await
        .map_err(|e| format!("state store: {e}"))?;
    let maps = load_maps(config)?;
    let states = state.list_map_states().await.map_err(|e| e.to_string())?;
    // The feeds' heads, for how far behind each map is (unknown when a store does not answer).
    let mut heads = std::collections::BTreeMap::new();
    // And the change logs' sizes (what pruning keeps bounded).
    let mut sizes = Vec::new();
    for (side, url) in [
        (Side::Operational, &config.operational.url),
        (Side::Accounting, &config.accounting.url),
    ] {
        let read = async {
            let store = SqlStore::open(url).await?;
            let head = store.head().await?;
            let size = crate::store::sql::capture::prune::log_size(store.pool()).await?;
            Ok::<_, StoreError>((head, size))
        };
        match tokio::time::timeout(std::time::Duration::from_secs(3), read).await {
            Ok(Ok((head, size))) => {
                heads.insert(side.name().to_string(), head);
                sizes.push(format!("{} {size} entries", side.name()));
            }
            _ => sizes.push(format!("{} -", side.name())),
        }
    }
    let mut out = format!(
        "{:<26} {:<13} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}  {}\n",
        "map", "state", "links", "applied", "skipped", "parked", "errors", "behind", "last applied"
    );
    let mut healthy = true;
    for m in &maps {
        let s = states.iter().find(|s| s.map == m.name);
        if let Some(s) = s
            && is_unhealthy(s)
        {
            healthy = false;
        }
        let e = |r: Result<u64, StoreError>| r.map_err(|e| e.to_string());
        let skipped: u64 = state
            .count_skipped_by_rule(&m.name)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .map(|(_, n)| n)
            .sum();
        // Change-log entries (of any entity) after the map's cursors, on both sides.
        let behind = match s {
            Some(s) if heads.len() == 2 && s.cursors.len() == 2 => s
                .cursors
                .iter()
                .map(|(side, c)| heads.get(side).map_or(0, |h| (h.seq - c.seq).max(0)))
                .sum::<i64>()
                .to_string(),
            _ => "-".to_string(),
        };
        out.push_str(&format!(
            "{:<26} {:<13} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}  {}\n",
            m.name,
            s.map(|s| s.state.as_str()).unwrap_or("stopped"),
            e(state.count_links(&m.name).await)?,
            s.map(|s| s.applied).unwrap_or(0),
            skipped,
            e(state.count_parked(&m.name).await)?,
            e(state.count_open_dead_letters(Some(&m.name)).await)?,
            behind,
            s.and_then(|s| s.last_applied_at)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "-".into()),
        ));
        if let Some(msg) = s.and_then(|s| s.message.as_deref()) {
            out.push_str(&format!("    {msg}\n"));
        }
    }
    let (live, detail) = instance::liveness(&state).await?;
    if live == Liveness::Stale {
        healthy = false;
    }
    // A blank line ends the map table for tools that read it.
    out.push_str(&format!("\ndaemon: {}; {detail}\n", live.as_str()));
    out.push_str(&format!("change logs: {}\n", sizes.join(", ")));
    Ok(StatusReport { text: out, healthy })
}

/// A map that needs a person: failed, or paused by the alert rule (not by an operator).
fn is_unhealthy(s: &MapStatus) -> bool {
    match s.state {
        MapState::Failed => true,
        MapState::Paused => s.message.as_deref().is_some_and(|m| m.starts_with(ALERT_PREFIX)),
        _ => false,
    }
}
