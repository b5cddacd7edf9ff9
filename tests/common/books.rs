//! The integration journal's test bench, shared by the accounting tests: the accounting store
//! with the demo setup and no actuals (`Books`), actuals staged to measure, the import and the
//! posting checked against the job log, and readers of the journal lines, the subledger and
//! the ledger (`Books::check_ledger` checks every posted actual once, balanced and written back).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use super::TestStore;
use chrono::NaiveDate;
use dualsync::accounting::db::{self, Cells, Db};
use dualsync::accounting::post::Journals;
use dualsync::accounting::{import, post};
use dualsync::store::seed::{SeedOptions, load};
use dualsync::store::sql::conn::Arg;
use dualsync::store::{RowOutcome, Store, WriteOp};
use dualsync::tablemap::model::Side;
use dualsync::value::{Value, ValueType};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::from_str(s).unwrap()
}

pub fn money(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn round_to(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// A staging row (`ProjCDSActualsImport`) to stage.
#[derive(Debug, Clone)]
pub struct Actual {
    pub company: &'static str,
    pub id: Uuid,
    pub class: &'static str,
    pub trans_type: &'static str,
    pub category: Option<Uuid>,
    pub billing: Option<&'static str>,
    pub amount: Decimal,
    pub currency: Uuid,
    pub date: NaiveDate,
    pub accounting_date: Option<NaiveDate>,
}

impl Actual {
    pub fn class(mut self, class: &'static str) -> Actual {
        self.class = class;
        self
    }
    pub fn kind(mut self, trans_type: &'static str) -> Actual {
        self.trans_type = trans_type;
        self
    }
    pub fn category(mut self, category: Option<Uuid>) -> Actual {
        self.category = category;
        self
    }
    pub fn billing(mut self, billing: Option<&'static str>) -> Actual {
        self.billing = billing;
        self
    }
    pub fn amount(mut self, amount: &str) -> Actual {
        self.amount = money(amount);
        self
    }
    pub fn currency(mut self, currency: Uuid) -> Actual {
        self.currency = currency;
        self
    }
    pub fn accounting_date(mut self, date: &str) -> Actual {
        self.accounting_date = Some(day(date));
        self
    }
}

/// One run of the job log with its error lines.
#[derive(Debug)]
pub struct Run {
    pub rec_id: i64,
    pub name: String,
    pub status: String,
    pub finished: bool,
    pub counts: BTreeMap<String, u64>,
    pub errors: Vec<LogLine>,
}

impl Run {
    pub fn count(&self, counter: &str) -> u64 {
        self.counts.get(counter).copied().unwrap_or(0)
    }

    /// The error lines about `actual`.
    pub fn errors_of(&self, actual: Uuid) -> Vec<&LogLine> {
        self.errors.iter().filter(|e| e.record == Some(actual)).collect()
    }
}

#[derive(Debug, Clone)]
pub struct LogLine {
    pub company: Option<String>,
    pub record: Option<Uuid>,
    pub journal: Option<String>,
    pub message: String,
}

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

pub const STAGED_COLUMNS: [&str; 13] = [
    "ProjectId",
    "TaskId",
    "TransactionClassification",
    "TransType",
    "TransactionCategory",
    "BillingType",
    "Quantity",
    "UnitPrice",
    "Amount",
    "TransactionCurrencyId",
    "DocumentDate",
    "AccountingDate",
    "Description",
];

/// The accounting store with the demo setup (USPM: USD, Months, 4 parallel tasks; DEMF: EUR,
/// Days; fiscal months 2026-06..2026-12, the first closed; threshold 100) and no actuals yet.
pub struct Books {
    pub t: TestStore,
    pub db: Db,
    pub usd: Uuid,
    pub eur: Uuid,
    pub gbp: Uuid,
}

impl Books {
    pub async fn new(t: TestStore) -> Books {
        load::seed(&t.store, Side::Accounting, &SeedOptions { actuals: 100, seed: 5 })
            .await
            .unwrap();
        let db = Db::new(&t.store);
        let mut ids = HashMap::new();
        for mut c in fetch(
            &db,
            "SELECT \"CurrencyCode\", \"TransactionCurrencyId\" FROM \"Currency\"",
            &[],
            &[ValueType::Text, ValueType::Guid],
        )
        .await
        {
            ids.insert(c.text().unwrap(), c.guid().unwrap());
        }
        Books {
            usd: ids["USD"],
            eur: ids["EUR"],
            gbp: ids["GBP"],
            t,
            db,
        }
    }

    pub async fn rows(&self, sql: &str, args: &[Arg], types: &[ValueType]) -> Vec<Cells> {
        fetch(&self.db, sql, args, types).await
    }

    pub async fn exec(&self, sql: &str, args: &[Arg]) -> u64 {
        self.db
            .execute(sql, args)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn count(&self, sql: &str, args: &[Arg]) -> i64 {
        self.rows(sql, args, &[ValueType::Int]).await.remove(0).int().unwrap()
    }

    /// A Time cost actual of 100.00 in the legal entity's accounting currency, chargeable.
    pub fn actual(&self, company: &'static str, date: &str) -> Actual {
        Actual {
            company,
            id: Uuid::new_v4(),
            class: "Time",
            trans_type: "Cost",
            category: None,
            billing: Some("Chargeable"),
            amount: money("100.00"),
            currency: if company == "DEMF" { self.eur } else { self.usd },
            date: day(date),
            accounting_date: None,
        }
    }

    pub async fn stage(&self, actuals: &[Actual]) {
        let desc = self
            .t
            .store
            .describe("ProjCDSActualsImport")
            .await
            .unwrap()
            .project(&STAGED_COLUMNS)
            .unwrap();
        let project = Uuid::from_u128(0x5eed_0001);
        for chunk in actuals.chunks(500) {
            let ops: Vec<WriteOp> = chunk
                .iter()
                .map(|a| {
                    WriteOp::Upsert(vec![
                        Value::Text(a.company.into()),
                        Value::Guid(a.id),
                        Value::Guid(project),
                        Value::Null,
                        Value::Text(a.class.into()),
                        Value::Text(a.trans_type.into()),
                        a.category.map_or(Value::Null, Value::Guid),
                        a.billing.map_or(Value::Null, |b| Value::Text(b.into())),
                        Value::Decimal(Decimal::ONE),
                        Value::Decimal(a.amount),
                        Value::Decimal(a.amount),
                        Value::Guid(a.currency),
                        Value::Date(a.date),
                        a.accounting_date.map_or(Value::Null, Value::Date),
                        Value::Text(format!("{} {} {}", a.class, a.trans_type, a.date)),
                    ])
                })
                .collect();
            let out = self.t.store.apply(&desc, &ops).await.unwrap();
            assert!(out.iter().all(|o| *o == RowOutcome::Written), "{out:?}");
        }
    }

    pub async fn relate(&self, connection: Uuid, first: (Uuid, &str), second: (Uuid, &str)) {
        self.exec(
            "INSERT INTO \"ProjCDSTransactionRelationshipImport\" (\"ConnectionId\", \"Transaction1Id\", \
             \"Transaction1Role\", \"Transaction1Type\", \"Transaction2Id\", \"Transaction2Role\", \"Transaction2Type\", \
             \"IsProcessed\") VALUES (?, ?, ?, 'msdyn_actual', ?, ?, 'msdyn_actual', ?)",
            &[
                db::guid(connection),
                db::guid(first.0),
                db::text(first.1),
                db::guid(second.0),
                db::text(second.1),
                db::boolean(false),
            ],
        )
        .await;
    }

    pub async fn set_param(&self, company: &str, column: &str, value: Arg) {
        let n = self
            .exec(
                &format!("UPDATE \"ProjParameters\" SET \"{column}\" = ? WHERE \"DataAreaId\" = ?"),
                &[value, db::text(company)],
            )
            .await;
        assert_eq!(n, 1);
    }

    pub async fn add_period(&self, company: &str, start: &str, end: &str) {
        self.exec(
            "INSERT INTO \"LedgerFiscalPeriod\" (\"DataAreaId\", \"StartDate\", \"EndDate\", \"Name\", \"Status\") \
             VALUES (?, ?, ?, ?, 'Open')",
            &[
                db::text(company),
                db::date(day(start)),
                db::date(day(end)),
                db::text(start),
            ],
        )
        .await;
    }

    pub async fn set_period_status(&self, company: &str, start: &str, status: &str) {
        let n = self
            .exec(
                "UPDATE \"LedgerFiscalPeriod\" SET \"Status\" = ? WHERE \"DataAreaId\" = ? AND \"StartDate\" = ?",
                &[db::text(status), db::text(company), db::date(day(start))],
            )
            .await;
        assert_eq!(n, 1);
    }

    /// Import from staging, checked against the job log.
    pub async fn import(&self) -> Run {
        self.import_for(None).await
    }

    /// Import from staging of one legal entity (or all), checked against the job log.
    pub async fn import_for(&self, company: Option<&str>) -> Run {
        let before = self.runs().await.len();
        let summary = import::import(&self.db, company).await.unwrap();
        self.check_run(before, summary, "ImportFromStaging").await
    }

    /// Posting, checked against the job log.
    pub async fn post(&self, which: Journals) -> Run {
        let before = self.runs().await.len();
        let summary = post::post(&self.db, &which).await.unwrap();
        self.check_run(before, summary, "Post").await
    }

    pub async fn post_all(&self) -> Run {
        self.post(Journals::All { company: None }).await
    }

    /// The command left exactly one finished run holding its counts, and every error line
    /// names the actual.
    pub async fn check_run(&self, before: usize, summary: dualsync::accounting::joblog::JobSummary, name: &str) -> Run {
        let mut runs = self.runs().await;
        assert_eq!(runs.len(), before + 1, "one job-log run per command");
        let run = runs.pop().unwrap();
        assert_eq!(run.rec_id, summary.rec_id);
        assert_eq!(run.name, name);
        assert!(run.finished, "{run:?}");
        assert_eq!(run.status, summary.status);
        let expected = if summary.errors == 0 { "Succeeded" } else { "Warning" };
        assert_eq!(run.status, expected, "{run:?}");
        assert_eq!(run.counts, summary.counts, "the job log holds the run's counts");
        assert_eq!(run.errors.len() as u64, summary.errors);
        for e in &run.errors {
            assert!(
                e.record.is_some() && e.company.is_some() && !e.message.is_empty(),
                "each error line names the actual: {e:?}"
            );
        }
        run
    }

    pub async fn runs(&self) -> Vec<Run> {
        use ValueType::{DateTime, Guid, Int, Text};
        let heads = self
            .rows(
                "SELECT \"RecId\", \"JobName\", \"Status\", \"FinishedDateTime\", \"Counts\" FROM \"ProjCDSJobLog\" \
                 ORDER BY \"RecId\"",
                &[],
                &[Int, Text, Text, DateTime, Text],
            )
            .await;
        let mut out = Vec::new();
        for mut h in heads {
            let rec_id = h.int().unwrap();
            let name = h.text().unwrap();
            let status = h.text().unwrap();
            let finished = !matches!(h.value(), Value::Null);
            let counts = h.text().map(|c| serde_json::from_str(&c).unwrap()).unwrap_or_default();
            let errors = self
                .rows(
                    "SELECT \"DataAreaId\", \"RecordId\", \"JournalId\", \"Message\" FROM \"ProjCDSJobLogLine\" \
                     WHERE \"JobRecId\" = ? ORDER BY \"RecId\"",
                    &[db::int(rec_id)],
                    &[Text, Guid, Text, Text],
                )
                .await
                .into_iter()
                .map(|mut c| LogLine {
                    company: c.text(),
                    record: c.guid(),
                    journal: c.text(),
                    message: c.text().unwrap_or_default(),
                })
                .collect();
            out.push(Run {
                rec_id,
                name,
                status,
                finished,
                counts,
                errors,
            });
        }
        out
    }

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
             \"SalesTaxAmount\" FROM \"ProjPostedTransTable\" ORDER BY \"DataAreaId\", \"TransId\"",
            &[],
            &[Text, Guid, Text, Text, Text, Text, Date, Date, Text, D, D, D, D],
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

    /// The ledger over everything posted: each actual posted once, a voucher per posted line
    /// with one debit and one credit entry that balance in both currencies, the accounting
    /// amount the transaction amount at the rate rounded to the accounting currency's
    /// precision, the posted line carrying the voucher, and the four posted attributes on the
    /// staging row. Returns the number of posted actuals.
    pub async fn check_ledger(&self) -> usize {
        use ValueType::{Decimal as D, Guid, Int, Text};
        let posted = self.posted().await;
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
        let mut staged = HashMap::new();
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
        assert_eq!(
            by_voucher.len(),
            posted.len(),
            "one voucher per posted line, and no ledger entry without a subledger row"
        );
        let mut seen = HashSet::new();
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
            let (amount, rate, voucher, tax) = &staged[&(p.company.clone(), p.actual)];
            assert_eq!(
                (*amount, *rate, voucher.as_deref(), *tax),
                (Some(p.amount_mst), Some(p.rate), Some(p.voucher.as_str()), Some(p.tax)),
                "posted attributes on the staging row of {}",
                p.actual
            );
        }
        for l in lines.iter().filter(|l| l.status == "Posted") {
            assert!(
                seen.contains(&(l.company.clone(), l.actual)),
                "posted line without subledger: {l:?}"
            );
        }
        posted.len()
    }
}

pub async fn fetch(db: &Db, sql: &str, args: &[Arg], types: &[ValueType]) -> Vec<Cells> {
    db.fetch(sql, args, types)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(Cells::new)
        .collect()
}
