//! Posting invoice proposals: each proposal with lines is validated as a whole (invoice date in
//! an open period, exchange rate, posting setup of billed sales, number sequences, and each
//! line's sales tax recomputed from its tax groups as they are now), then posted in one
//! transaction that claims it (`Status` `Created` → `Posted`), so two runs never post it twice
//! and a crash leaves it unposted. Posting writes the customer invoice (`ProjInvoiceJour`), one
//! subledger row per line, the general ledger (receivable against revenue per line, receivable
//! against the tax account per tax code: one voucher that sums to zero in both currencies), the
//! posted sales tax (`TaxTrans`), the posted attributes onto each actual's staging row, and the
//! invoice number, date, status and tax onto `ProjInvoiceProposalEntity` for the map to write
//! back. A proposal with an error stays `Created`, and the job log names it and the reason.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::super::db::{Cells, Db, DbTx, date, dec, guid, now, opt_guid, opt_text, text};
use super::super::joblog::{Job, JobSummary};
use super::super::ledger::{self, Posting};
use super::super::numbers;
use super::super::setup::{Company, Setup};
use super::super::tax::{self, TaxLine};
use super::{Proposal, proposals};
use crate::store::Result;
use crate::value::ValueType;

/// Which invoice proposals to post.
pub type Proposals = super::super::post::Selection;

/// One proposal line, as posting reads it.
#[derive(Debug, Clone)]
struct Line {
    line_num: i64,
    actual: Uuid,
    project: Option<Uuid>,
    task: Option<Uuid>,
    classification: Option<String>,
    category: Option<String>,
    line_property: Option<String>,
    resource: Option<Uuid>,
    trans_date: Option<chrono::NaiveDate>,
    quantity: Option<Decimal>,
    amount: Decimal,
    tax_group: Option<String>,
    item_tax_group: Option<String>,
    description: Option<String>,
}

/// Posts the selected proposals; one job-log run (`Post`) for all of them.
pub async fn post(db: &Db, which: &Proposals) -> Result<JobSummary> {
    let mut job = Job::start(db, "Post", which.company()).await?;
    let result = run(db, which, &mut job).await;
    job.close(db, result).await
}

async fn run(db: &Db, which: &Proposals, job: &mut Job) -> Result<()> {
    let setup = Setup::load(db).await?;
    let mut tx = db.begin().await?;
    let mut selected = Vec::new();
    match which {
        Proposals::All { company } => {
            for p in proposals(&mut tx, "\"Status\" = 'Created'", &[]).await? {
                if company.as_ref().is_none_or(|c| *c == p.company) {
                    selected.push(p);
                }
            }
        }
        Proposals::Named(ids) => {
            for id in ids {
                let found = proposals(&mut tx, "\"ProposalId\" = ?", &[text(id)]).await?;
                if found.is_empty() {
                    job.add("unknown_proposals", 1);
                }
                selected.extend(found);
            }
        }
    }
    tx.commit().await?;
    if let Proposals::Named(ids) = which {
        for id in ids {
            if !selected.iter().any(|p| p.id == *id) {
                job.error(db, None, None, Some(id), "there is no invoice proposal with this id")
                    .await?;
            }
        }
    }
    for proposal in selected {
        if proposal.status != "Created" {
            let area = Some(proposal.company.as_str());
            job.error(
                db,
                area,
                Some(proposal.proforma),
                Some(&proposal.id),
                "the invoice proposal is already posted",
            )
            .await?;
            continue;
        }
        let company = setup.company(&proposal.company)?;
        post_proposal(db, &setup, company, &proposal, job).await?;
    }
    Ok(())
}

async fn lines_of(db: &Db, company: &str, proposal: &str) -> Result<Vec<Line>> {
    use ValueType::{Date, Decimal as D, Guid as G, Int, Text as T};
    Ok(db
        .fetch(
            "SELECT \"LineNum\", \"ActualId\", \"ProjectId\", \"TaskId\", \"TransactionClassification\", \"CategoryId\", \
             \"LinePropertyId\", \"ResourceId\", \"TransDate\", \"Quantity\", \"AmountCur\", \"SalesTaxGroup\", \
             \"ItemSalesTaxGroup\", \"Description\" FROM \"ProjProposalTrans\" WHERE \"DataAreaId\" = ? AND \"ProposalId\" = ? \
             ORDER BY \"LineNum\"",
            &[text(company), text(proposal)],
            &[Int, G, G, G, T, T, T, G, Date, D, D, T, T, T],
        )
        .await?
        .into_iter()
        .filter_map(|row| {
            let mut c = Cells::new(row);
            Some(Line {
                line_num: c.int()?,
                actual: c.guid()?,
                project: c.guid(),
                task: c.guid(),
                classification: c.text(),
                category: c.text(),
                line_property: c.text(),
                resource: c.guid(),
                trans_date: c.date(),
                quantity: c.dec(),
                amount: c.dec()?,
                tax_group: c.text(),
                item_tax_group: c.text(),
                description: c.text(),
            })
        })
        .collect())
}

/// What validation settles for a proposal: its ledger date, rate and sequences, and each line's
/// accounts and tax.
struct Ready {
    accounting_date: chrono::NaiveDate,
    rate: Decimal,
    invoice_seq: String,
    voucher_seq: String,
    trans_seq: String,
    lines: Vec<(Line, (String, String), Vec<TaxLine>)>,
}

fn validate(setup: &Setup, company: &Company, p: &Proposal, lines: Vec<Line>) -> std::result::Result<Ready, String> {
    let accounting_date = company.accounting_date(p.invoice_date)?;
    let rate = setup
        .rate(&p.currency, &company.accounting_currency, p.invoice_date)
        .ok_or_else(|| {
            format!(
                "no exchange rate from {} to {} valid on {}",
                p.currency, company.accounting_currency, p.invoice_date
            )
        })?;
    let sequence = |s: &Option<String>, what: &str, column: &str| {
        s.clone().ok_or_else(|| {
            format!(
                "ProjParameters of {} names no {what} number sequence ({column})",
                company.id
            )
        })
    };
    let invoice_seq = sequence(
        &company.invoice_sequence,
        "customer invoice",
        "InvoiceNumberSequenceCode",
    )?;
    let voucher_seq = sequence(&company.voucher_sequence, "voucher", "VoucherNumberSequenceCode")?;
    let trans_seq = sequence(
        &company.trans_id_sequence,
        "transaction-id",
        "TransIdNumberSequenceCode",
    )?;
    let mut ready = Vec::new();
    for l in lines {
        let class = l.classification.clone().unwrap_or_default();
        let accounts = company.accounts("BilledSales", &class).cloned().ok_or_else(|| {
            format!(
                "line {}: no ledger posting setup for transaction type BilledSales and classification {class}",
                l.line_num
            )
        })?;
        let taxes = company
            .tax
            .compute(
                &company.id,
                l.tax_group.as_deref(),
                l.item_tax_group.as_deref(),
                l.amount,
                |d| setup.round(d, &p.currency),
            )
            .map_err(|e| format!("line {}: {e}", l.line_num))?;
        ready.push((l, accounts, taxes));
    }
    Ok(Ready {
        accounting_date,
        rate,
        invoice_seq,
        voucher_seq,
        trans_seq,
        lines: ready,
    })
}

async fn post_proposal(db: &Db, setup: &Setup, company: &Company, p: &Proposal, job: &mut Job) -> Result<()> {
    let lines = lines_of(db, &company.id, &p.id).await?;
    if lines.is_empty() {
        job.add("proposals_without_lines", 1);
        return Ok(());
    }
    let ready = match validate(setup, company, p, lines) {
        Ok(r) => r,
        Err(e) => {
            job.add("proposals_with_errors", 1);
            return job
                .error(db, Some(&company.id), Some(p.proforma), Some(&p.id), &e)
                .await;
        }
    };
    let mut tx = db.begin().await?;
    let claimed = tx
        .execute(
            "UPDATE \"ProjProposalJour\" SET \"Status\" = 'Posted', \"PostedDateTime\" = ? WHERE \"DataAreaId\" = ? \
             AND \"ProposalId\" = ? AND \"Status\" = 'Created'",
            &[now(), text(&company.id), text(&p.id)],
        )
        .await?;
    if claimed == 0 {
        // Another run posted it meanwhile.
        return Ok(());
    }
    let number = numbers::take(&mut tx, &company.id, &ready.invoice_seq, 1)
        .await?
        .remove(0);
    let voucher = numbers::take(&mut tx, &company.id, &ready.voucher_seq, 1)
        .await?
        .remove(0);
    let trans_ids = numbers::take(&mut tx, &company.id, &ready.trans_seq, ready.lines.len()).await?;
    let inv = Invoice {
        company,
        proposal: p,
        ready: &ready,
        number: &number,
        voucher: &voucher,
    };
    let (mut sales, mut sum_tax, mut total_mst) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for ((line, (receivable, revenue), taxes), trans_id) in ready.lines.iter().zip(trans_ids) {
        let mst = setup.round(line.amount * ready.rate, &company.accounting_currency);
        let line_tax = tax::total(taxes);
        post_line(&mut tx, &inv, &trans_id, line, mst, line_tax).await?;
        let posting = |posting_type, text| Posting {
            company: &company.id,
            voucher: &voucher,
            accounting_date: ready.accounting_date,
            dimensions: None,
            posting_type,
            currency: &p.currency,
            text,
            project: line.project,
            actual: Some(line.actual),
        };
        let entry = posting("ProjectBilledSales", line.description.as_deref());
        ledger::balanced(&mut tx, &entry, receivable, revenue, line.amount, mst).await?;
        total_mst += mst;
        for t in taxes {
            let tax_mst = setup.round(t.amount * ready.rate, &company.accounting_currency);
            let entry = posting("SalesTax", Some(t.code.as_str()));
            ledger::balanced(&mut tx, &entry, receivable, &t.account, t.amount, tax_mst).await?;
            record_tax(&mut tx, &inv, line, t, tax_mst).await?;
            total_mst += tax_mst;
        }
        sales += line.amount;
        sum_tax += line_tax;
    }
    finish_invoice(&mut tx, &inv, sales, sum_tax, total_mst).await?;
    tx.commit().await?;
    job.add("invoices_posted", 1);
    job.add("invoice_lines_posted", ready.lines.len() as u64);
    tracing::info!(company = %company.id, proposal = %p.id, invoice = %number, "invoice proposal posted");
    Ok(())
}

/// The invoice being posted: its legal entity, proposal, what validation settled, its number
/// and its voucher.
struct Invoice<'a> {
    company: &'a Company,
    proposal: &'a Proposal,
    ready: &'a Ready,
    number: &'a str,
    voucher: &'a str,
}

/// The subledger row of one line, its tax on the proposal line, and the posted attributes on
/// its actual's staging row.
async fn post_line(
    tx: &mut DbTx,
    inv: &Invoice<'_>,
    trans_id: &str,
    l: &Line,
    mst: Decimal,
    line_tax: Decimal,
) -> Result<()> {
    let (company, p, ready, invoice, voucher) = (inv.company, inv.proposal, inv.ready, inv.number, inv.voucher);
    tx.execute(
        "INSERT INTO \"ProjPostedTransTable\" (\"DataAreaId\", \"TransId\", \"ActualId\", \"JournalId\", \"ProjectId\", \
         \"TaskId\", \"TransactionClassification\", \"TransType\", \"CategoryId\", \"LinePropertyId\", \"ResourceId\", \
         \"Voucher\", \"TransDate\", \"AccountingDate\", \"Quantity\", \"CurrencyCode\", \"ExchangeRate\", \"AmountCur\", \
         \"AmountMST\", \"SalesTaxAmount\", \"PostedDateTime\") \
         VALUES (?, ?, ?, ?, ?, ?, ?, 'BilledSales', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            text(&company.id),
            text(trans_id),
            guid(l.actual),
            text(invoice),
            opt_guid(l.project),
            opt_guid(l.task),
            opt_text(l.classification.as_deref()),
            opt_text(l.category.as_deref()),
            opt_text(l.line_property.as_deref()),
            opt_guid(l.resource),
            text(voucher),
            super::super::db::opt_date(l.trans_date.or(Some(p.invoice_date))),
            date(ready.accounting_date),
            super::super::db::opt_dec(l.quantity),
            text(&p.currency),
            dec(ready.rate),
            dec(l.amount),
            dec(mst),
            dec(line_tax),
            now(),
        ],
    )
    .await?;
    tx.execute(
        "UPDATE \"ProjProposalTrans\" SET \"SalesTaxAmount\" = ? WHERE \"DataAreaId\" = ? AND \"ProposalId\" = ? \
         AND \"LineNum\" = ?",
        &[
            dec(line_tax),
            text(&company.id),
            text(&p.id),
            super::super::db::int(l.line_num),
        ],
    )
    .await?;
    let posted = ledger::Posted {
        accounting_amount: mst,
        rate: ready.rate,
        voucher,
        sales_tax: line_tax,
    };
    ledger::write_back(tx, &company.id, l.actual, &posted).await
}

/// The posted sales tax of one code on one line.
async fn record_tax(tx: &mut DbTx, inv: &Invoice<'_>, l: &Line, t: &TaxLine, tax_mst: Decimal) -> Result<()> {
    let (company, ready, voucher, invoice, currency) = (
        inv.company,
        inv.ready,
        inv.voucher,
        inv.number,
        inv.proposal.currency.as_str(),
    );
    tx.execute(
        "INSERT INTO \"TaxTrans\" (\"DataAreaId\", \"Voucher\", \"TransDate\", \"TaxCode\", \"TaxGroup\", \"TaxItemGroup\", \
         \"CurrencyCode\", \"SourceBaseAmountCur\", \"SourceTaxAmountCur\", \"TaxAmountMST\", \"ActualId\", \"ProjInvoiceId\") \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            text(&company.id),
            text(voucher),
            date(ready.accounting_date),
            text(&t.code),
            opt_text(l.tax_group.as_deref()),
            opt_text(l.item_tax_group.as_deref()),
            text(currency),
            dec(l.amount),
            dec(t.amount),
            dec(tax_mst),
            guid(l.actual),
            text(invoice),
        ],
    )
    .await?;
    Ok(())
}

/// The customer invoice, its number on the proposal, and what the map writes back.
async fn finish_invoice(
    tx: &mut DbTx,
    inv: &Invoice<'_>,
    sales: Decimal,
    sum_tax: Decimal,
    total_mst: Decimal,
) -> Result<()> {
    let (company, p, ready, invoice, voucher) = (inv.company, inv.proposal, inv.ready, inv.number, inv.voucher);
    tx.execute(
        "INSERT INTO \"ProjInvoiceJour\" (\"DataAreaId\", \"ProjInvoiceId\", \"ProposalId\", \"ProformaInvoiceId\", \
         \"CustomerId\", \"InvoiceDate\", \"CurrencyCode\", \"ExchangeRate\", \"SalesAmount\", \"SumTax\", \"InvoiceAmount\", \
         \"InvoiceAmountMST\", \"Voucher\", \"PostedDateTime\") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            text(&company.id),
            text(invoice),
            text(&p.id),
            guid(p.proforma),
            opt_guid(p.customer),
            date(p.invoice_date),
            text(&p.currency),
            dec(ready.rate),
            dec(sales),
            dec(sum_tax),
            dec(sales + sum_tax),
            dec(total_mst),
            text(voucher),
            now(),
        ],
    )
    .await?;
    tx.execute(
        "UPDATE \"ProjProposalJour\" SET \"ProjInvoiceId\" = ? WHERE \"DataAreaId\" = ? AND \"ProposalId\" = ?",
        &[text(invoice), text(&company.id), text(&p.id)],
    )
    .await?;
    tx.execute(
        "UPDATE \"ProjInvoiceProposalEntity\" SET \"Invoice\" = ?, \"InvoicePostedDate\" = ?, \"InvoiceStatus\" = 'Posted', \
         \"SumTax\" = ? WHERE \"DataAreaId\" = ? AND \"ProformaInvoiceId\" = ?",
        &[text(invoice), date(p.invoice_date), dec(sum_tax), text(&company.id), guid(p.proforma)],
    )
    .await?;
    Ok(())
}
