//! The engine end to end, on SQLite and on PostgreSQL: demo data seeded on the operational
//! side, every shipped map initially synced in dependency order (each accounting table then
//! holds exactly what the seed predicts), a second run changing nothing, then live sync: a new
//! actual reaches the staging table, the posted attributes written there flow back to the
//! actual, and the engine's own write-back is not echoed.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::TestStore;
use dualsync::engine::Engine;
use dualsync::engine::state::StateStore;
use dualsync::store::seed::{self, SeedOptions, load};
use dualsync::store::{Store, WriteOp};
use dualsync::tablemap::{self, model::Side};
use dualsync::value::Value;
use rust_decimal::Decimal;
use std::str::FromStr;

async fn count(store: &dyn Store, entity: &str) -> u64 {
    let desc = store.describe(entity).await.unwrap().project(&[]).unwrap();
    let mut n = 0;
    let mut after = None;
    loop {
        let page = store.scan(&desc, after.as_ref(), 5000).await.unwrap();
        let Some(last) = page.last() else { return n };
        after = Some(desc.key_of(last));
        n += page.len() as u64;
    }
}

async fn engine_end_to_end(backend: &str) {
    let op = TestStore::new(backend, &format!("engine_{backend}_op"), Side::Operational).await;
    let acct = TestStore::new(backend, &format!("engine_{backend}_acct"), Side::Accounting).await;
    let _keep = (op.keep_alive(), acct.keep_alive());
    let state_dir = tempfile::tempdir().unwrap();
    let state_url = match backend {
        "sqlite" => format!("sqlite://{}", state_dir.path().join("state.db").display()),
        _ => common::fresh_pg_database("engine_state").await,
    };
    let opts = SeedOptions { actuals: 300, seed: 3 };
    load::seed(&op.store, Side::Operational, &opts).await.unwrap();
    load::seed(&acct.store, Side::Accounting, &opts).await.unwrap();

    let loaded = tablemap::load(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")]).unwrap();
    let maps: Vec<_> = loaded.maps().cloned().collect();
    for (side, store) in [(Side::Operational, &op.store), (Side::Accounting, &acct.store)] {
        let entities: Vec<&str> = maps
            .iter()
            .map(|m| {
                if side == Side::Operational {
                    m.operational.entity.as_str()
                } else {
                    m.accounting.entity.as_str()
                }
            })
            .collect();
        store.install_capture(&entities).await.unwrap();
    }
    let op_store = Arc::new(dualsync::store::sql::SqlStore::open(&op.url).await.unwrap());
    let acct_store = Arc::new(dualsync::store::sql::SqlStore::open(&acct.url).await.unwrap());
    let state = StateStore::open(&state_url).await.unwrap();
    let companies = vec!["USPM".to_string(), "DEMF".to_string()];
    let engine = Engine::new(op_store.clone(), acct_store.clone(), state, &maps, companies).unwrap();

    // Initial sync, parents first.
    let names: Vec<String> = engine.maps.iter().map(|m| m.name.clone()).collect();
    assert!(names.iter().position(|n| n == "projects") < names.iter().position(|n| n == "project-tasks"));
    for name in &names {
        let counts = engine.initial_sync(name, &mut |_| {}).await.unwrap();
        assert_eq!(counts.failed, 0, "{name}: {counts:?}");
    }
    let summary = seed::summary(&opts);
    for (entity, expected) in &summary.expected_after_initial_sync {
        assert_eq!(
            count(acct_store.as_ref(), entity).await,
            *expected,
            "{entity} after initial sync on {backend}"
        );
    }
    let mut skips = engine.state.count_skipped_by_rule("actuals").await.unwrap();
    skips.sort();
    let a = &summary.actuals;
    let mut want = vec![
        ("intercompany-cost".to_string(), a.skipped_intercompany_cost),
        ("negative-unbilled-sales".to_string(), a.skipped_negative_unbilled_sales),
        ("skip-sync-flag".to_string(), a.skipped_other),
    ];
    want.retain(|(_, n)| *n > 0);
    assert_eq!(skips, want, "each skipped actual is recorded with its rule");

    // Running it again changes nothing.
    engine.state.clear_checkpoint("actuals").await.unwrap();
    let again = engine.initial_sync("actuals", &mut |_| {}).await.unwrap();
    assert_eq!(again.written, 0, "{again:?}");

    // Live: a new actual reaches the staging table.
    let actuals = op_store.describe("msdyn_actuals").await.unwrap();
    let template = op_store.scan(&actuals, None, 1).await.unwrap().remove(0);
    let project = template[actuals.index_of("msdyn_project").unwrap()].clone();
    let new_id = uuid::Uuid::from_u128(0xfeed);
    let mut row = template.clone();
    row[actuals.index_of("msdyn_actualid").unwrap()] = Value::Guid(new_id);
    row[actuals.index_of("msdyn_skipsync").unwrap()] = Value::Bool(false);
    row[actuals.index_of("msdyn_transactiontypecode").unwrap()] = Value::Int(192350000);
    row[actuals.index_of("msdyn_description").unwrap()] = Value::Text("live actual".into());
    op_store.apply(&actuals, &[WriteOp::Upsert(row)]).await.unwrap();
    let map = engine.map("actuals").unwrap().clone();
    while engine.live_step(&map, Side::Operational).await.unwrap() > 0 {}
    let staging = acct_store.describe("ProjCDSActualsImport").await.unwrap();
    let found: Vec<_> = acct_store
        .scan(&staging, None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r[staging.index_of("ActualId").unwrap()] == Value::Guid(new_id))
        .collect();
    assert_eq!(found.len(), 1, "the new actual is in the staging table");
    assert_eq!(
        found[0][staging.index_of("ProjectId").unwrap()],
        project,
        "the project lookup is translated"
    );

    // Posting writes the four attributes on the staging row; they flow back to the actual.
    let posted = staging
        .project(&["AccountingAmount", "ExchangeRate", "VoucherNumber", "SalesTaxAmount"])
        .unwrap();
    let key = staging.key_of(&found[0]);
    let mut post = key.clone();
    post.extend([
        Value::Decimal(Decimal::from_str("123.45").unwrap()),
        Value::Decimal(Decimal::from_str("1.0875").unwrap()),
        Value::Text("PV-000001".into()),
        Value::Decimal(Decimal::from_str("9.88").unwrap()),
    ]);
    acct_store.apply(&posted, &[WriteOp::Upsert(post)]).await.unwrap();
    while engine.live_step(&map, Side::Accounting).await.unwrap() > 0 {}
    let back = op_store
        .get(
            &actuals
                .project(&[
                    "msdyn_accountingamount",
                    "msdyn_accountingexchangerate",
                    "msdyn_vouchernumber",
                    "msdyn_salestaxamount",
                ])
                .unwrap(),
            &[vec![Value::Guid(new_id)]],
        )
        .await
        .unwrap();
    assert_eq!(back[0][1], Value::Decimal(Decimal::from_str("123.45").unwrap()));
    assert_eq!(back[0][3], Value::Text("PV-000001".into()));
    assert_eq!(back[0][4], Value::Decimal(Decimal::from_str("9.88").unwrap()));

    // The write-back changed the actual; the operational feed shows it, and nothing is echoed.
    let staged_before = count(acct_store.as_ref(), "ProjCDSActualsImport").await;
    let head_before = acct_store.head().await.unwrap();
    while engine.live_step(&map, Side::Operational).await.unwrap() > 0 {}
    assert_eq!(
        acct_store.head().await.unwrap(),
        head_before,
        "no write to the accounting store"
    );
    assert_eq!(count(acct_store.as_ref(), "ProjCDSActualsImport").await, staged_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_end_to_end_sqlite() {
    engine_end_to_end("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_end_to_end_postgres() {
    engine_end_to_end("postgres").await;
}
