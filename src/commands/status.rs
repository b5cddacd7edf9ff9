//! `dualsync status`: what each map is doing and how far behind it is, read from the state
//! store and the change logs, and whether the daemon runs (its lock and heartbeat). The exit
//! status says whether a person is needed. It only reads: a state store that does not exist
//! yet is reported, not created, and invalid map files do not stop it.

use super::{MapFiles, open_state_existing};
use crate::config::Config;
use crate::daemon::instance::{self, Liveness};
use crate::engine::state::{MapState, MapStatus, StateStore};
use crate::error::{Context, Error, Result};
use crate::store::{self, Setup, Store, StoreError};
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

/// One side's store as far as status can read it in a few seconds.
struct SideView {
    store: Option<std::sync::Arc<dyn Store>>,
    size: Option<u64>,
}

/// The status table: per map its state, links, live applies, parked records, open errors and
/// how many changes of its entities wait; then the daemon (running, stale or stopped, with
/// host, pid, version and heartbeat) and the change logs' sizes.
pub async fn status(config: &Config) -> Result<StatusReport> {
    let files = MapFiles::load(config);
    let Some(state) = open_state_existing(config).await? else {
        let mut out = header();
        for name in &files.names() {
            out.push_str(&row(name, None, [0, 0, 0, 0], "-"));
        }
        out.push_str(&files.note());
        out.push_str(&format!(
            "\ndaemon: stopped; never started (no state store at {} yet)\n",
            crate::store::sql::redact(&config.state.url)
        ));
        return Ok(StatusReport {
            text: out,
            healthy: true,
        });
    };
    let states = state.list_map_states().await.context("state store")?;
    let mut sides = Vec::new();
    for side in [Side::Operational, Side::Accounting] {
        sides.push((side, side_view(config.store(side)).await));
    }
    let mut out = header();
    let mut healthy = true;
    // The maps of the files; with invalid files, also the maps the state store knows.
    let mut names: Vec<String> = files.names();
    if !files.valid {
        for s in &states {
            if !names.contains(&s.map) {
                names.push(s.map.clone());
            }
        }
        names.sort();
    }
    for name in &names {
        let s = states.iter().find(|s| &s.map == name);
        if s.is_some_and(is_unhealthy) {
            healthy = false;
        }
        let behind = match s {
            Some(s) => behind(&files, name, s, &sides).await,
            None => "-".to_string(),
        };
        let counts = counts(&state, name).await.context("state store")?;
        out.push_str(&row(name, s, counts, &behind));
        if let Some(msg) = s.and_then(|s| s.message.as_deref()) {
            out.push_str(&format!("    {msg}\n"));
        }
    }
    out.push_str(&files.note());
    let (live, detail) = instance::liveness(&state).await.map_err(Error::failed)?;
    if live == Liveness::Stale {
        healthy = false;
    }
    // A blank line ends the map table for tools that read it.
    out.push_str(&format!("\ndaemon: {}; {detail}\n", live.as_str()));
    let sizes: Vec<String> = sides
        .iter()
        .map(|(side, v)| match v.size {
            Some(n) => format!("{} {n} entries", side.name()),
            None => format!("{} -", side.name()),
        })
        .collect();
    out.push_str(&format!("change logs: {}\n", sizes.join(", ")));
    state.close().await;
    Ok(StatusReport { text: out, healthy })
}

fn header() -> String {
    format!(
        "{:<26} {:<13} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}  {}\n",
        "map", "state", "links", "applied", "skipped", "parked", "errors", "behind", "last applied"
    )
}

/// One map's line: `counts` are links, skipped, parked and open errors.
fn row(name: &str, s: Option<&MapStatus>, counts: [u64; 4], behind: &str) -> String {
    let [links, skipped, parked, errors] = counts;
    format!(
        "{:<26} {:<13} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}  {}\n",
        name,
        s.map(|s| s.state.as_str()).unwrap_or("stopped"),
        links,
        s.map(|s| s.applied).unwrap_or(0),
        skipped,
        parked,
        errors,
        behind,
        s.and_then(|s| s.last_applied_at)
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "-".into()),
    )
}

async fn counts(state: &StateStore, map: &str) -> std::result::Result<[u64; 4], StoreError> {
    let skipped: u64 = state.count_skipped_by_rule(map).await?.iter().map(|(_, n)| n).sum();
    Ok([
        state.count_links(map).await?,
        skipped,
        state.count_parked(map).await?,
        state.count_open_dead_letters(Some(map)).await?,
    ])
}

/// Opens a side's store (without creating it) and reads its change log's size, within 3 s.
async fn side_view(config: &crate::config::StoreConfig) -> SideView {
    let read = async {
        let store = store::open(config, Setup::Existing).await?;
        let size = store.change_log_size().await?;
        Ok::<_, StoreError>((store, size))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), read).await {
        Ok(Ok((store, size))) => SideView {
            store: Some(store),
            size,
        },
        _ => SideView {
            store: None,
            size: None,
        },
    }
}

/// The changes of the map's own entities waiting after its cursors, on both sides ("-" when
/// a store does not answer or the map's entities are unknown).
async fn behind(files: &MapFiles, name: &str, s: &MapStatus, sides: &[(Side, SideView)]) -> String {
    let Some(map) = files.map(name) else {
        return "-".into();
    };
    if s.cursors.is_empty() {
        return "-".into();
    }
    let mut total = 0;
    for (side, entity) in [
        (Side::Operational, &map.operational.entity),
        (Side::Accounting, &map.accounting.entity),
    ] {
        let Some(store) = sides
            .iter()
            .find(|(s, _)| *s == side)
            .and_then(|(_, v)| v.store.as_ref())
        else {
            return "-".into();
        };
        let Some(after) = s.cursors.get(side.name()) else {
            return "-".into();
        };
        let read = store.pending_changes(entity, after);
        match tokio::time::timeout(std::time::Duration::from_secs(3), read).await {
            Ok(Ok(Some(pending))) => total += pending.count,
            _ => return "-".into(),
        }
    }
    total.to_string()
}

/// A map that needs a person: failed, or paused by the alert rule (not by an operator).
fn is_unhealthy(s: &MapStatus) -> bool {
    match s.state {
        MapState::Failed => true,
        MapState::Paused => s.message.as_deref().is_some_and(|m| m.starts_with(ALERT_PREFIX)),
        _ => false,
    }
}
