//! One `dualsync run` per state store: the daemon's lock (see `engine::state::ProcessLock`),
//! the refusal naming the holder, and the heartbeat that `dualsync status` reads to tell
//! running from stale from stopped.

use std::time::Duration;

use chrono::Utc;

use crate::engine::state::{DAEMON, Holder, ProcessLock, StateStore};
use crate::error::{Error, Kind};

/// How often the daemon records that it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// A daemon whose lock is held but whose heartbeat is older than this is reported stale
/// (hung, or cut off from the state store).
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// How long a starting daemon tries for the lock before it gives up: a `dualsync status`
/// probing a SQLite lock holds it for an instant, and a busy machine may stretch that instant.
const TAKE_FOR: Duration = Duration::from_secs(3);

/// Takes the daemon's lock, or says which process holds it and what to do.
pub async fn take(state: &StateStore) -> Result<ProcessLock, Error> {
    take_named(state, DAEMON, "another dualsync run is using the state store").await
}

/// Takes the lock of replica `id` of a high-availability group (two processes with one replica
/// id would hold each other's leases), or says which process holds it.
pub async fn take_replica(state: &StateStore, id: &str) -> Result<ProcessLock, Error> {
    let name = format!("replica-{:016x}", super::ha::fnv(&[id]));
    let what = format!("another dualsync run uses the replica id \"{id}\" on the state store");
    take_named(state, &name, &what).await
}

async fn take_named(state: &StateStore, name: &str, what: &str) -> Result<ProcessLock, Error> {
    let started = std::time::Instant::now();
    let holder = loop {
        match state.try_lock(name).await {
            Ok(Ok(lock)) => return Ok(lock),
            Ok(Err(h)) if started.elapsed() >= TAKE_FOR => break h,
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => return Err(Error::store("state store", e)),
        }
    };
    let who = match &holder {
        Some(h) => format!("{h}, last heartbeat {}", h.heartbeat_at.format("%Y-%m-%d %H:%M:%S UTC")),
        None => "a process that has not recorded itself yet".into(),
    };
    let hint = match &holder {
        Some(h) => format!("stop it first (on {}: kill -TERM {})", h.host, h.pid),
        None => "stop it first".into(),
    };
    Err(
        Error::new(Kind::Busy, format!("{what} at {} ({who})", state.name())).with_hint(match name == DAEMON {
            true => format!("{hint}, or give this one another state store"),
            false => format!("{hint}, or give each replica its own `ha.replica`"),
        }),
    )
}

/// Records a heartbeat every `HEARTBEAT` until the lock is released (the task is aborted).
pub fn spawn_heartbeat(lock: std::sync::Arc<ProcessLock>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            if let Err(e) = lock.heartbeat().await {
                tracing::warn!(error = %e, "recording the heartbeat failed");
            }
        }
    })
}

/// What `dualsync status` says of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Running,
    /// Killed or crashed (no clean stop recorded, lock free), or hung (lock held, no heartbeat).
    Stale,
    Stopped,
}

impl Liveness {
    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Running => "running",
            Liveness::Stale => "stale",
            Liveness::Stopped => "stopped",
        }
    }
}

/// The daemon's liveness and a line describing it.
pub async fn liveness(state: &StateStore) -> Result<(Liveness, String), String> {
    let holder: Option<Holder> = state.holder(DAEMON).await.map_err(|e| e.to_string())?;
    let held = state.lock_held(DAEMON).await.map_err(|e| e.to_string())?;
    let Some(h) = holder else {
        return Ok(match held {
            true => (Liveness::Running, "starting".into()),
            false => (Liveness::Stopped, "never started on this state store".into()),
        });
    };
    let age = (Utc::now() - h.heartbeat_at).to_std().unwrap_or_default();
    let beat = format!("last heartbeat {} s ago", age.as_secs());
    Ok(match (held, h.stopped_at) {
        (true, _) if age <= STALE_AFTER => (Liveness::Running, format!("{h}, {beat}")),
        (true, _) => (
            Liveness::Stale,
            format!(
                "{h}, {beat}: it holds the lock but does not record heartbeats (hung, or cut off from the state store)"
            ),
        ),
        (false, Some(at)) => (
            Liveness::Stopped,
            format!("{h}, stopped at {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
        ),
        (false, None) => (
            Liveness::Stale,
            format!("{h}, {beat}: it did not stop cleanly (killed or crashed); start it again"),
        ),
    })
}
