//! The setup check: every missing piece of the mandatory accounting setup, found before a record
//! moves, each naming the legal entity, what is missing and how to fix it (`dualsync check`, and
//! the daemon at start, whose result `status` shows). It reads the accounting store only:
//! parameters and number sequences, an open fiscal period today, the line property of every
//! billing type, the ledger posting setup of every transaction type and class that posts, a
//! project category per legal entity for every shared category, exchange rates today for the
//! currencies in use, the sales tax groups the parameters and categories name, and the
//! integration accounts and payables of expense reports and vendor invoices. (The reference
//! store's ledger posting setup stands in for F&O's cost and revenue profiles.)

use std::collections::{BTreeSet, HashSet};

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::db::{Cells, Db};
use super::setup::{Company, Setup};
use crate::store::Result;
use crate::value::ValueType;

/// One missing piece of setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SetupProblem {
    /// The legal entity; `null` for setup shared by all.
    pub company: Option<String>,
    /// What is missing.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

const BILLING_TYPES: [&str; 5] = [
    "NotSpecified",
    "Chargeable",
    "NonChargeable",
    "Complimentary",
    "NotAvailable",
];
/// (transaction type, classes) that post to the ledger.
const POSTING: [(&str, &[&str]); 3] = [
    ("Cost", &["Time", "Expense", "Material"]),
    ("UnbilledSales", &["Time", "Expense", "Material", "Fee", "Retainer"]),
    (
        "BilledSales",
        &["Time", "Expense", "Material", "Fee", "Retainer", "Milestone"],
    ),
];

/// The state store's job-log name of the daemon's check at start.
pub const JOB: &str = "setup-check";

/// The daemon's check at start: run, logged (a warning per problem) and recorded in the state
/// store's job log, where `status` reads it. A check that cannot run is logged and recorded as
/// failed; it never stops the daemon.
pub async fn at_start(db: &Db, state: &crate::engine::state::StateStore, companies: &[String]) {
    use crate::engine::state::JobStatus;
    let job = match state.start_job(JOB).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, "the setup check could not be recorded");
            return;
        }
    };
    let (status, counts, errors) = match run(db, companies, chrono::Utc::now().date_naive()).await {
        Ok(problems) => {
            for p in &problems {
                tracing::warn!(company = p.company.as_deref(), fix = %p.fix, "setup: {}", p.problem);
            }
            if problems.is_empty() {
                tracing::info!("setup check: complete");
            }
            let lines = problem_lines(&problems);
            let status = if problems.is_empty() {
                JobStatus::Succeeded
            } else {
                JobStatus::Partial
            };
            (
                status,
                serde_json::json!({ "problems": problems.len() }),
                serde_json::json!(lines),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "the setup check failed");
            (
                JobStatus::Failed,
                serde_json::json!({}),
                serde_json::json!([e.to_string()]),
            )
        }
    };
    if let Err(e) = state.finish_job(job, &counts, &errors, status).await {
        tracing::warn!(error = %e, "the setup check could not be recorded");
    }
}

/// One line per problem, for the job log and `status`.
pub fn problem_lines(problems: &[SetupProblem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| {
            format!(
                "{}: {} (fix: {})",
                p.company.as_deref().unwrap_or("all"),
                p.problem,
                p.fix
            )
        })
        .collect()
}

/// Checks the setup of `companies` (every legal entity of `CompanyInfo` when empty) as of `today`.
pub async fn run(db: &Db, companies: &[String], today: NaiveDate) -> Result<Vec<SetupProblem>> {
    let setup = Setup::load(db).await?;
    let mut out = Vec::new();
    let known = texts(db, "SELECT \"DataAreaId\" FROM \"CompanyInfo\" ORDER BY \"DataAreaId\"").await?;
    let scope: Vec<String> = if companies.is_empty() {
        known.clone()
    } else {
        companies.to_vec()
    };
    let found = Found {
        sequences: pairs(
            db,
            "SELECT \"DataAreaId\", \"NumberSequenceCode\" FROM \"NumberSequenceTable\"",
        )
        .await?,
        properties: pairs(
            db,
            "SELECT \"DataAreaId\", \"LinePropertyId\" FROM \"ProjLineProperty\"",
        )
        .await?,
        project_categories: pairs(db, "SELECT \"DataAreaId\", \"CategoryId\" FROM \"ProjCategory\"").await?,
        shared: shared_categories(db).await?,
        in_use: currencies_in_use(db).await?,
    };
    for id in &scope {
        let mut problem = |problem: String, fix: String| {
            out.push(SetupProblem {
                company: Some(id.clone()),
                problem,
                fix,
            })
        };
        if !known.contains(id) {
            problem(
                "the legal entity is not in CompanyInfo".into(),
                "add it with its accounting currency, or take it out of `companies` in the configuration".into(),
            );
            continue;
        }
        let Ok(company) = setup.company(id) else {
            problem(
                "the legal entity has no project management and accounting parameters (ProjParameters)".into(),
                "add its ProjParameters row: period unit, number sequences, default project category".into(),
            );
            continue;
        };
        for p in company_problems(&setup, company, today, &found) {
            problem(p.0, p.1);
        }
    }
    for c in found.in_use.iter().filter(|(_, code)| code.is_none()) {
        out.push(SetupProblem {
            company: None,
            problem: format!("currency {} is in use but not in the Currency table", c.0),
            fix: "add the currency with its code and TransactionCurrencyId (the operational currency id)".into(),
        });
    }
    Ok(out)
}

/// What the setup tables hold beyond `Setup`, read once for every legal entity.
struct Found {
    /// (legal entity, number sequence code).
    sequences: HashSet<(String, String)>,
    /// (legal entity, line property).
    properties: HashSet<(String, String)>,
    /// (legal entity, project category).
    project_categories: HashSet<(String, String)>,
    /// The synced shared categories: (id, transaction type, name).
    shared: BTreeSet<(Uuid, String, Option<String>)>,
    /// The currencies in use, with their code when `Currency` has them.
    in_use: BTreeSet<(Uuid, Option<String>)>,
}

/// Every problem of one legal entity, as (problem, fix).
fn company_problems(setup: &Setup, c: &Company, today: NaiveDate, found: &Found) -> Vec<(String, String)> {
    let Found {
        sequences,
        properties,
        project_categories,
        shared,
        in_use,
    } = found;
    let mut out = Vec::new();
    let id = &c.id;
    for (name, column, code) in [
        ("voucher", "VoucherNumberSequenceCode", &c.voucher_sequence),
        ("journal", "JournalNumberSequenceCode", &c.journal_sequence),
        ("transaction-id", "TransIdNumberSequenceCode", &c.trans_id_sequence),
        ("customer invoice", "InvoiceNumberSequenceCode", &c.invoice_sequence),
    ] {
        match code {
            None => out.push((
                format!("no {name} number sequence ({column} is empty)"),
                format!("name a number sequence of {id} in ProjParameters.{column}"),
            )),
            Some(code) if !sequences.contains(&(id.clone(), code.clone())) => out.push((
                format!("the {name} number sequence {code} does not exist"),
                format!("add {code} to NumberSequenceTable for {id}, or name another in ProjParameters.{column}"),
            )),
            Some(_) => {}
        }
    }
    match c.period_of(today) {
        Some(p) if p.open => {}
        Some(p) => out.push((
            format!("today ({today}) is in the closed fiscal period {}..{}", p.start, p.end),
            "open the current period in LedgerFiscalPeriod".into(),
        )),
        None => out.push((
            format!("no fiscal period covers today ({today})"),
            "add the current period to LedgerFiscalPeriod".into(),
        )),
    }
    for billing in BILLING_TYPES {
        match c.line_properties.get(billing) {
            None => out.push((
                format!("no line property for billing type {billing}"),
                format!("map {billing} to a line property in ProjCDSLinePropertyMapping (billing type defaults)"),
            )),
            Some(p) if !properties.contains(&(id.clone(), p.clone())) => out.push((
                format!("billing type {billing} maps to line property {p}, which does not exist"),
                format!("add {p} to ProjLineProperty, or map {billing} to an existing one"),
            )),
            Some(_) => {}
        }
    }
    for (ttype, classes) in POSTING {
        for class in classes.iter().filter(|class| c.accounts(ttype, class).is_none()) {
            out.push((
                format!("no ledger posting setup for transaction type {ttype} and classification {class}"),
                format!("add a ProjLedgerPostingSetup row for {ttype} with classification {class} or All"),
            ));
        }
    }
    if let Some(d) = &c.default_category
        && !project_categories.contains(&(id.clone(), d.clone()))
    {
        out.push((
            format!("the default project category {d} does not exist"),
            format!("add {d} to ProjCategory, or name another in ProjParameters.DefaultProjectCategoryId"),
        ));
    }
    for (category, ttype, name) in shared {
        if !c.categories.contains_key(&(*category, ttype.clone())) {
            out.push((
                format!(
                    "no project category for shared category {} ({category}) of type {ttype}",
                    name.as_deref().unwrap_or("-")
                ),
                format!("create a project category of type {ttype} on that shared category in {id} (ProjCategory)"),
            ));
        }
    }
    for (guid, code) in in_use {
        let Some(code) = code else { continue };
        if setup.rate(code, &c.accounting_currency, today).is_none() {
            out.push((
                format!(
                    "no exchange rate from {code} to {} valid today ({today})",
                    c.accounting_currency
                ),
                format!("add the rate to ExchangeRate (currency {guid} is in use)"),
            ));
        }
    }
    tax_problems(c, &mut out);
    let a = &c.integration;
    for (account, column, what) in [
        (
            &a.expense,
            "ExpenseIntegrationAccount",
            "expense reports post project cost to it",
        ),
        (
            &a.expense_payable,
            "ExpensePayableAccount",
            "expense reports credit what is owed to the worker to it",
        ),
        (
            &a.procurement,
            "ProcurementIntegrationAccount",
            "vendor invoices post project cost to it",
        ),
        (
            &a.vendor_payable,
            "VendorPayableAccount",
            "vendor invoices credit the vendor balance to it",
        ),
    ] {
        if account.is_none() {
            out.push((
                format!("no {column} in ProjParameters"),
                format!("set ProjParameters.{column} of {id}: {what}, and the integration journal clears it"),
            ));
        }
    }
    out
}

/// The sales tax groups the parameters and project categories name, and their codes.
fn tax_problems(c: &Company, out: &mut Vec<(String, String)>) {
    let id = &c.id;
    if let Some(g) = &c.sales_tax_group
        && !c.tax.groups.contains_key(g)
    {
        out.push((
            format!("the sales tax group {g} of ProjParameters.SalesTaxGroup does not exist"),
            format!("add its tax codes to TaxGroupData in {id}, or name another group"),
        ));
    }
    let mut item_groups: BTreeSet<(String, String)> = c
        .category_tax_groups
        .iter()
        .map(|(category, g)| (g.clone(), format!("project category {category}")))
        .collect();
    if let Some(g) = &c.milestone_item_tax_group {
        item_groups.insert((g.clone(), "ProjParameters.MilestoneItemSalesTaxGroup".into()));
    }
    let mut seen = HashSet::new();
    for (g, whose) in item_groups {
        if !c.tax.item_groups.contains_key(&g) && seen.insert(g.clone()) {
            out.push((
                format!("the item sales tax group {g} of {whose} does not exist"),
                format!("add its tax codes to TaxOnItem in {id}, or name another group"),
            ));
        }
    }
    let named: BTreeSet<&String> = c
        .tax
        .groups
        .values()
        .chain(c.tax.item_groups.values())
        .flatten()
        .collect();
    for code in named.into_iter().filter(|code| !c.tax.codes.contains_key(*code)) {
        out.push((
            format!("the tax code {code} is in a tax group but not in TaxTable"),
            format!("add {code} to TaxTable in {id} with its rate and tax account"),
        ));
    }
}

async fn texts(db: &Db, sql: &str) -> Result<Vec<String>> {
    Ok(db
        .fetch(sql, &[], &[ValueType::Text])
        .await?
        .into_iter()
        .filter_map(|r| Cells::new(r).text())
        .collect())
}

async fn pairs(db: &Db, sql: &str) -> Result<HashSet<(String, String)>> {
    Ok(db
        .fetch(sql, &[], &[ValueType::Text, ValueType::Text])
        .await?
        .into_iter()
        .filter_map(|r| {
            let mut c = Cells::new(r);
            Some((c.text()?, c.text()?))
        })
        .collect())
}

/// The shared categories synced by the transaction-categories map: (id, type, name).
async fn shared_categories(db: &Db) -> Result<BTreeSet<(Uuid, String, Option<String>)>> {
    use ValueType::{Guid, Text};
    Ok(db
        .fetch(
            "SELECT \"CategoryId\", \"TransactionType\", \"CategoryName\" FROM \"ProjCDSCategoryEntity\"",
            &[],
            &[Guid, Text, Text],
        )
        .await?
        .into_iter()
        .filter_map(|r| {
            let mut c = Cells::new(r);
            Some((c.guid()?, c.text()?, c.text()))
        })
        .collect())
}

/// The currencies of staged actuals and contracts, with their code when `Currency` has them.
async fn currencies_in_use(db: &Db) -> Result<BTreeSet<(Uuid, Option<String>)>> {
    use ValueType::{Guid, Text};
    Ok(db
        .fetch(
            "SELECT u.c, cur.\"CurrencyCode\" FROM (SELECT DISTINCT \"TransactionCurrencyId\" AS c FROM \"ProjCDSActualsImport\" \
             UNION SELECT DISTINCT \"TransactionCurrencyId\" FROM \"ProjCDSProjectContractEntity\") u \
             LEFT JOIN \"Currency\" cur ON cur.\"TransactionCurrencyId\" = u.c WHERE u.c IS NOT NULL",
            &[],
            &[Guid, Text],
        )
        .await?
        .into_iter()
        .filter_map(|r| {
            let mut c = Cells::new(r);
            Some((c.guid()?, c.text()))
        })
        .collect())
}
