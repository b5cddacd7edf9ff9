//! One run of each accounting process at a time, and the runs a killed process left behind.
//!
//! Every run of import, posting or forecasts — the daemon's scheduled ones and the `dualsync
//! journal ...` commands — first takes that process's lock in the state store (see
//! `engine::state::ProcessLock`: a lock the OS drops when the holder dies). A manual run while
//! another run holds it is refused, naming the holder; the daemon's schedule skips that round.
//! Holding the lock, nobody else can be running the process, so a job-log row of it still
//! `Running` (in `ProjCDSJobLog`) was left by a killed process: it is closed as aborted.

use super::db::{Db, now, text};
use crate::engine::state::{ProcessLock, StateStore};
use crate::store::Result;

/// An accounting process: its lock in the state store and its job name in `ProjCDSJobLog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process {
    /// The lock's name (`instances.name`).
    pub lock: &'static str,
    /// The `JobName` of its runs in `ProjCDSJobLog`.
    pub job: &'static str,
    /// The command that runs it by hand, for messages.
    pub command: &'static str,
    /// The `[processes]` key that schedules it in the daemon, for messages.
    pub schedule_key: &'static str,
}

pub const IMPORT: Process = Process {
    lock: "journal-import",
    job: "ImportFromStaging",
    command: "dualsync journal import",
    schedule_key: "import_seconds",
};
pub const POST: Process = Process {
    lock: "journal-post",
    job: "Post",
    command: "dualsync journal post",
    schedule_key: "post_seconds",
};
pub const FORECASTS: Process = Process {
    lock: "journal-forecasts",
    job: "Forecasts",
    command: "dualsync journal forecasts",
    schedule_key: "forecasts_seconds",
};

/// Closes the runs of `process` still marked `Running` as failed with an "aborted" message.
/// Only to be called while holding the process's lock. Returns how many were closed.
pub async fn close_aborted(db: &Db, process: Process) -> Result<u64> {
    let message = format!(
        "aborted: the process running this job stopped before it finished (killed or crashed); \
         its work is done again by the next run of `{}`",
        process.command
    );
    let n = db
        .execute(
            "UPDATE \"ProjCDSJobLog\" SET \"Status\" = 'Failed', \"FinishedDateTime\" = ?, \"Message\" = ? \
             WHERE \"JobName\" = ? AND \"Status\" = 'Running'",
            &[now(), text(&message), text(process.job)],
        )
        .await?;
    if n > 0 {
        tracing::warn!(
            job = process.job,
            runs = n,
            "closed job-log runs left running by a killed process"
        );
    }
    Ok(n)
}

/// Why a run did not start.
#[derive(Debug)]
pub enum NotStarted {
    /// Another process runs it now; the message names it and says what to do.
    Busy(String),
    /// The state store or the accounting store failed.
    Failed(String),
}

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotStarted::Busy(m) | NotStarted::Failed(m) => f.write_str(m),
        }
    }
}

/// Takes the lock of `process` and closes the runs a killed process left; the lock is held
/// until the returned value is dropped.
pub async fn begin(state: &StateStore, db: &Db, process: Process) -> std::result::Result<ProcessLock, NotStarted> {
    let lock = match state.try_lock(process.lock).await {
        Ok(Ok(lock)) => lock,
        Ok(Err(holder)) => {
            let who = holder.map_or_else(|| "another process".to_string(), |h| format!("another process ({h})"));
            return Err(NotStarted::Busy(format!(
                "`{}` is running in {who} on this state store; wait until it finishes and run it again \
                 (the daemon runs it every `[processes] {}` seconds; set that to 0 to run it only by hand)",
                process.command, process.schedule_key
            )));
        }
        Err(e) => return Err(NotStarted::Failed(format!("state store: {e}"))),
    };
    close_aborted(db, process)
        .await
        .map_err(|e| NotStarted::Failed(format!("accounting store: {e}")))?;
    state
        .abort_running_jobs(&[process.lock])
        .await
        .map_err(|e| NotStarted::Failed(format!("state store: {e}")))?;
    Ok(lock)
}
