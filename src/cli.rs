//! The command-line interface: one clap subcommand per admin task.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Print the JSON Schema of the table-map format, for editors.
    Schema,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Schema => {
            let schema = crate::tablemap::json_schema();
            println!("{}", serde_json::to_string_pretty(&schema).expect("schema serializes"));
            ExitCode::SUCCESS
        }
    }
}
