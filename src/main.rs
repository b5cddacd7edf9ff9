//! The `dualsync` binary: parses the command line and hands over to `dualsync::cli`.

/// mimalloc instead of glibc's allocator: a batch allocates and frees many small values (rows,
/// key texts), and glibc spent a fifth of an initial sync's CPU in `malloc_consolidate` and
/// friends (`docs/performance.md`, issue 15).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    dualsync::cli::main()
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
