//! Fixed-price revenue estimate projects: the first billing milestone of a fixed-price contract
//! line (staged by the contract-line-milestones map as an on-account transaction) creates the
//! line's revenue estimate project (`ProjFixedPriceRevenueEstimateProject`), which revenue
//! recognition of the fixed-price line works on. It names the contract line's project and the
//! milestone that created it (the earliest by date, then id, among those staged when it is made).
//! Later milestones, and deleting milestones, leave it as it is: it belongs to the accounting side.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use uuid::Uuid;

use super::db::{Cells, Db, guid, now, opt_guid, text};
use super::joblog::Job;
use super::setup::Company;
use crate::store::Result;
use crate::value::ValueType;

/// A milestone's place in its contract line: date (none sorts last), then id.
type FirstMilestone = (Option<NaiveDate>, Uuid);

/// Creates the revenue estimate project of every contract line of `company` that has staged
/// milestones and none yet.
pub(super) async fn revenue_estimate_projects(db: &Db, company: &Company, job: &mut Job) -> Result<()> {
    use ValueType::{Date, Guid};
    let rows = db
        .fetch(
            "SELECT m.\"ContractLine\", m.\"MilestoneDate\", m.\"MilestoneId\", l.\"ProjectId\" \
             FROM \"ProjCDSContractLineMilestoneEntity\" m \
             LEFT JOIN \"ProjCDSContractLineImportEntity\" l ON l.\"DataAreaId\" = m.\"DataAreaId\" \
                 AND l.\"ContractLine\" = m.\"ContractLine\" \
             WHERE m.\"DataAreaId\" = ? AND m.\"ContractLine\" IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM \"ProjFixedPriceRevenueEstimateProject\" r \
                 WHERE r.\"DataAreaId\" = m.\"DataAreaId\" AND r.\"ContractLine\" = m.\"ContractLine\")",
            &[text(&company.id)],
            &[Guid, Date, Guid, Guid],
        )
        .await?;
    // Contract line -> (first milestone's date and id, project).
    let mut first: BTreeMap<Uuid, (FirstMilestone, Option<Uuid>)> = BTreeMap::new();
    for row in rows {
        let mut c = Cells::new(row);
        let (Some(line), date, Some(milestone), project) = (c.guid(), c.date(), c.guid(), c.guid()) else {
            continue;
        };
        // A milestone without a date sorts last.
        let key = (date.or(Some(NaiveDate::MAX)), milestone);
        first
            .entry(line)
            .and_modify(|(k, _)| *k = (*k).min(key))
            .or_insert((key, project));
    }
    if first.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for (line, ((_, milestone), project)) in &first {
        tx.execute(
            "INSERT INTO \"ProjFixedPriceRevenueEstimateProject\" (\"DataAreaId\", \"ContractLine\", \"ProjectId\", \
             \"FirstMilestoneId\", \"CreatedDateTime\") VALUES (?, ?, ?, ?, ?)",
            &[
                text(&company.id),
                guid(*line),
                opt_guid(*project),
                guid(*milestone),
                now(),
            ],
        )
        .await?;
    }
    tx.commit().await?;
    job.add("revenue_estimate_projects", first.len() as u64);
    Ok(())
}
