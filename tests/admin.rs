//! The admin commands tell the truth and touch nothing they are not for (issue 12, items 1 and
//! 2): on an installation that never ran they create no store and seed nothing; read-only ones
//! write nothing; with an invalid map file they still work from the state store; `--config` is
//! global and `DUALSYNC_CONFIG` names the file. One body per test, on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use common::{Daemon, DaemonStores, dualsync};

/// Whether the store at `url` exists: a SQLite file, or a PostgreSQL database.
async fn exists(url: &str) -> bool {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return std::path::Path::new(path).exists();
    }
    let (base, name) = url.rsplit_once('/').unwrap();
    let mut conn = sqlx::PgConnection::connect(&format!("{base}/postgres")).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    n > 0
}

use sqlx::Connection;

async fn nothing_is_created_on_an_empty_install(backend: &str) {
    let stores = DaemonStores::absent(backend, "admin_empty").await;
    let config = stores.write_config(true, "");
    let (code, out, err) = dualsync(&["status"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("never started"), "{out}");
    assert_eq!(
        common::parse_status(&out).len(),
        common::shipped_maps(),
        "the maps of the files: {out}"
    );
    let (code, out, err) = dualsync(&["errors", "list"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("0 record errors"), "{out}");
    // Retrying on an install that never ran: a clear error, no demo data, no stores.
    let (code, out, err) = dualsync(&["errors", "retry", "--all"], &config);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("no state store") && err.contains("hint:"), "{err}");
    let (code, _, err) = dualsync(&["pause", "actuals"], &config);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("nothing to pause"), "{err}");
    for url in [&stores.operational, &stores.accounting, &stores.state] {
        assert!(!exists(url).await, "{url} was created by an admin command");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_create_nothing_on_sqlite() {
    nothing_is_created_on_an_empty_install("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_create_nothing_on_postgres() {
    nothing_is_created_on_an_empty_install("postgres").await;
}

async fn admin_commands_work_with_an_invalid_map(backend: &str) {
    let stores = DaemonStores::new(backend, "admin_invalid").await;
    // A copy of the shipped maps, so one can be broken.
    let maps = stores.dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/table-maps")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), maps.join(entry.file_name())).unwrap();
    }
    let config = stores.write_config(true, "");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replacen(
        &format!("maps = \"{}\"", concat!(env!("CARGO_MANIFEST_DIR"), "/table-maps")),
        &format!("maps = \"{}\"", maps.display()),
        1,
    );
    std::fs::write(&config, text).unwrap();
    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon.wait_all_running(Duration::from_secs(120)).await;
    let code = daemon.terminate(Duration::from_secs(60));
    assert_eq!(code.code(), Some(0));

    // A read-only command leaves the state store as it is (SQLite: the file's bytes).
    let state_file = stores.state.strip_prefix("sqlite://").map(std::path::PathBuf::from);
    let before = state_file.as_ref().map(|f| std::fs::read(f).unwrap());
    let (code, out, err) = dualsync(&["status"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, _, err) = dualsync(&["errors", "list", "--all"], &config);
    assert_eq!(code, Some(0), "{err}");
    if let (Some(f), Some(before)) = (&state_file, before) {
        assert!(
            std::fs::read(f).unwrap() == before,
            "status and errors list wrote to the state store"
        );
    }

    // Break one map: the admin commands still work, from the state store.
    let projects = maps.join("projects.toml");
    let broken = std::fs::read_to_string(&projects)
        .unwrap()
        .replacen("[[fields]]", "[[fields]\n", 1);
    std::fs::write(&projects, broken).unwrap();
    let (code, out, err) = dualsync(&["status"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("map files: ") && out.contains("dualsync validate"),
        "{out}"
    );
    let maps_shown = common::parse_status(&out);
    assert!(
        maps_shown.iter().any(|m| m.map == "projects"),
        "the state store's maps are shown: {out}"
    );
    let (code, out, err) = dualsync(&["pause", "projects"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("projects: paused"), "{out}");
    let (code, out, err) = dualsync(&["resume", "projects"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, _, err) = dualsync(&["pause", "projets"], &config);
    assert_eq!(code, Some(1));
    assert!(err.contains("did you mean \"projects\""), "{err}");
    let (code, out, err) = dualsync(&["errors", "list"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_with_an_invalid_map_on_sqlite() {
    admin_commands_work_with_an_invalid_map("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_with_an_invalid_map_on_postgres() {
    admin_commands_work_with_an_invalid_map("postgres").await;
}

/// `--config` before the command, and `DUALSYNC_CONFIG`, name the file; relative paths in it
/// are relative to its folder, wherever dualsync runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_file_is_found_and_its_paths_are_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    std::fs::write(
        etc.join("d.toml"),
        format!(
            "maps = \"{}\"\n[operational]\nurl = \"sqlite://../data/op.db\"\n[accounting]\n\
             url = \"sqlite://../data/acct.db\"\n[state]\nurl = \"sqlite://../data/state.db\"\n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/table-maps")
        ),
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dualsync"));
        cmd.args(args).current_dir(elsewhere.path());
        if let Some(file) = env {
            cmd.env("DUALSYNC_CONFIG", file);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let file = etc.join("d.toml").display().to_string();
    let (code, out, err) = run(&["--config", &file, "status"], None);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!(
            "no state store at sqlite://{}",
            dir.path().join("data/state.db").display()
        )) || out.contains("never started"),
        "{out}"
    );
    let (code, out, err) = run(&["status"], Some(&file));
    assert_eq!(code, Some(0), "{out}{err}");
    // `store init` with the maps of the file creates the store where the file says.
    let (code, out, err) = run(&["errors", "list", "--config", &file], None);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        !elsewhere.path().join("data").exists(),
        "nothing under the working folder"
    );
    let (code, _, err) = run(&["status"], Some("/nonexistent/d.toml"));
    assert_eq!(code, Some(2));
    assert!(err.contains("/nonexistent/d.toml: no such configuration file"), "{err}");
}

/// Runs `sql` on the store at `url`.
async fn execute(url: &str, sql: &str) {
    let store = dualsync::store::sql::SqlStore::open(url).await.unwrap();
    store.pool().execute(sql, &[]).await.unwrap();
    store.pool().close().await;
}

/// The `behind` column of `map` in a status text.
fn behind(status: &str, map: &str) -> String {
    let line = status
        .lines()
        .find(|l| l.split_whitespace().next() == Some(map))
        .unwrap_or_else(|| panic!("no line for {map}:\n{status}"));
    line.split_whitespace().nth(7).unwrap().to_string()
}

/// `behind` counts the changes of the map's own entities only (issue 12, item 9): edits of
/// projects do not make the actuals map look behind.
async fn behind_counts_only_the_maps_own_changes(backend: &str) {
    let stores = DaemonStores::new(backend, "admin_behind").await;
    let config = stores.write_config(true, "[processes]\nenabled = false\n");
    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon.wait_all_running(Duration::from_secs(120)).await;
    // Everything read, echoes included: nothing is behind.
    daemon
        .wait_status("nothing behind", Duration::from_secs(120), |maps| {
            maps.iter().all(|m| m.behind == "0")
        })
        .await;
    assert_eq!(daemon.terminate(Duration::from_secs(60)).code(), Some(0));

    execute(
        &stores.operational,
        "UPDATE msdyn_actuals SET msdyn_description = 'behind' WHERE msdyn_actualid IN \
         (SELECT msdyn_actualid FROM msdyn_actuals ORDER BY msdyn_actualid LIMIT 7)",
    )
    .await;
    execute(
        &stores.operational,
        "UPDATE msdyn_projects SET msdyn_description = 'behind' WHERE msdyn_projectid IN \
         (SELECT msdyn_projectid FROM msdyn_projects ORDER BY msdyn_projectid LIMIT 3)",
    )
    .await;
    let (_, out, err) = dualsync(&["status"], &config);
    assert_eq!(behind(&out, "actuals"), "7", "{out}{err}");
    assert_eq!(behind(&out, "projects"), "3", "{out}");
    assert_eq!(behind(&out, "resource-roles"), "0", "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_counts_only_the_maps_own_changes_on_sqlite() {
    behind_counts_only_the_maps_own_changes("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_counts_only_the_maps_own_changes_on_postgres() {
    behind_counts_only_the_maps_own_changes("postgres").await;
}

/// SIGTERM during an initial sync: the daemon says the initial sync was interrupted and where
/// it resumes, logs a final `stopped`, exits 0, and the next start finishes the sync (issue 12,
/// item 9).
async fn sigterm_during_an_initial_sync(backend: &str) {
    let stores = DaemonStores::new(backend, "admin_sigterm").await;
    let config = stores.write_config(true, "[sync]\nbatch_size = 100\n[processes]\nenabled = false\n");
    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon
        .wait_status("the actuals' initial sync", Duration::from_secs(120), |maps| {
            maps.iter()
                .any(|m| m.map == "actuals" && m.state == "initial-sync" && m.links > 0)
        })
        .await;
    assert_eq!(
        daemon.terminate(Duration::from_secs(60)).code(),
        Some(0),
        "{}",
        daemon.log_tail(10)
    );
    let log = std::fs::read_to_string(stores.log_path()).unwrap();
    let messages: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["fields"]["message"].as_str().map(str::to_string))
        .collect();
    let stop = messages
        .iter()
        .position(|m| m == "stop requested")
        .expect("the signal is logged");
    assert!(
        messages[stop..]
            .iter()
            .any(|m| m.starts_with("initial sync interrupted")),
        "what happens to the initial sync is said: {messages:?}"
    );
    assert_eq!(messages.last().map(String::as_str), Some("stopped"), "{messages:?}");

    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon.wait_all_running(Duration::from_secs(180)).await;
    assert_eq!(daemon.terminate(Duration::from_secs(60)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_initial_sync_on_sqlite() {
    sigterm_during_an_initial_sync("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_initial_sync_on_postgres() {
    sigterm_during_an_initial_sync("postgres").await;
}
