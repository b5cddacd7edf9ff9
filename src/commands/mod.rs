//! The admin commands, one module each: `status`, `pause`/`resume`, `errors ...`, `journal
//! ...`, `check`, `store ...` and `validate`. `cli.rs` parses the command line and calls them; each
//! returns what it prints or an `Error` (whose kind gives the exit code). The daemon itself
//! (`run`, `initial-sync`) lives in `daemon`.
//!
//! What an admin command may do to an installation: read-only ones (`status`, `errors list`,
//! `errors show`, `journal list`, `journal log`) write nothing and create nothing; the others
//! write only what they are for. None creates a store or seeds demo data (that is `run`'s
//! first start with `demo = true`, or `store init`), and those that read the state store work
//! while the map files are invalid, since the daemon keeps running the maps it last adopted.

pub mod check;
pub mod errors;
pub mod journal;
pub mod maps;
pub mod operational;
pub mod output;
pub mod plan;
pub mod reconcile;
pub mod replicas;
pub mod status;
pub mod store;
pub mod validate;

use std::path::PathBuf;

use crate::config::Config;
use crate::engine::state::StateStore;
pub use crate::error::no_such_map;

/// An unknown map named on the command line (`--map`): a usage error (exit 2), the names
/// listed once each, sorted.
pub fn unknown_map_option(name: &str, names: &[&str]) -> crate::error::Error {
    let mut names = names.to_vec();
    names.sort();
    names.dedup();
    let mut e = no_such_map(name, &names);
    e.kind = crate::error::Kind::Usage;
    e
}
use crate::error::{Context, Error, Result};
use crate::tablemap::{self, TableMap};

pub use output::{Output, Report};
pub use status::{StatusReport, status};

/// The configured map files as far as they load: every map that parsed, and whether all are
/// valid. Never fails: a folder that cannot be read counts as invalid.
pub struct MapFiles {
    pub maps: Vec<TableMap>,
    pub valid: bool,
    problems: usize,
    folder: PathBuf,
}

impl MapFiles {
    pub fn load(config: &Config) -> MapFiles {
        let folder = config.maps.clone();
        match tablemap::load(std::slice::from_ref(&folder)) {
            Ok(loaded) => MapFiles {
                maps: loaded.maps().cloned().collect(),
                valid: loaded.is_valid(),
                problems: loaded.diagnostics.len(),
                folder,
            },
            Err(_) => MapFiles {
                maps: Vec::new(),
                valid: false,
                problems: 1,
                folder,
            },
        }
    }

    /// The maps' names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.maps.iter().map(|m| m.name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn map(&self, name: &str) -> Option<&TableMap> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// A line saying the map files are invalid (empty when they are valid), for reports.
    pub fn note(&self) -> String {
        if self.valid {
            return String::new();
        }
        Self::note_for(self.problems, &self.folder.display().to_string())
    }

    /// The line saying map files in `folder` have `problems`.
    pub fn note_for(problems: usize, folder: &str) -> String {
        format!(
            "\nmap files: {} in {folder}; a running daemon keeps the maps it last adopted \
             (`dualsync validate {folder}` shows the problems)\n",
            output::plural(problems as u64, "problem"),
        )
    }

    /// Whether the files load, for the status report.
    pub fn report(&self) -> status::MapFilesReport {
        status::MapFilesReport {
            folder: self.folder.display().to_string(),
            valid: self.valid,
            problems: self.problems,
        }
    }
}

/// The state store if it exists, opened read-only (without creating or migrating anything);
/// `None` when the daemon never ran on it.
pub async fn open_state_existing(config: &Config) -> Result<Option<StateStore>> {
    StateStore::open_existing(&config.state.url, true)
        .await
        .context("state store")
}

/// The state store for a command that changes it; an error when there is none yet.
pub async fn open_state_for_change(config: &Config, what: &str) -> Result<StateStore> {
    match StateStore::open_existing(&config.state.url, false)
        .await
        .context("state store")?
    {
        Some(state) => Ok(state),
        None => Err(Error::not_found(format!(
            "there is no state store at {} yet, so there is nothing to {what}",
            crate::store::sql::redact(&config.state.url)
        ))
        .with_hint("start `dualsync run` once (it creates the state store), or check `[state] url`")),
    }
}
