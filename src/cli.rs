//! The command-line interface: one clap subcommand per admin task.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::tablemap;

/// dualsync keeps an operational system (projects, contracts, actuals) and an accounting
/// system (ledger, journals) in sync, driven by declarative table maps.
#[derive(Debug, Parser)]
#[command(name = "dualsync", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check table-map files and report every problem at once (exit 0 valid, 1 invalid, 2 usage).
    Validate {
        /// Map files or folders of map files.
        #[arg(default_value = "table-maps")]
        paths: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the table-map format, for editors to validate and complete maps.
    Schema,
}

/// Exit status of `validate` when a map is invalid (clap uses 2 for usage errors).
const INVALID: u8 = 1;
const USAGE: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { paths } => validate(&paths),
        Command::Schema => {
            let schema = tablemap::json_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("schema serializes")
            );
            ExitCode::SUCCESS
        }
    }
}

fn validate(paths: &[PathBuf]) -> ExitCode {
    let loaded = match tablemap::load(paths) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("hint: pass map files or folders holding them; the default is table-maps/");
            return ExitCode::from(USAGE);
        }
    };
    for d in &loaded.diagnostics {
        eprintln!("{d}\n");
    }
    if loaded.is_valid() {
        println!("valid: {}", loaded.summary());
        ExitCode::SUCCESS
    } else {
        let files: std::collections::BTreeSet<_> =
            loaded.diagnostics.iter().map(|d| &d.file).collect();
        println!(
            "invalid: {} problem{} in {} file{}; {}",
            loaded.diagnostics.len(),
            if loaded.diagnostics.len() == 1 {
                ""
            } else {
                "s"
            },
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            loaded.summary()
        );
        ExitCode::from(INVALID)
    }
}
