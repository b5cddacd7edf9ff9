//! The accounting prerequisites: legal entities, currencies, exchange rates, fiscal periods,
//! number sequences, parameters, line properties, posting setup and project categories. The
//! synced entities are left empty: the sync engine fills them.

use super::master::{CATEGORIES, COMPANY_NAMES, CURRENCY_NAMES, World};
use super::{
    COMPANIES, COMPANY_CURRENCY, CURRENCIES, Cells, FISCAL_MONTHS, SeedBatch, Table, exchange_rate, int, month_end,
    month_start, rate, text,
};
use crate::value::Value;

/// Integration journal grouping per company (the schema allows Days, Months, Years, All).
const PERIOD_UNITS: [&str; 2] = ["Months", "Days"];
const PARALLEL_TASKS: [i64; 2] = [4, 1];
/// Number sequences per company: code, format after the company prefix, highest number.
const SEQUENCES: [(&str, &str, Option<i64>); 4] = [
    ("ProjVoucher", "PJV-######", Some(999_999)),
    ("ProjJournal", "PJN-######", Some(999_999)),
    ("ProjTransId", "PTR-#########", None),
    ("ProjInvoice", "PIV-######", Some(999_999)),
];
/// Sales tax per company: codes (code, percent, tax account), the billing sales tax group and
/// its codes, and the item sales tax groups with theirs.
struct TaxDemo {
    codes: &'static [(&'static str, &'static str, &'static str)],
    group: (&'static str, &'static [&'static str]),
    item_groups: &'static [(&'static str, &'static [&'static str])],
}
const TAX: [TaxDemo; 2] = [
    TaxDemo {
        codes: &[
            ("ST-TX", "6.25", "222100"),
            ("CITY-AUS", "2.00", "222110"),
            ("EXEMPT", "0.00", "222190"),
        ],
        group: ("TX-AUSTIN", &["ST-TX", "CITY-AUS", "EXEMPT"]),
        item_groups: &[
            ("SERVICE", &["ST-TX", "CITY-AUS"]),
            ("EXPENSE", &["ST-TX"]),
            ("GOODS", &["ST-TX", "CITY-AUS"]),
            ("EXEMPT", &["EXEMPT"]),
        ],
    },
    TaxDemo {
        codes: &[("VAT19", "19.00", "222200"), ("VAT7", "7.00", "222210")],
        group: ("DE-DOMESTIC", &["VAT19", "VAT7"]),
        item_groups: &[
            ("SERVICE", &["VAT19"]),
            ("EXPENSE", &["VAT19"]),
            ("GOODS", &["VAT19"]),
            ("REDUCED", &["VAT7"]),
        ],
    },
];
/// The item sales tax group of a project category, by its transaction type.
fn item_tax_group(transaction_type: &str) -> &'static str {
    match transaction_type {
        "Expense" => "EXPENSE",
        "Item" => "GOODS",
        _ => "SERVICE",
    }
}
/// Line properties: id, name, to be invoiced.
const LINE_PROPERTIES: [(&str, &str, bool); 3] = [
    ("Chargeable", "Chargeable", true),
    ("NonCharge", "Non-chargeable", false),
    ("Complimentary", "Complimentary", false),
];
/// Billing type -> line property.
const LINE_PROPERTY_MAPPING: [(&str, &str); 5] = [
    ("NotSpecified", "NonCharge"),
    ("Chargeable", "Chargeable"),
    ("NonChargeable", "NonCharge"),
    ("Complimentary", "Complimentary"),
    ("NotAvailable", "NonCharge"),
];
/// Posting setup: transaction type, class ('All' = fallback), debit and credit main account.
const POSTING: [(&str, &str, &str, &str); 6] = [
    ("Cost", "Time", "600100", "200400"),
    ("Cost", "Expense", "600200", "200500"),
    ("Cost", "Material", "600300", "140300"),
    ("Cost", "All", "600900", "200900"),
    ("UnbilledSales", "All", "130100", "400100"),
    ("BilledSales", "All", "130200", "400200"),
];
/// The shared category transaction types a transaction category fans out to.
const TRANSACTION_TYPES: [&str; 4] = ["Hour", "Expense", "Item", "Fee"];
/// Project category for actuals without a transaction category.
const DEFAULT_CATEGORY: &str = "CONSULT-HOUR";

/// The project category id of a transaction category and a transaction type, e.g. TRAVEL-EXPENSE.
pub(super) fn project_category_id(category: usize, transaction_type: &str) -> String {
    format!("{}-{}", CATEGORIES[category].0, transaction_type.to_ascii_uppercase())
}

pub(super) fn tables(world: &World) -> Vec<SeedBatch> {
    let mut companies = Table::new("CompanyInfo");
    let mut currencies = Table::new("Currency");
    let mut rates = Table::new("ExchangeRate");
    let mut periods = Table::new("LedgerFiscalPeriod");
    let mut sequences = Table::new("NumberSequenceTable");
    let mut parameters = Table::new("ProjParameters");
    let mut properties = Table::new("ProjLineProperty");
    let mut mapping = Table::new("ProjCDSLinePropertyMapping");
    let mut posting = Table::new("ProjLedgerPostingSetup");
    let mut categories = Table::new("ProjCategory");
    let mut tax_codes = Table::new("TaxTable");
    let mut tax_groups = Table::new("TaxGroupData");
    let mut tax_items = Table::new("TaxOnItem");

    for (i, &code) in CURRENCIES.iter().enumerate() {
        currencies.push(vec![
            ("CurrencyCode", text(code)),
            ("Name", text(CURRENCY_NAMES[i].0)),
            ("Precision", int(2)),
            ("TransactionCurrencyId", Value::Guid(world.currency_ids[i])),
        ]);
    }
    for m in 0..FISCAL_MONTHS {
        for (from, &from_code) in CURRENCIES.iter().enumerate() {
            for (to, &to_code) in CURRENCIES.iter().enumerate() {
                let last = m + 1 == FISCAL_MONTHS;
                rates.push(vec![
                    ("FromCurrencyCode", text(from_code)),
                    ("ToCurrencyCode", text(to_code)),
                    ("ValidFrom", Value::Date(month_start(m))),
                    ("ValidTo", if last { Value::Null } else { Value::Date(month_end(m)) }),
                    ("Rate", rate(exchange_rate(from, to, m as usize))),
                ]);
            }
        }
    }
    for (c, &company) in COMPANIES.iter().enumerate() {
        companies.push(vec![
            ("DataAreaId", text(company)),
            ("Name", text(COMPANY_NAMES[c])),
            ("AccountingCurrency", text(CURRENCIES[COMPANY_CURRENCY[c]])),
            ("ReportingCurrency", text("USD")),
            ("InIntegrationScope", Value::Bool(true)),
        ]);
        for m in 0..FISCAL_MONTHS {
            periods.push(vec![
                ("DataAreaId", text(company)),
                ("StartDate", Value::Date(month_start(m))),
                ("EndDate", Value::Date(month_end(m))),
                ("Name", text(month_start(m).format("%Y-%m").to_string())),
                ("Status", text(if m == 0 { "Closed" } else { "Open" })),
            ]);
        }
        for &(code, format, highest) in &SEQUENCES {
            sequences.push(vec![
                ("DataAreaId", text(company)),
                ("NumberSequenceCode", text(code)),
                ("Format", text(format!("{company}-{format}"))),
                ("NextNumber", int(1)),
                ("Highest", highest.map_or(Value::Null, int)),
            ]);
        }
        parameters.push(vec![
            ("DataAreaId", text(company)),
            ("IntegrationJournalPeriodUnit", text(PERIOD_UNITS[c])),
            ("AutoSetAccountingDateToOpenPeriod", Value::Bool(true)),
            ("DefaultProjectCategoryId", text(DEFAULT_CATEGORY)),
            ("VoucherNumberSequenceCode", text(SEQUENCES[0].0)),
            ("JournalNumberSequenceCode", text(SEQUENCES[1].0)),
            ("TransIdNumberSequenceCode", text(SEQUENCES[2].0)),
            ("TransferLinesWithPostingErrors", Value::Bool(true)),
            ("BatchPostingLineThreshold", int(100)),
            ("PostingParallelTasks", int(PARALLEL_TASKS[c])),
            ("SalesTaxGroup", text(TAX[c].group.0)),
            ("MilestoneItemSalesTaxGroup", text("SERVICE")),
            ("InvoiceNumberSequenceCode", text(SEQUENCES[3].0)),
            (super::documents::ACCOUNTS[0].0, text(super::documents::ACCOUNTS[0].1)),
            (super::documents::ACCOUNTS[1].0, text(super::documents::ACCOUNTS[1].1)),
            (super::documents::ACCOUNTS[2].0, text(super::documents::ACCOUNTS[2].1)),
            (super::documents::ACCOUNTS[3].0, text(super::documents::ACCOUNTS[3].1)),
        ]);
        let tax = &TAX[c];
        for &(code, rate, account) in tax.codes {
            tax_codes.push(vec![
                ("DataAreaId", text(company)),
                ("TaxCode", text(code)),
                ("Name", text(format!("{code} ({rate} %)"))),
                (
                    "Rate",
                    Value::Decimal(super::fit(rate.parse().expect("a demo tax rate"), 4)),
                ),
                ("TaxAccount", text(account)),
            ]);
        }
        for &code in tax.group.1 {
            tax_groups.push(vec![
                ("DataAreaId", text(company)),
                ("TaxGroup", text(tax.group.0)),
                ("TaxCode", text(code)),
            ]);
        }
        for &(group, codes) in tax.item_groups {
            for &code in codes {
                tax_items.push(vec![
                    ("DataAreaId", text(company)),
                    ("TaxItemGroup", text(group)),
                    ("TaxCode", text(code)),
                ]);
            }
        }
        for &(id, name, invoiced) in &LINE_PROPERTIES {
            properties.push(vec![
                ("DataAreaId", text(company)),
                ("LinePropertyId", text(id)),
                ("Name", text(name)),
                ("ToBeInvoiced", Value::Bool(invoiced)),
            ]);
        }
        for &(billing, property) in &LINE_PROPERTY_MAPPING {
            mapping.push(vec![
                ("DataAreaId", text(company)),
                ("BillingType", text(billing)),
                ("LinePropertyId", text(property)),
            ]);
        }
        for &(ttype, class, debit, credit) in &POSTING {
            posting.push(vec![
                ("DataAreaId", text(company)),
                ("TransType", text(ttype)),
                ("TransactionClassification", text(class)),
                ("DebitMainAccount", text(debit)),
                ("CreditMainAccount", text(credit)),
            ]);
        }
        for (k, &id) in world.categories.iter().enumerate() {
            for &ttype in &TRANSACTION_TYPES {
                let cells: Cells = vec![
                    ("DataAreaId", text(company)),
                    ("CategoryId", text(project_category_id(k, ttype))),
                    (
                        "Name",
                        text(format!("{} ({})", CATEGORIES[k].1, ttype.to_ascii_lowercase())),
                    ),
                    ("SharedCategoryId", Value::Guid(id)),
                    ("TransactionType", text(ttype)),
                    ("ItemSalesTaxGroup", text(item_tax_group(ttype))),
                ];
                categories.push(cells);
            }
        }
    }
    let mut out: Vec<SeedBatch> = [
        companies, currencies, rates, periods, sequences, parameters, properties, mapping, posting, categories,
        tax_codes, tax_groups, tax_items,
    ]
    .into_iter()
    .map(Table::finish)
    .collect();
    out.extend(super::documents::tables(world));
    out
}

/// Row counts of `tables`, computed from the constants (and the documents from the projects).
pub(super) fn counts(world: &World) -> Vec<(&'static str, u64)> {
    let companies = COMPANIES.len() as u64;
    let currencies = CURRENCIES.len() as u64;
    let months = u64::from(FISCAL_MONTHS);
    vec![
        ("CompanyInfo", companies),
        ("Currency", currencies),
        ("ExchangeRate", currencies * currencies * months),
        ("LedgerFiscalPeriod", companies * months),
        ("NumberSequenceTable", companies * SEQUENCES.len() as u64),
        ("ProjParameters", companies),
        ("ProjLineProperty", companies * LINE_PROPERTIES.len() as u64),
        (
            "ProjCDSLinePropertyMapping",
            companies * LINE_PROPERTY_MAPPING.len() as u64,
        ),
        ("ProjLedgerPostingSetup", companies * POSTING.len() as u64),
        (
            "ProjCategory",
            companies * (CATEGORIES.len() * TRANSACTION_TYPES.len()) as u64,
        ),
        ("TaxTable", TAX.iter().map(|t| t.codes.len() as u64).sum()),
        ("TaxGroupData", TAX.iter().map(|t| t.group.1.len() as u64).sum()),
        (
            "TaxOnItem",
            TAX.iter()
                .flat_map(|t| t.item_groups.iter().map(|g| g.1.len() as u64))
                .sum(),
        ),
    ]
    .into_iter()
    .chain(super::documents::counts(world))
    .collect()
}
