//! The reference stores as a whole, on SQLite and PostgreSQL: the shipped table maps fit the
//! reference schemas exactly (every entity and column exists with a fitting type), a map that
//! names a missing column is caught at its exact place, and the demo data seeds completely,
//! deterministically and idempotently.

mod common;

use std::path::Path;

use common::TestStore;
use dualsync::catalog_check;
use dualsync::demo::{self, SeedOptions, load};
use dualsync::store::Store;
use dualsync::tablemap::{self, SourceFile, model::Side};

async fn pair(backend: &str, name: &str) -> (TestStore, TestStore) {
    let op = TestStore::new(backend, &format!("{name}_op"), Side::Operational).await;
    let acct = TestStore::new(backend, &format!("{name}_acct"), Side::Accounting).await;
    (op, acct)
}

fn shipped_maps() -> tablemap::Loaded {
    let loaded = tablemap::load(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")]).unwrap();
    assert!(loaded.is_valid());
    loaded
}

async fn shipped_maps_fit_the_reference_schemas(backend: &str) {
    let (op, acct) = pair(backend, "maps_fit").await;
    let _keep = (op.keep_alive(), acct.keep_alive());
    let loaded = shipped_maps();
    let stores: Vec<(Side, &dyn Store)> = vec![(Side::Operational, &op.store), (Side::Accounting, &acct.store)];
    let problems = catalog_check::check(&loaded, &stores).await.unwrap();
    let shown: Vec<String> = problems.iter().map(|d| d.to_string()).collect();
    assert!(problems.is_empty(), "{}", shown.join("\n\n"));

    // A map that names columns the store lacks is caught where it names them.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps/projects.toml"))
        .unwrap()
        .replace("accounting = \"ProjectName\"", "accounting = \"ProjectNam\"")
        .replace(
            "[operational]\nentity = \"msdyn_projects\"",
            "[operational]\nentity = \"msdyn_projects\"\nfilter = \"statecod eq 0\"",
        );
    let broken = tablemap::load_sources(vec![SourceFile::new("projects.toml", text.clone())]);
    assert!(broken.is_valid(), "still valid on its own: {:?}", broken.diagnostics);
    let problems = catalog_check::check(&broken, &stores).await.unwrap();
    let messages: Vec<String> = problems
        .iter()
        .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
        .collect();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        messages.contains(&format!(
            "{}:14 `ProjCDSProjectEntity` has no column `ProjectNam` in the accounting store",
            line_of("\"ProjectNam\"")
        )),
        "{messages:?}"
    );
    assert!(
        messages.contains(&format!(
            "{}:11 `msdyn_projects` has no column `statecod` in the operational store",
            line_of("statecod")
        )),
        "{messages:?}"
    );
    assert!(
        problems
            .iter()
            .any(|d| d.hint.as_deref() == Some("did you mean `ProjectName`?"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_maps_fit_the_sqlite_reference_schemas() {
    shipped_maps_fit_the_reference_schemas("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_maps_fit_the_postgres_reference_schemas() {
    shipped_maps_fit_the_reference_schemas("postgres").await;
}

async fn demo_data_seeds_completely_and_idempotently(backend: &str) {
    let (op, acct) = pair(backend, "seeding").await;
    let _keep = (op.keep_alive(), acct.keep_alive());
    let opts = SeedOptions { actuals: 600, seed: 7 };
    let summary = demo::summary(&opts);
    for _ in 0..2 {
        // Twice: seeding again rewrites the same rows, it adds none.
        load::seed(&op.store, Side::Operational, &opts).await.unwrap();
        load::seed(&acct.store, Side::Accounting, &opts).await.unwrap();
    }
    for (store, tables) in [(&op.store, &summary.operational), (&acct.store, &summary.accounting)] {
        for (entity, expected) in tables {
            let desc = store.describe(entity).await.unwrap();
            let mut n = 0u64;
            let mut after = None;
            loop {
                let page = store.scan(&desc, after.as_ref(), 1000).await.unwrap();
                let Some(last) = page.last() else { break };
                after = Some(desc.key_of(last));
                n += page.len() as u64;
            }
            assert_eq!(n, *expected, "{entity} on {backend}");
        }
    }
    assert_eq!(summary.rows("msdyn_actuals"), Some(600));
    // The same seed gives the same data: a fresh store seeded alike holds identical actuals.
    let other = TestStore::new(backend, "seeding_again", Side::Operational).await;
    let _keep2 = other.keep_alive();
    load::seed(&other.store, Side::Operational, &opts).await.unwrap();
    let desc = op.store.describe("msdyn_actuals").await.unwrap();
    let desc = desc
        .project(&[
            "msdyn_amount",
            "msdyn_skipsync",
            "msdyn_transactiontypecode",
            "msdyn_documentdate",
        ])
        .unwrap();
    let a = op.store.scan(&desc, None, 10_000).await.unwrap();
    let b = other.store.scan(&desc, None, 10_000).await.unwrap();
    assert_eq!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_seeds_sqlite() {
    demo_data_seeds_completely_and_idempotently("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_seeds_postgres() {
    demo_data_seeds_completely_and_idempotently("postgres").await;
}

#[test]
fn store_commands_report_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("op.db").display());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dualsync"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let init = run(&["store", "init", "--side", "operational", "--url", &url]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let out = String::from_utf8_lossy(&init.stdout);
    assert!(
        out.contains("operational store ready") && out.contains("change capture on 17 entities"),
        "{out}"
    );
    let seeded = run(&["store", "seed", "--url", &url, "--scale", "50"]);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    assert!(String::from_utf8_lossy(&seeded.stdout).contains("        50  msdyn_actuals"));
    let wrong = run(&["store", "seed", "--url", &url, "--side", "accounting"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("is the operational store"));
    let missing = run(&["store", "seed", "--url", "sqlite:///nonexistent/dir/x.db"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("dualsync store init"));
}
