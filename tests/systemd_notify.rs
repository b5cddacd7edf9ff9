//! The daemon under systemd (issue 16, item 3): with `NOTIFY_SOCKET` set, as systemd sets it for
//! a `Type=notify` unit, `dualsync run` sends `READY=1` (with a status line), `WATCHDOG=1`
//! pings at half of `WATCHDOG_USEC`, and `STOPPING=1` when it is told to stop. The test plays
//! systemd's part: a Unix datagram socket it reads.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::{Daemon, DaemonStores};

/// The datagrams received until `until` says enough or `timeout` passes.
fn receive(socket: &UnixDatagram, timeout: Duration, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !until(&got) && started.elapsed() < timeout {
        if let Ok(n) = socket.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_notifies_systemd() {
    let stores = DaemonStores::new("sqlite", "systemd_notify").await;
    let config = stores.write_config(true, "[processes]\nenabled = false\n");
    let path = stores.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let env = [
        ("NOTIFY_SOCKET".to_string(), path.display().to_string()),
        // A watchdog of 1 s: pings every half second.
        ("WATCHDOG_USEC".to_string(), "1000000".to_string()),
    ];
    let mut daemon = Daemon::start_with_env(&config, &stores.log_path(), &env);

    let watchdogs = |got: &[String]| got.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    let got = receive(&socket, Duration::from_secs(120), |got| {
        got.iter().any(|m| m.contains("READY=1")) && watchdogs(got) >= 3
    });
    assert!(
        got.iter().any(|m| m.contains("READY=1") && m.contains("STATUS=")),
        "READY=1 with a status: {got:?}\n{}",
        daemon.log_tail(20)
    );
    assert!(watchdogs(&got) >= 3, "watchdog pings: {got:?}");

    daemon.signal(common::SIGTERM);
    let got = receive(&socket, Duration::from_secs(60), |got| {
        got.iter().any(|m| m.contains("STOPPING=1"))
    });
    assert!(got.iter().any(|m| m.contains("STOPPING=1")), "STOPPING=1: {got:?}");
    assert_eq!(daemon.terminate(Duration::from_secs(60)).code(), Some(0));
}
