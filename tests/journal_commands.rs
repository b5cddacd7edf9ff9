//! The journal commands as a person runs them (issue 12, item 9, first part), on SQLite and
//! PostgreSQL: `dualsync journal post NOPE-1` names a journal that does not exist, so it exits
//! 1 and says which one and where to look; posting every open journal still exits 0.

mod common;

use common::{DaemonStores, dualsync};
use dualsync::store::seed::{SeedOptions, load};
use dualsync::store::sql::init::init;
use dualsync::tablemap::model::Side;

async fn posting_an_unknown_journal_fails(backend: &str) {
    let stores = DaemonStores::new(backend, "journal_cmd_unknown").await;
    let config = stores.write_config(false, "");
    let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
    load::seed(&acct, Side::Accounting, &SeedOptions { actuals: 10, seed: 1 })
        .await
        .unwrap();

    let (code, out, err) = dualsync(&["journal", "post", "NOPE-1"], &config);
    assert_eq!(code, Some(1), "an unknown journal is an error: {out}{err}");
    assert!(
        err.contains("no integration journal is named NOPE-1") && err.contains("dualsync journal list"),
        "{err}"
    );
    let (code, out, err) = dualsync(&["journal", "post", "--all"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_an_unknown_journal_fails_on_sqlite() {
    posting_an_unknown_journal_fails("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_an_unknown_journal_fails_on_postgres() {
    posting_an_unknown_journal_fails("postgres").await;
}
