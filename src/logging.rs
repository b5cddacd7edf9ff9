//! Logging of the daemon paths (`dualsync run`, `dualsync initial-sync`): human lines or pure
//! JSON lines (`log.format`), always on standard error; the filter from `log.level`, or from
//! `RUST_LOG` when that is set; ANSI colors only when standard error is a terminal and
//! `NO_COLOR` is unset; log lines written with the progress bars lifted, so they never glue
//! onto a bar; and the start line (version, configuration file, redacted store URLs).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::MultiProgress;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{Config, LogFormat};
use crate::store::sql::redact;

/// Whether `init` set up JSON lines (then everything this process says on stderr is JSON).
static JSON: AtomicBool = AtomicBool::new(false);

/// The progress bars of this process, drawn on standard error (hidden when it is no terminal).
static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Where the log filter came from, for the start line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterSource {
    /// `RUST_LOG`, which overrides `log.level`.
    RustLog(String),
    /// `log.level` of the configuration.
    Config(String),
}

impl FilterSource {
    /// The filter directives and where they came from: `RUST_LOG` when it is set and not
    /// blank, else `log.level`.
    pub fn choose(config: &Config, rust_log: Option<&str>) -> FilterSource {
        match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => FilterSource::RustLog(v.to_string()),
            None => FilterSource::Config(config.log.level.clone()),
        }
    }

    /// The directives, in `RUST_LOG` syntax.
    pub fn directives(&self) -> &str {
        match self {
            FilterSource::RustLog(d) | FilterSource::Config(d) => d,
        }
    }

    /// The filter; an error names the variable or key and says what to do.
    pub fn filter(&self) -> Result<EnvFilter, String> {
        EnvFilter::builder().parse(self.directives()).map_err(|e| match self {
            FilterSource::RustLog(d) => format!(
                "RUST_LOG=\"{d}\" is not a log filter: {e}; use levels or target=level directives \
                 separated by commas (e.g. RUST_LOG=info,dualsync=debug), or unset RUST_LOG to use log.level"
            ),
            FilterSource::Config(d) => {
                format!("`log.level` = \"{d}\" is not a log filter: {e}; use e.g. \"info\" or \"dualsync=debug\"")
            }
        })
    }

    fn name(&self) -> &'static str {
        match self {
            FilterSource::RustLog(_) => "RUST_LOG",
            FilterSource::Config(_) => "log.level",
        }
    }
}

/// Whether human log lines get ANSI colors: only on a terminal, and never with `NO_COLOR` set
/// to anything but the empty string (https://no-color.org).
pub fn colors_wanted(stderr_is_terminal: bool, no_color: Option<&str>) -> bool {
    stderr_is_terminal && no_color.is_none_or(str::is_empty)
}

/// Sets up logging as configured and logs the start line: the version, the configuration file
/// `config_path`, the redacted store URLs and where the filter came from. `command` names the
/// subcommand (`run`, `initial-sync`). An unusable `RUST_LOG` is an error (nothing is logged).
pub fn init(config: &Config, config_path: &Path, command: &str) -> Result<(), String> {
    let source = FilterSource::choose(config, std::env::var("RUST_LOG").ok().as_deref());
    let filter = source.filter()?;
    let json = config.log.format == LogFormat::Json;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(BarSafeStderr);
    let installed = if json {
        builder.json().with_ansi(false).try_init()
    } else {
        let colors = colors_wanted(
            std::io::stderr().is_terminal(),
            std::env::var("NO_COLOR").ok().as_deref(),
        );
        builder.with_ansi(colors).try_init()
    };
    // Already installed (a second call in one process): the first set-up stays.
    if installed.is_ok() {
        JSON.store(json, Ordering::Relaxed);
    }
    let config_path = std::fs::canonicalize(config_path).unwrap_or_else(|_| config_path.to_path_buf());
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        command,
        config = %config_path.display(),
        operational = %redact(&config.operational.url),
        accounting = %redact(&config.accounting.url),
        state = %redact(&config.state.url),
        filter = source.directives(),
        filter_from = source.name(),
        "dualsync starting"
    );
    Ok(())
}

/// Whether this process logs JSON lines (`init` with `log.format = "json"`).
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// The progress bars of this process; a bar added here is lifted while a log line is written.
pub fn bars() -> &'static MultiProgress {
    BARS.get_or_init(MultiProgress::new)
}

/// Writes `bytes` to standard error in one piece, with the progress bars lifted meanwhile.
pub fn write_stderr(bytes: &[u8]) {
    let write = || {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(bytes);
        let _ = err.flush();
    };
    match BARS.get() {
        Some(bars) => bars.suspend(write),
        None => write(),
    }
}

/// A problem the operator must fix (a map diagnostic, several lines with a caret): an error
/// event in JSON mode, else the text as it is, followed by a blank line.
pub fn problem(text: &str) {
    if json() {
        tracing::error!("{text}");
    } else {
        write_stderr(format!("{text}\n\n").as_bytes());
    }
}

/// Why a command failed, as its last word: an error event in JSON mode (with the hint as a
/// field), else `error: ...` and `hint: ...` lines.
pub fn failure(message: &str, hint: Option<&str>) {
    if json() {
        match hint {
            Some(hint) => tracing::error!(hint, "{message}"),
            None => tracing::error!("{message}"),
        }
    } else {
        let hint = hint.map(|h| format!("hint: {h}\n")).unwrap_or_default();
        write_stderr(format!("error: {message}\n{hint}").as_bytes());
    }
}

/// The log's writer: each event is gathered whole, then written with the bars lifted.
struct BarSafeStderr;

/// One event's bytes, written to standard error when dropped.
struct EventLine(Vec<u8>);

impl<'a> MakeWriter<'a> for BarSafeStderr {
    type Writer = EventLine;

    fn make_writer(&'a self) -> EventLine {
        EventLine(Vec::with_capacity(256))
    }
}

impl Write for EventLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            write_stderr(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_overrides_the_configured_level() {
        let mut config = Config::default();
        config.log.level = "warn".into();
        assert_eq!(
            FilterSource::choose(&config, Some("dualsync=debug")),
            FilterSource::RustLog("dualsync=debug".into())
        );
        // Unset or blank: the configuration decides.
        for unset in [None, Some(""), Some("  ")] {
            assert_eq!(
                FilterSource::choose(&config, unset),
                FilterSource::Config("warn".into())
            );
        }
    }

    #[test]
    fn a_broken_rust_log_is_refused_naming_it() {
        let err = FilterSource::RustLog("dualsync=loud".into()).filter().unwrap_err();
        assert!(
            err.starts_with("RUST_LOG=\"dualsync=loud\"") && err.contains("unset RUST_LOG"),
            "{err}"
        );
        assert!(
            FilterSource::RustLog("info,sqlx=warn,dualsync::engine=trace".into())
                .filter()
                .is_ok()
        );
    }

    #[test]
    fn colors_only_on_a_terminal_without_no_color() {
        assert!(colors_wanted(true, None));
        assert!(colors_wanted(true, Some("")));
        assert!(!colors_wanted(true, Some("1")));
        assert!(!colors_wanted(false, None));
    }
}
