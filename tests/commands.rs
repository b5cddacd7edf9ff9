//! Admin commands as a person runs them (issue 12, item 9, first parts), on SQLite and
//! PostgreSQL: `dualsync journal post NOPE-1` names a journal that does not exist, so it exits
//! 1 and says which one and where to look (posting every open journal still exits 0); a
//! mistyped map name (`initial-sync --map actual`, `pause actual`) is refused with the nearest
//! name and the list of maps, before any store is opened.

mod common;

use common::{DaemonStores, dualsync};
use dualsync::demo::{SeedOptions, load};
use dualsync::store::sql::init::init;
use dualsync::tablemap::model::Side;

async fn posting_an_unknown_journal_fails(backend: &str) {
    let stores = DaemonStores::new(backend, "commands_unknown_journal").await;
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

async fn a_mistyped_map_name_is_refused_with_the_nearest(backend: &str) {
    let stores = DaemonStores::absent(backend, "commands_map_name").await;
    let config = stores.write_config(false, "");
    for args in [&["initial-sync", "--map", "actual"][..], &["pause", "actual"][..]] {
        let (code, out, err) = dualsync(args, &config);
        assert_eq!(code, Some(1), "{args:?}: {out}{err}");
        // initial-sync logs JSON here (the configuration says so): its quotes are escaped.
        let err = err.replace("\\\"", "\"");
        assert!(
            err.contains("there is no map named \"actual\"; did you mean \"actuals\"?")
                && err.contains("project-tasks"),
            "{args:?}: {err}"
        );
    }
    if backend == "sqlite" {
        assert!(
            !stores.dir.path().join("data").join("op.db").exists(),
            "no store was created for a command that was refused"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_map_name_is_refused_with_the_nearest_on_sqlite() {
    a_mistyped_map_name_is_refused_with_the_nearest("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_map_name_is_refused_with_the_nearest_on_postgres() {
    a_mistyped_map_name_is_refused_with_the_nearest("postgres").await;
}
