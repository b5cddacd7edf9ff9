//! The estimates → forecasts process on SQLite and on PostgreSQL, over seeded stores and the
//! shipped estimate maps (with the maps they require): the first run creates one hour forecast per resource assignment and one
//! merged expense or item forecast per cost/sales pair (both prices on it); a second run
//! writes nothing; operational updates and deletes reach the forecasts through live sync; an
//! hour forecast edited on the accounting side flows back to the resource assignment (and an
//! edit that does not touch ModifiedDateTime is repaired instead); a category without a
//! project category in one legal entity is a job-log error while the other rows still process.

mod common;

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Instant;

use chrono::{Days, NaiveDate, Utc};
use common::engine::{Setup, quiesce, setup};
use dualsync::accounting::db::{Cells, Db, boolean, dec, int, opt_text, text, value};
use dualsync::accounting::forecasts;
use dualsync::accounting::joblog::{self, JobSummary};
use dualsync::demo;
use dualsync::store::{Row, Store, WriteOp};
use dualsync::value::{Value, ValueType};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

/// The shipped estimate maps and the maps they require (the actuals maps are left out: they
/// only slow the test down).
const MAPS: [&str; 6] = [
    "projects",
    "project-tasks",
    "transaction-categories",
    "hour-estimates",
    "expense-estimates",
    "material-estimates",
];

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn n(summary: &JobSummary, counter: &str) -> u64 {
    summary.counts.get(counter).copied().unwrap_or(0)
}

/// The counters that mean a write.
fn writes(summary: &JobSummary) -> u64 {
    [
        "hour_forecasts",
        "expense_forecasts",
        "item_forecasts",
        "deleted",
        "flowed_back",
    ]
    .iter()
    .map(|c| n(summary, c))
    .sum()
}

async fn initial(s: &Setup) {
    for m in &s.engine.maps {
        let c = s.engine.initial_sync(&m.name, &mut |_| {}).await.unwrap();
        assert_eq!(c.failed, 0, "{}: {c:?}", m.name);
    }
}

async fn count(db: &Db, sql: &str, args: &[dualsync::store::sql::conn::Arg]) -> u64 {
    let rows = db.fetch(sql, args, &[ValueType::Int]).await.unwrap();
    Cells::new(rows.into_iter().next().unwrap()).int().unwrap() as u64
}

async fn rows(db: &Db, table: &str) -> u64 {
    count(db, &format!("SELECT COUNT(*) FROM \"{table}\""), &[]).await
}

/// Every row of the forecast tables, and the staging flags, to compare runs.
async fn snapshot(db: &Db) -> Vec<Row> {
    let mut out = Vec::new();
    for (sql, types) in [
        (
            "SELECT \"TransId\", \"Hours\", \"SchedFromDate\", \"SchedToDate\", \"ModifiedDateTime\" \
             FROM \"ProjForecastEmpl\" ORDER BY \"DataAreaId\", \"TransId\"",
            vec![
                ValueType::Text,
                ValueType::Decimal,
                ValueType::Date,
                ValueType::Date,
                ValueType::DateTime,
            ],
        ),
        (
            "SELECT \"TransId\", \"CostPrice\", \"SalesPrice\", \"ModifiedDateTime\" FROM \"ProjForecastCost\" \
             ORDER BY \"DataAreaId\", \"TransId\"",
            vec![
                ValueType::Text,
                ValueType::Decimal,
                ValueType::Decimal,
                ValueType::DateTime,
            ],
        ),
        (
            "SELECT \"TransId\", \"CostPrice\", \"SalesPrice\", \"ModifiedDateTime\" FROM \"ForecastSales\" \
             ORDER BY \"DataAreaId\", \"TransId\"",
            vec![
                ValueType::Text,
                ValueType::Decimal,
                ValueType::Decimal,
                ValueType::DateTime,
            ],
        ),
        (
            "SELECT \"NextNumber\" FROM \"NumberSequenceTable\" ORDER BY \"DataAreaId\", \"NumberSequenceCode\"",
            vec![ValueType::Int],
        ),
    ] {
        out.extend(db.fetch(sql, &[], &types).await.unwrap());
    }
    out
}

/// A staged estimate line: transaction type, unit price, amount.
async fn staged_lines(db: &Db, table: &str) -> HashMap<Uuid, (String, Decimal, Decimal)> {
    db.fetch(
        &format!("SELECT \"EstimateLineId\", \"TransType\", \"UnitPrice\", \"Amount\" FROM \"{table}\""),
        &[],
        &[ValueType::Guid, ValueType::Text, ValueType::Decimal, ValueType::Decimal],
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        let mut c = Cells::new(r);
        (
            c.guid().unwrap(),
            (c.text().unwrap(), c.dec().unwrap(), c.dec().unwrap()),
        )
    })
    .collect()
}

/// A merged forecast as the tests read it.
#[derive(Debug, Clone)]
struct Merged {
    company: String,
    trans_id: String,
    cost_line: Option<Uuid>,
    sales_line: Option<Uuid>,
    category: Option<String>,
    cost_price: Option<Decimal>,
    cost_amount: Option<Decimal>,
    sales_price: Option<Decimal>,
    sales_amount: Option<Decimal>,
    currency: Option<String>,
}

async fn merged(db: &Db, table: &str) -> Vec<Merged> {
    use ValueType::{Decimal as D, Guid as G, Text as T};
    db.fetch(
        &format!(
            "SELECT \"DataAreaId\", \"TransId\", \"CostEstimateLineId\", \"SalesEstimateLineId\", \"CategoryId\", \
             \"CostPrice\", \"CostAmount\", \"SalesPrice\", \"SalesAmount\", \"CurrencyCode\" FROM \"{table}\" \
             ORDER BY \"DataAreaId\", \"TransId\""
        ),
        &[],
        &[T, T, G, G, T, D, D, D, D, T],
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        let mut c = Cells::new(r);
        Merged {
            company: c.text().unwrap(),
            trans_id: c.text().unwrap(),
            cost_line: c.guid(),
            sales_line: c.guid(),
            category: c.text(),
            cost_price: c.dec(),
            cost_amount: c.dec(),
            sales_price: c.dec(),
            sales_amount: c.dec(),
            currency: c.text(),
        }
    })
    .collect()
}

/// Every merged forecast holds a cost line and a sales line of the same estimate, with the
/// prices and amounts of each.
async fn check_merged(db: &Db, staging: &str, forecast: &str, category_suffix: &str) -> Vec<Merged> {
    let lines = staged_lines(db, staging).await;
    let forecasts = merged(db, forecast).await;
    for f in &forecasts {
        let (cost, sales) = (f.cost_line.unwrap(), f.sales_line.unwrap());
        let (cost_type, cost_price, cost_amount) = &lines[&cost];
        let (sales_type, sales_price, sales_amount) = &lines[&sales];
        assert_eq!(
            (cost_type.as_str(), sales_type.as_str()),
            ("Cost", "UnbilledSales"),
            "{f:?}"
        );
        assert_eq!(f.cost_price, Some(*cost_price), "{f:?}");
        assert_eq!(f.cost_amount, Some(*cost_amount), "{f:?}");
        assert_eq!(f.sales_price, Some(*sales_price), "{f:?}");
        assert_eq!(f.sales_amount, Some(*sales_amount), "{f:?}");
        assert!(f.category.as_deref().unwrap().ends_with(category_suffix), "{f:?}");
        assert!(matches!(f.currency.as_deref(), Some("USD" | "EUR" | "GBP")), "{f:?}");
    }
    forecasts
}

async fn set_op(s: &Setup, entity: &str, id: Uuid, cells: &[(&str, Value)]) {
    let desc = s.op_store.describe(entity).await.unwrap();
    let columns: Vec<&str> = cells.iter().map(|c| c.0).collect();
    let d = desc.project(&columns).unwrap();
    let mut row = vec![Value::Guid(id)];
    row.extend(cells.iter().map(|c| c.1.clone()));
    s.op_store.apply(&d, &[WriteOp::Upsert(row)]).await.unwrap();
}

async fn delete_op(s: &Setup, entity: &str, ids: &[Uuid]) {
    let desc = s.op_store.describe(entity).await.unwrap();
    let ops: Vec<WriteOp> = ids.iter().map(|id| WriteOp::Delete(vec![Value::Guid(*id)])).collect();
    s.op_store.apply(&desc, &ops).await.unwrap();
}

async fn get_op(s: &Setup, entity: &str, id: Uuid, column: &str) -> Value {
    let desc = s.op_store.describe(entity).await.unwrap().project(&[column]).unwrap();
    let row = s.op_store.get(&desc, &[vec![Value::Guid(id)]]).await.unwrap().remove(0);
    row.last().unwrap().clone()
}

/// An hour forecast: company, TransId, resource assignment, hours, to-date.
async fn hour_forecasts(db: &Db) -> Vec<(String, String, Uuid, Decimal, NaiveDate)> {
    db.fetch(
        "SELECT \"DataAreaId\", \"TransId\", \"ResourceAssignmentId\", \"Hours\", \"SchedToDate\" \
         FROM \"ProjForecastEmpl\" ORDER BY \"DataAreaId\", \"TransId\"",
        &[],
        &[
            ValueType::Text,
            ValueType::Text,
            ValueType::Guid,
            ValueType::Decimal,
            ValueType::Date,
        ],
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        let mut c = Cells::new(r);
        (
            c.text().unwrap(),
            c.text().unwrap(),
            c.guid().unwrap(),
            c.dec().unwrap(),
            c.date().unwrap(),
        )
    })
    .collect()
}

async fn staged_hours(db: &Db, company: &str, id: Uuid) -> (Decimal, NaiveDate) {
    let rows = db
        .fetch(
            "SELECT \"Hours\", \"EndDate\" FROM \"ProjCDSEstimateHoursImport\" \
             WHERE \"ProjectDataAreaId\" = ? AND \"ResourceAssignmentId\" = ?",
            &[text(company), dualsync::accounting::db::guid(id)],
            &[ValueType::Decimal, ValueType::Date],
        )
        .await
        .unwrap();
    let mut c = Cells::new(rows.into_iter().next().unwrap());
    (c.dec().unwrap(), c.date().unwrap())
}

async fn unprocessed(db: &Db) -> u64 {
    let mut total = 0;
    for table in [
        "ProjCDSEstimateHoursImport",
        "ProjCDSEstimateExpenseImport",
        "ProjForecastSalesImport",
    ] {
        total += count(
            db,
            &format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"IsProcessed\" = ?"),
            &[boolean(false)],
        )
        .await;
    }
    total
}

async fn run(db: &Db) -> JobSummary {
    let t = Instant::now();
    let summary = forecasts::run(db, None).await.unwrap();
    eprintln!("{summary} in {:?}", t.elapsed());
    summary
}

async fn estimates_become_forecasts(backend: &str) {
    let started = Instant::now();
    let s = setup(backend, "fc_flow", |maps| {
        maps.retain(|m| MAPS.contains(&m.name.as_str()))
    })
    .await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    initial(&s).await;
    eprintln!("{backend}: setup and initial sync in {:?}", started.elapsed());
    let db = Db::new(&s.acct_store);
    let seeded = demo::summary(&s.opts);
    let hours = seeded.rows("msdyn_resourceassignments").unwrap();
    let expenses = seeded.expense_estimate_lines / 2;
    let items = seeded.material_estimate_lines / 2;

    // The first run: one forecast per assignment and per cost/sales pair.
    let first = run(&db).await;
    assert_eq!(first.status, "Succeeded", "{first}");
    assert_eq!(
        (
            n(&first, "hour_forecasts"),
            n(&first, "expense_forecasts"),
            n(&first, "item_forecasts")
        ),
        (hours, expenses, items),
        "{first}"
    );
    assert_eq!(n(&first, "created"), hours + expenses + items);
    assert_eq!((n(&first, "deleted"), n(&first, "flowed_back")), (0, 0));
    assert_eq!(rows(&db, "ProjForecastEmpl").await, hours);
    assert_eq!(rows(&db, "ProjForecastCost").await, expenses);
    assert_eq!(rows(&db, "ForecastSales").await, items);
    let expense_rows = check_merged(&db, "ProjCDSEstimateExpenseImport", "ProjForecastCost", "-EXPENSE").await;
    let item_rows = check_merged(&db, "ProjForecastSalesImport", "ForecastSales", "-ITEM").await;
    for f in &item_rows {
        // Material sells at cost plus 25 %.
        let cost = f.cost_price.unwrap();
        let markup = (cost * d("1.25")).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        assert_eq!(f.sales_price.unwrap(), markup, "{f:?}");
    }
    assert_eq!(unprocessed(&db).await, 0);
    let hour_rows = hour_forecasts(&db).await;
    for (company, trans_id, ..) in &hour_rows {
        assert!(trans_id.starts_with(&format!("{company}-PTR-")), "{trans_id}");
    }

    // A second run writes nothing; marking rows processed did not echo to the operational side.
    let before = (snapshot(&db).await, s.acct_store.change_log_size().await.unwrap());
    let second = run(&db).await;
    assert_eq!(second.status, "Succeeded");
    assert_eq!(writes(&second) + n(&second, "created"), 0, "{second}");
    assert_eq!(n(&second, "unchanged"), hours + expenses + items);
    assert_eq!(
        (snapshot(&db).await, s.acct_store.change_log_size().await.unwrap()),
        before
    );
    let op_head = s.op_store.change_log_size().await.unwrap();
    quiesce(&s.engine).await;
    assert_eq!(
        s.op_store.change_log_size().await.unwrap(),
        op_head,
        "IsProcessed echoed"
    );

    // Operational updates: an expense cost line's price and an assignment's hours.
    let meals: Vec<&Merged> = expense_rows
        .iter()
        .filter(|f| f.category.as_deref() == Some("MEALS-EXPENSE"))
        .collect();
    let updated = meals[0].clone();
    set_op(
        &s,
        "msdyn_estimatelines",
        updated.cost_line.unwrap(),
        &[
            ("msdyn_price", Value::Decimal(d("99.5"))),
            ("msdyn_amount", Value::Decimal(d("995"))),
        ],
    )
    .await;
    let (hour_company, hour_trans, assignment, ..) = hour_rows[0].clone();
    set_op(
        &s,
        "msdyn_resourceassignments",
        assignment,
        &[("msdyn_hours", Value::Decimal(d("42.5")))],
    )
    .await;
    quiesce(&s.engine).await;
    let third = run(&db).await;
    assert_eq!(
        (
            n(&third, "expense_forecasts"),
            n(&third, "hour_forecasts"),
            n(&third, "created"),
            n(&third, "flowed_back")
        ),
        (1, 1, 0, 0),
        "{third}"
    );
    let now = merged(&db, "ProjForecastCost").await;
    let after = now.iter().find(|f| f.trans_id == updated.trans_id).unwrap();
    assert_eq!((after.cost_price, after.cost_amount), (Some(d("99.5")), Some(d("995"))));
    assert_eq!(after.sales_price, updated.sales_price);
    let hour = hour_forecasts(&db)
        .await
        .into_iter()
        .find(|h| h.1 == hour_trans)
        .unwrap();
    assert_eq!(hour.3, d("42.5"));

    // Operational deletes: a whole expense estimate, the sales line of a material estimate, and
    // a resource assignment.
    let gone = meals[1].clone();
    let halved = item_rows[0].clone();
    let (_, gone_hour_trans, gone_assignment, ..) = hour_rows[1].clone();
    delete_op(
        &s,
        "msdyn_estimatelines",
        &[
            gone.cost_line.unwrap(),
            gone.sales_line.unwrap(),
            halved.sales_line.unwrap(),
        ],
    )
    .await;
    delete_op(&s, "msdyn_resourceassignments", &[gone_assignment]).await;
    quiesce(&s.engine).await;
    let fourth = run(&db).await;
    assert_eq!(
        (
            n(&fourth, "deleted"),
            n(&fourth, "item_forecasts"),
            n(&fourth, "created")
        ),
        (2, 1, 0),
        "{fourth}"
    );
    assert_eq!(rows(&db, "ProjForecastCost").await, expenses - 1);
    assert!(
        !merged(&db, "ProjForecastCost")
            .await
            .iter()
            .any(|f| f.trans_id == gone.trans_id)
    );
    let half = merged(&db, "ForecastSales")
        .await
        .into_iter()
        .find(|f| f.trans_id == halved.trans_id)
        .unwrap();
    assert_eq!((half.cost_line, half.cost_price), (halved.cost_line, halved.cost_price));
    assert_eq!(
        (half.sales_line, half.sales_price, half.sales_amount),
        (None, None, None)
    );
    assert_eq!(rows(&db, "ProjForecastEmpl").await, hours - 1);
    assert!(!hour_forecasts(&db).await.iter().any(|h| h.1 == gone_hour_trans));

    // An hour forecast edited on the accounting side (ModifiedDateTime kept, as the accounting
    // system does) flows back to the staging row and, by the two-way map, to the assignment.
    let to = hour.4.checked_add_days(Days::new(7)).unwrap();
    db.execute(
        "UPDATE \"ProjForecastEmpl\" SET \"Hours\" = ?, \"SchedToDate\" = ?, \"ModifiedDateTime\" = ? \
         WHERE \"DataAreaId\" = ? AND \"TransId\" = ?",
        &[
            dec(d("77.25")),
            dualsync::accounting::db::date(to),
            value(&Value::DateTime(Utc::now()), ValueType::DateTime),
            text(&hour_company),
            text(&hour_trans),
        ],
    )
    .await
    .unwrap();
    let fifth = run(&db).await;
    assert_eq!((n(&fifth, "flowed_back"), n(&fifth, "created")), (1, 0), "{fifth}");
    assert_eq!(staged_hours(&db, &hour_company, assignment).await, (d("77.25"), to));
    quiesce(&s.engine).await;
    let op_hours = get_op(&s, "msdyn_resourceassignments", assignment, "msdyn_hours").await;
    assert_eq!(
        op_hours.compare(&Value::Decimal(d("77.25"))),
        Some(std::cmp::Ordering::Equal)
    );
    assert_eq!(
        get_op(&s, "msdyn_resourceassignments", assignment, "msdyn_finish").await,
        Value::Date(to)
    );
    let sixth = run(&db).await;
    assert_eq!(writes(&sixth), 0, "flow-back settled: {sixth}");

    // An edit that leaves ModifiedDateTime alone is drift: the staging row wins.
    db.execute(
        "UPDATE \"ProjForecastEmpl\" SET \"Hours\" = ? WHERE \"DataAreaId\" = ? AND \"TransId\" = ?",
        &[dec(d("5")), text(&hour_company), text(&hour_trans)],
    )
    .await
    .unwrap();
    let seventh = run(&db).await;
    assert_eq!(
        (n(&seventh, "hour_forecasts"), n(&seventh, "flowed_back")),
        (1, 0),
        "{seventh}"
    );
    let hour = hour_forecasts(&db)
        .await
        .into_iter()
        .find(|h| h.1 == hour_trans)
        .unwrap();
    assert_eq!(hour.3, d("77.25"));
    assert_eq!(staged_hours(&db, &hour_company, assignment).await.0, d("77.25"));

    // A category without a project category in one legal entity: its forecasts are errors in
    // the job log (named by record), kept as they are, while another change still goes through.
    let company = "USPM";
    let category = "TRAVEL-EXPENSE";
    let saved = db
        .fetch(
            "SELECT \"Name\", \"SharedCategoryId\", \"TransactionType\" FROM \"ProjCategory\" \
             WHERE \"DataAreaId\" = ? AND \"CategoryId\" = ?",
            &[text(company), text(category)],
            &[ValueType::Text, ValueType::Guid, ValueType::Text],
        )
        .await
        .unwrap()
        .remove(0);
    db.execute(
        "DELETE FROM \"ProjCategory\" WHERE \"DataAreaId\" = ? AND \"CategoryId\" = ?",
        &[text(company), text(category)],
    )
    .await
    .unwrap();
    let travel: Vec<Merged> = merged(&db, "ProjForecastCost")
        .await
        .into_iter()
        .filter(|f| f.company == company && f.category.as_deref() == Some(category))
        .collect();
    assert!(!travel.is_empty());
    let hotel = expense_rows
        .iter()
        .find(|f| f.category.as_deref() == Some("HOTEL-EXPENSE"))
        .unwrap()
        .clone();
    set_op(
        &s,
        "msdyn_estimatelines",
        hotel.sales_line.unwrap(),
        &[("msdyn_price", Value::Decimal(d("250")))],
    )
    .await;
    quiesce(&s.engine).await;
    let eighth = run(&db).await;
    assert_eq!(eighth.status, "Warning", "{eighth}");
    assert_eq!(eighth.errors, travel.len() as u64, "{eighth}");
    assert_eq!(n(&eighth, "expense_forecasts"), 1, "{eighth}");
    let logged = joblog::recent(&db, 1).await.unwrap().remove(0);
    assert_eq!(logged.rec_id, eighth.rec_id);
    for f in &travel {
        let id = f.cost_line.unwrap().to_string();
        assert!(
            logged
                .errors
                .iter()
                .any(|e| e.contains(&id) && e.contains("no project category of type Expense")),
            "{id} not in {:?}",
            logged.errors
        );
    }
    let now = merged(&db, "ProjForecastCost").await;
    assert_eq!(now.len() as u64, expenses - 1, "forecasts in error are kept");
    assert_eq!(
        now.iter().find(|f| f.trans_id == hotel.trans_id).unwrap().sales_price,
        Some(d("250"))
    );
    assert_eq!(unprocessed(&db).await, 2 * travel.len() as u64);

    // The category is back: the lines are processed again, nothing else changes.
    let mut c = Cells::new(saved);
    let (name, shared, ttype) = (c.text(), c.guid().unwrap(), c.text());
    db.execute(
        "INSERT INTO \"ProjCategory\" (\"DataAreaId\", \"CategoryId\", \"Name\", \"SharedCategoryId\", \
         \"TransactionType\") VALUES (?, ?, ?, ?, ?)",
        &[
            text(company),
            text(category),
            opt_text(name.as_deref()),
            dualsync::accounting::db::guid(shared),
            opt_text(ttype.as_deref()),
        ],
    )
    .await
    .unwrap();
    let ninth = run(&db).await;
    assert_eq!((ninth.status.as_str(), ninth.errors), ("Succeeded", 0), "{ninth}");
    assert_eq!(writes(&ninth), 0, "{ninth}");
    assert_eq!(unprocessed(&db).await, 0);
    // One job-log entry per run.
    let runs = count(
        &db,
        "SELECT COUNT(*) FROM \"ProjCDSJobLog\" WHERE \"JobName\" = ? AND \"RecId\" > ?",
        &[text(forecasts::JOB_NAME), int(0)],
    )
    .await;
    assert_eq!(runs, 9);
    eprintln!("{backend}: whole test in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estimates_become_forecasts_sqlite() {
    estimates_become_forecasts("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estimates_become_forecasts_postgres() {
    estimates_become_forecasts("postgres").await;
}
