//! `dualsync run` as an operator starts it, on SQLite files and on PostgreSQL databases: from
//! nothing (no store exists yet) with a configuration naming the three stores, it creates them,
//! seeds the demo data, syncs every map, reports every map running in `dualsync status` with
//! the counts the demo data predicts, and exits 0 on SIGTERM.

mod common;

use std::time::Duration;

use common::{Daemon, DaemonStores, parse_status};

async fn the_daemon_starts_syncs_reports_and_stops_cleanly(backend: &str) {
    let stores = DaemonStores::absent(backend, "daemon_from_scratch").await;
    let config = stores.write_config(true, "");
    let mut daemon = Daemon::start(&config, &stores.log_path());
    let status = daemon.wait_all_running(Duration::from_secs(300)).await;
    let maps = parse_status(&status);
    let links = |map: &str| maps.iter().find(|m| m.map == map).unwrap().links;
    assert_eq!(
        links("actuals"),
        9700,
        "10,000 demo actuals, 300 skipped by rule ({backend})\n{status}"
    );
    assert_eq!(links("resource-roles"), 10, "5 roles in 2 companies\n{status}");
    assert_eq!(links("transaction-categories"), 24, "6 categories x 4 types\n{status}");
    assert_eq!(
        links("project-tasks"),
        264,
        "every parked task synced once its parent was\n{status}"
    );
    let actuals = maps.iter().find(|m| m.map == "actuals").unwrap();
    assert_eq!(
        (actuals.skipped, actuals.parked, actuals.errors),
        (300, 0, 0),
        "{status}"
    );
    assert!(
        maps.iter().all(|m| m.parked == 0 && m.errors == 0),
        "nothing parked or failed\n{status}"
    );

    // SIGTERM: finish the batch, save cursors, exit 0.
    let code = daemon.terminate(Duration::from_secs(30));
    assert_eq!(
        code.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(stores.log_path()).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_starts_syncs_reports_and_stops_cleanly_on_sqlite() {
    the_daemon_starts_syncs_reports_and_stops_cleanly("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_starts_syncs_reports_and_stops_cleanly_on_postgres() {
    the_daemon_starts_syncs_reports_and_stops_cleanly("postgres").await;
}
