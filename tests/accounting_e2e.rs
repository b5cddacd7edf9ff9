//! End to end through the daemon, on SQLite and on PostgreSQL: `dualsync run` with the
//! accounting processes scheduled (import and posting every second) syncs the demo actuals to
//! the staging table, imports and posts them, and the posted attributes come back onto every
//! non-skipped operational actual — including one created while the daemon runs — with the real
//! sales tax of each sales actual; the demo's proforma invoices become invoice proposals, are
//! posted, and the customer invoice number, status and tax come back onto each invoice; every
//! fixed-price contract line gets its revenue estimate project from its first milestone; the
//! demo's expense reports and vendor invoices are posted, exported, approved into cost actuals
//! that post back, both integration accounts end at zero, and each vendor invoice's confirmation
//! comes back; the demo's entry journals, confirmed by command meanwhile, become actuals that
//! sync and post like any other.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dualsync::demo::{self, SeedOptions};
use dualsync::store::sql::SqlStore;
use dualsync::store::{Store, WriteOp};
use dualsync::value::Value;

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Operational actuals with a voucher number written back.
async fn posted_actuals(op: &SqlStore) -> (u64, bool) {
    let desc = op.describe("msdyn_actuals").await.unwrap();
    let d = desc
        .project(&[
            "msdyn_vouchernumber",
            "msdyn_accountingamount",
            "msdyn_accountingexchangerate",
        ])
        .unwrap();
    let (mut n, mut complete, mut after) = (0, true, None);
    loop {
        let page = op.scan(&d, after.as_ref(), 5000).await.unwrap();
        let Some(last) = page.last() else { return (n, complete) };
        for r in &page {
            if !r[1].is_null() {
                n += 1;
                complete &= !r[2].is_null() && !r[3].is_null();
            }
        }
        after = Some(d.key_of(last));
    }
}

/// Every row of `entity`.
async fn all_rows(store: &SqlStore, entity: &str) -> Vec<Vec<Value>> {
    let desc = store.describe(entity).await.unwrap();
    store.scan(&desc, None, 100_000).await.unwrap()
}

async fn posted_end_to_end(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_dualsync");
    let mut urls = Vec::new();
    for name in ["op", "acct", "state"] {
        urls.push(match backend {
            "sqlite" => format!("sqlite://{}", dir.path().join(format!("{name}.db")).display()),
            _ => common::fresh_pg_database(&format!("e2e_{name}")).await,
        });
    }
    let [op_url, acct_url, state_url] = <[String; 3]>::try_from(urls).unwrap();
    let actuals = 300;
    for (side, u) in [("operational", &op_url), ("accounting", &acct_url)] {
        for args in [
            vec!["store", "init", "--side", side, "--url", u],
            vec!["store", "seed", "--url", u, "--scale", "300", "--seed", "9"],
        ] {
            let out = Command::new(bin).args(&args).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let maps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
    let config = dir.path().join("dualsync.toml");
    std::fs::write(
        &config,
        format!(
            "maps = \"{}\"\ncompanies = [\"USPM\", \"DEMF\"]\n[operational]\nurl = \"{op_url}\"\n[accounting]\n\
             url = \"{acct_url}\"\n[state]\nurl = \"{state_url}\"\n[processes]\nenabled = true\nimport_seconds = 1\n\
             post_seconds = 1\ndocuments_seconds = 1\napprove_seconds = 1\n[log]\nformat = \"json\"\n",
            maps.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let mut daemon = common::KillOnDrop(
        Command::new(bin)
            .args(["run", "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let op = SqlStore::open(&op_url).await.unwrap();
    let summary = demo::summary(&SeedOptions { actuals, seed: 9 });
    let a = &summary.actuals;
    // The demo's expense lines and vendor invoice lines become cost actuals too.
    let documents =
        summary.rows("ProjExpenseExportEntity").unwrap() + summary.rows("ProjVendInvoiceLinesExportEntity").unwrap();
    assert!(documents > 0);
    // ... and so do the lines of the demo's entry journals, confirmed while the daemon runs.
    let journal_lines = summary.rows("msdyn_journallines").unwrap();
    assert!(journal_lines > 0);
    let synced = a.total - a.skipped_intercompany_cost - a.skipped_negative_unbilled_sales - a.skipped_other
        + documents
        + journal_lines;

    // A new actual while the daemon runs.
    let desc = op.describe("msdyn_actuals").await.unwrap();
    let mut row = op.scan(&desc, None, 1).await.unwrap().remove(0);
    row[desc.index_of("msdyn_actualid").unwrap()] = Value::Guid(uuid::Uuid::from_u128(0xe2e));
    row[desc.index_of("msdyn_skipsync").unwrap()] = Value::Bool(false);
    row[desc.index_of("msdyn_transactiontypecode").unwrap()] = Value::Int(192350000);
    for c in [
        "msdyn_vouchernumber",
        "msdyn_accountingamount",
        "msdyn_accountingexchangerate",
    ] {
        row[desc.index_of(c).unwrap()] = Value::Null;
    }
    op.apply(&desc, &[WriteOp::Upsert(row)]).await.unwrap();

    let confirmed = Command::new(bin)
        .args([
            "operational",
            "confirm-journals",
            "--all",
            "--config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&confirmed.stdout);
    assert!(
        confirmed.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&confirmed.stderr)
    );
    assert!(
        report.contains(&format!("{journal_lines} actual(s) recorded")),
        "{report}"
    );

    let started = Instant::now();
    loop {
        let (posted, complete) = posted_actuals(&op).await;
        if posted == synced + 1 {
            assert!(
                complete,
                "every posted actual has its accounting amount and exchange rate"
            );
            break;
        }
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "the daemon exited:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        if started.elapsed() > Duration::from_secs(90) {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            panic!(
                "{posted} of {} actuals posted back after 90 s; the daemon's log ends:\n{}",
                synced + 1,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let back = op
        .get(
            &desc.project(&["msdyn_vouchernumber"]).unwrap(),
            &[vec![Value::Guid(uuid::Uuid::from_u128(0xe2e))]],
        )
        .await
        .unwrap();
    assert!(
        matches!(&back[0][1], Value::Text(v) if v.contains("PJV-")),
        "the new actual has its voucher: {:?}",
        back[0]
    );
    // Sales tax: every posted sales actual carries its real tax (the demo's groups tax every
    // sales line), cost none.
    let tax_desc = desc
        .project(&[
            "msdyn_transactiontypecode",
            "msdyn_salestaxamount",
            "msdyn_amount",
            "msdyn_skipsync",
        ])
        .unwrap();
    let (mut taxed_sales, mut sales) = (0, 0);
    for r in op.scan(&tax_desc, None, 100_000).await.unwrap() {
        let (Value::Int(ttype), Value::Bool(false)) = (&r[1], &r[4]) else {
            continue;
        };
        match (*ttype, &r[2]) {
            (192350000, tax) => assert!(
                matches!(tax, Value::Decimal(d) if d.is_zero()),
                "cost has no sales tax: {r:?}"
            ),
            (_, Value::Decimal(d)) => {
                sales += 1;
                if !d.is_zero() {
                    taxed_sales += 1;
                }
            }
            _ => panic!("a posted sales actual without sales tax amount: {r:?}"),
        }
    }
    assert!(
        sales > 0 && taxed_sales == sales,
        "{taxed_sales} of {sales} sales actuals taxed"
    );

    // Invoices: each confirmed proforma invoice was posted, and the customer invoice came back.
    let inv = op.describe("invoices").await.unwrap();
    let inv = inv
        .project(&[
            "msdyn_invoicestatus",
            "msdyn_customerinvoicenumber",
            "totaltax",
            "totalamount",
        ])
        .unwrap();
    let started = Instant::now();
    loop {
        let rows = op.scan(&inv, None, 10_000).await.unwrap();
        assert_eq!(rows.len() as u64, a.invoices, "the demo's proforma invoices");
        let done = rows.iter().filter(|r| r[1] == Value::Int(192350002)).count();
        if done == rows.len() {
            for r in &rows {
                assert!(
                    matches!(&r[2], Value::Text(n) if n.contains("PIV-")),
                    "invoice number: {r:?}"
                );
                assert!(
                    matches!(&r[3], Value::Decimal(t) if t.is_sign_positive() && !t.is_zero()),
                    "tax: {r:?}"
                );
            }
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{done} of {} invoices posted back after 60 s",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Each fixed-price contract line's first milestone made its revenue estimate project.
    let acct = SqlStore::open(&acct_url).await.unwrap();
    let estimates = acct.describe("ProjFixedPriceRevenueEstimateProject").await.unwrap();
    let made = acct.scan(&estimates, None, 10_000).await.unwrap().len() as u64;
    assert_eq!(
        made, summary.fixed_price_lines,
        "one revenue estimate project per fixed-price line"
    );
    // Expenses and vendor invoices: every document was posted, exported, approved into a cost
    // actual and that actual posted, which left both integration accounts at zero; the project
    // manager's confirmation came back onto every vendor invoice.
    let expenses = all_rows(&op, "msdyn_expenses").await;
    assert_eq!(expenses.len() as u64, summary.rows("ProjExpenseExportEntity").unwrap());
    let approved_col = op
        .describe("msdyn_expenses")
        .await
        .unwrap()
        .index_of("msdyn_approvalstatus")
        .unwrap();
    assert!(
        expenses.iter().all(|r| r[approved_col] == Value::Int(192350001)),
        "every expense approved"
    );
    assert_eq!(
        all_rows(&op, "msdyn_expensecategories").await.len() as u64,
        summary.rows("ProjExpenseCategoriesExport").unwrap()
    );
    let started = Instant::now();
    loop {
        let invoices = all_rows(&acct, "VendInvoiceExportsV2").await;
        let status = acct
            .describe("VendInvoiceExportsV2")
            .await
            .unwrap()
            .index_of("ProjVendInvoiceStatus")
            .unwrap();
        if invoices.iter().all(|r| r[status] == Value::Text("Confirmed".into())) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "vendor invoices not confirmed back: {invoices:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let entries = acct.describe("GeneralJournalAccountEntry").await.unwrap();
    let entries = entries.project(&["MainAccount", "AccountingCurrencyAmount"]).unwrap();
    for account in ["200510", "140310"] {
        let rows = acct.scan(&entries, None, 1_000_000).await.unwrap();
        let (mut n, mut sum) = (0, rust_decimal::Decimal::ZERO);
        for r in rows.iter().filter(|r| r[1] == Value::Text(account.into())) {
            n += 1;
            if let Value::Decimal(d) = r[2] {
                sum += d;
            }
        }
        assert!(
            n > 0 && sum.is_zero(),
            "integration account {account}: {n} entries, balance {sum}"
        );
    }
    unsafe { libc_kill(daemon.id() as i32, 15) };
    assert!(daemon.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_attributes_reach_the_actuals_sqlite() {
    posted_end_to_end("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_attributes_reach_the_actuals_postgres() {
    posted_end_to_end("postgres").await;
}
