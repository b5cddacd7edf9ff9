//! Fault tests of the running daemon (`dualsync run` as a separate process), on SQLite and on
//! PostgreSQL, while the test keeps changing the operational store as users would:
//! - SIGKILL at random points of live sync, restarted each time: in the end the accounting
//!   side holds exactly what the maps send from the operational side — a content checksum of
//!   every field `actuals` and `hour-estimates` send, no record lost, none twice;
//! - the accounting store refusing connections (PostgreSQL) or locked by another program
//!   (SQLite) for longer than the retries last: `dualsync status` reports the map failed, the
//!   daemon keeps running, and once the store is back everything is caught up, nothing lost,
//!   and every map is running again;
//! - faults these tests found (fixed since), each in a test of its own so they stay fixed: a
//!   daemon started while another program writes; echoes of the engine's own writes undoing a
//!   newer change of a two-way field; two writers on one SQLite store.
//!
//! The random choices (kill points, changes) come from a seed printed by each test; set
//! `DUALSYNC_FAULT_SEED` to run a test with the same seed again. `DUALSYNC_FAULT_SCALE` sets the
//! number of demo actuals (default 300). See docs/faults.md.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::changer::{Changer, keep_changing, report_known_echo_bug};
use common::faults::{
    Rng, expected_checksum, fault_scale, fault_seed, scaled_timeout, scan_all, sent_fields, shipped_map, wait_in_sync,
};
use common::{Daemon, DaemonStores, parse_status};
use dualsync::demo::{SeedOptions, load};
use dualsync::store::sql::{SqlStore, init::init};
use dualsync::store::{Store, WriteOp};
use dualsync::tablemap::model::Side;
use dualsync::value::Value;

/// The number of actuals of the demo data at CI scale (9 of them skipped by rule with seed 7).
const CI_SCALE: u64 = 300;

/// Demo data of every test here: `DUALSYNC_FAULT_SCALE` actuals (default 300), seed 7.
fn seed_options() -> SeedOptions {
    SeedOptions {
        actuals: fault_scale(CI_SCALE),
        seed: 7,
    }
}

/// `base` (written for the CI scale) lengthened for a larger `DUALSYNC_FAULT_SCALE`.
fn patience(base: Duration) -> Duration {
    scaled_timeout(base, fault_scale(CI_SCALE), CI_SCALE)
}

// ---------------------------------------------------------------------------------------------
// The stores, the daemon's configuration, and the changes made while it runs.

struct Fixture {
    stores: DaemonStores,
    config: PathBuf,
    op: Arc<SqlStore>,
    acct: SqlStore,
}

/// Initialized, seeded stores (the daemon installs change capture when it starts).
async fn fixture(backend: &str, name: &str, batch_size: usize, extra_config: &str) -> Fixture {
    let stores = DaemonStores::new(backend, name).await;
    let op = init(&stores.operational, Side::Operational).await.unwrap();
    let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
    load::seed(&op, Side::Operational, &seed_options()).await.unwrap();
    load::seed(&acct, Side::Accounting, &seed_options()).await.unwrap();
    let config = stores.write_config(false, &format!("[sync]\nbatch_size = {batch_size}\n{extra_config}"));
    Fixture {
        stores,
        config,
        op: Arc::new(op),
        acct,
    }
}

fn log_of(stores: &DaemonStores) -> String {
    std::fs::read_to_string(stores.log_path()).unwrap_or_default()
}

/// How many times the daemons of a test logged that they started (stores opened, change
/// capture installed, maps loaded).
fn starts_logged(stores: &DaemonStores) -> usize {
    log_of(stores).matches("\"message\":\"dualsync started\"").count()
}

/// Waits until the daemons logged their `n`-th start; Err with the end of the log when this
/// daemon exited before.
async fn wait_started(daemon: &mut Daemon, stores: &DaemonStores, n: usize) -> Result<(), String> {
    let since = Instant::now();
    loop {
        if starts_logged(stores) >= n {
            return Ok(());
        }
        if !daemon.is_running() {
            let log = log_of(stores);
            let tail: Vec<&str> = log.lines().rev().take(3).collect();
            return Err(format!(
                "the daemon exited while starting ({:?}): {}",
                daemon.child.try_wait().ok().flatten(),
                tail.into_iter()
                    .rev()
                    .map(|l| l.chars().take(300).collect::<String>())
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "the daemon did not start within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 1. SIGKILL during live sync.

async fn live_sync_survives_sigkill(backend: &str) {
    let started = Instant::now();
    let seed = fault_seed(&format!("live_sync_survives_sigkill_{backend}"));
    let mut rng = Rng(seed);
    let f = fixture(backend, "fault_kill", 50, "").await;
    let maps = [shipped_map("actuals"), shipped_map("hour-estimates")];
    let sent: Vec<&str> = sent_fields(&maps[0]).iter().map(|(_, a, _)| *a).collect();
    for column in [
        "ActualId",
        "ProjectId",
        "TransType",
        "Quantity",
        "Amount",
        "Description",
    ] {
        assert!(sent.contains(&column), "the checksum covers {column}: {sent:?}");
    }
    let log = f.stores.log_path();

    let mut daemon = Daemon::start(&f.config, &log);
    daemon.wait_all_running(patience(Duration::from_secs(120))).await;
    wait_in_sync(&maps, f.op.as_ref(), &f.acct, patience(Duration::from_secs(30)))
        .await
        .unwrap_or_else(|d| panic!("after the initial sync: {d}"));

    let stop = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(tokio::sync::RwLock::new(()));
    let changer = keep_changing(
        Changer::new(f.op.clone(), rng.next()).await,
        10..60,
        stop.clone(),
        gate.clone(),
    );
    let mut kill_points = Vec::new();
    let mut starts = 1;
    for _ in 0..12 {
        let delay = rng.range(150, 1500);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        assert!(
            daemon.kill(),
            "the daemon exited by itself before kill {}:\n{}",
            kill_points.len() + 1,
            log_of(&f.stores)
        );
        kill_points.push(delay);
        // Changes go on while the daemon is down, and while it starts again.
        tokio::time::sleep(Duration::from_millis(rng.range(0, 300))).await;
        daemon = Daemon::start(&f.config, &log);
        starts += 1;
        if let Err(e) = wait_started(&mut daemon, &f.stores, starts).await {
            panic!("restart {starts}: {e}");
        }
    }
    println!(
        "killed {} times, after {kill_points:?} ms of running",
        kill_points.len()
    );
    stop.store(true, Ordering::SeqCst);
    let changer = changer.await.unwrap();
    println!(
        "{} changes: {} actuals created, {} other actuals and {} hour estimates edited",
        changer.writes,
        changer.created,
        changer.last_actual.len() as u64 - changer.created,
        changer.last_hours.len()
    );
    assert!(changer.created > 0 && !changer.last_hours.is_empty());
    println!(
        "{} writes of the test failed and were retried: {:?}",
        changer.errors.len(),
        changer.errors.iter().take(3).collect::<Vec<_>>()
    );

    // Caught up: target = source for both maps, and no change of the test was undone.
    let digests = wait_in_sync(&maps, f.op.as_ref(), &f.acct, patience(Duration::from_secs(60)))
        .await
        .unwrap_or_else(|d| panic!("seed {seed}: not caught up after the kills: {d}"));
    println!("in sync: {digests}");
    let (lost, lost_hours) = changer.undone().await;
    assert!(
        lost.is_empty(),
        "seed {seed}: {} changes of actuals were undone:\n{}",
        lost.len(),
        lost.join("\n")
    );
    report_known_echo_bug(&lost_hours);
    let status = daemon.wait_all_running(Duration::from_secs(30)).await;
    let st = parse_status(&status);
    let actuals = st.iter().find(|m| m.map == "actuals").unwrap();
    let expected = expected_checksum(&maps[0], f.op.as_ref()).await;
    assert_eq!(
        actuals.links,
        expected.len() as u64,
        "one link per synced actual\n{status}"
    );
    assert!(st.iter().all(|m| m.errors == 0 && m.parked == 0), "{status}");
    let code = daemon.terminate(Duration::from_secs(30));
    assert_eq!(code.code(), Some(0));
    println!("{backend}: {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_sync_survives_sigkill_on_sqlite() {
    live_sync_survives_sigkill("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_sync_survives_sigkill_on_postgres() {
    live_sync_survives_sigkill("postgres").await;
}

// ---------------------------------------------------------------------------------------------
// 2. The accounting store down during live sync, then back.

/// Makes the accounting store unusable for the daemon until `end` (or drop): PostgreSQL refuses
/// connections to the database (and ends the open ones); on SQLite another connection holds the
/// write lock.
enum Outage {
    Postgres { db: String, ended: bool },
    Sqlite(Option<sqlx::SqliteConnection>),
}

impl Outage {
    async fn begin(backend: &str, url: &str) -> Outage {
        if backend == "sqlite" {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await.unwrap();
            return Outage::Sqlite(Some(conn));
        }
        let db = url.rsplit_once('/').unwrap().1.to_string();
        let outage = Outage::Postgres {
            db: db.clone(),
            ended: false,
        };
        common::pg_admin_sql(&format!("ALTER DATABASE \"{db}\" WITH ALLOW_CONNECTIONS false")).await;
        common::pg_admin_sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"
        ))
        .await;
        outage
    }

    async fn end(&mut self) {
        match self {
            Outage::Sqlite(conn) => {
                if let Some(mut c) = conn.take() {
                    sqlx::query("COMMIT").execute(&mut c).await.unwrap();
                }
            }
            Outage::Postgres { db, ended } => {
                common::pg_admin_sql(&format!("ALTER DATABASE \"{db}\" WITH ALLOW_CONNECTIONS true")).await;
                *ended = true;
            }
        }
    }
}

impl Drop for Outage {
    /// A failing test must not leave the database refusing connections.
    fn drop(&mut self) {
        if let Outage::Postgres { db, ended: false } = self {
            let sql = format!("ALTER DATABASE \"{db}\" WITH ALLOW_CONNECTIONS true");
            let _ = std::process::Command::new("psql")
                .args(["-q", &common::pg_base_url(), "-c", &sql])
                .output();
        }
    }
}

async fn accounting_outage_is_reported_and_caught_up(backend: &str) {
    let started = Instant::now();
    let seed = fault_seed(&format!("accounting_outage_{backend}"));
    // Few, short retries, so the outage outlasts them quickly.
    let f = fixture(
        backend,
        "fault_outage",
        50,
        "[retry]\ninitial_delay_ms = 50\nmax_delay_ms = 200\nmax_attempts = 2\n",
    )
    .await;
    let maps = [shipped_map("actuals"), shipped_map("hour-estimates")];
    let mut daemon = Daemon::start(&f.config, &f.stores.log_path());
    daemon.wait_all_running(patience(Duration::from_secs(120))).await;
    wait_in_sync(&maps, f.op.as_ref(), &f.acct, patience(Duration::from_secs(30)))
        .await
        .unwrap_or_else(|d| panic!("after the initial sync: {d}"));

    let mut outage = Outage::begin(backend, &f.stores.accounting).await;
    let down_at = Instant::now();
    let mut changer = Changer::new(f.op.clone(), seed).await;
    for _ in 0..5 {
        changer.create_actuals(6).await;
        changer.update_hours().await;
    }
    let status = daemon
        .wait_status("the actuals map failed", Duration::from_secs(60), |maps| {
            maps.iter().any(|m| m.map == "actuals" && m.state == "failed")
        })
        .await;
    println!(
        "{:.1} s after the outage began:\n{status}",
        down_at.elapsed().as_secs_f64()
    );
    let actuals = parse_status(&status).into_iter().find(|m| m.map == "actuals").unwrap();
    assert!(
        actuals.message.as_deref().is_some_and(|m| !m.is_empty()),
        "a failed map says why\n{status}"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(daemon.is_running(), "the daemon keeps running while a store is down");
    outage.end().await;
    let up_at = Instant::now();

    wait_in_sync(&maps, f.op.as_ref(), &f.acct, patience(Duration::from_secs(90)))
        .await
        .unwrap_or_else(|d| panic!("not caught up after the outage: {d}"));
    let status = daemon.wait_all_running(Duration::from_secs(60)).await;
    println!(
        "caught up and running {:.1} s after the store came back",
        up_at.elapsed().as_secs_f64()
    );
    let st = parse_status(&status);
    assert!(
        st.iter().all(|m| m.errors == 0 && m.parked == 0),
        "the outage made no record errors\n{status}"
    );
    let (lost, lost_hours) = changer.undone().await;
    assert!(lost.is_empty(), "changes of actuals were undone:\n{}", lost.join("\n"));
    report_known_echo_bug(&lost_hours);
    let log = log_of(&f.stores);
    assert!(log.contains("live sync paused"), "the error is logged:\n{log}");
    assert!(log.contains("live sync resumed"), "the recovery is logged:\n{log}");
    let code = daemon.terminate(Duration::from_secs(30));
    assert_eq!(code.code(), Some(0));
    println!("{backend}: {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounting_outage_is_reported_and_caught_up_on_postgres() {
    accounting_outage_is_reported_and_caught_up("postgres").await;
}

/// SQLite: the accounting file locked by another program for longer than the busy timeout and
/// the retries (the engine-level variant with a shorter lock is in tests/engine.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounting_outage_is_reported_and_caught_up_on_sqlite() {
    accounting_outage_is_reported_and_caught_up("sqlite").await;
}

// ---------------------------------------------------------------------------------------------
// 3. Starting while another program writes to the operational store.

/// `dualsync run` started (and killed soon after) 10 times (SQLite: 20, as a start fails less
/// often there) while another program keeps writing to the operational store: every start must
/// succeed, and the other program's writes must never fail because of the daemon.
async fn the_daemon_starts_while_another_program_writes(backend: &str) {
    let started = Instant::now();
    let seed = fault_seed(&format!("the_daemon_starts_while_another_program_writes_{backend}"));
    let mut rng = Rng(seed);
    let f = fixture(backend, "fault_start", 50, "").await;
    let log = f.stores.log_path();
    let mut daemon = Daemon::start(&f.config, &log);
    daemon.wait_all_running(patience(Duration::from_secs(120))).await;
    daemon.kill();

    let stop = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(tokio::sync::RwLock::new(()));
    let changer = keep_changing(Changer::new(f.op.clone(), rng.next()).await, 0..5, stop.clone(), gate);
    let mut failed = Vec::new();
    let attempts = if backend == "sqlite" { 20 } else { 10 };
    for start in 2..=attempts + 1 {
        tokio::time::sleep(Duration::from_millis(rng.range(50, 300))).await;
        let mut daemon = Daemon::start(&f.config, &log);
        if let Err(e) = wait_started(&mut daemon, &f.stores, start - failed.len()).await {
            failed.push(e);
            continue;
        }
        tokio::time::sleep(Duration::from_millis(rng.range(0, 300))).await;
        daemon.kill();
    }
    stop.store(true, Ordering::SeqCst);
    let changer = changer.await.unwrap();
    println!("{backend}: {:.1} s", started.elapsed().as_secs_f64());
    // On SQLite the other program's writes also fail when the daemon only writes at the same
    // time (see `two_writers_on_one_sqlite_store_wait_for_each_other`); on PostgreSQL they
    // must not fail at all.
    let other_failed = if backend == "postgres" {
        changer.errors.clone()
    } else {
        Vec::new()
    };
    assert!(
        failed.is_empty() && other_failed.is_empty(),
        "seed {seed}: {} of {attempts} starts failed:\n{}\n{} writes of the other program failed: {:?}",
        failed.len(),
        failed.join("\n"),
        other_failed.len(),
        other_failed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_starts_while_another_program_writes_on_sqlite() {
    the_daemon_starts_while_another_program_writes("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_starts_while_another_program_writes_on_postgres() {
    the_daemon_starts_while_another_program_writes("postgres").await;
}

// ---------------------------------------------------------------------------------------------
// 4. Echoes of the engine's own writes on a two-way map.

/// `hour-estimates` syncs hours both ways. After `dualsync initial-sync`, users change the hours
/// of some hour estimates before the daemon runs; the daemon (small batches) reads the
/// accounting feed, which holds the initial sync's own writes, while the operational changes
/// are still queued. Those echoes must not write the old hours back over the users' changes.
async fn an_echo_does_not_undo_a_newer_operational_change(backend: &str) {
    let f = fixture(backend, "fault_echo", 5, "").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args(["initial-sync", "--config", f.config.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let maps = [shipped_map("actuals"), shipped_map("hour-estimates")];

    // Ten changes queue before the five that matter: the first hour estimates in key order,
    // whose initial-sync writes come first in the accounting feed.
    let mut changer = Changer::new(f.op.clone(), 1).await;
    let mut keys = changer.assignments.clone();
    keys.sort_by(|a, b| a.compare(b).unwrap());
    for key in keys[20..30].iter().chain(&keys[0..5]) {
        changer.set_hours(key.clone()).await;
    }
    let mut daemon = Daemon::start(&f.config, &f.stores.log_path());
    wait_in_sync(&maps, f.op.as_ref(), &f.acct, patience(Duration::from_secs(60)))
        .await
        .unwrap_or_else(|d| panic!("not in sync: {d}"));
    daemon.wait_all_running(Duration::from_secs(30)).await;
    let (_, lost_hours) = changer.undone().await;
    assert!(
        lost_hours.is_empty(),
        "{backend}: {} of 15 changes were undone by echoes of the initial sync:\n{}",
        lost_hours.len(),
        lost_hours.join("\n")
    );
    assert_eq!(daemon.terminate(Duration::from_secs(30)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_does_not_undo_a_newer_operational_change_on_sqlite() {
    an_echo_does_not_undo_a_newer_operational_change("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_does_not_undo_a_newer_operational_change_on_postgres() {
    an_echo_does_not_undo_a_newer_operational_change("postgres").await;
}

// ---------------------------------------------------------------------------------------------
// 5. Two writers on one SQLite store.

/// Two programs (two `SqlStore`s, as the daemon and a user application would have) write to one
/// SQLite file at the same time. The store's busy timeout (5 s) should make each wait for the
/// other; no write may fail with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_sqlite_store_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("op.db").display());
    let store = init(&url, Side::Operational).await.unwrap();
    load::seed(&store, Side::Operational, &seed_options()).await.unwrap();
    let (desc, rows) = scan_all(&store, "msdyn_actuals").await;
    let keys: Vec<Value> = rows.iter().map(|r| desc.key_of(r).remove(0)).collect();
    let desc = desc.project(&["msdyn_description"]).unwrap();
    let mut writers = Vec::new();
    for w in 0..2 {
        let store = SqlStore::open(&url).await.unwrap();
        let (desc, keys) = (desc.clone(), keys.clone());
        writers.push(tokio::spawn(async move {
            let mut failed = Vec::new();
            for (i, key) in keys.iter().enumerate().filter(|(i, _)| i % 2 == w).take(100) {
                let row = vec![key.clone(), Value::Text(format!("writer {w} edit {i}"))];
                if let Err(e) = store.apply(&desc, &[WriteOp::Upsert(row)]).await {
                    failed.push(e.message);
                }
            }
            failed
        }));
    }
    let mut failed = Vec::new();
    for w in writers {
        failed.extend(w.await.unwrap());
    }
    assert!(
        failed.is_empty(),
        "{} of 200 writes failed although the other writer held the lock only briefly: {:?}",
        failed.len(),
        failed.iter().take(3).collect::<Vec<_>>()
    );
}
