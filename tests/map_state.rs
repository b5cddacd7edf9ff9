//! A map's state tells the truth about both of its directions (issue 11, item 11), on SQLite and
//! PostgreSQL, through the in-process engine: while one direction of a map fails, the map reads
//! `failed` with the error even though its other direction syncs without trouble; it reads
//! `running` again only once the failing direction succeeds.

mod common;

use common::engine::{quiesce, setup};
use dualsync::engine::live::Failing;
use dualsync::engine::state::MapState;

async fn a_map_stays_failed_while_one_direction_fails(backend: &str) {
    let s = setup(backend, "map_state", |_| {}).await;
    let names: Vec<String> = s.engine.maps.iter().map(|m| m.name.clone()).collect();
    for name in &names {
        s.engine.initial_sync(name, &mut |_| {}).await.unwrap();
    }
    quiesce(&s.engine).await;

    // Operational -> accounting breaks (the staging table is gone); accounting -> operational
    // has nothing to do and succeeds.
    s.acct
        .run_client("ALTER TABLE \"ProjCDSActualsImport\" RENAME TO \"ProjCDSActualsImport_away\"");
    s.op.run_client(
        "UPDATE msdyn_actuals SET msdyn_description = 'edited while staging is away' WHERE msdyn_company = 'USPM'",
    );
    let mut failing = Failing::default();
    for round in 1..=2 {
        // A missing table waits for an operator (tried again every 30 s): no wait in the test.
        failing.retry_now();
        s.engine.live_round(&mut failing).await;
        let state = s.engine.state.get_map_state("actuals").await.unwrap().unwrap();
        assert_eq!(
            state.state,
            MapState::Failed,
            "round {round}: one direction fails, so the map is failed: {state:?}"
        );
        let reason = state.message.clone().unwrap_or_default();
        assert!(
            reason.contains("ProjCDSActualsImport"),
            "the error names the cause: {reason}"
        );
    }
    let other = s.engine.state.get_map_state("projects").await.unwrap().unwrap();
    assert_eq!(other.state, MapState::Running, "the other maps run on");

    // Back: the map runs again at its next attempt and the edits arrive.
    s.acct
        .run_client("ALTER TABLE \"ProjCDSActualsImport_away\" RENAME TO \"ProjCDSActualsImport\"");
    failing.retry_now();
    while s.engine.live_round(&mut failing).await {}
    let state = s.engine.state.get_map_state("actuals").await.unwrap().unwrap();
    assert_eq!(state.state, MapState::Running, "{state:?}");
    let acct = s.acct.store.pool().clone();
    let staged = acct
        .fetch(
            "SELECT COUNT(*) FROM \"ProjCDSActualsImport\" WHERE \"Description\" = 'edited while staging is away'",
            &[],
            &[dualsync::value::ValueType::Int],
        )
        .await
        .unwrap();
    assert!(
        matches!(staged[0][0], dualsync::value::Value::Int(n) if n > 0),
        "the edits arrived: {staged:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_stays_failed_while_one_direction_fails_sqlite() {
    a_map_stays_failed_while_one_direction_fails("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_stays_failed_while_one_direction_fails_postgres() {
    a_map_stays_failed_while_one_direction_fails("postgres").await;
}
