//! One daemon per installation, and what `dualsync status` says of it (issue 11, items 10 and
//! 11), on SQLite and PostgreSQL state stores, with `dualsync` run as a separate process:
//! - a second `dualsync run` on the same state store is refused, naming the first (host, pid,
//!   since); after a SIGKILL of the first, the next start is not blocked;
//! - `status` says running, stale (killed) or stopped (clean exit), from the daemon's lock and
//!   heartbeat, and exits non-zero when a map failed or was paused by the alert rule;
//! - `journal import|post` refuse to run while another run of the same process holds its lock
//!   (the daemon's schedule or another manual run), naming the holder; a job-log run left
//!   `Running` by a killed process is closed as aborted by the next run.

mod common;

use std::time::{Duration, Instant};

use common::{Daemon, DaemonStores, daemon_state, dualsync};
use dualsync::demo::{SeedOptions, load};
use dualsync::engine::state::{JobStatus, MapState, StateStore};
use dualsync::store::sql::init::init;
use dualsync::tablemap::model::Side;
use dualsync::value::Value;

/// Initialized stores with a little demo data, and the daemon's configuration.
async fn stores(backend: &str, name: &str) -> (DaemonStores, std::path::PathBuf) {
    let stores = DaemonStores::new(backend, name).await;
    let opts = SeedOptions { actuals: 40, seed: 7 };
    let op = init(&stores.operational, Side::Operational).await.unwrap();
    let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
    load::seed(&op, Side::Operational, &opts).await.unwrap();
    load::seed(&acct, Side::Accounting, &opts).await.unwrap();
    let config = stores.write_config(false, "");
    (stores, config)
}

/// Polls `dualsync status` until the daemon's state is `want` with details containing `with`;
/// returns the details.
async fn wait_daemon(config: &std::path::Path, want: &str, with: &str, log: &std::path::Path) -> String {
    let started = Instant::now();
    loop {
        let (_, out, _) = dualsync(&["status"], config);
        if let Some((state, details)) = daemon_state(&out)
            && state == want
            && details.contains(with)
        {
            return details;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the daemon is not {want} ({with}) after 120 s:\n{out}\nlog:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_second_daemon_is_refused_and_a_killed_one_blocks_nothing(backend: &str) {
    let (stores, config) = stores(backend, "instance_second").await;
    let log = stores.log_path();
    let (_, before, _) = dualsync(&["status"], &config);
    assert_eq!(
        daemon_state(&before).map(|s| s.0).as_deref(),
        Some("stopped"),
        "never started\n{before}"
    );

    let mut first = Daemon::start(&config, &log);
    wait_daemon(&config, "running", &format!("pid {}", first.child.id()), &log).await;

    // A second daemon on the same state store refuses to start and names the first.
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args(["run", "--config", config.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(
        second.status.code(),
        Some(1),
        "the second daemon must refuse:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", first.child.id()))
            && stderr.contains(&dualsync::engine::state::host_name())
            && stderr.contains("since"),
        "the refusal names the holder: {stderr}"
    );
    assert!(first.is_running(), "the first daemon keeps running");

    // SIGKILL: the lock goes with the process; status calls it stale (no clean stop).
    first.kill();
    wait_daemon(&config, "stale", "did not stop cleanly", &log).await;

    // The next start is not blocked; a clean stop reads `stopped`.
    let mut next = Daemon::start(&config, &log);
    wait_daemon(&config, "running", &format!("pid {}", next.child.id()), &log).await;
    next.wait_all_running(Duration::from_secs(120)).await;
    let code = next.terminate(Duration::from_secs(60));
    assert_eq!(code.code(), Some(0));
    let (_, after, _) = dualsync(&["status"], &config);
    assert!(
        after.contains("change logs: operational ") && after.contains(" entries"),
        "status shows the change logs' sizes\n{after}"
    );
    assert_eq!(
        daemon_state(&after).map(|s| s.0).as_deref(),
        Some("stopped"),
        "after a clean exit\n{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_is_refused_and_a_killed_one_blocks_nothing_on_sqlite() {
    a_second_daemon_is_refused_and_a_killed_one_blocks_nothing("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_is_refused_and_a_killed_one_blocks_nothing_on_postgres() {
    a_second_daemon_is_refused_and_a_killed_one_blocks_nothing("postgres").await;
}

async fn status_exits_non_zero_when_a_map_needs_a_person(backend: &str) {
    let (stores, config) = stores(backend, "instance_status_exit").await;
    let state = StateStore::open(&stores.state).await.unwrap();
    state.set_map_state("actuals", MapState::Running, None).await.unwrap();
    let (code, out, _) = dualsync(&["status"], &config);
    assert_eq!(code, Some(0), "all well\n{out}");

    state
        .set_map_state("actuals", MapState::Failed, Some("store down"))
        .await
        .unwrap();
    let (code, out, _) = dualsync(&["status"], &config);
    assert_eq!(code, Some(1), "a failed map\n{out}");

    state
        .set_map_state("actuals", MapState::Paused, Some("paused by an operator"))
        .await
        .unwrap();
    let (code, out, _) = dualsync(&["status"], &config);
    assert_eq!(code, Some(0), "paused by an operator is not a fault\n{out}");

    state
        .set_map_state(
            "actuals",
            MapState::Paused,
            Some("alert: 100 record errors within 300 s; paused (see `dualsync errors list`, then `dualsync resume actuals`)"),
        )
        .await
        .unwrap();
    let (code, out, _) = dualsync(&["status"], &config);
    assert_eq!(code, Some(1), "paused by the alert rule\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_non_zero_when_a_map_needs_a_person_on_sqlite() {
    status_exits_non_zero_when_a_map_needs_a_person("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_non_zero_when_a_map_needs_a_person_on_postgres() {
    status_exits_non_zero_when_a_map_needs_a_person("postgres").await;
}

async fn a_manual_journal_run_is_refused_while_another_holds_its_lock(backend: &str) {
    let (stores, config) = stores(backend, "instance_journal_lock").await;
    let state = StateStore::open(&stores.state).await.unwrap();

    // A killed process left a run `Running` in both job logs.
    let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
    let db = dualsync::accounting::db::Db::new(&acct);
    db.execute(
        "INSERT INTO \"ProjCDSJobLog\" (\"JobName\", \"StartedDateTime\", \"Status\") VALUES ('ImportFromStaging', ?, 'Running')",
        &[dualsync::accounting::db::now()],
    )
    .await
    .unwrap();
    let left = state.start_job("journal-import").await.unwrap();

    // Another run (here: this test, as the daemon's schedule would) holds the import's lock.
    let lock = state.try_lock("journal-import").await.unwrap().expect("free");
    let (code, _, err) = dualsync(&["journal", "import"], &config);
    assert_eq!(code, Some(1), "refused while another run holds it: {err}");
    assert!(
        err.contains("dualsync journal import") && err.contains(&format!("pid {}", std::process::id())),
        "names the holder: {err}"
    );
    let (code, _, err) = dualsync(&["journal", "post", "--all"], &config);
    assert_eq!(code, Some(0), "posting has a lock of its own: {err}");
    drop(lock);

    // Free again: the import runs, and first closes the run the killed process left.
    let (code, out, err) = dualsync(&["journal", "import"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    let rows = db
        .fetch(
            "SELECT \"Status\", \"Message\" FROM \"ProjCDSJobLog\" WHERE \"JobName\" = 'ImportFromStaging' ORDER BY \"RecId\"",
            &[],
            &[dualsync::value::ValueType::Text, dualsync::value::ValueType::Text],
        )
        .await
        .unwrap();
    assert_eq!(rows[0][0], Value::Text("Failed".into()), "{rows:?}");
    assert!(
        matches!(&rows[0][1], Value::Text(m) if m.starts_with("aborted")),
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| r[0] != Value::Text("Running".into())), "{rows:?}");
    assert_eq!(state.get_job(left).await.unwrap().unwrap().status, JobStatus::Aborted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_journal_run_is_refused_while_another_holds_its_lock_on_sqlite() {
    a_manual_journal_run_is_refused_while_another_holds_its_lock("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_journal_run_is_refused_while_another_holds_its_lock_on_postgres() {
    a_manual_journal_run_is_refused_while_another_holds_its_lock("postgres").await;
}

/// PostgreSQL only (a file lock cannot be dropped under its holder): the server drops the
/// connection holding the daemon's advisory lock; the next heartbeat takes the lock again, so
/// a second daemon is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_lock_is_taken_again_when_the_server_drops_it_on_postgres() {
    let url = common::fresh_pg_database("instance_lock_dropped").await;
    let state = StateStore::open(&url).await.unwrap();
    let lock = state.try_lock("daemon").await.unwrap().expect("free");
    let db = url.rsplit_once('/').unwrap().1;
    common::pg_admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{db}' AND application_name = 'dualsync lock'"
    ))
    .await;
    let other = StateStore::open(&url).await.unwrap();
    // Dropped with its connection: free for a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while other.lock_held("daemon").await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the terminated connection still holds the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lock.heartbeat().await.unwrap();
    assert!(other.lock_held("daemon").await.unwrap());
    let holder = other.try_lock("daemon").await.unwrap().expect_err("held again");
    assert_eq!(holder.unwrap().pid, i64::from(std::process::id()));
}
