//! Shared by the hour and the expense/item forecasts: what a run loads once (the run's stamp,
//! currencies, the legal entities and their setup, which hour forecasts were edited on the
//! accounting side) and the helpers every record's write uses (locking, TransIds, counting
//! outcomes, deleting forecasts).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::JOB_NAME;
use crate::accounting::db::{Cells, Db, DbTx, int, text, value};
use crate::accounting::joblog::Job;
use crate::accounting::numbers;
use crate::store::Result;
use crate::store::sql::conn::Dialect;
use crate::value::{Value, ValueType};

/// The run's start as the job log holds it: the stamp (`ModifiedDateTime`) of every forecast
/// this run writes, so the next runs recognize their own writes.
pub(super) async fn started(db: &Db, rec_id: i64) -> Result<DateTime<Utc>> {
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

pub(super) fn datetime(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::DateTime(t) => Some(*t),
        _ => None,
    }
}

/// Currency codes by operational currency id (`Currency.TransactionCurrencyId`).
pub(super) async fn currencies(db: &Db) -> Result<HashMap<Uuid, String>> {
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
pub(super) async fn companies(db: &Db, only: Option<&str>) -> Result<Vec<String>> {
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
pub(super) struct Company {
    pub(super) id: String,
    /// The TransId number sequence (`ProjParameters.TransIdNumberSequenceCode`).
    trans_ids: String,
    /// Project category ids by shared category and transaction type.
    categories: HashMap<(Uuid, String), String>,
    pub(super) edits: Edits,
    /// This run's stamp for `ModifiedDateTime`.
    pub(super) stamp: DateTime<Utc>,
}

impl Company {
    /// Loads the legal entity's setup; `Ok(Err(message))` when it is incomplete (the job log
    /// gets the message and the legal entity is skipped).
    pub(super) async fn load(
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

    pub(super) fn category(
        &self,
        shared: Option<Uuid>,
        transaction_type: &str,
    ) -> std::result::Result<(String, Uuid), String> {
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

pub(super) fn currency(
    currencies: &HashMap<Uuid, String>,
    id: Option<Uuid>,
) -> std::result::Result<Option<String>, String> {
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
pub(super) struct Edits {
    pub(super) since: Option<DateTime<Utc>>,
    pub(super) runs: HashSet<DateTime<Utc>>,
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

    pub(super) fn edited(&self, modified: Option<DateTime<Utc>>) -> bool {
        match (self.since, modified) {
            (Some(since), Some(m)) => m > since && !self.runs.contains(&m),
            _ => false,
        }
    }
}

/// `FOR UPDATE` on PostgreSQL (SQLite locks the whole file on the first write of a
/// transaction, and fails it if another writer got in between).
pub(super) fn lock(db: &Db) -> &'static str {
    match db.dialect() {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    }
}

/// How a record's write went.
#[derive(Debug, Default)]
pub(super) struct Done {
    pub(super) written: bool,
    pub(super) created: bool,
    pub(super) flowed_back: bool,
    pub(super) error: Option<String>,
}

/// Counts a record's outcome and logs its error.
pub(super) async fn record(
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

pub(super) async fn take_trans_id(tx: &mut DbTx, company: &Company) -> Result<String> {
    let ids = numbers::take(tx, &company.id, &company.trans_ids, 1).await?;
    Ok(ids.into_iter().next().unwrap_or_default())
}

/// Deletes a forecast whose staging rows are gone and counts it (`deleted`); when it cannot be
/// deleted, logs why (`what` names it in the message) and goes on.
pub(super) async fn delete(
    db: &Db,
    job: &mut Job,
    company: &Company,
    table: &str,
    what: &str,
    trans_id: &str,
    id: Option<Uuid>,
) -> Result<()> {
    let deleted = db
        .execute(
            &format!("DELETE FROM \"{table}\" WHERE \"DataAreaId\" = ? AND \"TransId\" = ?"),
            &[text(&company.id), text(trans_id)],
        )
        .await;
    if let Err(e) = deleted {
        let message = format!("{what} {trans_id} not deleted: {e}");
        job.error(db, Some(&company.id), id, None, &message).await?;
        return Ok(());
    }
    job.add("deleted", 1);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
