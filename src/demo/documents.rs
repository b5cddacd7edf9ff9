//! The accounting side's own documents in the demo: expense categories per legal entity (one
//! per Expense transaction category), one draft expense report per project (a trip: travel and
//! a hotel or meals), and one pending vendor invoice per project (hardware bought for it). The
//! scheduled document posting posts them, the maps export them, the operational approval makes
//! them cost actuals, and the integration journal clears their integration accounts.

use chrono::Days;

use super::master::{CATEGORIES, Class, World};
use super::{COMPANIES, CURRENCIES, Rng, SeedBatch, Table, cents, guid, int, money, quantity, text};
use crate::value::Value;

/// The integration accounts and payables of every demo legal entity (ProjParameters).
pub(super) const ACCOUNTS: [(&str, &str); 4] = [
    ("ExpenseIntegrationAccount", "200510"),
    ("ExpensePayableAccount", "210100"),
    ("ProcurementIntegrationAccount", "140310"),
    ("VendorPayableAccount", "200100"),
];
/// Expense types of the demo's expense categories, by transaction category code.
fn expense_type(code: &str) -> &'static str {
    match code {
        "TRAVEL" => "Transport",
        "HOTEL" => "Hotel",
        _ => "Meals",
    }
}
const VENDORS: [&str; 2] = ["V-1001", "V-2001"];

/// The expense categories of the demo: every Expense transaction category, in every company.
fn expense_categories() -> impl Iterator<Item = (usize, usize)> {
    let expense: Vec<usize> = (0..CATEGORIES.len())
        .filter(|&k| matches!(CATEGORIES[k].3, Class::Expense))
        .collect();
    (0..COMPANIES.len()).flat_map(move |c| expense.clone().into_iter().map(move |k| (c, k)))
}

/// The GUID of the expense category on transaction category `category` in company `c` (the
/// operational record's, assigned on the accounting side).
pub(super) fn expense_category_id(seed: u64, c: usize, category: usize) -> uuid::Uuid {
    guid(seed, "expensecategory", (c * CATEGORIES.len() + category) as u64)
}

pub(super) fn tables(world: &World) -> Vec<SeedBatch> {
    let mut categories = Table::new("ProjExpenseCategoriesExport");
    for (c, k) in expense_categories() {
        let (code, name, description, _) = CATEGORIES[k];
        categories.push(vec![
            ("DataAreaId", text(COMPANIES[c])),
            ("CostType", text(code)),
            ("ExpenseCategoryId", Value::Guid(expense_category_id(world.seed, c, k))),
            ("CostTxt", text(format!("{name}: {description}"))),
            ("TransactionCategoryId", Value::Guid(world.categories[k])),
            ("ExpType", text(expense_type(code))),
            ("IsInactive", Value::Bool(false)),
        ]);
    }
    let mut expenses = Table::new("ProjExpenseExportEntity");
    let mut invoices = Table::new("VendInvoiceExportsV2");
    let mut invoice_lines = Table::new("ProjVendInvoiceLinesExportEntity");
    let expense_codes: Vec<&str> = CATEGORIES
        .iter()
        .filter(|c| matches!(c.3, Class::Expense))
        .map(|c| c.0)
        .collect();
    let hardware = CATEGORIES
        .iter()
        .position(|c| matches!(c.3, Class::Material))
        .expect("a material category");
    for (p, project) in world.projects.iter().enumerate() {
        let c = project.company;
        let company = COMPANIES[c];
        let currency = CURRENCIES[world.companies[c].currency];
        let mut rng = Rng::for_record(world.seed, "expensereport", p as u64);
        // A trip two weeks in (in an open period): the travel and one night's hotel or meals.
        let day = (project.start + Days::new(14 + rng.below(20))).max(super::month_start(1) + Days::new(rng.below(10)));
        let worker = world
            .resources
            .iter()
            .filter(|r| world.units[r.unit].company == c)
            .nth(rng.index(super::master::RESOURCES_PER_COMPANY))
            .map(|r| r.id);
        let report = format!("{company}-EXP-{:05}", p + 1);
        for (i, code) in [expense_codes[0], expense_codes[1 + rng.index(expense_codes.len() - 1)]]
            .into_iter()
            .enumerate()
        {
            let amount = cents(rng.range(8_000, 65_000));
            expenses.push(vec![
                ("DataAreaId", text(company)),
                (
                    "ExpenseLineId",
                    Value::Guid(guid(world.seed, "expenseline", (p * 2 + i) as u64)),
                ),
                ("ExpenseNumber", text(report.clone())),
                ("Worker", worker.map_or(Value::Null, Value::Guid)),
                ("ProjectId", Value::Guid(project.id)),
                ("TaskId", Value::Null),
                ("CostType", text(code)),
                ("TransDate", Value::Date(day)),
                ("Quantity", quantity(1.into())),
                ("Price", money(amount)),
                ("Amount", money(amount)),
                ("CurrencyCode", text(currency)),
                (
                    "Description",
                    text(format!("{} for {}", code.to_ascii_lowercase(), report)),
                ),
                ("Status", text("Draft")),
            ]);
        }
        // Hardware for the project, invoiced by the legal entity's vendor a month in.
        let mut rng = Rng::for_record(world.seed, "vendorinvoice", p as u64);
        let invoice = guid(world.seed, "vendorinvoice", p as u64);
        let date =
            (project.start + Days::new(30 + rng.below(20))).max(super::month_start(1) + Days::new(rng.below(20)));
        invoices.push(vec![
            ("DataAreaId", text(company)),
            ("VendorInvoiceId", Value::Guid(invoice)),
            ("VendorInvoiceNum", text(format!("INV-{}-{:04}", VENDORS[c], p + 1))),
            ("InvoiceAccount", text(VENDORS[c])),
            ("PurchId", Value::Null),
            ("DocumentDate", Value::Date(date)),
            ("TransDate", Value::Date(date)),
            ("CurrencyCode", text(currency)),
            ("Description", text(format!("Hardware for project {}", p + 1))),
            ("PostingStatus", text("Pending")),
        ]);
        let product = &world.products[rng.index(world.products.len())];
        let units = rng.range(1, 4);
        invoice_lines.push(vec![
            ("DataAreaId", text(company)),
            (
                "VendInvoiceLineId",
                Value::Guid(guid(world.seed, "vendorinvoiceline", p as u64)),
            ),
            ("VendorInvoiceId", Value::Guid(invoice)),
            ("LineNum", int(1)),
            ("ProjId", Value::Guid(project.id)),
            ("ProjTaskId", Value::Null),
            ("CategoryType", text("Item")),
            ("TransactionCategoryId", Value::Guid(world.categories[hardware])),
            ("ItemId", text(product.name)),
            ("Description", text(product.name)),
            ("Quantity", quantity(units.into())),
            ("PurchPrice", money(cents(product.cost))),
            ("LineAmount", money(cents(product.cost * units))),
        ]);
    }
    [categories, expenses, invoices, invoice_lines]
        .into_iter()
        .map(Table::finish)
        .collect()
}

/// Row counts of `tables`, computed from the constants and the projects.
pub(super) fn counts(world: &World) -> Vec<(&'static str, u64)> {
    let projects = world.projects.len() as u64;
    vec![
        ("ProjExpenseCategoriesExport", expense_categories().count() as u64),
        ("ProjExpenseExportEntity", projects * 2),
        ("VendInvoiceExportsV2", projects),
        ("ProjVendInvoiceLinesExportEntity", projects),
    ]
}
