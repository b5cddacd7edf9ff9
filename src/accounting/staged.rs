//! Staged actuals as the imports read them (`ProjCDSActualsImport` with what they take from
//! the synced project, contract and contract line), and the import lock that serializes the
//! journal and invoice imports.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::db::{Cells, DbTx, int};
use crate::store::Result;
use crate::value::ValueType;

/// A staging row, as the imports read it, with what it takes from the synced entities: the
/// billing sales tax groups of its project and contract, and its contract line's billing rule.
#[derive(Debug, Clone)]
pub(super) struct Staged {
    pub actual: Uuid,
    pub project: Option<Uuid>,
    pub task: Option<Uuid>,
    pub contract: Option<Uuid>,
    pub contract_line: Option<Uuid>,
    pub classification: Option<String>,
    pub trans_type: Option<String>,
    pub category: Option<Uuid>,
    pub resource: Option<Uuid>,
    pub role: Option<Uuid>,
    pub billing_type: Option<String>,
    pub quantity: Option<Decimal>,
    pub unit_price: Option<Decimal>,
    pub amount: Option<Decimal>,
    pub currency: Option<Uuid>,
    pub document_date: Option<NaiveDate>,
    pub accounting_date: Option<NaiveDate>,
    pub description: Option<String>,
    pub external_description: Option<String>,
    pub invoice: Option<Uuid>,
    pub project_tax_group: Option<String>,
    pub contract_tax_group: Option<String>,
    pub billing_rule: Option<String>,
    /// The kind of posted source document the actual names (`ExternalReferenceId`): `Expense`
    /// (an expense report line) or `Vendor` (a vendor invoice line); see `payables`.
    pub source: Option<String>,
}

/// The staging rows `s` with their project `p`, contract `c` and contract line `cl`.
pub(super) const STAGED_SELECT: &str = "SELECT s.\"ActualId\", s.\"ProjectId\", s.\"TaskId\", s.\"ContractId\", s.\"ContractLine\", \
    s.\"TransactionClassification\", s.\"TransType\", s.\"TransactionCategory\", s.\"ResourceId\", s.\"ResourceCategory\", \
    s.\"BillingType\", s.\"Quantity\", s.\"UnitPrice\", s.\"Amount\", s.\"TransactionCurrencyId\", s.\"DocumentDate\", \
    s.\"AccountingDate\", s.\"Description\", s.\"ExternalDescription\", s.\"InvoiceId\", p.\"SalesTaxGroup\", \
    c.\"SalesTaxGroup\", cl.\"BillingRuleType\", CASE WHEN s.\"ExternalReferenceId\" IS NULL THEN NULL \
    WHEN EXISTS (SELECT 1 FROM \"ProjExpenseExportEntity\" x WHERE x.\"DataAreaId\" = s.\"ProjectDataAreaId\" \
        AND CAST(x.\"ExpenseLineId\" AS TEXT) = s.\"ExternalReferenceId\" AND x.\"Status\" = 'Posted') THEN 'Expense' \
    WHEN EXISTS (SELECT 1 FROM \"ProjVendInvoiceLinesExportEntity\" v WHERE v.\"DataAreaId\" = s.\"ProjectDataAreaId\" \
        AND CAST(v.\"VendInvoiceLineId\" AS TEXT) = s.\"ExternalReferenceId\" AND v.\"ProjTransId\" IS NOT NULL) THEN 'Vendor' \
    END FROM \"ProjCDSActualsImport\" s \
    LEFT JOIN \"ProjCDSProjectEntity\" p ON p.\"DataAreaId\" = s.\"ProjectDataAreaId\" AND p.\"ProjectId\" = s.\"ProjectId\" \
    LEFT JOIN \"ProjCDSProjectContractEntity\" c ON c.\"DataAreaId\" = s.\"ProjectDataAreaId\" AND c.\"ContractId\" = s.\"ContractId\" \
    LEFT JOIN \"ProjCDSContractLineImportEntity\" cl ON cl.\"DataAreaId\" = s.\"ProjectDataAreaId\" \
        AND cl.\"ContractLine\" = s.\"ContractLine\"";

pub(super) const STAGED_TYPES: [ValueType; 24] = {
    use ValueType::{Date, Decimal as D, Guid as G, Text as T};
    [
        G, G, G, G, G, T, T, G, G, G, T, D, D, D, G, Date, Date, T, T, G, T, T, T, T,
    ]
};

pub(super) fn staged_of(row: crate::store::Row) -> Option<Staged> {
    let mut c = Cells::new(row);
    Some(Staged {
        actual: c.guid()?,
        project: c.guid(),
        task: c.guid(),
        contract: c.guid(),
        contract_line: c.guid(),
        classification: c.text(),
        trans_type: c.text(),
        category: c.guid(),
        resource: c.guid(),
        role: c.guid(),
        billing_type: c.text(),
        quantity: c.dec(),
        unit_price: c.dec(),
        amount: c.dec(),
        currency: c.guid(),
        document_date: c.date(),
        accounting_date: c.date(),
        description: c.text(),
        external_description: c.text(),
        invoice: c.guid(),
        project_tax_group: c.text(),
        contract_tax_group: c.text(),
        billing_rule: c.text(),
        source: c.text(),
    })
}

/// Serializes import batches (of every legal entity: an actual is looked up in all of them)
/// until the transaction ends. SQLite's write transactions are serialized already.
pub(super) async fn lock_import(tx: &mut DbTx) -> Result<()> {
    if tx.dialect() == super::db::Dialect::Postgres {
        tx.fetch(
            "SELECT pg_advisory_xact_lock(?) IS NULL",
            &[int(IMPORT_LOCK)],
            &[ValueType::Bool],
        )
        .await?;
    }
    Ok(())
}

/// The key of the PostgreSQL advisory lock the import takes: "dsimport" in ASCII.
const IMPORT_LOCK: i64 = 0x6473_696d_706f_7274;
