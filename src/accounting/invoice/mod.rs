//! Project invoices on the accounting side. A confirmed proforma invoice arrives through the
//! project-invoice-proposals map (`ProjInvoiceProposalEntity`); import from staging makes it an
//! invoice proposal (`ProjProposalJour`, numbered with the proforma invoice ID) and adds one
//! proposal line (`ProjProposalTrans`) per billed sales actual of that invoice, once all of them
//! are ready (`import`). Posting a proposal (`post`) makes the customer invoice
//! (`ProjInvoiceJour`): the project subledger, the general ledger (receivable, revenue, sales
//! tax) and the posted sales tax (`TaxTrans`), the posted attributes onto each actual's staging
//! row, and the invoice number, date, status and tax onto the proposal entity, from where the
//! map writes them back to the proforma invoice.

pub mod import;
pub mod post;

use uuid::Uuid;

use super::db::{Cells, DbTx, text};
use crate::store::Result;
use crate::value::ValueType;

/// An invoice proposal header.
#[derive(Debug, Clone)]
pub(super) struct Proposal {
    pub company: String,
    pub id: String,
    pub proforma: Uuid,
    pub customer: Option<Uuid>,
    pub invoice_date: chrono::NaiveDate,
    pub currency: String,
    pub status: String,
}

const PROPOSAL_SELECT: &str = "SELECT \"DataAreaId\", \"ProposalId\", \"ProformaInvoiceId\", \"CustomerId\", \"InvoiceDate\", \
    \"CurrencyCode\", \"Status\" FROM \"ProjProposalJour\"";

fn proposal_of(row: crate::store::Row) -> Option<Proposal> {
    let mut c = Cells::new(row);
    Some(Proposal {
        company: c.text()?,
        id: c.text()?,
        proforma: c.guid()?,
        customer: c.guid(),
        invoice_date: c.date()?,
        currency: c.text()?,
        status: c.text()?,
    })
}

/// The proposals matching `condition` (a WHERE clause over `ProjProposalJour` with its args).
pub(super) async fn proposals(
    tx: &mut DbTx,
    condition: &str,
    args: &[crate::store::sql::conn::Arg],
) -> Result<Vec<Proposal>> {
    use ValueType::{Date, Guid, Text};
    Ok(tx
        .fetch(
            &format!("{PROPOSAL_SELECT} WHERE {condition} ORDER BY \"DataAreaId\", \"ProposalId\""),
            args,
            &[Text, Text, Guid, Guid, Date, Text, Text],
        )
        .await?
        .into_iter()
        .filter_map(proposal_of)
        .collect())
}

/// The proposal of a proforma invoice in a legal entity, if it was made.
pub(super) async fn proposal_of_invoice(tx: &mut DbTx, company: &str, proforma: Uuid) -> Result<Option<Proposal>> {
    Ok(proposals(
        tx,
        "\"DataAreaId\" = ? AND \"ProformaInvoiceId\" = ?",
        &[text(company), super::db::guid(proforma)],
    )
    .await?
    .into_iter()
    .next())
}
