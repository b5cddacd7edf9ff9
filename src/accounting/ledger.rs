//! Writing to the general ledger and onto the staging rows, shared by journal posting and
//! invoice posting: balanced pairs of `GeneralJournalAccountEntry` rows (debit positive, credit
//! negative, in transaction and accounting currency, so every voucher sums to zero in both),
//! and the four posted attributes written onto an actual's staging row, from where the actuals
//! map writes them back to `msdyn_actuals`.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::db::{DbTx, boolean, date, dec, guid, now, opt_guid, opt_text, text};
use crate::store::Result;

/// What the entries of one posted amount share.
pub(super) struct Posting<'a> {
    pub company: &'a str,
    pub voucher: &'a str,
    pub accounting_date: NaiveDate,
    pub dimensions: Option<&'a str>,
    /// e.g. `ProjectCost`, `ProjectBilledSales`, `SalesTax`.
    pub posting_type: &'a str,
    pub currency: &'a str,
    pub text: Option<&'a str>,
    pub project: Option<Uuid>,
    pub actual: Option<Uuid>,
}

/// Debits `debit` and credits `credit` with the same amount, in both currencies.
pub(super) async fn balanced(
    tx: &mut DbTx,
    p: &Posting<'_>,
    debit: &str,
    credit: &str,
    cur: Decimal,
    mst: Decimal,
) -> Result<()> {
    for (account, sign, is_credit) in [(debit, Decimal::ONE, false), (credit, Decimal::NEGATIVE_ONE, true)] {
        tx.execute(
            "INSERT INTO \"GeneralJournalAccountEntry\" (\"DataAreaId\", \"Voucher\", \"AccountingDate\", \"MainAccount\", \
             \"LedgerDimensionDisplayValue\", \"PostingType\", \"TransactionCurrencyCode\", \"TransactionCurrencyAmount\", \
             \"AccountingCurrencyAmount\", \"IsCredit\", \"Text\", \"ProjectId\", \"ActualId\", \"CreatedDateTime\") \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                text(p.company),
                text(p.voucher),
                date(p.accounting_date),
                text(account),
                opt_text(p.dimensions),
                text(p.posting_type),
                text(p.currency),
                dec(cur * sign),
                dec(mst * sign),
                boolean(is_credit),
                opt_text(p.text),
                opt_guid(p.project),
                opt_guid(p.actual),
                now(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// The posted attributes of one actual, written onto its staging row.
pub(super) struct Posted<'a> {
    pub accounting_amount: Decimal,
    pub rate: Decimal,
    pub voucher: &'a str,
    pub sales_tax: Decimal,
}

pub(super) async fn write_back(tx: &mut DbTx, company: &str, actual: Uuid, p: &Posted<'_>) -> Result<()> {
    tx.execute(
        "UPDATE \"ProjCDSActualsImport\" SET \"AccountingAmount\" = ?, \"ExchangeRate\" = ?, \"VoucherNumber\" = ?, \
         \"SalesTaxAmount\" = ? WHERE \"ProjectDataAreaId\" = ? AND \"ActualId\" = ?",
        &[
            dec(p.accounting_amount),
            dec(p.rate),
            text(p.voucher),
            dec(p.sales_tax),
            text(company),
            guid(actual),
        ],
    )
    .await?;
    Ok(())
}
