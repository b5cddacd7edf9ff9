//! The command-line interface: one clap subcommand per admin task, each calling its command
//! in `commands` (or the daemon). Exit status: 0 success, 1 the task failed (invalid maps, a
//! store error), 2 the command or the configuration is wrong.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{self, Output};
use crate::config::Config;
use crate::demo::SeedOptions;
use crate::error::{Error, Kind, Result};
use crate::tablemap;
use crate::tablemap::model::Side;

/// dualsync keeps an operational system (projects, contracts, actuals) and an accounting
/// system (ledger, journals) in sync, driven by declarative table maps.
#[derive(Debug, Parser)]
#[command(name = "dualsync", version, about, long_about = None)]
pub struct Cli {
    /// The configuration file (TOML); `DUALSYNC_...` environment variables override its
    /// values. Relative paths in it are relative to its folder.
    #[arg(long, global = true, value_name = "FILE", env = "DUALSYNC_CONFIG", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// How reports are printed: text for people, or JSON in the shapes the admin API serves
    /// (status, pause, resume, errors, reconcile, journal log).
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

/// The configuration file when neither `--config` nor `DUALSYNC_CONFIG` names one: the demo.
pub const DEFAULT_CONFIG: &str = "deploy/dualsync.toml";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the sync daemon: initial sync of maps that never synced, then live sync in both
    /// directions until SIGTERM or Ctrl-C (exit 0 after the current batch).
    Run,
    /// Run the initial sync of the named maps (default: every map that has not finished one),
    /// in dependency order, printing a summary per map.
    InitialSync {
        /// A map to sync (repeatable); a finished map named here is synced again.
        #[arg(long = "map", value_name = "NAME")]
        maps: Vec<String>,
        /// Only this company (legal entity), instead of the configured ones (repeatable).
        #[arg(long = "company", value_name = "X")]
        companies: Vec<String>,
    },
    /// Show every map's state, links, live applies, skipped and parked records and open errors.
    Status,
    /// Pause a map: its changes wait in the change log until it is resumed.
    Pause { map: String },
    /// Resume a paused map: the waiting changes are caught up in order.
    Resume { map: String },
    /// The dead-letter list: records that failed permanently, with the reason and a hint.
    #[command(subcommand)]
    Errors(ErrorsCommand),
    /// Show what adopting edited map files would do, before the daemon adopts them: per map,
    /// records written, created, unchanged, newly skipped or synced, fields that change (with
    /// examples), links updated, and whether every record is synced again. Writes nothing
    /// (exit 0 no record would change, 1 records would change).
    Plan {
        /// A map to plan (repeatable; default: every map).
        #[arg(long = "map", value_name = "NAME")]
        maps: Vec<String>,
        /// The edited map files: a file or folder (default: the configured map folder).
        path: Option<PathBuf>,
    },
    /// Compare both stores record by record through the maps: records missing on the other
    /// side, fields that differ, unexpected records, links to records that are gone (exit 0 in
    /// sync, 1 drift found; with --repair, 0 when all of it was repaired).
    Reconcile {
        /// A map to reconcile (repeatable; default: every map).
        #[arg(long = "map", value_name = "NAME")]
        maps: Vec<String>,
        /// Only this company's (legal entity's) records.
        #[arg(long, value_name = "X")]
        company: Option<String>,
        /// Repair what is found, through the sync pipeline.
        #[arg(long)]
        repair: bool,
        /// Seconds to wait before checking a difference again (default: 0 when no daemon runs,
        /// otherwise long enough for the daemon to sync a change in flight).
        #[arg(long, value_name = "SECONDS")]
        recheck_seconds: Option<u64>,
    },
    /// Check table-map files and report every problem at once (exit 0 valid, 1 invalid, 2 usage).
    ///
    /// With --operational and/or --accounting, also check that every entity and column the
    /// maps name exists in that store, with a fitting type.
    Validate {
        /// Map files or folders of map files.
        #[arg(default_value = "table-maps")]
        paths: Vec<PathBuf>,
        /// URL of the operational store to check the maps against: a database URL, or a Web API
        /// root (then its kind and sign-in come from the configuration's `[operational]`).
        #[arg(long, value_name = "URL")]
        operational: Option<String>,
        /// URL of the accounting store to check the maps against (as for --operational).
        #[arg(long, value_name = "URL")]
        accounting: Option<String>,
    },
    /// Check the accounting setup before any record moves: number sequences, an open period,
    /// line properties, ledger posting setup, project categories per legal entity, exchange
    /// rates for the currencies in use, sales tax groups. Exit 0 complete, 1 problems.
    Check,
    /// Print the JSON Schema of the table-map format, for editors to validate and complete maps.
    Schema,
    /// Create, migrate and fill the reference stores.
    #[command(subcommand)]
    Store(StoreCommand),
    /// The integration journal on an accounting store that is a database: import actuals from
    /// the staging table, post journals, and read the job log.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// The operational side's own processes, on an operational store that is a database:
    /// approving expenses and project vendor invoices into cost actuals.
    #[command(subcommand)]
    Operational(OperationalCommand),
    /// Benchmark: initial sync against a raw bulk copy, peak memory at two row counts, and
    /// live-sync latency, on SQLite and PostgreSQL (docs/performance.md). Run it from a release
    /// build: `cargo run --release -- bench`.
    Bench(crate::bench::BenchArgs),
    /// Benchmark of a high-availability group on PostgreSQL: live throughput of one, two and
    /// three partitioned replicas, and failover time against lease settings (docs/ha.md). From
    /// a release build: `cargo run --release -- bench-ha`.
    BenchHa(crate::bench::ha::HaBenchArgs),
}

impl Command {
    /// Whether the command's report has a JSON shape (`--output json`).
    fn has_json(&self) -> bool {
        matches!(
            self,
            Command::Status
                | Command::Pause { .. }
                | Command::Resume { .. }
                | Command::Errors(_)
                | Command::Reconcile { .. }
                | Command::Check
                | Command::Plan { .. }
                | Command::Journal(JournalCommand::Log { .. })
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Import from staging table: one journal line per actual not yet in a journal.
    Import {
        /// Only this legal entity.
        #[arg(long, value_name = "X")]
        company: Option<String>,
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
    },
    /// Post project invoice proposals (named, or every unposted one with --all): the customer
    /// invoice, the subledger, the ledger and the sales tax; the invoice is written back to the
    /// proforma invoice.
    PostInvoices {
        #[arg(value_name = "PROPOSAL", required_unless_present = "all")]
        proposals: Vec<String>,
        #[arg(long, conflicts_with = "proposals")]
        all: bool,
        /// With --all: only this legal entity.
        #[arg(long, value_name = "X", requires = "all")]
        company: Option<String>,
    },
    /// Post expense reports (their draft lines) and pending vendor invoices, the accounting
    /// side's own documents: each debits its integration account and credits the worker's or
    /// the vendor's balance, and is exported to the operational side for approval.
    PostDocuments {
        /// Only this legal entity.
        #[arg(long, value_name = "X")]
        company: Option<String>,
    },
    /// List the journals with their status and line counts.
    List,
    /// Forecasts from the estimate staging tables (hour, expense and item forecasts); hour
    /// forecasts edited on the accounting side flow back to the staging rows.
    Forecasts {
        /// Only this legal entity.
        #[arg(long, value_name = "X")]
        company: Option<String>,
    },
    /// The job log: the latest runs of the accounting processes, each with its errors.
    Log {
        /// How many runs.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperationalCommand {
    /// Approve pending expenses and project vendor invoice lines: one cost actual each, naming
    /// its source line; a vendor invoice whose lines are all approved is confirmed.
    Approve {
        /// Only this legal entity.
        #[arg(long, value_name = "X")]
        company: Option<String>,
    },
    /// Confirm entry journals (named by id, or every draft one with --all): each line becomes
    /// an actual, with its contract, contract line, customer and price worked out; the journal
    /// is then locked. A journal with a problem is not confirmed, and each problem is named.
    ConfirmJournals {
        #[arg(value_name = "JOURNAL", required_unless_present = "all")]
        journals: Vec<uuid::Uuid>,
        #[arg(long, conflicts_with = "journals")]
        all: bool,
        /// With --all: only this legal entity.
        #[arg(long, value_name = "X", requires = "all")]
        company: Option<String>,
        /// Apply the rules of "journal line improvements" too: the class and type the contract
        /// line's billing method allows, product only on Material, role only on Time, a
        /// bookable resource only on Time and Expense.
        #[arg(long)]
        strict: bool,
    },
    /// List the entry journals with their status and line counts.
    Journals,
}

#[derive(Debug, Subcommand)]
pub enum ErrorsCommand {
    /// List open record errors (all, resolved ones too, with --all).
    List {
        #[arg(long)]
        all: bool,
        /// Only this map's.
        #[arg(long)]
        map: Option<String>,
        /// Only this kind (rejected, refused, missing-parent, duplicate-key, unreadable, ...).
        #[arg(long)]
        kind: Option<String>,
    },
    /// Show one record error in full.
    Show { id: i64 },
    /// Sync the record of an error again (or of every open error with --all, optionally of
    /// one map or kind).
    Retry {
        #[arg(required_unless_present = "all")]
        id: Option<i64>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
        /// With --all: only this map's.
        #[arg(long, requires = "all")]
        map: Option<String>,
        /// With --all: only this kind.
        #[arg(long, requires = "all")]
        kind: Option<String>,
    },
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

pub fn main() -> ExitCode {
    install_panic_hook();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// A panic (a bug) is reported on standard error with every URL in its message redacted: a
/// message may quote a store URL with its password.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "dualsync panicked{place}: {}\nthis is a bug in dualsync; please report it with the log above",
            crate::store::sql::redact_in(&message)
        );
    }));
}

/// Reports an error and its hint (on standard error, or as a JSON event when the command logs
/// JSON); the exit code its kind gives.
fn fail(e: &Error) -> ExitCode {
    crate::logging::failure(e.message(), e.hint());
    ExitCode::from(e.exit_code())
}

/// Prints a command's report on standard output, ending it with a newline.
fn print_report(text: String) -> ExitCode {
    print!("{}", if text.ends_with('\n') { text } else { text + "\n" });
    ExitCode::SUCCESS
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let load = || Config::load(Some(&cli.config)).map_err(Error::usage);
    let output = cli.output;
    if output == Output::Json && !cli.command.has_json() {
        return Err(Error::usage("this command has no JSON output").with_hint(
            "--output json works with status, pause, resume, errors, plan, reconcile, check and journal log",
        ));
    }
    let code = match cli.command {
        Command::Validate {
            paths,
            operational,
            accounting,
        } => match commands::validate::validate(&paths, operational, accounting, load).await {
            Ok(text) => print_report(text),
            // The verdict on the maps is the command's output, on standard output.
            Err(e) if e.kind == Kind::Maps => {
                println!("{}", e.message());
                ExitCode::from(e.exit_code())
            }
            Err(e) => return Err(e),
        },
        Command::Schema => {
            let schema = tablemap::json_schema();
            print_report(serde_json::to_string_pretty(&schema).expect("schema serializes"))
        }
        Command::Run => {
            let config = load()?;
            crate::logging::init(&config, &cli.config, "run").map_err(Error::usage)?;
            crate::daemon::run(&config).await?;
            ExitCode::SUCCESS
        }
        Command::InitialSync { maps, companies } => {
            let mut config = load()?;
            if !companies.is_empty() {
                config.companies = companies;
            }
            crate::logging::init(&config, &cli.config, "initial-sync").map_err(Error::usage)?;
            let loaded = crate::daemon::load_maps(&config)?;
            // Names are checked before any store is opened.
            let names: Vec<&str> = loaded.iter().map(|m| m.map().name.as_str()).collect();
            if let Some(unknown) = maps.iter().find(|m| !names.contains(&m.as_str())) {
                return Err(commands::no_such_map(unknown, &names));
            }
            let mut engine = crate::daemon::build_engine(&config, &loaded).await?;
            crate::daemon::reload::adopt(&mut engine, &loaded).await?;
            let output = crate::daemon::progress::Output::command(&config);
            crate::daemon::initial_sync(&engine, &maps, output).await?;
            ExitCode::SUCCESS
        }
        Command::Status => {
            let report = commands::status(&load()?).await?;
            print_report(output.render(&report));
            // Exit 1 when a map failed or was paused by an alert, or the daemon is stale.
            match report.healthy {
                true => ExitCode::SUCCESS,
                false => ExitCode::FAILURE,
            }
        }
        Command::Reconcile {
            maps,
            company,
            repair,
            recheck_seconds,
        } => {
            let request = commands::reconcile::Request {
                maps,
                company,
                repair,
                recheck_seconds,
            };
            let report = commands::reconcile::reconcile(&load()?, &request).await?;
            print_report(output.render(&report));
            match report.unrepaired {
                0 => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
        Command::Check => {
            let report = commands::check::check(&load()?).await?;
            print_report(output.render(&report));
            match report.problems.len() {
                0 => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
        Command::Plan { maps, path } => {
            let request = commands::plan::Request { path, maps };
            let report = commands::plan::plan(&load()?, &request).await?;
            print_report(output.render(&report));
            match report.changes {
                false => ExitCode::SUCCESS,
                true => ExitCode::FAILURE,
            }
        }
        Command::Pause { map } => print_report(output.render(&commands::maps::set_paused(&load()?, &map, true).await?)),
        Command::Resume { map } => {
            print_report(output.render(&commands::maps::set_paused(&load()?, &map, false).await?))
        }
        Command::Errors(ErrorsCommand::List { all, map, kind }) => {
            let filter = commands::errors::Filter { map, kind, all };
            print_report(output.render(&commands::errors::list(&load()?, &filter).await?))
        }
        Command::Errors(ErrorsCommand::Show { id }) => {
            print_report(output.render(&commands::errors::show(&load()?, id).await?))
        }
        Command::Errors(ErrorsCommand::Retry { id, map, kind, .. }) => {
            let filter = commands::errors::Filter { map, kind, all: false };
            print_report(output.render(&commands::errors::retry(&load()?, id, &filter).await?))
        }
        Command::Journal(JournalCommand::Import { company }) => {
            print_report(commands::journal::import(&load()?, company).await?)
        }
        Command::Journal(JournalCommand::Post { journals, company, .. }) => {
            print_report(commands::journal::post(&load()?, journals, company).await?)
        }
        Command::Journal(JournalCommand::PostInvoices { proposals, company, .. }) => {
            print_report(commands::journal::post_invoices(&load()?, proposals, company).await?)
        }
        Command::Journal(JournalCommand::Forecasts { company }) => {
            print_report(commands::journal::forecasts(&load()?, company).await?)
        }
        Command::Journal(JournalCommand::PostDocuments { company }) => {
            print_report(commands::journal::post_documents(&load()?, company).await?)
        }
        Command::Operational(OperationalCommand::Approve { company }) => {
            print_report(commands::operational::approve(&load()?, company).await?)
        }
        Command::Operational(OperationalCommand::ConfirmJournals {
            journals,
            company,
            strict,
            ..
        }) => {
            let (text, refused) = commands::operational::confirm(&load()?, journals, company, strict).await?;
            print!("{}", if text.ends_with('\n') { text } else { text + "\n" });
            match refused {
                false => ExitCode::SUCCESS,
                true => ExitCode::FAILURE,
            }
        }
        Command::Operational(OperationalCommand::Journals) => {
            print_report(commands::operational::journals(&load()?).await?)
        }
        Command::Journal(JournalCommand::List) => print_report(commands::journal::list(&load()?).await?),
        Command::Journal(JournalCommand::Log { limit }) => {
            print_report(output.render(&commands::journal::log(&load()?, limit).await?))
        }
        Command::Bench(args) => print_report(crate::bench::run(args).await.map_err(Error::failed)?),
        Command::BenchHa(args) => print_report(crate::bench::ha::run(args).await.map_err(Error::failed)?),
        Command::Store(StoreCommand::Init(args)) => {
            print_report(commands::store::init(&args.url, args.side.into(), &args.maps).await?)
        }
        Command::Store(StoreCommand::Seed(args)) => {
            let opts = SeedOptions {
                actuals: args.scale,
                seed: args.seed,
            };
            print_report(commands::store::seed(&args.url, args.side.map(Side::from), &opts).await?)
        }
    };
    Ok(code)
}
