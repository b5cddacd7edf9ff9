//! Deterministic demo data for dualsync: a realistic Project Operations world (two legal
//! entities, customers, contracts, projects with task trees, estimates and thousands of actuals)
//! for the operational store, and the accounting prerequisites (legal entities, currencies,
//! exchange rates, fiscal periods, parameters, number sequences, project categories) for the
//! accounting store. Rows come as batches of `Value`s whose tables and columns are exactly those
//! of the reference schemas (`migrations/*/sqlite/0001_reference_schema.sql`).
//!
//! Everything is derived from `SeedOptions` with a home-made SplitMix64 generator, so the same
//! options always give byte-identical data, whatever the dependency versions. GUIDs come from
//! [`guid`]: both generators derive the ids they share (transaction categories, currencies)
//! the same way. Actuals are generated lazily, one small event at a time, so memory does not
//! grow with their number; [`summary`] predicts every count without generating rows.
//!
//! [`load`] writes the batches into a store through the `Store` trait, like any other caller:
//! this module sits above `store` (used by `dualsync store seed`, `run` with `demo = true`,
//! `bench` and the tests), and nothing in `store` depends on it.

mod accounting;
mod actuals;
mod documents;
mod journals;
pub mod load;
mod master;
#[cfg(test)]
mod tests;

use chrono::{Days, Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use crate::value::Value;

use actuals::{Kind, event_count, plan_kind};
use master::World;

/// The legal entities of the demo world, by code (the accounting `DataAreaId`).
pub const COMPANIES: [&str; 2] = ["USPM", "DEMF"];
/// The currencies of the demo world; USPM keeps its books in USD, DEMF in EUR.
pub const CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];
/// Accounting currency of each company, as an index into `CURRENCIES`.
const COMPANY_CURRENCY: [usize; 2] = [0, 1];
/// Number of consecutive months the actuals are spread over, from `first_month()`.
pub const ACTUAL_MONTHS: u32 = 4;
/// Number of fiscal periods (months) per company, from `first_month()`; the first is closed.
pub const FISCAL_MONTHS: u32 = 7;

/// Rate of 1 USD in each currency (`CURRENCIES` order) per fiscal month, in units of 0.0001.
const USD_TO: [[i64; FISCAL_MONTHS as usize]; 3] = [
    [10000; FISCAL_MONTHS as usize],
    [9185, 9230, 9162, 9274, 9301, 9248, 9219],
    [7862, 7901, 7835, 7948, 7990, 7923, 7887],
];

/// One batch of rows for one table, columns in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedBatch {
    pub entity: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedOptions {
    /// Number of `msdyn_actuals` rows.
    pub actuals: u64,
    /// Seed of every random choice and of every GUID.
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            actuals: 10_000,
            seed: 42,
        }
    }
}

/// First day of the first month with actuals; also the first (and only closed) fiscal period.
pub fn first_month() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).expect("valid date")
}

/// First day of fiscal month `i` (0 = `first_month()`).
pub fn month_start(i: u32) -> NaiveDate {
    first_month().checked_add_months(Months::new(i)).expect("date in range")
}

/// Last day of fiscal month `i`.
pub fn month_end(i: u32) -> NaiveDate {
    month_start(i + 1)
        .checked_sub_days(Days::new(1))
        .expect("date in range")
}

/// Index of the fiscal month holding `date` (dates before `first_month()` count as month 0).
fn month_index(date: NaiveDate) -> usize {
    use chrono::Datelike;
    let months = (date.year() - 2026) * 12 + date.month() as i32 - 6;
    months.clamp(0, FISCAL_MONTHS as i32 - 1) as usize
}

/// Exchange rate: 1 unit of currency `from` = rate units of currency `to`, in fiscal month
/// `month`, rounded to the 10 decimals of the rate columns.
fn exchange_rate(from: usize, to: usize, month: usize) -> Decimal {
    if from == to {
        return Decimal::ONE;
    }
    let from_rate = Decimal::new(USD_TO[from][month], 4);
    let to_rate = Decimal::new(USD_TO[to][month], 4);
    fit(to_rate / from_rate, 10)
}

/// Operational data, parents before children, in batches of at most `batch` rows (0 counts as
/// 1). Master data comes first (a few hundred rows), then the proforma invoices, then the actuals,
/// then the transaction connections between them, each generated lazily.
pub fn operational(opts: &SeedOptions, batch: usize) -> OperationalSeed {
    let world = World::new(opts.seed);
    let batch = batch.max(1);
    let master = chunk(world.master_tables(), batch);
    OperationalSeed {
        world,
        actuals: opts.actuals,
        events: event_count(opts.actuals),
        batch,
        master: master.into_iter(),
        next_event: 0,
        next_connection_event: 0,
        next_invoice_event: 0,
        pending: None,
    }
}

/// Accounting master data (small): whole tables, one batch each.
pub fn accounting(opts: &SeedOptions) -> Vec<SeedBatch> {
    accounting::tables(&World::new(opts.seed))
}

/// The lazy stream of operational batches returned by [`operational`].
pub struct OperationalSeed {
    world: World,
    actuals: u64,
    events: u64,
    batch: usize,
    master: std::vec::IntoIter<SeedBatch>,
    next_event: u64,
    next_connection_event: u64,
    next_invoice_event: u64,
    /// The second actual of an event that did not fit into the previous batch.
    pending: Option<Cells>,
}

impl OperationalSeed {
    /// Rows generated but not yet handed out (at most one actual, whatever the size).
    pub fn buffered_rows(&self) -> usize {
        usize::from(self.pending.is_some())
    }
}

impl Iterator for OperationalSeed {
    type Item = SeedBatch;

    fn next(&mut self) -> Option<SeedBatch> {
        if let Some(batch) = self.master.next() {
            return Some(batch);
        }
        // The proforma invoices before the actuals that bill them.
        let mut table = Table::new("invoices");
        while table.len() < self.batch && self.next_invoice_event < self.events {
            let e = self.next_invoice_event;
            self.next_invoice_event += 1;
            if let Some(cells) = actuals::invoice_row(&self.world, e, plan_kind(e, self.actuals)) {
                table.push(cells);
            }
        }
        if !table.is_empty() {
            return Some(table.finish());
        }
        let mut table = Table::new("msdyn_actuals");
        while table.len() < self.batch {
            if let Some(cells) = self.pending.take() {
                table.push(cells);
                continue;
            }
            if self.next_event >= self.events {
                break;
            }
            let e = self.next_event;
            self.next_event += 1;
            let kind = plan_kind(e, self.actuals);
            let first = actuals::event_start(e);
            for (i, line) in actuals::lines(&self.world, e, kind).iter().enumerate() {
                let cells = actuals::actual_row(&self.world, first + i as u64, line);
                if table.len() < self.batch {
                    table.push(cells);
                } else {
                    self.pending = Some(cells);
                }
            }
        }
        if !table.is_empty() {
            return Some(table.finish());
        }
        let mut table = Table::new("msdyn_transactionconnections");
        while table.len() < self.batch && self.next_connection_event < self.events {
            let e = self.next_connection_event;
            self.next_connection_event += 1;
            if let Some(cells) = actuals::connection_row(&self.world, e, plan_kind(e, self.actuals)) {
                table.push(cells);
            }
        }
        if !table.is_empty() {
            return Some(table.finish());
        }
        None
    }
}

/// What the data set holds, computed from the options without generating rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSummary {
    pub options: SeedOptions,
    /// Rows per operational table, in the order `operational` emits the tables.
    pub operational: Vec<(&'static str, u64)>,
    /// Rows per accounting table, in the order `accounting` emits them.
    pub accounting: Vec<(&'static str, u64)>,
    /// Rows each accounting table written by the maps holds after a complete initial sync
    /// (fan-outs applied, filtered and skipped rows left out).
    pub expected_after_initial_sync: Vec<(&'static str, u64)>,
    /// Sales orders of order type Work based (the project-contracts filter); the others are
    /// item-based orders.
    pub work_based_contracts: u64,
    pub item_based_orders: u64,
    /// Contract lines with a billing method (the contract-lines filter), split by method;
    /// `product_lines` have none.
    pub time_and_material_lines: u64,
    pub fixed_price_lines: u64,
    pub product_lines: u64,
    pub expense_estimate_lines: u64,
    pub material_estimate_lines: u64,
    /// The months the actuals fall in: first day of the first, and how many.
    pub first_month: NaiveDate,
    pub actual_months: u32,
    /// Fiscal periods per company, and the one closed period (first and last day).
    pub fiscal_periods_per_company: u32,
    pub closed_period: (NaiveDate, NaiveDate),
    pub actuals: ActualsSummary,
}

impl SeedSummary {
    /// Rows of one table, operational or accounting.
    pub fn rows(&self, entity: &str) -> Option<u64> {
        self.operational
            .iter()
            .chain(&self.accounting)
            .find(|(name, _)| *name == entity)
            .map(|(_, n)| *n)
    }
}

/// The actuals and their connections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActualsSummary {
    pub total: u64,
    /// By transaction class.
    pub time: u64,
    pub expense: u64,
    pub material: u64,
    /// By transaction type.
    pub cost: u64,
    pub unbilled_sales: u64,
    pub billed_sales: u64,
    /// Skip-sync actuals, by the skip rule of `table-maps/actuals.toml` that matches first.
    pub skipped_intercompany_cost: u64,
    pub skipped_negative_unbilled_sales: u64,
    pub skipped_other: u64,
    /// Actuals with Skip Sync = false: the rows of `ProjCDSActualsImport` after a full sync.
    pub synced: u64,
    /// Transaction connections (one per pair of actuals; both ends are actuals).
    pub connections: u64,
    /// Connections with one skip-sync end (intercompany cost, negative unbilled sales).
    pub connections_with_skipped_end: u64,
    /// Confirmed proforma invoices: one per billed sales actual.
    pub invoices: u64,
    pub by_company: Vec<CompanyActuals>,
    /// Actuals per month (by transaction date), first day of each month.
    pub by_month: Vec<(NaiveDate, u64)>,
}

/// The actuals of one legal entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyActuals {
    pub company: &'static str,
    pub total: u64,
    pub synced: u64,
    pub skipped: u64,
    /// Actuals whose accounting date falls in the closed fiscal period.
    pub in_closed_period: u64,
    pub synced_in_closed_period: u64,
}

/// Predicts what `operational` and `accounting` produce for these options.
pub fn summary(opts: &SeedOptions) -> SeedSummary {
    let world = World::new(opts.seed);
    let counts = master::counts();
    let mut operational = counts.tables.clone();
    operational.extend(journals::counts(&world));
    let mut a = ActualsSummary {
        by_company: COMPANIES
            .iter()
            .map(|&company| CompanyActuals {
                company,
                total: 0,
                synced: 0,
                skipped: 0,
                in_closed_period: 0,
                synced_in_closed_period: 0,
            })
            .collect(),
        by_month: (0..ACTUAL_MONTHS).map(|m| (month_start(m), 0)).collect(),
        ..ActualsSummary::default()
    };
    let closed_end = month_end(0);
    for e in 0..event_count(opts.actuals) {
        let kind = plan_kind(e, opts.actuals);
        for brief in actuals::brief(&world, e, kind) {
            a.total += 1;
            match brief.class {
                master::Class::Time => a.time += 1,
                master::Class::Expense => a.expense += 1,
                master::Class::Material => a.material += 1,
            }
            match brief.ttype {
                actuals::COST => a.cost += 1,
                actuals::UNBILLED => a.unbilled_sales += 1,
                _ => a.billed_sales += 1,
            }
            if brief.skip {
                if brief.ttype == actuals::COST {
                    a.skipped_intercompany_cost += 1;
                } else {
                    a.skipped_negative_unbilled_sales += 1;
                }
            }
            let c = &mut a.by_company[brief.company];
            c.total += 1;
            if brief.skip {
                c.skipped += 1;
            } else {
                c.synced += 1;
            }
            if brief.date <= closed_end {
                c.in_closed_period += 1;
                if !brief.skip {
                    c.synced_in_closed_period += 1;
                }
            }
            a.by_month[month_index(brief.date)].1 += 1;
        }
        if kind == Kind::Proforma {
            a.invoices += 1;
        }
        if kind.size() == 2 {
            a.connections += 1;
            if matches!(kind, Kind::Intercompany | Kind::Proforma) {
                a.connections_with_skipped_end += 1;
            }
        }
    }
    a.synced = a.total - a.skipped_intercompany_cost - a.skipped_negative_unbilled_sales;
    operational.push(("invoices", a.invoices));
    operational.push(("msdyn_actuals", a.total));
    operational.push(("msdyn_transactionconnections", a.connections));
    let accounting = accounting::counts(&world);
    let n = |name: &str| counts.tables.iter().find(|t| t.0 == name).map_or(0, |t| t.1);
    let companies = COMPANIES.len() as u64;
    let expected_after_initial_sync = vec![
        ("ProjCDSProjectContractEntity", counts.work_based_contracts),
        (
            "ProjCDSFundingSourceEntity",
            n("msdyn_projectcontractsplitbillingrules"),
        ),
        (
            "ProjCDSContractLineImportEntity",
            counts.time_and_material_lines + counts.fixed_price_lines,
        ),
        (
            "ProjCDSContractLineMilestoneEntity",
            n("msdyn_contractlinescheduleofvalues"),
        ),
        ("ProjCDSProjectEntity", n("msdyn_projects")),
        ("ProjCDSTaskEntity", n("msdyn_projecttasks")),
        (
            "ProjCDSResourceCategoryEntity",
            n("bookableresourcecategories") * companies,
        ),
        ("ProjCDSCategoryEntity", n("msdyn_transactioncategories") * 4),
        ("ProjCDSEstimateHoursImport", n("msdyn_resourceassignments")),
        ("ProjCDSEstimateExpenseImport", counts.expense_estimate_lines),
        ("ProjForecastSalesImport", counts.material_estimate_lines),
        ("ProjCDSActualsImport", a.synced),
        ("ProjCDSTransactionRelationshipImport", a.connections),
        ("ProjInvoiceProposalEntity", a.invoices),
    ];
    SeedSummary {
        options: *opts,
        operational,
        accounting,
        expected_after_initial_sync,
        work_based_contracts: counts.work_based_contracts,
        item_based_orders: counts.item_based_orders,
        time_and_material_lines: counts.time_and_material_lines,
        fixed_price_lines: counts.fixed_price_lines,
        product_lines: counts.product_lines,
        expense_estimate_lines: counts.expense_estimate_lines,
        material_estimate_lines: counts.material_estimate_lines,
        first_month: first_month(),
        actual_months: ACTUAL_MONTHS,
        fiscal_periods_per_company: FISCAL_MONTHS,
        closed_period: (month_start(0), closed_end),
        actuals: a,
    }
}

// ----- determinism: the generator, hashing and GUIDs -----

/// SplitMix64's output function (a bijective 64-bit mixer).
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64-bit FNV-1a of a byte string.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// The starting state of the random stream of record `index` of `kind`.
fn stream(seed: u64, kind: &str, index: u64) -> u64 {
    mix64(mix64(seed ^ fnv1a(kind.as_bytes())).wrapping_add(mix64(index)))
}

/// A deterministic version-4-shaped GUID for record `index` of `kind` (e.g. "project").
pub fn guid(seed: u64, kind: &str, index: u64) -> Uuid {
    let mut rng = Rng::new(stream(seed, kind, index));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    Uuid::from_bytes(bytes)
}

/// SplitMix64: tiny, fast, and fixed forever (no crate version can change the data).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(state: u64) -> Self {
        Rng(state)
    }

    fn for_record(seed: u64, kind: &str, index: u64) -> Self {
        Rng::new(stream(seed, kind, index))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}

// ----- rows -----

/// One row as (column, value) pairs, so a row cannot get its columns out of order.
type Cells = Vec<(&'static str, Value)>;

/// A table being filled; every row must name the same columns in the same order.
struct Table(SeedBatch);

impl Table {
    fn new(entity: &'static str) -> Self {
        Table(SeedBatch {
            entity,
            columns: Vec::new(),
            rows: Vec::new(),
        })
    }

    fn push(&mut self, cells: Cells) {
        let (columns, row): (Vec<&'static str>, Vec<Value>) = cells.into_iter().unzip();
        if self.0.rows.is_empty() {
            self.0.columns = columns;
        } else {
            assert_eq!(self.0.columns, columns, "columns of {}", self.0.entity);
        }
        self.0.rows.push(row);
    }

    fn len(&self) -> usize {
        self.0.rows.len()
    }

    fn is_empty(&self) -> bool {
        self.0.rows.is_empty()
    }

    fn finish(self) -> SeedBatch {
        self.0
    }
}

/// Splits whole tables into batches of at most `batch` rows, keeping the table order.
fn chunk(tables: Vec<SeedBatch>, batch: usize) -> Vec<SeedBatch> {
    let mut out = Vec::new();
    for table in tables {
        let mut rows = table.rows.into_iter().peekable();
        while rows.peek().is_some() {
            out.push(SeedBatch {
                entity: table.entity,
                columns: table.columns.clone(),
                rows: rows.by_ref().take(batch).collect(),
            });
        }
    }
    out
}

/// `d` rounded (half away from zero) to exactly `scale` decimals.
fn fit(d: Decimal, scale: u32) -> Decimal {
    let mut r = d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(scale);
    r
}

/// Amounts and prices: DECIMAL(19,4).
fn money(d: Decimal) -> Value {
    Value::Decimal(fit(d, 4))
}

/// Quantities and hours: DECIMAL(19,6).
fn quantity(d: Decimal) -> Value {
    Value::Decimal(fit(d, 6))
}

/// Exchange rates: DECIMAL(23,10).
fn rate(d: Decimal) -> Value {
    Value::Decimal(fit(d, 10))
}

/// `cents` / 100 as a decimal.
fn cents(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn opt_guid(g: Option<Uuid>) -> Value {
    g.map_or(Value::Null, Value::Guid)
}

/// statecode 0 (Active) and statuscode 1 (Active).
fn active() -> [(&'static str, Value); 2] {
    [("statecode", int(0)), ("statuscode", int(1))]
}
