//! The daemon's configuration: a TOML file (`deploy/dualsync.toml` by default) with
//! `DUALSYNC_...` environment variables on top (`DUALSYNC_ACCOUNTING__URL=...` sets
//! `accounting.url`). Every value has a default that runs everything on SQLite files under
//! `./data`; `validate` names the key and says what to do when a value cannot work.

use std::path::{Path, PathBuf};
use std::time::Duration;

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
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub url: String,
    /// Writes per second this store may receive (0 = unlimited).
    pub max_writes_per_second: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StateConfig {
    pub url: String,
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
}

impl Default for ProcessesConfig {
    fn default() -> Self {
        ProcessesConfig {
            enabled: false,
            forecasts_seconds: 60,
            import_seconds: 60,
            post_seconds: 0,
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
                max_writes_per_second: 0,
            },
            accounting: StoreConfig {
                url: "sqlite://data/accounting.db".into(),
                max_writes_per_second: 0,
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
        }
    }
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            url: "sqlite://data/state.db".into(),
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
    /// Reads `file` (it must exist when given) and the `DUALSYNC_` environment on top.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            if !path.exists() {
                return Err(format!("{}: no such configuration file", path.display()));
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        // Only variables naming a configuration key: DUALSYNC_TEST_PG_URL and the like belong to
        // other tools (the test suite) and must not make the configuration invalid.
        const KEYS: [&str; 11] = [
            "operational",
            "accounting",
            "state",
            "maps",
            "companies",
            "demo",
            "sync",
            "retry",
            "alerts",
            "log",
            "processes",
        ];
        let env: std::collections::HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| {
                let rest = k.strip_prefix("DUALSYNC_").unwrap_or_default().to_ascii_lowercase();
                KEYS.iter()
                    .any(|key| rest == *key || rest.starts_with(&format!("{key}__")))
            })
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("DUALSYNC")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        let raw = builder.build().map_err(|e| e.to_string())?;
        let config: Config = raw.try_deserialize().map_err(|e| {
            let place = file
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "the environment".into());
            format!("{place}: {e}")
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), String> {
        for (key, url) in [
            ("operational.url", &self.operational.url),
            ("accounting.url", &self.accounting.url),
            ("state.url", &self.state.url),
        ] {
            if crate::store::sql::dialect_of(url).is_err() {
                return Err(format!(
                    "`{key}` = \"{}\" is not a store URL; use sqlite://path/file.db or postgres://user@host:5432/db",
                    crate::store::sql::redact(url)
                ));
            }
        }
        if self.operational.url == self.accounting.url {
            return Err("`operational.url` and `accounting.url` are the same store; each side needs its own".into());
        }
        if self.sync.batch_size == 0 || self.sync.batch_size > 10_000 {
            return Err(format!(
                "`sync.batch_size` = {} must be between 1 and 10000",
                self.sync.batch_size
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err("`retry.max_attempts` must be at least 1".into());
        }
        check_log_level(&self.log.level)
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
        assert_eq!(
            c.accounting.url, "sqlite://data/accounting.db",
            "defaults fill the rest"
        );
    }

    #[test]
    fn environment_overrides_only_configuration_keys() {
        // Set for this process only; no other test reads these names.
        unsafe {
            std::env::set_var("DUALSYNC_ALERTS__MAX_ERRORS", "7");
            std::env::set_var("DUALSYNC_TEST_SOMETHING_ELSE", "x");
        }
        let c = Config::load(None).unwrap();
        assert_eq!(c.alerts.max_errors, 7);
    }

    #[test]
    fn the_shipped_configuration_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/dualsync.toml");
        let c = Config::load(Some(&path)).unwrap();
        assert!(c.demo);
        assert_eq!(c.state.url, "sqlite://data/state.db");
        assert_eq!(c.sqlite_folders(), vec![PathBuf::from("data"); 3]);
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
}
