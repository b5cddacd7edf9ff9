//! Records are never lost or stuck (issue 11, items 2b, 6, 7, 8, 9), on SQLite and on
//! PostgreSQL, through the in-process engine over seeded stores: a GUID key written in upper
//! case syncs and two spellings of one key are a record error; a record the store cannot read
//! is a record error naming its key, column and stored value, and the rest syncs (live and
//! initial sync); a change-log entry whose key cannot be decoded is a record error and is
//! passed; record errors resolve when the record is fine and a retry that changes nothing
//! leaves them open; an actual whose company changes after it was synced is a record error,
//! not a second staging row.

mod common;

use common::engine::{Setup, count, setup};

use dualsync::engine::state::{DeadLetter, DeadLetterStatus};
use dualsync::store::{Store, WriteOp};
use dualsync::tablemap::model::Side;
use dualsync::value::Value;
use uuid::Uuid;

/// Seeded stores, every map initially synced, and one new actual (USPM, Time, Skip Sync off)
/// synced live: the template the tests copy.
async fn synced(backend: &str, name: &str) -> (Setup, Uuid) {
    let s = setup(backend, name, |_| {}).await;
    for name in s.engine.maps.iter().map(|m| m.name.clone()).collect::<Vec<_>>() {
        s.engine.initial_sync(&name, &mut |_| {}).await.unwrap();
    }
    let actuals = s.op_store.describe("msdyn_actuals").await.unwrap();
    let company = actuals.index_of("msdyn_company").unwrap();
    let template = s
        .op_store
        .scan(&actuals, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r[company] == Value::Text("USPM".into()))
        .unwrap();
    let id = Uuid::from_u128(0x7e3b_0000_0000_0000_0000_0000_0000_0001);
    let mut row = template;
    row[actuals.index_of("msdyn_actualid").unwrap()] = Value::Guid(id);
    row[actuals.index_of("msdyn_skipsync").unwrap()] = Value::Bool(false);
    row[actuals.index_of("msdyn_transactiontypecode").unwrap()] = Value::Int(192350000);
    row[actuals.index_of("msdyn_transactionclassification").unwrap()] = Value::Int(192350000);
    s.op_store.apply(&actuals, &[WriteOp::Upsert(row)]).await.unwrap();
    live(&s, "actuals", Side::Operational).await;
    assert_eq!(staged(&s, id).await.len(), 1, "the template actual is staged");
    (s, id)
}

/// Live-syncs one map from one side until its feed is drained.
async fn live(s: &Setup, map: &str, from: Side) {
    let map = s.engine.map(map).unwrap().clone();
    while s.engine.live_step(&map, from).await.unwrap() > 0 {}
}

/// The staging rows of an actual.
async fn staged(s: &Setup, id: Uuid) -> Vec<Vec<Value>> {
    let d = s.acct_store.describe("ProjCDSActualsImport").await.unwrap();
    let i = d.index_of("ActualId").unwrap();
    s.acct_store
        .scan(&d, None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r[i] == Value::Guid(id))
        .collect()
}

/// Sets one column of an actual, as the engine's store would write it.
async fn set(s: &Setup, id: Uuid, column: &str, value: Value) {
    let d = s.op_store.describe("msdyn_actuals").await.unwrap().project(&[column]).unwrap();
    s.op_store
        .apply(&d, &[WriteOp::Upsert(vec![Value::Guid(id), value])])
        .await
        .unwrap();
}

/// Inserts, through the backend's own client as another program would, a copy of actual
/// `from` with key `id` (SQL text) and the `SET` assignments `sets` (may be empty).
fn copy_actual(s: &Setup, from: Uuid, id: &str, sets: &str) {
    let sets = if sets.is_empty() { String::new() } else { format!(", {sets}") };
    s.op.run_client(&format!(
        "CREATE TEMP TABLE c AS SELECT * FROM msdyn_actuals WHERE msdyn_actualid = '{from}';
         UPDATE c SET msdyn_actualid = '{id}'{sets};
         INSERT INTO msdyn_actuals SELECT * FROM c;
         DROP TABLE c;"
    ));
}

async fn letters(s: &Setup) -> Vec<DeadLetter> {
    s.engine.state.list_dead_letters(Some("actuals"), None).await.unwrap()
}

async fn open_letters(s: &Setup) -> Vec<DeadLetter> {
    s.engine
        .state
        .list_dead_letters(Some("actuals"), Some(DeadLetterStatus::Open))
        .await
        .unwrap()
}

/// Item 9: an error resolves when its record is fine again, though nothing is written (the
/// values equal what was last written); a retry that changes nothing leaves the error open, and
/// the counts agree.
async fn errors_resolve_when_the_record_is_fine(backend: &str) {
    let (s, id) = synced(backend, &format!("rec_resolve_{backend}")).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    let class = "msdyn_transactionclassification";

    set(&s, id, class, Value::Int(999)).await;
    live(&s, "actuals", Side::Operational).await;
    let open = open_letters(&s).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0].message.contains("999"), "{:?}", open[0]);

    // Set back: the record needs no write (its values are what was last written), and its
    // error is resolved.
    set(&s, id, class, Value::Int(192350000)).await;
    live(&s, "actuals", Side::Operational).await;
    assert_eq!(s.engine.state.count_open_dead_letters(Some("actuals")).await.unwrap(), 0);
    assert!(open_letters(&s).await.is_empty());
    assert_eq!(staged(&s, id).await.len(), 1);

    // A retry of a record still wrong fails again: open, with one more attempt.
    set(&s, id, class, Value::Int(999)).await;
    live(&s, "actuals", Side::Operational).await;
    let letter = open_letters(&s).await.remove(0);
    let map = s.engine.map("actuals").unwrap().clone();
    let retry = |letter: DeadLetter| {
        let (engine, map) = (&s.engine, &map);
        async move {
            engine
                .state
                .set_dead_letter_status(letter.id, DeadLetterStatus::Retrying)
                .await
                .unwrap();
            engine
                .resync(map, Side::Operational, std::slice::from_ref(&letter.record_key))
                .await
                .unwrap();
        }
    };
    retry(letter.clone()).await;
    let after = s.engine.state.get_dead_letter(letter.id).await.unwrap().unwrap();
    assert_eq!(after.status, DeadLetterStatus::Open);
    assert_eq!(after.attempts, letter.attempts + 1);

    // A retry that neither syncs nor fails the record (it waits for a parent) returns it to
    // open: nothing stays `retrying`, so every count agrees.
    let project = "msdyn_project";
    set(&s, id, class, Value::Int(192350000)).await;
    set(&s, id, project, Value::Guid(Uuid::from_u128(0xdead_beef))).await;
    retry(letter.clone()).await;
    let all = letters(&s).await;
    assert!(all.iter().all(|l| l.status != DeadLetterStatus::Retrying), "{all:?}");
    assert_eq!(
        s.engine.state.count_open_dead_letters(Some("actuals")).await.unwrap(),
        open_letters(&s).await.len() as u64,
        "`errors list` and `status` count the same letters"
    );
    assert_eq!(s.engine.state.count_parked("actuals").await.unwrap(), 1);

    // Fixed at the source, live sync finds it as it was last written: it stops waiting and its
    // error is resolved.
    let acct = s.acct_store.describe("ProjCDSActualsImport").await.unwrap();
    let project_id = staged(&s, id).await.remove(0)[acct.index_of("ProjectId").unwrap()].clone();
    set(&s, id, project, project_id).await;
    live(&s, "actuals", Side::Operational).await;
    assert_eq!(s.engine.state.count_open_dead_letters(Some("actuals")).await.unwrap(), 0);
    assert_eq!(s.engine.state.count_parked("actuals").await.unwrap(), 0);
    assert!(
        letters(&s)
            .await
            .iter()
            .all(|l| l.status == DeadLetterStatus::Resolved)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_resolve_when_the_record_is_fine_sqlite() {
    errors_resolve_when_the_record_is_fine("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_resolve_when_the_record_is_fine_postgres() {
    errors_resolve_when_the_record_is_fine("postgres").await;
}

/// Item 2 (the engine's part): an actual whose company changes after it was synced is a record
/// error naming both legal entities; no second staging row, the first one untouched.
async fn a_company_change_is_a_record_error(backend: &str) {
    let (s, id) = synced(backend, &format!("rec_company_{backend}")).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    let before = staged(&s, id).await;
    let staged_count = count(s.acct_store.as_ref(), "ProjCDSActualsImport").await;

    set(&s, id, "msdyn_company", Value::Text("DEMF".into())).await;
    live(&s, "actuals", Side::Operational).await;
    assert_eq!(staged(&s, id).await, before, "the staging row in USPM is left as it is");
    assert_eq!(count(s.acct_store.as_ref(), "ProjCDSActualsImport").await, staged_count);
    let open = open_letters(&s).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let l = &open[0];
    assert_eq!(l.error_kind, "company-changed");
    assert!(l.message.contains("USPM") && l.message.contains("DEMF"), "{}", l.message);
    let hint = l.hint.as_deref().unwrap();
    assert!(hint.contains("reverse") && hint.contains("DEMF"), "{hint}");

    // Changed back, the record is fine again: its error is resolved, nothing written.
    set(&s, id, "msdyn_company", Value::Text("USPM".into())).await;
    live(&s, "actuals", Side::Operational).await;
    assert_eq!(s.engine.state.count_open_dead_letters(Some("actuals")).await.unwrap(), 0);
    assert_eq!(staged(&s, id).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_change_is_a_record_error_sqlite() {
    a_company_change_is_a_record_error("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_change_is_a_record_error_postgres() {
    a_company_change_is_a_record_error("postgres").await;
}
