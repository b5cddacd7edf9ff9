//! `dualsync run` and the commands that act on a running installation: wiring the
//! configuration, the stores, the state store and the maps into an `Engine`; first-start demo
//! set-up; initial sync of maps that never synced; live sync until SIGTERM or Ctrl-C; and the
//! status report read from the state store.

use std::sync::Arc;

use tokio::sync::watch;

pub mod instance;
pub mod progress;
pub mod prune;
pub mod reload;
mod status;

pub use status::{StatusReport, status};

use crate::config::Config;
use crate::engine::Engine;
use crate::engine::retry::retry;
use crate::engine::state::{CheckpointStatus, DeadLetterStatus, MapState, StateStore};
use crate::store::seed::{SeedOptions, load};
use crate::store::sql::{SqlStore, init};
use crate::store::{Store, StoreError};
use crate::tablemap::{self, TableMap, model::Side};

/// Why the daemon could not start, as shown to the operator.
pub type StartError = String;

/// Loads and validates the maps; invalid maps are printed with every problem.
pub fn load_maps(config: &Config) -> Result<Vec<TableMap>, StartError> {
    let loaded = tablemap::load(std::slice::from_ref(&config.maps)).map_err(|e| e.to_string())?;
    if !loaded.is_valid() {
        for d in &loaded.diagnostics {
            crate::logging::problem(&d.to_string());
        }
        return Err(format!(
            "the maps in {} are invalid; fix them (dualsync validate)",
            config.maps.display()
        ));
    }
    Ok(loaded.maps().cloned().collect())
}

/// The entities the maps use on one side, sorted, each once.
pub fn entities(maps: &[TableMap], side: Side) -> Vec<&str> {
    let mut v: Vec<&str> = maps
        .iter()
        .map(|m| match side {
            Side::Operational => m.operational.entity.as_str(),
            Side::Accounting => m.accounting.entity.as_str(),
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether none of the maps' operational entities holds a record yet.
async fn is_empty(store: &dyn Store, maps: &[TableMap]) -> Result<bool, StoreError> {
    for entity in entities(maps, Side::Operational) {
        let desc = store.describe(entity).await?.project(&[])?;
        if !store.scan(&desc, None, 1).await?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Opens (with `demo`: creates, migrates and seeds) both stores and the state store.
pub async fn build_engine(config: &Config, maps: &[TableMap]) -> Result<Engine, StartError> {
    for folder in config.sqlite_folders() {
        std::fs::create_dir_all(&folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    }
    // A store that is busy or briefly unreachable at start is waited for, as in live sync.
    let policy: crate::engine::retry::RetryPolicy = (&config.retry).into();
    let open = |url: String, side: Side| async move {
        let store = retry(&policy, "open", || async {
            if config.demo {
                init::init(&url, side).await
            } else {
                SqlStore::open(&url).await
            }
        })
        .await;
        store.map_err(|e| format!("{} store: {e}", side.name()))
    };
    let op = open(config.operational.url.clone(), Side::Operational).await?;
    let acct = open(config.accounting.url.clone(), Side::Accounting).await?;
    for (side, store) in [(Side::Operational, &op), (Side::Accounting, &acct)] {
        let entities = entities(maps, side);
        retry(&policy, "install change capture", || store.install_capture(&entities))
            .await
            .map_err(|e| format!("{} store: {e}", side.name()))?;
    }
    if config.demo && is_empty(&op, maps).await.map_err(|e| e.to_string())? {
        tracing::info!("the operational store is empty: seeding the demo data");
        let opts = SeedOptions::default();
        let a = load::seed(&op, Side::Operational, &opts)
            .await
            .map_err(|e| e.to_string())?;
        let b = load::seed(&acct, Side::Accounting, &opts)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            operational_rows = a.total(),
            accounting_rows = b.total(),
            "demo data seeded"
        );
    }
    let state = StateStore::open(&config.state.url)
        .await
        .map_err(|e| format!("state store: {e}"))?;
    let mut engine = Engine::new(Arc::new(op), Arc::new(acct), state, maps, config.companies.clone())?
        .with_write_limits(
            config.operational.max_writes_per_second,
            config.accounting.max_writes_per_second,
        );
    engine.retry = (&config.retry).into();
    engine.batch_size = config.sync.batch_size;
    engine.park_timeout = config.park_timeout();
    engine.alert_max_errors = u64::from(config.alerts.max_errors);
    engine.alert_window = std::time::Duration::from_secs(config.alerts.window_seconds);
    Ok(engine)
}

/// Initial sync of `names` (all maps that have not finished one when empty), in dependency order.
/// `output` says whether a progress bar is drawn on standard error (else progress is logged)
/// and whether each map's summary line goes to standard output (see `progress::Output`).
pub async fn initial_sync(engine: &Engine, names: &[String], output: progress::Output) -> Result<(), StartError> {
    let maps: Vec<String> = engine
        .maps
        .iter()
        .map(|m| m.name.clone())
        .filter(|n| names.is_empty() || names.contains(n))
        .collect();
    let known: Vec<&str> = engine.maps.iter().map(|m| m.name.as_str()).collect();
    if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(no_such_map(unknown, &known));
    }
    for name in maps {
        let done =
            matches!(engine.state.get_checkpoint(&name).await, Ok(Some(c)) if c.status == CheckpointStatus::Done);
        if done && names.is_empty() {
            continue;
        }
        if done {
            // Asked for by name: run it again (records already in sync count as unchanged).
            engine.state.clear_checkpoint(&name).await.map_err(|e| e.to_string())?;
        }
        tracing::info!(map = %name, "initial sync started");
        let mut progress = progress::Progress::new(&name, output.bar);
        let counts = engine
            .initial_sync(&name, &mut |p| progress.update(p))
            .await
            .map_err(|e| format!("initial sync of {name}: {e}"));
        progress.finish();
        let counts = counts?;
        tracing::info!(
            map = %name, read = counts.read, written = counts.written, unchanged = counts.unchanged,
            skipped = counts.skipped, parked = counts.parked, failed = counts.failed, "initial sync done"
        );
        if output.summary {
            println!(
                "{name:<26} read {:>8}  written {:>8}  unchanged {:>8}  skipped {:>6}  parked {:>6}  failed {:>6}",
                counts.read, counts.written, counts.unchanged, counts.skipped, counts.parked, counts.failed
            );
        }
    }
    Ok(())
}

/// The daemon: initial sync of maps that never synced, then live sync until SIGTERM/Ctrl-C.
/// Edited map files (or SIGHUP) reload the maps between batches. Refused while another daemon
/// uses the same state store; records a heartbeat while it runs and a clean stop at the end.
pub async fn run(config: &Config) -> Result<(), StartError> {
    let maps = load_maps(config)?;
    let state = StateStore::open(&config.state.url)
        .await
        .map_err(|e| format!("state store: {e}"))?;
    let lock = Arc::new(instance::take(&state).await?);
    let heartbeat = instance::spawn_heartbeat(lock.clone());
    let result = run_locked(config, &maps).await;
    heartbeat.abort();
    let _ = heartbeat.await;
    if let Ok(lock) = Arc::try_unwrap(lock)
        && let Err(e) = lock.release().await
    {
        tracing::warn!(error = %e, "recording the clean stop failed");
    }
    result
}

async fn run_locked(config: &Config, maps: &[TableMap]) -> Result<(), StartError> {
    let mut engine = build_engine(config, maps).await?;
    let maps = reload::load_checked(&config.maps, &engine).await.map_err(|problems| {
        for p in &problems {
            crate::logging::problem(p);
        }
        format!(
            "the maps in {} do not fit the stores; fix them (dualsync validate --operational URL --accounting URL)",
            config.maps.display()
        )
    })?;
    reload::adopt(&mut engine, &maps).await?;
    tracing::info!(maps = engine.maps.len(), "dualsync started");
    let (stop_tx, mut stop) = watch::channel(false);
    let (reload_tx, mut reload_rx) = tokio::sync::mpsc::channel::<&'static str>(1);
    tokio::spawn(signals(stop_tx, reload_tx.clone()));
    tokio::spawn(watch_maps(config.maps.clone(), reload_tx));
    if config.sync.prune_seconds > 0 {
        let open = |side: Side, url: String| async move {
            SqlStore::open(&url)
                .await
                .map_err(|e| format!("{} store: {e}", side.name()))
        };
        let stores = [
            (
                Side::Operational,
                open(Side::Operational, config.operational.url.clone()).await?,
            ),
            (
                Side::Accounting,
                open(Side::Accounting, config.accounting.url.clone()).await?,
            ),
        ];
        tokio::spawn(prune::run(
            engine.state.clone(),
            stores,
            std::time::Duration::from_secs(config.sync.prune_seconds),
            stop.clone(),
        ));
    }
    if config.processes.enabled {
        let store = SqlStore::open(&config.accounting.url)
            .await
            .map_err(|e| format!("accounting store: {e}"))?;
        let db = crate::accounting::db::Db::new(&store);
        // Runs a killed daemon left `Running` are closed now, even of processes that run only
        // by hand (a process running elsewhere right now keeps its runs).
        use crate::accounting::recover::{self, FORECASTS, IMPORT, POST};
        for process in [FORECASTS, IMPORT, POST] {
            if let Err(recover::NotStarted::Failed(e)) = recover::begin(&engine.state, &db, process).await {
                tracing::warn!(process = process.job, error = %e, "closing aborted job-log runs failed");
            }
        }
        tokio::spawn(crate::accounting::schedule::run(
            db,
            engine.state.clone(),
            config.processes.clone(),
            stop.clone(),
        ));
    }
    loop {
        tokio::select! {
            r = initial_sync(&engine, &[], progress::Output::daemon(config)) => r?,
            _ = stop.changed() => return Ok(()),
        }
        // Live sync until a stop or a reload: either lets the current batch finish.
        let why = {
            let (round_tx, round_rx) = watch::channel(false);
            let live = engine.run_live(round_rx);
            tokio::pin!(live);
            let why = tokio::select! {
                _ = &mut live => None,
                _ = stop.changed() => None,
                why = reload_rx.recv() => why,
            };
            let _ = round_tx.send(true);
            live.await;
            why
        };
        match why {
            Some(why) => {
                tracing::info!(reason = why, "reloading the map files");
                reload::reload(&mut engine, &config.maps).await;
            }
            None => break,
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM and Ctrl-C stop the daemon; SIGHUP reloads the maps.
async fn signals(stop: watch::Sender<bool>, reload: tokio::sync::mpsc::Sender<&'static str>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
            tracing::error!("cannot listen for signals: stop the daemon with SIGKILL");
            return std::future::pending().await;
        };
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
                _ = hup.recv() => {
                    let _ = reload.try_send("SIGHUP");
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = reload;
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping: finishing the current batch");
    let _ = stop.send(true);
}

/// Asks for a reload whenever a map file is edited, added or removed.
async fn watch_maps(path: std::path::PathBuf, reload: tokio::sync::mpsc::Sender<&'static str>) {
    let mut last = reload::fingerprint(&path);
    loop {
        tokio::time::sleep(reload::POLL).await;
        let now = reload::fingerprint(&path);
        if now != last {
            last = now;
            if reload.send("map files edited").await.is_err() {
                return;
            }
        }
    }
}

/// The error for a map name that is not among `names`: the nearest name when it looks like a
/// typo, and every map.
pub fn no_such_map(name: &str, names: &[&str]) -> StartError {
    let nearest = crate::tablemap::diagnostic::did_you_mean(name, names.iter().copied())
        .map(|n| format!("; did you mean \"{n}\"?"))
        .unwrap_or_default();
    format!("there is no map named \"{name}\"{nearest} (maps: {})", names.join(", "))
}

/// Pauses or resumes a map. A paused map's changes wait in the change log and are caught up in
/// order when it is resumed; a running daemon sees the new state at its next round.
pub async fn set_paused(config: &Config, map: &str, paused: bool) -> Result<String, StartError> {
    let maps = load_maps(config)?;
    if !maps.iter().any(|m| m.name == map) {
        let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
        return Err(no_such_map(map, &names));
    }
    let state = StateStore::open(&config.state.url)
        .await
        .map_err(|e| format!("state store: {e}"))?;
    let (new, message) = if paused {
        (MapState::Paused, Some("paused by an operator"))
    } else {
        (MapState::Running, None)
    };
    state
        .set_map_state(map, new, message)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!("{map}: {}", new.as_str()))
}

/// The dead-letter list (open ones, or all with `all`), a line each.
pub async fn errors_list(config: &Config, all: bool) -> Result<String, StartError> {
    let state = StateStore::open(&config.state.url)
        .await
        .map_err(|e| format!("state store: {e}"))?;
    let status = if all { None } else { Some(DeadLetterStatus::Open) };
    let letters = state.list_dead_letters(None, status).await.map_err(|e| e.to_string())?;
    let mut out = format!(
        "{:>6}  {:<24} {:<12} {:<9} {:>8}  {}\n",
        "id", "map", "side", "status", "attempts", "error"
    );
    for l in &letters {
        out.push_str(&format!(
            "{:>6}  {:<24} {:<12} {:<9} {:>8}  {}\n",
            l.id,
            l.map,
            l.side,
            l.status.as_str(),
            l.attempts,
            l.message
        ));
    }
    out.push_str(&format!(
        "{} record error{}\n",
        letters.len(),
        if letters.len() == 1 { "" } else { "s" }
    ));
    Ok(out)
}

/// One dead letter in full: the record, its payload, the error and what to do.
pub async fn errors_show(config: &Config, id: i64) -> Result<String, StartError> {
    let state = StateStore::open(&config.state.url)
        .await
        .map_err(|e| format!("state store: {e}"))?;
    let l = state
        .get_dead_letter(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no record error {id}; see `dualsync errors list --all`"))?;
    Ok(format!(
        "error {}\n  map:      {}\n  side:     {} (where the record was read)\n  record:   {}\n  kind:     {}\n  \
         message:  {}\n  hint:     {}\n  attempts: {}\n  first:    {}\n  last:     {}\n  status:   {}\n  payload:  {}\n",
        l.id,
        l.map,
        l.side,
        l.record_key,
        l.error_kind,
        l.message,
        l.hint.as_deref().unwrap_or("-"),
        l.attempts,
        l.first_seen.to_rfc3339(),
        l.last_seen.to_rfc3339(),
        l.status.as_str(),
        l.payload.as_deref().unwrap_or("-"),
    ))
}

/// Syncs the records of open dead letters again (`id`, or all open ones). A record that now
/// syncs resolves its letter; one that fails again stays open with one more attempt.
pub async fn errors_retry(config: &Config, id: Option<i64>) -> Result<String, StartError> {
    let maps = load_maps(config)?;
    let engine = build_engine(config, &maps).await?;
    let letters = match id {
        Some(id) => vec![
            engine
                .state
                .get_dead_letter(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("there is no record error {id}; see `dualsync errors list --all`"))?,
        ],
        None => engine
            .state
            .list_dead_letters(None, Some(DeadLetterStatus::Open))
            .await
            .map_err(|e| e.to_string())?,
    };
    let mut tried = 0;
    for l in &letters {
        let Some(map) = engine.map(&l.map).cloned() else {
            continue;
        };
        let from = Side::from_name(&l.side);
        engine
            .state
            .set_dead_letter_status(l.id, DeadLetterStatus::Retrying)
            .await
            .map_err(|e| e.to_string())?;
        engine
            .resync(&map, from, std::slice::from_ref(&l.record_key))
            .await
            .map_err(|e| e.to_string())?;
        tried += 1;
    }
    let open = engine
        .state
        .count_open_dead_letters(None)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "retried {tried} record error{}; {open} still open\n",
        if tried == 1 { "" } else { "s" }
    ))
}
