//! What dualsync does about each kind of failure, in one table: retry it with backoff, wait
//! for an operator (and look again now and then, so a fix is picked up without a restart), or
//! never retry it (the record goes to the dead-letter list). The live loop, the dead-letter
//! list and `status` all read it, so they agree. (After supabase/etl's `workers/policy.rs`.)

use std::time::Duration;

use crate::error::Kind;
use crate::store::ErrorKind;

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// It passes by itself (a lost connection, a busy database): retry with growing delays.
    Retry,
    /// A person must act (a missing column, a bad URL): look again every `OPERATOR_RECHECK`.
    WaitForOperator,
    /// Retrying the same thing cannot help (a record the store refuses): record it and go on.
    Never,
    /// The work is another replica's now (a lost lease): stop it here, record nothing.
    StepDown,
}

/// How often a direction that waits for an operator is tried again.
pub const OPERATOR_RECHECK: Duration = Duration::from_secs(30);

/// The policy of a store failure, and what the operator can do about it.
pub fn for_store(kind: ErrorKind) -> (Policy, &'static str) {
    match kind {
        ErrorKind::Transient => (
            Policy::Retry,
            "the store is unreachable or busy; dualsync retries by itself with growing delays",
        ),
        ErrorKind::NotFound => (
            Policy::WaitForOperator,
            "an entity or column the map names is missing in the store: restore it or fix the map \
             (`dualsync validate --operational URL --accounting URL`); the map resumes by itself",
        ),
        ErrorKind::Rejected => (
            Policy::Never,
            "the store refused the record: correct it at its source (or fix the map), then \
             `dualsync errors retry ID`",
        ),
        ErrorKind::Permanent => (
            Policy::WaitForOperator,
            "the request cannot succeed as it is: read the message, fix the store or the map; \
             the map is tried again every 30 s",
        ),
        ErrorKind::Fenced => (
            Policy::StepDown,
            "another replica took the unit of work over; this one stopped working on it",
        ),
    }
}

/// The policy of an application error (a store's kind decides for a store error).
pub fn for_error(kind: Kind) -> (Policy, &'static str) {
    match kind {
        Kind::Store(k) => for_store(k),
        Kind::Busy => (
            Policy::Retry,
            "another process holds what this one needs; it is tried again",
        ),
        Kind::Usage | Kind::Maps | Kind::NotFound | Kind::Failed => (
            Policy::WaitForOperator,
            "fix what the message names; nothing is retried until then",
        ),
    }
}

/// The delay before attempt `failures + 1` of a failing direction under `policy`: doubling
/// from `initial` up to `max` for `Retry`, `OPERATOR_RECHECK` otherwise.
pub fn delay(policy: Policy, failures: u32, initial: Duration, max: Duration) -> Duration {
    match policy {
        Policy::Retry => initial
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(20)))
            .min(max)
            .max(initial),
        Policy::WaitForOperator | Policy::Never | Policy::StepDown => OPERATOR_RECHECK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_store_kind_has_one_policy() {
        assert_eq!(for_store(ErrorKind::Transient).0, Policy::Retry);
        assert_eq!(for_store(ErrorKind::NotFound).0, Policy::WaitForOperator);
        assert_eq!(for_store(ErrorKind::Permanent).0, Policy::WaitForOperator);
        assert_eq!(for_store(ErrorKind::Rejected).0, Policy::Never);
        assert_eq!(for_store(ErrorKind::Fenced).0, Policy::StepDown);
        assert_eq!(for_error(Kind::Store(ErrorKind::Transient)).0, Policy::Retry);
    }

    #[test]
    fn retries_back_off_and_operator_waits_do_not_spin() {
        let (i, m) = (Duration::from_millis(100), Duration::from_secs(30));
        assert_eq!(delay(Policy::Retry, 1, i, m), Duration::from_millis(100));
        assert_eq!(delay(Policy::Retry, 4, i, m), Duration::from_millis(800));
        assert_eq!(delay(Policy::Retry, 40, i, m), m);
        assert_eq!(delay(Policy::WaitForOperator, 1, i, m), OPERATOR_RECHECK);
    }
}
