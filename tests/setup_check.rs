//! The setup check (`dualsync check`, and the daemon at start, shown by `status`), on SQLite and
//! on PostgreSQL: the demo accounting setup is complete; with pieces taken away — a line
//! property mapping, the posting setup of billed sales, a number sequence, a project category
//! for a synced shared category, an exchange rate for a currency in use, a closed current
//! period, a sales tax group, the procurement integration account, a legal entity that is not there — each problem is reported once,
//! naming the legal entity, what is missing and the fix; the command exits 1 and prints them (as
//! text and JSON), and the daemon records its check at start, which `status` shows.

mod common;

use std::time::Duration;

use chrono::NaiveDate;
use common::{Daemon, DaemonStores, dualsync, eventually};
use dualsync::accounting::check;
use dualsync::accounting::db::{self, Db};
use uuid::Uuid;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn exec(db: &Db, sql: &str, args: &[dualsync::store::sql::conn::Arg]) {
    db.execute(sql, args).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn setup_check(backend: &'static str) {
    let (stores, _op, acct) = DaemonStores::seeded(backend, "setup_check", 100, 3).await;
    let db = Db::new(&acct);
    let today = day("2026-08-15");
    let none = check::run(&db, &[], today).await.unwrap();
    assert!(none.is_empty(), "the demo setup is complete: {none:?}");

    exec(
        &db,
        "DELETE FROM \"ProjCDSLinePropertyMapping\" WHERE \"DataAreaId\" = 'DEMF' AND \"BillingType\" = 'NotAvailable'",
        &[],
    )
    .await;
    exec(
        &db,
        "DELETE FROM \"ProjLedgerPostingSetup\" WHERE \"DataAreaId\" = 'USPM' AND \"TransType\" = 'BilledSales'",
        &[],
    )
    .await;
    exec(
        &db,
        "UPDATE \"ProjParameters\" SET \"InvoiceNumberSequenceCode\" = 'NOPE' WHERE \"DataAreaId\" = 'DEMF'",
        &[],
    )
    .await;
    exec(
        &db,
        "UPDATE \"ProjParameters\" SET \"SalesTaxGroup\" = 'TX-GONE' WHERE \"DataAreaId\" = 'USPM'",
        &[],
    )
    .await;
    exec(
        &db,
        "UPDATE \"ProjParameters\" SET \"ProcurementIntegrationAccount\" = NULL WHERE \"DataAreaId\" = 'DEMF'",
        &[],
    )
    .await;
    exec(
        &db,
        "UPDATE \"LedgerFiscalPeriod\" SET \"Status\" = 'Closed' WHERE \"DataAreaId\" = 'USPM' AND \"StartDate\" = ?",
        &[db::date(day("2026-08-01"))],
    )
    .await;
    // A shared category synced without project categories, and a currency in use with no rate.
    let (category, chf) = (Uuid::new_v4(), Uuid::new_v4());
    exec(
        &db,
        "INSERT INTO \"ProjCDSCategoryEntity\" (\"CategoryId\", \"TransactionType\", \"CategoryName\") VALUES (?, 'Expense', 'Parking')",
        &[db::guid(category)],
    )
    .await;
    exec(
        &db,
        "INSERT INTO \"Currency\" (\"CurrencyCode\", \"Name\", \"Precision\", \"TransactionCurrencyId\") VALUES ('CHF', 'Swiss franc', 2, ?)",
        &[db::guid(chf)],
    )
    .await;
    exec(
        &db,
        "INSERT INTO \"ProjCDSActualsImport\" (\"ProjectDataAreaId\", \"ActualId\", \"TransactionCurrencyId\", \"IsProcessed\") VALUES ('USPM', ?, ?, ?)",
        &[db::guid(Uuid::new_v4()), db::guid(chf), db::boolean(false)],
    )
    .await;

    let companies = ["USPM", "DEMF", "XXXX"].map(String::from);
    let found = check::run(&db, &companies, today).await.unwrap();
    let expected: &[(&str, &str, &str)] = &[
        (
            "USPM",
            "today (2026-08-15) is in the closed fiscal period",
            "open the current period",
        ),
        (
            "USPM",
            "no ledger posting setup for transaction type BilledSales and classification Time",
            "ProjLedgerPostingSetup",
        ),
        (
            "USPM",
            "no project category for shared category Parking",
            "create a project category of type Expense",
        ),
        ("USPM", "no exchange rate from CHF to USD valid today", "ExchangeRate"),
        (
            "USPM",
            "the sales tax group TX-GONE of ProjParameters.SalesTaxGroup does not exist",
            "TaxGroupData",
        ),
        (
            "DEMF",
            "the customer invoice number sequence NOPE does not exist",
            "NumberSequenceTable",
        ),
        (
            "DEMF",
            "no line property for billing type NotAvailable",
            "ProjCDSLinePropertyMapping",
        ),
        (
            "DEMF",
            "no project category for shared category Parking",
            "(ProjCategory)",
        ),
        ("DEMF", "no exchange rate from CHF to EUR valid today", "ExchangeRate"),
        (
            "DEMF",
            "no ProcurementIntegrationAccount in ProjParameters",
            "vendor invoices post project cost to it",
        ),
        ("XXXX", "the legal entity is not in CompanyInfo", "companies"),
    ];
    for (company, problem, fix) in expected {
        let hits: Vec<_> = found
            .iter()
            .filter(|p| p.company.as_deref() == Some(*company) && p.problem.contains(problem))
            .collect();
        assert_eq!(hits.len(), 1, "{company}: {problem} in {found:#?}");
        assert!(hits[0].fix.contains(fix), "{company}: {:?}", hits[0]);
    }
    // BilledSales lacks every class (6) in USPM: the other problems are the ones above.
    assert_eq!(found.len(), expected.len() + 5, "{found:#?}");

    // The command prints them and exits 1; JSON has the same problems.
    let config = stores.write_config(
        false,
        "[processes]\nenabled = true\nimport_seconds = 0\nforecasts_seconds = 0\n",
    );
    let (code, out, err) = dualsync(&["check"], &config);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("legal entity DEMF: no line property for billing type NotAvailable\n  fix: map NotAvailable"),
        "{out}"
    );
    assert!(out.contains("in the accounting setup of USPM, DEMF"), "{out}");
    let (code, json, _) = dualsync(&["check", "--output", "json"], &config);
    assert_eq!(code, Some(1));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        json["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["company"] == "DEMF" && p["problem"].as_str().unwrap().contains("NotAvailable"))
    );

    // The daemon checks at start; status shows what it found.
    let log = stores.dir.path().join("daemon.log");
    let mut daemon = Daemon::start(&config, &log);
    eventually(
        "the setup check in status",
        &mut daemon,
        Duration::from_secs(60),
        || async {
            let text = common::status_of(&config);
            match text.contains("setup check: ")
                && text.contains("problems (at start")
                && text.contains("DEMF: no line property for billing type NotAvailable")
            {
                true => Ok(()),
                false => Err(text),
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_check_sqlite() {
    setup_check("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_check_postgres() {
    setup_check("postgres").await;
}
