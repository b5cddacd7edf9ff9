//! The accounting processes on a schedule inside the daemon (`[processes]` in the
//! configuration): each process runs every so many seconds until the daemon stops. A failed
//! run is logged (and recorded in the job log) and tried again at the next interval. Each
//! run is counted, by outcome, and timed (`PROCESS_RUNS`, `PROCESS_SECONDS`). In a
//! high-availability group each process runs on the replica holding its unit, once per period.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::db::Db;
use super::post::{self, Journals};
use super::recover::{self, NotStarted};
use crate::config::ProcessesConfig;
use crate::engine::state::StateStore;

/// Scheduled runs, by `process` and `outcome` (succeeded, failed, skipped: running elsewhere).
pub const PROCESS_RUNS: &str = "dualsync_process_runs_total";
/// How long each scheduled run took, by `process`.
pub const PROCESS_SECONDS: &str = "dualsync_process_duration_seconds";

fn count(process: &'static str, outcome: &'static str) {
    metrics::counter!(PROCESS_RUNS, "process" => process, "outcome" => outcome).increment(1);
}

/// Whether this replica runs `process` now. A single daemon always does (its own interval
/// decides). In a high-availability group, only the replica holding the process's unit, and
/// only once per period across the group: the run is claimed in the state store, fenced.
pub async fn claimed(state: &StateStore, process: &str, every: Duration) -> bool {
    let Some(fence) = state.fence() else { return true };
    if !fence.owns(&fence.process_unit(process)) {
        return false;
    }
    match state.claim_run(process, every).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(process, error = %e, "claiming the scheduled run failed; it is tried again");
            false
        }
    }
}

/// Scheduled posting: every open journal, then every unposted invoice proposal (whose lines
/// may have become ready with those journals). Two job-log runs, each logged.
async fn post_all(db: &Db) -> crate::store::Result<super::joblog::JobSummary> {
    let journals = post::post(db, &Journals::All { company: None }).await?;
    tracing::info!(process = "post", "{journals}");
    super::invoice::post::post(db, &super::invoice::post::Proposals::All { company: None }).await
}

/// Runs the scheduled processes until `stop` turns true. Each run holds its process's lock in
/// the state store; a round whose process runs elsewhere (by hand) is skipped. `operational` is
/// the operational store when it is a database (approval runs there; it needs no lock: each
/// document is claimed in its own transaction).
pub async fn run(
    db: Db,
    operational: Option<Db>,
    state: StateStore,
    config: ProcessesConfig,
    mut stop: watch::Receiver<bool>,
) {
    let every = |s: u64| (s > 0).then(|| Duration::from_secs(s));
    // One run at a time, in this order: the documents (posted, then approved into actuals),
    // forecasts, import, posting.
    let mut jobs: Vec<(&'static str, recover::Process, Option<Duration>, Option<Instant>)> = vec![
        // Posting documents is posting (job `Post`): it takes the posting lock.
        ("documents", recover::POST, every(config.documents_seconds), None),
        ("forecasts", recover::FORECASTS, every(config.forecasts_seconds), None),
        ("import", recover::IMPORT, every(config.import_seconds), None),
        ("post", recover::POST, every(config.post_seconds), None),
    ];
    let mut approve = (operational, every(config.approve_seconds), None::<Instant>);
    tracing::info!(
        documents_seconds = config.documents_seconds,
        approve_seconds = config.approve_seconds,
        forecasts_seconds = config.forecasts_seconds,
        import_seconds = config.import_seconds,
        post_seconds = config.post_seconds,
        "accounting processes scheduled"
    );
    while !*stop.borrow() {
        if let (Some(op), Some(interval), last) = (&approve.0, approve.1, &mut approve.2)
            && last.is_none_or(|t| t.elapsed() >= interval)
            && claimed(&state, "approve", interval).await
        {
            *last = Some(Instant::now());
            let started = Instant::now();
            let result = crate::operational::approve::approve(op, None).await;
            metrics::histogram!(PROCESS_SECONDS, "process" => "approve").record(started.elapsed().as_secs_f64());
            count("approve", if result.is_ok() { "succeeded" } else { "failed" });
            match result {
                Ok(approved) => tracing::info!(process = "approve", "{approved}"),
                Err(e) => {
                    tracing::error!(process = "approve", error = %e, "approval failed; retried at the next interval")
                }
            }
        }
        for (name, process, interval, last) in jobs.iter_mut() {
            let Some(interval) = *interval else { continue };
            if last.is_some_and(|t| t.elapsed() < interval) || !claimed(&state, name, interval).await {
                continue;
            }
            *last = Some(Instant::now());
            let _lock = match recover::begin(&state, &db, *process).await {
                Ok(lock) => lock,
                Err(NotStarted::Busy(why)) => {
                    count(name, "skipped");
                    tracing::info!(process = *name, "skipped this round: {why}");
                    continue;
                }
                Err(NotStarted::Failed(e)) => {
                    count(name, "failed");
                    tracing::error!(process = *name, error = %e, "accounting process failed; retried at the next interval");
                    continue;
                }
            };
            let started = Instant::now();
            let result = match *name {
                "forecasts" => super::forecasts::run(&db, None).await,
                "import" => super::import::import(&db, None).await,
                "documents" => super::payables::post(&db, None).await,
                _ => post_all(&db).await,
            };
            metrics::histogram!(PROCESS_SECONDS, "process" => *name).record(started.elapsed().as_secs_f64());
            count(name, if result.is_ok() { "succeeded" } else { "failed" });
            match result {
                Ok(summary) => tracing::info!(process = *name, "{summary}"),
                Err(e) => {
                    tracing::error!(process = *name, error = %e, "accounting process failed; retried at the next interval")
                }
            }
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
