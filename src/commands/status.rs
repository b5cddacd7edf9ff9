//! `dualsync status`: what each map is doing and how far behind it is, read from the state
//! store and the change logs, and whether the daemon runs (its lock and heartbeat). The exit
//! status says whether a person is needed. It only reads: a state store that does not exist
//! yet is reported, not created, and invalid map files do not stop it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::output::Report;
use super::{MapFiles, open_state_existing};
use crate::config::Config;
use crate::daemon::instance::{self, Liveness};
use crate::engine::state::{MapState, MapStatus, StateStore};
use crate::error::{Context, Error, Result};
use crate::store::{self, Pending, Setup, Store, StoreError};
use crate::tablemap::model::Side;

/// How the alert rule's pause message starts (`engine::live::check_alert`).
const ALERT_PREFIX: &str = "alert:";

/// What `dualsync status` reports (and `GET /api/status` serves), and whether all is well.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusReport {
    /// False when a map failed or was paused by the alert rule, or the daemon is stale (the
    /// command's exit status is 1 then).
    pub healthy: bool,
    /// Every map of the map files (with invalid files, also those the state store knows).
    pub maps: Vec<MapReport>,
    pub map_files: MapFilesReport,
    pub daemon: DaemonReport,
    /// Entries in each side's change log; `null` when the store did not answer in 3 s.
    pub change_logs: ChangeLogs,
    /// The last scheduled reconcile (`[reconcile]`), if one ran.
    pub reconcile: Option<ReconcileRun>,
    /// The accounting setup check of the daemon's last start (with `[processes] enabled`).
    pub setup_check: Option<SetupCheckRun>,
    /// The replicas of a high-availability group and the units each holds (`[ha]`).
    pub group: Option<super::replicas::GroupReport>,
}

/// The setup check the daemon ran at its last start.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SetupCheckRun {
    /// succeeded (complete), partial (problems) or failed (could not check).
    pub status: String,
    pub checked_at: DateTime<Utc>,
    /// Each missing piece: legal entity, what, and the fix (or why the check failed).
    pub problems: Vec<String>,
}

impl SetupCheckRun {
    fn of(job: crate::engine::state::Job) -> SetupCheckRun {
        let problems = job
            .errors
            .as_ref()
            .and_then(|e| e.as_array())
            .map(|a| a.iter().filter_map(|p| p.as_str().map(String::from)).collect())
            .unwrap_or_default();
        SetupCheckRun {
            status: job.status.as_str().into(),
            checked_at: job.finished_at.unwrap_or(job.started_at),
            problems,
        }
    }

    fn text(&self) -> String {
        let at = self.checked_at.format("%Y-%m-%d %H:%M:%S UTC");
        let mut out = match (self.status.as_str(), self.problems.len()) {
            ("succeeded", _) => format!("setup check: complete (at start, {at})\n"),
            ("failed", _) => format!("setup check: could not run (at start, {at})\n"),
            (_, n) => format!(
                "setup check: {} (at start, {at}; `dualsync check` checks again)\n",
                super::output::plural(n as u64, "problem")
            ),
        };
        for p in &self.problems {
            out.push_str(&format!("  {p}\n"));
        }
        out
    }
}

/// The last run of the scheduled reconcile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReconcileRun {
    /// running, succeeded (in sync, or all of it repaired), partial (drift left) or failed.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Records out of sync found, and left after the repair (`null` until finished).
    pub found: Option<u64>,
    pub left: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
}

impl ReconcileRun {
    fn of(job: crate::engine::state::Job) -> ReconcileRun {
        let count = |k: &str| job.counts.as_ref().and_then(|c| c[k].as_u64());
        ReconcileRun {
            status: job.status.as_str().into(),
            started_at: job.started_at,
            finished_at: job.finished_at,
            found: count("found"),
            left: count("left"),
            error: job
                .errors
                .as_ref()
                .and_then(|e| e.get(0))
                .and_then(|e| e.as_str())
                .map(String::from),
        }
    }

    fn line(&self) -> String {
        let at = self
            .finished_at
            .unwrap_or(self.started_at)
            .format("%Y-%m-%d %H:%M:%S UTC");
        let what = match (self.status.as_str(), self.found, self.left) {
            ("running", ..) => "running".to_string(),
            (_, Some(0), _) => "in sync".to_string(),
            (_, Some(found), Some(0)) => format!("{found} records out of sync, all repaired"),
            (_, Some(found), Some(left)) => {
                format!("{found} records out of sync, {left} left (`dualsync reconcile` names them)")
            }
            _ => format!("{}: {}", self.status, self.error.as_deref().unwrap_or("no detail")),
        };
        format!("reconcile: {what} (last run {at})\n")
    }
}

/// One map: its state, counts and lag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MapReport {
    pub name: String,
    /// stopped, initial-sync, running, paused or failed.
    pub state: String,
    /// Why the map is in its state (the error of a failed map, the reason of a pause).
    pub message: Option<String>,
    /// Records linked between the two sides.
    pub links: u64,
    /// Records applied by live sync since the map first ran.
    pub applied: u64,
    /// Records kept out by skip rules.
    pub skipped: u64,
    /// Records waiting for their parent record.
    pub parked: u64,
    /// Open dead letters (records that failed permanently).
    pub errors: u64,
    /// Changes of the map's entities waiting after its cursors, both sides; `null` when a
    /// store did not answer or the map never ran live.
    pub behind: Option<u64>,
    /// Age in seconds of the oldest of those changes (`null` when none waits or unknown).
    pub oldest_change_age_seconds: Option<f64>,
    pub last_applied_at: Option<DateTime<Utc>>,
    /// Whether a person is needed: failed, or paused by the alert rule.
    pub needs_attention: bool,
}

/// Whether the map files load.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MapFilesReport {
    pub folder: String,
    pub valid: bool,
    /// How many problems `dualsync validate` reports (a running daemon keeps its maps).
    pub problems: usize,
}

/// The daemon as the state store knows it: its lock and heartbeat.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DaemonReport {
    /// running, stale or stopped.
    pub state: String,
    /// Host, pid, version and heartbeat, or why it is stale.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeLogs {
    pub operational: Option<u64>,
    pub accounting: Option<u64>,
}

impl Report for StatusReport {
    /// The status table: a line per map (and its message), a blank line, the daemon and the
    /// change logs.
    fn text(&self) -> String {
        let mut out = header();
        for m in &self.maps {
            out.push_str(&row(m));
            if let Some(msg) = &m.message {
                out.push_str(&format!("    {msg}\n"));
            }
        }
        if !self.map_files.valid {
            out.push_str(&MapFiles::note_for(self.map_files.problems, &self.map_files.folder));
        }
        // A blank line ends the map table for tools that read it.
        out.push_str(&format!("\ndaemon: {}; {}\n", self.daemon.state, self.daemon.detail));
        let size = |n: Option<u64>| n.map(|n| format!("{n} entries")).unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "change logs: operational {}, accounting {}\n",
            size(self.change_logs.operational),
            size(self.change_logs.accounting)
        ));
        if let Some(r) = &self.reconcile {
            out.push_str(&r.line());
        }
        if let Some(c) = &self.setup_check {
            out.push_str(&c.text());
        }
        if let Some(g) = &self.group {
            out.push_str(&g.text());
        }
        out
    }
}

/// One side's store as far as status can read it in a few seconds.
struct SideView {
    store: Option<Arc<dyn Store>>,
    size: Option<u64>,
}

/// The status of an installation, opening what it reads: per map its state, links, live
/// applies, parked records, open errors and how many changes of its entities wait; then the
/// daemon (running, stale or stopped, with host, pid, version and heartbeat) and the change
/// logs' sizes.
pub async fn status(config: &Config) -> Result<StatusReport> {
    let files = MapFiles::load(config);
    let Some(state) = open_state_existing(config).await? else {
        let maps = files
            .names()
            .into_iter()
            .map(|name| map_report(name, None, [0; 4], None))
            .collect();
        return Ok(StatusReport {
            healthy: true,
            maps,
            map_files: files.report(),
            daemon: DaemonReport {
                state: "stopped".into(),
                detail: format!(
                    "never started (no state store at {} yet)",
                    crate::store::sql::redact(&config.state.url)
                ),
            },
            change_logs: ChangeLogs {
                operational: None,
                accounting: None,
            },
            reconcile: None,
            setup_check: None,
            group: None,
        });
    };
    let mut sides = Vec::new();
    for side in [Side::Operational, Side::Accounting] {
        sides.push((side, side_view(config.store(side)).await));
    }
    let report = report(&files, &state, &sides).await;
    state.close().await;
    report
}

/// The status as the running daemon sees it, on its own state store and stores.
pub async fn status_of_daemon(
    config: &Config,
    state: &StateStore,
    operational: Arc<dyn Store>,
    accounting: Arc<dyn Store>,
) -> Result<StatusReport> {
    let files = MapFiles::load(config);
    let mut sides = Vec::new();
    for (side, store) in [(Side::Operational, operational), (Side::Accounting, accounting)] {
        let size = tokio::time::timeout(std::time::Duration::from_secs(3), store.change_log_size()).await;
        sides.push((
            side,
            SideView {
                store: Some(store),
                size: size.ok().and_then(|r| r.ok()).flatten(),
            },
        ));
    }
    report(&files, state, &sides).await
}

async fn report(files: &MapFiles, state: &StateStore, sides: &[(Side, SideView)]) -> Result<StatusReport> {
    let states = state.list_map_states().await.context("state store")?;
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
    let mut maps = Vec::new();
    for name in names {
        let s = states.iter().find(|s| s.map == name);
        let lag = match s {
            Some(s) => behind(files, &name, s, sides).await,
            None => None,
        };
        let counts = counts(state, &name).await.context("state store")?;
        let m = map_report(name, s, counts, lag);
        healthy &= !m.needs_attention;
        maps.push(m);
    }
    let (mut live, mut detail) = instance::liveness(state).await.map_err(Error::failed)?;
    let group = super::replicas::group(state).await.context("state store")?;
    // Replicas of a group hold no daemon lock: the group is running while one of them lives.
    if let Some(g) = &group
        && live != Liveness::Running
        && g.alive() > 0
    {
        live = Liveness::Running;
        detail = format!("{} replicas of a high-availability group ({})", g.alive(), g.mode);
    }
    if live == Liveness::Stale {
        healthy = false;
    }
    let size = |side: Side| sides.iter().find(|(s, _)| *s == side).and_then(|(_, v)| v.size);
    Ok(StatusReport {
        healthy,
        maps,
        map_files: files.report(),
        daemon: DaemonReport {
            state: live.as_str().into(),
            detail,
        },
        change_logs: ChangeLogs {
            operational: size(Side::Operational),
            accounting: size(Side::Accounting),
        },
        reconcile: state
            .last_job(crate::daemon::reconcile::JOB)
            .await
            .context("state store")?
            .map(ReconcileRun::of),
        setup_check: state
            .last_job(crate::accounting::check::JOB)
            .await
            .context("state store")?
            .map(SetupCheckRun::of),
        group,
    })
}

/// `counts` are links, skipped, parked and open errors; `lag` the waiting changes' count and
/// the oldest one's age.
fn map_report(name: String, s: Option<&MapStatus>, counts: [u64; 4], lag: Option<Pending>) -> MapReport {
    let [links, skipped, parked, errors] = counts;
    MapReport {
        name,
        state: s.map(|s| s.state.as_str()).unwrap_or("stopped").into(),
        message: s.and_then(|s| s.message.clone()),
        links,
        applied: s.map(|s| s.applied).unwrap_or(0),
        skipped,
        parked,
        errors,
        behind: lag.as_ref().map(|p| p.count),
        oldest_change_age_seconds: lag.and_then(|p| p.oldest_age).map(|a| a.as_secs_f64()),
        last_applied_at: s.and_then(|s| s.last_applied_at),
        needs_attention: s.is_some_and(is_unhealthy),
    }
}

fn header() -> String {
    format!(
        "{:<26} {:<13} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}  {}\n",
        "map", "state", "links", "applied", "skipped", "parked", "errors", "behind", "last applied"
    )
}

/// One map's line.
fn row(m: &MapReport) -> String {
    format!(
        "{:<26} {:<13} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}  {}\n",
        m.name,
        m.state,
        m.links,
        m.applied,
        m.skipped,
        m.parked,
        m.errors,
        m.behind.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
        m.last_applied_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into()),
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

/// The changes of the map's own entities waiting after its cursors, on both sides, and the
/// oldest one's age (`None` when a store does not answer or the map's entities are unknown).
async fn behind(files: &MapFiles, name: &str, s: &MapStatus, sides: &[(Side, SideView)]) -> Option<Pending> {
    let map = files.map(name)?;
    if s.cursors.is_empty() {
        return None;
    }
    let mut total = Pending {
        count: 0,
        oldest_age: None,
    };
    for (side, entity) in [
        (Side::Operational, &map.operational.entity),
        (Side::Accounting, &map.accounting.entity),
    ] {
        let store = sides
            .iter()
            .find(|(s, _)| *s == side)
            .and_then(|(_, v)| v.store.as_ref())?;
        let after = s.cursors.get(side.name())?;
        let read = store.pending_changes(entity, after);
        match tokio::time::timeout(std::time::Duration::from_secs(3), read).await {
            Ok(Ok(Some(pending))) => {
                total.count += pending.count;
                total.oldest_age = total.oldest_age.max(pending.oldest_age);
            }
            _ => return None,
        }
    }
    Some(total)
}

/// A map that needs a person: failed, or paused by the alert rule (not by an operator).
fn is_unhealthy(s: &MapStatus) -> bool {
    match s.state {
        MapState::Failed => true,
        MapState::Paused => s.message.as_deref().is_some_and(|m| m.starts_with(ALERT_PREFIX)),
        _ => false,
    }
}
