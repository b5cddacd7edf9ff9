//! The engine's measurements, recorded through the `metrics` facade: a no-op until the daemon's
//! admin listener installs its Prometheus recorder (`admin::metrics`). Per map and direction:
//! the records of each outcome, and how long each live batch took; per store operation: how
//! long each call took and its errors by kind. Labels are map names,
//! directions and outcomes, never a record key, so their number stays small.

use std::time::Duration;

use super::state::SyncCounts;
use crate::store::{ErrorKind, StoreError};
use crate::tablemap::model::Side;

/// Records handled, by `map`, `direction` and `outcome`.
pub const RECORDS: &str = "dualsync_records_total";
/// Seconds from reading a live batch to committing it, by `map` and `direction`.
pub const LIVE_BATCH_SECONDS: &str = "dualsync_live_batch_duration_seconds";

/// Seconds each store call the engine makes through `retry` took, by `operation`.
pub const STORE_CALL_SECONDS: &str = "dualsync_store_call_duration_seconds";
/// Store calls that failed, by `operation` and `kind` (transient ones are retried).
pub const STORE_ERRORS: &str = "dualsync_store_errors_total";

/// The direction label of records read from `from`.
pub fn direction(from: Side) -> &'static str {
    match from {
        Side::Operational => "to_accounting",
        Side::Accounting => "to_operational",
    }
}

/// Counts the records of one committed batch, by outcome.
pub fn records(map: &str, from: Side, counts: &SyncCounts) {
    let dir = direction(from);
    for (outcome, n) in [
        ("written", counts.written),
        ("unchanged", counts.unchanged),
        ("skipped", counts.skipped),
        ("parked", counts.parked),
        ("failed", counts.failed),
    ] {
        if n > 0 {
            metrics::counter!(RECORDS, "map" => map.to_string(), "direction" => dir, "outcome" => outcome).increment(n);
        }
    }
}

/// Records how long one live batch took, from its read to its commit.
pub fn live_batch(map: &str, from: Side, took: Duration) {
    metrics::histogram!(LIVE_BATCH_SECONDS, "map" => map.to_string(), "direction" => direction(from))
        .record(took.as_secs_f64());
}

/// Records one attempt of a store call: its time, and its error's kind when it failed.
pub fn store_call(operation: &str, took: Duration, error: Option<&StoreError>) {
    metrics::histogram!(STORE_CALL_SECONDS, "operation" => operation.to_string()).record(took.as_secs_f64());
    if let Some(e) = error {
        let kind = match e.kind {
            ErrorKind::Transient => "transient",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Rejected => "rejected",
            ErrorKind::Permanent => "permanent",
            ErrorKind::Fenced => "fenced",
        };
        metrics::counter!(STORE_ERRORS, "operation" => operation.to_string(), "kind" => kind).increment(1);
    }
}

/// Lease changes of this replica, by `unit` and `change` (acquired, lost, released).
pub const LEASE_CHANGES: &str = "dualsync_lease_changes_total";
/// Units this replica took over from another replica whose lease ran out, by `unit`.
pub const FAILOVERS: &str = "dualsync_failovers_total";
/// Commits refused by the fencing token, by `unit`.
pub const FENCED: &str = "dualsync_fenced_commits_total";
/// Units of work this replica holds now.
pub const UNITS_HELD: &str = "dualsync_units_held";

/// Records a lease this replica took, lost or gave back.
pub fn lease_change(unit: &str, change: &'static str) {
    metrics::counter!(LEASE_CHANGES, "unit" => unit.to_string(), "change" => change).increment(1);
}

/// Records a takeover of a unit another replica held.
pub fn failover(unit: &str) {
    metrics::counter!(FAILOVERS, "unit" => unit.to_string()).increment(1);
}

/// Records a commit the fencing token refused.
pub fn fenced(unit: &str) {
    metrics::counter!(FENCED, "unit" => unit.to_string()).increment(1);
}

/// Records how many units this replica holds.
pub fn units_held(n: usize) {
    metrics::gauge!(UNITS_HELD).set(n as f64);
}
