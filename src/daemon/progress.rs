//! The initial-sync progress bar on a terminal: one line per map, redrawn in place at most ten
//! times a second, with records read of the total, a bar, the rate and the counts so far. Off
//! when standard error is not a terminal or the log is JSON (then progress goes to the log).

use std::io::Write;
use std::time::{Duration, Instant};

use crate::engine::state::SyncCounts;

pub struct Progress {
    map: String,
    total: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    pub fn new(map: &str, total: u64) -> Progress {
        Progress {
            map: map.to_string(),
            total,
            started: Instant::now(),
            drawn: None,
        }
    }

    /// Redraws the line with these counts (at most every 100 ms).
    pub fn update(&mut self, counts: &SyncCounts) {
        if self.drawn.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
            return;
        }
        self.drawn = Some(Instant::now());
        let line = line(&self.map, counts, self.total, self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }

    /// Clears the line (the summary is printed after it).
    pub fn finish(&mut self) {
        if self.drawn.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// One progress line: `actuals  [#######-------------]  35%  3,500/10,000  1,204/s  written 3,400 ...`.
pub fn line(map: &str, c: &SyncCounts, total: u64, elapsed: Duration) -> String {
    const WIDTH: u64 = 24;
    let done = c.read.min(total.max(c.read));
    let total = total.max(done).max(1);
    let filled = (done * WIDTH / total) as usize;
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    format!(
        "{map:<26} [{}{}] {:>3}%  {}/{}  {}/s  written {}  skipped {}  parked {}  failed {}",
        "#".repeat(filled),
        "-".repeat(WIDTH as usize - filled),
        done * 100 / total,
        thousands(done),
        thousands(total),
        thousands(rate as u64),
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

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn the_line_shows_the_share_done() {
        let c = SyncCounts {
            read: 2500,
            written: 2400,
            skipped: 100,
            ..Default::default()
        };
        let l = line("actuals", &c, 10_000, Duration::from_secs(2));
        assert!(
            l.contains("[######------------------]  25%  2,500/10,000  1,250/s  written 2,400  skipped 100"),
            "{l}"
        );
        // More read than counted at the start (rows added meanwhile): never above 100 %.
        let l = line("actuals", &c, 1000, Duration::from_secs(1));
        assert!(l.contains("100%  2,500/2,500"), "{l}");
    }
}
