//! Readers of what the accounting processes wrote, for the accounting tests: journal lines,
//! journals, the subledger and the ledger, and `Books::check_ledger`, which checks every posted
//! actual once, balanced and written back.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use dualsync::value::ValueType;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::books::{Books, round_to};
use dualsync::accounting::db;

#[derive(Debug, Clone)]
pub struct Line {
    pub company: String,
    pub journal: String,
    pub line_num: i64,
    pub actual: Uuid,
    pub trans_date: NaiveDate,
    pub accounting_date: Option<NaiveDate>,
    pub voucher: String,
    pub category: Option<String>,
    pub line_property: Option<String>,
    pub currency: String,
    pub rate: Decimal,
    pub amount_cur: Decimal,
    pub amount_mst: Decimal,
    pub status: String,
    pub error: Option<String>,
    pub tax_group: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Journal {
    pub id: String,
    pub unit: String,
    pub key: String,
    pub status: String,
    pub original: Option<String>,
}

/// A `ProjPostedTransTable` row.
#[derive(Debug, Clone)]
pub struct Posted {
    pub company: String,
    pub actual: Uuid,
    pub journal: String,
    pub voucher: String,
    pub category: Option<String>,
    pub line_property: Option<String>,
    pub trans_date: NaiveDate,
    pub accounting_date: NaiveDate,
    pub currency: String,
    pub rate: Decimal,
    pub amount_cur: Decimal,
    pub amount_mst: Decimal,
    pub tax: Decimal,
    pub trans_type: String,
}

/// A `GeneralJournalAccountEntry` row.
#[derive(Debug, Clone)]
pub struct Entry {
    pub company: String,
    pub voucher: String,
    pub accounting_date: NaiveDate,
    pub account: String,
    pub currency: String,
    pub amount_cur: Decimal,
    pub amount_mst: Decimal,
    pub credit: bool,
    pub actual: Option<Uuid>,
}

impl Books {
    pub async fn lines(&self) -> Vec<Line> {
        use ValueType::{Date, Decimal as D, Guid, Int, Text};
        self.rows(
            "SELECT \"DataAreaId\", \"JournalId\", \"LineNum\", \"ActualId\", \"TransDate\", \"AccountingDate\", \
             \"Voucher\", \"ProjectCategoryId\", \"LinePropertyId\", \"CurrencyCode\", \"ExchangeRate\", \"AmountCur\", \
             \"AmountMST\", \"Status\", \"ErrorMessage\", \"BillingSalesTaxGroup\" FROM \"ProjCDSIntegrationJournalLine\" \
             ORDER BY \"DataAreaId\", \"JournalId\", \"LineNum\"",
            &[],
            &[Text, Text, Int, Guid, Date, Date, Text, Text, Text, Text, D, D, D, Text, Text, Text],
        )
        .await
        .into_iter()
        .map(|mut c| Line {
            company: c.text().unwrap(),
            journal: c.text().unwrap(),
            line_num: c.int().unwrap(),
            actual: c.guid().unwrap(),
            trans_date: c.date().unwrap(),
            accounting_date: c.date(),
            voucher: c.text().unwrap(),
            category: c.text(),
            line_property: c.text(),
            currency: c.text().unwrap(),
            rate: c.dec().unwrap(),
            amount_cur: c.dec().unwrap(),
            amount_mst: c.dec().unwrap(),
            status: c.text().unwrap(),
            error: c.text(),
            tax_group: c.text(),
        })
        .collect()
    }

    /// The one line of `actual`.
    pub async fn line(&self, actual: Uuid) -> Line {
        let mut found: Vec<Line> = self.lines().await.into_iter().filter(|l| l.actual == actual).collect();
        assert_eq!(found.len(), 1, "one journal line for actual {actual}: {found:?}");
        found.remove(0)
    }

    pub async fn has_line(&self, actual: Uuid) -> bool {
        self.lines().await.iter().any(|l| l.actual == actual)
    }

    pub async fn journals(&self) -> Vec<Journal> {
        use ValueType::Text;
        self.rows(
            "SELECT \"JournalId\", \"PeriodUnit\", \"PeriodKey\", \"Status\", \"OriginalJournalId\" \
             FROM \"ProjCDSIntegrationJournal\" ORDER BY \"DataAreaId\", \"JournalId\"",
            &[],
            &[Text, Text, Text, Text, Text],
        )
        .await
        .into_iter()
        .map(|mut c| Journal {
            id: c.text().unwrap(),
            unit: c.text().unwrap(),
            key: c.text().unwrap(),
            status: c.text().unwrap(),
            original: c.text(),
        })
        .collect()
    }

    pub async fn journal(&self, id: &str) -> Journal {
        self.journals()
            .await
            .into_iter()
            .find(|j| j.id == id)
            .unwrap_or_else(|| panic!("no journal {id}"))
    }

    pub async fn posted(&self) -> Vec<Posted> {
        use ValueType::{Date, Decimal as D, Guid, Text};
        self.rows(
            "SELECT \"DataAreaId\", \"ActualId\", \"JournalId\", \"Voucher\", \"CategoryId\", \"LinePropertyId\", \
             \"TransDate\", \"AccountingDate\", \"CurrencyCode\", \"ExchangeRate\", \"AmountCur\", \"AmountMST\", \
             \"SalesTaxAmount\", \"TransType\" FROM \"ProjPostedTransTable\" ORDER BY \"DataAreaId\", \"TransId\"",
            &[],
            &[Text, Guid, Text, Text, Text, Text, Date, Date, Text, D, D, D, D, Text],
        )
        .await
        .into_iter()
        .map(|mut c| Posted {
            company: c.text().unwrap(),
            actual: c.guid().unwrap(),
            journal: c.text().unwrap(),
            voucher: c.text().unwrap(),
            category: c.text(),
            line_property: c.text(),
            trans_date: c.date().unwrap(),
            accounting_date: c.date().unwrap(),
            currency: c.text().unwrap(),
            rate: c.dec().unwrap(),
            amount_cur: c.dec().unwrap(),
            amount_mst: c.dec().unwrap(),
            tax: c.dec().unwrap(),
            trans_type: c.text().unwrap(),
        })
        .collect()
    }

    /// The subledger row of `actual` (there must be exactly one).
    pub async fn posted_of(&self, actual: Uuid) -> Posted {
        let mut found: Vec<Posted> = self.posted().await.into_iter().filter(|p| p.actual == actual).collect();
        assert_eq!(found.len(), 1, "actual {actual} posted once: {found:?}");
        found.remove(0)
    }

    pub async fn posted_count(&self) -> usize {
        self.count("SELECT COUNT(*) FROM \"ProjPostedTransTable\"", &[]).await as usize
    }

    pub async fn entries(&self) -> Vec<Entry> {
        use ValueType::{Bool, Date, Decimal as D, Guid, Text};
        self.rows(
            "SELECT \"DataAreaId\", \"Voucher\", \"AccountingDate\", \"MainAccount\", \"TransactionCurrencyCode\", \
             \"TransactionCurrencyAmount\", \"AccountingCurrencyAmount\", \"IsCredit\", \"ActualId\" \
             FROM \"GeneralJournalAccountEntry\" ORDER BY \"RecId\"",
            &[],
            &[Text, Text, Date, Text, Text, D, D, Bool, Guid],
        )
        .await
        .into_iter()
        .map(|mut c| Entry {
            company: c.text().unwrap(),
            voucher: c.text().unwrap(),
            accounting_date: c.date().unwrap(),
            account: c.text().unwrap(),
            currency: c.text().unwrap(),
            amount_cur: c.dec().unwrap(),
            amount_mst: c.dec().unwrap(),
            credit: c.boolean(),
            actual: c.guid(),
        })
        .collect()
    }

    /// (debit account, credit account) of the voucher of `actual`.
    pub async fn accounts_of(&self, actual: Uuid) -> (String, String) {
        let es: Vec<Entry> = self
            .entries()
            .await
            .into_iter()
            .filter(|e| e.actual == Some(actual))
            .collect();
        assert_eq!(es.len(), 2, "{es:?}");
        let debit = es.iter().find(|e| !e.credit).unwrap().account.clone();
        let credit = es.iter().find(|e| e.credit).unwrap().account.clone();
        (debit, credit)
    }

    /// `1 from = rate to` on `date`, from the `ExchangeRate` table (1 for one currency).
    pub async fn rate_on(&self, from: &str, to: &str, date: NaiveDate) -> Decimal {
        if from == to {
            return Decimal::ONE;
        }
        use ValueType::{Date, Decimal as D};
        self.rows(
            "SELECT \"Rate\", \"ValidFrom\", \"ValidTo\" FROM \"ExchangeRate\" WHERE \"FromCurrencyCode\" = ? \
             AND \"ToCurrencyCode\" = ?",
            &[db::text(from), db::text(to)],
            &[D, Date, Date],
        )
        .await
        .into_iter()
        .filter_map(|mut c| {
            let (rate, valid_from, valid_to) = (c.dec()?, c.date()?, c.date());
            (valid_from <= date && valid_to.is_none_or(|t| date <= t)).then_some((valid_from, rate))
        })
        .max()
        .unwrap_or_else(|| panic!("no rate {from} -> {to} on {date}"))
        .1
    }

    /// The ledger over everything posted: each actual posted once, a voucher per posted journal
    /// line with one debit and one credit entry that balance in both currencies, the accounting
    /// amount the transaction amount at the rate rounded to the accounting currency's
    /// precision, the posted line carrying the voucher, and the four posted attributes on the
    /// staging row; a voucher per posted invoice that balances in both currencies, whose debits
    /// (receivable) for each billed actual are its amount plus its sales tax, the actual on one
    /// proposal line. Returns the number of posted actuals.
    pub async fn check_ledger(&self) -> usize {
        use ValueType::{Decimal as D, Guid, Int, Text};
        let all_posted = self.posted().await;
        let (invoiced, posted): (Vec<Posted>, Vec<Posted>) =
            all_posted.iter().cloned().partition(|p| p.trans_type == "BilledSales");
        let entries = self.entries().await;
        let lines = self.lines().await;
        let mut precision = HashMap::new();
        for mut c in self
            .rows(
                "SELECT \"CurrencyCode\", CAST(\"Precision\" AS BIGINT) FROM \"Currency\"",
                &[],
                &[Text, Int],
            )
            .await
        {
            precision.insert(c.text().unwrap(), c.int().unwrap() as u32);
        }
        let mut accounting_currency = HashMap::new();
        for mut c in self
            .rows(
                "SELECT \"DataAreaId\", \"AccountingCurrency\" FROM \"CompanyInfo\"",
                &[],
                &[Text, Text],
            )
            .await
        {
            accounting_currency.insert(c.text().unwrap(), c.text().unwrap());
        }
        let mut staged: Staged = HashMap::new();
        for mut c in self
            .rows(
                "SELECT \"ProjectDataAreaId\", \"ActualId\", \"AccountingAmount\", \"ExchangeRate\", \"VoucherNumber\", \
                 \"SalesTaxAmount\" FROM \"ProjCDSActualsImport\"",
                &[],
                &[Text, Guid, D, D, Text, D],
            )
            .await
        {
            let key = (c.text().unwrap(), c.guid().unwrap());
            staged.insert(key, (c.dec(), c.dec(), c.text(), c.dec()));
        }
        let mut by_voucher: HashMap<(String, String), Vec<&Entry>> = HashMap::new();
        for e in &entries {
            by_voucher
                .entry((e.company.clone(), e.voucher.clone()))
                .or_default()
                .push(e);
        }
        let invoice_vouchers: HashSet<(String, String)> = invoiced
            .iter()
            .map(|p| (p.company.clone(), p.voucher.clone()))
            .collect();
        // Expense reports and vendor invoices post their own vouchers (no subledger row: the
        // project cost is their actuals' journal lines); each balances.
        let mut document_vouchers = HashSet::new();
        for table in ["ProjExpenseExportEntity", "VendInvoiceExportsV2"] {
            for mut c in self
                .rows(
                    &format!(
                        "SELECT DISTINCT \"DataAreaId\", \"Voucher\" FROM \"{table}\" WHERE \"Voucher\" IS NOT NULL"
                    ),
                    &[],
                    &[Text, Text],
                )
                .await
            {
                document_vouchers.insert((c.text().unwrap(), c.text().unwrap()));
            }
        }
        for key in &document_vouchers {
            let es = &by_voucher[key];
            let sum_cur: Decimal = es.iter().map(|e| e.amount_cur).sum();
            let sum_mst: Decimal = es.iter().map(|e| e.amount_mst).sum();
            assert_eq!(
                (sum_cur, sum_mst),
                (Decimal::ZERO, Decimal::ZERO),
                "document voucher {key:?} balances"
            );
        }
        assert_eq!(
            by_voucher.len(),
            posted.len() + invoice_vouchers.len() + document_vouchers.len(),
            "one voucher per posted line, invoice or document, and no ledger entry without a subledger row"
        );
        let mut seen = HashSet::new();
        for key in &invoice_vouchers {
            let es = &by_voucher[key];
            let sum_cur: Decimal = es.iter().map(|e| e.amount_cur).sum();
            let sum_mst: Decimal = es.iter().map(|e| e.amount_mst).sum();
            assert_eq!(
                (sum_cur, sum_mst),
                (Decimal::ZERO, Decimal::ZERO),
                "invoice voucher {key:?} balances"
            );
        }
        for p in &invoiced {
            assert!(
                seen.insert((p.company.clone(), p.actual)),
                "actual {} posted twice",
                p.actual
            );
            let debits: Decimal = by_voucher[&(p.company.clone(), p.voucher.clone())]
                .iter()
                .filter(|e| !e.credit && e.actual == Some(p.actual))
                .map(|e| e.amount_cur)
                .sum();
            assert_eq!(debits, p.amount_cur + p.tax, "receivable of billed actual {}", p.actual);
            let on_proposal = self
                .count(
                    "SELECT COUNT(*) FROM \"ProjProposalTrans\" WHERE \"DataAreaId\" = ? AND \"ActualId\" = ?",
                    &[db::text(&p.company), db::guid(p.actual)],
                )
                .await;
            assert_eq!(on_proposal, 1, "billed actual {} on one proposal line", p.actual);
            written_back(&staged, p);
        }
        for p in &posted {
            assert!(
                seen.insert((p.company.clone(), p.actual)),
                "actual {} posted twice",
                p.actual
            );
            let es = &by_voucher[&(p.company.clone(), p.voucher.clone())];
            assert_eq!(es.len(), 2, "two ledger entries for voucher {}: {es:?}", p.voucher);
            let sum_cur: Decimal = es.iter().map(|e| e.amount_cur).sum();
            let sum_mst: Decimal = es.iter().map(|e| e.amount_mst).sum();
            assert_eq!(
                sum_cur,
                Decimal::ZERO,
                "voucher {} balances in transaction currency",
                p.voucher
            );
            assert_eq!(
                sum_mst,
                Decimal::ZERO,
                "voucher {} balances in accounting currency",
                p.voucher
            );
            let debit = es.iter().find(|e| !e.credit).expect("a debit entry");
            assert!(es.iter().any(|e| e.credit), "a credit entry");
            assert_eq!(debit.amount_cur, p.amount_cur);
            assert_eq!(debit.amount_mst, p.amount_mst);
            assert_eq!(debit.currency, p.currency);
            let dp = precision[&accounting_currency[&p.company]];
            assert_eq!(
                debit.amount_mst,
                round_to(p.amount_cur * p.rate, dp),
                "accounting amount of voucher {} = round(amount x rate)",
                p.voucher
            );
            for e in es {
                assert_eq!(e.accounting_date, p.accounting_date);
                assert_eq!(e.actual, Some(p.actual));
            }
            let line: Vec<&Line> = lines
                .iter()
                .filter(|l| l.company == p.company && l.actual == p.actual)
                .collect();
            assert_eq!(line.len(), 1, "one line for posted actual {}", p.actual);
            assert_eq!(line[0].status, "Posted");
            assert_eq!(line[0].voucher, p.voucher);
            assert_eq!(line[0].journal, p.journal);
            written_back(&staged, p);
        }
        for l in lines.iter().filter(|l| l.status == "Posted") {
            assert!(
                seen.contains(&(l.company.clone(), l.actual)),
                "posted line without subledger: {l:?}"
            );
        }
        all_posted.len()
    }
}

/// The staging row's posted attributes: (accounting amount, rate, voucher, sales tax).
type Staged = HashMap<(String, Uuid), (Option<Decimal>, Option<Decimal>, Option<String>, Option<Decimal>)>;

/// The four posted attributes of `p` are on its staging row.
fn written_back(staged: &Staged, p: &Posted) {
    let (amount, rate, voucher, tax) = &staged[&(p.company.clone(), p.actual)];
    assert_eq!(
        (*amount, *rate, voucher.as_deref(), *tax),
        (Some(p.amount_mst), Some(p.rate), Some(p.voucher.as_str()), Some(p.tax)),
        "posted attributes on the staging row of {}",
        p.actual
    );
}
