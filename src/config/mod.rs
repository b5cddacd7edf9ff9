//! The daemon's configuration: a TOML file (`deploy/dualsync.toml` by default) with
//! `DUALSYNC_...` environment variables on top (`DUALSYNC_ACCOUNTING__URL=...` sets
//! `accounting.url`). Every value has a default that runs everything on SQLite files under
//! `./data`; `validate` names the key and says what to do when a value cannot work.

mod load;
mod store;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use load::{dualsync_env, load_with};
pub use store::{AuthConfig, FinopsConfig, FinopsEntity, HttpConfig, StoreConfig, StoreKind};

use serde::Deserialize;

/// Everything `dualsync run` and the admin commands need to find the stores and the maps.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The operational store.
    pub operational: StoreConfig,
    /// The accounting store.
    pub accounting: StoreConfig,
    /// The engine's own state (links, cursors, checkpoints, dead letters).
    pub state: StateConfig,
    /// Folder of the table-map files.
    pub maps: PathBuf,
    /// Companies (legal entities) in scope; empty means all.
    pub companies: Vec<String>,
    /// On first start, initialize the stores and seed demo data into an empty operational store.
    pub demo: bool,
    pub sync: SyncConfig,
    pub retry: RetryConfig,
    pub alerts: AlertConfig,
    pub log: LogConfig,
    pub processes: ProcessesConfig,
    pub admin: AdminConfig,
    pub reconcile: ReconcileConfig,
    pub ha: HaConfig,
}

/// High availability (issue 19, `docs/ha.md`): several `dualsync run` replicas on one
/// PostgreSQL state store, coordinated by leases with fencing tokens.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HaConfig {
    pub mode: HaMode,
    /// How long a lease holds without renewal: a dead replica's work is taken over after at
    /// most `lease_seconds + renew_seconds`.
    pub lease_seconds: u64,
    /// How often a replica renews its leases, heartbeats, and looks for units to take.
    pub renew_seconds: u64,
    /// This replica's id, unique in the group (default: host name and process id; on
    /// Kubernetes the pod name, from `DUALSYNC_HA__REPLICA`).
    pub replica: Option<String>,
}

/// How the replicas of one state store share the work.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub enum HaMode {
    /// One daemon per state store (the lock of `engine::state::lock` refuses a second).
    Single,
    /// One replica owns every map and process; the others wait to take over.
    ActiveStandby,
    /// The replicas share the maps and processes, rebalancing as they join and leave.
    Partitioned,
}

impl HaMode {
    const ALL: [HaMode; 3] = [HaMode::Single, HaMode::ActiveStandby, HaMode::Partitioned];

    pub fn name(self) -> &'static str {
        match self {
            HaMode::Single => "single",
            HaMode::ActiveStandby => "active-standby",
            HaMode::Partitioned => "partitioned",
        }
    }
}

impl TryFrom<String> for HaMode {
    type Error = String;

    fn try_from(s: String) -> Result<HaMode, String> {
        HaMode::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<&str> = HaMode::ALL.iter().map(|m| m.name()).collect();
            format!("\"{s}\" is not a mode; use one of {}", names.join(", "))
        })
    }
}

impl Default for HaConfig {
    fn default() -> Self {
        HaConfig {
            mode: HaMode::Single,
            lease_seconds: 15,
            renew_seconds: 5,
            replica: None,
        }
    }
}

impl HaConfig {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds)
    }

    pub fn renew(&self) -> Duration {
        Duration::from_secs(self.renew_seconds)
    }

    /// This replica's id.
    pub fn replica_id(&self) -> String {
        self.replica
            .clone()
            .unwrap_or_else(|| format!("{}-{}", crate::engine::state::host_name(), std::process::id()))
    }

    /// The problems of `[ha]` with a state store at `state_url`.
    fn check(&self, state_url: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if self.mode == HaMode::Single {
            return problems;
        }
        if !matches!(
            crate::store::sql::dialect_of(state_url),
            Ok(crate::store::sql::conn::Dialect::Postgres)
        ) {
            problems.push(format!(
                "`ha.mode` = \"{}\" needs a PostgreSQL state store that every replica reaches, but `state.url` is \
                 not one; set `state.url = \"postgres://...\"` or `ha.mode = \"single\"`",
                self.mode.name()
            ));
        }
        if self.renew_seconds == 0 || self.renew_seconds * 2 > self.lease_seconds {
            problems.push(format!(
                "`ha.renew_seconds` = {} must be at least 1 and at most half of `ha.lease_seconds` = {}, so a lease is \
                 renewed at least twice before it runs out",
                self.renew_seconds, self.lease_seconds
            ));
        }
        if self
            .replica
            .as_deref()
            .is_some_and(|r| r.trim().is_empty() || r.len() > 200)
        {
            problems.push("`ha.replica` must be 1 to 200 characters (or left out: host name and pid)".into());
        }
        problems
    }
}

/// Reconcile on a schedule inside `dualsync run` (what `dualsync reconcile` does, every map):
/// off unless `every_seconds` is set. The drift found is a metric (`dualsync_drift_records`),
/// a run in the job log and a line in `status`; with `repair`, it is repaired too.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcileConfig {
    /// Seconds between runs (0: never; e.g. 86400 for nightly).
    pub every_seconds: u64,
    /// Repair what is found, through the sync pipeline.
    pub repair: bool,
}

/// The admin HTTP listener of `dualsync run` (metrics, health, API, status page); off unless
/// `listen` is set. Any address but loopback needs a bearer token, read from `token_file` (the
/// token never sits in the configuration itself).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// `host:port` to listen on, e.g. "127.0.0.1:9464".
    pub listen: Option<String>,
    /// A file holding the bearer token the listener requires (trailing whitespace ignored).
    pub token_file: Option<PathBuf>,
}

impl AdminConfig {
    /// The address to listen on, if the listener is on (`validate` has checked it parses).
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        self.listen.as_deref().and_then(|l| l.parse().ok())
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StateConfig {
    pub url: String,
    /// A file holding the URL; see `StoreConfig::url_file`.
    pub url_file: Option<PathBuf>,
    /// A file holding the password; see `StoreConfig::password_file`.
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Records per batch read and written.
    pub batch_size: usize,
    /// How long a record may wait for its parent before it becomes an error.
    pub park_timeout_seconds: u64,
    /// How often change-log entries every map has passed are deleted (0 = never).
    pub prune_seconds: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    pub initial_delay_ms: u64,
    pub max_delay_ms: u64,
    /// Attempts per operation before a store counts as down (its maps pause until it is back).
    pub max_attempts: usize,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// This many record errors of one map within the window pause the map (0 = never).
    pub max_errors: u32,
    pub window_seconds: u64,
}

/// The accounting processes run inside the daemon, for an accounting store that is a database
/// (leave them off for a real ERP, which runs its own). Each interval is in seconds; 0 runs that
/// process only by command.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessesConfig {
    pub enabled: bool,
    pub forecasts_seconds: u64,
    pub import_seconds: u64,
    pub post_seconds: u64,
    /// Posting expense reports and vendor invoices (the accounting side's documents).
    pub documents_seconds: u64,
    /// Approving expenses and vendor invoices into cost actuals, on an operational store that
    /// is a database.
    pub approve_seconds: u64,
}

impl Default for ProcessesConfig {
    fn default() -> Self {
        ProcessesConfig {
            enabled: false,
            forecasts_seconds: 60,
            import_seconds: 60,
            post_seconds: 0,
            documents_seconds: 0,
            approve_seconds: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. "info" or "dualsync=debug".
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            operational: StoreConfig {
                url: "sqlite://data/operational.db".into(),
                ..StoreConfig::default()
            },
            accounting: StoreConfig {
                url: "sqlite://data/accounting.db".into(),
                ..StoreConfig::default()
            },
            state: StateConfig::default(),
            maps: PathBuf::from("table-maps"),
            companies: Vec::new(),
            demo: false,
            sync: SyncConfig::default(),
            retry: RetryConfig::default(),
            alerts: AlertConfig::default(),
            log: LogConfig::default(),
            processes: ProcessesConfig::default(),
            admin: AdminConfig::default(),
            reconcile: ReconcileConfig::default(),
            ha: HaConfig::default(),
        }
    }
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            url: "sqlite://data/state.db".into(),
            url_file: None,
            password_file: None,
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            batch_size: 500,
            park_timeout_seconds: 3600,
            prune_seconds: 300,
        }
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_delay_ms: 100,
            max_delay_ms: 30_000,
            max_attempts: 8,
        }
    }
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            max_errors: 100,
            window_seconds: 300,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

impl Config {
    /// Reads `file` (it must exist when given) and the `DUALSYNC_` environment on top; see
    /// `load` for sources, relative paths and secret files.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        load::load_with(file, &load::dualsync_env(std::env::vars()))
    }

    /// Checks values that parse but cannot work; every problem at once.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        problems.extend(store::check("operational", &self.operational));
        problems.extend(store::check("accounting", &self.accounting));
        if crate::store::sql::dialect_of(&self.state.url).is_err() {
            problems.push(format!(
                "`state.url` = \"{}\" is not a store URL; use sqlite://path/file.db or postgres://user@host:5432/db",
                crate::store::sql::redact(&self.state.url)
            ));
        }
        if self.demo && (self.operational.kind.is_http() || self.accounting.kind.is_http()) {
            problems.push(
                "`demo` = true seeds demo data into SQL stores; set `demo = false` for a store reached over HTTP"
                    .into(),
            );
        }
        if self.processes.enabled && self.accounting.kind.is_http() {
            problems.push(format!(
                "`processes.enabled` = true runs the accounting processes against an accounting database, but \
                 `accounting.kind` is \"{}\": a real accounting system imports, posts and forecasts by itself; \
                 set `[processes] enabled = false`",
                self.accounting.kind.name()
            ));
        }
        if self.processes.enabled && self.processes.approve_seconds > 0 && self.operational.kind.is_http() {
            problems.push(format!(
                "`processes.approve_seconds` = {} approves expenses and vendor invoices on an operational database, \
                 but `operational.kind` is \"{}\": Project Operations approves them itself; set `approve_seconds = 0`",
                self.processes.approve_seconds,
                self.operational.kind.name()
            ));
        }
        if self.operational.kind == StoreKind::Finops {
            problems.push(
                "`operational.kind` = \"finops\": finance and operations is the accounting side; use it under \
                 `[accounting]`"
                    .into(),
            );
        }
        if self.operational.url == self.accounting.url {
            problems.push("`operational.url` and `accounting.url` are the same store; each side needs its own".into());
        }
        if self.sync.batch_size == 0 || self.sync.batch_size > 10_000 {
            problems.push(format!(
                "`sync.batch_size` = {} must be between 1 and 10000",
                self.sync.batch_size
            ));
        }
        if self.retry.max_attempts == 0 {
            problems.push("`retry.max_attempts` must be at least 1".into());
        }
        if let Err(e) = check_log_level(&self.log.level) {
            problems.push(e);
        }
        problems.extend(check_admin(&self.admin));
        problems.extend(self.ha.check(&self.state.url));
        match problems.is_empty() {
            true => Ok(()),
            false => Err(problems),
        }
    }

    pub fn park_timeout(&self) -> Duration {
        Duration::from_secs(self.sync.park_timeout_seconds)
    }

    /// The configuration of one side's store.
    pub fn store(&self, side: crate::tablemap::model::Side) -> &StoreConfig {
        match side {
            crate::tablemap::model::Side::Operational => &self.operational,
            crate::tablemap::model::Side::Accounting => &self.accounting,
        }
    }

    /// The SQLite files' folders, created before first use.
    pub fn sqlite_folders(&self) -> Vec<PathBuf> {
        [&self.operational.url, &self.accounting.url, &self.state.url]
            .iter()
            .filter_map(|u| u.strip_prefix("sqlite://"))
            .filter_map(|p| Path::new(p).parent().map(Path::to_path_buf))
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    }
}

/// Checks `[admin]`: an address that parses, and a token for any address but loopback.
fn check_admin(admin: &AdminConfig) -> Option<String> {
    let listen = admin.listen.as_deref()?;
    let Ok(address) = listen.parse::<std::net::SocketAddr>() else {
        return Some(format!(
            "`admin.listen` = \"{listen}\" is not an address and port; use e.g. \"127.0.0.1:9464\" (or \"[::1]:9464\")"
        ));
    };
    if !address.ip().is_loopback() && admin.token_file.is_none() {
        return Some(format!(
            "`admin.listen` = \"{listen}\" is reachable from other machines, so the admin listener needs a token: \
             set `admin.token_file` to a file holding it (or listen on 127.0.0.1)"
        ));
    }
    None
}

/// The levels a `log.level` directive may name.
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Checks a `log.level` filter: comma-separated levels or `target=level` directives. A word
/// that is not a level (`warnning`) is an error: the filter would otherwise read it as a target
/// name and silently log nothing.
fn check_log_level(filter: &str) -> Result<(), String> {
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, l)| l).trim();
        let lower = level.to_ascii_lowercase();
        if !LOG_LEVELS.contains(&lower.as_str()) {
            // A typo (`eror`), or a longer spelling of a level (`warnning`, `information`).
            let hint = crate::tablemap::diagnostic::did_you_mean(&lower, LOG_LEVELS)
                .or_else(|| LOG_LEVELS.into_iter().find(|l| lower.starts_with(l)))
                .map(|l| format!("; did you mean \"{l}\"?"))
                .unwrap_or_default();
            return Err(format!(
                "`log.level` = \"{filter}\": \"{level}\" is not a log level{hint} (use trace, debug, info, \
                 warn, error or off, or target=level directives separated by commas)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(
            &path,
            "companies = [\"USPM\"]\n[sync]\nbatch_size = 100\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path)).unwrap();
        assert_eq!(c.companies, vec!["USPM".to_string()]);
        assert_eq!(c.sync.batch_size, 100);
        assert_eq!(c.log.format, LogFormat::Json);
        let folder = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(
            c.accounting.url,
            format!("sqlite://{}", folder.join("data/accounting.db").display()),
            "defaults fill the rest, next to the file"
        );
    }

    fn env(vars: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        dualsync_env(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn environment_overrides_only_configuration_keys() {
        let e = env(&[
            ("DUALSYNC_ALERTS__MAX_ERRORS", "7"),
            ("DUALSYNC_TEST_SOMETHING_ELSE", "x"),
        ]);
        assert_eq!(e.len(), 1);
        let c = load_with(None, &e).unwrap();
        assert_eq!(c.alerts.max_errors, 7);
    }

    #[test]
    fn a_list_can_come_from_the_environment() {
        let c = load_with(None, &env(&[("DUALSYNC_COMPANIES", "USPM,DEMF")])).unwrap();
        assert_eq!(c.companies, vec!["USPM".to_string(), "DEMF".to_string()]);
        let c = load_with(None, &env(&[("DUALSYNC_COMPANIES", "USPM")])).unwrap();
        assert_eq!(c.companies, vec!["USPM".to_string()]);
    }

    #[test]
    fn an_error_from_the_environment_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, "[sync]\nbatch_size = 100\n").unwrap();
        let err = load_with(Some(&path), &env(&[("DUALSYNC_SYNC__BATCHSIZE", "5")])).unwrap_err();
        assert!(
            err.starts_with("the environment variable DUALSYNC_SYNC__BATCHSIZE:") && err.contains("batchsize"),
            "{err}"
        );
        assert!(!err.contains("d.toml"), "not blamed on the file: {err}");
        let err = load_with(Some(&path), &env(&[("DUALSYNC_SYNC__BATCH_SIZE", "0")])).unwrap_err();
        assert!(
            err.starts_with("the environment variable DUALSYNC_SYNC__BATCH_SIZE:") && err.contains("`sync.batch_size`"),
            "{err}"
        );
        // The file's own mistakes stay the file's.
        std::fs::write(&path, "[sync]\nbatch_size = 0\n").unwrap();
        let err = load_with(Some(&path), &env(&[])).unwrap_err();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        let path = dir.path().join("etc/d.toml");
        std::fs::write(
            &path,
            "maps = \"maps\"\n[operational]\nurl = \"sqlite://../data/op.db?mode=rwc\"\n\
             [accounting]\nurl = \"sqlite:///abs/acct.db\"\n",
        )
        .unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let c = load_with(Some(&path), &env(&[("DUALSYNC_STATE__URL", "sqlite://here/state.db")])).unwrap();
        assert_eq!(c.maps, root.join("etc/maps"));
        assert_eq!(
            c.operational.url,
            format!("sqlite://{}?mode=rwc", root.join("data/op.db").display())
        );
        assert_eq!(c.accounting.url, "sqlite:///abs/acct.db", "absolute paths stay");
        assert_eq!(
            c.state.url, "sqlite://here/state.db",
            "the environment's stay relative to the working folder"
        );
    }

    #[test]
    fn secrets_can_be_read_from_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "p@ss w/rd\n").unwrap();
        std::fs::write(dir.path().join("url"), "postgres://u:x@db:5432/ledger\n").unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(
            &path,
            "[operational]\nurl = \"postgres://dualsync@db:5432/ops\"\npassword_file = \"pw\"\n\
             [accounting]\nurl_file = \"url\"\n",
        )
        .unwrap();
        let c = load_with(Some(&path), &env(&[])).unwrap();
        assert_eq!(c.accounting.url, "postgres://u:x@db:5432/ledger");
        let opts: sqlx::postgres::PgConnectOptions = c.operational.url.parse().unwrap();
        assert_eq!(opts.get_username(), "dualsync");
        assert!(
            c.operational.url.starts_with("postgres://dualsync:"),
            "{}",
            c.operational.url
        );
        assert!(!crate::store::sql::redact(&c.operational.url).contains("ss w"));
        // A missing secret file is named, and its would-be content is never shown.
        std::fs::remove_file(dir.path().join("pw")).unwrap();
        let err = load_with(Some(&path), &env(&[])).unwrap_err();
        assert!(
            err.contains("`operational.password_file`") && err.contains("cannot read"),
            "{err}"
        );
    }

    #[test]
    fn the_shipped_configurations_load() {
        let root = std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).unwrap();
        let c = Config::load(Some(&root.join("deploy/dualsync.toml"))).unwrap();
        assert!(c.demo);
        assert_eq!(
            c.state.url,
            format!("sqlite://{}", root.join("data/state.db").display())
        );
        assert_eq!(c.maps, root.join("table-maps"));
        assert_eq!(c.sqlite_folders(), vec![root.join("data"); 3]);
        // The production template: no demo, and its secrets come from files (absent here).
        let text = std::fs::read_to_string(root.join("deploy/production.toml")).unwrap();
        assert!(text.contains("\ndemo = false"));
        let err = Config::load(Some(&root.join("deploy/production.toml"))).unwrap_err();
        assert!(err.contains("`operational.password_file`"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("pw");
        std::fs::write(&secret, "s3cret").unwrap();
        let e: std::collections::BTreeMap<String, String> = ["OPERATIONAL", "ACCOUNTING", "STATE"]
            .iter()
            .map(|s| (format!("DUALSYNC_{s}__PASSWORD_FILE"), secret.display().to_string()))
            .collect();
        let c = load_with(Some(&root.join("deploy/production.toml")), &e).unwrap();
        assert!(!c.demo && !c.processes.enabled);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.maps, root.join("deploy/table-maps"));
        // The Dataverse template: its client secret comes from a file too.
        let mut e = e;
        e.remove("DUALSYNC_OPERATIONAL__PASSWORD_FILE");
        let err = load_with(Some(&root.join("deploy/dataverse.toml")), &e).unwrap_err();
        assert!(err.contains("`operational.auth.client_secret_file`"), "{err}");
        e.insert(
            "DUALSYNC_OPERATIONAL__AUTH__CLIENT_SECRET_FILE".into(),
            secret.display().to_string(),
        );
        let c = load_with(Some(&root.join("deploy/dataverse.toml")), &e).unwrap();
        assert_eq!(c.operational.kind, StoreKind::Dataverse);
        assert_eq!(
            c.operational.http,
            HttpConfig {
                page_size: Some(StoreKind::Dataverse.http_maxima().0),
                batch_requests: Some(StoreKind::Dataverse.http_maxima().1),
                ..HttpConfig::default()
            },
            "the template shows the defaults"
        );
        // The connected template: both sides over HTTP, the processes off, both secrets from
        // files.
        e.remove("DUALSYNC_ACCOUNTING__PASSWORD_FILE");
        e.insert(
            "DUALSYNC_ACCOUNTING__AUTH__CLIENT_SECRET_FILE".into(),
            secret.display().to_string(),
        );
        let c = load_with(Some(&root.join("deploy/connected.toml")), &e).unwrap();
        assert_eq!(
            (c.operational.kind, c.accounting.kind),
            (StoreKind::Dataverse, StoreKind::Finops)
        );
        assert!(!c.demo && !c.processes.enabled);
        assert_eq!(
            c.accounting.http,
            HttpConfig {
                page_size: Some(StoreKind::Finops.http_maxima().0),
                batch_requests: Some(StoreKind::Finops.http_maxima().1),
                ..HttpConfig::default()
            },
            "the template shows the defaults"
        );
        assert_eq!(c.accounting.finops, crate::config::FinopsConfig::default());
        assert_eq!(c.accounting.companies, c.companies);
        // Turning the processes on against finance and operations is refused, with the reason.
        e.insert("DUALSYNC_PROCESSES__ENABLED".into(), "true".into());
        let err = load_with(Some(&root.join("deploy/connected.toml")), &e).unwrap_err();
        assert!(
            err.contains("`processes.enabled`") && err.contains("\"finops\""),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_log_level_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, "[log]\nlevel = \"warnning\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(
            err.contains("`log.level`") && err.contains("did you mean \"warn\""),
            "{err}"
        );
        std::fs::write(&path, "[log]\nlevel = \"dualsync=debug, sqlx=WARN,info\"\n").unwrap();
        assert!(Config::load(Some(&path)).is_ok());
        std::fs::write(&path, "[log]\nlevel = \"dualsync\"\n").unwrap();
        assert!(Config::load(Some(&path)).is_err(), "a bare target is not a level");
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(
            &path,
            "[sync]\nbatch_size = 0\n[retry]\nmax_attempts = 0\n[log]\nlevel = \"loud\"\n",
        )
        .unwrap();
        let err = load_with(Some(&path), &env(&[("DUALSYNC_ACCOUNTING__URL", "mysql://x")])).unwrap_err();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 4, "{err}");
        assert!(
            lines[0].starts_with("the environment variable DUALSYNC_ACCOUNTING__URL:"),
            "{err}"
        );
        assert!(
            lines[1..].iter().all(|l| l.starts_with(&path.display().to_string())),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, "[sync]\nbatch_sise = 100\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(err.contains("batch_sise"), "{err}");
        std::fs::write(&path, "[accounting]\nurl = \"mysql://x\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(err.contains("`accounting.url`"), "{err}");
        assert!(
            Config::load(Some(Path::new("/nonexistent.toml")))
                .unwrap_err()
                .contains("no such configuration file")
        );
    }

    #[test]
    fn the_admin_listener_needs_a_token_beyond_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, "[admin]\nlisten = \"127.0.0.1:9464\"\n").unwrap();
        let c = Config::load(Some(&path)).unwrap();
        assert_eq!(c.admin.address(), Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(Config::default().admin.address(), None, "off by default");

        std::fs::write(&path, "[admin]\nlisten = \"0.0.0.0:9464\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(
            err.contains("`admin.listen`") && err.contains("admin.token_file"),
            "{err}"
        );

        std::fs::write(
            &path,
            "[admin]\nlisten = \"0.0.0.0:9464\"\ntoken_file = \"admin.token\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path)).unwrap();
        let folder = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(c.admin.token_file, Some(folder.join("admin.token")), "next to the file");

        let c = load_with(Some(&path), &env(&[("DUALSYNC_ADMIN__LISTEN", "127.0.0.1:9555")])).unwrap();
        assert_eq!(
            c.admin.address(),
            Some("127.0.0.1:9555".parse().unwrap()),
            "the environment wins"
        );

        std::fs::write(&path, "[admin]\nlisten = \"localhost\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(err.contains("not an address and port"), "{err}");
    }

    #[test]
    fn high_availability_needs_postgres_and_a_lease_renewed_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, "[ha]\nmode = \"active-standby\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(
            err.contains("`ha.mode`") && err.contains("PostgreSQL state store"),
            "{err}"
        );
        std::fs::write(
            &path,
            "[state]\nurl = \"postgres://u@h/s\"\n[ha]\nmode = \"partitioned\"\nlease_seconds = 5\nrenew_seconds = 3\n",
        )
        .unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(err.contains("`ha.renew_seconds` = 3"), "{err}");
        std::fs::write(
            &path,
            "[state]\nurl = \"postgres://u@h/s\"\n[ha]\nmode = \"partitioned\"\nreplica = \"pod-1\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(
            (config.ha.mode, config.ha.replica_id()),
            (HaMode::Partitioned, "pod-1".to_string())
        );
        std::fs::write(&path, "[ha]\nmode = \"hot\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(
            err.contains("`ha.mode`") && err.contains("single, active-standby, partitioned"),
            "{err}"
        );
    }
}
