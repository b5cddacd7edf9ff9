//! `dualsync run` and the commands that act on a running installation: wiring the
//! configuration, the stores, the state store and the maps into an `Engine`; first-start demo
//! set-up; initial sync of maps that never synced; live sync until SIGTERM or Ctrl-C; and the
//! status report read from the state store.

use std::sync::Arc;

use tokio::sync::watch;

pub mod ha;
pub mod instance;
pub mod progress;
pub mod prune;
pub mod reconcile;
pub mod reload;
mod systemd;

use crate::config::{Config, HaMode};
use crate::demo::{SeedOptions, load};
use crate::engine::Engine;
use crate::engine::retry::retry;
use crate::engine::state::{CheckpointStatus, StateStore};
use crate::error::{Context, Error, Kind, no_such_map};
use crate::store::{self, Setup, Store, StoreError};
use crate::tablemap::{self, ValidMap, model::Side};

/// Why the daemon could not start, as shown to the operator.
pub type StartError = crate::error::Error;

/// Loads and validates the maps; invalid maps are printed with every problem.
pub fn load_maps(config: &Config) -> Result<Vec<ValidMap>, StartError> {
    let loaded = tablemap::load(std::slice::from_ref(&config.maps))
        .map_err(|e| Error::new(Kind::Maps, e.to_string()).with_hint("check `maps` in the configuration"))?;
    if !loaded.is_valid() {
        for d in &loaded.diagnostics {
            crate::logging::problem(&d.to_string());
        }
        return Err(
            Error::new(Kind::Maps, format!("the maps in {} are invalid", config.maps.display()))
                .with_hint("fix them (`dualsync validate` shows every problem)"),
        );
    }
    Ok(loaded.valid)
}

/// The entities the maps use on one side, sorted, each once.
pub fn entities(maps: &[ValidMap], side: Side) -> Vec<&str> {
    let mut v: Vec<&str> = maps
        .iter()
        .map(ValidMap::map)
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
async fn is_empty(store: &dyn Store, maps: &[ValidMap]) -> Result<bool, StoreError> {
    for entity in entities(maps, Side::Operational) {
        let desc = store.describe(entity).await?.project(&[])?;
        if !store.scan(&desc, None, 1).await?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The daemon's engine: opens both stores (with `demo`: creates and migrates them, and seeds
/// an empty operational store), installs change capture, and opens (creating) the state store.
pub async fn build_engine(config: &Config, maps: &[ValidMap]) -> Result<Engine, StartError> {
    for folder in config.sqlite_folders() {
        std::fs::create_dir_all(&folder)
            .map_err(|e| Error::failed(format!("cannot create {}", folder.display())).with_source(e))?;
    }
    // A store that is busy or briefly unreachable at start is waited for, as in live sync.
    let policy: crate::engine::retry::RetryPolicy = (&config.retry).into();
    let open = |store: &'static str, side: Side| async move {
        let setup = match config.demo {
            true => Setup::Reference(side),
            false => Setup::Existing,
        };
        let opened = retry(&policy, "open", || store::open(config.store(side), setup)).await;
        opened.context(store)
    };
    let op = open("operational store", Side::Operational).await?;
    let acct = open("accounting store", Side::Accounting).await?;
    for (side, store) in [(Side::Operational, &op), (Side::Accounting, &acct)] {
        let entities = entities(maps, side);
        retry(&policy, "install change capture", || store.install_capture(&entities))
            .await
            .context(&format!("{} store", side.name()))?;
    }
    if config.demo && is_empty(op.as_ref(), maps).await.context("operational store")? {
        tracing::info!("the operational store is empty: seeding the demo data");
        let opts = SeedOptions::default();
        let a = load::seed(op.as_ref(), Side::Operational, &opts)
            .await
            .context("seeding the operational store")?;
        let b = load::seed(acct.as_ref(), Side::Accounting, &opts)
            .await
            .context("seeding the accounting store")?;
        tracing::info!(
            operational_rows = a.total(),
            accounting_rows = b.total(),
            "demo data seeded"
        );
    }
    let state = StateStore::open(&config.state.url).await.context("state store")?;
    assemble(config, op, acct, state, maps)
}

/// An engine for an admin command: the stores and the state store as they are (nothing is
/// created, migrated, installed or seeded).
pub async fn admin_engine(config: &Config, maps: &[ValidMap], state: StateStore) -> Result<Engine, StartError> {
    let op = store::open(&config.operational, Setup::Existing)
        .await
        .context("operational store")?;
    let acct = store::open(&config.accounting, Setup::Existing)
        .await
        .context("accounting store")?;
    assemble(config, op, acct, state, maps)
}

/// The engine over opened stores, with the configured limits and policies.
fn assemble(
    config: &Config,
    op: Arc<dyn Store>,
    acct: Arc<dyn Store>,
    state: StateStore,
    maps: &[ValidMap],
) -> Result<Engine, StartError> {
    let mut engine = Engine::new(op, acct, state, maps, config.companies.clone()).with_write_limits(
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
    // In a group: only the maps this replica holds, each once the maps it requires have
    // finished their initial syncs, wherever those ran.
    let mut done_maps = match engine.state.fence() {
        Some(_) => engine.state.done_maps().await.context("state store")?,
        None => Default::default(),
    };
    for name in maps {
        let done =
            matches!(engine.state.get_checkpoint(&name).await, Ok(Some(c)) if c.status == CheckpointStatus::Done);
        if done && names.is_empty() {
            continue;
        }
        let _working = match engine.state.fence() {
            None => None,
            Some(fence) => {
                let map = engine.map(&name).expect("listed from the engine's maps");
                if !map.requires.iter().all(|r| done_maps.contains(r)) {
                    continue;
                }
                match fence.enter(&fence.map_unit(&name)) {
                    Some(working) => Some(working),
                    None => continue,
                }
            }
        };
        if done {
            // Asked for by name: run it again (records already in sync count as unchanged).
            engine.state.clear_checkpoint(&name).await.context("state store")?;
        }
        tracing::info!(map = %name, "initial sync started");
        let mut progress = progress::Progress::new(&name, output.bar);
        let counts = engine.initial_sync(&name, &mut |p| progress.update(p)).await;
        progress.finish();
        let counts = match counts {
            Ok(counts) => counts,
            Err(e) if e.kind == store::ErrorKind::Fenced => {
                tracing::warn!(map = %name, error = %e, "initial sync stopped: another replica holds the map now");
                continue;
            }
            Err(e) => return Err(Error::failed(format!("initial sync of {name}: {e}"))),
        };
        done_maps.insert(name.clone());
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
    // Signals are listened for from the start: a SIGTERM while the daemon starts stops it too.
    let (stop_tx, stop) = watch::channel(false);
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel::<&'static str>(1);
    tokio::spawn(signals(stop_tx, reload_tx.clone()));
    let maps = load_maps(config)?;
    let state = StateStore::open(&config.state.url).await.context("state store")?;
    // A single daemon holds the state store's lock; a replica of a group holds its id's lock
    // and coordinates with the others through leases (`ha`).
    let group = (config.ha.mode != HaMode::Single).then(|| Arc::new(ha::Group::new(&config.ha)));
    let lock = Arc::new(match &group {
        None => instance::take(&state).await?,
        Some(g) => instance::take_replica(&state, &g.id).await?,
    });
    let heartbeat = instance::spawn_heartbeat(lock.clone());
    // The coordinator stops after the engine: the last batch commits before the leases go.
    let (ha_stop_tx, ha_stop) = watch::channel(false);
    let coordinator = group.as_ref().map(|g| {
        g.set_units(maps.iter().map(|m| m.map().name.as_str()), &ha::processes(config));
        tokio::spawn(ha::coordinate(g.clone(), state.clone(), config.ha.clone(), ha_stop))
    });
    let result = match crate::admin::start(config, stop.clone()).await {
        Ok(admin) => run_locked(config, &maps, stop, reload_tx, reload_rx, admin, group).await,
        Err(e) => Err(e),
    };
    let _ = ha_stop_tx.send(true);
    if let Some(c) = coordinator {
        let _ = c.await;
    }
    heartbeat.abort();
    let _ = heartbeat.await;
    if let Ok(lock) = Arc::try_unwrap(lock)
        && let Err(e) = lock.release().await
    {
        tracing::warn!(error = %e, "recording the clean stop failed");
    }
    result
}

async fn run_locked(
    config: &Config,
    maps: &[ValidMap],
    mut stop: watch::Receiver<bool>,
    reload_tx: tokio::sync::mpsc::Sender<&'static str>,
    mut reload_rx: tokio::sync::mpsc::Receiver<&'static str>,
    admin: Option<crate::admin::AdminHandle>,
    group: Option<Arc<ha::Group>>,
) -> Result<(), StartError> {
    let mut engine = tokio::select! {
        engine = build_engine(config, maps) => engine?,
        _ = stop.changed() => {
            tracing::info!("stopped before the stores were opened");
            return Ok(());
        }
    };
    // In a group, every progress commit is checked against this replica's leases.
    if let Some(g) = &group {
        engine.state = engine.state.clone().with_fence(g.fence.clone());
    }
    let mut assignment = group.as_ref().map(|g| g.watch());
    let maps = reload::load_checked(&config.maps, &engine).await.map_err(|problems| {
        for p in &problems {
            crate::logging::problem(p);
        }
        Error::new(
            Kind::Maps,
            format!("the maps in {} do not fit the stores", config.maps.display()),
        )
        .with_hint("fix them (`dualsync validate --operational URL --accounting URL` shows every problem)")
    })?;
    reload::adopt(&mut engine, &maps).await?;
    if let Some(admin) = &admin {
        admin.attach(&engine, reload_tx.clone());
    }
    tracing::info!(maps = engine.maps.len(), "dualsync started");
    systemd::ready(&format!("{} maps loaded", engine.maps.len()));
    systemd::spawn_watchdog();
    tokio::spawn(watch_maps(config.maps.clone(), reload_tx.clone()));
    if config.sync.prune_seconds > 0 {
        // The engine's own stores: pruning opens no pools of its own.
        let stores = [
            (Side::Operational, engine.operational.clone()),
            (Side::Accounting, engine.accounting.clone()),
        ];
        tokio::spawn(prune::run(
            engine.state.clone(),
            stores,
            std::time::Duration::from_secs(config.sync.prune_seconds),
            stop.clone(),
        ));
    }
    if config.processes.enabled {
        let db = crate::accounting::db::Db::open(&config.accounting.url)
            .await
            .context("accounting store")?;
        // Runs a killed daemon left `Running` are closed now, even of processes that run only
        // by hand (a process running elsewhere right now keeps its runs).
        use crate::accounting::recover::{self, FORECASTS, IMPORT, POST};
        for process in [FORECASTS, IMPORT, POST] {
            if let Err(recover::NotStarted::Failed(e)) = recover::begin(&engine.state, &db, process).await {
                tracing::warn!(process = process.job, error = %e, "closing aborted job-log runs failed");
            }
        }
        crate::accounting::check::at_start(&db, &engine.state, &config.companies).await;
        let operational = match config.processes.approve_seconds > 0 {
            true => Some(
                crate::accounting::db::Db::open(&config.operational.url)
                    .await
                    .context("operational store")?,
            ),
            false => None,
        };
        tokio::spawn(crate::accounting::schedule::run(
            db,
            operational,
            engine.state.clone(),
            config.processes.clone(),
            stop.clone(),
        ));
    }
    if config.reconcile.every_seconds > 0 {
        tokio::spawn(reconcile::run(config.clone(), engine.state.clone(), stop.clone()));
    }
    loop {
        tokio::select! {
            r = initial_sync(&engine, &[], progress::Output::daemon(config)) => r?,
            _ = stop.changed() => {
                // The batch being written is dropped with its transaction; the checkpoint
                // of the last committed batch stays, and the next start resumes from it.
                tracing::info!("initial sync interrupted: it resumes from its last checkpoint at the next start");
                break;
            }
        }
        // Live sync until a stop or a reload: either lets the current batch finish. In a
        // group, also until this replica gains or loses a unit, or (while a map it holds waits
        // for its initial sync) for a while: the initial syncs above run again.
        let why = {
            let (round_tx, round_rx) = watch::channel(false);
            let live = engine.run_live(round_rx);
            tokio::pin!(live);
            let pending = match &group {
                Some(_) => ha::waiting_maps(&engine).await,
                None => 0,
            };
            let look_again = async {
                match &mut assignment {
                    Some(rx) => tokio::select! {
                        _ = rx.changed() => {}
                        _ = tokio::time::sleep(config.ha.renew()), if pending > 0 => {}
                    },
                    None => std::future::pending::<()>().await,
                }
            };
            let why = tokio::select! {
                _ = &mut live => None,
                _ = stop.changed() => {
                    tracing::info!("live sync stops after its current batch");
                    None
                }
                why = reload_rx.recv() => why,
                _ = look_again => Some(ha::LOOK_AGAIN),
            };
            let _ = round_tx.send(true);
            live.await;
            why
        };
        match why {
            Some(ha::LOOK_AGAIN) => {}
            Some(why) => {
                tracing::info!(reason = why, "reloading the map files");
                reload::reload(&mut engine, &config.maps).await;
                if let Some(g) = &group {
                    g.set_units(engine.maps.iter().map(|m| m.name.as_str()), &ha::processes(config));
                }
                if let Some(admin) = &admin {
                    admin.attach(&engine, reload_tx.clone());
                }
            }
            None => break,
        }
    }
    systemd::stopping();
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM and Ctrl-C stop the daemon; SIGHUP reloads the maps. The handlers are in place
/// when this returns (not only when the returned task first runs), so a signal sent right
/// after start is never fatal.
fn signals(
    stop: watch::Sender<bool>,
    reload: tokio::sync::mpsc::Sender<&'static str>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let streams = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()), signal(SignalKind::hangup()))
    };
    async move {
        #[cfg(unix)]
        {
            let (Ok(mut term), Ok(mut hup)) = streams else {
                tracing::error!("cannot listen for signals: stop the daemon with SIGKILL");
                return std::future::pending().await;
            };
            let name = loop {
                tokio::select! {
                    _ = term.recv() => break "SIGTERM",
                    _ = tokio::signal::ctrl_c() => break "SIGINT",
                    _ = hup.recv() => {
                        let _ = reload.try_send("SIGHUP");
                    }
                }
            };
            tracing::info!(signal = name, "stop requested");
        }
        #[cfg(not(unix))]
        {
            let _ = reload;
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("stop requested");
        }
        let _ = stop.send(true);
    }
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
