//! The `dualsync` binary: parses the command line and hands over to `dualsync::cli`.

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    let code = dualsync::cli::main();
    report_peak_memory();
    code
}

/// For `dualsync bench`, which runs this program as a child and measures its memory: when
/// `DUALSYNC_PEAK_RSS_FILE` names a file, the process's own peak resident memory (`VmHWM`, in
/// KiB) is written there at exit. The kernel's `ru_maxrss` of a child cannot serve: a child
/// started by `posix_spawn` shares the parent's memory until it runs this program, and Linux
/// counts the parent's peak as the child's.
fn report_peak_memory() {
    let Some(path) = std::env::var_os("DUALSYNC_PEAK_RSS_FILE") else {
        return;
    };
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return;
    };
    if let Some(kib) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        let _ = std::fs::write(path, kib.to_string());
    }
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`dualsync status | head`) panics.
/// Restore the default, as other command-line tools have it: the process just ends.
fn restore_sigpipe() {
    #[cfg(unix)]
    {
        unsafe extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        const SIGPIPE: i32 = 13;
        const SIG_DFL: usize = 0;
        // SAFETY: setting a signal's disposition to the default is always sound.
        unsafe {
            signal(SIGPIPE, SIG_DFL);
        }
    }
}
