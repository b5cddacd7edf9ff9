//! Approval of expenses and project vendor invoices on the operational reference store. Each
//! pending expense (`msdyn_expenses`) becomes one Expense cost actual; each pending vendor
//! invoice line (`msdyn_projectvendorinvoicelines`) one cost actual of its class (Expense or
//! Material). The actual names its source line (`msdyn_externalreferenceid`), which is how the
//! accounting side's import from staging offsets it to the integration account the document
//! posted to. A vendor invoice whose lines are all approved is `Confirmed`; the vendor invoice
//! map carries that back. One transaction per record claims it (pending → approved), so two
//! runs never create an actual twice. A record that cannot become an actual (no project, no
//! amount) stays pending and is named in the summary.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::accounting::db::{Cells, Db, DbTx, date, dec, guid, int, now, opt_dec, opt_guid, opt_text, text};
use crate::store::Result;
use crate::value::ValueType;

const PENDING: i64 = 192_350_000;
const APPROVED: i64 = 192_350_001;
const CONFIRMED: i64 = 192_350_001;
const DRAFT: i64 = 192_350_000;
const COST: i64 = 192_350_000;
const EXPENSE: i64 = 192_350_001;
const MATERIAL: i64 = 192_350_002;
const FIXED_PRICE: i64 = 192_350_001;
const QUANTITY_TIMES_PRICE: i64 = 192_350_000;

/// What one approval run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Approved {
    pub expenses: u64,
    pub vendor_invoice_lines: u64,
    pub vendor_invoices_confirmed: u64,
    /// Records left pending, each with why.
    pub problems: Vec<String>,
}

impl fmt::Display for Approved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "approved {} expense(s) and {} vendor invoice line(s) into cost actuals; {} vendor invoice(s) confirmed",
            self.expenses, self.vendor_invoice_lines, self.vendor_invoices_confirmed
        )?;
        for p in &self.problems {
            write!(f, "\nnot approved: {p}")?;
        }
        Ok(())
    }
}

/// One cost actual to create from a source line.
struct Source {
    table: &'static str,
    key_column: &'static str,
    id: Uuid,
    company: String,
    classification: i64,
    project: Option<Uuid>,
    task: Option<Uuid>,
    category: Option<Uuid>,
    resource: Option<Uuid>,
    date: Option<NaiveDate>,
    quantity: Option<Decimal>,
    price: Option<Decimal>,
    amount: Option<Decimal>,
    currency: Option<Uuid>,
    description: Option<String>,
}

/// Approves every pending expense and vendor invoice line (of legal entity `only`, or all).
pub async fn approve(db: &Db, only: Option<&str>) -> Result<Approved> {
    let mut out = Approved::default();
    for s in pending_expenses(db, only).await? {
        if create_actual(db, &s, &mut out.problems).await? {
            out.expenses += 1;
        }
    }
    for s in pending_vendor_lines(db, only).await? {
        if create_actual(db, &s, &mut out.problems).await? {
            out.vendor_invoice_lines += 1;
        }
    }
    // A drafted invoice with lines, none of them pending any more, is confirmed.
    out.vendor_invoices_confirmed = db
        .execute(
            "UPDATE msdyn_projectvendorinvoices SET msdyn_vendorinvoicestatus = ?, modifiedon = ? \
             WHERE msdyn_vendorinvoicestatus = ? AND (? IS NULL OR msdyn_company = ?) \
             AND EXISTS (SELECT 1 FROM msdyn_projectvendorinvoicelines l \
                 WHERE l.msdyn_vendorinvoice = msdyn_projectvendorinvoices.msdyn_projectvendorinvoiceid) \
             AND NOT EXISTS (SELECT 1 FROM msdyn_projectvendorinvoicelines l \
                 WHERE l.msdyn_vendorinvoice = msdyn_projectvendorinvoices.msdyn_projectvendorinvoiceid \
                 AND l.msdyn_approvalstatus = ?)",
            &[
                int(CONFIRMED),
                now(),
                int(DRAFT),
                opt_text(only),
                opt_text(only),
                int(PENDING),
            ],
        )
        .await?;
    Ok(out)
}

const SOURCE_TYPES: [ValueType; 13] = {
    use ValueType::{Date, Decimal as D, Guid as G, Int, Text as T};
    [G, T, Int, G, G, G, G, Date, D, D, D, G, T]
};

fn source_of(table: &'static str, key_column: &'static str, row: crate::store::Row) -> Option<Source> {
    let mut c = Cells::new(row);
    Some(Source {
        table,
        key_column,
        id: c.guid()?,
        company: c.text()?,
        classification: c.int().unwrap_or(EXPENSE),
        project: c.guid(),
        task: c.guid(),
        category: c.guid(),
        resource: c.guid(),
        date: c.date(),
        quantity: c.dec(),
        price: c.dec(),
        amount: c.dec(),
        currency: c.guid(),
        description: c.text(),
    })
}

async fn pending_expenses(db: &Db, only: Option<&str>) -> Result<Vec<Source>> {
    let rows = db
        .fetch(
            "SELECT msdyn_expenseid, msdyn_company, CAST(? AS BIGINT), msdyn_project, msdyn_task, \
             msdyn_transactioncategory, msdyn_bookableresource, msdyn_transactiondate, msdyn_quantity, msdyn_price, \
             msdyn_amount, transactioncurrencyid, COALESCE(msdyn_description, msdyn_name) FROM msdyn_expenses \
             WHERE msdyn_approvalstatus = ? AND (? IS NULL OR msdyn_company = ?) ORDER BY msdyn_expenseid",
            &[int(EXPENSE), int(PENDING), opt_text(only), opt_text(only)],
            &SOURCE_TYPES,
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| source_of("msdyn_expenses", "msdyn_expenseid", r))
        .collect())
}

/// Pending lines of vendor invoices that have arrived (the header first: it is what the project
/// manager confirms).
async fn pending_vendor_lines(db: &Db, only: Option<&str>) -> Result<Vec<Source>> {
    let rows = db
        .fetch(
            "SELECT l.msdyn_projectvendorinvoicelineid, l.msdyn_company, l.msdyn_transactionclassification, \
             l.msdyn_project, l.msdyn_task, l.msdyn_transactioncategory, NULL, l.msdyn_transactiondate, \
             l.msdyn_quantity, l.msdyn_price, l.msdyn_amount, l.transactioncurrencyid, l.msdyn_name \
             FROM msdyn_projectvendorinvoicelines l JOIN msdyn_projectvendorinvoices h \
             ON h.msdyn_projectvendorinvoiceid = l.msdyn_vendorinvoice \
             WHERE l.msdyn_approvalstatus = ? AND (? IS NULL OR l.msdyn_company = ?) \
             ORDER BY l.msdyn_vendorinvoice, l.msdyn_projectvendorinvoicelineid",
            &[int(PENDING), opt_text(only), opt_text(only)],
            &SOURCE_TYPES,
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| source_of("msdyn_projectvendorinvoicelines", "msdyn_projectvendorinvoicelineid", r))
        .collect())
}

/// Creates the cost actual of `s` and marks `s` approved, in one transaction; false (with the
/// reason in `problems`) when it cannot, or when another run approved it first.
async fn create_actual(db: &Db, s: &Source, problems: &mut Vec<String>) -> Result<bool> {
    let what = format!("{} {} ({})", s.table, s.id, s.company);
    let (Some(project), Some(amount), Some(day)) = (s.project, s.amount, s.date) else {
        problems.push(format!("{what}: a cost actual needs a project, an amount and a date"));
        return Ok(false);
    };
    if s.classification != EXPENSE && s.classification != MATERIAL {
        problems.push(format!(
            "{what}: class {} is not Expense (192350001) or Material (192350002)",
            s.classification
        ));
        return Ok(false);
    }
    let actual = Uuid::new_v4();
    let mut tx = db.begin().await?;
    let claimed = tx
        .execute(
            &format!(
                "UPDATE {} SET msdyn_approvalstatus = ?, msdyn_actual = ?, modifiedon = ? \
                 WHERE {} = ? AND msdyn_approvalstatus = ?",
                s.table, s.key_column
            ),
            &[int(APPROVED), guid(actual), now(), guid(s.id), int(PENDING)],
        )
        .await?;
    if claimed != 1 {
        return Ok(false);
    }
    insert_actual(&mut tx, s, actual, project, amount, day).await?;
    tx.commit().await?;
    Ok(true)
}

async fn insert_actual(
    tx: &mut DbTx,
    s: &Source,
    actual: Uuid,
    project: Uuid,
    amount: Decimal,
    day: NaiveDate,
) -> Result<()> {
    let method = match (s.quantity, s.price) {
        (Some(q), Some(p)) if q * p == amount => QUANTITY_TIMES_PRICE,
        _ => FIXED_PRICE,
    };
    tx.execute(
        "INSERT INTO msdyn_actuals (msdyn_actualid, msdyn_company, msdyn_description, msdyn_documentdate, \
         msdyn_accountingdate, msdyn_quantity, msdyn_price, msdyn_amount, msdyn_amountmethod, transactioncurrencyid, \
         msdyn_transactionclassification, msdyn_transactiontypecode, msdyn_project, msdyn_task, \
         msdyn_transactioncategory, msdyn_bookableresource, msdyn_externalreferenceid) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            guid(actual),
            text(&s.company),
            opt_text(s.description.as_deref()),
            date(day),
            date(day),
            opt_dec(s.quantity),
            opt_dec(s.price),
            dec(amount),
            int(method),
            opt_guid(s.currency),
            int(s.classification),
            int(COST),
            guid(project),
            opt_guid(s.task),
            opt_guid(s.category),
            opt_guid(s.resource),
            text(&s.id.to_string()),
        ],
    )
    .await?;
    Ok(())
}
