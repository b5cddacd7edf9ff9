//! Expense reports and vendor invoices on the accounting side. The reference store stands in
//! for F&O's expense management and accounts payable, where people post these documents:
//! posting an expense report (`ProjExpenseExportEntity`, `Draft` → `Posted`) debits the legal
//! entity's expense integration account and credits what is owed to the worker; posting a
//! pending vendor invoice (`VendInvoiceExportsV2`, `Pending` → `Posted`) debits the procurement
//! integration account with each project line and credits the vendor balance. Amounts are the
//! project cost, non-recoverable tax included, as entered. Posting also sets what the export
//! maps carry (category, currency GUID, the project transaction id of each vendor line, the
//! status `Draft` that waits for the project manager).
//!
//! The cost reaches the project when the operational side approves the document into cost
//! actuals and the integration journal posts them: import from staging offsets those journal
//! lines to the same integration account (`offset_account`), so a document whose actuals are
//! posted leaves its integration account at zero.

mod expenses;
mod vendor;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::db::Db;
use super::joblog::{Job, JobSummary};
use super::ledger::{self, Posting};
use super::numbers;
use super::setup::{Company, Setup};
use crate::store::Result;

/// Which kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ExpenseReport,
    VendorInvoice,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ExpenseReport => "expense report",
            Kind::VendorInvoice => "vendor invoice",
        }
    }

    /// The debit (integration) and credit (payable) accounts, with the parameter each is.
    fn accounts(self, company: &Company) -> [(Option<&String>, &'static str); 2] {
        let a = &company.integration;
        match self {
            Kind::ExpenseReport => [
                (a.expense.as_ref(), "ExpenseIntegrationAccount"),
                (a.expense_payable.as_ref(), "ExpensePayableAccount"),
            ],
            Kind::VendorInvoice => [
                (a.procurement.as_ref(), "ProcurementIntegrationAccount"),
                (a.vendor_payable.as_ref(), "VendorPayableAccount"),
            ],
        }
    }
}

/// One document to post: an expense report (its draft lines) or a pending vendor invoice.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub kind: Kind,
    pub company: String,
    /// The expense report number or the vendor's invoice number.
    pub number: String,
    /// The vendor invoice, or the report's first line (for the job log).
    pub record: Uuid,
    pub currency: String,
    pub date: NaiveDate,
    pub lines: Vec<DocLine>,
}

/// One line of a document.
#[derive(Debug, Clone)]
pub(crate) struct DocLine {
    pub id: Uuid,
    pub line_num: i64,
    pub project: Option<Uuid>,
    pub amount: Decimal,
    pub description: Option<String>,
    /// What the line lacks to be posted (an unknown category, no project, ...).
    pub problem: Option<String>,
}

/// What validation settles for a document.
pub(crate) struct Ready {
    pub accounting_date: NaiveDate,
    pub rate: Decimal,
    pub debit: String,
    pub credit: String,
    pub voucher_seq: String,
    pub trans_seq: String,
    /// Operational GUID of the document's currency.
    pub currency_id: Uuid,
}

/// Posts every expense report with draft lines, then every pending vendor invoice (of one legal
/// entity, or all); one job-log run (`Post`).
pub async fn post(db: &Db, company: Option<&str>) -> Result<JobSummary> {
    let mut job = Job::start(db, "Post", company).await?;
    let result = run(db, company, &mut job).await;
    job.close(db, result).await
}

async fn run(db: &Db, only: Option<&str>, job: &mut Job) -> Result<()> {
    let setup = Setup::load(db).await?;
    for doc in expenses::drafts(db, only).await? {
        post_one(db, &setup, &doc, job).await?;
    }
    for doc in vendor::pending(db, only).await? {
        post_one(db, &setup, &doc, job).await?;
    }
    Ok(())
}

/// Validates and posts one document, or logs why not (it stays unposted).
async fn post_one(db: &Db, setup: &Setup, doc: &Document, job: &mut Job) -> Result<()> {
    let refuse = |why: String| {
        format!(
            "{} {} of {} is not posted: {why}",
            doc.kind.name(),
            doc.number,
            doc.company
        )
    };
    let ready = match setup.company(&doc.company) {
        Ok(company) => validate(setup, company, doc).map(|r| (company, r)),
        Err(e) => Err(e.to_string()),
    };
    let (company, ready) = match ready {
        Ok(ok) => ok,
        Err(why) => {
            job.error(db, Some(&doc.company), Some(doc.record), None, &refuse(why))
                .await?;
            return Ok(());
        }
    };
    let mut tx = db.begin().await?;
    let voucher = numbers::take(&mut tx, &doc.company, &ready.voucher_seq, 1)
        .await?
        .remove(0);
    for line in &doc.lines {
        let mst = setup.round(line.amount * ready.rate, &company.accounting_currency);
        let posting = Posting {
            company: &doc.company,
            voucher: &voucher,
            accounting_date: ready.accounting_date,
            dimensions: None,
            posting_type: match doc.kind {
                Kind::ExpenseReport => "ExpenseReport",
                Kind::VendorInvoice => "VendorInvoice",
            },
            currency: &doc.currency,
            text: line.description.as_deref(),
            project: line.project,
            actual: None,
        };
        ledger::balanced(&mut tx, &posting, &ready.debit, &ready.credit, line.amount, mst).await?;
    }
    let claimed = match doc.kind {
        Kind::ExpenseReport => expenses::mark_posted(&mut tx, doc, &voucher, &ready).await?,
        Kind::VendorInvoice => vendor::mark_posted(&mut tx, doc, &voucher, &ready).await?,
    };
    if !claimed {
        // Another run posted it since it was read: nothing of this one is kept.
        return Ok(());
    }
    tx.commit().await?;
    job.add(
        match doc.kind {
            Kind::ExpenseReport => "expense_reports",
            Kind::VendorInvoice => "vendor_invoices",
        },
        1,
    );
    job.add("document_lines", doc.lines.len() as u64);
    Ok(())
}

fn validate(setup: &Setup, company: &Company, doc: &Document) -> std::result::Result<Ready, String> {
    if let Some((line, why)) = doc.lines.iter().find_map(|l| l.problem.as_ref().map(|p| (l, p))) {
        return Err(format!("line {}: {why}", line.line_num));
    }
    let accounting_date = company.accounting_date(doc.date)?;
    let rate = setup
        .rate(&doc.currency, &company.accounting_currency, doc.date)
        .ok_or_else(|| {
            format!(
                "no exchange rate from {} to {} valid on {}",
                doc.currency, company.accounting_currency, doc.date
            )
        })?;
    let currency_id = setup
        .currency_codes
        .iter()
        .find(|(_, code)| **code == doc.currency)
        .map(|(id, _)| *id)
        .ok_or_else(|| format!("the currency {} has no TransactionCurrencyId in Currency", doc.currency))?;
    let [(debit, debit_param), (credit, credit_param)] = doc.kind.accounts(company);
    let param = |a: Option<&String>, name: &str| {
        a.cloned().ok_or_else(|| {
            format!(
                "ProjParameters of {} has no {name}; set it, then post again",
                company.id
            )
        })
    };
    let sequence = |s: &Option<String>, column: &str| {
        s.clone()
            .ok_or_else(|| format!("ProjParameters of {} names no number sequence in {column}", company.id))
    };
    Ok(Ready {
        accounting_date,
        rate,
        debit: param(debit, debit_param)?,
        credit: param(credit, credit_param)?,
        voucher_seq: sequence(&company.voucher_sequence, "VoucherNumberSequenceCode")?,
        trans_seq: sequence(&company.trans_id_sequence, "TransIdNumberSequenceCode")?,
        currency_id,
    })
}

/// The integration account a cost actual's journal line is offset to, from the source document
/// line the actual names (`ExternalReferenceId`): the expense integration account for a posted
/// expense line, the procurement integration account for a posted vendor invoice line; `None`
/// for other actuals (the posting setup's credit account). `Err` when the parameter is missing.
pub(crate) fn offset_account(company: &Company, source: Option<&str>) -> std::result::Result<Option<String>, String> {
    let (account, name) = match source {
        Some("Expense") => (&company.integration.expense, "ExpenseIntegrationAccount"),
        Some("Vendor") => (&company.integration.procurement, "ProcurementIntegrationAccount"),
        _ => return Ok(None),
    };
    account.clone().map(Some).ok_or_else(|| {
        format!(
            "ProjParameters of {} has no {name}, which the actual's source document posted to; set it, then import again",
            company.id
        )
    })
}
