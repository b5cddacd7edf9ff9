//! Expense and item forecasts, the rows: what an expense or material estimate line
//! (`ProjCDSEstimateExpenseImport`, `ProjForecastSalesImport`) and an expense or item forecast
//! (`ProjForecastCost`, `ForecastSales`) hold, and the SQL columns, types and arguments to read
//! and write them.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::accounting::db::{Cells, opt_date, opt_dec, opt_guid, opt_text};
use crate::store::Row;
use crate::store::sql::conn::Arg;
use crate::value::ValueType;

/// Expense or material estimates: where they are staged and what they become.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineKind {
    pub(super) what: &'static str,
    pub(super) staging: &'static str,
    pub(super) forecast: &'static str,
    /// `ProjCategory.TransactionType` of the project category.
    pub(super) category_type: &'static str,
    pub(super) counter: &'static str,
    /// Staging rows and forecasts carry a product (material).
    product: bool,
    /// The forecast has a `SharedCategoryId` column.
    pub(super) shared_category: bool,
    /// The forecast's date columns.
    from: &'static str,
    to: &'static str,
}

pub(super) const EXPENSE: LineKind = LineKind {
    what: "expense estimate",
    staging: "ProjCDSEstimateExpenseImport",
    forecast: "ProjForecastCost",
    category_type: "Expense",
    counter: "expense_forecasts",
    product: false,
    shared_category: true,
    from: "SchedFromDate",
    to: "SchedToDate",
};

pub(super) const ITEM: LineKind = LineKind {
    what: "material estimate",
    staging: "ProjForecastSalesImport",
    forecast: "ForecastSales",
    category_type: "Item",
    counter: "item_forecasts",
    product: true,
    shared_category: false,
    from: "StartDate",
    to: "EndDate",
};

/// A cost estimate line or a sales estimate line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineSide {
    Cost,
    Sales,
}

/// One staged estimate line.
#[derive(Debug, Clone, Default)]
pub(super) struct Line {
    pub(super) id: Uuid,
    pub(super) project: Option<Uuid>,
    pub(super) task: Option<Uuid>,
    pub(super) product: Option<Uuid>,
    pub(super) category: Option<Uuid>,
    pub(super) trans_type: Option<String>,
    pub(super) start: Option<NaiveDate>,
    pub(super) end: Option<NaiveDate>,
    pub(super) quantity: Option<Decimal>,
    pub(super) price: Option<Decimal>,
    pub(super) amount: Option<Decimal>,
    pub(super) currency: Option<Uuid>,
    pub(super) description: Option<String>,
    pub(super) processed: bool,
    /// Expense estimates: the expense category of another legal entity the line names
    /// (`DEMF/HOTEL`), which a project's estimate cannot use.
    pub(super) foreign_category: Option<String>,
}

/// What pairs a cost line with its sales line: the same estimate has the same project, task,
/// transaction category, product and period.
pub(super) type PairKey = (
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

impl Line {
    pub(super) fn side(&self) -> Option<LineSide> {
        match self.trans_type.as_deref() {
            Some("Cost") => Some(LineSide::Cost),
            Some("UnbilledSales") => Some(LineSide::Sales),
            _ => None,
        }
    }

    pub(super) fn key(&self) -> PairKey {
        (
            self.project,
            self.task,
            self.category,
            self.product,
            self.start,
            self.end,
        )
    }
}

pub(super) fn staged_lines_sql(kind: LineKind) -> String {
    // An expense estimate's expense category must be one of its project's legal entity.
    let foreign = match kind.product {
        true => String::new(),
        false => ", (SELECT c.\"DataAreaId\" || '/' || c.\"CostType\" FROM \"ProjExpenseCategoriesExport\" c \
             WHERE c.\"ExpenseCategoryId\" = s.\"ExpenseCategoryId\" AND c.\"DataAreaId\" <> s.\"ProjectDataAreaId\")"
            .to_string(),
    };
    format!(
        "SELECT \"EstimateLineId\", \"ProjectId\", \"TaskId\", {}\"TransactionCategory\", \"TransType\", \
         \"StartDate\", \"EndDate\", \"Quantity\", \"UnitPrice\", \"Amount\", \"TransactionCurrencyId\", \
         \"Description\", \"IsProcessed\"{foreign} FROM \"{}\" s WHERE \"ProjectDataAreaId\" = ?",
        if kind.product { "\"ProductId\", " } else { "" },
        kind.staging
    )
}

pub(super) fn staged_line_types(kind: LineKind) -> Vec<ValueType> {
    use ValueType::{Bool, Date, Decimal as D, Guid as G, Text as T};
    let mut types = vec![G, G, G];
    if kind.product {
        types.push(G);
    }
    types.extend([G, T, Date, Date, D, D, D, G, T, Bool]);
    if !kind.product {
        types.push(T);
    }
    types
}

pub(super) fn staged_line(kind: LineKind, row: Row) -> Option<Line> {
    let mut c = Cells::new(row);
    Some(Line {
        id: c.guid()?,
        project: c.guid(),
        task: c.guid(),
        product: if kind.product { c.guid() } else { None },
        category: c.guid(),
        trans_type: c.text(),
        start: c.date(),
        end: c.date(),
        quantity: c.dec(),
        price: c.dec(),
        amount: c.dec(),
        currency: c.guid(),
        description: c.text(),
        processed: c.boolean(),
        foreign_category: if kind.product { None } else { c.text() },
    })
}

/// What an expense or item forecast holds from its estimate lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct MergedValues {
    pub(super) cost_line: Option<Uuid>,
    pub(super) sales_line: Option<Uuid>,
    pub(super) project: Option<Uuid>,
    pub(super) task: Option<Uuid>,
    pub(super) product: Option<Uuid>,
    pub(super) category_id: Option<String>,
    pub(super) shared_category: Option<Uuid>,
    pub(super) from: Option<NaiveDate>,
    pub(super) to: Option<NaiveDate>,
    pub(super) quantity: Option<Decimal>,
    pub(super) cost_price: Option<Decimal>,
    pub(super) cost_amount: Option<Decimal>,
    pub(super) sales_price: Option<Decimal>,
    pub(super) sales_amount: Option<Decimal>,
    pub(super) currency: Option<String>,
    pub(super) description: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct MergedForecast {
    pub(super) trans_id: String,
    pub(super) values: MergedValues,
}

/// The forecast columns a run owns, in the order of `merged_args`.
pub(super) fn merged_columns(kind: LineKind) -> Vec<&'static str> {
    let mut cols = vec!["CostEstimateLineId", "SalesEstimateLineId", "ProjectId", "TaskId"];
    if kind.product {
        cols.push("ProductId");
    }
    cols.push("CategoryId");
    if kind.shared_category {
        cols.push("SharedCategoryId");
    }
    cols.extend([
        kind.from,
        kind.to,
        "Quantity",
        "CostPrice",
        "CostAmount",
        "SalesPrice",
        "SalesAmount",
        "CurrencyCode",
        "Description",
    ]);
    cols
}

pub(super) fn merged_types(kind: LineKind) -> Vec<ValueType> {
    use ValueType::{Date, Decimal as D, Guid as G, Text as T};
    let mut types = vec![G, G, G, G];
    if kind.product {
        types.push(G);
    }
    types.push(T);
    if kind.shared_category {
        types.push(G);
    }
    types.extend([Date, Date, D, D, D, D, D, T, T]);
    types
}

pub(super) fn merged_args(kind: LineKind, v: &MergedValues) -> Vec<Arg> {
    let mut args = vec![
        opt_guid(v.cost_line),
        opt_guid(v.sales_line),
        opt_guid(v.project),
        opt_guid(v.task),
    ];
    if kind.product {
        args.push(opt_guid(v.product));
    }
    args.push(opt_text(v.category_id.as_deref()));
    if kind.shared_category {
        args.push(opt_guid(v.shared_category));
    }
    args.extend([
        opt_date(v.from),
        opt_date(v.to),
        opt_dec(v.quantity),
        opt_dec(v.cost_price),
        opt_dec(v.cost_amount),
        opt_dec(v.sales_price),
        opt_dec(v.sales_amount),
        opt_text(v.currency.as_deref()),
        opt_text(v.description.as_deref()),
    ]);
    args
}

pub(super) fn merged_forecast(kind: LineKind, row: Row) -> Option<MergedForecast> {
    let mut c = Cells::new(row);
    let trans_id = c.text()?;
    Some(MergedForecast {
        trans_id,
        values: MergedValues {
            cost_line: c.guid(),
            sales_line: c.guid(),
            project: c.guid(),
            task: c.guid(),
            product: if kind.product { c.guid() } else { None },
            category_id: c.text(),
            shared_category: if kind.shared_category { c.guid() } else { None },
            from: c.date(),
            to: c.date(),
            quantity: c.dec(),
            cost_price: c.dec(),
            cost_amount: c.dec(),
            sales_price: c.dec(),
            sales_amount: c.dec(),
            currency: c.text(),
            description: c.text(),
        },
    })
}
