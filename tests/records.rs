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
use dualsync::value::{Value, ValueType};
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
    let d = s
        .op_store
        .describe("msdyn_actuals")
        .await
        .unwrap()
        .project(&[column])
        .unwrap();
    s.op_store
        .apply(&d, &[WriteOp::Upsert(vec![Value::Guid(id), value])])
        .await
        .unwrap();
}

/// Inserts, through the backend's own client as another program would, a copy of actual
/// `from` with key `id` (SQL text) and the `SET` assignments `sets` (may be empty).
fn copy_actual(s: &Setup, from: Uuid, id: &str, sets: &str) {
    let sets = if sets.is_empty() {
        String::new()
    } else {
        format!(", {sets}")
    };
    s.op.run_client(&format!(
        "CREATE TEMP TABLE c AS SELECT * FROM msdyn_actuals WHERE msdyn_actualid = '{from}';
         UPDATE c SET msdyn_actualid = '{id}'{sets};
         INSERT INTO msdyn_actuals SELECT * FROM c;
         DROP TABLE c;"
    ));
}

/// How many rows a table holds, counted by the database (whether dualsync can read them or not).
async fn rows_in(store: &dualsync::store::sql::SqlStore, table: &str) -> u64 {
    let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
    match store.pool().fetch(&sql, &[], &[ValueType::Int]).await.unwrap()[0][0] {
        Value::Int(n) => n as u64,
        ref other => panic!("{other:?}"),
    }
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
    assert_eq!(
        s.engine.state.count_open_dead_letters(Some("actuals")).await.unwrap(),
        0
    );
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
    assert_eq!(
        s.engine.state.count_open_dead_letters(Some("actuals")).await.unwrap(),
        0
    );
    assert_eq!(s.engine.state.count_parked("actuals").await.unwrap(), 0);
    assert!(letters(&s).await.iter().all(|l| l.status == DeadLetterStatus::Resolved));
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
    assert_eq!(l.error_kind.as_str(), "company-changed");
    assert!(
        l.message.contains("USPM") && l.message.contains("DEMF"),
        "{}",
        l.message
    );
    let hint = l.hint.as_deref().unwrap();
    assert!(hint.contains("reverse") && hint.contains("DEMF"), "{hint}");

    // Changed back, the record is fine again: its error is resolved, nothing written.
    set(&s, id, "msdyn_company", Value::Text("USPM".into())).await;
    live(&s, "actuals", Side::Operational).await;
    assert_eq!(
        s.engine.state.count_open_dead_letters(Some("actuals")).await.unwrap(),
        0
    );
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

/// Item 8: a change-log entry whose key cannot be decoded is a record error of the map that
/// reads it and is passed; every map goes on (SQLite: a record written with such a key;
/// PostgreSQL, whose `uuid` column cannot hold it: an entry written to the log by hand).
async fn a_bad_change_log_entry_is_passed(backend: &str) {
    let (s, id) = synced(backend, &format!("rec_badentry_{backend}")).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    let bad = "not-a-guid; DROP TABLE x";
    if backend == "sqlite" {
        copy_actual(&s, id, bad, "");
    } else {
        s.op.run_client(&format!(
            "INSERT INTO _dualsync_changes (entity, op, key) VALUES ('msdyn_actuals', 'I', '[\"{bad}\"]')"
        ));
    }
    let good = Uuid::from_u128(0x7e3b_0000_0000_0000_0000_0000_0000_0002);
    copy_actual(&s, id, &good.to_string(), "");
    // Every map of the operational side goes on (each reads the whole feed).
    for map in ["projects", "actuals", "project-tasks"] {
        live(&s, map, Side::Operational).await;
    }
    assert_eq!(staged(&s, good).await.len(), 1, "the entry after the bad one syncs");
    let open = open_letters(&s).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].error_kind.as_str(), "bad-change");
    assert!(open[0].record_key.contains(bad), "{:?}", open[0]);
    assert!(open[0].message.contains(bad), "{:?}", open[0]);
    // Passed: reading on records nothing again.
    live(&s, "actuals", Side::Operational).await;
    assert_eq!(open_letters(&s).await[0].attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_change_log_entry_is_passed_sqlite() {
    a_bad_change_log_entry_is_passed("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_change_log_entry_is_passed_postgres() {
    a_bad_change_log_entry_is_passed("postgres").await;
}

/// Item 7: records the store cannot read are record errors naming the record, the column and
/// the stored value; the records around them sync, in live sync and in initial sync. Each
/// backend stores what it can: SQLite any text in any column; PostgreSQL NaN and infinities,
/// and a number wider than dualsync's decimals in a widened column.
async fn unreadable_records_are_record_errors(backend: &str) {
    let (mut s, id) = synced(backend, &format!("rec_unreadable_{backend}")).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    // (column, SQL value, the stored value as the letter shows it)
    let cases: Vec<(&str, &str, &str)> = if backend == "sqlite" {
        vec![
            ("msdyn_amount", "'1e400'", "1e400"),
            ("msdyn_amount", "'NaN'", "NaN"),
            ("msdyn_amount", "''", "\"\""),
            ("msdyn_transactionclassification", "'abc'", "abc"),
            ("msdyn_documentdate", "'2024-02-30'", "2024-02-30"),
            ("msdyn_project", "'xyz'", "xyz"),
            ("msdyn_description", "CAST(x'ff41' AS TEXT)", "\u{fffd}A"),
        ]
    } else {
        s.op.run_client("ALTER TABLE msdyn_actuals ALTER COLUMN msdyn_amount TYPE NUMERIC(40,4)");
        vec![
            ("msdyn_amount", "'NaN'", "NaN"),
            ("msdyn_amount", "1e30", "1000000000000000000000000000000"),
            ("msdyn_documentdate", "'infinity'", "infinity"),
            ("msdyn_startdatetime", "'-infinity'", "-infinity"),
        ]
    };
    let bad_id = |n: usize| Uuid::from_u128(0x7e3b_0000_0000_0000_0000_0000_0000_1000 + n as u128);
    for (n, (column, value, _)) in cases.iter().enumerate() {
        copy_actual(&s, id, &bad_id(n).to_string(), &format!("{column} = {value}"));
    }
    let good = Uuid::from_u128(0x7e3b_0000_0000_0000_0000_0000_0000_0003);
    copy_actual(&s, id, &good.to_string(), "");

    live(&s, "actuals", Side::Operational).await;
    assert_eq!(staged(&s, good).await.len(), 1, "the good record syncs");
    let check = |open: Vec<DeadLetter>, attempts: u64| {
        assert_eq!(open.len(), cases.len(), "{open:#?}");
        for (n, (column, _, shown)) in cases.iter().enumerate() {
            let key = bad_id(n).to_string();
            let l = open
                .iter()
                .find(|l| l.record_key.contains(&key))
                .unwrap_or_else(|| panic!("no letter for {key} ({column}): {open:#?}"));
            assert_eq!(l.error_kind.as_str(), "unreadable");
            assert_eq!(l.attempts, attempts, "{l:?}");
            assert!(l.message.contains(column) && l.message.contains(&key), "{l:?}");
            assert!(l.message.contains(shown), "{shown} in {l:?}");
        }
    };
    check(open_letters(&s).await, 1);
    for n in 0..cases.len() {
        assert!(staged(&s, bad_id(n)).await.is_empty());
    }

    // Initial sync (small pages, so pages start and end at bad records) reads past them too.
    s.engine.batch_size = 2;
    s.engine.state.clear_checkpoint("actuals").await.unwrap();
    let counts = s.engine.initial_sync("actuals", &mut |_| {}).await.unwrap();
    // Both passes (the posted attributes flow back) read every record of their side.
    let both = rows_in(&s.op_store, "msdyn_actuals").await + rows_in(&s.acct_store, "ProjCDSActualsImport").await;
    assert_eq!(counts.read, both, "{counts:?}");
    assert_eq!(counts.failed, cases.len() as u64, "{counts:?}");
    check(open_letters(&s).await, 2);

    // A target record that cannot be read: the source record's change is a record error naming
    // it, not a failed map.
    s.acct.run_client(&format!(
        "UPDATE \"ProjCDSActualsImport\" SET \"Amount\" = 'NaN' WHERE \"ActualId\" = '{good}'"
    ));
    set(&s, good, "msdyn_description", Value::Text("edited".into())).await;
    let other = Uuid::from_u128(0x7e3b_0000_0000_0000_0000_0000_0000_0004);
    copy_actual(&s, id, &other.to_string(), "");
    live(&s, "actuals", Side::Operational).await;
    let sql = format!("SELECT COUNT(*) FROM \"ProjCDSActualsImport\" WHERE \"ActualId\" = '{other}'");
    let n = s.acct_store.pool().fetch(&sql, &[], &[ValueType::Int]).await.unwrap();
    assert_eq!(n[0][0], Value::Int(1), "the next record syncs");
    let open = open_letters(&s).await;
    let l = open
        .iter()
        .find(|l| l.record_key.contains(&good.to_string()))
        .unwrap_or_else(|| panic!("{open:#?}"));
    assert_eq!(l.error_kind.as_str(), "unreadable");
    assert!(l.message.contains("Amount") && l.message.contains("NaN"), "{l:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_records_are_record_errors_sqlite() {
    unreadable_records_are_record_errors("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_records_are_record_errors_postgres() {
    unreadable_records_are_record_errors("postgres").await;
}

/// Item 6: a GUID key another program wrote in upper case syncs (live and initial sync, where
/// pages must continue after it), and the values posted back reach that record (no second
/// record in lower case); two records whose keys differ only in case are a record error (SQLite
/// only: PostgreSQL's `uuid` cannot hold both).
async fn an_upper_case_guid_syncs(backend: &str) {
    let (mut s, id) = synced(backend, &format!("rec_case_{backend}")).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    let upper = Uuid::from_u128(0x7e3b_0000_0000_0000_0000_0000_0000_abcd);
    copy_actual(&s, id, &upper.to_string().to_uppercase(), "");
    live(&s, "actuals", Side::Operational).await;
    assert_eq!(staged(&s, upper).await.len(), 1, "the upper-case actual is staged");
    assert!(open_letters(&s).await.is_empty());

    // Posting writes back to it: the record in upper case gets the values.
    let staging = s.acct_store.describe("ProjCDSActualsImport").await.unwrap();
    let posted = staging.project(&["VoucherNumber"]).unwrap();
    let mut post = staging.key_of(&staged(&s, upper).await.remove(0));
    post.push(Value::Text("PV-CASE".into()));
    s.acct_store.apply(&posted, &[WriteOp::Upsert(post)]).await.unwrap();
    let actuals_before = rows_in(&s.op_store, "msdyn_actuals").await;
    live(&s, "actuals", Side::Accounting).await;
    assert!(open_letters(&s).await.is_empty(), "{:?}", open_letters(&s).await);
    assert_eq!(
        rows_in(&s.op_store, "msdyn_actuals").await,
        actuals_before,
        "no second record"
    );
    let d = s
        .op_store
        .describe("msdyn_actuals")
        .await
        .unwrap()
        .project(&["msdyn_vouchernumber"])
        .unwrap();
    let back = s.op_store.get(&d, &[vec![Value::Guid(upper)]]).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0][1], Value::Text("PV-CASE".into()));

    if backend == "sqlite" {
        let twice = Uuid::from_u128(0x7e3b_0000_0000_0000_0000_0000_0000_bcde);
        copy_actual(&s, id, &twice.to_string(), "");
        copy_actual(&s, id, &twice.to_string().to_uppercase(), "");
        live(&s, "actuals", Side::Operational).await;
        let open = open_letters(&s).await;
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].error_kind.as_str(), "duplicate-key");
        assert!(open[0].record_key.contains(&twice.to_string()), "{:?}", open[0]);
        assert!(
            open[0].message.contains(&twice.to_string().to_uppercase()),
            "{:?}",
            open[0]
        );
        assert!(staged(&s, twice).await.is_empty(), "neither spelling is synced");

        // Another spelling (mixed case, braces) cannot be found by key: reported, not lost.
        let mixed = "7E3B0000-0000-0000-0000-00000000cdef";
        copy_actual(&s, id, mixed, "");
        live(&s, "actuals", Side::Operational).await;
        let open = open_letters(&s).await;
        assert!(
            open.iter()
                .any(|l| l.error_kind.as_str() == "bad-change" && l.record_key.contains(mixed)),
            "{open:?}"
        );
    }

    // Initial sync in small pages reads every record once, whatever its case.
    s.engine.batch_size = 3;
    s.engine.state.clear_checkpoint("actuals").await.unwrap();
    let counts = s.engine.initial_sync("actuals", &mut |_| {}).await.unwrap();
    let both = rows_in(&s.op_store, "msdyn_actuals").await + rows_in(&s.acct_store, "ProjCDSActualsImport").await;
    assert_eq!(counts.read, both, "{counts:?}");
    assert_eq!(staged(&s, upper).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upper_case_guid_syncs_sqlite() {
    an_upper_case_guid_syncs("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upper_case_guid_syncs_postgres() {
    an_upper_case_guid_syncs("postgres").await;
}
