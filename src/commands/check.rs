//! `dualsync check`: the accounting setup checked before any record moves — every missing piece
//! (`accounting::check`), each naming the legal entity, what is missing and how to fix it, like
//! the map validator reports map problems. Exit 0 complete, 1 problems. It only reads. The daemon
//! runs the same check at start and records it as a job (`setup-check`) that `status` shows.

use serde::Serialize;
use utoipa::ToSchema;

use super::output::{Report, plural};
use crate::accounting::check::{self, SetupProblem};
use crate::config::Config;
use crate::error::{Context, Result};

/// What `dualsync check` found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SetupCheckReport {
    /// The legal entities checked (the configured companies, else all of `CompanyInfo`).
    pub companies: Vec<String>,
    pub problems: Vec<SetupProblem>,
}

impl Report for SetupCheckReport {
    fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            let whose = p
                .company
                .as_deref()
                .map(|c| format!("legal entity {c}"))
                .unwrap_or("all legal entities".into());
            out.push_str(&format!("{whose}: {}\n  fix: {}\n", p.problem, p.fix));
        }
        let scope = if self.companies.is_empty() {
            "every legal entity".to_string()
        } else {
            self.companies.join(", ")
        };
        match self.problems.len() {
            0 => out.push_str(&format!("setup complete: {scope}\n")),
            n => out.push_str(&format!(
                "{} in the accounting setup of {scope}\n",
                plural(n as u64, "problem")
            )),
        }
        out
    }
}

/// Checks the configured accounting store's setup as of today.
pub async fn check(config: &Config) -> Result<SetupCheckReport> {
    let db = super::journal::open(config).await?;
    let today = chrono::Utc::now().date_naive();
    let problems = check::run(&db, &config.companies, today)
        .await
        .context("accounting store")?;
    Ok(SetupCheckReport {
        companies: config.companies.clone(),
        problems,
    })
}
