//! The operational master tables of the demo world, as rows: currencies, companies, units,
//! customers, roles, categories, contracts with their lines, funding sources and milestones,
//! projects, task trees, hour estimates and expense and material estimates (and, from
//! `journals`, the price lists and entry journals).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::super::{
    COMPANIES, CURRENCIES, Cells, Rng, SeedBatch, Table, active, cents, exchange_rate, fit, guid, int, money, opt_guid,
    quantity, rate, text,
};
use super::*;
use crate::value::Value;

impl World {
    /// The operational master tables, parents before children.
    pub fn master_tables(&self) -> Vec<SeedBatch> {
        let mut tables = vec![
            self.currencies(),
            self.company_table(),
            self.unit_table(),
            self.account_table(),
            self.role_table(),
            self.category_table(),
        ];
        tables.extend(self.contract_tables());
        tables.push(self.task_table());
        tables.push(self.assignment_table());
        tables.push(self.estimate_table());
        tables.extend(super::super::journals::tables(self));
        tables.into_iter().map(Table::finish).collect()
    }

    fn currencies(&self) -> Table {
        let mut t = Table::new("transactioncurrencies");
        for (i, &iso) in CURRENCIES.iter().enumerate() {
            let mut cells: Cells = vec![
                ("transactioncurrencyid", Value::Guid(self.currency_ids[i])),
                ("isocurrencycode", text(iso)),
                ("currencyname", text(CURRENCY_NAMES[i].0)),
                ("currencysymbol", text(CURRENCY_NAMES[i].1)),
                ("currencyprecision", int(2)),
                ("exchangerate", rate(exchange_rate(0, i, 0))),
            ];
            cells.extend(active());
            t.push(cells);
        }
        t
    }

    fn company_table(&self) -> Table {
        let mut t = Table::new("cdm_companies");
        for (c, company) in self.companies.iter().enumerate() {
            let mut cells: Cells = vec![
                ("cdm_companyid", Value::Guid(company.id)),
                ("cdm_companycode", text(company.code)),
                ("cdm_name", text(COMPANY_NAMES[c])),
            ];
            cells.extend(active());
            t.push(cells);
        }
        t
    }

    fn unit_table(&self) -> Table {
        let mut t = Table::new("msdyn_organizationalunits");
        for (u, unit) in self.units.iter().enumerate() {
            let mut cells: Cells = vec![
                ("msdyn_organizationalunitid", Value::Guid(unit.id)),
                ("msdyn_name", text(UNIT_NAMES[unit.company][u % UNITS_PER_COMPANY])),
                ("msdyn_company", text(COMPANIES[unit.company])),
                ("transactioncurrencyid", Value::Guid(self.currency_of(unit.company))),
            ];
            cells.extend(active());
            t.push(cells);
        }
        t
    }

    fn account_table(&self) -> Table {
        let mut t = Table::new("accounts");
        for (a, &id) in self.accounts.iter().enumerate() {
            let c = a / ACCOUNTS_PER_COMPANY;
            let mut cells: Cells = vec![
                ("accountid", Value::Guid(id)),
                ("name", text(self.customer_name(a))),
                (
                    "accountnumber",
                    text(format!("{}-C{:04}", COMPANIES[c], a % ACCOUNTS_PER_COMPANY + 1)),
                ),
                ("msdyn_company", text(COMPANIES[c])),
                ("transactioncurrencyid", Value::Guid(self.currency_of(c))),
            ];
            cells.extend(active());
            t.push(cells);
        }
        t
    }

    fn role_table(&self) -> Table {
        let mut t = Table::new("bookableresourcecategories");
        for (r, role) in self.roles.iter().enumerate() {
            let mut cells: Cells = vec![
                ("bookableresourcecategoryid", Value::Guid(role.id)),
                ("name", text(role.name)),
                ("description", text(ROLES[r].1)),
            ];
            cells.extend(active());
            t.push(cells);
        }
        t
    }

    fn category_table(&self) -> Table {
        let mut t = Table::new("msdyn_transactioncategories");
        for (i, &id) in self.categories.iter().enumerate() {
            let mut cells: Cells = vec![
                ("msdyn_transactioncategoryid", Value::Guid(id)),
                ("msdyn_name", text(CATEGORIES[i].1)),
                ("msdyn_description", text(CATEGORIES[i].2)),
            ];
            cells.extend(active());
            t.push(cells);
        }
        t
    }

    /// Sales orders, funding sources, projects, contract lines and milestones.
    fn contract_tables(&self) -> Vec<Table> {
        let seed = self.seed;
        let mut orders = Table::new("salesorders");
        let mut funding = Table::new("msdyn_projectcontractsplitbillingrules");
        let mut projects = Table::new("msdyn_projects");
        let mut lines = Table::new("salesorderdetails");
        let mut milestones = Table::new("msdyn_contractlinescheduleofvalues");
        for (i, contract) in self.contracts.iter().enumerate() {
            let c = contract.company;
            let code = COMPANIES[c];
            let currency = Value::Guid(self.currency_of(c));
            let project = &self.projects[i];
            let mut cells: Cells = vec![
                ("salesorderid", Value::Guid(contract.id)),
                ("msdyn_company", text(code)),
                (
                    "name",
                    text(format!(
                        "{}: {}",
                        self.customer_name(contract.customer),
                        ENGAGEMENTS[contract.local]
                    )),
                ),
                ("ordernumber", text(format!("PC-{code}-{:04}", contract.local + 1))),
                ("msdyn_ordertype", int(ORDER_WORK_BASED)),
                ("customerid", Value::Guid(self.accounts[contract.customer])),
                (
                    "msdyn_contractorganizationalunitid",
                    Value::Guid(self.units[contract.unit].id),
                ),
                ("transactioncurrencyid", currency.clone()),
                ("totalamount", money(contract.tm_amount + contract.fp_amount)),
                ("requestdeliveryby", Value::Date(project.finish)),
            ];
            cells.extend(active());
            orders.push(cells);

            let shares: &[(usize, i64)] = match contract.second_customer {
                Some(second) => &[(contract.customer, 60), (second, 40)],
                None => &[(contract.customer, 100)],
            };
            for (j, &(customer, share)) in shares.iter().enumerate() {
                let mut cells: Cells = vec![
                    (
                        "msdyn_projectcontractsplitbillingruleid",
                        Value::Guid(guid(seed, "fundingsource", (2 * i + j) as u64)),
                    ),
                    ("msdyn_projectcontract", Value::Guid(contract.id)),
                    ("msdyn_company", text(code)),
                    ("msdyn_name", text(self.customer_name(customer))),
                    ("msdyn_customer", Value::Guid(self.accounts[customer])),
                    ("msdyn_allocation", Value::Decimal(fit(Decimal::from(share), 2))),
                ];
                cells.extend(active());
                funding.push(cells);
            }

            let mut cells: Cells = vec![
                ("msdyn_projectid", Value::Guid(project.id)),
                ("msdyn_company", text(code)),
                ("msdyn_subject", text(self.project_name(i))),
                (
                    "msdyn_description",
                    text(format!(
                        "Delivery project of contract PC-{code}-{:04}",
                        contract.local + 1
                    )),
                ),
                ("msdyn_customer", Value::Guid(self.accounts[contract.customer])),
                (
                    "msdyn_contractorganizationalunitid",
                    Value::Guid(self.units[contract.unit].id),
                ),
                ("msdyn_scheduledstart", Value::Date(project.start)),
                ("msdyn_finish", Value::Date(project.finish)),
                ("transactioncurrencyid", currency.clone()),
            ];
            cells.extend(active());
            projects.push(cells);

            let engagement = ENGAGEMENTS[contract.local];
            let mut line = |id: Uuid, name: String, method: i64, all: bool, amount: Decimal| {
                lines.push(vec![
                    ("salesorderdetailid", Value::Guid(id)),
                    ("salesorderid", Value::Guid(contract.id)),
                    ("msdyn_company", text(code)),
                    ("productdescription", text(name)),
                    ("msdyn_project", Value::Guid(project.id)),
                    ("msdyn_billingmethod", int(method)),
                    ("msdyn_includetime", Value::Bool(true)),
                    ("msdyn_includeexpense", Value::Bool(all)),
                    ("msdyn_includematerial", Value::Bool(all)),
                    ("msdyn_includefee", Value::Bool(false)),
                    ("extendedamount", money(amount)),
                    ("transactioncurrencyid", currency.clone()),
                ]);
            };
            line(
                contract.tm_line,
                format!("Time and material: {engagement}"),
                BILLING_TIME_AND_MATERIAL,
                true,
                contract.tm_amount,
            );
            if let Some(fp_line) = contract.fp_line {
                line(
                    fp_line,
                    format!("Fixed price: {engagement} deliverables"),
                    BILLING_FIXED_PRICE,
                    false,
                    contract.fp_amount,
                );
                let mut rest = contract.fp_amount;
                for (m, &(name, percent, offset)) in MILESTONES.iter().enumerate() {
                    let amount = if m + 1 == MILESTONES.len() {
                        rest
                    } else {
                        fit(contract.fp_amount * Decimal::new(percent, 2), 2)
                    };
                    rest -= amount;
                    let mut cells: Cells = vec![
                        (
                            "msdyn_contractlinescheduleofvalueid",
                            Value::Guid(guid(seed, "milestone", (3 * i + m) as u64)),
                        ),
                        ("msdyn_contractline", Value::Guid(fp_line)),
                        ("msdyn_company", text(code)),
                        ("msdyn_name", text(name)),
                        ("msdyn_milestonedate", Value::Date(add_days(project.start, offset))),
                        ("msdyn_amount", money(amount)),
                        (
                            "msdyn_invoicestatus",
                            int(if m == 0 { 192_350_001 } else { 192_350_000 }),
                        ),
                        ("transactioncurrencyid", currency.clone()),
                    ];
                    cells.extend(active());
                    milestones.push(cells);
                }
            }
        }
        // One item-based order per company: not a project contract, and its product lines
        // have no billing method, so both contract maps filter them out.
        for (c, &code) in COMPANIES.iter().enumerate() {
            let id = guid(seed, "itemorder", c as u64);
            let customer = c * ACCOUNTS_PER_COMPANY + ACCOUNTS_PER_COMPANY - 1;
            let currency = Value::Guid(self.currency_of(c));
            let mut total = Decimal::ZERO;
            for (j, &(name, cost)) in PRODUCTS.iter().enumerate().take(PRODUCT_LINES_PER_ORDER) {
                let amount = cents(cost) * Decimal::from(10 * (j as i64 + 1));
                total += amount;
                lines.push(vec![
                    (
                        "salesorderdetailid",
                        Value::Guid(guid(seed, "productline", (c * PRODUCT_LINES_PER_ORDER + j) as u64)),
                    ),
                    ("salesorderid", Value::Guid(id)),
                    ("msdyn_company", text(code)),
                    ("productdescription", text(format!("{name} x {}", 10 * (j + 1)))),
                    ("msdyn_project", Value::Null),
                    ("msdyn_billingmethod", Value::Null),
                    ("msdyn_includetime", Value::Bool(false)),
                    ("msdyn_includeexpense", Value::Bool(false)),
                    ("msdyn_includematerial", Value::Bool(false)),
                    ("msdyn_includefee", Value::Bool(false)),
                    ("extendedamount", money(amount)),
                    ("transactioncurrencyid", currency.clone()),
                ]);
            }
            let mut cells: Cells = vec![
                ("salesorderid", Value::Guid(id)),
                ("msdyn_company", text(code)),
                (
                    "name",
                    text(format!("Hardware order: {}", self.customer_name(customer))),
                ),
                ("ordernumber", text(format!("SO-{code}-0001"))),
                ("msdyn_ordertype", int(ORDER_ITEM_BASED)),
                ("customerid", Value::Guid(self.accounts[customer])),
                (
                    "msdyn_contractorganizationalunitid",
                    Value::Guid(self.units[c * UNITS_PER_COMPANY].id),
                ),
                ("transactioncurrencyid", currency),
                ("totalamount", money(total)),
                (
                    "requestdeliveryby",
                    Value::Date(NaiveDate::from_ymd_opt(2026, 7, 15).expect("valid date")),
                ),
            ];
            cells.extend(active());
            orders.push(cells);
        }
        vec![orders, funding, projects, lines, milestones]
    }

    fn task_table(&self) -> Table {
        let mut t = Table::new("msdyn_projecttasks");
        for task in &self.tasks {
            let mut cells: Cells = vec![
                ("msdyn_projecttaskid", Value::Guid(task.id)),
                ("msdyn_project", Value::Guid(self.projects[task.project].id)),
                ("msdyn_parenttask", opt_guid(task.parent.map(|p| self.tasks[p].id))),
                ("msdyn_company", text(COMPANIES[self.projects[task.project].company])),
                ("msdyn_subject", text(task.subject)),
                ("msdyn_wbsid", text(task.wbs)),
                ("msdyn_scheduledstart", Value::Date(task.start)),
                ("msdyn_scheduledend", Value::Date(task.end)),
                ("msdyn_effort", quantity(task.effort)),
            ];
            cells.extend(active());
            t.push(cells);
        }
        t
    }

    /// Hour estimates: one resource assignment per leaf task.
    fn assignment_table(&self) -> Table {
        let mut t = Table::new("msdyn_resourceassignments");
        let mut n = 0u64;
        for (p, project) in self.projects.iter().enumerate() {
            let c = project.company;
            let cur = self.companies[c].currency;
            let mut rng = Rng::for_record(self.seed, "assignments", p as u64);
            for &leaf in &project.leaves {
                let task = &self.tasks[leaf];
                let resource = &self.resources[c * RESOURCES_PER_COMPANY + rng.index(RESOURCES_PER_COMPANY)];
                let role = &self.roles[resource.role];
                let mut cells: Cells = vec![
                    (
                        "msdyn_resourceassignmentid",
                        Value::Guid(guid(self.seed, "resourceassignment", n)),
                    ),
                    ("msdyn_projectid", Value::Guid(project.id)),
                    ("msdyn_taskid", Value::Guid(task.id)),
                    ("msdyn_company", text(COMPANIES[c])),
                    ("msdyn_bookableresourceid", Value::Guid(resource.id)),
                    (
                        "msdyn_name",
                        text(format!("{} ({}): {}", resource.name, role.name, task.subject)),
                    ),
                    ("msdyn_hours", quantity(task.effort)),
                    ("msdyn_start", Value::Date(task.start)),
                    ("msdyn_finish", Value::Date(task.end)),
                    ("msdyn_plannedcost", money(task.effort * cents(role.cost[cur]))),
                    ("msdyn_plannedsales", money(task.effort * cents(role.sales[cur]))),
                    ("transactioncurrencyid", Value::Guid(self.currency_ids[cur])),
                ];
                cells.extend(active());
                t.push(cells);
                n += 1;
            }
        }
        t
    }

    /// Expense and material estimates: each a cost line and a sales line.
    fn estimate_table(&self) -> Table {
        let mut t = Table::new("msdyn_estimatelines");
        let mut n = 0u64;
        for (p, project) in self.projects.iter().enumerate() {
            let c = project.company;
            let mut rng = Rng::for_record(self.seed, "estimates", p as u64);
            let mut estimates: Vec<(usize, Option<usize>, i64, i64, i64)> = Vec::new();
            for &category in &EXPENSE_ESTIMATE_CATEGORIES {
                let (qty, price) = match CATEGORIES[category].0 {
                    "TRAVEL" => (rng.range(4, 12), rng.range(35_000, 65_000)),
                    "HOTEL" => (rng.range(10, 40), rng.range(12_000, 19_000)),
                    _ => (rng.range(20, 60), rng.range(2_500, 4_500)),
                };
                estimates.push((category, None, qty, price, price));
            }
            for _ in 0..MATERIAL_ESTIMATES {
                let product = rng.index(PRODUCTS.len());
                let cost = PRODUCTS[product].1;
                estimates.push((5, Some(product), rng.range(5, 40), cost, markup(cost)));
            }
            for (category, product, qty, cost, sales) in estimates {
                let task = &self.tasks[project.leaves[rng.index(project.leaves.len())]];
                let class = CATEGORIES[category].3;
                let what = match product {
                    Some(pr) => PRODUCTS[pr].0,
                    None => CATEGORIES[category].1,
                };
                for (ttype, price, side) in [(192_350_000, cost, "cost"), (192_350_005, sales, "sales")] {
                    let qty = Decimal::from(qty);
                    let mut cells: Cells = vec![
                        ("msdyn_estimatelineid", Value::Guid(guid(self.seed, "estimateline", n))),
                        ("msdyn_project", Value::Guid(project.id)),
                        ("msdyn_task", Value::Guid(task.id)),
                        ("msdyn_company", text(COMPANIES[c])),
                        ("msdyn_description", text(format!("{what} estimate ({side})"))),
                        ("msdyn_transactionclassification", int(class.code())),
                        ("msdyn_transactiontypecode", int(ttype)),
                        ("msdyn_transactioncategory", Value::Guid(self.categories[category])),
                        ("msdyn_product", opt_guid(product.map(|pr| self.products[pr].id))),
                        (
                            "msdyn_expensecategory",
                            opt_guid(
                                product
                                    .is_none()
                                    .then(|| super::super::documents::expense_category_id(self.seed, c, category)),
                            ),
                        ),
                        ("msdyn_billingtype", int(BILLING_TYPE_CHARGEABLE)),
                        ("msdyn_startdate", Value::Date(task.start)),
                        ("msdyn_enddate", Value::Date(task.end)),
                        ("msdyn_quantity", quantity(qty)),
                        ("msdyn_price", money(cents(price))),
                        ("msdyn_amount", money(qty * cents(price))),
                        ("transactioncurrencyid", Value::Guid(self.currency_of(c))),
                    ];
                    cells.extend(active());
                    t.push(cells);
                    n += 1;
                }
            }
        }
        t
    }
}
