//! Import from staging table: every actual in `ProjCDSActualsImport` that has no integration
//! journal line (and was never posted) becomes one line — so a re-run imports only what is new
//! and re-inserts unposted lines that were deleted. Lines are grouped into journals by the
//! legal entity's period unit; each line gets a voucher from the number sequence, its project
//! category, line property, exchange rate and accounting-currency amount. An actual whose
//! exchange rate is missing is not imported (the job log names the currency pair and date) and
//! is picked up once the rate exists. A line whose accounting date, category or line property
//! cannot be set is imported with status `Error` and the reason, for posting to report.
//! Only cost and unbilled sales become journal lines (`classes`): billed sales go to invoice
//! proposals (`invoice::import`), the deprecated Tax class nowhere, and a class/type combination
//! the rules forbid is refused. The run also makes the fixed-price revenue estimate projects
//! (`milestones`) and relates vouchers (`relations`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::db::{Cells, Db, DbTx, date, dec, guid, int, opt_date, opt_guid, opt_text, text};
use super::joblog::{Job, JobSummary};
use super::numbers;
use super::setup::{Company, Setup, category_type};
use super::staged::{STAGED_SELECT, STAGED_TYPES, Staged, staged_of};
use super::{classes, tax};
use crate::store::Result;
use crate::value::ValueType;

/// Staging rows read per transaction.
const BATCH: usize = 1000;

/// A journal line ready to insert.
#[derive(Debug, Clone)]
struct NewLine {
    staged: Staged,
    trans_date: NaiveDate,
    accounting_date: NaiveDate,
    category: Option<String>,
    line_property: Option<String>,
    currency: String,
    rate: Decimal,
    amount_cur: Decimal,
    amount_mst: Decimal,
    tax_group: Option<String>,
    item_tax_group: Option<String>,
    sales_tax: Decimal,
    /// The integration account the source document posted to, which the line credits.
    offset: Option<String>,
    /// Why the line cannot be posted as it is.
    error: Option<String>,
}

/// Imports the staging actuals of `company` (all legal entities when None) into journals.
pub async fn import(db: &Db, company: Option<&str>) -> Result<JobSummary> {
    let mut job = Job::start(db, "ImportFromStaging", company).await?;
    let result = run(db, company, &mut job).await;
    job.close(db, result).await
}

async fn run(db: &Db, only: Option<&str>, job: &mut Job) -> Result<()> {
    let setup = Setup::load(db).await?;
    let areas: Vec<String> = db
        .fetch(
            "SELECT DISTINCT \"ProjectDataAreaId\" FROM \"ProjCDSActualsImport\" ORDER BY \"ProjectDataAreaId\"",
            &[],
            &[ValueType::Text],
        )
        .await?
        .into_iter()
        .filter_map(|r| Cells::new(r).text())
        .filter(|a| only.is_none_or(|o| o == a))
        .collect();
    for area in areas {
        let Ok(company) = setup.company(&area) else {
            job.error(
                db,
                Some(&area),
                None,
                None,
                &format!(
                    "legal entity {area} has staged actuals but no ProjParameters/CompanyInfo; they are not imported"
                ),
            )
            .await?;
            continue;
        };
        import_company(db, &setup, company, job).await?;
    }
    // Revenue estimate projects and invoice proposals, in every legal entity of the setup
    // (also one with no staged actuals yet).
    let mut companies: Vec<&Company> = setup
        .companies
        .values()
        .filter(|c| only.is_none_or(|o| o == c.id))
        .collect();
    companies.sort_by(|a, b| a.id.cmp(&b.id));
    for company in companies {
        super::milestones::revenue_estimate_projects(db, company, job).await?;
        super::invoice::import::import_company(db, &setup, company, job).await?;
    }
    super::relations::relate_vouchers(db, job).await
}

async fn import_company(db: &Db, setup: &Setup, company: &Company, job: &mut Job) -> Result<()> {
    let (Some(voucher_seq), Some(journal_seq)) = (&company.voucher_sequence, &company.journal_sequence) else {
        job.error(
            db,
            Some(&company.id),
            None,
            None,
            "ProjParameters names no voucher or journal number sequence; nothing is imported for this legal entity",
        )
        .await?;
        return Ok(());
    };
    refuse_moved(db, company, job).await?;
    import_journal_lines(db, setup, company, voucher_seq, journal_seq, job).await?;
    not_posted(db, company, job).await
}

/// Cost and unbilled sales actuals become integration journal lines.
async fn import_journal_lines(
    db: &Db,
    setup: &Setup,
    company: &Company,
    voucher_seq: &str,
    journal_seq: &str,
    job: &mut Job,
) -> Result<()> {
    let mut after = Uuid::nil();
    loop {
        // One transaction reads the batch and inserts its lines, under the import lock (SQLite:
        // the write lock `BEGIN IMMEDIATE` takes; PostgreSQL: a transaction advisory lock), so
        // a concurrent import waits and then sees these lines: no actual is read as not yet
        // imported by two runs, in this legal entity or any other. The unique key on
        // (ActualId, DataAreaId) backs it up.
        let mut tx = db.begin().await?;
        super::staged::lock_import(&mut tx).await?;
        let sql = format!(
            "{STAGED_SELECT} WHERE s.\"ProjectDataAreaId\" = ? AND s.\"ActualId\" > ? \
             AND COALESCE(s.\"TransType\", '') <> 'BilledSales' AND COALESCE(s.\"TransactionClassification\", '') <> 'Tax' \
             AND NOT EXISTS (SELECT 1 FROM \"ProjCDSIntegrationJournalLine\" l WHERE l.\"ActualId\" = s.\"ActualId\") \
             AND NOT EXISTS (SELECT 1 FROM \"ProjPostedTransTable\" p WHERE p.\"ActualId\" = s.\"ActualId\") \
             ORDER BY s.\"ActualId\" LIMIT {BATCH}"
        );
        let staged: Vec<Staged> = tx
            .fetch(&sql, &[text(&company.id), guid(after)], &STAGED_TYPES)
            .await?
            .into_iter()
            .filter_map(staged_of)
            .collect();
        let Some(last) = staged.last() else {
            return tx.commit().await;
        };
        after = last.actual;
        let mut lines = Vec::new();
        // Job-log lines are written after the commit: on SQLite another connection could not
        // write while this transaction holds the lock.
        let mut refused = Vec::new();
        for s in staged {
            match prepare(setup, company, s) {
                Ok(line) => lines.push(line),
                Err(refusal) => refused.push(refusal),
            }
        }
        let vouchers = numbers::take(&mut tx, &company.id, voucher_seq, lines.len()).await?;
        let mut groups: BTreeMap<String, Vec<(NewLine, String)>> = BTreeMap::new();
        for (line, voucher) in lines.into_iter().zip(vouchers) {
            groups
                .entry(company.period_unit.key(line.trans_date))
                .or_default()
                .push((line, voucher));
        }
        let mut errors = Vec::new();
        for (key, group) in groups {
            let journal = open_journal(&mut tx, company, journal_seq, &key).await?;
            let mut line_num = next_line_num(&mut tx, &company.id, &journal).await?;
            for (line, voucher) in group {
                if let Some(e) = &line.error {
                    errors.push((line.staged.actual, journal.clone(), e.clone()));
                }
                insert_line(&mut tx, &company.id, &journal, line_num, &line, &voucher).await?;
                tx.execute(
                    "UPDATE \"ProjCDSActualsImport\" SET \"IsProcessed\" = ? \
                     WHERE \"ProjectDataAreaId\" = ? AND \"ActualId\" = ?",
                    &[super::db::boolean(true), text(&company.id), guid(line.staged.actual)],
                )
                .await?;
                line_num += 1;
                job.add("lines", 1);
            }
        }
        tx.commit().await?;
        for (actual, message) in refused {
            job.add("not_imported", 1);
            job.error(db, Some(&company.id), Some(actual), None, &message).await?;
        }
        for (actual, journal, message) in errors {
            job.add("lines_with_errors", 1);
            job.error(db, Some(&company.id), Some(actual), Some(&journal), &message)
                .await?;
        }
    }
}

/// Staging rows of `company` whose actual already has a journal line or a posting in another
/// legal entity (its company was changed after it was imported) are refused: the job log says
/// so once per actual, and what to do. They are never imported, so no actual is booked twice.
async fn refuse_moved(db: &Db, company: &Company, job: &mut Job) -> Result<()> {
    use ValueType::{Guid, Text};
    let rows = db
        .fetch(
            "SELECT s.\"ActualId\", l.\"DataAreaId\", l.\"JournalId\", l.\"Status\", p.\"DataAreaId\", p.\"Voucher\" \
             FROM \"ProjCDSActualsImport\" s \
             LEFT JOIN \"ProjCDSIntegrationJournalLine\" l ON l.\"ActualId\" = s.\"ActualId\" \
                 AND l.\"DataAreaId\" <> s.\"ProjectDataAreaId\" \
             LEFT JOIN \"ProjPostedTransTable\" p ON p.\"ActualId\" = s.\"ActualId\" \
                 AND p.\"DataAreaId\" <> s.\"ProjectDataAreaId\" \
             WHERE s.\"ProjectDataAreaId\" = ? AND (l.\"ActualId\" IS NOT NULL OR p.\"ActualId\" IS NOT NULL) \
             ORDER BY s.\"ActualId\"",
            &[text(&company.id)],
            &[Guid, Text, Text, Text, Text, Text],
        )
        .await?;
    for row in rows {
        let mut c = Cells::new(row);
        let Some(actual) = c.guid() else { continue };
        let (line_area, journal, status, posted_area, voucher) = (c.text(), c.text(), c.text(), c.text(), c.text());
        let message = match (posted_area, voucher) {
            (Some(area), voucher) => format!(
                "the actual is already posted in legal entity {area} (voucher {}); it now names legal entity {}                  and is not imported again. Reverse the transaction in {area}, then record the actual anew in {}",
                voucher.as_deref().unwrap_or("-"),
                company.id,
                company.id
            ),
            (None, _) => format!(
                "the actual is already journalized in legal entity {} (journal {}, line status {}); it now names legal                  entity {} and is not imported again. Delete that journal line in {} (or post and reverse it),                  then record the actual anew in {}",
                line_area.as_deref().unwrap_or("-"),
                journal.as_deref().unwrap_or("-"),
                status.as_deref().unwrap_or("-"),
                company.id,
                line_area.as_deref().unwrap_or("-"),
                company.id
            ),
        };
        job.add("refused", 1);
        if !super::joblog::logged_before(db, actual, &message).await? {
            job.error(db, Some(&company.id), Some(actual), None, &message).await?;
        }
    }
    Ok(())
}

/// The line of one staged actual, or why it cannot be imported now (the actual and a message).
fn prepare(setup: &Setup, company: &Company, s: Staged) -> std::result::Result<NewLine, (Uuid, String)> {
    let actual = s.actual;
    let fail = |m: String| (actual, m);
    classes::route(
        s.classification.as_deref().unwrap_or_default(),
        s.trans_type.as_deref().unwrap_or_default(),
        s.billing_rule.as_deref(),
    )
    .map_err(|e| fail(format!("{e}; the actual is not imported")))?;
    let trans_date = s
        .document_date
        .or(s.accounting_date)
        .ok_or_else(|| fail("the actual has no document date and no accounting date".into()))?;
    let currency = s
        .currency
        .and_then(|c| setup.currency_codes.get(&c).cloned())
        .ok_or_else(|| {
            fail(format!(
                "the actual's currency {} is not in the Currency table (TransactionCurrencyId)",
                s.currency.map(|c| c.to_string()).unwrap_or_else(|| "(none)".into())
            ))
        })?;
    let rate = setup
        .rate(&currency, &company.accounting_currency, trans_date)
        .ok_or_else(|| {
            fail(format!(
                "no exchange rate from {currency} to {} valid on {trans_date}; the actual is imported once the rate exists",
                company.accounting_currency
            ))
        })?;
    let mut error = None;
    let accounting_date = match company.accounting_date(s.accounting_date.unwrap_or(trans_date)) {
        Ok(d) => d,
        Err(e) => {
            error = Some(e);
            s.accounting_date.unwrap_or(trans_date)
        }
    };
    let classification = s.classification.clone().unwrap_or_default();
    let category = s
        .category
        .and_then(|shared| {
            company
                .categories
                .get(&(shared, category_type(&classification).to_string()))
                .cloned()
        })
        .or_else(|| company.default_category.clone());
    if category.is_none() && error.is_none() {
        error = Some(format!(
            "no project category: the transaction category has none in legal entity {} and ProjParameters has no default",
            company.id
        ));
    }
    let billing = s.billing_type.clone().unwrap_or_else(|| "NotSpecified".into());
    let line_property = company.line_properties.get(&billing).cloned();
    if line_property.is_none() && error.is_none() {
        error = Some(format!(
            "no line property for billing type {billing} in legal entity {} (ProjCDSLinePropertyMapping)",
            company.id
        ));
    }
    // An empty amount is an error, never 0.00.
    let amount = s.amount.ok_or_else(|| {
        fail(
            "the actual has no amount (Amount is empty); it is not imported. Enter the amount on the actual, \
             and the next import takes it"
                .into(),
        )
    })?;
    let offset = match super::payables::offset_account(company, s.source.as_deref()) {
        Ok(account) => account,
        Err(e) => {
            error.get_or_insert(e);
            None
        }
    };
    let amount_cur = setup.round(amount, &currency);
    let amount_mst = setup.round(amount_cur * rate, &company.accounting_currency);
    let (tax_group, item_tax_group) = if tax::is_taxed(s.trans_type.as_deref().unwrap_or_default()) {
        company.tax_groups(
            &classification,
            category.as_deref(),
            s.project_tax_group.clone(),
            s.contract_tax_group.clone(),
        )
    } else {
        (None, None)
    };
    let sales_tax = match company.tax.compute(
        &company.id,
        tax_group.as_deref(),
        item_tax_group.as_deref(),
        amount_cur,
        |d| setup.round(d, &currency),
    ) {
        Ok(lines) => tax::total(&lines),
        Err(e) => {
            error.get_or_insert(e);
            Decimal::ZERO
        }
    };
    Ok(NewLine {
        staged: s,
        trans_date,
        accounting_date,
        category,
        line_property,
        currency,
        rate,
        amount_cur,
        amount_mst,
        tax_group,
        item_tax_group,
        sales_tax,
        offset,
        error,
    })
}

/// The open journal of a period group, or a new one.
async fn open_journal(tx: &mut DbTx, company: &Company, journal_seq: &str, key: &str) -> Result<String> {
    // PostgreSQL: the header stays locked until the lines are in, so a posting run, which
    // marks the journal `Posting` before it reads the lines, waits for them (and once it is
    // `Posting`, no import adds to it). SQLite's write transactions are serialized anyway.
    let lock = if tx.dialect() == super::db::Dialect::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let found = tx
        .fetch(
            &format!(
                "SELECT \"JournalId\" FROM \"ProjCDSIntegrationJournal\" WHERE \"DataAreaId\" = ? AND \"PeriodKey\" = ? \
                 AND \"Status\" = 'Open' AND \"OriginalJournalId\" IS NULL ORDER BY \"JournalId\" LIMIT 1{lock}"
            ),
            &[text(&company.id), text(key)],
            &[ValueType::Text],
        )
        .await?;
    if let Some(id) = found.into_iter().next().and_then(|r| Cells::new(r).text()) {
        return Ok(id);
    }
    let id = numbers::take(tx, &company.id, journal_seq, 1).await?.remove(0);
    let description = format!("Project Operations integration journal {key}");
    let header = NewJournal {
        company: &company.id,
        id: &id,
        description: &description,
        unit: company.period_unit.name(),
        key,
        original: None,
    };
    create_journal(tx, &header).await?;
    Ok(id)
}

/// A journal header to create (status `Open`).
pub(super) struct NewJournal<'a> {
    pub company: &'a str,
    pub id: &'a str,
    pub description: &'a str,
    pub unit: &'a str,
    pub key: &'a str,
    /// The journal whose error lines move here, if any.
    pub original: Option<&'a str>,
}

pub(super) async fn create_journal(tx: &mut DbTx, j: &NewJournal<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO \"ProjCDSIntegrationJournal\" (\"DataAreaId\", \"JournalId\", \"Description\", \"PeriodUnit\", \
         \"PeriodKey\", \"Status\", \"OriginalJournalId\", \"CreatedDateTime\") VALUES (?, ?, ?, ?, ?, 'Open', ?, ?)",
        &[
            text(j.company),
            text(j.id),
            text(j.description),
            text(j.unit),
            text(j.key),
            opt_text(j.original),
            super::db::now(),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn next_line_num(tx: &mut DbTx, company: &str, journal: &str) -> Result<i64> {
    let rows = tx
        .fetch(
            "SELECT MAX(\"LineNum\") FROM \"ProjCDSIntegrationJournalLine\" WHERE \"DataAreaId\" = ? AND \"JournalId\" = ?",
            &[text(company), text(journal)],
            &[ValueType::Int],
        )
        .await?;
    Ok(rows.into_iter().next().and_then(|r| Cells::new(r).int()).unwrap_or(0) + 1)
}

async fn insert_line(
    tx: &mut DbTx,
    company: &str,
    journal: &str,
    line_num: i64,
    l: &NewLine,
    voucher: &str,
) -> Result<()> {
    let s = &l.staged;
    tx.execute(
        "INSERT INTO \"ProjCDSIntegrationJournalLine\" (\"DataAreaId\", \"JournalId\", \"LineNum\", \"ActualId\", \
         \"ProjectId\", \"TaskId\", \"ContractId\", \"ContractLine\", \"TransDate\", \"AccountingDate\", \"Voucher\", \
         \"TransactionClassification\", \"TransType\", \"ProjectCategoryId\", \"LinePropertyId\", \"ResourceId\", \
         \"ResourceCategory\", \"Quantity\", \"UnitPrice\", \"CurrencyCode\", \"ExchangeRate\", \"AmountCur\", \
         \"AmountMST\", \"SalesTaxAmount\", \"BillingSalesTaxGroup\", \"BillingItemSalesTaxGroup\", \"Description\", \
         \"ExternalDescription\", \"Status\", \"ErrorMessage\", \"OffsetMainAccount\") \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            text(company),
            text(journal),
            int(line_num),
            guid(s.actual),
            opt_guid(s.project),
            opt_guid(s.task),
            opt_guid(s.contract),
            opt_guid(s.contract_line),
            date(l.trans_date),
            opt_date(Some(l.accounting_date)),
            text(voucher),
            opt_text(s.classification.as_deref()),
            opt_text(s.trans_type.as_deref()),
            opt_text(l.category.as_deref()),
            opt_text(l.line_property.as_deref()),
            opt_guid(s.resource),
            opt_guid(s.role),
            super::db::opt_dec(s.quantity),
            super::db::opt_dec(s.unit_price),
            text(&l.currency),
            dec(l.rate),
            dec(l.amount_cur),
            dec(l.amount_mst),
            dec(l.sales_tax),
            opt_text(l.tax_group.as_deref()),
            opt_text(l.item_tax_group.as_deref()),
            opt_text(s.description.as_deref()),
            opt_text(s.external_description.as_deref()),
            text(if l.error.is_some() { "Error" } else { "Draft" }),
            opt_text(l.error.as_deref()),
            opt_text(l.offset.as_deref()),
        ],
    )
    .await?;
    Ok(())
}

/// Actuals of the deprecated Tax class are neither invoiced nor cost or revenue: they are marked
/// processed and counted (`tax_not_posted`), and never reach a journal.
async fn not_posted(db: &Db, company: &Company, job: &mut Job) -> Result<()> {
    let n = db
        .execute(
            "UPDATE \"ProjCDSActualsImport\" SET \"IsProcessed\" = ? WHERE \"ProjectDataAreaId\" = ? \
             AND \"TransactionClassification\" = 'Tax' AND \"IsProcessed\" = ?",
            &[super::db::boolean(true), text(&company.id), super::db::boolean(false)],
        )
        .await?;
    if n > 0 {
        job.add("tax_not_posted", n);
    }
    Ok(())
}
