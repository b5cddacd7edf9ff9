//! Import from staging, invoice side. Each confirmed proforma invoice staged by the
//! project-invoice-proposals map becomes an invoice proposal numbered with its proforma invoice
//! ID. Each billed sales actual names its proforma invoice (`InvoiceId`) and becomes a line of
//! that proposal, with its project category, line property and sales tax. The lines of one
//! invoice are added together, and only once all are ready: the proposal has been made, and every
//! unbilled sales actual connected to them (`ProjCDSTransactionRelationshipImport`) is posted.
//! Until then they wait, and the job log says why, once per actual. An actual whose class the
//! rules refuse is never invoiced (said on every run). A line that cannot be added as it is
//! (another currency, no amount, no category) holds its invoice back until it is corrected.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::super::classes;
use super::super::db::{Cells, Db, DbTx, boolean, date, dec, guid, int, opt_dec, opt_guid, opt_text, text};
use super::super::joblog::{Job, logged_before};
use super::super::setup::{Company, Setup, category_type};
use super::super::staged::{STAGED_SELECT, STAGED_TYPES, Staged, lock_import, staged_of};
use super::super::tax;
use super::{Proposal, proposal_of_invoice};
use crate::store::Result;
use crate::value::ValueType;

/// A message for the job log: the record (proforma invoice or actual), the proposal, the text,
/// and whether to write it only once per record.
type Note = (Option<Uuid>, Option<String>, String, bool);

/// Makes the proposals and adds the lines that are ready, for one legal entity.
pub(in crate::accounting) async fn import_company(
    db: &Db,
    setup: &Setup,
    company: &Company,
    job: &mut Job,
) -> Result<()> {
    let mut notes = Vec::new();
    let mut tx = db.begin().await?;
    lock_import(&mut tx).await?;
    create_proposals(&mut tx, setup, company, job, &mut notes).await?;
    add_lines(&mut tx, setup, company, job, &mut notes).await?;
    tx.commit().await?;
    // Job-log lines after the commit: on SQLite no other connection writes while the
    // transaction holds the lock.
    for (record, proposal, message, once) in notes {
        if once
            && let Some(r) = record
            && logged_before(db, r, &message).await?
        {
            continue;
        }
        job.error(db, Some(&company.id), record, proposal.as_deref(), &message)
            .await?;
    }
    Ok(())
}

/// A proposal for every staged proforma invoice that has none yet.
async fn create_proposals(
    tx: &mut DbTx,
    setup: &Setup,
    company: &Company,
    job: &mut Job,
    notes: &mut Vec<Note>,
) -> Result<()> {
    use ValueType::{Date, Guid, Text};
    let rows = tx
        .fetch(
            "SELECT e.\"ProformaInvoiceId\", e.\"InvoiceProposalId\", e.\"ProjectContractId\", e.\"CustomerId\", \
             e.\"InvoiceDate\", e.\"SalesCurrency\" FROM \"ProjInvoiceProposalEntity\" e WHERE e.\"DataAreaId\" = ? \
             AND NOT EXISTS (SELECT 1 FROM \"ProjProposalJour\" j WHERE j.\"DataAreaId\" = e.\"DataAreaId\" \
             AND j.\"ProformaInvoiceId\" = e.\"ProformaInvoiceId\") ORDER BY e.\"ProformaInvoiceId\"",
            &[text(&company.id)],
            &[Guid, Text, Guid, Guid, Date, Guid],
        )
        .await?;
    for row in rows {
        let mut c = Cells::new(row);
        let Some(proforma) = c.guid() else { continue };
        let (number, contract, customer, invoice_date, currency) = (c.text(), c.guid(), c.guid(), c.date(), c.guid());
        let mut fail = |m: String| notes.push((Some(proforma), number.clone(), m, true));
        let Some(number) = number.clone() else {
            fail("the proforma invoice has no proforma invoice ID (invoicenumber); no invoice proposal is made".into());
            continue;
        };
        let Some(invoice_date) = invoice_date else {
            fail("the proforma invoice has no invoice date; no invoice proposal is made".into());
            continue;
        };
        let Some(code) = currency.and_then(|c| setup.currency_codes.get(&c).cloned()) else {
            fail(format!(
                "the proforma invoice's currency {} is not in the Currency table; no invoice proposal is made",
                currency.map(|c| c.to_string()).unwrap_or_else(|| "(none)".into())
            ));
            continue;
        };
        let taken = tx
            .fetch(
                "SELECT 1 FROM \"ProjProposalJour\" WHERE \"DataAreaId\" = ? AND \"ProposalId\" = ?",
                &[text(&company.id), text(&number)],
                &[ValueType::Int],
            )
            .await?;
        if !taken.is_empty() {
            fail(format!(
                "invoice proposal {number} already exists for another proforma invoice; give the proforma invoice a \
                 new ID"
            ));
            continue;
        }
        tx.execute(
            "INSERT INTO \"ProjProposalJour\" (\"DataAreaId\", \"ProposalId\", \"ProformaInvoiceId\", \"ProjectContractId\", \
             \"CustomerId\", \"InvoiceDate\", \"CurrencyCode\", \"Status\", \"CreatedDateTime\") \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'Created', ?)",
            &[
                text(&company.id),
                text(&number),
                guid(proforma),
                opt_guid(contract),
                opt_guid(customer),
                date(invoice_date),
                text(&code),
                super::super::db::now(),
            ],
        )
        .await?;
        tx.execute(
            "UPDATE \"ProjInvoiceProposalEntity\" SET \"IsProcessed\" = ? WHERE \"DataAreaId\" = ? AND \"ProformaInvoiceId\" = ?",
            &[boolean(true), text(&company.id), guid(proforma)],
        )
        .await?;
        job.add("invoice_proposals", 1);
    }
    Ok(())
}

/// A proposal line ready to insert.
struct NewLine {
    staged: Staged,
    category: String,
    line_property: String,
    amount: Decimal,
    tax_group: Option<String>,
    item_tax_group: Option<String>,
    sales_tax: Decimal,
}

/// Adds the billed sales actuals of each invoice to its proposal, all at once when all are ready.
async fn add_lines(
    tx: &mut DbTx,
    setup: &Setup,
    company: &Company,
    job: &mut Job,
    notes: &mut Vec<Note>,
) -> Result<()> {
    let sql = format!(
        "{STAGED_SELECT} WHERE s.\"ProjectDataAreaId\" = ? AND s.\"TransType\" = 'BilledSales' \
         AND COALESCE(s.\"TransactionClassification\", '') <> 'Tax' \
         AND NOT EXISTS (SELECT 1 FROM \"ProjProposalTrans\" t WHERE t.\"ActualId\" = s.\"ActualId\") \
         AND NOT EXISTS (SELECT 1 FROM \"ProjPostedTransTable\" p WHERE p.\"ActualId\" = s.\"ActualId\") \
         ORDER BY s.\"ActualId\""
    );
    let staged: Vec<Staged> = tx
        .fetch(&sql, &[text(&company.id)], &STAGED_TYPES)
        .await?
        .into_iter()
        .filter_map(staged_of)
        .collect();
    let mut by_invoice: BTreeMap<Uuid, Vec<Staged>> = BTreeMap::new();
    for s in staged {
        // A class the rules refuse is never invoiced: said on every run, and it does not hold
        // back the other lines of its invoice.
        let class = s.classification.as_deref().unwrap_or_default();
        if let Err(e) = classes::route(class, "BilledSales", s.billing_rule.as_deref()) {
            job.add("not_invoiced", 1);
            notes.push((Some(s.actual), None, format!("{e}; the actual is not invoiced"), false));
            continue;
        }
        match s.invoice {
            Some(invoice) => by_invoice.entry(invoice).or_default().push(s),
            None => notes.push((
                Some(s.actual),
                None,
                "the billed sales actual names no proforma invoice (msdyn_invoice); it cannot be invoiced. Set its \
                 invoice on the operational side"
                    .into(),
                true,
            )),
        }
    }
    for (invoice, actuals) in by_invoice {
        let Some(proposal) = proposal_of_invoice(tx, &company.id, invoice).await? else {
            job.add("lines_waiting", actuals.len() as u64);
            for s in &actuals {
                notes.push((
                    Some(s.actual),
                    None,
                    format!(
                        "waiting for proforma invoice {invoice}: it has not reached the accounting side (map \
                         project-invoice-proposals); the line is added when it has"
                    ),
                    true,
                ));
            }
            continue;
        };
        if proposal.status != "Created" {
            for s in &actuals {
                notes.push((
                    Some(s.actual),
                    Some(proposal.id.clone()),
                    format!(
                        "invoice proposal {} is already posted; this billed sales actual arrived after it and is not \
                         invoiced. Invoice it on a new proforma invoice",
                        proposal.id
                    ),
                    true,
                ));
            }
            continue;
        }
        let mut waiting = false;
        for s in &actuals {
            if unposted_sales(tx, s.actual).await? > 0 {
                waiting = true;
                notes.push((
                    Some(s.actual),
                    Some(proposal.id.clone()),
                    "project transaction hasn't been posted yet: the unbilled sales this actual bills are not posted; \
                     post their integration journal, and the invoice proposal gets its lines"
                        .into(),
                    true,
                ));
            }
        }
        let mut lines = Vec::new();
        let mut refused = false;
        for s in actuals.iter().cloned() {
            match prepare(setup, company, &proposal, s) {
                Ok(line) => lines.push(line),
                Err((actual, message)) => {
                    refused = true;
                    notes.push((Some(actual), Some(proposal.id.clone()), message, false));
                }
            }
        }
        if waiting || refused {
            job.add("lines_waiting", actuals.len() as u64);
            continue;
        }
        insert_lines(tx, company, &proposal, &lines).await?;
        job.add("invoice_lines", lines.len() as u64);
    }
    Ok(())
}

/// How many unbilled sales actuals connected to `actual` are staged and not yet posted.
async fn unposted_sales(tx: &mut DbTx, actual: Uuid) -> Result<i64> {
    let rows = tx
        .fetch(
            "SELECT COUNT(*) FROM \"ProjCDSTransactionRelationshipImport\" r JOIN \"ProjCDSActualsImport\" u \
             ON u.\"ActualId\" = CASE WHEN r.\"Transaction1Id\" = ? THEN r.\"Transaction2Id\" ELSE r.\"Transaction1Id\" END \
             WHERE (r.\"Transaction1Id\" = ? OR r.\"Transaction2Id\" = ?) AND u.\"TransType\" = 'UnbilledSales' \
             AND NOT EXISTS (SELECT 1 FROM \"ProjPostedTransTable\" p WHERE p.\"ActualId\" = u.\"ActualId\")",
            &[guid(actual), guid(actual), guid(actual)],
            &[ValueType::Int],
        )
        .await?;
    Ok(rows.into_iter().next().and_then(|r| Cells::new(r).int()).unwrap_or(0))
}

/// The proposal line of one billed sales actual, or why it cannot be one.
fn prepare(
    setup: &Setup,
    company: &Company,
    proposal: &Proposal,
    s: Staged,
) -> std::result::Result<NewLine, (Uuid, String)> {
    let fail = |m: String| (s.actual, m);
    let class = s.classification.clone().unwrap_or_default();
    classes::route(&class, "BilledSales", s.billing_rule.as_deref()).map_err(fail)?;
    let currency = s.currency.and_then(|c| setup.currency_codes.get(&c).cloned());
    if currency.as_deref() != Some(proposal.currency.as_str()) {
        return Err(fail(format!(
            "the actual's currency ({}) is not the invoice's ({}); correct the actual or the proforma invoice",
            currency.as_deref().unwrap_or("none"),
            proposal.currency
        )));
    }
    let amount = s
        .amount
        .ok_or_else(|| fail("the actual has no amount (Amount is empty); it cannot be invoiced".into()))?;
    let amount = setup.round(amount, &proposal.currency);
    let category = s
        .category
        .and_then(|shared| {
            company
                .categories
                .get(&(shared, category_type(&class).to_string()))
                .cloned()
        })
        .or_else(|| company.default_category.clone())
        .ok_or_else(|| {
            fail(format!(
                "no project category: the transaction category has none in legal entity {} and ProjParameters has no \
                 default",
                company.id
            ))
        })?;
    let billing = s.billing_type.clone().unwrap_or_else(|| "NotSpecified".into());
    let line_property = company.line_properties.get(&billing).cloned().ok_or_else(|| {
        fail(format!(
            "no line property for billing type {billing} in legal entity {} (ProjCDSLinePropertyMapping)",
            company.id
        ))
    })?;
    let (tax_group, item_tax_group) = company.tax_groups(
        &class,
        Some(&category),
        s.project_tax_group.clone(),
        s.contract_tax_group.clone(),
    );
    let sales_tax = company
        .tax
        .compute(
            &company.id,
            tax_group.as_deref(),
            item_tax_group.as_deref(),
            amount,
            |d| setup.round(d, &proposal.currency),
        )
        .map(|l| tax::total(&l))
        .map_err(fail)?;
    Ok(NewLine {
        staged: s,
        category,
        line_property,
        amount,
        tax_group,
        item_tax_group,
        sales_tax,
    })
}

async fn insert_lines(tx: &mut DbTx, company: &Company, proposal: &Proposal, lines: &[NewLine]) -> Result<()> {
    let next = tx
        .fetch(
            "SELECT MAX(\"LineNum\") FROM \"ProjProposalTrans\" WHERE \"DataAreaId\" = ? AND \"ProposalId\" = ?",
            &[text(&company.id), text(&proposal.id)],
            &[ValueType::Int],
        )
        .await?
        .into_iter()
        .next()
        .and_then(|r| Cells::new(r).int())
        .unwrap_or(0);
    for (i, l) in lines.iter().enumerate() {
        let s = &l.staged;
        tx.execute(
            "INSERT INTO \"ProjProposalTrans\" (\"DataAreaId\", \"ProposalId\", \"LineNum\", \"ActualId\", \"ProjectId\", \
             \"TaskId\", \"ContractLine\", \"TransactionClassification\", \"CategoryId\", \"LinePropertyId\", \"ResourceId\", \
             \"TransDate\", \"Quantity\", \"SalesPrice\", \"CurrencyCode\", \"AmountCur\", \"SalesTaxGroup\", \
             \"ItemSalesTaxGroup\", \"SalesTaxAmount\", \"Description\") \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                text(&company.id),
                text(&proposal.id),
                int(next + 1 + i as i64),
                guid(s.actual),
                opt_guid(s.project),
                opt_guid(s.task),
                opt_guid(s.contract_line),
                opt_text(s.classification.as_deref()),
                text(&l.category),
                text(&l.line_property),
                opt_guid(s.resource),
                super::super::db::opt_date(s.document_date.or(s.accounting_date)),
                opt_dec(s.quantity),
                opt_dec(s.unit_price),
                text(&proposal.currency),
                dec(l.amount),
                opt_text(l.tax_group.as_deref()),
                opt_text(l.item_tax_group.as_deref()),
                dec(l.sales_tax),
                opt_text(s.description.as_deref()),
            ],
        )
        .await?;
        tx.execute(
            "UPDATE \"ProjCDSActualsImport\" SET \"IsProcessed\" = ? WHERE \"ProjectDataAreaId\" = ? AND \"ActualId\" = ?",
            &[boolean(true), text(&company.id), guid(s.actual)],
        )
        .await?;
    }
    Ok(())
}
