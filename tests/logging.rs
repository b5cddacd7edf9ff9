//! The logs of the daemon paths, seen from outside: the real binary (`dualsync initial-sync`,
//! `dualsync run`) on small seeded stores. With `log.format = "json"` every line on standard
//! error is a JSON object and standard output stays empty (map diagnostics and the final error
//! included); human logs carry no ANSI escapes when standard error is no terminal, colors on a
//! terminal (a pseudo-terminal from `script`) unless `NO_COLOR` is set; `RUST_LOG` overrides
//! `log.level` (and a broken one is refused); the first line names the version, the
//! configuration file and the store URLs with their passwords starred out.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{DaemonStores, SIGTERM};
use dualsync::demo::{SeedOptions, load};
use dualsync::store::sql::init::init;
use dualsync::tablemap::model::Side;
use serde_json::Value;

/// Stores with a small demo data set (the `projects` map has a write-back pass), and a
/// configuration for them with JSON logs and `extra` appended.
async fn small_stores(backend: &str, name: &str, extra: &str) -> (DaemonStores, std::path::PathBuf) {
    let stores = DaemonStores::new(backend, name).await;
    let opts = SeedOptions { actuals: 60, seed: 5 };
    let op = init(&stores.operational, Side::Operational).await.unwrap();
    let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
    load::seed(&op, Side::Operational, &opts).await.unwrap();
    load::seed(&acct, Side::Accounting, &opts).await.unwrap();
    let config = stores.write_config(false, extra);
    (stores, config)
}

/// Runs `dualsync ARGS --config CONFIG` with `RUST_LOG` and `NO_COLOR` unset and `env` set:
/// (exit code, stdout, stderr).
fn dualsync(args: &[&str], config: &Path, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dualsync"));
    cmd.args(args)
        .args(["--config", config.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("run dualsync {args:?}: {e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Every line of `stderr` as JSON; panics naming the first line that is not.
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\n{stderr}")))
        .collect()
}

/// The message of a JSON log event.
fn message(event: &Value) -> &str {
    event["fields"]["message"].as_str().unwrap_or_default()
}

async fn initial_sync_logs_pure_json(backend: &str) {
    let (_stores, config) = small_stores(backend, "logging_json", "").await;
    let (code, out, err) = dualsync(&["initial-sync"], &config, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.is_empty(), "JSON mode writes nothing to stdout: {out}");
    let events = json_lines(&err);
    assert_eq!(message(&events[0]), "dualsync starting", "{err}");
    let done: Vec<&Value> = events.iter().filter(|e| message(e) == "initial sync done").collect();
    assert_eq!(done.len(), common::shipped_maps(), "one summary event per map:\n{err}");
    assert!(done.iter().all(|e| e["fields"]["read"].is_u64()), "{err}");
    assert!(!err.contains('\x1b'), "no escapes in JSON");

    // A failure is a JSON event too: a mistyped map name.
    let (code, out, err) = dualsync(&["initial-sync", "--map", "actual"], &config, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty(), "{out}");
    let events = json_lines(&err);
    let last = events.last().unwrap();
    assert_eq!(last["level"], "ERROR", "{err}");
    assert!(message(last).contains("there is no map named \"actual\""), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_logs_pure_json_on_sqlite() {
    initial_sync_logs_pure_json("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_logs_pure_json_on_postgres() {
    initial_sync_logs_pure_json("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_logs_pure_json_until_stopped() {
    let (stores, config) = small_stores("sqlite", "logging_run", "").await;
    let err_path = stores.dir.path().join("run.err");
    let out_path = stores.dir.path().join("run.out");
    let mut child = common::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_dualsync"))
            .args(["run", "--config", config.to_str().unwrap()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("RUST_LOG")
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    // Every map's initial sync done: the daemon is in live sync.
    while std::fs::read_to_string(&err_path)
        .unwrap()
        .matches("initial sync done")
        .count()
        < common::shipped_maps()
    {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the daemon exited: {}",
            std::fs::read_to_string(&err_path).unwrap()
        );
        assert!(started.elapsed() < Duration::from_secs(120), "the daemon did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: kill(2) on our own child, not reaped yet.
    unsafe { libc::kill(child.0.id() as i32, SIGTERM) };
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let err = std::fs::read_to_string(&err_path).unwrap();
    let out = std::fs::read_to_string(&out_path).unwrap();
    assert!(out.is_empty(), "`run` in JSON mode writes nothing to stdout: {out}");
    let events = json_lines(&err);
    assert!(events.iter().any(|e| message(e) == "dualsync started"), "{err}");
    assert!(events.iter().any(|e| message(e) == "stopped"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_maps_are_json_events() {
    let (stores, config) = small_stores("sqlite", "logging_maps", "").await;
    let maps = stores.dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    for file in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")).unwrap() {
        let path = file.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.ends_with("projects.toml") {
            text.push_str("\nbogus_key = 1\n");
        }
        std::fs::write(maps.join(path.file_name().unwrap()), text).unwrap();
    }
    let maps_env = maps.to_str().unwrap();
    for command in ["run", "initial-sync"] {
        let (code, out, err) = dualsync(&[command], &config, &[("DUALSYNC_MAPS", maps_env)]);
        assert_eq!(code, Some(1), "{command}: {err}");
        assert!(out.is_empty(), "{command}: {out}");
        let events = json_lines(&err);
        let problem = events
            .iter()
            .find(|e| message(e).contains("projects.toml:") && message(e).contains("bogus_key"))
            .unwrap_or_else(|| panic!("{command}: the diagnostic is an event:\n{err}"));
        assert_eq!(problem["level"], "ERROR");
        assert!(
            message(events.last().unwrap()).contains("are invalid"),
            "{command}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_logs_have_no_escapes_off_a_terminal() {
    let (_stores, config) = small_stores("sqlite", "logging_human", "").await;
    let (code, out, err) = dualsync(&["initial-sync"], &config, &[("DUALSYNC_LOG__FORMAT", "human")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains('\x1b'), "no ANSI escapes on a pipe: {err:?}");
    assert!(
        err.contains(" INFO ") && err.contains("initial sync done map=projects"),
        "{err}"
    );
    // The summary table the command prints, one line per map, on stdout.
    assert_eq!(out.lines().count(), common::shipped_maps(), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("projects ") && l.contains("read")),
        "{out}"
    );
}

/// Runs `dualsync ARGS --config CONFIG` on a pseudo-terminal (`script`), human logs: what the
/// terminal received.
fn on_a_terminal(args: &str, config: &Path, no_color: bool) -> String {
    let bin = env!("CARGO_BIN_EXE_dualsync");
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        &format!("{bin} {args} --config {}", config.display()),
        "/dev/null",
    ])
    .env("DUALSYNC_LOG__FORMAT", "human")
    .env_remove("RUST_LOG")
    .env_remove("NO_COLOR")
    .stdin(Stdio::null());
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd
        .output()
        .expect("script (util-linux) runs the command on a pseudo-terminal");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Whether `text` holds an ANSI color or style sequence (`ESC [ ... m`).
fn has_colors(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[')
            .and_then(|r| r.find(|c: char| !(c.is_ascii_digit() || c == ';')).map(|i| &r[i..]))
            .is_some_and(|r| r.starts_with('m'))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colors_on_a_terminal_unless_no_color() {
    let (_stores, config) = small_stores("sqlite", "logging_tty", "").await;
    let colored = on_a_terminal("initial-sync --map projects", &config, false);
    assert!(has_colors(&colored), "colors on a terminal: {colored:?}");
    assert!(colored.contains("initial sync done"), "{colored:?}");
    let plain = on_a_terminal("initial-sync --map projects", &config, true);
    assert!(!has_colors(&plain), "NO_COLOR: no colors: {plain:?}");
    // The bar of the map (it has a write-back pass) came and went; the log lines stand on
    // lines of their own.
    assert!(plain.contains("pass 2/2 (write-back)"), "{plain:?}");
    let lines: Vec<&str> = plain.split(['\r', '\n']).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("INFO dualsync::daemon: initial sync done map=projects")),
        "{plain:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains(" INFO ") && l.contains("(write-back)")),
        "a log line glued onto the bar: {plain:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_overrides_log_level() {
    let (_stores, config) = small_stores("sqlite", "logging_rust_log", "").await;
    let levels = |env: &[(&str, &str)]| {
        let (code, _, err) = dualsync(&["initial-sync", "--map", "projects"], &config, env);
        assert_eq!(code, Some(0), "{err}");
        let events = json_lines(&err);
        let mut levels: Vec<String> = events
            .iter()
            .map(|e| e["level"].as_str().unwrap().to_string())
            .collect();
        levels.sort();
        levels.dedup();
        (levels, events)
    };
    let (plain, events) = levels(&[]);
    assert_eq!(plain, ["INFO"], "log.level = info by default");
    assert_eq!(events[0]["fields"]["filter_from"], "log.level");
    let (debug, events) = levels(&[("RUST_LOG", "debug")]);
    assert!(
        debug.contains(&"DEBUG".to_string()),
        "RUST_LOG=debug adds debug events: {debug:?}"
    );
    assert_eq!(events[0]["fields"]["filter_from"], "RUST_LOG");
    assert_eq!(events[0]["fields"]["filter"], "debug");
    // RUST_LOG wins over log.level in both directions.
    let (quiet, _) = levels(&[("RUST_LOG", "warn"), ("DUALSYNC_LOG__LEVEL", "debug")]);
    assert!(quiet.iter().all(|l| l == "WARN" || l == "ERROR"), "{quiet:?}");

    let (code, out, err) = dualsync(&["initial-sync"], &config, &[("RUST_LOG", "dualsync=loud")]);
    assert_eq!(code, Some(2), "a broken RUST_LOG is refused: {out}{err}");
    assert!(
        err.contains("RUST_LOG=\"dualsync=loud\"") && err.contains("unset RUST_LOG"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_line_names_version_config_and_redacted_urls() {
    let mut stores = DaemonStores::new("sqlite", "logging_start").await;
    // A PostgreSQL store with a password where nothing listens: the start line comes first.
    stores.operational = "postgres://dualsync:s3cr3t-pw@127.0.0.1:1/operational".into();
    let config = stores.write_config(
        false,
        "[retry]\ninitial_delay_ms = 10\nmax_delay_ms = 20\nmax_attempts = 1\n",
    );
    let (code, out, err) = dualsync(&["initial-sync"], &config, &[]);
    assert_eq!(code, Some(1), "the store is down: {err}");
    assert!(out.is_empty(), "{out}");
    assert!(!err.contains("s3cr3t-pw"), "the password never reaches the log:\n{err}");
    let events = json_lines(&err);
    let start = &events[0];
    assert_eq!(message(start), "dualsync starting", "{err}");
    let fields = &start["fields"];
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(fields["command"], "initial-sync");
    assert_eq!(
        fields["config"].as_str().unwrap(),
        std::fs::canonicalize(&config).unwrap().display().to_string()
    );
    assert_eq!(
        fields["operational"], "postgres://dualsync:***@127.0.0.1:1/operational",
        "{err}"
    );
    assert_eq!(fields["state"].as_str().unwrap(), stores.state, "{err}");
    assert_eq!(events.last().unwrap()["level"], "ERROR", "{err}");
}
