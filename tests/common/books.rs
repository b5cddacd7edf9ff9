//! The integration journal's test bench, shared by the accounting tests: the accounting store
//! with the demo setup and no actuals (`Books`), actuals staged to measure, the import and the
//! posting checked against the job log (the readers of what they wrote are in `ledger`).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use super::TestStore;
use chrono::NaiveDate;
use dualsync::accounting::db::{self, Cells, Db};
use dualsync::accounting::post::Journals;
use dualsync::accounting::{import, post};
use dualsync::demo::{SeedOptions, load};
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
}

pub async fn fetch(db: &Db, sql: &str, args: &[Arg], types: &[ValueType]) -> Vec<Cells> {
    db.fetch(sql, args, types)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(Cells::new)
        .collect()
}
