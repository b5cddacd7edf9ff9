//! The `dualsync` binary: parses the command line and hands over to `dualsync::cli`.

/// jemalloc serves every allocation of the process, SQLite's included (the crate's
/// `unprefixed_malloc_on_supported_platforms` replaces `malloc` itself). glibc's allocator kept
/// what the initial sync's 14 threads had freed in their own arenas, so resident memory grew
/// with the rows synced while the live heap stayed flat at ~29 MiB (issue 15, measured in
/// `docs/performance.md`); jemalloc with the settings below was the flattest and fastest of
/// the allocators measured.
#[cfg(all(unix, not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read at its start (`MALLOC_CONF` in the environment overrides them):
/// two arenas for a two-core machine's worth of threads, freed pages handed back to the system
/// after a second by a background thread instead of kept for reuse.
#[cfg(all(unix, not(target_env = "msvc")))]
#[unsafe(export_name = "malloc_conf")]
static MALLOC_CONF: &[u8; 70] = b"narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

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
