//! `dualsync journal ...` (import, post, forecasts, list, log): open the configured
//! accounting store, run a process, and report what it did (its job-log summary), or list the
//! journals and the job log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::output::Report;
use crate::accounting::db::Db;
use crate::accounting::joblog;
use crate::accounting::post::{self, Journals};
use crate::accounting::recover::{self, Process};
use crate::config::Config;
use crate::engine::state::{ProcessLock, StateStore};
use crate::error::{Context, Error, Result};

/// The configured accounting store, when it is a database with the processes' tables.
pub async fn open(config: &Config) -> Result<Db> {
    if config.accounting.kind.is_http() {
        return Err(Error::usage(format!(
            "the accounting store is {} (`accounting.kind` = \"{}\"): its integration journals, postings and \
             forecasts are the accounting system's own processes, not dualsync's",
            crate::store::sql::redact(&config.accounting.url),
            config.accounting.kind.name()
        ))
        .with_hint(
            "run import from staging and posting in finance and operations (Project management and accounting, \
             Periodic, Project Operations integration); dualsync carries the posted attributes back by itself",
        ));
    }
    let db = Db::open(&config.accounting.url).await.context("accounting store")?;
    // The processes need the reference schema's process tables (accounting migration 0002).
    // ... and those of invoices and sales tax (accounting migration 0004), and of expense reports
    // and vendor invoices (0005).
    if db
        .fetch(
            "SELECT 1 FROM \"ProjCDSJobLog\", \"TaxTable\", \"VendInvoiceExportsV2\" WHERE 1 = 0",
            &[],
            &[],
        )
        .await
        .is_err()
    {
        let url = crate::store::sql::redact(&config.accounting.url);
        return Err(Error::failed(format!(
            "the accounting store at {url} lacks the tables of the accounting processes"
        ))
        .with_hint(format!(
            "bring its schema up to date with `dualsync store init --side accounting --url {url}`"
        )));
    }
    Ok(db)
}

/// The lock of `process` in the configured state store: a run by hand never runs alongside the
/// daemon's scheduled run or another manual one (refused, naming the holder).
async fn lock(config: &Config, db: &Db, process: Process) -> Result<ProcessLock> {
    let state = StateStore::open(&config.state.url).await.context("state store")?;
    recover::begin(&state, db, process).await.map_err(|e| match e {
        recover::NotStarted::Busy(m) => Error::new(crate::error::Kind::Busy, m),
        recover::NotStarted::Failed(m) => Error::failed(m),
    })
}

pub async fn import(config: &Config, company: Option<String>) -> Result<String> {
    let db = open(config).await?;
    let _lock = lock(config, &db, recover::IMPORT).await?;
    let summary = crate::accounting::import::import(&db, company.as_deref())
        .await
        .context("accounting store")?;
    Ok(format!("{summary}\n(see `dualsync journal log` for each error)"))
}

pub async fn forecasts(config: &Config, company: Option<String>) -> Result<String> {
    let db = open(config).await?;
    let _lock = lock(config, &db, recover::FORECASTS).await?;
    let summary = crate::accounting::forecasts::run(&db, company.as_deref())
        .await
        .context("accounting store")?;
    Ok(format!("{summary}\n(see `dualsync journal log` for each error)"))
}

pub async fn post(config: &Config, journals: Vec<String>, company: Option<String>) -> Result<String> {
    let db = open(config).await?;
    let _lock = lock(config, &db, recover::POST).await?;
    let which = if journals.is_empty() {
        Journals::All { company }
    } else {
        Journals::Named(journals)
    };
    let named = match &which {
        Journals::Named(ids) => ids.clone(),
        Journals::All { .. } => Vec::new(),
    };
    let summary = post::post(&db, &which).await.context("accounting store")?;
    // A journal named on the command line that does not exist is an error of the command (exit
    // 1), not only a line in the job log.
    if summary.counts.get("unknown_journals").copied().unwrap_or(0) > 0 {
        let known: Vec<String> = post::list(&db)
            .await
            .context("accounting store")?
            .into_iter()
            .map(|(_, id, ..)| id)
            .collect();
        let unknown: Vec<&String> = named.iter().filter(|id| !known.contains(id)).collect();
        return Err(Error::not_found(format!(
            "{summary}
no integration journal is named {}",
            unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .with_hint("`dualsync journal list` shows the journals"));
    }
    Ok(summary.to_string())
}

pub async fn post_documents(config: &Config, company: Option<String>) -> Result<String> {
    let db = open(config).await?;
    let _lock = lock(config, &db, recover::POST).await?;
    let summary = crate::accounting::payables::post(&db, company.as_deref())
        .await
        .context("accounting store")?;
    Ok(format!("{summary}\n(see `dualsync journal log` for each error)"))
}

pub async fn post_invoices(config: &Config, proposals: Vec<String>, company: Option<String>) -> Result<String> {
    use crate::accounting::invoice::post::{self as invoices, Proposals};
    let db = open(config).await?;
    let _lock = lock(config, &db, recover::POST).await?;
    let which = if proposals.is_empty() {
        Proposals::All { company }
    } else {
        Proposals::Named(proposals)
    };
    let summary = invoices::post(&db, &which).await.context("accounting store")?;
    if summary.counts.get("unknown_proposals").copied().unwrap_or(0) > 0 {
        return Err(Error::not_found(format!(
            "{summary}\nsome of the named invoice proposals do not exist (the job log names them)"
        ))
        .with_hint("`dualsync journal log` names each; a proposal takes its proforma invoice's ID"));
    }
    Ok(format!("{summary}\n(see `dualsync journal log` for each error)"))
}

pub async fn list(config: &Config) -> Result<String> {
    let db = open(config).await?;
    let rows = post::list(&db).await.context("accounting store")?;
    let mut out = format!(
        "{:<8} {:<22} {:<8} {:>7} {:>7}\n",
        "company", "journal", "status", "lines", "posted"
    );
    for (company, journal, status, lines, posted) in &rows {
        out.push_str(&format!(
            "{company:<8} {journal:<22} {status:<8} {lines:>7} {posted:>7}\n"
        ));
    }
    out.push_str(&format!("{} journals\n", rows.len()));
    Ok(out)
}

/// The job log's latest runs of the accounting processes (import, post, forecasts).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobRuns {
    /// Newest first.
    pub runs: Vec<JobRun>,
}

/// One run of an accounting process, with its record errors.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobRun {
    pub id: i64,
    /// The process: import, post or forecasts.
    pub process: String,
    /// The legal entity it ran for; `null` for all.
    pub company: Option<String>,
    pub started: Option<DateTime<Utc>>,
    /// Running, Succeeded, Warning (records had errors) or Failed.
    pub status: String,
    /// What the run counted, e.g. `{"imported": 12}`; `null` while the run is under way.
    #[schema(value_type = Option<Object>)]
    pub counts: serde_json::Value,
    /// The error that stopped a failed run.
    pub message: Option<String>,
    /// Each record error: company, record, journal and message.
    pub errors: Vec<String>,
}

impl Report for JobRuns {
    fn text(&self) -> String {
        let mut out = String::new();
        for r in &self.runs {
            let counts = match &r.counts {
                serde_json::Value::Null => String::new(),
                c => c.to_string(),
            };
            out.push_str(&format!(
                "job {} {} {} {} {} {}{}\n",
                r.id,
                r.process,
                r.company.as_deref().unwrap_or("all"),
                r.started.map(|t| t.to_rfc3339()).unwrap_or_default(),
                r.status,
                counts,
                r.message.as_ref().map(|m| format!("  {m}")).unwrap_or_default()
            ));
            for e in &r.errors {
                out.push_str(&format!("    {e}\n"));
            }
        }
        if out.is_empty() {
            out.push_str("no runs yet\n");
        }
        out
    }
}

/// The latest `limit` runs in the accounting store's job log.
pub async fn runs_in(db: &Db, limit: usize) -> Result<JobRuns> {
    let runs = joblog::recent(db, limit).await.context("accounting store")?;
    Ok(JobRuns {
        runs: runs
            .into_iter()
            .map(|r| JobRun {
                id: r.rec_id,
                process: r.name,
                company: r.company,
                started: r.started,
                status: r.status,
                counts: serde_json::from_str(&r.counts).unwrap_or(serde_json::Value::Null),
                message: r.message,
                errors: r.errors,
            })
            .collect(),
    })
}

pub async fn log(config: &Config, limit: usize) -> Result<JobRuns> {
    let db = open(config).await?;
    runs_in(&db, limit).await
}
