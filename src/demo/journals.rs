//! The operational side's price lists and entry journals in the demo: per legal entity a cost
//! and a sales price list (every role's hourly cost and bill rate, the expense categories at
//! cost, every product at cost and with its markup), and one draft entry journal — a day of
//! time, a trip and some hardware recorded on a time-and-material project, cost and unbilled
//! sales, with the prices left blank for the price lists to fill in when it is confirmed.

use chrono::Days;

use super::master::{CATEGORIES, Class, World, markup};
use super::{COMPANIES, Table, active, cents, first_month, guid, int, money, quantity, text};
use crate::value::Value;

const COST: i64 = 192_350_000;
const SALES: i64 = 192_350_001;
/// Expense categories' list price (cents): travel, hotel, meals.
fn expense_price(code: &str) -> i64 {
    match code {
        "TRAVEL" => 42_000,
        "HOTEL" => 15_500,
        _ => 3_800,
    }
}
/// The journal's lines: class, transaction category index or product, quantity.
const LINES: usize = 6;

/// The price list tables and the journals, parents first.
pub(super) fn tables(world: &World) -> Vec<Table> {
    let mut lists = Table::new("pricelevels");
    let mut role_prices = Table::new("msdyn_resourcecategorypricelevels");
    let mut category_prices = Table::new("msdyn_transactioncategorypricelevels");
    let mut product_prices = Table::new("productpricelevels");
    let mut journals = Table::new("msdyn_journals");
    let mut lines = Table::new("msdyn_journallines");
    let g = |kind: &str, i: usize| guid(world.seed, kind, i as u64);
    let expense: Vec<usize> = (0..CATEGORIES.len())
        .filter(|&k| matches!(CATEGORIES[k].3, Class::Expense))
        .collect();
    for (c, &company) in COMPANIES.iter().enumerate() {
        for (s, context) in [COST, SALES].into_iter().enumerate() {
            let list = g("pricelevel", c * 2 + s);
            let mut cells = vec![
                ("pricelevelid", Value::Guid(list)),
                (
                    "name",
                    text(format!(
                        "{company} {} {}",
                        if s == 0 { "cost" } else { "sales" },
                        first_month().format("%Y")
                    )),
                ),
                ("msdyn_company", text(company)),
                ("msdyn_context", int(context)),
                ("transactioncurrencyid", Value::Guid(world.currency_of(c))),
                ("begindate", Value::Date(first_month())),
                ("enddate", Value::Null),
            ];
            cells.extend(active());
            lists.push(cells);
            for (r, role) in world.roles.iter().enumerate() {
                let price = if s == 0 { role.cost[c] } else { role.sales[c] };
                role_prices.push(vec![
                    (
                        "msdyn_resourcecategorypricelevelid",
                        Value::Guid(g("rolepricelevel", (c * 2 + s) * 16 + r)),
                    ),
                    ("msdyn_pricelist", Value::Guid(list)),
                    ("msdyn_resourcecategory", Value::Guid(role.id)),
                    ("msdyn_unit", Value::Guid(world.uom_hour)),
                    ("msdyn_price", money(cents(price))),
                ]);
            }
            for &k in &expense {
                category_prices.push(vec![
                    (
                        "msdyn_transactioncategorypricelevelid",
                        Value::Guid(g("categorypricelevel", (c * 2 + s) * 16 + k)),
                    ),
                    ("msdyn_pricelist", Value::Guid(list)),
                    ("msdyn_transactioncategory", Value::Guid(world.categories[k])),
                    ("msdyn_unit", Value::Null),
                    // Expenses are billed at cost.
                    ("msdyn_price", money(cents(expense_price(CATEGORIES[k].0)))),
                ]);
            }
            for (p, product) in world.products.iter().enumerate() {
                let price = if s == 0 { product.cost } else { markup(product.cost) };
                product_prices.push(vec![
                    (
                        "productpricelevelid",
                        Value::Guid(g("productpricelevel", (c * 2 + s) * 16 + p)),
                    ),
                    ("pricelevelid", Value::Guid(list)),
                    ("productid", Value::Guid(product.id)),
                    ("uomid", Value::Guid(world.uom_each)),
                    ("amount", money(cents(price))),
                ]);
            }
        }
        // The journal: on the legal entity's first project without a fixed-price line.
        let Some(project) = world
            .projects
            .iter()
            .find(|p| p.company == c && world.contracts[p.contract].fp_line.is_none())
        else {
            continue;
        };
        let journal = g("journal", c);
        let mut cells = vec![
            ("msdyn_journalid", Value::Guid(journal)),
            (
                "msdyn_description",
                text(format!("{company}: time, travel and hardware recorded by journal")),
            ),
            ("msdyn_company", text(company)),
            ("msdyn_journaltype", int(192_350_000)),
            ("msdyn_journalstatus", int(192_350_000)),
        ];
        cells.extend(active());
        journals.push(cells);
        let day = super::month_start(2) + Days::new(4);
        let role = world.roles.first().expect("a role");
        let resource = world
            .resources
            .iter()
            .find(|r| world.units[r.unit].company == c)
            .expect("a resource");
        let travel = expense[0];
        let hardware = CATEGORIES
            .iter()
            .position(|k| matches!(k.3, Class::Material))
            .expect("a material category");
        let product = &world.products[0];
        for n in 0..LINES {
            let (class, sales) = ([192_350_000, 192_350_001, 192_350_002][n / 2], n % 2 == 1);
            let (category, role_id, res, product_id, unit, qty, what) = match n / 2 {
                0 => (
                    Some(world.categories[role.category]),
                    Some(role.id),
                    Some(resource.id),
                    None,
                    Some(world.uom_hour),
                    8,
                    role.name.to_string(),
                ),
                1 => (
                    Some(world.categories[travel]),
                    None,
                    Some(resource.id),
                    None,
                    None,
                    1,
                    "Travel to the customer".to_string(),
                ),
                _ => (
                    Some(world.categories[hardware]),
                    None,
                    None,
                    Some(product.id),
                    Some(world.uom_each),
                    2,
                    product.name.to_string(),
                ),
            };
            let mut cells = vec![
                ("msdyn_journallineid", Value::Guid(g("journalline", c * LINES + n))),
                ("msdyn_journal", Value::Guid(journal)),
                ("msdyn_linenumber", int(n as i64 + 1)),
                ("msdyn_transactionclassification", int(class)),
                (
                    "msdyn_transactiontypecode",
                    int(if sales { 192_350_005 } else { 192_350_000 }),
                ),
                ("msdyn_project", Value::Guid(project.id)),
                ("msdyn_transactioncategory", category.map_or(Value::Null, Value::Guid)),
                ("msdyn_resourcecategory", role_id.map_or(Value::Null, Value::Guid)),
                ("msdyn_bookableresource", res.map_or(Value::Null, Value::Guid)),
                ("msdyn_product", product_id.map_or(Value::Null, Value::Guid)),
                (
                    "msdyn_description",
                    text(format!("{what} ({})", if sales { "sales" } else { "cost" })),
                ),
                ("msdyn_billingtype", int(super::master::BILLING_TYPE_CHARGEABLE)),
                ("msdyn_documentdate", Value::Date(day)),
                ("msdyn_amountmethod", int(192_350_000)),
                ("msdyn_unit", unit.map_or(Value::Null, Value::Guid)),
                ("msdyn_quantity", quantity(qty.into())),
                ("transactioncurrencyid", Value::Guid(world.currency_of(c))),
            ];
            cells.extend(active());
            lines.push(cells);
        }
    }
    vec![lists, role_prices, category_prices, product_prices, journals, lines]
}

/// Row counts of `tables`, from the constants (`roles`, `expense categories`, `products` and
/// whether each legal entity has a project without a fixed-price line come from the world).
pub(super) fn counts(world: &World) -> Vec<(&'static str, u64)> {
    let lists = COMPANIES.len() as u64 * 2;
    let expense = CATEGORIES.iter().filter(|k| matches!(k.3, Class::Expense)).count() as u64;
    let journals = (0..COMPANIES.len())
        .filter(|&c| {
            world
                .projects
                .iter()
                .any(|p| p.company == c && world.contracts[p.contract].fp_line.is_none())
        })
        .count() as u64;
    vec![
        ("pricelevels", lists),
        ("msdyn_resourcecategorypricelevels", lists * world.roles.len() as u64),
        ("msdyn_transactioncategorypricelevels", lists * expense),
        ("productpricelevels", lists * world.products.len() as u64),
        ("msdyn_journals", journals),
        ("msdyn_journallines", journals * LINES as u64),
    ]
}
