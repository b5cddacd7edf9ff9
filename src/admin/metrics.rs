//! `/metrics`: the Prometheus text exposition. The engine counts records and times live
//! batches as it works (`engine::metrics`); at each scrape this module adds what the state
//! store and the change logs know: each map's state, links, live applies, records skipped by
//! rule, parked records, open dead letters, and the changes waiting behind its cursors. Names
//! follow Prometheus conventions (base units, `_total` counters); labels are map names, rules,
//! directions and states, never a record key.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::{Admin, Sources};
use crate::accounting::schedule::{PROCESS_RUNS, PROCESS_SECONDS};
use crate::engine::metrics::{LIVE_BATCH_SECONDS, RECORDS, STORE_CALL_SECONDS, STORE_ERRORS, direction};
use crate::engine::state::MapStatus;
use crate::store::http::client::{HTTP_REQUESTS, HTTP_WAIT_SECONDS};
use crate::tablemap::model::Side;

const MAP_STATE: &str = "dualsync_map_state";
const LINKS: &str = "dualsync_links";
const LIVE_APPLIED: &str = "dualsync_live_applied_records_total";
const SKIPPED: &str = "dualsync_skipped_records";
const PARKED: &str = "dualsync_parked_records";
const DEAD_LETTERS: &str = "dualsync_dead_letters";
const BACKLOG: &str = "dualsync_change_backlog";
const OLDEST_AGE: &str = "dualsync_oldest_unsynced_change_age_seconds";
const STATE_STORE_UP: &str = "dualsync_state_store_up";
const BUILD_INFO: &str = "dualsync_build_info";

/// The map states, as `dualsync_map_state`'s `state` label takes them.
const STATES: [&str; 5] = ["stopped", "initial-sync", "running", "paused", "failed"];

/// How long the state store and each change log may take to answer a scrape.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Live batch latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Installs the process's Prometheus recorder (once; later calls return the same handle) and
/// describes the metrics.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .expect("non-empty buckets")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was installed already; /metrics shows only its own");
            }
            describe();
            let upkeep = handle.clone();
            // Histograms are drained into their buckets by the upkeep.
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    upkeep.run_upkeep();
                }
            });
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(
        RECORDS,
        Unit::Count,
        "Records handled by initial and live sync, by map, direction and outcome (written, unchanged, skipped, parked, failed)."
    );
    describe_histogram!(
        LIVE_BATCH_SECONDS,
        Unit::Seconds,
        "Time from reading a live batch of changes to committing it, by map and direction."
    );
    describe_gauge!(
        MAP_STATE,
        "1 for the state each map is in (stopped, initial-sync, running, paused, failed), 0 for the others."
    );
    describe_gauge!(LINKS, Unit::Count, "Records linked between the two stores, by map.");
    describe_counter!(
        LIVE_APPLIED,
        Unit::Count,
        "Records written by live sync since the state store was created, by map."
    );
    describe_gauge!(
        SKIPPED,
        Unit::Count,
        "Records kept out by a skip-sync rule, by map and rule."
    );
    describe_gauge!(PARKED, Unit::Count, "Records waiting for a parent record, by map.");
    describe_gauge!(
        DEAD_LETTERS,
        Unit::Count,
        "Open record errors (dead letters) that need a person, by map."
    );
    describe_gauge!(
        BACKLOG,
        Unit::Count,
        "Changes of the map's entity waiting after its cursor, by map and direction (absent when the store cannot tell)."
    );
    describe_gauge!(
        OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest change of the map's entity waiting after its cursor, by map and direction (0 when none waits)."
    );
    describe_gauge!(
        STATE_STORE_UP,
        "1 when the state store answered the last scrape within 5 s, else 0."
    );
    describe_gauge!(BUILD_INFO, "1, labelled with the dualsync version.");
    describe_histogram!(
        STORE_CALL_SECONDS,
        Unit::Seconds,
        "Time of each store call the engine makes (with retries), by operation."
    );
    describe_counter!(
        STORE_ERRORS,
        Unit::Count,
        "Store calls that failed, by operation and kind (transient ones are retried with backoff)."
    );
    describe_counter!(
        HTTP_REQUESTS,
        Unit::Count,
        "Requests to an HTTP store (Dataverse, finance and operations), by service and status; 429 is throttling."
    );
    describe_histogram!(
        HTTP_WAIT_SECONDS,
        Unit::Seconds,
        "Time requests to an HTTP store were held back by the rate limit, a Retry-After or a backoff."
    );
    describe_counter!(
        PROCESS_RUNS,
        Unit::Count,
        "Scheduled runs of the accounting processes (forecasts, import, post), by outcome: succeeded, failed, skipped (running elsewhere)."
    );
    describe_histogram!(
        PROCESS_SECONDS,
        Unit::Seconds,
        "How long each scheduled run of an accounting process took."
    );
}

/// `GET /metrics`.
pub async fn scrape(State(admin): State<Arc<Admin>>) -> impl IntoResponse {
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    if let Some(sources) = admin.sources() {
        let up = tokio::time::timeout(READ_TIMEOUT, refresh(&sources)).await;
        let up = matches!(up, Ok(Ok(())));
        gauge!(STATE_STORE_UP).set(if up { 1.0 } else { 0.0 });
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        admin.prometheus.render(),
    )
}

/// Sets the gauges read from the state store and the change logs.
async fn refresh(sources: &Sources) -> Result<(), crate::store::StoreError> {
    let state = &sources.state;
    let statuses = state.list_map_states().await?;
    for (name, operational, accounting) in &sources.maps {
        let status = statuses.iter().find(|s| &s.map == name);
        let current = status.map(|s| s.state.as_str()).unwrap_or("stopped");
        for s in STATES {
            gauge!(MAP_STATE, "map" => name.clone(), "state" => s).set(if s == current { 1.0 } else { 0.0 });
        }
        gauge!(LINKS, "map" => name.clone()).set(state.count_links(name).await? as f64);
        counter!(LIVE_APPLIED, "map" => name.clone()).absolute(status.map(|s| s.applied).unwrap_or(0));
        for (rule, n) in state.count_skipped_by_rule(name).await? {
            gauge!(SKIPPED, "map" => name.clone(), "rule" => rule).set(n as f64);
        }
        gauge!(PARKED, "map" => name.clone()).set(state.count_parked(name).await? as f64);
        gauge!(DEAD_LETTERS, "map" => name.clone()).set(state.count_open_dead_letters(Some(name)).await? as f64);
        if let Some(status) = status {
            for (side, entity) in [(Side::Operational, operational), (Side::Accounting, accounting)] {
                backlog(sources, status, side, entity).await;
            }
        }
    }
    Ok(())
}

/// Sets a map's backlog in one direction, when the store can count it.
async fn backlog(sources: &Sources, status: &MapStatus, side: Side, entity: &str) {
    let Some(after) = status.cursors.get(side.name()) else {
        return;
    };
    let store = match side {
        Side::Operational => &sources.operational,
        Side::Accounting => &sources.accounting,
    };
    if let Ok(Ok(Some(pending))) = tokio::time::timeout(READ_TIMEOUT, store.pending_changes(entity, after)).await {
        let labels = [("map", status.map.clone()), ("direction", direction(side).to_string())];
        gauge!(BACKLOG, &labels).set(pending.count as f64);
        let age = pending.oldest_age.map_or(0.0, |a| a.as_secs_f64());
        gauge!(OLDEST_AGE, &labels).set(age);
    }
}
