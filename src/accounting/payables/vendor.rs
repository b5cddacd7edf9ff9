//! Vendor invoices to post: the pending headers of `VendInvoiceExportsV2` with their lines; and
//! marking one posted, each project line with its project transaction id.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::super::db::{Cells, Db, DbTx, guid, now, opt_text, text};
use super::super::numbers;
use super::{DocLine, Document, Kind, Ready};
use crate::store::Result;
use crate::value::ValueType;

/// Every pending vendor invoice (of legal entity `only`, or all), with its lines.
pub(super) async fn pending(db: &Db, only: Option<&str>) -> Result<Vec<Document>> {
    use ValueType::{Date, Decimal as D, Guid as G, Int, Text as T};
    let rows = db
        .fetch(
            "SELECT h.\"DataAreaId\", h.\"VendorInvoiceId\", h.\"VendorInvoiceNum\", h.\"TransDate\", h.\"CurrencyCode\", \
             l.\"VendInvoiceLineId\", l.\"LineNum\", l.\"ProjId\", l.\"LineAmount\", l.\"Description\", \
             l.\"TransactionCategoryId\", l.\"CategoryType\" \
             FROM \"VendInvoiceExportsV2\" h LEFT JOIN \"ProjVendInvoiceLinesExportEntity\" l \
             ON l.\"DataAreaId\" = h.\"DataAreaId\" AND l.\"VendorInvoiceId\" = h.\"VendorInvoiceId\" \
             WHERE h.\"PostingStatus\" = 'Pending' AND (? IS NULL OR h.\"DataAreaId\" = ?) \
             ORDER BY h.\"DataAreaId\", h.\"TransDate\", h.\"VendorInvoiceNum\", l.\"LineNum\"",
            &[opt_text(only), opt_text(only)],
            &[T, G, T, Date, T, G, Int, G, D, T, G, T],
        )
        .await?;
    let mut invoices: BTreeMap<(String, Uuid), Document> = BTreeMap::new();
    for row in rows {
        let mut c = Cells::new(row);
        let (company, id, number, date, currency) =
            (c.text().unwrap_or_default(), c.guid(), c.text(), c.date(), c.text());
        let (Some(id), Some(date)) = (id, date) else { continue };
        let doc = invoices.entry((company.clone(), id)).or_insert_with(|| Document {
            kind: Kind::VendorInvoice,
            company,
            number: number.unwrap_or_default(),
            record: id,
            currency: currency.unwrap_or_default(),
            date,
            lines: Vec::new(),
        });
        let (line, line_num, project, amount, description) = (c.guid(), c.int(), c.guid(), c.dec(), c.text());
        let (category, category_type) = (c.guid(), c.text());
        let (Some(line), Some(line_num), Some(amount)) = (line, line_num, amount) else {
            continue;
        };
        let problem = if project.is_none() {
            Some("no project: the reference store posts project lines only".to_string())
        } else if category.is_none() || category_type.is_none() {
            Some("no transaction category and category type (Expense or Item)".to_string())
        } else {
            None
        };
        doc.lines.push(DocLine {
            id: line,
            line_num,
            project,
            amount,
            description,
            problem,
        });
    }
    // An invoice without lines is nothing to post yet; it stays pending, and is named.
    for doc in invoices.values_mut().filter(|d| d.lines.is_empty()) {
        doc.lines.push(DocLine {
            id: doc.record,
            line_num: 0,
            project: None,
            amount: Default::default(),
            description: None,
            problem: Some("the invoice has no lines".into()),
        });
    }
    Ok(invoices.into_values().collect())
}

/// Marks the invoice posted (`Draft` for the project manager) and gives each line a project
/// transaction id; false when it is no longer pending (another run posted it).
pub(super) async fn mark_posted(tx: &mut DbTx, doc: &Document, voucher: &str, ready: &Ready) -> Result<bool> {
    let n = tx
        .execute(
            "UPDATE \"VendInvoiceExportsV2\" SET \"PostingStatus\" = 'Posted', \"ProjVendInvoiceStatus\" = 'Draft', \
             \"Voucher\" = ?, \"PostedDateTime\" = ?, \"TransactionCurrencyId\" = ? \
             WHERE \"DataAreaId\" = ? AND \"VendorInvoiceId\" = ? AND \"PostingStatus\" = 'Pending'",
            &[
                text(voucher),
                now(),
                guid(ready.currency_id),
                text(&doc.company),
                guid(doc.record),
            ],
        )
        .await?;
    if n != 1 {
        return Ok(false);
    }
    let ids = numbers::take(tx, &doc.company, &ready.trans_seq, doc.lines.len()).await?;
    for (line, trans_id) in doc.lines.iter().zip(ids) {
        tx.execute(
            "UPDATE \"ProjVendInvoiceLinesExportEntity\" SET \"ProjTransId\" = ?, \"TransDate\" = ?, \
             \"TransactionCurrencyId\" = ? WHERE \"DataAreaId\" = ? AND \"VendInvoiceLineId\" = ?",
            &[
                text(&trans_id),
                super::super::db::date(doc.date),
                guid(ready.currency_id),
                text(&doc.company),
                guid(line.id),
            ],
        )
        .await?;
    }
    Ok(true)
}
