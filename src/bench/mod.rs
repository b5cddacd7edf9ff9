//! `dualsync bench`: how fast dualsync is against the limit of its stores. For each backend
//! (SQLite, PostgreSQL) and two row counts it seeds the demo data, times a raw bulk copy of the
//! actuals into the staging table (`raw`), times dualsync's initial sync of the same actuals
//! through the shipped maps into fresh stores, and records the sync's peak memory; at the larger
//! count it then measures live-sync latency against a running daemon (`live`). Results are
//! printed and written as JSON and markdown under `bench/results/`.

mod child;
pub mod ha;
mod live;
mod raw;
mod report;
mod stores;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::demo::{SeedOptions, load};
use crate::store::Store;
use crate::store::sql::{SqlStore, init};
use crate::tablemap::{self, TableMap, model::Side};
pub use stores::Backend;

/// Where a benchmark runs and with what: shared by `bench` and `bench-ha`.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct BenchSetup {
    /// A PostgreSQL server to create the benchmark's databases on (default:
    /// $DUALSYNC_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/test).
    #[arg(long, value_name = "URL")]
    #[serde(skip)]
    pub pg_url: Option<String>,
    /// Records per batch of the dualsync runs (as `sync.batch_size`).
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    /// Seed of the demo data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Folder of the table maps.
    #[arg(long, default_value = "table-maps")]
    pub maps: PathBuf,
    /// Folder for the SQLite files, configurations and logs of the runs.
    #[arg(long, default_value = "bench/work")]
    pub work_dir: PathBuf,
    /// Folder the results are written to.
    #[arg(long, default_value = "bench/results")]
    pub out: PathBuf,
}

impl BenchSetup {
    /// The PostgreSQL server: `--pg-url`, else $DUALSYNC_TEST_PG_URL, else the local default.
    pub fn pg_url(&self) -> String {
        self.pg_url.clone().unwrap_or_else(|| {
            std::env::var("DUALSYNC_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
        })
    }
}

/// Options of `dualsync bench`.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct BenchArgs {
    /// Actuals seeded for the main measurement (with their parents).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub rows: u64,
    /// Actuals of the second, smaller run that shows memory does not grow with the row count
    /// (default: a tenth of --rows).
    #[arg(long, value_name = "N")]
    pub small_rows: Option<u64>,
    /// The backends to measure (repeatable).
    #[arg(long, value_enum, default_values_t = [Backend::Sqlite, Backend::Postgres])]
    pub backend: Vec<Backend>,
    /// Changes per second of the fixed-rate live phase.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Length of the fixed-rate live phase, in seconds (0: no live measurement).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub live_seconds: u64,
    /// Length of each rate step that looks for the highest sustained rate (0: no steps).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub step_seconds: u64,
    /// The highest rate a step tries.
    #[arg(long, default_value_t = 64_000)]
    pub max_rate: u32,
    /// New actuals of the burst after the live phases, committed in one transaction (0: no
    /// burst).
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    pub burst: u64,
    #[command(flatten)]
    #[serde(flatten)]
    pub setup: BenchSetup,
}

/// One row count on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct SizeResult {
    pub actuals_seeded: u64,
    pub seed_seconds: f64,
    pub raw: Throughput,
    pub dualsync: Throughput,
    /// dualsync rows/s divided by raw rows/s.
    pub ratio: f64,
    /// Peak resident memory of `dualsync initial-sync --map actuals`.
    pub peak_rss_mib: f64,
    /// The initial sync of the maps the actuals need (projects, tasks, contracts, ...).
    pub parents_seconds: f64,
    /// The initial sync of the remaining maps (estimates, transaction connections, ...).
    pub others_seconds: f64,
    /// `dualsync reconcile --map actuals` after the initial sync (both directions): actuals
    /// compared per second, and its peak resident memory.
    pub reconcile: Throughput,
    pub reconcile_peak_rss_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
}

impl Throughput {
    fn new(rows: u64, elapsed: Duration) -> Throughput {
        let seconds = elapsed.as_secs_f64();
        Throughput {
            rows,
            seconds,
            rows_per_second: rows as f64 / seconds.max(1e-9),
        }
    }
}

/// Everything measured on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct BackendResult {
    pub backend: Backend,
    /// The server's version and the settings that change its figures (PostgreSQL).
    pub server: Option<String>,
    pub sizes: Vec<SizeResult>,
    pub live: Option<live::LiveResult>,
    /// Peak resident memory of the daemon during the live measurement.
    pub daemon_peak_rss_mib: Option<f64>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The maps `name` needs, directly or not (not `name` itself).
fn needed_by(maps: &[TableMap], name: &str) -> Vec<String> {
    let mut needed: Vec<String> = Vec::new();
    let mut todo = vec![name.to_string()];
    while let Some(n) = todo.pop() {
        for r in maps.iter().filter(|m| m.name == n).flat_map(|m| &m.requires) {
            if !needed.contains(r) {
                needed.push(r.clone());
                todo.push(r.clone());
            }
        }
    }
    needed
}

/// Runs a `dualsync` child to its end off the async threads.
async fn run_child(args: Vec<String>, log: PathBuf) -> Result<child::Finished, String> {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        child::run(&args, &log)
    })
    .await
    .map_err(err)?
}

/// Fresh stores at one row count: seed, raw copy, dualsync initial sync; with `live`, then the
/// live measurement against `dualsync run`.
async fn measure(
    args: &BenchArgs,
    maps: &[TableMap],
    backend: Backend,
    pg_url: &str,
    rows: u64,
    live: bool,
) -> Result<(SizeResult, Option<(live::LiveResult, f64)>), String> {
    let name = backend.name();
    let tag = format!("r{rows}");
    let s = stores::BenchStores::fresh(backend, &args.setup.work_dir, pg_url, &tag).await?;
    let actuals = maps
        .iter()
        .find(|m| m.name == "actuals")
        .ok_or("the maps have no `actuals` map")?;
    let opts = SeedOptions {
        actuals: rows,
        seed: args.setup.seed,
    };

    eprintln!("{name}: seeding {rows} actuals with their parents");
    let started = Instant::now();
    let op = init::init(&s.operational, Side::Operational).await.map_err(err)?;
    load::seed(&op, Side::Operational, &opts).await.map_err(err)?;
    op.close().await;
    for url in [&s.raw, &s.accounting] {
        let acct = init::init(url, Side::Accounting).await.map_err(err)?;
        load::seed(&acct, Side::Accounting, &opts).await.map_err(err)?;
        acct.close().await;
    }
    let seed_seconds = started.elapsed().as_secs_f64();

    eprintln!("{name}: raw copy");
    let (raw_rows, raw_time) = raw::copy(actuals, &s.operational, &s.raw).await?;
    let raw = Throughput::new(raw_rows, raw_time);
    eprintln!(
        "  {raw_rows} rows in {:.2} s ({:.0} rows/s)",
        raw.seconds, raw.rows_per_second
    );

    eprintln!("{name}: dualsync initial sync");
    let config = s.write_config(&args.setup.maps, args.setup.batch_size)?;
    let log = s.dir.join("dualsync.log");
    let base = vec![
        "initial-sync".to_string(),
        "--config".into(),
        config.display().to_string(),
    ];
    let with_maps = |names: &[String]| {
        let mut a = base.clone();
        for n in names {
            a.extend(["--map".to_string(), n.clone()]);
        }
        a
    };
    let parents = run_child(with_maps(&needed_by(maps, "actuals")), log.clone()).await?;
    let sync = run_child(with_maps(&["actuals".to_string()]), log.clone()).await?;
    let acct = SqlStore::open(&s.accounting).await.map_err(err)?;
    let staged = acct.count(&actuals.accounting.entity).await.map_err(err)?;
    acct.close().await;
    if staged != raw_rows {
        return Err(format!(
            "{name}: dualsync staged {staged} actuals but the raw copy {raw_rows}; the comparison is void (log: {})",
            log.display()
        ));
    }
    let dualsync = Throughput::new(staged, sync.elapsed);
    eprintln!(
        "  {staged} rows in {:.2} s ({:.0} rows/s), peak memory {:.0} MiB",
        dualsync.seconds,
        dualsync.rows_per_second,
        mib(sync.peak_rss)
    );
    let others = run_child(base.clone(), log.clone()).await?;
    // Reconcile finds the stores in sync (exit 0; drift would fail the run).
    eprintln!("{name}: dualsync reconcile --map actuals");
    let reconcile_args = vec![
        "reconcile".to_string(),
        "--config".into(),
        config.display().to_string(),
        "--map".into(),
        "actuals".into(),
    ];
    let reconciled = run_child(reconcile_args, log.clone()).await?;
    let reconcile = Throughput::new(staged, reconciled.elapsed);
    eprintln!(
        "  {staged} actuals in {:.2} s ({:.0}/s), peak memory {:.0} MiB",
        reconcile.seconds,
        reconcile.rows_per_second,
        mib(reconciled.peak_rss)
    );
    let size = SizeResult {
        actuals_seeded: rows,
        seed_seconds,
        ratio: dualsync.rows_per_second / raw.rows_per_second,
        raw,
        dualsync,
        peak_rss_mib: mib(sync.peak_rss),
        parents_seconds: parents.elapsed.as_secs_f64(),
        others_seconds: others.elapsed.as_secs_f64(),
        reconcile,
        reconcile_peak_rss_mib: mib(reconciled.peak_rss),
    };
    if !live || args.live_seconds == 0 {
        return Ok((size, None));
    }

    eprintln!("{name}: live sync against `dualsync run`");
    let daemon = child::spawn(&["run", "--config", &config.display().to_string()], &log)?;
    let opts = live::LiveOptions {
        rate: args.rate,
        seconds: args.live_seconds,
        step_seconds: args.step_seconds,
        max_rate: if args.step_seconds == 0 { 0 } else { args.max_rate },
        burst: args.burst,
    };
    let measured = live::measure(&s.operational, &s.accounting, opts).await;
    let stopped = tokio::task::spawn_blocking(move || daemon.stop()).await.map_err(err)?;
    let measured = measured?;
    Ok((size, Some((measured, mib(stopped?.peak_rss)))))
}

/// `dualsync bench`: every backend asked for; returns the markdown report.
pub async fn run(mut args: BenchArgs) -> Result<String, String> {
    let pg_url = args.setup.pg_url();
    args.backend.dedup();
    let loaded = tablemap::load(std::slice::from_ref(&args.setup.maps)).map_err(err)?;
    if !loaded.is_valid() {
        return Err(format!(
            "the maps in {} are invalid (dualsync validate)",
            args.setup.maps.display()
        ));
    }
    let maps: Vec<TableMap> = loaded.maps().cloned().collect();
    let small = args.small_rows.unwrap_or(args.rows / 10).max(1);
    let started = chrono::Utc::now();
    let mut results = Vec::new();
    for &backend in &args.backend {
        let (small_size, _) = measure(&args, &maps, backend, &pg_url, small, false).await?;
        let (large_size, live) = measure(&args, &maps, backend, &pg_url, args.rows, true).await?;
        results.push(BackendResult {
            backend,
            server: stores::describe_server(backend, &pg_url).await,
            sizes: vec![small_size, large_size],
            daemon_peak_rss_mib: live.as_ref().map(|(_, rss)| *rss),
            live: live.map(|(l, _)| l),
        });
    }
    let report = report::Report::new(&args, started, results);
    let (json, md) = report.write(&args.setup.out)?;
    let text = report.markdown();
    Ok(format!("{text}\nwritten: {} and {}\n", json.display(), md.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actuals_need_their_parents_transitively() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
        let loaded = tablemap::load(&[dir]).unwrap();
        let maps: Vec<TableMap> = loaded.maps().cloned().collect();
        let needed = needed_by(&maps, "actuals");
        for m in [
            "projects",
            "project-tasks",
            "contract-lines",
            "project-contracts",
            "resource-roles",
        ] {
            assert!(needed.iter().any(|n| n == m), "{m} in {needed:?}");
        }
        assert!(!needed.iter().any(|n| n == "actuals" || n == "transaction-connections"));
    }
}
