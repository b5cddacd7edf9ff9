//! Expense reports to post: the draft lines of `ProjExpenseExportEntity`, grouped by report,
//! each with its expense category; and marking a report posted.

use std::collections::BTreeMap;

use super::super::db::{Cells, Db, DbTx, guid, now, opt_text, text};
use super::{DocLine, Document, Kind, Ready};
use crate::store::Result;
use crate::value::ValueType;

/// Every expense report with draft lines (of legal entity `only`, or all), in report order.
pub(super) async fn drafts(db: &Db, only: Option<&str>) -> Result<Vec<Document>> {
    use ValueType::{Bool, Date, Decimal as D, Guid as G, Text as T};
    let rows = db
        .fetch(
            "SELECT e.\"DataAreaId\", e.\"ExpenseNumber\", e.\"ExpenseLineId\", e.\"ProjectId\", e.\"CostType\", \
             e.\"TransDate\", e.\"Amount\", e.\"CurrencyCode\", e.\"Description\", c.\"ExpenseCategoryId\", \
             c.\"TransactionCategoryId\", c.\"IsInactive\" \
             FROM \"ProjExpenseExportEntity\" e LEFT JOIN \"ProjExpenseCategoriesExport\" c \
             ON c.\"DataAreaId\" = e.\"DataAreaId\" AND c.\"CostType\" = e.\"CostType\" \
             WHERE e.\"Status\" = 'Draft' AND (? IS NULL OR e.\"DataAreaId\" = ?) \
             ORDER BY e.\"DataAreaId\", e.\"ExpenseNumber\", e.\"TransDate\", e.\"ExpenseLineId\"",
            &[opt_text(only), opt_text(only)],
            &[T, T, G, G, T, Date, D, T, T, G, G, Bool],
        )
        .await?;
    let mut reports: BTreeMap<(String, String), Document> = BTreeMap::new();
    for row in rows {
        let mut c = Cells::new(row);
        let (company, number, id) = (c.text().unwrap_or_default(), c.text().unwrap_or_default(), c.guid());
        let (project, cost_type, date, amount) = (c.guid(), c.text().unwrap_or_default(), c.date(), c.dec());
        let (currency, description) = (c.text().unwrap_or_default(), c.text());
        let (category, transaction_category, inactive) = (c.guid(), c.guid(), c.boolean());
        let (Some(id), Some(date), Some(amount)) = (id, date, amount) else {
            continue;
        };
        let problem = if project.is_none() {
            Some("no project: the reference store posts project expenses only".to_string())
        } else if category.is_none() {
            Some(format!(
                "the expense category {cost_type} does not exist in {company}; add it to ProjExpenseCategoriesExport"
            ))
        } else if inactive {
            Some(format!("the expense category {cost_type} is inactive in {company}"))
        } else if transaction_category.is_none() {
            Some(format!(
                "the expense category {cost_type} names no transaction category"
            ))
        } else {
            None
        };
        let doc = reports
            .entry((company.clone(), number.clone()))
            .or_insert_with(|| Document {
                kind: Kind::ExpenseReport,
                company,
                number,
                record: id,
                currency: currency.clone(),
                date,
                lines: Vec::new(),
            });
        let problem = problem.or_else(|| {
            (currency != doc.currency)
                .then(|| format!("the currency {currency} differs from the report's {}", doc.currency))
        });
        doc.date = doc.date.max(date);
        doc.lines.push(DocLine {
            id,
            line_num: doc.lines.len() as i64 + 1,
            project,
            amount,
            description,
            problem,
        });
    }
    Ok(reports.into_values().collect())
}

/// Marks the report's lines posted with the voucher and what the export map carries; false when
/// a line is no longer a draft (another run posted it), and then the caller rolls back.
pub(super) async fn mark_posted(tx: &mut DbTx, doc: &Document, voucher: &str, ready: &Ready) -> Result<bool> {
    for line in &doc.lines {
        let n = tx
            .execute(
                "UPDATE \"ProjExpenseExportEntity\" SET \"Status\" = 'Posted', \"Voucher\" = ?, \"PostedDateTime\" = ?, \
                 \"TransactionCurrencyId\" = ?, \
                 \"ExpenseCategoryId\" = (SELECT c.\"ExpenseCategoryId\" FROM \"ProjExpenseCategoriesExport\" c \
                    WHERE c.\"DataAreaId\" = \"ProjExpenseExportEntity\".\"DataAreaId\" \
                    AND c.\"CostType\" = \"ProjExpenseExportEntity\".\"CostType\"), \
                 \"TransactionCategoryId\" = (SELECT c.\"TransactionCategoryId\" FROM \"ProjExpenseCategoriesExport\" c \
                    WHERE c.\"DataAreaId\" = \"ProjExpenseExportEntity\".\"DataAreaId\" \
                    AND c.\"CostType\" = \"ProjExpenseExportEntity\".\"CostType\") \
                 WHERE \"DataAreaId\" = ? AND \"ExpenseLineId\" = ? AND \"Status\" = 'Draft'",
                &[text(voucher), now(), guid(ready.currency_id), text(&doc.company), guid(line.id)],
            )
            .await?;
        if n != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}
