//! How an initial sync shows its progress. On a terminal with human logs: one `indicatif` bar
//! per map on standard error, counting both passes (the main pass over the operational records
//! and the write-back pass over the accounting records), lifted while log lines are written
//! (see `crate::logging`). Otherwise (JSON logs, no terminal): a log event every two seconds.
//! `Tally` is the pass accounting both use: where a map stands and how far it has to go.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Config, LogFormat};
use crate::engine::initial::InitialProgress;

/// How an initial sync reports: a bar (or log events), and whether the per-map summary table
/// goes to standard output (the `initial-sync` command with human logs: output asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub bar: bool,
    pub summary: bool,
}

impl Output {
    /// For `dualsync initial-sync`: bars on a terminal with human logs, and the summary table.
    pub fn command(config: &Config) -> Output {
        Output {
            bar: bars_wanted(config),
            summary: config.log.format == LogFormat::Human,
        }
    }

    /// For `dualsync run`: bars on a terminal with human logs; the counts go to the log only.
    pub fn daemon(config: &Config) -> Output {
        Output {
            bar: bars_wanted(config),
            summary: false,
        }
    }
}

/// Whether to draw progress bars: standard error is a terminal and the log is for humans.
fn bars_wanted(config: &Config) -> bool {
    config.log.format == LogFormat::Human && std::io::stderr().is_terminal()
}

/// The pass accounting of one map's initial sync: the position is every record read so far
/// (all passes); the length is what the finished passes read, plus the records of the current
/// pass's side (counted as it started), plus as many again for each pass still to come (the
/// write-back pass reads about the records the main pass reached; it is counted when it starts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub position: u64,
    pub length: u64,
    /// 1-based, for display.
    pub pass: usize,
    pub passes: usize,
}

impl Tally {
    /// Takes in one report of the engine.
    pub fn update(&mut self, p: &InitialProgress) {
        let pass_length = match p.pass_total {
            Some(total) => total * (p.passes.saturating_sub(p.pass)) as u64,
            // Not counted: the length so far, less what earlier passes read.
            None => self.length.saturating_sub(p.read_before),
        };
        self.position = p.counts.read;
        self.length = (p.read_before + pass_length).max(self.position);
        self.pass = p.pass + 1;
        self.passes = p.passes.max(1);
    }

    /// The share done, in whole percent (100 when there was nothing to read).
    pub fn percent(&self) -> u64 {
        match self.length {
            0 => 100,
            n => self.position * 100 / n,
        }
    }

    /// Which pass, for a person: `pass 1/2 (main)`, `pass 2/2 (write-back)`; empty for maps
    /// with a single pass.
    pub fn pass_label(&self) -> String {
        match (self.passes, self.pass) {
            (0 | 1, _) => String::new(),
            (n, 1) => format!("pass 1/{n} (main)"),
            (n, p) => format!("pass {p}/{n} (write-back)"),
        }
    }
}

/// One map's progress: a bar, or log events at most every two seconds.
pub struct Progress {
    map: String,
    tally: Tally,
    /// Whether to draw a bar; it is added at the first report, when its length is known.
    wants_bar: bool,
    bar: Option<ProgressBar>,
    started: Instant,
    /// Records read when this run began (a resumed sync), left out of the rate.
    read_at_start: Option<u64>,
    logged: Instant,
}

impl Progress {
    /// Starts the progress of `map`'s initial sync; `bar` draws a bar (see `Output`).
    pub fn new(map: &str, bar: bool) -> Progress {
        Progress {
            map: map.to_string(),
            tally: Tally::default(),
            wants_bar: bar,
            bar: None,
            started: Instant::now(),
            read_at_start: None,
            logged: Instant::now(),
        }
    }

    /// Takes in one report of the engine: redraws the bar, or logs when two seconds passed.
    pub fn update(&mut self, p: &InitialProgress) {
        self.tally.update(p);
        let t = &self.tally;
        let c = &p.counts;
        let base = *self.read_at_start.get_or_insert(c.read);
        let rate = rate(c.read.saturating_sub(base), self.started.elapsed());
        if self.wants_bar {
            let bar = self.bar.get_or_insert_with(|| new_bar(&self.map));
            bar.set_length(t.length);
            bar.set_position(t.position);
            bar.set_message(message(t, c, rate));
        } else if self.logged.elapsed() >= Duration::from_secs(2) {
            tracing::info!(
                map = %self.map, pass = t.pass, passes = t.passes, read = c.read, of = t.length,
                percent = t.percent(), per_second = rate, written = c.written, skipped = c.skipped,
                parked = c.parked, failed = c.failed, "initial sync progress"
            );
            self.logged = Instant::now();
        }
    }

    /// Removes the bar (the log line and the summary follow it).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            crate::logging::bars().remove(&bar);
        }
    }
}

/// A bar for `map`, drawn among the process's bars (lifted while log lines are written).
fn new_bar(map: &str) -> ProgressBar {
    let style = ProgressStyle::with_template("{prefix:<26} [{bar:24}] {percent:>3}%  {human_pos}/{human_len}  {msg}")
        .expect("the progress template is valid")
        .progress_chars("#>-");
    let bar = crate::logging::bars().add(ProgressBar::new(0).with_style(style));
    bar.set_prefix(map.to_string());
    bar
}

/// Records per second, whole.
pub fn rate(read: u64, elapsed: Duration) -> u64 {
    (read as f64 / elapsed.as_secs_f64().max(0.001)) as u64
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The words after the bar: the rate, the pass (maps with two) and the counts so far.
pub fn message(t: &Tally, c: &crate::engine::state::SyncCounts, rate: u64) -> String {
    let pass = t.pass_label();
    format!(
        "{}/s  {pass}{}written {}  skipped {}  parked {}  failed {}",
        thousands(rate),
        if pass.is_empty() { "" } else { "  " },
        thousands(c.written),
        thousands(c.skipped),
        thousands(c.parked),
        thousands(c.failed),
    )
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::SyncCounts;

    fn report(pass: usize, passes: usize, read: u64, read_before: u64, pass_total: Option<u64>) -> InitialProgress {
        InitialProgress {
            counts: SyncCounts {
                read,
                ..Default::default()
            },
            pass,
            passes,
            read_before,
            pass_total,
        }
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn one_pass_runs_from_zero_to_the_count() {
        let mut t = Tally::default();
        t.update(&report(0, 1, 0, 0, Some(1000)));
        assert_eq!((t.position, t.length, t.percent()), (0, 1000, 0));
        t.update(&report(0, 1, 500, 0, Some(1000)));
        assert_eq!((t.position, t.length, t.percent()), (500, 1000, 50));
        t.update(&report(0, 1, 1000, 0, Some(1000)));
        assert_eq!((t.position, t.length, t.percent()), (1000, 1000, 100));
        assert_eq!(t.pass_label(), "");
    }

    #[test]
    fn both_passes_share_one_bar() {
        // The accounting side is empty at the start: the write-back pass is estimated at the
        // main pass's size, so the main pass ends halfway, not at 100 %.
        let mut t = Tally::default();
        t.update(&report(0, 2, 0, 0, Some(1000)));
        assert_eq!((t.position, t.length), (0, 2000));
        assert_eq!(t.pass_label(), "pass 1/2 (main)");
        t.update(&report(0, 2, 1000, 0, Some(1000)));
        assert_eq!((t.position, t.length, t.percent()), (1000, 2000, 50));
        // The write-back pass starts: its side holds 1200 records now (fan-out), counted.
        t.update(&report(1, 2, 1000, 1000, Some(1200)));
        assert_eq!((t.position, t.length, t.percent()), (1000, 2200, 45));
        assert_eq!(t.pass_label(), "pass 2/2 (write-back)");
        t.update(&report(1, 2, 1600, 1000, Some(1200)));
        assert_eq!((t.position, t.length, t.percent()), (1600, 2200, 72));
        t.update(&report(1, 2, 2200, 1000, Some(1200)));
        assert_eq!((t.position, t.length, t.percent()), (2200, 2200, 100));
    }

    #[test]
    fn a_resumed_sync_and_an_uncounted_pass_stay_within_the_bar() {
        // Resumed in the main pass: the records read before the crash count as done.
        let mut t = Tally::default();
        t.update(&report(0, 2, 700, 0, Some(1000)));
        assert_eq!((t.position, t.length), (700, 2000));
        // The write-back pass's side could not be counted: the estimate stays.
        t.update(&report(1, 2, 1000, 1000, None));
        assert_eq!((t.position, t.length), (1000, 2000));
        // More read than counted (records added meanwhile): never past the end.
        t.update(&report(1, 2, 2300, 1000, None));
        assert_eq!((t.position, t.length, t.percent()), (2300, 2300, 100));
        // Nothing to read at all.
        let mut empty = Tally::default();
        empty.update(&report(0, 1, 0, 0, Some(0)));
        assert_eq!(empty.percent(), 100);
    }

    #[test]
    fn the_message_names_the_pass_and_the_counts() {
        let mut t = Tally::default();
        t.update(&report(1, 2, 10, 5, Some(10)));
        let c = SyncCounts {
            written: 3400,
            skipped: 2,
            ..Default::default()
        };
        assert_eq!(
            message(&t, &c, 1204),
            "1,204/s  pass 2/2 (write-back)  written 3,400  skipped 2  parked 0  failed 0"
        );
        assert_eq!(rate(2500, Duration::from_secs(2)), 1250);
    }
}
