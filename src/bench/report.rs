//! The benchmark's report: the machine it ran on, the options, every figure, as JSON (for
//! tools and for comparing runs) and as markdown tables (for people and `docs/performance.md`),
//! both written under `bench/results/` with the run's start time in their names.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{BackendResult, BenchArgs};

/// What the benchmark ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    fn read() -> Machine {
        let file = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpuinfo = file("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, v)| v.trim())
            })
            .unwrap_or("unknown")
            .to_string();
        let meminfo = file("/proc/meminfo");
        let kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            memory_gib: (kib / (1024.0 * 1024.0) * 10.0).round() / 10.0,
            kernel: file("/proc/sys/kernel/osrelease").trim().to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub started: chrono::DateTime<chrono::Utc>,
    pub dualsync_version: &'static str,
    pub git_commit: Option<String>,
    pub machine: Machine,
    pub options: BenchArgs,
    pub backends: Vec<BackendResult>,
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Report {
    pub fn new(args: &BenchArgs, started: chrono::DateTime<chrono::Utc>, backends: Vec<BackendResult>) -> Report {
        Report {
            started,
            dualsync_version: env!("CARGO_PKG_VERSION"),
            git_commit: git_commit(),
            machine: Machine::read(),
            options: args.clone(),
            backends,
        }
    }

    /// The tables: initial sync against the raw copy, then live sync.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = format!(
            "dualsync {} ({}), {} UTC, on {} ({} cores, {} GiB, Linux {})\n\n",
            self.dualsync_version,
            self.git_commit.as_deref().unwrap_or("no git"),
            self.started.format("%Y-%m-%d %H:%M"),
            m.cpu,
            m.cores,
            m.memory_gib,
            m.kernel
        );
        s += "| backend | actuals staged | raw copy rows/s | dualsync rows/s | dualsync/raw | dualsync s | peak RSS MiB | reconcile actuals/s | reconcile s | reconcile MiB |\n";
        s += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
        for b in &self.backends {
            for z in &b.sizes {
                s += &format!(
                    "| {} | {} | {:.0} | {:.0} | {:.3} | {:.1} | {:.0} | {:.0} | {:.1} | {:.0} |\n",
                    b.backend.name(),
                    z.dualsync.rows,
                    z.raw.rows_per_second,
                    z.dualsync.rows_per_second,
                    z.ratio,
                    z.dualsync.seconds,
                    z.peak_rss_mib,
                    z.reconcile.rows_per_second,
                    z.reconcile.seconds,
                    z.reconcile_peak_rss_mib
                );
            }
        }
        s +=
            "\n| backend | phase | target/s | achieved/s | changes | p50 ms | p95 ms | p99 ms | max ms | sustained |\n";
        s += "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
        for b in &self.backends {
            let Some(live) = &b.live else { continue };
            let phases = std::iter::once(("fixed", &live.fixed)).chain(live.steps.iter().map(|p| ("step", p)));
            for (kind, p) in phases {
                s += &format!(
                    "| {} | {kind} {:.0} s | {} | {:.0} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |\n",
                    b.backend.name(),
                    p.seconds,
                    p.target_rate,
                    p.achieved_rate,
                    p.changes,
                    p.p50_ms,
                    p.p95_ms,
                    p.p99_ms,
                    p.max_ms,
                    if p.sustained { "yes" } else { "no" }
                );
            }
        }
        let bursts: Vec<_> = self
            .backends
            .iter()
            .filter_map(|b| Some((b.backend.name(), b.live.as_ref()?.burst.as_ref()?)))
            .collect();
        if !bursts.is_empty() {
            s += "\n| backend | burst actuals | written in s | all staged after s | drain rate/s | first ms | p50 ms | arrived |\n";
            s += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
            for (name, b) in bursts {
                s += &format!(
                    "| {name} | {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} | {} |\n",
                    b.rows, b.write_seconds, b.drain_seconds, b.drain_rate, b.first_ms, b.p50_ms, b.arrived
                );
            }
        }
        s += "\n";
        for b in &self.backends {
            if let Some(server) = &b.server {
                s += &format!("{}: {server}\n", b.backend.name());
            }
            if let Some(live) = &b.live {
                s += &format!(
                    "{}: highest sustained live rate {}; changes lost {}; daemon peak RSS {:.0} MiB\n",
                    b.backend.name(),
                    live.max_sustained_rate
                        .map_or("none of the rates tried".to_string(), |r| format!("{r}/s")),
                    live.lost,
                    b.daemon_peak_rss_mib.unwrap_or(0.0)
                );
            }
        }
        s
    }

    /// Writes `<out>/<start time>.json` and `.md`; returns both paths.
    pub fn write(&self, out: &Path) -> Result<(PathBuf, PathBuf), String> {
        std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        let stem = self.started.format("%Y%m%dT%H%M%SZ").to_string();
        let json = out.join(format!("{stem}.json"));
        let md = out.join(format!("{stem}.md"));
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&json, text + "\n").map_err(|e| format!("cannot write {}: {e}", json.display()))?;
        std::fs::write(&md, self.markdown()).map_err(|e| format!("cannot write {}: {e}", md.display()))?;
        Ok((json, md))
    }
}
