//! The operational demo world derived from the seed: companies, currencies, organizational
//! units, customers, roles, transaction categories, resources, products, contracts, projects
//! and their task trees. `tables` turns it into rows; the actuals refer to it.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{COMPANIES, COMPANY_CURRENCY, CURRENCIES, Rng, guid};

mod tables;

/// Transaction class of categories, estimates and actuals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Time,
    Expense,
    Material,
}

impl Class {
    pub(super) fn code(self) -> i64 {
        match self {
            Class::Time => 192_350_000,
            Class::Expense => 192_350_001,
            Class::Material => 192_350_002,
        }
    }
}

pub(super) const ORDER_ITEM_BASED: i64 = 192_350_000;
pub(super) const ORDER_WORK_BASED: i64 = 192_350_001;
pub(super) const BILLING_TIME_AND_MATERIAL: i64 = 192_350_000;
pub(super) const BILLING_FIXED_PRICE: i64 = 192_350_001;
pub(super) const BILLING_TYPE_CHARGEABLE: i64 = 192_350_001;

const CONTRACTS_PER_COMPANY: usize = 6;
const ACCOUNTS_PER_COMPANY: usize = 10;
const UNITS_PER_COMPANY: usize = 2;
pub(super) const RESOURCES_PER_COMPANY: usize = 8;
const MILESTONES_PER_LINE: usize = 3;
const PRODUCT_LINES_PER_ORDER: usize = 2;
/// Expense estimates per project (each a cost and a sales line), by category index.
const EXPENSE_ESTIMATE_CATEGORIES: [usize; 3] = [2, 3, 4];
/// Material estimates per project (each a cost and a sales line).
const MATERIAL_ESTIMATES: usize = 2;

/// A contract has a fixed-price line as well as its time-and-material line.
fn has_fixed_price(local: usize) -> bool {
    local.is_multiple_of(2)
}

/// A contract is funded by two customers (60/40) instead of one.
fn is_split(local: usize) -> bool {
    local.is_multiple_of(3)
}

pub(super) const COMPANY_NAMES: [&str; 2] = ["Contoso Consulting USA", "Contoso Entertainment System Germany"];
pub(super) const CURRENCY_NAMES: [(&str, &str); 3] = [("US Dollar", "$"), ("Euro", "€"), ("Pound Sterling", "£")];
const UNIT_NAMES: [[&str; UNITS_PER_COMPANY]; 2] = [
    ["Contoso US East", "Contoso US West"],
    ["Contoso DE Frankfurt", "Contoso DE Munich"],
];
const CUSTOMERS: [[&str; ACCOUNTS_PER_COMPANY]; 2] = [
    [
        "Adatum Corporation",
        "Fabrikam Inc.",
        "Litware Inc.",
        "Northwind Traders",
        "Tailspin Toys",
        "Wingtip Toys",
        "Woodgrove Bank",
        "Proseware Inc.",
        "Alpine Ski House",
        "Coho Winery",
    ],
    [
        "Fabrikam GmbH",
        "Contoso Pharmaceuticals GmbH",
        "Lamna Healthcare AG",
        "Trey Research GmbH",
        "Relecloud GmbH",
        "VanArsdel AG",
        "Margie's Travel GmbH",
        "Munson's Pickles GmbH",
        "Fourth Coffee GmbH",
        "Humongous Insurance AG",
    ],
];
const RESOURCES: [[&str; RESOURCES_PER_COMPANY]; 2] = [
    [
        "Alicia Thomber",
        "Brian Cox",
        "Carla Nunez",
        "David So",
        "Erin Hagens",
        "Frank Lee",
        "Grace Kim",
        "Hector Ruiz",
    ],
    [
        "Anna Becker",
        "Jonas Weber",
        "Lena Schulz",
        "Paul Wagner",
        "Sophie Hoffmann",
        "Tim Schaefer",
        "Mia Koch",
        "Felix Richter",
    ],
];
const ENGAGEMENTS: [&str; CONTRACTS_PER_COMPANY] = [
    "ERP implementation",
    "Data platform migration",
    "Field service rollout",
    "Security assessment",
    "Customer portal build",
    "Cloud cost optimisation",
];
/// Roles: name, description, cost and sales rate in cents (USD, EUR), time category.
type RoleDef = (&'static str, &'static str, [i64; 2], [i64; 2], usize);
const ROLES: [RoleDef; 5] = [
    (
        "Project manager",
        "Plans and leads project delivery",
        [9500, 8800],
        [18500, 17000],
        0,
    ),
    (
        "Solution architect",
        "Designs the solution and owns technical decisions",
        [10500, 9800],
        [21000, 19500],
        1,
    ),
    (
        "Developer",
        "Builds and unit-tests the solution",
        [8000, 7400],
        [15000, 14000],
        1,
    ),
    (
        "Functional consultant",
        "Configures processes and trains users",
        [7500, 7000],
        [14000, 13000],
        0,
    ),
    (
        "Test analyst",
        "Plans and runs system and acceptance tests",
        [6000, 5500],
        [11000, 10000],
        1,
    ),
];
/// Transaction categories: code (project category prefix), name, description, class.
pub(super) const CATEGORIES: [(&str, &str, &str, Class); 6] = [
    ("CONSULT", "Consulting", "Advisory and functional work", Class::Time),
    ("DEV", "Development", "Design, build and test work", Class::Time),
    ("TRAVEL", "Travel", "Flights, rail and car hire", Class::Expense),
    ("HOTEL", "Accommodation", "Hotel nights", Class::Expense),
    ("MEALS", "Meals", "Meals while travelling", Class::Expense),
    (
        "HARDWARE",
        "Hardware",
        "Devices delivered to the customer",
        Class::Material,
    ),
];
/// Products for material: name and cost price in cents.
const PRODUCTS: [(&str, i64); 5] = [
    ("Rugged tablet", 64900),
    ("Barcode scanner", 28950),
    ("Docking station", 18900),
    ("Industrial router", 45500),
    ("Sensor kit", 12475),
];
/// The task tree of every project, parents first: WBS id, subject, and for leaves the start
/// offset from the project start and the duration, in days.
type TaskDef = (&'static str, &'static str, Option<(u64, u64)>);
const TASKS: [TaskDef; 22] = [
    ("1", "Initiation", None),
    ("1.1", "Kick-off", Some((0, 5))),
    ("1.2", "Requirements", None),
    ("1.2.1", "Workshops", Some((5, 15))),
    ("1.2.2", "Specification", Some((14, 20))),
    ("2", "Delivery", None),
    ("2.1", "Design", None),
    ("2.1.1", "Solution design", Some((28, 21))),
    ("2.1.2", "Design review", Some((49, 7))),
    ("2.2", "Build", None),
    ("2.2.1", "Sprint 1", None),
    ("2.2.1.1", "Sprint 1 backlog", Some((56, 28))),
    ("2.2.1.2", "Sprint 1 code review", Some((63, 21))),
    ("2.2.2", "Sprint 2", None),
    ("2.2.2.1", "Sprint 2 backlog", Some((84, 28))),
    ("2.2.2.2", "Sprint 2 code review", Some((91, 21))),
    ("2.3", "Test", None),
    ("2.3.1", "System test", Some((112, 21))),
    ("2.3.2", "User acceptance test", Some((126, 21))),
    ("3", "Closure", None),
    ("3.1", "Go-live", Some((154, 7))),
    ("3.2", "Handover", Some((161, 14))),
];
const MILESTONES: [(&str, i64, u64); MILESTONES_PER_LINE] = [
    ("Milestone 1: design approved", 30, 56),
    ("Milestone 2: build complete", 40, 112),
    ("Milestone 3: go-live", 30, 161),
];

pub(super) struct Company {
    pub id: Uuid,
    pub code: &'static str,
    pub currency: usize,
}

pub(super) struct Unit {
    pub id: Uuid,
    pub company: usize,
}

pub(super) struct Role {
    pub id: Uuid,
    pub name: &'static str,
    pub cost: [i64; 2],
    pub sales: [i64; 2],
    pub category: usize,
}

pub(super) struct Resource {
    pub id: Uuid,
    pub name: &'static str,
    pub unit: usize,
    pub role: usize,
}

pub(super) struct Product {
    pub id: Uuid,
    pub name: &'static str,
    pub cost: i64,
}

pub(super) struct Contract {
    pub id: Uuid,
    pub company: usize,
    pub local: usize,
    pub customer: usize,
    pub second_customer: Option<usize>,
    pub unit: usize,
    pub tm_line: Uuid,
    pub fp_line: Option<Uuid>,
    pub tm_amount: Decimal,
    pub fp_amount: Decimal,
}

pub(super) struct Project {
    pub id: Uuid,
    pub company: usize,
    pub contract: usize,
    pub start: NaiveDate,
    pub finish: NaiveDate,
    /// Indices into `World::tasks` of this project's leaf tasks.
    pub leaves: Vec<usize>,
}

pub(super) struct Task {
    pub id: Uuid,
    pub project: usize,
    pub parent: Option<usize>,
    pub wbs: &'static str,
    pub subject: &'static str,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub effort: Decimal,
}

/// Everything the actuals refer to, derived from the seed.
pub(super) struct World {
    pub seed: u64,
    pub companies: Vec<Company>,
    pub currency_ids: Vec<Uuid>,
    pub units: Vec<Unit>,
    pub accounts: Vec<Uuid>,
    pub roles: Vec<Role>,
    pub categories: Vec<Uuid>,
    pub resources: Vec<Resource>,
    pub products: Vec<Product>,
    pub contracts: Vec<Contract>,
    pub projects: Vec<Project>,
    pub tasks: Vec<Task>,
    /// Projects whose contract has a fixed-price line.
    pub fp_projects: Vec<usize>,
    pub uom_hour: Uuid,
    pub uom_each: Uuid,
}

fn add_days(d: NaiveDate, days: u64) -> NaiveDate {
    d.checked_add_days(Days::new(days)).expect("date in range")
}

impl World {
    pub fn new(seed: u64) -> Self {
        let g = |kind: &str, i: usize| guid(seed, kind, i as u64);
        let companies = (0..COMPANIES.len())
            .map(|c| Company {
                id: g("company", c),
                code: COMPANIES[c],
                currency: COMPANY_CURRENCY[c],
            })
            .collect();
        let units = (0..COMPANIES.len() * UNITS_PER_COMPANY)
            .map(|u| Unit {
                id: g("organizationalunit", u),
                company: u / UNITS_PER_COMPANY,
            })
            .collect();
        let roles = ROLES
            .iter()
            .enumerate()
            .map(|(r, &(name, _, cost, sales, category))| Role {
                id: g("resourcerole", r),
                name,
                cost,
                sales,
                category,
            })
            .collect();
        let resources = (0..COMPANIES.len() * RESOURCES_PER_COMPANY)
            .map(|i| {
                let (c, k) = (i / RESOURCES_PER_COMPANY, i % RESOURCES_PER_COMPANY);
                Resource {
                    id: g("bookableresource", i),
                    name: RESOURCES[c][k],
                    unit: c * UNITS_PER_COMPANY + k % UNITS_PER_COMPANY,
                    role: k % ROLES.len(),
                }
            })
            .collect();
        let products = PRODUCTS
            .iter()
            .enumerate()
            .map(|(i, &(name, cost))| Product {
                id: g("product", i),
                name,
                cost,
            })
            .collect();
        let mut world = World {
            seed,
            companies,
            currency_ids: (0..CURRENCIES.len()).map(|i| g("currency", i)).collect(),
            units,
            accounts: (0..COMPANIES.len() * ACCOUNTS_PER_COMPANY)
                .map(|i| g("account", i))
                .collect(),
            roles,
            categories: (0..CATEGORIES.len()).map(|i| g("transactioncategory", i)).collect(),
            resources,
            products,
            contracts: Vec::new(),
            projects: Vec::new(),
            tasks: Vec::new(),
            fp_projects: Vec::new(),
            uom_hour: g("unitofmeasure", 0),
            uom_each: g("unitofmeasure", 1),
        };
        for i in 0..COMPANIES.len() * CONTRACTS_PER_COMPANY {
            world.add_contract_and_project(i);
        }
        world
    }

    fn add_contract_and_project(&mut self, i: usize) {
        let seed = self.seed;
        let (c, k) = (i / CONTRACTS_PER_COMPANY, i % CONTRACTS_PER_COMPANY);
        let mut rng = Rng::for_record(seed, "contract", i as u64);
        let fixed = has_fixed_price(k);
        self.contracts.push(Contract {
            id: guid(seed, "contract", i as u64),
            company: c,
            local: k,
            customer: c * ACCOUNTS_PER_COMPANY + k,
            second_customer: is_split(k).then_some(c * ACCOUNTS_PER_COMPANY + k + 3),
            unit: c * UNITS_PER_COMPANY + k % UNITS_PER_COMPANY,
            tm_line: guid(seed, "contractline", 2 * i as u64),
            fp_line: fixed.then(|| guid(seed, "contractline", 2 * i as u64 + 1)),
            tm_amount: Decimal::from(rng.range(150, 400) * 1000),
            fp_amount: if fixed {
                Decimal::from(rng.range(60, 180) * 1000)
            } else {
                Decimal::ZERO
            },
        });
        let start = add_days(
            NaiveDate::from_ymd_opt(2026, 5, 4).expect("valid date"),
            7 * rng.range(0, 4) as u64,
        );
        let p = self.projects.len();
        let first_task = self.tasks.len();
        let mut leaves = Vec::new();
        for (t, &(wbs, subject, span)) in TASKS.iter().enumerate() {
            let parent = wbs
                .rfind('.')
                .map(|dot| first_task + TASKS.iter().position(|x| x.0 == &wbs[..dot]).expect("parent"));
            let (task_start, end, effort) = match span {
                Some((offset, days)) => {
                    leaves.push(first_task + t);
                    (
                        add_days(start, offset),
                        add_days(start, offset + days - 1),
                        Decimal::from(rng.range(4, 40) * 4),
                    )
                }
                None => (start, start, Decimal::ZERO),
            };
            self.tasks.push(Task {
                id: guid(seed, "projecttask", (p * TASKS.len() + t) as u64),
                project: p,
                parent,
                wbs,
                subject,
                start: task_start,
                end,
                effort,
            });
        }
        // Summary tasks span and sum their leaves.
        for t in first_task..self.tasks.len() {
            if TASKS[t - first_task].2.is_some() {
                continue;
            }
            let prefix = format!("{}.", self.tasks[t].wbs);
            let under: Vec<usize> = leaves
                .iter()
                .copied()
                .filter(|&l| self.tasks[l].wbs.starts_with(&prefix))
                .collect();
            self.tasks[t].start = under.iter().map(|&l| self.tasks[l].start).min().expect("leaves");
            self.tasks[t].end = under.iter().map(|&l| self.tasks[l].end).max().expect("leaves");
            self.tasks[t].effort = under.iter().map(|&l| self.tasks[l].effort).sum();
        }
        if fixed {
            self.fp_projects.push(p);
        }
        self.projects.push(Project {
            id: guid(seed, "project", p as u64),
            company: c,
            contract: i,
            start,
            finish: add_days(start, 181),
            leaves,
        });
    }

    pub fn currency_of(&self, company: usize) -> Uuid {
        self.currency_ids[self.companies[company].currency]
    }

    fn customer_name(&self, account: usize) -> &'static str {
        CUSTOMERS[account / ACCOUNTS_PER_COMPANY][account % ACCOUNTS_PER_COMPANY]
    }

    fn project_name(&self, p: usize) -> String {
        let contract = &self.contracts[self.projects[p].contract];
        format!(
            "{} ({})",
            ENGAGEMENTS[contract.local],
            self.customer_name(contract.customer)
        )
    }
}

/// Sales price of material: cost plus 25 %, in whole cents.
pub(super) fn markup(cost_cents: i64) -> i64 {
    (cost_cents * 125 + 50) / 100
}

/// Row counts of the master tables, computed from the constants.
pub(super) struct MasterCounts {
    pub tables: Vec<(&'static str, u64)>,
    pub work_based_contracts: u64,
    pub item_based_orders: u64,
    pub time_and_material_lines: u64,
    pub fixed_price_lines: u64,
    pub product_lines: u64,
    pub expense_estimate_lines: u64,
    pub material_estimate_lines: u64,
}

pub(super) fn counts() -> MasterCounts {
    let companies = COMPANIES.len() as u64;
    let per_company = |f: fn(usize) -> bool| companies * (0..CONTRACTS_PER_COMPANY).filter(|&k| f(k)).count() as u64;
    let contracts = companies * CONTRACTS_PER_COMPANY as u64;
    let fixed = per_company(has_fixed_price);
    let split = per_company(is_split);
    let item_orders = companies;
    let product_lines = item_orders * PRODUCT_LINES_PER_ORDER as u64;
    let projects = contracts;
    let leaves = TASKS.iter().filter(|t| t.2.is_some()).count() as u64;
    let expense_lines = projects * 2 * EXPENSE_ESTIMATE_CATEGORIES.len() as u64;
    let material_lines = projects * 2 * MATERIAL_ESTIMATES as u64;
    MasterCounts {
        tables: vec![
            ("transactioncurrencies", CURRENCIES.len() as u64),
            ("cdm_companies", companies),
            ("msdyn_organizationalunits", companies * UNITS_PER_COMPANY as u64),
            ("accounts", companies * ACCOUNTS_PER_COMPANY as u64),
            ("bookableresourcecategories", ROLES.len() as u64),
            ("msdyn_transactioncategories", CATEGORIES.len() as u64),
            ("salesorders", contracts + item_orders),
            ("msdyn_projectcontractsplitbillingrules", contracts + split),
            ("msdyn_projects", projects),
            ("salesorderdetails", contracts + fixed + product_lines),
            ("msdyn_contractlinescheduleofvalues", fixed * MILESTONES_PER_LINE as u64),
            ("msdyn_projecttasks", projects * TASKS.len() as u64),
            ("msdyn_resourceassignments", projects * leaves),
            ("msdyn_estimatelines", expense_lines + material_lines),
        ],
        work_based_contracts: contracts,
        item_based_orders: item_orders,
        time_and_material_lines: contracts,
        fixed_price_lines: fixed,
        product_lines,
        expense_estimate_lines: expense_lines,
        material_estimate_lines: material_lines,
    }
}
