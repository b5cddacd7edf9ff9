//! The engine end to end, on SQLite and on PostgreSQL: demo data seeded on the operational
//! side, every shipped map initially synced in dependency order (each accounting table then
//! holds exactly what the seed predicts), a second run changing nothing, then live sync: a new
//! actual reaches the staging table, the posted attributes written there flow back to the
//! actual, and the engine's own write-back is not echoed.

mod common;

use common::engine::{Setup, count, setup};

use std::sync::Arc;

use dualsync::demo;
use dualsync::engine::Engine;
use dualsync::engine::state::MapState;
use dualsync::store::{Store, WriteOp};
use dualsync::tablemap::model::Side;
use dualsync::value::Value;
use rust_decimal::Decimal;
use sqlx::Connection;
use std::str::FromStr;
use uuid::Uuid;

async fn engine_end_to_end(backend: &str) {
    let Setup {
        op,
        acct,
        _state_dir,
        engine,
        op_store,
        acct_store,
        opts,
        ..
    } = setup(backend, "engine", |_| {}).await;
    let _keep = (op.keep_alive(), acct.keep_alive());

    // Initial sync, parents first.
    let names: Vec<String> = engine.maps.iter().map(|m| m.name.clone()).collect();
    assert!(names.iter().position(|n| n == "projects") < names.iter().position(|n| n == "project-tasks"));
    for name in &names {
        let counts = engine.initial_sync(name, &mut |_| {}).await.unwrap();
        assert_eq!(counts.failed, 0, "{name}: {counts:?}");
    }
    let summary = demo::summary(&opts);
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

    // The copy went into an empty staging table: live sync's accounting direction starts after
    // the copy's own writes instead of reading every one of them back as an echo.
    let map = engine.map("actuals").unwrap().clone();
    assert!(count(acct_store.as_ref(), "ProjCDSActualsImport").await > 0);
    assert_eq!(
        engine.live_step(&map, Side::Accounting).await.unwrap(),
        0,
        "no echo of the initial sync's writes to read"
    );

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
    let head_before = acct_store.change_log_size().await.unwrap();
    while engine.live_step(&map, Side::Operational).await.unwrap() > 0 {}
    assert_eq!(
        acct_store.change_log_size().await.unwrap(),
        head_before,
        "no write to the accounting store"
    );
    assert_eq!(count(acct_store.as_ref(), "ProjCDSActualsImport").await, staged_before);

    // A backlog is read in growing batches: 1,600 new actuals committed at once take steps of
    // 500, then 1,000 (the batch came back full, so it doubled), then the 100 left.
    let burst: Vec<WriteOp> = (0..1600u128)
        .map(|n| {
            let mut r = row_template(&actuals, &template);
            r[actuals.index_of("msdyn_actualid").unwrap()] = Value::Guid(Uuid::from_u128(0xb0_0000 + n));
            WriteOp::Upsert(r)
        })
        .collect();
    op_store.apply(&actuals, &burst).await.unwrap();
    let mut steps = Vec::new();
    loop {
        match engine.live_step(&map, Side::Operational).await.unwrap() {
            0 => break,
            n => steps.push(n),
        }
    }
    assert_eq!(steps, vec![500, 1000, 100], "batch sizes of the backlog");
    assert_eq!(
        count(acct_store.as_ref(), "ProjCDSActualsImport").await,
        staged_before + 1600,
        "every actual of the backlog is staged"
    );
}

/// A copy of `template` that syncs (a cost actual without Skip Sync).
fn row_template(actuals: &dualsync::store::EntityDesc, template: &[Value]) -> Vec<Value> {
    let mut row = template.to_vec();
    row[actuals.index_of("msdyn_skipsync").unwrap()] = Value::Bool(false);
    row[actuals.index_of("msdyn_transactiontypecode").unwrap()] = Value::Int(192350000);
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_end_to_end_sqlite() {
    engine_end_to_end("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_end_to_end_postgres() {
    engine_end_to_end("postgres").await;
}

async fn parked_errors_and_pause(backend: &str) {
    let Setup {
        op,
        acct,
        _state_dir,
        mut engine,
        op_store,
        acct_store,
        ..
    } = setup(backend, "faults", |_| {}).await;
    let _keep = (op.keep_alive(), acct.keep_alive());
    let names: Vec<String> = engine.maps.iter().map(|m| m.name.clone()).collect();
    for name in &names {
        engine.initial_sync(name, &mut |_| {}).await.unwrap();
    }
    let tasks_map = engine.map("project-tasks").unwrap().clone();
    let tasks = op_store.describe("msdyn_projecttasks").await.unwrap();
    let template = op_store.scan(&tasks, None, 1).await.unwrap().remove(0);
    let task = |id: u128, parent: Option<u128>| {
        let mut r = template.clone();
        r[tasks.index_of("msdyn_projecttaskid").unwrap()] = Value::Guid(uuid::Uuid::from_u128(id));
        r[tasks.index_of("msdyn_parenttask").unwrap()] = parent
            .map(|p| Value::Guid(uuid::Uuid::from_u128(p)))
            .unwrap_or(Value::Null);
        r
    };
    let in_staging = |id: u128| {
        let acct_store = acct_store.clone();
        async move {
            let d = acct_store.describe("ProjCDSTaskEntity").await.unwrap();
            let i = d.index_of("TaskId").unwrap();
            acct_store
                .scan(&d, None, 100_000)
                .await
                .unwrap()
                .iter()
                .any(|r| r[i] == Value::Guid(uuid::Uuid::from_u128(id)))
        }
    };

    // A child that arrives before its parent is parked, then synced when the parent comes.
    if backend == "postgres" {
        op_store
            .execute_script(
                "ALTER TABLE msdyn_projecttasks DROP CONSTRAINT IF EXISTS msdyn_projecttasks_msdyn_parenttask_fkey",
            )
            .await
            .unwrap();
    } else {
        // SQLite enforces the parent FK per connection; write the child through a connection without it.
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&op.url)
            .unwrap()
            .foreign_keys(false);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let child = Uuid::from_u128(0xc1).to_string();
        let parent = Uuid::from_u128(0xa1).to_string();
        sqlx::query("INSERT INTO msdyn_projecttasks (msdyn_projecttaskid, msdyn_project, msdyn_company, msdyn_subject, msdyn_parenttask) \
                     SELECT ?, msdyn_project, msdyn_company, 'child', ? FROM msdyn_projecttasks LIMIT 1")
            .bind(child).bind(parent).execute(&pool).await.unwrap();
    }
    if backend == "postgres" {
        op_store
            .apply(&tasks, &[WriteOp::Upsert(task(0xc1, Some(0xa1)))])
            .await
            .unwrap();
    }
    while engine.live_step(&tasks_map, Side::Operational).await.unwrap() > 0 {}
    assert_eq!(engine.state.count_parked("project-tasks").await.unwrap(), 1);
    assert!(!in_staging(0xc1).await, "the child waits");
    op_store
        .apply(&tasks, &[WriteOp::Upsert(task(0xa1, None))])
        .await
        .unwrap();
    while engine.live_step(&tasks_map, Side::Operational).await.unwrap() > 0 {}
    assert!(
        in_staging(0xa1).await && in_staging(0xc1).await,
        "parent, then the parked child"
    );
    assert_eq!(engine.state.count_parked("project-tasks").await.unwrap(), 0);

    // A parent that never comes: after the timeout the child is a record error naming it.
    engine.park_timeout = std::time::Duration::ZERO;
    if backend == "postgres" {
        op_store
            .apply(&tasks, &[WriteOp::Upsert(task(0xc2, Some(0xdead)))])
            .await
            .unwrap();
        while engine.live_step(&tasks_map, Side::Operational).await.unwrap() > 0 {}
        assert_eq!(engine.expire_parked().await.unwrap(), 1);
        let letters = engine
            .state
            .list_dead_letters(Some("project-tasks"), None)
            .await
            .unwrap();
        assert!(letters[0].message.contains("never arrived"), "{letters:?}");
    }

    // An unmapped option-set code is a record error; the others go on.
    let actuals_map = engine.map("actuals").unwrap().clone();
    let actuals = op_store.describe("msdyn_actuals").await.unwrap();
    let mut bad = op_store.scan(&actuals, None, 1).await.unwrap().remove(0);
    let class = actuals.index_of("msdyn_transactionclassification").unwrap();
    bad[actuals.index_of("msdyn_actualid").unwrap()] = Value::Guid(Uuid::from_u128(0xbad));
    bad[actuals.index_of("msdyn_skipsync").unwrap()] = Value::Bool(false);
    bad[class] = Value::Int(42);
    op_store.apply(&actuals, &[WriteOp::Upsert(bad.clone())]).await.unwrap();
    while engine.live_step(&actuals_map, Side::Operational).await.unwrap() > 0 {}
    let open = engine.state.list_dead_letters(Some("actuals"), None).await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(open[0].message.contains("42"), "{:?}", open[0]);
    // The alert rule: enough errors within the window pause the map, with the reason.
    engine.alert_max_errors = 1;
    assert!(engine.check_alert(&actuals_map).await.unwrap());
    let status = engine.state.get_map_state("actuals").await.unwrap().unwrap();
    assert_eq!(status.state, MapState::Paused);
    assert!(status.message.unwrap().starts_with("alert: 1 record errors"));
    engine
        .state
        .set_map_state("actuals", MapState::Running, None)
        .await
        .unwrap();
    engine.alert_max_errors = 100;
    // Fixed at the source, the retried record syncs and its error is resolved.
    bad[class] = Value::Int(192350000);
    op_store.apply(&actuals, &[WriteOp::Upsert(bad)]).await.unwrap();
    engine
        .resync(
            &actuals_map,
            Side::Operational,
            std::slice::from_ref(&open[0].record_key),
        )
        .await
        .unwrap();
    assert_eq!(engine.state.count_open_dead_letters(Some("actuals")).await.unwrap(), 0);

    // A paused map leaves its changes in the feed; resumed, it catches up.
    while engine.live_step(&actuals_map, Side::Operational).await.unwrap() > 0 {}
    engine
        .state
        .set_map_state("actuals", MapState::Paused, Some("test"))
        .await
        .unwrap();
    let mut row = op_store.scan(&actuals, None, 1).await.unwrap().remove(0);
    row[actuals.index_of("msdyn_actualid").unwrap()] = Value::Guid(Uuid::from_u128(0x9a));
    row[actuals.index_of("msdyn_skipsync").unwrap()] = Value::Bool(false);
    row[class] = Value::Int(192350000);
    op_store.apply(&actuals, &[WriteOp::Upsert(row)]).await.unwrap();
    let engine = Arc::new(engine);
    let run = |engine: Arc<Engine>| async move {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let live = tokio::spawn(async move { engine.run_live(rx).await });
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        stop.send(true).unwrap();
        live.await.unwrap();
    };
    let staged = |id: u128| {
        let acct_store = acct_store.clone();
        async move {
            let d = acct_store.describe("ProjCDSActualsImport").await.unwrap();
            let i = d.index_of("ActualId").unwrap();
            acct_store
                .scan(&d, None, 100_000)
                .await
                .unwrap()
                .iter()
                .any(|r| r[i] == Value::Guid(Uuid::from_u128(id)))
        }
    };
    run(engine.clone()).await;
    assert!(!staged(0x9a).await, "paused: the change waits");
    engine
        .state
        .set_map_state("actuals", MapState::Running, None)
        .await
        .unwrap();
    run(engine.clone()).await;
    assert!(staged(0x9a).await, "resumed: caught up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_errors_and_pause_sqlite() {
    parked_errors_and_pause("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_errors_and_pause_postgres() {
    parked_errors_and_pause("postgres").await;
}

/// SQLite only: the accounting file is locked by another program for longer than the busy
/// timeout; live sync retries (backoff) and delivers the change once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_store_is_waited_for_and_nothing_is_lost() {
    let Setup {
        op,
        acct,
        _state_dir,
        mut engine,
        op_store,
        acct_store,
        ..
    } = setup("sqlite", "locked", |_| {}).await;
    let _keep = (op.keep_alive(), acct.keep_alive());
    for name in engine.maps.iter().map(|m| m.name.clone()).collect::<Vec<_>>() {
        engine.initial_sync(&name, &mut |_| {}).await.unwrap();
    }
    engine.retry = dualsync::engine::retry::RetryPolicy {
        initial: std::time::Duration::from_millis(200),
        max: std::time::Duration::from_secs(1),
        attempts: 8,
    };
    let actuals_map = engine.map("actuals").unwrap().clone();
    let actuals = op_store.describe("msdyn_actuals").await.unwrap();
    let mut row = op_store.scan(&actuals, None, 1).await.unwrap().remove(0);
    row[actuals.index_of("msdyn_actualid").unwrap()] = Value::Guid(Uuid::from_u128(0x10c));
    row[actuals.index_of("msdyn_skipsync").unwrap()] = Value::Bool(false);
    row[actuals.index_of("msdyn_transactionclassification").unwrap()] = Value::Int(192350000);
    op_store.apply(&actuals, &[WriteOp::Upsert(row)]).await.unwrap();

    // Another program holds the write lock for 7 s (the busy timeout is 5 s).
    let mut locker = sqlx::SqliteConnection::connect(&acct.url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut locker).await.unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(7)).await;
        sqlx::query("COMMIT").execute(&mut locker).await.unwrap();
    });
    while engine.live_step(&actuals_map, Side::Operational).await.unwrap() > 0 {}
    release.await.unwrap();
    let d = acct_store.describe("ProjCDSActualsImport").await.unwrap();
    let i = d.index_of("ActualId").unwrap();
    let rows = acct_store.scan(&d, None, 100_000).await.unwrap();
    assert!(
        rows.iter().any(|r| r[i] == Value::Guid(Uuid::from_u128(0x10c))),
        "delivered after the lock"
    );
    assert_eq!(engine.state.count_open_dead_letters(None).await.unwrap(), 0);
}

/// Initial sync is a pipeline (batches written while earlier ones commit): a state store that
/// refuses a commit midway stops it with the error (no batch waits forever to be committed), the
/// checkpoint holds the last batch committed before, and the sync resumes from there.
async fn a_refused_commit_stops_the_copy(backend: &str) {
    let Setup {
        op,
        acct,
        _state_dir,
        state_url,
        mut engine,
        acct_store,
        ..
    } = setup(backend, "refused_commit", |_| {}).await;
    let _keep = (op.keep_alive(), acct.keep_alive());
    engine.batch_size = 20;
    let names: Vec<String> = engine.maps.iter().map(|m| m.name.clone()).collect();
    for name in names.iter().take_while(|n| *n != "actuals") {
        engine.initial_sync(name, &mut |_| {}).await.unwrap();
    }
    // The state store refuses links of the actuals map once 100 of them are stored.
    let refuse = |on: bool| match (backend, on) {
        ("sqlite", true) => vec![
            "CREATE TRIGGER refuse BEFORE INSERT ON links WHEN NEW.map = 'actuals' AND \
             (SELECT COUNT(*) FROM links WHERE map = 'actuals') >= 100 \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        ],
        ("sqlite", false) => vec!["DROP TRIGGER refuse"],
        (_, true) => vec![
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.map = 'actuals' AND (SELECT COUNT(*) FROM links WHERE map = 'actuals') >= 100 THEN \
             RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT ON links FOR EACH ROW EXECUTE FUNCTION refuse()",
        ],
        (_, false) => vec!["DROP TRIGGER refuse ON links", "DROP FUNCTION refuse()"],
    };
    let run = |statements: Vec<&'static str>| {
        let url = state_url.clone();
        async move {
            match url.starts_with("sqlite") {
                true => {
                    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                    for s in statements {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(s)).execute(&mut c).await.unwrap();
                    }
                }
                false => {
                    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                    for s in statements {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(s)).execute(&mut c).await.unwrap();
                    }
                }
            }
        }
    };
    run(refuse(true)).await;
    let copy = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        engine.initial_sync("actuals", &mut |_| {}),
    )
    .await
    .expect("the copy stops instead of waiting forever");
    let e = copy.expect_err("a refused commit fails the copy");
    assert!(e.to_string().contains("refused by the test"), "{e}");
    let checkpoint = engine.state.get_checkpoint("actuals").await.unwrap().unwrap();
    let linked = engine.state.count_links("actuals").await.unwrap();
    assert!(
        (1..=100).contains(&linked),
        "the batches before the refused one: {linked}"
    );
    assert_eq!(
        checkpoint.counts.written, linked,
        "the checkpoint matches the links: {checkpoint:?}"
    );

    // Accepted again: the copy resumes after the checkpoint and finishes.
    run(refuse(false)).await;
    let counts = engine.initial_sync("actuals", &mut |_| {}).await.unwrap();
    assert_eq!(counts.failed, 0, "{counts:?}");
    let staged = count(acct_store.as_ref(), "ProjCDSActualsImport").await;
    assert_eq!(engine.state.count_links("actuals").await.unwrap(), staged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_commit_stops_the_copy_sqlite() {
    a_refused_commit_stops_the_copy("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_commit_stops_the_copy_postgres() {
    a_refused_commit_stops_the_copy("postgres").await;
}
