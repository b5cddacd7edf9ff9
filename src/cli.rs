//! The command-line interface: one clap subcommand per admin task. Exit status: 0 success,
//! 1 the task failed (invalid maps, a store error), 2 the command itself is wrong.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::daemon::set_paused;
use crate::store::Store;
use crate::store::seed::{SeedOptions, load};
use crate::store::sql::{SqlStore, init};
use crate::tablemap::model::Side;
use crate::tablemap::{self, Loaded};

/// dualsync keeps an operational system (projects, contracts, actuals) and an accounting
/// system (ledger, journals) in sync, driven by declarative table maps.
#[derive(Debug, Parser)]
#[command(name = "dualsync", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the sync daemon: initial sync of maps that never synced, then live sync in both
    /// directions until SIGTERM or Ctrl-C (exit 0 after the current batch).
    Run(ConfigArg),
    /// Run the initial sync of the named maps (default: every map that has not finished one),
    /// in dependency order, printing a summary per map.
    InitialSync {
        #[command(flatten)]
        config: ConfigArg,
        /// A map to sync (repeatable); a finished map named here is synced again.
        #[arg(long = "map", value_name = "NAME")]
        maps: Vec<String>,
        /// Only this company (legal entity), instead of the configured ones (repeatable).
        #[arg(long = "company", value_name = "X")]
        companies: Vec<String>,
    },
    /// Show every map's state, links, live applies, skipped and parked records and open errors.
    Status(ConfigArg),
    /// Pause a map: its changes wait in the change log until it is resumed.
    Pause {
        map: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Resume a paused map: the waiting changes are caught up in order.
    Resume {
        map: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// The dead-letter list: records that failed permanently, with the reason and a hint.
    #[command(subcommand)]
    Errors(ErrorsCommand),
    /// Check table-map files and report every problem at once (exit 0 valid, 1 invalid, 2 usage).
    ///
    /// With --operational and/or --accounting, also check that every entity and column the
    /// maps name exists in that store, with a fitting type.
    Validate {
        /// Map files or folders of map files.
        #[arg(default_value = "table-maps")]
        paths: Vec<PathBuf>,
        /// URL of the operational store to check the maps against.
        #[arg(long, value_name = "URL")]
        operational: Option<String>,
        /// URL of the accounting store to check the maps against.
        #[arg(long, value_name = "URL")]
        accounting: Option<String>,
    },
    /// Print the JSON Schema of the table-map format, for editors to validate and complete maps.
    Schema,
    /// Create, migrate and fill the reference stores.
    #[command(subcommand)]
    Store(StoreCommand),
    /// The integration journal on an accounting store that is a database: import actuals from
    /// the staging table, post journals, and read the job log.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Benchmark: initial sync against a raw bulk copy, peak memory at two row counts, and
    /// live-sync latency, on SQLite and PostgreSQL (docs/performance.md). Run it from a release
    /// build: `cargo run --release -- bench`.
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Import from staging table: one journal line per actual not yet in a journal.
    Import {
        /// Only this legal entity.
        #[arg(long, value_name = "X")]
        company: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Post journals (named, or every open one with --all): valid lines to the project
    /// subledger and the general ledger; lines with errors to a new journal.
    Post {
        #[arg(value_name = "JOURNAL", required_unless_present = "all")]
        journals: Vec<String>,
        #[arg(long, conflicts_with = "journals")]
        all: bool,
        /// With --all: only this legal entity.
        #[arg(long, value_name = "X", requires = "all")]
        company: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// List the journals with their status and line counts.
    List(ConfigArg),
    /// Forecasts from the estimate staging tables (hour, expense and item forecasts); hour
    /// forecasts edited on the accounting side flow back to the staging rows.
    Forecasts {
        /// Only this legal entity.
        #[arg(long, value_name = "X")]
        company: Option<String>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// The job log: the latest runs of the accounting processes, each with its errors.
    Log {
        /// How many runs.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ErrorsCommand {
    /// List open record errors (all, resolved ones too, with --all).
    List {
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show one record error in full.
    Show {
        id: i64,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Sync the record of an error again (or of every open error with --all).
    Retry {
        #[arg(required_unless_present = "all")]
        id: Option<i64>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// Where the configuration is.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The configuration file (TOML); `DUALSYNC_...` environment variables override it.
    #[arg(long, value_name = "FILE", default_value = "deploy/dualsync.toml")]
    config: PathBuf,
}

impl ConfigArg {
    fn load(&self) -> Result<crate::config::Config, ExitCode> {
        crate::config::Config::load(Some(&self.config)).map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(USAGE)
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Create the store if needed, bring its schema up to date, and install change capture
    /// for the entities the maps use. Safe to run again.
    Init(InitArgs),
    /// Fill a store with the deterministic demo data set: operational records, or the
    /// accounting side's master data (detected from the store, or given with --side).
    Seed(SeedArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which system the store plays.
    #[arg(long, value_enum)]
    side: SideArg,
    /// sqlite://path/to/file.db or postgres://user@host:5432/database
    #[arg(long, value_name = "URL")]
    url: String,
    /// The table maps whose entities get change capture.
    #[arg(long, value_name = "DIR", default_value = "table-maps")]
    maps: PathBuf,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// sqlite://path/to/file.db or postgres://user@host:5432/database
    #[arg(long, value_name = "URL")]
    url: String,
    /// Number of actuals to generate (operational side).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    scale: u64,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// The side to seed, if the store does not record it.
    #[arg(long, value_enum)]
    side: Option<SideArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SideArg {
    Operational,
    Accounting,
}

impl From<SideArg> for Side {
    fn from(s: SideArg) -> Side {
        match s {
            SideArg::Operational => Side::Operational,
            SideArg::Accounting => Side::Accounting,
        }
    }
}

const FAILED: u8 = 1;
const USAGE: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> ExitCode {
    match command {
        Command::Validate {
            paths,
            operational,
            accounting,
        } => validate(&paths, operational, accounting).await,
        Command::Schema => {
            let schema = tablemap::json_schema();
            println!("{}", serde_json::to_string_pretty(&schema).expect("schema serializes"));
            ExitCode::SUCCESS
        }
        Command::Run(c) => {
            let config = match c.load() {
                Ok(c) => c,
                Err(code) => return code,
            };
            if let Err(e) = crate::logging::init(&config, &c.config, "run") {
                return usage(e);
            }
            match crate::daemon::run(&config).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Command::InitialSync {
            config,
            maps,
            companies,
        } => {
            let path = config.config.clone();
            let mut config = match config.load() {
                Ok(c) => c,
                Err(code) => return code,
            };
            if !companies.is_empty() {
                config.companies = companies;
            }
            if let Err(e) = crate::logging::init(&config, &path, "initial-sync") {
                return usage(e);
            }
            let result = async {
                let loaded = crate::daemon::load_maps(&config)?;
                // Names are checked before any store is opened.
                let names: Vec<&str> = loaded.iter().map(|m| m.name.as_str()).collect();
                if let Some(unknown) = maps.iter().find(|m| !names.contains(&m.as_str())) {
                    return Err(crate::daemon::no_such_map(unknown, &names));
                }
                let mut engine = crate::daemon::build_engine(&config, &loaded).await?;
                crate::daemon::reload::adopt(&mut engine, &loaded).await?;
                let output = crate::daemon::progress::Output::command(&config);
                crate::daemon::initial_sync(&engine, &maps, output).await
            };
            match result.await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Command::Status(c) => {
            let config = match c.load() {
                Ok(c) => c,
                Err(code) => return code,
            };
            match crate::daemon::status(&config).await {
                // Exit 1 when a map failed or was paused by an alert, or the daemon is stale.
                Ok(report) => {
                    print!("{}", report.text);
                    match report.healthy {
                        true => ExitCode::SUCCESS,
                        false => ExitCode::FAILURE,
                    }
                }
                Err(e) => fail(e),
            }
        }
        Command::Pause { map, config } => report(config, |c| async move { set_paused(&c, &map, true).await }).await,
        Command::Resume { map, config } => report(config, |c| async move { set_paused(&c, &map, false).await }).await,
        Command::Errors(ErrorsCommand::List { all, config }) => {
            report(config, |c| async move { crate::daemon::errors_list(&c, all).await }).await
        }
        Command::Errors(ErrorsCommand::Show { id, config }) => {
            report(config, |c| async move { crate::daemon::errors_show(&c, id).await }).await
        }
        Command::Errors(ErrorsCommand::Retry { id, config, .. }) => {
            report(config, |c| async move { crate::daemon::errors_retry(&c, id).await }).await
        }
        Command::Journal(JournalCommand::Import { company, config }) => {
            report(config, |c| async move {
                crate::accounting::commands::import(&c, company).await
            })
            .await
        }
        Command::Journal(JournalCommand::Post {
            journals,
            company,
            config,
            ..
        }) => {
            report(config, |c| async move {
                crate::accounting::commands::post(&c, journals, company).await
            })
            .await
        }
        Command::Journal(JournalCommand::Forecasts { company, config }) => {
            report(config, |c| async move {
                crate::accounting::commands::forecasts(&c, company).await
            })
            .await
        }
        Command::Journal(JournalCommand::List(config)) => {
            report(config, |c| async move { crate::accounting::commands::list(&c).await }).await
        }
        Command::Journal(JournalCommand::Log { limit, config }) => {
            report(
                config,
                |c| async move { crate::accounting::commands::log(&c, limit).await },
            )
            .await
        }
        Command::Bench(args) => match crate::bench::run(args).await {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Store(StoreCommand::Init(args)) => store_init(args).await,
        Command::Store(StoreCommand::Seed(args)) => store_seed(args).await,
    }
}

/// Loads the configuration, runs `task` with it and prints its report (or its error).
async fn report<F, Fut>(config: ConfigArg, task: F) -> ExitCode
where
    F: FnOnce(crate::config::Config) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let config = match config.load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    match task(config).await {
        Ok(text) => {
            print!("{}", if text.ends_with('\n') { text } else { text + "\n" });
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// Loads maps, printing problems; `None` (after printing why) when the paths are unusable.
fn load_maps(paths: &[PathBuf]) -> Option<Loaded> {
    match tablemap::load(paths) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("hint: pass map files or folders holding them; the default is table-maps/");
            None
        }
    }
}

/// Exit 1 with `message` (a JSON log event when the command logs JSON).
fn fail(message: impl std::fmt::Display) -> ExitCode {
    crate::logging::failure(&message.to_string());
    ExitCode::from(FAILED)
}

/// Exit 2 (the configuration is wrong) with `message`.
fn usage(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(USAGE)
}

async fn validate(paths: &[PathBuf], operational: Option<String>, accounting: Option<String>) -> ExitCode {
    let Some(mut loaded) = load_maps(paths) else {
        return ExitCode::from(USAGE);
    };
    let mut stores: Vec<(Side, SqlStore)> = Vec::new();
    for (side, url) in [(Side::Operational, operational), (Side::Accounting, accounting)] {
        if let Some(url) = url {
            match SqlStore::open(&url).await {
                Ok(s) => stores.push((side, s)),
                Err(e) => return fail(format!("{} store: {e}", side.name())),
            }
        }
    }
    if !stores.is_empty() {
        let refs: Vec<(Side, &dyn Store)> = stores.iter().map(|(s, st)| (*s, st as &dyn Store)).collect();
        match crate::catalog_check::check(&loaded, &refs).await {
            Ok(found) => loaded.diagnostics.extend(found),
            Err(e) => return fail(e),
        }
        loaded.sort_diagnostics();
    }
    for d in &loaded.diagnostics {
        eprintln!("{d}\n");
    }
    let checked: Vec<String> = stores
        .iter()
        .map(|(s, st)| format!("{} ({})", s.name(), st.name()))
        .collect();
    let against = if checked.is_empty() {
        String::new()
    } else {
        format!(" [checked against {}]", checked.join(", "))
    };
    if loaded.is_valid() {
        println!("valid: {}{against}", loaded.summary());
        ExitCode::SUCCESS
    } else {
        let files: std::collections::BTreeSet<_> = loaded.diagnostics.iter().map(|d| &d.file).collect();
        let n = loaded.diagnostics.len();
        println!(
            "invalid: {n} problem{} in {} file{}; {}{against}",
            if n == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            loaded.summary()
        );
        ExitCode::from(FAILED)
    }
}

async fn store_init(args: InitArgs) -> ExitCode {
    let side = Side::from(args.side);
    let store = match init::init(&args.url, side).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    println!("{} store ready at {}", side.name(), store.name());
    if !args.maps.exists() {
        println!("no maps at {}: change capture not installed", args.maps.display());
        return ExitCode::SUCCESS;
    }
    let Some(loaded) = load_maps(std::slice::from_ref(&args.maps)) else {
        return ExitCode::from(USAGE);
    };
    if !loaded.is_valid() {
        for d in &loaded.diagnostics {
            eprintln!("{d}\n");
        }
        return fail("the maps are invalid, so change capture was not installed; fix them and run again");
    }
    let maps: Vec<_> = loaded.maps().cloned().collect();
    let entities = crate::daemon::entities(&maps, side);
    if let Err(e) = store.install_capture(&entities).await {
        return fail(e);
    }
    println!("change capture on {} entities: {}", entities.len(), entities.join(", "));
    ExitCode::SUCCESS
}

async fn store_seed(args: SeedArgs) -> ExitCode {
    let store = match SqlStore::open(&args.url).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let recorded = match store.side().await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let side = match (recorded.as_deref(), args.side.map(Side::from)) {
        (Some("operational"), None | Some(Side::Operational)) => Side::Operational,
        (Some("accounting"), None | Some(Side::Accounting)) => Side::Accounting,
        (Some(r), Some(given)) => {
            return fail(format!(
                "{} is the {r} store; it cannot be seeded as the {} side",
                store.name(),
                given.name()
            ));
        }
        (_, Some(given)) => given,
        (_, None) => {
            return fail(format!(
                "{} was not initialized by dualsync; run `dualsync store init` first or pass --side",
                store.name()
            ));
        }
    };
    let opts = SeedOptions {
        actuals: args.scale,
        seed: args.seed,
    };
    match load::seed(&store, side, &opts).await {
        Ok(loaded) => {
            for (table, n) in &loaded.tables {
                println!("{n:>10}  {table}");
            }
            println!(
                "seeded the {} store at {}: {} rows",
                side.name(),
                store.name(),
                loaded.total()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
