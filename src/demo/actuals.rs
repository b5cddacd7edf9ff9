//! The actuals: a fixed plan of events (a pair of linked actuals, or a single cost actual)
//! repeated every 100 actuals, with each event's values drawn from its own random stream, so
//! any event can be generated on its own, in any order, and counted without being generated.

use chrono::{Datelike, Days, Duration, NaiveDate, Weekday};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::master::{BILLING_TYPE_CHARGEABLE, CATEGORIES, Class, RESOURCES_PER_COMPANY, World, markup};
use super::{
    ACTUAL_MONTHS, COMPANIES, Cells, Rng, active, cents, exchange_rate, guid, int, money, month_end, month_index,
    month_start, opt_guid, quantity, rate, text,
};
use crate::value::Value;

/// Transaction types.
pub(super) const COST: i64 = 192_350_000;
pub(super) const UNBILLED: i64 = 192_350_005;
pub(super) const BILLED: i64 = 192_350_006;
const BILLING_TYPE_NON_CHARGEABLE: i64 = 192_350_000;
/// Billing statuses.
const UNBILLED_SALES_CREATED: i64 = 192_350_000;
const CUSTOMER_INVOICE_POSTED: i64 = 192_350_002;
const MULTIPLY_QUANTITY_BY_PRICE: i64 = 192_350_000;
/// Category indices (see `master::CATEGORIES`).
const EXPENSE_CATEGORIES: [usize; 3] = [2, 3, 4];
const HARDWARE: usize = 5;

/// What one event of the plan produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Chargeable time on a T&M line: cost + unbilled sales.
    TmTime,
    /// Time of a resource of the other company: cost (Skip Sync) + unbilled sales.
    Intercompany,
    /// A confirmed proforma invoice for the previous event's unbilled sales: negative unbilled
    /// sales (Skip Sync) + billed sales.
    Proforma,
    /// Chargeable expense: cost + unbilled sales.
    Expense,
    /// Chargeable material: cost + unbilled sales.
    Material,
    /// Time on a fixed-price line: cost only (revenue comes from milestones).
    FixedPrice,
    /// Non-chargeable time: cost only.
    NonChargeable,
}

impl Kind {
    /// Number of actuals of the event.
    pub(super) const fn size(self) -> u64 {
        match self {
            Kind::FixedPrice | Kind::NonChargeable => 1,
            _ => 2,
        }
    }
}

const CYCLE_EVENTS: u64 = 53;
const CYCLE_ACTUALS: u64 = 100;

/// The plan of one cycle of 53 events = 100 actuals: 2 intercompany pairs (2 % of actuals are
/// intercompany cost), 1 proforma pair (1 % negative unbilled sales), 6 expense pairs,
/// 3 material pairs, 4 fixed-price and 2 non-chargeable singles, and 35 T&M time pairs.
/// A proforma event always follows a T&M time event (it reverses that event's sales).
const fn kind_at(pos: u64) -> Kind {
    match pos {
        10 | 36 => Kind::Intercompany,
        24 => Kind::Proforma,
        3 | 12 | 20 | 29 | 38 | 47 => Kind::Expense,
        7 | 27 | 44 => Kind::Material,
        5 | 17 | 32 | 50 => Kind::FixedPrice,
        15 | 41 => Kind::NonChargeable,
        _ => Kind::TmTime,
    }
}

const fn prefix_table() -> [u64; CYCLE_EVENTS as usize + 1] {
    let mut t = [0; CYCLE_EVENTS as usize + 1];
    let mut i = 0;
    while i < CYCLE_EVENTS as usize {
        t[i + 1] = t[i] + kind_at(i as u64).size();
        i += 1;
    }
    t
}

/// Actuals before each position of the cycle.
const PREFIX: [u64; CYCLE_EVENTS as usize + 1] = prefix_table();
const _: () = assert!(PREFIX[CYCLE_EVENTS as usize] == CYCLE_ACTUALS);
const _: () = assert!(matches!(kind_at(23), Kind::TmTime));

/// Index of the first actual of event `e`.
pub(super) fn event_start(e: u64) -> u64 {
    (e / CYCLE_EVENTS) * CYCLE_ACTUALS + PREFIX[(e % CYCLE_EVENTS) as usize]
}

/// Number of events that make `n` actuals.
pub(super) fn event_count(n: u64) -> u64 {
    let rest = n % CYCLE_ACTUALS;
    (n / CYCLE_ACTUALS) * CYCLE_EVENTS + PREFIX[..CYCLE_EVENTS as usize].iter().filter(|&&p| p < rest).count() as u64
}

/// The kind of event `e` when `n` actuals are made: the plan's, except that a pair that would
/// pass `n` becomes a single (fixed-price) cost actual.
pub(super) fn plan_kind(e: u64, n: u64) -> Kind {
    let kind = kind_at(e % CYCLE_EVENTS);
    if event_start(e) + kind.size() > n {
        Kind::FixedPrice
    } else {
        kind
    }
}

/// One actual before it becomes a row.
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub class: Class,
    pub ttype: i64,
    pub billing: i64,
    pub status: Option<i64>,
    pub project: usize,
    pub task: usize,
    pub category: usize,
    pub role: Option<usize>,
    pub resource: Option<usize>,
    pub contract_line: Uuid,
    pub quantity: Decimal,
    pub price: Decimal,
    pub date: NaiveDate,
    pub start_minute: i64,
    pub minutes: i64,
    pub skip: bool,
    pub description: String,
    pub external: Option<String>,
    pub unit: Uuid,
    /// The proforma invoice of a billed sales actual.
    pub invoice: Option<Uuid>,
}

/// The facts `summary` counts, without generating the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Brief {
    pub class: Class,
    pub ttype: i64,
    pub company: usize,
    pub date: NaiveDate,
    pub skip: bool,
}

/// A working day (Saturdays move to Friday, Sundays to Monday) in the months of the actuals.
fn work_day(rng: &mut Rng) -> NaiveDate {
    let first = month_start(0);
    let last = month_end(ACTUAL_MONTHS - 1);
    let span = (last - first).num_days() as u64 + 1;
    let day = first + Days::new(rng.below(span));
    let day = match day.weekday() {
        Weekday::Sat => day - Days::new(1),
        Weekday::Sun => day + Days::new(1),
        _ => day,
    };
    day.clamp(first, last)
}

/// A proforma invoice is confirmed a week after the work, within the months of the actuals.
fn proforma_date(work: NaiveDate) -> NaiveDate {
    (work + Days::new(7)).min(month_end(ACTUAL_MONTHS - 1))
}

/// The project and date of event `e`, drawn first from its stream, and the rest of the stream.
fn core(world: &World, e: u64, kind: Kind) -> (usize, NaiveDate, Rng) {
    let mut rng = Rng::for_record(world.seed, "actual-event", e);
    let project = if kind == Kind::FixedPrice {
        world.fp_projects[rng.index(world.fp_projects.len())]
    } else {
        rng.index(world.projects.len())
    };
    let date = work_day(&mut rng);
    (project, date, rng)
}

pub(super) fn brief(world: &World, e: u64, kind: Kind) -> Vec<Brief> {
    let (project, date) = if kind == Kind::Proforma {
        let (project, date, _) = core(world, e - 1, Kind::TmTime);
        (project, proforma_date(date))
    } else {
        let (project, date, _) = core(world, e, kind);
        (project, date)
    };
    let company = world.projects[project].company;
    let b = |class, ttype, skip| Brief {
        class,
        ttype,
        company,
        date,
        skip,
    };
    match kind {
        Kind::TmTime => vec![b(Class::Time, COST, false), b(Class::Time, UNBILLED, false)],
        Kind::Intercompany => vec![b(Class::Time, COST, true), b(Class::Time, UNBILLED, false)],
        Kind::Proforma => vec![b(Class::Time, UNBILLED, true), b(Class::Time, BILLED, false)],
        Kind::Expense => vec![b(Class::Expense, COST, false), b(Class::Expense, UNBILLED, false)],
        Kind::Material => vec![b(Class::Material, COST, false), b(Class::Material, UNBILLED, false)],
        Kind::FixedPrice | Kind::NonChargeable => vec![b(Class::Time, COST, false)],
    }
}

/// The actuals of event `e`, in order.
pub(super) fn lines(world: &World, e: u64, kind: Kind) -> Vec<Line> {
    if kind == Kind::Proforma {
        let original = lines(world, e - 1, Kind::TmTime)
            .pop()
            .expect("a T&M event has a sales actual");
        let date = proforma_date(original.date);
        let reversal = Line {
            quantity: -original.quantity,
            status: Some(CUSTOMER_INVOICE_POSTED),
            skip: true,
            date,
            description: format!("Proforma invoice confirmed, reversal: {}", original.description),
            ..original.clone()
        };
        let billed = Line {
            ttype: BILLED,
            status: Some(CUSTOMER_INVOICE_POSTED),
            invoice: Some(guid(world.seed, "invoice", e)),
            date,
            description: format!("Proforma invoice confirmed: {}", original.description),
            ..original
        };
        return vec![reversal, billed];
    }
    let (project, date, mut rng) = core(world, e, kind);
    let p = &world.projects[project];
    let c = p.company;
    let cur = world.companies[c].currency;
    let contract = &world.contracts[p.contract];
    let task = p.leaves[rng.index(p.leaves.len())];
    let subject = world.tasks[task].subject;
    let per = RESOURCES_PER_COMPANY;
    let base = Line {
        class: Class::Time,
        ttype: COST,
        billing: BILLING_TYPE_CHARGEABLE,
        status: None,
        project,
        task,
        category: 0,
        role: None,
        resource: None,
        contract_line: contract.tm_line,
        quantity: Decimal::ONE,
        price: Decimal::ZERO,
        date,
        start_minute: 9 * 60,
        minutes: 0,
        skip: false,
        description: String::new(),
        external: None,
        unit: world.uom_each,
        invoice: None,
    };
    let sales = |cost: &Line, price: Decimal, external: String| Line {
        ttype: UNBILLED,
        status: Some(UNBILLED_SALES_CREATED),
        price,
        skip: false,
        external: Some(external),
        ..cost.clone()
    };
    match kind {
        Kind::Material => {
            let product = &world.products[rng.index(world.products.len())];
            let (name, cost_cents) = (product.name, product.cost);
            let cost = Line {
                class: Class::Material,
                category: HARDWARE,
                quantity: Decimal::from(rng.range(1, 10)),
                price: cents(cost_cents),
                description: format!("{name} for {subject}"),
                ..base
            };
            let sale = sales(&cost, cents(markup(cost_cents)), name.to_string());
            vec![cost, sale]
        }
        Kind::Expense => {
            let resource = c * per + rng.index(per);
            let category = EXPENSE_CATEGORIES[rng.index(EXPENSE_CATEGORIES.len())];
            let (qty, price) = match category {
                2 => (1, rng.range(8_000, 65_000)),
                3 => (rng.range(1, 4), rng.range(9_500, 22_000)),
                _ => (rng.range(1, 3), rng.range(1_200, 6_500)),
            };
            let what = CATEGORIES[category].1;
            let cost = Line {
                class: Class::Expense,
                category,
                role: Some(world.resources[resource].role),
                resource: Some(resource),
                quantity: Decimal::from(qty),
                price: cents(price),
                description: format!("{what}: {subject} ({})", world.resources[resource].name),
                ..base
            };
            // Expenses are billed at cost.
            let sale = sales(&cost, cost.price, format!("{what} expenses: {subject}"));
            vec![cost, sale]
        }
        Kind::TmTime | Kind::Intercompany | Kind::FixedPrice | Kind::NonChargeable => {
            let resource_company = if kind == Kind::Intercompany { 1 - c } else { c };
            let resource = resource_company * per + rng.index(per);
            let role = &world.roles[world.resources[resource].role];
            let quarters = rng.range(2, 32);
            let cost = Line {
                class: Class::Time,
                billing: if kind == Kind::NonChargeable {
                    BILLING_TYPE_NON_CHARGEABLE
                } else {
                    BILLING_TYPE_CHARGEABLE
                },
                category: role.category,
                role: Some(world.resources[resource].role),
                resource: Some(resource),
                contract_line: if kind == Kind::FixedPrice {
                    contract.fp_line.expect("a fixed-price project has a fixed-price line")
                } else {
                    contract.tm_line
                },
                quantity: Decimal::new(quarters * 25, 2),
                price: cents(role.cost[cur]),
                start_minute: 8 * 60 + 30 * rng.range(0, 3),
                minutes: quarters * 15,
                skip: kind == Kind::Intercompany,
                description: format!("{}: {subject} ({})", role.name, world.resources[resource].name),
                unit: world.uom_hour,
                ..base
            };
            if matches!(kind, Kind::TmTime | Kind::Intercompany) {
                let sale = sales(
                    &cost,
                    cents(role.sales[cur]),
                    format!("{} services: {subject}", role.name),
                );
                vec![cost, sale]
            } else {
                vec![cost]
            }
        }
        Kind::Proforma => unreachable!("handled above"),
    }
}

/// The row of actual number `index`.
pub(super) fn actual_row(world: &World, index: u64, line: &Line) -> Cells {
    let project = &world.projects[line.project];
    let contract = &world.contracts[project.contract];
    let c = project.company;
    let cur = world.companies[c].currency;
    let start = line.date.and_hms_opt(0, 0, 0).expect("midnight").and_utc() + Duration::minutes(line.start_minute);
    let end = start + Duration::minutes(line.minutes);
    let mut cells: Cells = vec![
        ("msdyn_actualid", Value::Guid(guid(world.seed, "actual", index))),
        ("msdyn_company", text(COMPANIES[c])),
        ("msdyn_description", text(line.description.clone())),
        (
            "msdyn_externaldescription",
            line.external.clone().map_or(Value::Null, Value::Text),
        ),
        ("msdyn_documentdate", Value::Date(line.date)),
        ("msdyn_startdatetime", Value::DateTime(start)),
        ("msdyn_enddatetime", Value::DateTime(end)),
        ("msdyn_accountingdate", Value::Date(line.date)),
        ("msdyn_quantity", quantity(line.quantity)),
        ("msdyn_price", money(line.price)),
        ("msdyn_amount", money(line.quantity * line.price)),
        ("msdyn_amountmethod", int(MULTIPLY_QUANTITY_BY_PRICE)),
        ("transactioncurrencyid", Value::Guid(world.currency_ids[cur])),
        ("exchangerate", rate(exchange_rate(0, cur, month_index(line.date)))),
        ("msdyn_billingtype", int(line.billing)),
        ("msdyn_billingstatus", line.status.map_or(Value::Null, int)),
        ("msdyn_transactionclassification", int(line.class.code())),
        ("msdyn_transactiontypecode", int(line.ttype)),
        ("msdyn_project", Value::Guid(project.id)),
        ("msdyn_task", Value::Guid(world.tasks[line.task].id)),
        (
            "msdyn_transactioncategory",
            Value::Guid(world.categories[line.category]),
        ),
        ("msdyn_resourcecategory", opt_guid(line.role.map(|r| world.roles[r].id))),
        (
            "msdyn_bookableresource",
            opt_guid(line.resource.map(|r| world.resources[r].id)),
        ),
        ("msdyn_salescontract", Value::Guid(contract.id)),
        ("msdyn_salescontractlineid", Value::Guid(line.contract_line)),
        (
            "msdyn_contractorganizationalunitid",
            Value::Guid(world.units[contract.unit].id),
        ),
        (
            "msdyn_resourceorganizationalunitid",
            opt_guid(line.resource.map(|r| world.units[world.resources[r].unit].id)),
        ),
        (
            "msdyn_accountcustomer",
            if line.ttype == COST {
                Value::Null
            } else {
                Value::Guid(world.accounts[contract.customer])
            },
        ),
        ("msdyn_unit", Value::Guid(line.unit)),
        ("msdyn_skipsync", Value::Bool(line.skip)),
        ("msdyn_invoice", opt_guid(line.invoice)),
    ];
    cells.extend(active());
    cells
}

/// Proforma invoice statuses (the reference store's codes).
const INVOICE_CONFIRMED: i64 = 192_350_001;

/// The confirmed proforma invoice of event `e`, if it is a proforma event: one invoice for its
/// billed sales actual, numbered per legal entity.
pub(super) fn invoice_row(world: &World, e: u64, kind: Kind) -> Option<Cells> {
    if kind != Kind::Proforma {
        return None;
    }
    let billed = lines(world, e, kind).pop().expect("a proforma event bills");
    let project = &world.projects[billed.project];
    let contract = &world.contracts[project.contract];
    let c = project.company;
    let mut cells: Cells = vec![
        ("invoiceid", Value::Guid(guid(world.seed, "invoice", e))),
        ("invoicenumber", text(format!("{}-PRO-{e:07}", COMPANIES[c]))),
        ("name", text(format!("Proforma invoice {}-PRO-{e:07}", COMPANIES[c]))),
        ("msdyn_company", text(COMPANIES[c])),
        ("salesorderid", Value::Guid(contract.id)),
        ("customerid", Value::Guid(world.accounts[contract.customer])),
        (
            "transactioncurrencyid",
            Value::Guid(world.currency_ids[world.companies[c].currency]),
        ),
        ("msdyn_invoicedate", Value::Date(billed.date)),
        ("msdyn_invoicestatus", int(INVOICE_CONFIRMED)),
        ("totalamount", money(billed.quantity * billed.price)),
    ];
    cells.extend(active());
    Some(cells)
}

/// The connection between the two actuals of event `e`, if it is a pair.
pub(super) fn connection_row(world: &World, e: u64, kind: Kind) -> Option<Cells> {
    if kind.size() != 2 {
        return None;
    }
    let first = event_start(e);
    let (role1, role2) = if kind == Kind::Proforma {
        (UNBILLED, BILLED)
    } else {
        (COST, UNBILLED)
    };
    let mut cells: Cells = vec![
        (
            "msdyn_transactionconnectionid",
            Value::Guid(guid(world.seed, "transactionconnection", e)),
        ),
        ("msdyn_transaction1", Value::Guid(guid(world.seed, "actual", first))),
        ("msdyn_transaction1role", int(role1)),
        ("msdyn_transaction1type", text("msdyn_actual")),
        ("msdyn_transaction2", Value::Guid(guid(world.seed, "actual", first + 1))),
        ("msdyn_transaction2role", int(role2)),
        ("msdyn_transaction2type", text("msdyn_actual")),
    ];
    cells.extend(active());
    Some(cells)
}
