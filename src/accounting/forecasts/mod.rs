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

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::db::{Cells, Db, DbTx, boolean, guid, int, opt_date, opt_dec, opt_guid, opt_text, text, value};
use super::joblog::{Job, JobSummary};
use super::numbers;
use crate::store::sql::conn::{Arg, Dialect};
use crate::store::{Result, Row};
use crate::value::{Value, ValueType};

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
    let failure = result.as_ref().err().map(|e| e.to_string());
    let summary = job.finish(db, failure.as_deref()).await?;
    result?;
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
        hours(db, &company, &currencies, job).await?;
        for kind in [EXPENSE, ITEM] {
            lines(db, &company, &currencies, kind, job).await?;
        }
    }
    Ok(())
}

/// The run's start as the job log holds it: the stamp (`ModifiedDateTime`) of every forecast
/// this run writes, so the next runs recognize their own writes.
async fn started(db: &Db, rec_id: i64) -> Result<DateTime<Utc>> {
    let rows = db
        .fetch(
            "SELECT \"StartedDateTime\" FROM \"ProjCDSJobLog\" WHERE \"RecId\" = ?",
            &[int(rec_id)],
            &[ValueType::DateTime],
        )
        .await?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| datetime(&Cells::new(r).value()))
        .unwrap_or_else(Utc::now))
}

fn datetime(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::DateTime(t) => Some(*t),
        _ => None,
    }
}

/// Currency codes by operational currency id (`Currency.TransactionCurrencyId`).
async fn currencies(db: &Db) -> Result<HashMap<Uuid, String>> {
    let rows = db
        .fetch(
            "SELECT \"TransactionCurrencyId\", \"CurrencyCode\" FROM \"Currency\" \
             WHERE \"TransactionCurrencyId\" IS NOT NULL",
            &[],
            &[ValueType::Guid, ValueType::Text],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let mut c = Cells::new(r);
            Some((c.guid()?, c.text()?))
        })
        .collect())
}

/// The legal entities to reconcile: `only`, or every one with estimates or with forecasts made
/// from estimates.
async fn companies(db: &Db, only: Option<&str>) -> Result<Vec<String>> {
    if let Some(only) = only {
        return Ok(vec![only.to_string()]);
    }
    let rows = db
        .fetch(
            "SELECT \"ProjectDataAreaId\" FROM \"ProjCDSEstimateHoursImport\" \
             UNION SELECT \"ProjectDataAreaId\" FROM \"ProjCDSEstimateExpenseImport\" \
             UNION SELECT \"ProjectDataAreaId\" FROM \"ProjForecastSalesImport\" \
             UNION SELECT \"DataAreaId\" FROM \"ProjForecastEmpl\" WHERE \"ResourceAssignmentId\" IS NOT NULL \
             UNION SELECT \"DataAreaId\" FROM \"ProjForecastCost\" \
                 WHERE \"CostEstimateLineId\" IS NOT NULL OR \"SalesEstimateLineId\" IS NOT NULL \
             UNION SELECT \"DataAreaId\" FROM \"ForecastSales\" \
                 WHERE \"CostEstimateLineId\" IS NOT NULL OR \"SalesEstimateLineId\" IS NOT NULL \
             ORDER BY 1",
            &[],
            &[ValueType::Text],
        )
        .await?;
    Ok(rows.into_iter().filter_map(|r| Cells::new(r).text()).collect())
}

/// What a run needs to know about one legal entity.
struct Company {
    id: String,
    /// The TransId number sequence (`ProjParameters.TransIdNumberSequenceCode`).
    trans_ids: String,
    /// Project category ids by shared category and transaction type.
    categories: HashMap<(Uuid, String), String>,
    edits: Edits,
    /// This run's stamp for `ModifiedDateTime`.
    stamp: DateTime<Utc>,
}

impl Company {
    /// Loads the legal entity's setup; `Ok(Err(message))` when it is incomplete (the job log
    /// gets the message and the legal entity is skipped).
    async fn load(
        db: &Db,
        id: &str,
        rec_id: i64,
        stamp: DateTime<Utc>,
    ) -> Result<std::result::Result<Company, String>> {
        let rows = db
            .fetch(
                "SELECT p.\"TransIdNumberSequenceCode\", n.\"NumberSequenceCode\" FROM \"ProjParameters\" p \
                 LEFT JOIN \"NumberSequenceTable\" n \
                   ON n.\"DataAreaId\" = p.\"DataAreaId\" AND n.\"NumberSequenceCode\" = p.\"TransIdNumberSequenceCode\" \
                 WHERE p.\"DataAreaId\" = ?",
                &[text(id)],
                &[ValueType::Text, ValueType::Text],
            )
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(Err(format!(
                "legal entity {id} has estimates but no ProjParameters; its forecasts are not maintained \
                 until the parameters (with TransIdNumberSequenceCode) exist"
            )));
        };
        let mut c = Cells::new(row);
        let (Some(code), found) = (c.text(), c.text()) else {
            return Ok(Err(format!(
                "legal entity {id} has no TransIdNumberSequenceCode in ProjParameters; its forecasts are not \
                 maintained until it names a number sequence"
            )));
        };
        if found.is_none() {
            return Ok(Err(format!(
                "legal entity {id} has no number sequence {code} (ProjParameters.TransIdNumberSequenceCode) in \
                 NumberSequenceTable; its forecasts are not maintained until it exists"
            )));
        }
        let categories = db
            .fetch(
                "SELECT \"SharedCategoryId\", \"TransactionType\", \"CategoryId\" FROM \"ProjCategory\" \
                 WHERE \"DataAreaId\" = ? AND \"SharedCategoryId\" IS NOT NULL AND \"TransactionType\" IS NOT NULL",
                &[text(id)],
                &[ValueType::Guid, ValueType::Text, ValueType::Text],
            )
            .await?
            .into_iter()
            .filter_map(|r| {
                let mut c = Cells::new(r);
                Some(((c.guid()?, c.text()?), c.text()?))
            })
            .collect();
        Ok(Ok(Company {
            id: id.to_string(),
            trans_ids: code,
            categories,
            edits: Edits::load(db, id, rec_id).await?,
            stamp,
        }))
    }

    fn category(&self, shared: Option<Uuid>, transaction_type: &str) -> std::result::Result<(String, Uuid), String> {
        let Some(shared) = shared else {
            return Err("has no transaction category".to_string());
        };
        match self.categories.get(&(shared, transaction_type.to_string())) {
            Some(id) => Ok((id.clone(), shared)),
            None => Err(format!(
                "transaction category {shared} has no project category of type {transaction_type} in legal entity \
                 {}; add one in ProjCategory (SharedCategoryId {shared}, TransactionType {transaction_type})",
                self.id
            )),
        }
    }
}

fn currency(currencies: &HashMap<Uuid, String>, id: Option<Uuid>) -> std::result::Result<Option<String>, String> {
    match id {
        None => Ok(None),
        Some(g) => currencies
            .get(&g)
            .map(|c| Some(c.clone()))
            .ok_or_else(|| format!("currency {g} is not in the Currency table (no TransactionCurrencyId {g})")),
    }
}

/// Tells hour forecasts edited on the accounting side since the previous run. Every forecast
/// a run writes carries the run's start (`ProjCDSJobLog.StartedDateTime`) as its
/// `ModifiedDateTime`; a forecast counts as edited when its `ModifiedDateTime` is later than
/// the start of the last completed run over its legal entity and is not the stamp of a run
/// (a failed or concurrent one) started since.
#[derive(Debug, Default, Clone)]
struct Edits {
    since: Option<DateTime<Utc>>,
    runs: HashSet<DateTime<Utc>>,
}

impl Edits {
    async fn load(db: &Db, company: &str, rec_id: i64) -> Result<Edits> {
        let rows = db
            .fetch(
                "SELECT MAX(\"StartedDateTime\") FROM \"ProjCDSJobLog\" \
                 WHERE \"JobName\" = ? AND \"RecId\" < ? AND \"Status\" IN ('Succeeded', 'Warning') \
                   AND (\"DataAreaId\" = ? OR \"DataAreaId\" IS NULL)",
                &[text(JOB_NAME), int(rec_id), text(company)],
                &[ValueType::DateTime],
            )
            .await?;
        let since = rows.into_iter().next().and_then(|r| datetime(&Cells::new(r).value()));
        let Some(since) = since else {
            return Ok(Edits::default());
        };
        let runs = db
            .fetch(
                "SELECT \"StartedDateTime\" FROM \"ProjCDSJobLog\" WHERE \"JobName\" = ? AND \"StartedDateTime\" > ?",
                &[text(JOB_NAME), value(&Value::DateTime(since), ValueType::DateTime)],
                &[ValueType::DateTime],
            )
            .await?
            .into_iter()
            .filter_map(|r| datetime(&Cells::new(r).value()))
            .collect();
        Ok(Edits {
            since: Some(since),
            runs,
        })
    }

    fn edited(&self, modified: Option<DateTime<Utc>>) -> bool {
        match (self.since, modified) {
            (Some(since), Some(m)) => m > since && !self.runs.contains(&m),
            _ => false,
        }
    }
}

/// `FOR UPDATE` on PostgreSQL (SQLite locks the whole file on the first write of a
/// transaction, and fails it if another writer got in between).
fn lock(db: &Db) -> &'static str {
    match db.dialect() {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    }
}

/// How a record's write went.
#[derive(Debug, Default)]
struct Done {
    written: bool,
    created: bool,
    flowed_back: bool,
    error: Option<String>,
}

/// Counts a record's outcome and logs its error.
async fn record(
    db: &Db,
    job: &mut Job,
    company: &str,
    id: Uuid,
    counter: &'static str,
    outcome: Result<Done>,
) -> Result<()> {
    let done = outcome.unwrap_or_else(|e| Done {
        error: Some(format!("not written: {e}")),
        ..Done::default()
    });
    if done.written {
        job.add(counter, 1);
    }
    if done.created {
        job.add("created", 1);
    }
    if done.flowed_back {
        job.add("flowed_back", 1);
    }
    if let Some(message) = &done.error {
        job.error(db, Some(company), Some(id), None, message).await?;
    }
    Ok(())
}

async fn take_trans_id(tx: &mut DbTx, company: &Company) -> Result<String> {
    let ids = numbers::take(tx, &company.id, &company.trans_ids, 1).await?;
    Ok(ids.into_iter().next().unwrap_or_default())
}

// ----- hour forecasts --------------------------------------------------------------------------

/// Hours and dates: the fields that flow both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Schedule {
    hours: Option<Decimal>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
struct HourStaged {
    id: Uuid,
    project: Option<Uuid>,
    task: Option<Uuid>,
    resource: Option<Uuid>,
    schedule: Schedule,
    cost: Option<Decimal>,
    sales: Option<Decimal>,
    currency: Option<Uuid>,
    processed: bool,
}

const HOUR_STAGED: &str = "SELECT \"ResourceAssignmentId\", \"ProjectId\", \"TaskId\", \"ResourceId\", \"Hours\", \
    \"StartDate\", \"EndDate\", \"CostAmount\", \"SalesAmount\", \"TransactionCurrencyId\", \"IsProcessed\" \
    FROM \"ProjCDSEstimateHoursImport\" WHERE \"ProjectDataAreaId\" = ?";

const HOUR_STAGED_TYPES: [ValueType; 11] = {
    use ValueType::{Bool, Date, Decimal as D, Guid as G};
    [G, G, G, G, D, Date, Date, D, D, G, Bool]
};

fn hour_staged(row: Row) -> Option<HourStaged> {
    let mut c = Cells::new(row);
    Some(HourStaged {
        id: c.guid()?,
        project: c.guid(),
        task: c.guid(),
        resource: c.guid(),
        schedule: Schedule {
            hours: c.dec(),
            from: c.date(),
            to: c.date(),
        },
        cost: c.dec(),
        sales: c.dec(),
        currency: c.guid(),
        processed: c.boolean(),
    })
}

/// What an hour forecast holds from its staging row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HourValues {
    project: Option<Uuid>,
    task: Option<Uuid>,
    resource: Option<Uuid>,
    schedule: Schedule,
    cost: Option<Decimal>,
    sales: Option<Decimal>,
    currency: Option<String>,
}

#[derive(Debug, Clone)]
struct HourForecast {
    trans_id: String,
    id: Uuid,
    values: HourValues,
    modified: Option<DateTime<Utc>>,
}

const HOUR_FORECAST: &str = "SELECT \"TransId\", \"ResourceAssignmentId\", \"ProjectId\", \"TaskId\", \"ResourceId\", \
    \"Hours\", \"SchedFromDate\", \"SchedToDate\", \"CostAmount\", \"SalesAmount\", \"CurrencyCode\", \
    \"ModifiedDateTime\" FROM \"ProjForecastEmpl\" WHERE \"DataAreaId\" = ? AND \"ResourceAssignmentId\" IS NOT NULL";

const HOUR_FORECAST_TYPES: [ValueType; 12] = {
    use ValueType::{Date, DateTime, Decimal as D, Guid as G, Text as T};
    [T, G, G, G, G, D, Date, Date, D, D, T, DateTime]
};

fn hour_forecast(row: Row) -> Option<HourForecast> {
    let mut c = Cells::new(row);
    let trans_id = c.text()?;
    let id = c.guid()?;
    Some(HourForecast {
        trans_id,
        id,
        values: HourValues {
            project: c.guid(),
            task: c.guid(),
            resource: c.guid(),
            schedule: Schedule {
                hours: c.dec(),
                from: c.date(),
                to: c.date(),
            },
            cost: c.dec(),
            sales: c.dec(),
            currency: c.text(),
        },
        modified: datetime(&c.value()),
    })
}

/// What one hour record needs.
#[derive(Debug, Default, PartialEq, Eq)]
struct HourPlan {
    /// The forecast's hours and dates, for the staging row (edited on the accounting side).
    flow_back: Option<Schedule>,
    /// The forecast's new values (None: it already holds them).
    write: Option<HourValues>,
    /// The staging row's new `IsProcessed` (None: unchanged).
    processed: Option<bool>,
    error: Option<String>,
}

impl HourPlan {
    fn is_noop(&self) -> bool {
        self.flow_back.is_none() && self.write.is_none() && self.processed.is_none() && self.error.is_none()
    }
}

/// The hour forecast a staging row asks for. A forecast edited on the accounting side keeps
/// its hours and dates, and they go to the staging row; everything else comes from the staging
/// row. A forecast whose hours flow back is written too, to stamp it as reconciled.
fn plan_hours(
    staged: &HourStaged,
    forecast: Option<&HourForecast>,
    edits: &Edits,
    currencies: &HashMap<Uuid, String>,
) -> HourPlan {
    let mut plan = HourPlan::default();
    let mut schedule = staged.schedule.clone();
    if let Some(f) = forecast
        && f.values.schedule != staged.schedule
        && edits.edited(f.modified)
    {
        plan.flow_back = Some(f.values.schedule.clone());
        schedule = f.values.schedule.clone();
    }
    let currency = match currency(currencies, staged.currency) {
        Ok(c) => c,
        Err(e) => {
            plan.error = Some(format!("hour estimate: {e}; the hour forecast is not updated"));
            plan.processed = staged.processed.then_some(false);
            return plan;
        }
    };
    let values = HourValues {
        project: staged.project,
        task: staged.task,
        resource: staged.resource,
        schedule,
        cost: staged.cost,
        sales: staged.sales,
        currency,
    };
    plan.write = match forecast {
        Some(f) if f.values == values && plan.flow_back.is_none() => None,
        _ => Some(values),
    };
    plan.processed = (!staged.processed).then_some(true);
    plan
}

async fn hours(db: &Db, company: &Company, currencies: &HashMap<Uuid, String>, job: &mut Job) -> Result<()> {
    let staged: Vec<HourStaged> = db
        .fetch(HOUR_STAGED, &[text(&company.id)], &HOUR_STAGED_TYPES)
        .await?
        .into_iter()
        .filter_map(hour_staged)
        .collect();
    let mut forecasts: HashMap<Uuid, HourForecast> = db
        .fetch(HOUR_FORECAST, &[text(&company.id)], &HOUR_FORECAST_TYPES)
        .await?
        .into_iter()
        .filter_map(hour_forecast)
        .map(|f| (f.id, f))
        .collect();
    for s in &staged {
        let forecast = forecasts.remove(&s.id);
        if plan_hours(s, forecast.as_ref(), &company.edits, currencies).is_noop() {
            job.add("unchanged", 1);
            continue;
        }
        let outcome = apply_hours(db, company, s.id, currencies).await;
        record(db, job, &company.id, s.id, "hour_forecasts", outcome).await?;
    }
    // Forecasts whose staging row is gone.
    let mut gone: Vec<HourForecast> = forecasts.into_values().collect();
    gone.sort_by(|a, b| a.trans_id.cmp(&b.trans_id));
    for f in gone {
        if let Err(e) = delete(db, "ProjForecastEmpl", company, &f.trans_id).await {
            let message = format!("hour forecast {} not deleted: {e}", f.trans_id);
            job.error(db, Some(&company.id), Some(f.id), None, &message).await?;
            continue;
        }
        job.add("deleted", 1);
    }
    Ok(())
}

/// Re-reads one hour record in a transaction (locking it on PostgreSQL), plans it again on
/// what it reads, and writes the plan: staging row and forecast together.
async fn apply_hours(db: &Db, company: &Company, id: Uuid, currencies: &HashMap<Uuid, String>) -> Result<Done> {
    let mut tx = db.begin().await?;
    let staged = tx
        .fetch(
            &format!("{HOUR_STAGED} AND \"ResourceAssignmentId\" = ?{}", lock(db)),
            &[text(&company.id), guid(id)],
            &HOUR_STAGED_TYPES,
        )
        .await?
        .into_iter()
        .find_map(hour_staged);
    let Some(staged) = staged else {
        // Deleted meanwhile: the next run deletes its forecast.
        return Ok(Done::default());
    };
    let forecast = tx
        .fetch(
            &format!("{HOUR_FORECAST} AND \"ResourceAssignmentId\" = ?{}", lock(db)),
            &[text(&company.id), guid(id)],
            &HOUR_FORECAST_TYPES,
        )
        .await?
        .into_iter()
        .find_map(hour_forecast);
    let plan = plan_hours(&staged, forecast.as_ref(), &company.edits, currencies);
    let key = [text(&company.id), guid(id)];
    let mut done = Done {
        error: plan.error.clone(),
        ..Done::default()
    };
    if let Some(s) = &plan.flow_back {
        tx.execute(
            "UPDATE \"ProjCDSEstimateHoursImport\" SET \"Hours\" = ?, \"StartDate\" = ?, \"EndDate\" = ? \
             WHERE \"ProjectDataAreaId\" = ? AND \"ResourceAssignmentId\" = ?",
            &[
                opt_dec(s.hours),
                opt_date(s.from),
                opt_date(s.to),
                key[0].clone(),
                key[1].clone(),
            ],
        )
        .await?;
        done.flowed_back = true;
    }
    if let Some(v) = &plan.write {
        let values = [
            opt_guid(v.project),
            opt_guid(v.task),
            opt_guid(v.resource),
            opt_date(v.schedule.from),
            opt_date(v.schedule.to),
            opt_dec(v.schedule.hours),
            opt_dec(v.cost),
            opt_dec(v.sales),
            opt_text(v.currency.as_deref()),
            value(&Value::DateTime(company.stamp), ValueType::DateTime),
        ];
        match &forecast {
            Some(f) => {
                let mut args = values.to_vec();
                args.extend([text(&company.id), text(&f.trans_id)]);
                tx.execute(
                    "UPDATE \"ProjForecastEmpl\" SET \"ProjectId\" = ?, \"TaskId\" = ?, \"ResourceId\" = ?, \
                     \"SchedFromDate\" = ?, \"SchedToDate\" = ?, \"Hours\" = ?, \"CostAmount\" = ?, \
                     \"SalesAmount\" = ?, \"CurrencyCode\" = ?, \"ModifiedDateTime\" = ? \
                     WHERE \"DataAreaId\" = ? AND \"TransId\" = ?",
                    &args,
                )
                .await?;
            }
            None => {
                let trans_id = take_trans_id(&mut tx, company).await?;
                let mut args = vec![text(&company.id), text(&trans_id), guid(id)];
                args.extend(values);
                tx.execute(
                    "INSERT INTO \"ProjForecastEmpl\" (\"DataAreaId\", \"TransId\", \"ResourceAssignmentId\", \
                     \"ProjectId\", \"TaskId\", \"ResourceId\", \"SchedFromDate\", \"SchedToDate\", \"Hours\", \
                     \"CostAmount\", \"SalesAmount\", \"CurrencyCode\", \"ModifiedDateTime\") \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    &args,
                )
                .await?;
                done.created = true;
            }
        }
        done.written = true;
    }
    if let Some(processed) = plan.processed {
        tx.execute(
            "UPDATE \"ProjCDSEstimateHoursImport\" SET \"IsProcessed\" = ? \
             WHERE \"ProjectDataAreaId\" = ? AND \"ResourceAssignmentId\" = ?",
            &[boolean(processed), key[0].clone(), key[1].clone()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done)
}

async fn delete(db: &Db, table: &str, company: &Company, trans_id: &str) -> Result<u64> {
    db.execute(
        &format!("DELETE FROM \"{table}\" WHERE \"DataAreaId\" = ? AND \"TransId\" = ?"),
        &[text(&company.id), text(trans_id)],
    )
    .await
}

// ----- expense and item forecasts --------------------------------------------------------------

/// Expense or material estimates: where they are staged and what they become.
#[derive(Debug, Clone, Copy)]
struct LineKind {
    what: &'static str,
    staging: &'static str,
    forecast: &'static str,
    /// `ProjCategory.TransactionType` of the project category.
    category_type: &'static str,
    counter: &'static str,
    /// Staging rows and forecasts carry a product (material).
    product: bool,
    /// The forecast has a `SharedCategoryId` column.
    shared_category: bool,
    /// The forecast's date columns.
    from: &'static str,
    to: &'static str,
}

const EXPENSE: LineKind = LineKind {
    what: "expense estimate",
    staging: "ProjCDSEstimateExpenseImport",
    forecast: "ProjForecastCost",
    category_type: "Expense",
    counter: "expense_forecasts",
    product: false,
    shared_category: true,
    from: "SchedFromDate",
    to: "SchedToDate",
};

const ITEM: LineKind = LineKind {
    what: "material estimate",
    staging: "ProjForecastSalesImport",
    forecast: "ForecastSales",
    category_type: "Item",
    counter: "item_forecasts",
    product: true,
    shared_category: false,
    from: "StartDate",
    to: "EndDate",
};

/// A cost estimate line or a sales estimate line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineSide {
    Cost,
    Sales,
}

/// One staged estimate line.
#[derive(Debug, Clone, Default)]
struct Line {
    id: Uuid,
    project: Option<Uuid>,
    task: Option<Uuid>,
    product: Option<Uuid>,
    category: Option<Uuid>,
    trans_type: Option<String>,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    quantity: Option<Decimal>,
    price: Option<Decimal>,
    amount: Option<Decimal>,
    currency: Option<Uuid>,
    description: Option<String>,
    processed: bool,
}

/// What pairs a cost line with its sales line: the same estimate has the same project, task,
/// transaction category, product and period.
type PairKey = (
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

impl Line {
    fn side(&self) -> Option<LineSide> {
        match self.trans_type.as_deref() {
            Some("Cost") => Some(LineSide::Cost),
            Some("UnbilledSales") => Some(LineSide::Sales),
            _ => None,
        }
    }

    fn key(&self) -> PairKey {
        (
            self.project,
            self.task,
            self.category,
            self.product,
            self.start,
            self.end,
        )
    }
}

fn staged_lines_sql(kind: LineKind) -> String {
    format!(
        "SELECT \"EstimateLineId\", \"ProjectId\", \"TaskId\", {}\"TransactionCategory\", \"TransType\", \
         \"StartDate\", \"EndDate\", \"Quantity\", \"UnitPrice\", \"Amount\", \"TransactionCurrencyId\", \
         \"Description\", \"IsProcessed\" FROM \"{}\" WHERE \"ProjectDataAreaId\" = ?",
        if kind.product { "\"ProductId\", " } else { "" },
        kind.staging
    )
}

fn staged_line_types(kind: LineKind) -> Vec<ValueType> {
    use ValueType::{Bool, Date, Decimal as D, Guid as G, Text as T};
    let mut types = vec![G, G, G];
    if kind.product {
        types.push(G);
    }
    types.extend([G, T, Date, Date, D, D, D, G, T, Bool]);
    types
}

fn staged_line(kind: LineKind, row: Row) -> Option<Line> {
    let mut c = Cells::new(row);
    Some(Line {
        id: c.guid()?,
        project: c.guid(),
        task: c.guid(),
        product: if kind.product { c.guid() } else { None },
        category: c.guid(),
        trans_type: c.text(),
        start: c.date(),
        end: c.date(),
        quantity: c.dec(),
        price: c.dec(),
        amount: c.dec(),
        currency: c.guid(),
        description: c.text(),
        processed: c.boolean(),
    })
}

/// What an expense or item forecast holds from its estimate lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MergedValues {
    cost_line: Option<Uuid>,
    sales_line: Option<Uuid>,
    project: Option<Uuid>,
    task: Option<Uuid>,
    product: Option<Uuid>,
    category_id: Option<String>,
    shared_category: Option<Uuid>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    quantity: Option<Decimal>,
    cost_price: Option<Decimal>,
    cost_amount: Option<Decimal>,
    sales_price: Option<Decimal>,
    sales_amount: Option<Decimal>,
    currency: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Clone)]
struct MergedForecast {
    trans_id: String,
    values: MergedValues,
}

/// The forecast columns a run owns, in the order of `merged_args`.
fn merged_columns(kind: LineKind) -> Vec<&'static str> {
    let mut cols = vec!["CostEstimateLineId", "SalesEstimateLineId", "ProjectId", "TaskId"];
    if kind.product {
        cols.push("ProductId");
    }
    cols.push("CategoryId");
    if kind.shared_category {
        cols.push("SharedCategoryId");
    }
    cols.extend([
        kind.from,
        kind.to,
        "Quantity",
        "CostPrice",
        "CostAmount",
        "SalesPrice",
        "SalesAmount",
        "CurrencyCode",
        "Description",
    ]);
    cols
}

fn merged_types(kind: LineKind) -> Vec<ValueType> {
    use ValueType::{Date, Decimal as D, Guid as G, Text as T};
    let mut types = vec![G, G, G, G];
    if kind.product {
        types.push(G);
    }
    types.push(T);
    if kind.shared_category {
        types.push(G);
    }
    types.extend([Date, Date, D, D, D, D, D, T, T]);
    types
}

fn merged_args(kind: LineKind, v: &MergedValues) -> Vec<Arg> {
    let mut args = vec![
        opt_guid(v.cost_line),
        opt_guid(v.sales_line),
        opt_guid(v.project),
        opt_guid(v.task),
    ];
    if kind.product {
        args.push(opt_guid(v.product));
    }
    args.push(opt_text(v.category_id.as_deref()));
    if kind.shared_category {
        args.push(opt_guid(v.shared_category));
    }
    args.extend([
        opt_date(v.from),
        opt_date(v.to),
        opt_dec(v.quantity),
        opt_dec(v.cost_price),
        opt_dec(v.cost_amount),
        opt_dec(v.sales_price),
        opt_dec(v.sales_amount),
        opt_text(v.currency.as_deref()),
        opt_text(v.description.as_deref()),
    ]);
    args
}

fn merged_forecast(kind: LineKind, row: Row) -> Option<MergedForecast> {
    let mut c = Cells::new(row);
    let trans_id = c.text()?;
    Some(MergedForecast {
        trans_id,
        values: MergedValues {
            cost_line: c.guid(),
            sales_line: c.guid(),
            project: c.guid(),
            task: c.guid(),
            product: if kind.product { c.guid() } else { None },
            category_id: c.text(),
            shared_category: if kind.shared_category { c.guid() } else { None },
            from: c.date(),
            to: c.date(),
            quantity: c.dec(),
            cost_price: c.dec(),
            cost_amount: c.dec(),
            sales_price: c.dec(),
            sales_amount: c.dec(),
            currency: c.text(),
            description: c.text(),
        },
    })
}

/// One forecast to be: a cost line and/or a sales line (indexes into the staged lines), and
/// the existing forecast that holds it (an index into the forecasts), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Merge {
    cost: Option<usize>,
    sales: Option<usize>,
    forecast: Option<usize>,
}

/// The pairing.
#[derive(Debug, Default, PartialEq, Eq)]
struct Pairing {
    merges: Vec<Merge>,
    /// Forecasts no estimate line holds any more: to delete.
    unused: Vec<usize>,
    /// Lines that are neither cost nor sales estimate lines, with the reason.
    errors: Vec<(usize, String)>,
}

/// Pairs cost lines with sales lines and each pair (or single line) with its forecast.
///
/// Lines pair within their `PairKey` group. A pair an existing forecast already holds stays
/// together; the other lines of a group pair by equal quantity first, then in line-id order;
/// what is left over forms a forecast of its own (cost only, or sales only). A pair or single
/// line keeps the forecast that holds its cost line, else the one that holds its sales line,
/// else gets a new one. Forecasts left without lines are deleted, except those that hold a
/// line in error, which are left as they are.
fn pair(lines: &[Line], forecasts: &[MergedForecast]) -> Pairing {
    let mut out = Pairing::default();
    let mut groups: BTreeMap<PairKey, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        match line.side() {
            Some(LineSide::Cost) => groups.entry(line.key()).or_default().0.push(i),
            Some(LineSide::Sales) => groups.entry(line.key()).or_default().1.push(i),
            None => out.errors.push((
                i,
                format!(
                    "transaction type {} is neither Cost nor UnbilledSales; the line is not forecast",
                    line.trans_type.as_deref().unwrap_or("(none)")
                ),
            )),
        }
    }
    let mut by_cost: HashMap<Uuid, usize> = HashMap::new();
    let mut by_sales: HashMap<Uuid, usize> = HashMap::new();
    for (f, forecast) in forecasts.iter().enumerate() {
        if let Some(c) = forecast.values.cost_line {
            by_cost.entry(c).or_insert(f);
        }
        if let Some(s) = forecast.values.sales_line {
            by_sales.entry(s).or_insert(f);
        }
    }
    let mut used = vec![false; forecasts.len()];
    for (_, (mut costs, mut sales)) in groups {
        costs.sort_by_key(|&i| lines[i].id);
        sales.sort_by_key(|&i| lines[i].id);
        // Pairs an existing forecast holds.
        let mut rest = Vec::new();
        for c in costs {
            let kept = by_cost.get(&lines[c].id).and_then(|&f| {
                let s_id = forecasts[f].values.sales_line?;
                let pos = sales.iter().position(|&s| lines[s].id == s_id)?;
                (!used[f]).then_some((f, pos))
            });
            match kept {
                Some((f, pos)) => {
                    used[f] = true;
                    out.merges.push(Merge {
                        cost: Some(c),
                        sales: Some(sales.remove(pos)),
                        forecast: Some(f),
                    });
                }
                None => rest.push(c),
            }
        }
        // New pairs: equal quantity first, then in id order; the rest alone.
        let mut unmatched = Vec::new();
        for c in rest {
            match sales.iter().position(|&s| lines[s].quantity == lines[c].quantity) {
                Some(pos) => out.merges.push(Merge {
                    cost: Some(c),
                    sales: Some(sales.remove(pos)),
                    forecast: None,
                }),
                None => unmatched.push(c),
            }
        }
        let mut sales = sales.into_iter();
        for c in unmatched {
            out.merges.push(Merge {
                cost: Some(c),
                sales: sales.next(),
                forecast: None,
            });
        }
        out.merges.extend(sales.map(|s| Merge {
            cost: None,
            sales: Some(s),
            forecast: None,
        }));
    }
    for m in out.merges.iter_mut().filter(|m| m.forecast.is_none()) {
        let candidates = [
            m.cost.and_then(|c| by_cost.get(&lines[c].id)),
            m.sales.and_then(|s| by_sales.get(&lines[s].id)),
        ];
        if let Some(&f) = candidates.into_iter().flatten().find(|&&f| !used[f]) {
            used[f] = true;
            m.forecast = Some(f);
        }
    }
    for (i, _) in &out.errors {
        let id = lines[*i].id;
        for f in [by_cost.get(&id), by_sales.get(&id)].into_iter().flatten() {
            used[*f] = true;
        }
    }
    out.unused = (0..forecasts.len()).filter(|&f| !used[f]).collect();
    out
}

/// The forecast values of a pair (or of a single line).
fn merged_values(
    kind: LineKind,
    company: &Company,
    currencies: &HashMap<Uuid, String>,
    cost: Option<&Line>,
    sales: Option<&Line>,
) -> std::result::Result<MergedValues, String> {
    let Some(first) = cost.or(sales) else {
        return Err("no estimate line".to_string());
    };
    let code = match (cost.and_then(|l| l.currency), sales.and_then(|l| l.currency)) {
        (Some(c), Some(s)) if c != s => {
            return Err(format!(
                "the cost line is in currency {c} and the sales line {} in {s}; a forecast has one currency",
                sales.map(|l| l.id).unwrap_or_default()
            ));
        }
        (c, s) => currency(currencies, c.or(s))?,
    };
    let (category_id, shared) = company.category(first.category, kind.category_type)?;
    Ok(MergedValues {
        cost_line: cost.map(|l| l.id),
        sales_line: sales.map(|l| l.id),
        project: first.project,
        task: first.task,
        product: first.product,
        category_id: Some(category_id),
        shared_category: kind.shared_category.then_some(shared),
        from: first.start,
        to: first.end,
        quantity: cost.and_then(|l| l.quantity).or(sales.and_then(|l| l.quantity)),
        cost_price: cost.and_then(|l| l.price),
        cost_amount: cost.and_then(|l| l.amount),
        sales_price: sales.and_then(|l| l.price),
        sales_amount: sales.and_then(|l| l.amount),
        currency: code,
        description: cost
            .and_then(|l| l.description.clone())
            .or_else(|| sales.and_then(|l| l.description.clone())),
    })
}

/// What one merge needs.
#[derive(Debug, Default)]
struct MergePlan {
    /// Insert (no forecast yet) or update the forecast with these values.
    write: Option<MergedValues>,
    /// Lines whose `IsProcessed` changes, with the new value.
    processed: Vec<(Uuid, bool)>,
    error: Option<String>,
}

fn plan_merge(
    kind: LineKind,
    company: &Company,
    currencies: &HashMap<Uuid, String>,
    lines: &[Line],
    forecasts: &[MergedForecast],
    m: &Merge,
) -> MergePlan {
    let cost = m.cost.map(|i| &lines[i]);
    let sales = m.sales.map(|i| &lines[i]);
    let members = cost.into_iter().chain(sales);
    match merged_values(kind, company, currencies, cost, sales) {
        Ok(values) => MergePlan {
            write: match m.forecast {
                Some(f) if forecasts[f].values == values => None,
                _ => Some(values),
            },
            processed: members.filter(|l| !l.processed).map(|l| (l.id, true)).collect(),
            error: None,
        },
        Err(e) => MergePlan {
            write: None,
            processed: members.filter(|l| l.processed).map(|l| (l.id, false)).collect(),
            error: Some(format!(
                "{} {}: {e}; the forecast is not updated",
                kind.what,
                [cost, sales]
                    .into_iter()
                    .flatten()
                    .map(|l| format!(
                        "{} line {}",
                        if l.side() == Some(LineSide::Cost) {
                            "cost"
                        } else {
                            "sales"
                        },
                        l.id
                    ))
                    .collect::<Vec<_>>()
                    .join(" + ")
            )),
        },
    }
}

async fn lines(
    db: &Db,
    company: &Company,
    currencies: &HashMap<Uuid, String>,
    kind: LineKind,
    job: &mut Job,
) -> Result<()> {
    let lines: Vec<Line> = db
        .fetch(&staged_lines_sql(kind), &[text(&company.id)], &staged_line_types(kind))
        .await?
        .into_iter()
        .filter_map(|r| staged_line(kind, r))
        .collect();
    let columns = merged_columns(kind);
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let mut types = vec![ValueType::Text];
    types.extend(merged_types(kind));
    let forecasts: Vec<MergedForecast> = db
        .fetch(
            &format!(
                "SELECT \"TransId\", {} FROM \"{}\" WHERE \"DataAreaId\" = ? \
                 AND (\"CostEstimateLineId\" IS NOT NULL OR \"SalesEstimateLineId\" IS NOT NULL) ORDER BY \"TransId\"",
                quoted.join(", "),
                kind.forecast
            ),
            &[text(&company.id)],
            &types,
        )
        .await?
        .into_iter()
        .filter_map(|r| merged_forecast(kind, r))
        .collect();
    let pairing = pair(&lines, &forecasts);
    for (i, message) in &pairing.errors {
        let line = &lines[*i];
        job.error(
            db,
            Some(&company.id),
            Some(line.id),
            None,
            &format!("{} line {}: {message}", kind.what, line.id),
        )
        .await?;
    }
    for m in &pairing.merges {
        let plan = plan_merge(kind, company, currencies, &lines, &forecasts, m);
        let id = m.cost.or(m.sales).map(|i| lines[i].id).unwrap_or_default();
        if plan.write.is_none() && plan.processed.is_empty() && plan.error.is_none() {
            job.add("unchanged", 1);
            continue;
        }
        let existing = m.forecast.map(|f| forecasts[f].trans_id.as_str());
        let outcome = apply_merge(db, company, kind, existing, &plan).await;
        record(db, job, &company.id, id, kind.counter, outcome).await?;
    }
    for &f in &pairing.unused {
        let forecast = &forecasts[f];
        if let Err(e) = delete(db, kind.forecast, company, &forecast.trans_id).await {
            let id = forecast.values.cost_line.or(forecast.values.sales_line);
            let message = format!("{} {} not deleted: {e}", kind.forecast, forecast.trans_id);
            job.error(db, Some(&company.id), id, None, &message).await?;
            continue;
        }
        job.add("deleted", 1);
    }
    Ok(())
}

/// Writes one merge's forecast and its lines' flags in one transaction.
async fn apply_merge(
    db: &Db,
    company: &Company,
    kind: LineKind,
    existing: Option<&str>,
    plan: &MergePlan,
) -> Result<Done> {
    let mut tx = db.begin().await?;
    let mut done = Done {
        error: plan.error.clone(),
        ..Done::default()
    };
    if let Some(values) = &plan.write {
        let columns = merged_columns(kind);
        let mut args = merged_args(kind, values);
        args.push(value(&Value::DateTime(company.stamp), ValueType::DateTime));
        match existing {
            Some(trans_id) => {
                let sets: Vec<String> = columns.iter().map(|c| format!("\"{c}\" = ?")).collect();
                args.extend([text(&company.id), text(trans_id)]);
                tx.execute(
                    &format!(
                        "UPDATE \"{}\" SET {}, \"ModifiedDateTime\" = ? WHERE \"DataAreaId\" = ? AND \"TransId\" = ?",
                        kind.forecast,
                        sets.join(", ")
                    ),
                    &args,
                )
                .await?;
            }
            None => {
                let trans_id = take_trans_id(&mut tx, company).await?;
                let mut all = vec![text(&company.id), text(&trans_id)];
                all.extend(args);
                let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
                let marks = vec!["?"; all.len()].join(", ");
                tx.execute(
                    &format!(
                        "INSERT INTO \"{}\" (\"DataAreaId\", \"TransId\", {}, \"ModifiedDateTime\") VALUES ({marks})",
                        kind.forecast,
                        names.join(", ")
                    ),
                    &all,
                )
                .await?;
                done.created = true;
            }
        }
        done.written = true;
    }
    for (line, processed) in &plan.processed {
        tx.execute(
            &format!(
                "UPDATE \"{}\" SET \"IsProcessed\" = ? WHERE \"ProjectDataAreaId\" = ? AND \"EstimateLineId\" = ?",
                kind.staging
            ),
            &[boolean(*processed), text(&company.id), guid(*line)],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn line(n: u128, side: &str, category: u128, quantity: i64) -> Line {
        Line {
            id: id(n),
            project: Some(id(1000)),
            task: Some(id(2000)),
            category: Some(id(category)),
            trans_type: Some(side.to_string()),
            quantity: Some(Decimal::from(quantity)),
            ..Line::default()
        }
    }

    fn forecast(cost: Option<u128>, sales: Option<u128>) -> MergedForecast {
        MergedForecast {
            trans_id: format!("T{cost:?}{sales:?}"),
            values: MergedValues {
                cost_line: cost.map(id),
                sales_line: sales.map(id),
                ..MergedValues::default()
            },
        }
    }

    fn pairs(lines: &[Line], p: &Pairing) -> Vec<(Option<Uuid>, Option<Uuid>, Option<usize>)> {
        let mut v: Vec<_> = p
            .merges
            .iter()
            .map(|m| (m.cost.map(|i| lines[i].id), m.sales.map(|i| lines[i].id), m.forecast))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn cost_and_sales_lines_of_one_estimate_pair() {
        let lines = [
            line(1, "Cost", 7, 3),
            line(2, "UnbilledSales", 7, 3),
            line(3, "Cost", 8, 4),
            line(4, "UnbilledSales", 8, 4),
        ];
        let p = pair(&lines, &[]);
        assert_eq!(
            pairs(&lines, &p),
            vec![(Some(id(1)), Some(id(2)), None), (Some(id(3)), Some(id(4)), None)]
        );
        assert!(p.unused.is_empty() && p.errors.is_empty());
    }

    #[test]
    fn equal_quantities_pair_first_and_leftovers_stand_alone() {
        let lines = [
            line(1, "Cost", 7, 3),
            line(2, "Cost", 7, 5),
            line(3, "UnbilledSales", 7, 5),
            line(4, "Cost", 7, 9),
        ];
        let p = pair(&lines, &[]);
        assert_eq!(
            pairs(&lines, &p),
            vec![
                (Some(id(1)), None, None),
                (Some(id(2)), Some(id(3)), None),
                (Some(id(4)), None, None)
            ]
        );
    }

    #[test]
    fn existing_pairs_and_forecasts_are_kept() {
        // Two identical estimates: the pairs the forecasts hold win over the id order.
        let lines = [
            line(1, "Cost", 7, 3),
            line(2, "Cost", 7, 3),
            line(3, "UnbilledSales", 7, 3),
            line(4, "UnbilledSales", 7, 3),
        ];
        let forecasts = [forecast(Some(1), Some(4)), forecast(Some(2), Some(3))];
        let p = pair(&lines, &forecasts);
        assert_eq!(
            pairs(&lines, &p),
            vec![(Some(id(1)), Some(id(4)), Some(0)), (Some(id(2)), Some(id(3)), Some(1))]
        );
        // A sales line arriving for a cost-only forecast joins it; a forecast whose lines are
        // gone is deleted.
        let lines = [line(1, "Cost", 7, 3), line(3, "UnbilledSales", 7, 3)];
        let forecasts = [forecast(Some(1), None), forecast(Some(9), Some(10))];
        let p = pair(&lines, &forecasts);
        assert_eq!(pairs(&lines, &p), vec![(Some(id(1)), Some(id(3)), Some(0))]);
        assert_eq!(p.unused, vec![1]);
    }

    #[test]
    fn different_keys_do_not_pair_and_bad_types_are_errors() {
        let mut other_task = line(2, "UnbilledSales", 7, 3);
        other_task.task = Some(id(2001));
        let lines = [line(1, "Cost", 7, 3), other_task, line(3, "BilledSales", 7, 3)];
        let forecasts = [forecast(None, Some(3))];
        let p = pair(&lines, &forecasts);
        assert_eq!(
            pairs(&lines, &p),
            vec![(None, Some(id(2)), None), (Some(id(1)), None, None)]
        );
        assert_eq!(p.errors.len(), 1);
        // The forecast holding the line in error is left alone.
        assert!(p.unused.is_empty());
    }

    #[test]
    fn edits_are_later_than_the_last_run_and_not_a_run_stamp() {
        let t = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
        let edits = Edits {
            since: Some(t(100)),
            runs: [t(150)].into_iter().collect(),
        };
        assert!(!edits.edited(Some(t(100))));
        assert!(!edits.edited(Some(t(50))));
        assert!(!edits.edited(Some(t(150))));
        assert!(edits.edited(Some(t(120))));
        assert!(!Edits::default().edited(Some(t(120))));
    }

    #[test]
    fn an_edited_hour_forecast_flows_back() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let t = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
        let usd = id(77);
        let currencies: HashMap<Uuid, String> = [(usd, "USD".to_string())].into_iter().collect();
        let staged = HourStaged {
            id: id(1),
            project: None,
            task: None,
            resource: None,
            schedule: Schedule {
                hours: Some(Decimal::from(10)),
                from: d("2026-06-01"),
                to: d("2026-06-30"),
            },
            cost: None,
            sales: None,
            currency: Some(usd),
            processed: true,
        };
        let mut values = HourValues {
            project: None,
            task: None,
            resource: None,
            schedule: staged.schedule.clone(),
            cost: None,
            sales: None,
            currency: Some("USD".into()),
        };
        values.schedule.hours = Some(Decimal::from(12));
        let forecast = HourForecast {
            trans_id: "T1".into(),
            id: id(1),
            values: values.clone(),
            modified: Some(t(200)),
        };
        let edits = Edits {
            since: Some(t(100)),
            runs: HashSet::new(),
        };
        let plan = plan_hours(&staged, Some(&forecast), &edits, &currencies);
        assert_eq!(plan.flow_back, Some(values.schedule.clone()));
        assert_eq!(plan.write, Some(values.clone()));
        // Not edited since the last run: the staging row wins.
        let plan = plan_hours(&staged, Some(&forecast), &Edits::default(), &currencies);
        assert_eq!(plan.flow_back, None);
        assert_eq!(plan.write.unwrap().schedule, staged.schedule);
        // An unknown currency is an error that marks the row unprocessed.
        let mut odd = staged.clone();
        odd.currency = Some(id(78));
        let plan = plan_hours(&odd, None, &edits, &currencies);
        assert!(plan.error.is_some() && plan.write.is_none());
        assert_eq!(plan.processed, Some(false));
    }
}
