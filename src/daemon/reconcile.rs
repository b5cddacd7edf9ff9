//! Reconcile on a schedule inside the daemon (`[reconcile] every_seconds`, off by default):
//! every so many seconds, once every map runs live, each map is reconciled as
//! `dualsync reconcile` does it (suspects checked again after the daemon has had time to sync
//! them), and repaired when `repair` is set. Each run is a run of the job `reconcile` in the
//! job log (what `status` shows); the drift left after it is the gauge `DRIFT`, by map,
//! direction and kind. A run that fails is logged and tried again at the next interval. In a
//! high-availability group each replica reconciles the maps it holds.

use std::time::Duration;

use tokio::sync::watch;

use crate::accounting::schedule::{PROCESS_RUNS, PROCESS_SECONDS};
use crate::config::Config;
use crate::engine::reconcile::{Drift, ReconcileOptions};
use crate::engine::state::{JobStatus, MapState, StateStore};

/// The job-log name of a scheduled reconcile.
pub const JOB: &str = "reconcile";
/// Records out of sync after the last scheduled reconcile (found and not repaired), by `map`,
/// `from` (the side read) and `kind` (missing, differing, unexpected, stale_links).
pub const DRIFT: &str = "dualsync_drift_records";

/// Runs the scheduled reconcile until `stop` turns true.
pub async fn run(config: Config, state: StateStore, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(config.reconcile.every_seconds);
    tracing::info!(
        every_seconds = config.reconcile.every_seconds,
        repair = config.reconcile.repair,
        "reconcile scheduled"
    );
    // In a high-availability group another replica's run may be in progress.
    if state.fence().is_none()
        && let Err(e) = state.abort_running_jobs(&[JOB]).await
    {
        tracing::warn!(error = %e, "closing aborted reconcile runs failed");
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        // Not while a map is in its initial sync: its records are not all there yet.
        match state.list_map_states().await {
            Ok(maps) if maps.iter().any(|m| m.state == MapState::InitialSync) => {
                tracing::info!("reconcile skipped this round: a map is in its initial sync");
                metrics::counter!(PROCESS_RUNS, "process" => JOB, "outcome" => "skipped").increment(1);
                continue;
            }
            _ => {}
        }
        let started = std::time::Instant::now();
        let outcome = tokio::select! {
            r = once(&config, &state) => r,
            _ = stop.changed() => return,
        };
        metrics::histogram!(PROCESS_SECONDS, "process" => JOB).record(started.elapsed().as_secs_f64());
        let label = match outcome {
            Ok(0) => "succeeded",
            Ok(_) => "partial",
            Err(e) => {
                tracing::error!(error = %e, "scheduled reconcile failed; tried again at the next interval");
                "failed"
            }
        };
        metrics::counter!(PROCESS_RUNS, "process" => JOB, "outcome" => label).increment(1);
    }
}

/// One scheduled reconcile of every map, recorded in the job log; the drift left.
async fn once(config: &Config, state: &StateStore) -> crate::error::Result<u64> {
    let id = state.start_job(JOB).await?;
    let result = reconcile(config, state).await;
    let (status, counts, errors) = match &result {
        Ok(drifts) => {
            let found: u64 = drifts.iter().map(Drift::found).sum();
            let left: u64 = match config.reconcile.repair {
                true => drifts.iter().map(Drift::unrepaired).sum(),
                false => found,
            };
            for d in drifts {
                let kinds = [
                    ("missing", Some(&d.missing)),
                    ("differing", Some(&d.differing)),
                    ("unexpected", d.unexpected.as_ref()),
                    ("stale_links", Some(&d.stale_links)),
                ];
                for (kind, k) in kinds {
                    let n = k.map_or(0, |k| match config.reconcile.repair {
                        true => k.count - k.repaired,
                        false => k.count,
                    });
                    metrics::gauge!(DRIFT, "map" => d.map.clone(), "from" => d.from.clone(), "kind" => kind)
                        .set(n as f64);
                }
            }
            tracing::info!(
                found,
                left,
                repair = config.reconcile.repair,
                "scheduled reconcile done"
            );
            let status = if left == 0 {
                JobStatus::Succeeded
            } else {
                JobStatus::Partial
            };
            let counts = serde_json::json!({
                "read": drifts.iter().map(|d| d.read).sum::<u64>(),
                "found": found,
                "repaired": found - left.min(found),
                "left": left,
            });
            (status, counts, serde_json::json!([]))
        }
        Err(e) => (
            JobStatus::Failed,
            serde_json::json!({}),
            serde_json::json!([e.to_string()]),
        ),
    };
    state.finish_job(id, &counts, &errors, status).await?;
    let drifts = result?;
    Ok(match config.reconcile.repair {
        true => drifts.iter().map(Drift::unrepaired).sum(),
        false => drifts.iter().map(Drift::found).sum(),
    })
}

/// Every map of the map folder reconciled over connections of its own.
/// In a high-availability group, only the maps this replica holds (their repairs are fenced).
async fn reconcile(config: &Config, state: &StateStore) -> crate::error::Result<Vec<Drift>> {
    let maps = super::load_maps(config)?;
    let mut names = Vec::new();
    if state.fence().is_some() {
        names = maps
            .iter()
            .map(|m| m.map().name.clone())
            .filter(|n| state.owns_map(n))
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
    }
    let engine = super::admin_engine(config, &maps, state.clone()).await?;
    let poll = config.operational.http.poll().max(config.accounting.http.poll());
    let options = ReconcileOptions {
        repair: config.reconcile.repair,
        recheck_after: Duration::from_secs(2) + poll,
    };
    Ok(engine.reconcile_maps(&names, &options).await?)
}
