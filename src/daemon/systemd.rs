//! Tells systemd about the daemon when it runs as a `Type=notify` unit (`deploy/dualsync.service`):
//! `READY=1` once the stores are open and the maps loaded (before the initial sync, which may
//! take hours), `STOPPING=1` when a stop begins, and `WATCHDOG=1` at half the unit's
//! `WatchdogSec` while the process's runtime answers. Outside systemd (no `NOTIFY_SOCKET`)
//! every call does nothing.

use sd_notify::NotifyState;

/// The daemon runs: `status` is shown by `systemctl status`.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A stop has begun.
pub fn stopping() {
    notify(&[NotifyState::Stopping]);
}

/// When the unit asks for a watchdog, pings it at half its interval for as long as the runtime
/// runs this task (a hung runtime stops the pings, and systemd restarts the service).
pub fn spawn_watchdog() {
    let Some(interval) = sd_notify::watchdog_enabled() else {
        return;
    };
    tokio::spawn(async move {
        loop {
            notify(&[NotifyState::Watchdog]);
            tokio::time::sleep(interval / 2).await;
        }
    });
}

fn notify(state: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}
