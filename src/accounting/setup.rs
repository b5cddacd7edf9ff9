//! The accounting setup the journal processes read, per legal entity: parameters, accounting
//! currency, fiscal periods, line-property mapping, project categories, posting setup, sales
//! tax, and the currencies and exchange rates shared by all. Loaded once per run.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::db::{Cells, Db, setup_error};
use super::tax::{TaxCode, TaxSetup};
use crate::store::Result;
use crate::value::ValueType;

/// How actuals are grouped into integration journals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodUnit {
    Days,
    Months,
    Years,
    All,
}

impl PeriodUnit {
    pub fn parse(s: &str) -> Option<PeriodUnit> {
        Some(match s {
            "Days" => PeriodUnit::Days,
            "Months" => PeriodUnit::Months,
            "Years" => PeriodUnit::Years,
            "All" => PeriodUnit::All,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            PeriodUnit::Days => "Days",
            PeriodUnit::Months => "Months",
            PeriodUnit::Years => "Years",
            PeriodUnit::All => "All",
        }
    }

    /// The journal group of a transaction date: `2024-01-31`, `2024-01`, `2024` or `All`.
    pub fn key(self, date: NaiveDate) -> String {
        match self {
            PeriodUnit::Days => date.format("%Y-%m-%d").to_string(),
            PeriodUnit::Months => date.format("%Y-%m").to_string(),
            PeriodUnit::Years => date.format("%Y").to_string(),
            PeriodUnit::All => "All".to_string(),
        }
    }
}

/// One fiscal period of a legal entity.
#[derive(Debug, Clone)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub open: bool,
}

/// The setup of one legal entity.
#[derive(Debug, Clone)]
pub struct Company {
    pub id: String,
    pub accounting_currency: String,
    pub period_unit: PeriodUnit,
    pub auto_accounting_date: bool,
    pub default_category: Option<String>,
    pub voucher_sequence: Option<String>,
    pub journal_sequence: Option<String>,
    pub trans_id_sequence: Option<String>,
    pub transfer_errors: bool,
    pub batch_threshold: usize,
    pub parallel_tasks: usize,
    /// Sorted by start date.
    pub periods: Vec<Period>,
    /// Billing type (`NotSpecified` for none) -> line property.
    pub line_properties: HashMap<String, String>,
    /// (shared category, transaction type Hour/Expense/Item/Fee) -> project category.
    pub categories: HashMap<(Uuid, String), String>,
    /// (transaction type, classification or `All`) -> (debit, credit) main accounts.
    pub posting: HashMap<(String, String), (String, String)>,
    /// Billing sales tax group when neither the project nor the contract names one.
    pub sales_tax_group: Option<String>,
    /// Item sales tax group of milestone billing.
    pub milestone_item_tax_group: Option<String>,
    /// Number sequence of customer invoices.
    pub invoice_sequence: Option<String>,
    /// Project category -> its item sales tax group.
    pub category_tax_groups: HashMap<String, String>,
    pub tax: TaxSetup,
    /// The integration accounts and payables of expense reports and vendor invoices.
    pub integration: IntegrationAccounts,
}

/// Where expense reports and vendor invoices post (`ProjParameters`): each debits its
/// integration account and credits its payable; the journal line of the cost actual that the
/// document becomes credits the integration account again, which clears it.
#[derive(Debug, Clone, Default)]
pub struct IntegrationAccounts {
    pub expense: Option<String>,
    pub expense_payable: Option<String>,
    pub procurement: Option<String>,
    pub vendor_payable: Option<String>,
}

impl Company {
    /// The period holding `date`, if any.
    pub fn period_of(&self, date: NaiveDate) -> Option<&Period> {
        self.periods.iter().find(|p| p.start <= date && date <= p.end)
    }

    /// The ledger date for `date`: itself in an open period; in a closed one, the first date
    /// of the next open period when the parameter says so. `Err` explains why not.
    pub fn accounting_date(&self, date: NaiveDate) -> std::result::Result<NaiveDate, String> {
        match self.period_of(date) {
            None => Err(format!(
                "the accounting date {date} is in no fiscal period of legal entity {}; add the period to LedgerFiscalPeriod",
                self.id
            )),
            Some(p) if p.open => Ok(date),
            Some(p) if self.auto_accounting_date => self
                .periods
                .iter()
                .find(|q| q.open && q.start > p.end)
                .map(|q| q.start)
                .ok_or_else(|| {
                    format!(
                        "the accounting date {date} is in the closed period {}..{} of legal entity {} and no later period is open",
                        p.start, p.end, self.id
                    )
                }),
            Some(p) => Err(format!(
                "the accounting date {date} is in the closed period {}..{} of legal entity {}; open the period, or turn on \
                 AutoSetAccountingDateToOpenPeriod in ProjParameters",
                p.start, p.end, self.id
            )),
        }
    }

    /// The sales tax group and item sales tax group of a sales line: the project's group, else
    /// the contract's, else the parameter; the item group of the project category, or the
    /// milestone parameter for milestones.
    pub fn tax_groups(
        &self,
        classification: &str,
        category: Option<&str>,
        project_group: Option<String>,
        contract_group: Option<String>,
    ) -> (Option<String>, Option<String>) {
        let group = project_group
            .or(contract_group)
            .or_else(|| self.sales_tax_group.clone());
        let item = if classification == "Milestone" {
            self.milestone_item_tax_group.clone()
        } else {
            category.and_then(|c| self.category_tax_groups.get(c).cloned())
        };
        (group, item)
    }

    /// The debit and credit accounts of a transaction type and classification (`All` is the fallback).
    pub fn accounts(&self, trans_type: &str, classification: &str) -> Option<&(String, String)> {
        self.posting
            .get(&(trans_type.to_string(), classification.to_string()))
            .or_else(|| self.posting.get(&(trans_type.to_string(), "All".to_string())))
    }
}

/// A currency exchange rate valid over a range of dates.
#[derive(Debug, Clone)]
struct Rate {
    from: String,
    to: String,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    rate: Decimal,
}

/// Everything the processes look up, for every legal entity.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub companies: HashMap<String, Company>,
    /// Operational currency GUID -> currency code.
    pub currency_codes: HashMap<Uuid, String>,
    /// Currency code -> rounding precision.
    pub precision: HashMap<String, u32>,
    rates: Vec<Rate>,
}

impl Setup {
    pub fn company(&self, id: &str) -> Result<&Company> {
        self.companies.get(id).ok_or_else(|| {
            setup_error(
                format!("legal entity {id} has no ProjParameters or CompanyInfo row"),
                "add the legal entity's project parameters, then run again",
            )
        })
    }

    /// The rate converting `from` into `to` on `date` (1 for the same currency).
    pub fn rate(&self, from: &str, to: &str, date: NaiveDate) -> Option<Decimal> {
        if from == to {
            return Some(Decimal::ONE);
        }
        self.rates
            .iter()
            .filter(|r| r.from == from && r.to == to && r.valid_from <= date && r.valid_to.is_none_or(|t| date <= t))
            .max_by_key(|r| r.valid_from)
            .map(|r| r.rate)
    }

    /// `amount` rounded to the precision of `currency` (2 when unknown), half away from zero.
    pub fn round(&self, amount: Decimal, currency: &str) -> Decimal {
        let dp = self.precision.get(currency).copied().unwrap_or(2);
        amount.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    }

    /// Reads the whole setup.
    pub async fn load(db: &Db) -> Result<Setup> {
        use ValueType::{Bool, Date, Decimal as Dec, Guid, Int, Text};
        let mut setup = Setup::default();
        for row in db
            .fetch(
                // Precision is an `int` column (INT4 on PostgreSQL): widen it to the 64 bits read.
                "SELECT \"CurrencyCode\", CAST(\"Precision\" AS BIGINT), \"TransactionCurrencyId\" FROM \"Currency\"",
                &[],
                &[Text, Int, Guid],
            )
            .await?
        {
            let mut c = Cells::new(row);
            let code = c.text().unwrap_or_default();
            let precision = c.int().unwrap_or(2).clamp(0, 10) as u32;
            if let Some(id) = c.guid() {
                setup.currency_codes.insert(id, code.clone());
            }
            setup.precision.insert(code, precision);
        }
        for row in db
            .fetch(
                "SELECT \"FromCurrencyCode\", \"ToCurrencyCode\", \"ValidFrom\", \"ValidTo\", \"Rate\" FROM \"ExchangeRate\"",
                &[],
                &[Text, Text, Date, Date, Dec],
            )
            .await?
        {
            let mut c = Cells::new(row);
            let (from, to, valid_from, valid_to, rate) = (c.text(), c.text(), c.date(), c.date(), c.dec());
            if let (Some(from), Some(to), Some(valid_from), Some(rate)) = (from, to, valid_from, rate) {
                setup.rates.push(Rate {
                    from,
                    to,
                    valid_from,
                    valid_to,
                    rate,
                });
            }
        }
        let params = db
            .fetch(
                "SELECT p.\"DataAreaId\", c.\"AccountingCurrency\", p.\"IntegrationJournalPeriodUnit\", \
                 p.\"AutoSetAccountingDateToOpenPeriod\", p.\"DefaultProjectCategoryId\", p.\"VoucherNumberSequenceCode\", \
                 p.\"JournalNumberSequenceCode\", p.\"TransIdNumberSequenceCode\", p.\"TransferLinesWithPostingErrors\", \
                 p.\"BatchPostingLineThreshold\", p.\"PostingParallelTasks\", p.\"SalesTaxGroup\", \
                 p.\"MilestoneItemSalesTaxGroup\", p.\"InvoiceNumberSequenceCode\", p.\"ExpenseIntegrationAccount\", \
                 p.\"ExpensePayableAccount\", p.\"ProcurementIntegrationAccount\", p.\"VendorPayableAccount\" \
                 FROM \"ProjParameters\" p JOIN \"CompanyInfo\" c ON c.\"DataAreaId\" = p.\"DataAreaId\"",
                &[],
                &[
                    Text, Text, Text, Bool, Text, Text, Text, Text, Bool, Int, Int, Text, Text, Text, Text, Text, Text, Text,
                ],
            )
            .await?;
        for row in params {
            let mut c = Cells::new(row);
            let id = c.text().unwrap_or_default();
            let company = Company {
                accounting_currency: c.text().unwrap_or_default(),
                period_unit: c
                    .text()
                    .as_deref()
                    .and_then(PeriodUnit::parse)
                    .unwrap_or(PeriodUnit::Days),
                auto_accounting_date: c.boolean(),
                default_category: c.text(),
                voucher_sequence: c.text(),
                journal_sequence: c.text(),
                trans_id_sequence: c.text(),
                transfer_errors: c.boolean(),
                batch_threshold: c.int().unwrap_or(100).max(1) as usize,
                parallel_tasks: c.int().unwrap_or(1).clamp(1, 64) as usize,
                periods: Vec::new(),
                line_properties: HashMap::new(),
                categories: HashMap::new(),
                posting: HashMap::new(),
                sales_tax_group: c.text(),
                milestone_item_tax_group: c.text(),
                invoice_sequence: c.text(),
                category_tax_groups: HashMap::new(),
                tax: TaxSetup::default(),
                integration: IntegrationAccounts {
                    expense: c.text(),
                    expense_payable: c.text(),
                    procurement: c.text(),
                    vendor_payable: c.text(),
                },
                id: id.clone(),
            };
            setup.companies.insert(id, company);
        }
        for row in db
            .fetch(
                "SELECT \"DataAreaId\", \"StartDate\", \"EndDate\", \"Status\" FROM \"LedgerFiscalPeriod\" ORDER BY \"StartDate\"",
                &[],
                &[Text, Date, Date, Text],
            )
            .await?
        {
            let mut c = Cells::new(row);
            let (id, start, end, status) = (c.text().unwrap_or_default(), c.date(), c.date(), c.text());
            if let (Some(company), Some(start), Some(end)) = (setup.companies.get_mut(&id), start, end) {
                company.periods.push(Period {
                    start,
                    end,
                    open: status.as_deref() == Some("Open"),
                });
            }
        }
        for row in db
            .fetch(
                "SELECT \"DataAreaId\", \"BillingType\", \"LinePropertyId\" FROM \"ProjCDSLinePropertyMapping\"",
                &[],
                &[Text, Text, Text],
            )
            .await?
        {
            let mut c = Cells::new(row);
            let (id, billing, property) = (c.text().unwrap_or_default(), c.text(), c.text());
            if let (Some(company), Some(billing), Some(property)) = (setup.companies.get_mut(&id), billing, property) {
                company.line_properties.insert(billing, property);
            }
        }
        for row in db
            .fetch(
                "SELECT \"DataAreaId\", \"SharedCategoryId\", \"TransactionType\", \"CategoryId\", \"ItemSalesTaxGroup\" \
                 FROM \"ProjCategory\"",
                &[],
                &[Text, Guid, Text, Text, Text],
            )
            .await?
        {
            let mut c = Cells::new(row);
            let (id, shared, ttype, category) = (c.text().unwrap_or_default(), c.guid(), c.text(), c.text());
            let Some(company) = setup.companies.get_mut(&id) else { continue };
            if let (Some(category), Some(group)) = (&category, c.text()) {
                company.category_tax_groups.insert(category.clone(), group);
            }
            if let (Some(shared), Some(ttype), Some(category)) = (shared, ttype, category) {
                company.categories.insert((shared, ttype), category);
            }
        }
        load_tax(db, &mut setup).await?;
        for row in db
            .fetch(
                "SELECT \"DataAreaId\", \"TransType\", \"TransactionClassification\", \"DebitMainAccount\", \
                 \"CreditMainAccount\" FROM \"ProjLedgerPostingSetup\"",
                &[],
                &[Text, Text, Text, Text, Text],
            )
            .await?
        {
            let mut c = Cells::new(row);
            let id = c.text().unwrap_or_default();
            let (ttype, class, debit, credit) = (c.text(), c.text(), c.text(), c.text());
            if let (Some(company), Some(ttype), Some(class), Some(debit), Some(credit)) =
                (setup.companies.get_mut(&id), ttype, class, debit, credit)
            {
                company.posting.insert((ttype, class), (debit, credit));
            }
        }
        Ok(setup)
    }
}

/// The sales tax codes, groups and item groups of every legal entity.
async fn load_tax(db: &Db, setup: &mut Setup) -> Result<()> {
    use ValueType::{Decimal as Dec, Text};
    for row in db
        .fetch(
            "SELECT \"DataAreaId\", \"TaxCode\", \"Rate\", \"TaxAccount\" FROM \"TaxTable\"",
            &[],
            &[Text, Text, Dec, Text],
        )
        .await?
    {
        let mut c = Cells::new(row);
        let (id, code, rate, account) = (c.text().unwrap_or_default(), c.text(), c.dec(), c.text());
        if let (Some(company), Some(code), Some(rate), Some(account)) =
            (setup.companies.get_mut(&id), code, rate, account)
        {
            company.tax.codes.insert(code, TaxCode { rate, account });
        }
    }
    for (table, group_column, item) in [("TaxGroupData", "TaxGroup", false), ("TaxOnItem", "TaxItemGroup", true)] {
        for row in db
            .fetch(
                &format!("SELECT \"DataAreaId\", \"{group_column}\", \"TaxCode\" FROM \"{table}\""),
                &[],
                &[Text, Text, Text],
            )
            .await?
        {
            let mut c = Cells::new(row);
            let (id, group, code) = (c.text().unwrap_or_default(), c.text(), c.text());
            if let (Some(company), Some(group), Some(code)) = (setup.companies.get_mut(&id), group, code) {
                let groups = if item {
                    &mut company.tax.item_groups
                } else {
                    &mut company.tax.groups
                };
                groups.entry(group).or_default().insert(code);
            }
        }
    }
    Ok(())
}

/// The shared-category transaction type of a transaction classification.
pub fn category_type(classification: &str) -> &'static str {
    match classification {
        "Time" => "Hour",
        "Expense" => "Expense",
        "Material" => "Item",
        _ => "Fee",
    }
}
