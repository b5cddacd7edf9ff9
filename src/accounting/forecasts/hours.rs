//! Hour forecasts: each hour estimate staging row (`ProjCDSEstimateHoursImport`, one per
//! resource assignment) becomes one hour forecast (`ProjForecastEmpl`), and hours and dates
//! edited on the forecast on the accounting side flow back to the staging row.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::common::{Company, Done, Edits, currency, datetime, delete, lock, record, take_trans_id};
use crate::accounting::db::{Cells, Db, boolean, guid, opt_date, opt_dec, opt_guid, opt_text, text, value};
use crate::accounting::joblog::Job;
use crate::store::{Result, Row};
use crate::value::{Value, ValueType};

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

pub(super) async fn hours(db: &Db, company: &Company, currencies: &HashMap<Uuid, String>, job: &mut Job) -> Result<()> {
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
        delete(
            db,
            job,
            company,
            "ProjForecastEmpl",
            "hour forecast",
            &f.trans_id,
            Some(f.id),
        )
        .await?;
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
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
