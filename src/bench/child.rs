//! Runs `dualsync` itself as a child process for the benchmark and measures it: wall-clock time
//! and peak resident memory. The peak is the child's own `VmHWM`, which it writes at exit into
//! the file named by `DUALSYNC_PEAK_RSS_FILE` (`main.rs`): `ru_maxrss` from `wait4` counted the
//! benchmark's own memory too (a spawned child shares its parent's memory until it runs the
//! program, and Linux keeps that peak as the child's), so PostgreSQL runs reported the
//! benchmark's 219 MiB where the child itself peaked at 48. Its standard error goes to a log file.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What one finished child run measured.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    pub elapsed: Duration,
    /// Peak resident set size in bytes.
    pub peak_rss: u64,
}

/// A running `dualsync` child.
pub struct Running {
    child: Child,
    started: Instant,
    what: String,
    log: std::path::PathBuf,
    /// Where the child writes its peak memory at exit.
    peak_file: std::path::PathBuf,
    waited: bool,
}

impl Drop for Running {
    /// A child left running by an error of the benchmark is killed, not orphaned.
    fn drop(&mut self) {
        if !self.waited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `dualsync ARGS...` (this very executable), standard error appended to `log`.
pub fn spawn(args: &[&str], log: &Path) -> Result<Running, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the dualsync executable: {e}"))?;
    let err = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let what = format!("dualsync {}", args.join(" "));
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let peak_file = log.with_extension(format!("peak-{}-{run}", std::process::id()));
    let _ = std::fs::remove_file(&peak_file);
    let started = Instant::now();
    let child = Command::new(exe)
        .args(args)
        .env("DUALSYNC_LOG__FORMAT", "human")
        .env("DUALSYNC_PEAK_RSS_FILE", &peak_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    Ok(Running {
        child,
        started,
        what,
        log: log.to_path_buf(),
        peak_file,
        waited: false,
    })
}

/// Runs `dualsync ARGS...` to the end; an exit status other than 0 is an error naming the log.
pub fn run(args: &[&str], log: &Path) -> Result<Finished, String> {
    spawn(args, log)?.wait()
}

impl Running {
    /// Asks the child to stop as an operator would (SIGTERM), then waits for it.
    pub fn stop(self) -> Result<Finished, String> {
        // SAFETY: sending a signal to our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.wait()
    }

    /// Waits for the child and reads its resource usage.
    pub fn wait(mut self) -> Result<Finished, String> {
        let pid = self.child.id() as libc::pid_t;
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is a valid value; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our child, not yet waited for (std's Child is never waited on here).
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        self.waited = r == pid;
        if r != pid {
            return Err(format!(
                "waiting for {}: {}",
                self.what,
                std::io::Error::last_os_error()
            ));
        }
        let elapsed = self.started.elapsed();
        let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        if !exited_ok {
            return Err(format!(
                "{} failed (wait status {status}); its log is {}",
                self.what,
                self.log.display()
            ));
        }
        // The child's own peak; `ru_maxrss` (an upper bound, see above) if it wrote none.
        let own = std::fs::read_to_string(&self.peak_file)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        let _ = std::fs::remove_file(&self.peak_file);
        Ok(Finished {
            elapsed,
            // Both in KiB.
            peak_rss: own.unwrap_or(usage.ru_maxrss as u64) * 1024,
        })
    }
}
