//! A legal entity added to the scope (the configuration's `companies`), on SQLite and on
//! PostgreSQL: the daemon, restarted with the wider scope, syncs the maps again by itself — the
//! existing resource roles fan out to the new legal entity, and its projects and actuals come in
//! — with no manual re-sync; `status` is healthy after. Taken out of the scope again, the legal
//! entity keeps what was synced and gets no more changes, while the others still do.

mod common;

use std::time::Duration;

use common::{Daemon, DaemonStores, eventually};
use dualsync::accounting::db::{self, Cells, Db};
use dualsync::value::ValueType;

/// The one integer a query returns.
async fn scalar(db: &Db, sql: &str, args: &[dualsync::store::sql::conn::Arg]) -> i64 {
    db.fetch(sql, args, &[ValueType::Int])
        .await
        .unwrap()
        .into_iter()
        .next()
        .and_then(|r| Cells::new(r).int())
        .unwrap()
}

/// Rows of an accounting table in one legal entity.
async fn count(db: &Db, table: &str, company: &str) -> i64 {
    let column = if table == "ProjCDSActualsImport" {
        "ProjectDataAreaId"
    } else {
        "DataAreaId"
    };
    let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"{column}\" = ?");
    scalar(db, &sql, &[db::text(company)]).await
}

fn with_companies(stores: &DaemonStores, companies: &str) -> std::path::PathBuf {
    let config = stores.write_config(false, "[processes]\nenabled = false\n");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace(
        "companies = [\"USPM\", \"DEMF\"]",
        &format!("companies = [{companies}]"),
    );
    assert!(text.contains(companies), "{text}");
    std::fs::write(&config, text).unwrap();
    config
}

async fn scope(backend: &'static str) {
    let (stores, op, acct) = DaemonStores::seeded(backend, "scope", 200, 4).await;
    let (op, acct) = (Db::new(&op), Db::new(&acct));
    let roles = scalar(&op, "SELECT COUNT(*) FROM bookableresourcecategories", &[]).await;
    let demf_projects = scalar(
        &op,
        "SELECT COUNT(*) FROM msdyn_projects WHERE msdyn_company = 'DEMF'",
        &[],
    )
    .await;
    assert!(roles > 0 && demf_projects > 0);

    // USPM only.
    let config = with_companies(&stores, "\"USPM\"");
    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon.wait_all_running(Duration::from_secs(180)).await;
    assert_eq!(count(&acct, "ProjCDSResourceCategoryEntity", "USPM").await, roles);
    assert_eq!(count(&acct, "ProjCDSResourceCategoryEntity", "DEMF").await, 0);
    assert_eq!(count(&acct, "ProjCDSProjectEntity", "DEMF").await, 0);
    assert!(daemon.terminate(Duration::from_secs(30)).success());

    // DEMF joins: its roles, projects and actuals arrive with no re-sync asked for.
    let config = with_companies(&stores, "\"USPM\", \"DEMF\"");
    let mut daemon = Daemon::start(&config, &stores.log_path());
    eventually(
        "DEMF's fan-out and records",
        &mut daemon,
        Duration::from_secs(180),
        || async {
            let got = (
                count(&acct, "ProjCDSResourceCategoryEntity", "DEMF").await,
                count(&acct, "ProjCDSProjectEntity", "DEMF").await,
                count(&acct, "ProjCDSActualsImport", "DEMF").await > 0,
            );
            match got == (roles, demf_projects, true) {
                true => Ok(()),
                false => Err(format!("{got:?} of ({roles}, {demf_projects}, true)")),
            }
        },
    )
    .await;
    let status = daemon.wait_all_running(Duration::from_secs(180)).await;
    assert!(
        daemon.log_tail(400).contains("legal entities joined the scope"),
        "{status}"
    );
    assert!(daemon.terminate(Duration::from_secs(30)).success());

    // DEMF leaves: what it has stays, and it gets no more changes; USPM still does.
    let config = with_companies(&stores, "\"USPM\"");
    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon.wait_all_running(Duration::from_secs(180)).await;
    op.execute(
        "UPDATE msdyn_projects SET msdyn_subject = 'renamed ' || msdyn_subject, modifiedon = modifiedon",
        &[],
    )
    .await
    .unwrap();
    let renamed = |company: &'static str| {
        let acct = &acct;
        async move {
            let sql = "SELECT COUNT(*) FROM \"ProjCDSProjectEntity\" WHERE \"DataAreaId\" = ? AND \"ProjectName\" LIKE 'renamed %'";
            scalar(acct, sql, &[db::text(company)]).await
        }
    };
    eventually(
        "USPM's renamed projects",
        &mut daemon,
        Duration::from_secs(120),
        || async {
            let n = renamed("USPM").await;
            match n > 0 && n == count(&acct, "ProjCDSProjectEntity", "USPM").await {
                true => Ok(()),
                false => Err(format!("{n} USPM projects renamed")),
            }
        },
    )
    .await;
    assert_eq!(renamed("DEMF").await, 0, "DEMF is out of scope: no more changes");
    assert_eq!(
        count(&acct, "ProjCDSProjectEntity", "DEMF").await,
        demf_projects,
        "and keeps what it had"
    );
    assert_eq!(count(&acct, "ProjCDSResourceCategoryEntity", "DEMF").await, roles);
    assert!(daemon.terminate(Duration::from_secs(30)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_sqlite() {
    scope("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_postgres() {
    scope("postgres").await;
}
