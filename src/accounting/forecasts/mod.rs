//! Estimates → forecasts: the accounting process that makes the forecast tables say what the
//! estimate staging tables say. Hour estimates (`ProjCDSEstimateHoursImport`) become hour
//! forecasts (`ProjForecastEmpl`), one per resource assignment; expense estimates
//! (`ProjCDSEstimateExpenseImport`) become expense forecasts (`ProjForecastCost`) and material
//! estimates (`ProjForecastSalesImport`) item forecasts (`ForecastSales`), ONE forecast per cost
//! line and sales line pair. Changed staging rows update their forecast, vanished ones delete
//! it, and hours and dates changed on an hour forecast go back to its staging row, for the
//! two-way hour-estimates map to carry to the resource assignment. See `docs/accounting.md`
//! (Forecasts) for the rules: the pairing key, how an accounting-side edit is told from an
//! operational one, errors, and what a run counts.
//!
//! Each run reconciles everything (it does not trust `IsProcessed`, which the sync never
//! clears): it reads the staging and forecast rows of a legal entity, works out what differs,
//! and writes each record that differs in its own transaction (forecast, TransId, staging
//! flags together), so a crash never leaves half a forecast and a bad record never stops the
//! others. A run with nothing to do writes nothing.
//!
//! The submodules: `common` (what a run loads once, and the helpers every write uses), `hours`
//! (hour forecasts, and the flow-back of accounting-side edits), and for expense and item
//! forecasts `lines` (the staging and forecast rows), `pairing` (which cost and sales lines
//! make one forecast) and `merged` (planning and writing those forecasts).

mod common;
mod hours;
mod lines;
mod merged;
mod pairing;

use super::db::Db;
use super::joblog::{Job, JobSummary};
use crate::store::Result;
use common::{Company, companies, currencies, started};
use lines::{EXPENSE, ITEM};

/// The process's name in the job log.
pub const JOB_NAME: &str = "Forecasts";

/// The counters of a run, always present in its summary (0 when nothing happened).
pub const COUNTERS: [&str; 7] = [
    "hour_forecasts",
    "expense_forecasts",
    "item_forecasts",
    "created",
    "deleted",
    "flowed_back",
    "unchanged",
];

/// Brings the forecasts of `company` (every legal entity with estimates or forecasts when
/// None) in line with the staging tables, and records the run in the job log.
///
/// Counts: `hour_forecasts`, `expense_forecasts`, `item_forecasts` (forecasts written, created
/// or updated), `created` (of those, new ones), `deleted`, `flowed_back` (hour staging rows
/// updated from an hour forecast edited on the accounting side) and `unchanged` (records that
/// needed no write). Errors about one record are job-log lines (status `Warning`); an error
/// that stops the run (the store unreachable) marks it `Failed` and is returned.
pub async fn run(db: &Db, company: Option<&str>) -> Result<JobSummary> {
    let mut job = Job::start(db, JOB_NAME, company).await?;
    for counter in COUNTERS {
        job.add(counter, 0);
    }
    let result = reconcile(db, company, &mut job).await;
    let summary = job.close(db, result).await?;
    tracing::info!("{summary}");
    Ok(summary)
}

async fn reconcile(db: &Db, only: Option<&str>, job: &mut Job) -> Result<()> {
    let stamp = started(db, job.rec_id).await?;
    let currencies = currencies(db).await?;
    for area in companies(db, only).await? {
        let company = match Company::load(db, &area, job.rec_id, stamp).await? {
            Ok(company) => company,
            Err(message) => {
                job.error(db, Some(&area), None, None, &message).await?;
                continue;
            }
        };
        hours::hours(db, &company, &currencies, job).await?;
        for kind in [EXPENSE, ITEM] {
            merged::lines(db, &company, &currencies, kind, job).await?;
        }
    }
    Ok(())
}
