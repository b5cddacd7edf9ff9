//! The `dualsync` binary: parses the command line and hands over to `dualsync::cli`.

fn main() -> std::process::ExitCode {
    dualsync::cli::main()
}
