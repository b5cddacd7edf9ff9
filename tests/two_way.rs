//! Two-way fields, on SQLite and on PostgreSQL, with the hour-estimates map (hours and dates
//! flow both ways): an hour estimate edited on each side in turn; a field changed on one side
//! while another changed on the other (both kept); the same field changed on both sides (the
//! map's conflict policy decides: operational-wins as shipped, latest-wins when edited); the
//! initial-sync master deciding between records present on both sides; and an accounting-only
//! staging row, which never creates an operational record. And reconcile telling whose change
//! a two-way difference is: a value changed in the ledger behind dualsync's back is drift of
//! the direction that carries it back, not of both, and the repair brings it back.

mod common;

use std::str::FromStr;

use common::engine::{Setup, quiesce, setup};
use dualsync::store::{EntityDesc, Store, WriteOp};
use dualsync::tablemap::model::{ConflictPolicy, Side};
use dualsync::value::Value;
use rust_decimal::Decimal;

const MAP: &str = "hour-estimates";

fn dec(s: &str) -> Value {
    Value::Decimal(Decimal::from_str(s).unwrap())
}

fn date(s: &str) -> Value {
    Value::Date(chrono::NaiveDate::from_str(s).unwrap())
}

/// One resource assignment and its hour-estimate staging row.
struct Pair {
    op: EntityDesc,
    op_key: Vec<Value>,
    acct: EntityDesc,
    acct_key: Vec<Value>,
}

impl Pair {
    async fn first(s: &Setup) -> Pair {
        let op = s.op_store.describe("msdyn_resourceassignments").await.unwrap();
        let row = s.op_store.scan(&op, None, 1).await.unwrap().remove(0);
        let id = row[op.index_of("msdyn_resourceassignmentid").unwrap()].clone();
        let company = row[op.index_of("msdyn_company").unwrap()].clone();
        let acct = s.acct_store.describe("ProjCDSEstimateHoursImport").await.unwrap();
        let acct_key = vec![company, id.clone()];
        Pair {
            op,
            op_key: vec![id],
            acct,
            acct_key,
        }
    }

    async fn set(&self, s: &Setup, side: Side, column: &str, value: Value) {
        let (store, desc, key): (&dyn Store, _, _) = match side {
            Side::Operational => (s.op_store.as_ref(), &self.op, &self.op_key),
            Side::Accounting => (s.acct_store.as_ref(), &self.acct, &self.acct_key),
        };
        let d = desc.project(&[column]).unwrap();
        let mut row = key.clone();
        row.push(value);
        store.apply(&d, &[WriteOp::Upsert(row)]).await.unwrap();
    }

    async fn get(&self, s: &Setup, side: Side, column: &str) -> Value {
        let (store, desc, key): (&dyn Store, _, _) = match side {
            Side::Operational => (s.op_store.as_ref(), &self.op, &self.op_key),
            Side::Accounting => (s.acct_store.as_ref(), &self.acct, &self.acct_key),
        };
        let d = desc.project(&[column]).unwrap();
        let row = store.get(&d, std::slice::from_ref(key)).await.unwrap().remove(0);
        row.last().unwrap().clone()
    }

    /// Hours on both sides, as (operational, accounting).
    async fn hours(&self, s: &Setup) -> (Value, Value) {
        (
            self.get(s, Side::Operational, "msdyn_hours").await,
            self.get(s, Side::Accounting, "Hours").await,
        )
    }
}

async fn initial(s: &Setup) {
    for m in &s.engine.maps {
        let c = s.engine.initial_sync(&m.name, &mut |_| {}).await.unwrap();
        assert_eq!(c.failed, 0, "{}: {c:?}", m.name);
    }
}

fn same(a: &Value, b: &Value) -> bool {
    a.compare(b) == Some(std::cmp::Ordering::Equal)
}

async fn edited_on_each_side_in_turn(backend: &str) {
    let s = setup(backend, "twoway_turns", |_| {}).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    initial(&s).await;
    let p = Pair::first(&s).await;

    // Operational edit → accounting.
    p.set(&s, Side::Operational, "msdyn_hours", dec("12.5")).await;
    quiesce(&s.engine).await;
    let (o, a) = p.hours(&s).await;
    assert!(same(&o, &dec("12.5")) && same(&a, &dec("12.5")), "{o} {a}");

    // Accounting edit → operational.
    p.set(&s, Side::Accounting, "Hours", dec("20")).await;
    quiesce(&s.engine).await;
    let (o, a) = p.hours(&s).await;
    assert!(same(&o, &dec("20")) && same(&a, &dec("20")), "{o} {a}");

    // And once more from the operational side, a date this time.
    p.set(&s, Side::Operational, "msdyn_start", date("2026-03-02")).await;
    quiesce(&s.engine).await;
    assert_eq!(p.get(&s, Side::Accounting, "StartDate").await, date("2026-03-02"));

    // Quiet: nothing more is written on either side (no echo).
    let heads = (
        s.op_store.change_log_size().await.unwrap(),
        s.acct_store.change_log_size().await.unwrap(),
    );
    quiesce(&s.engine).await;
    assert_eq!(
        (
            s.op_store.change_log_size().await.unwrap(),
            s.acct_store.change_log_size().await.unwrap()
        ),
        heads
    );

    // Different fields changed on each side before either is synced: both changes are kept,
    // whichever side is processed first.
    for first in [Side::Accounting, Side::Operational] {
        let hours = if first == Side::Accounting { "31" } else { "32" };
        let day = if first == Side::Accounting {
            "2026-04-01"
        } else {
            "2026-05-01"
        };
        p.set(&s, Side::Accounting, "Hours", dec(hours)).await;
        p.set(&s, Side::Operational, "msdyn_start", date(day)).await;
        let map = s.engine.map(MAP).unwrap();
        while s.engine.live_step(map, first).await.unwrap() > 0 {}
        quiesce(&s.engine).await;
        let (o, a) = p.hours(&s).await;
        assert!(
            same(&o, &dec(hours)) && same(&a, &dec(hours)),
            "{first:?} first: {o} {a}"
        );
        assert_eq!(p.get(&s, Side::Accounting, "StartDate").await, date(day));
        assert_eq!(p.get(&s, Side::Operational, "msdyn_start").await, date(day));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_on_each_side_in_turn_sqlite() {
    edited_on_each_side_in_turn("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_on_each_side_in_turn_postgres() {
    edited_on_each_side_in_turn("postgres").await;
}

async fn conflicts_follow_the_policy(backend: &str) {
    // As shipped: operational-wins, whichever side's change is processed first.
    let s = setup(backend, "twoway_opwins", |_| {}).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    initial(&s).await;
    let p = Pair::first(&s).await;
    for first in [Side::Accounting, Side::Operational] {
        let (op_value, acct_value) = if first == Side::Accounting {
            ("30", "40")
        } else {
            ("33", "44")
        };
        p.set(&s, Side::Operational, "msdyn_hours", dec(op_value)).await;
        p.set(&s, Side::Accounting, "Hours", dec(acct_value)).await;
        let map = s.engine.map(MAP).unwrap();
        while s.engine.live_step(map, first).await.unwrap() > 0 {}
        quiesce(&s.engine).await;
        let (o, a) = p.hours(&s).await;
        assert!(
            same(&o, &dec(op_value)) && same(&a, &dec(op_value)),
            "operational-wins, {first:?} first: {o} {a}"
        );
    }

    // Edited to latest-wins: the change made last wins, whichever is processed first.
    let s = setup(backend, "twoway_latest", |maps| {
        for m in maps.iter_mut().filter(|m| m.name == MAP) {
            m.conflict = ConflictPolicy::LatestWins;
        }
    })
    .await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    initial(&s).await;
    let p = Pair::first(&s).await;
    for (first, earlier, later) in [
        (Side::Operational, Side::Operational, Side::Accounting),
        (Side::Operational, Side::Accounting, Side::Operational),
        (Side::Accounting, Side::Operational, Side::Accounting),
    ] {
        let column = |side| {
            if side == Side::Operational {
                "msdyn_hours"
            } else {
                "Hours"
            }
        };
        p.set(&s, earlier, column(earlier), dec("50")).await;
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        p.set(&s, later, column(later), dec("60")).await;
        let map = s.engine.map(MAP).unwrap();
        while s.engine.live_step(map, first).await.unwrap() > 0 {}
        quiesce(&s.engine).await;
        let (o, a) = p.hours(&s).await;
        assert!(
            same(&o, &dec("60")) && same(&a, &dec("60")),
            "latest-wins, {later:?} changed last, {first:?} processed first: {o} {a}"
        );
        // Back to a common value for the next round.
        p.set(&s, Side::Operational, "msdyn_hours", dec("1")).await;
        quiesce(&s.engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_follow_the_policy_sqlite() {
    conflicts_follow_the_policy("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_follow_the_policy_postgres() {
    conflicts_follow_the_policy("postgres").await;
}

async fn the_initial_sync_master_decides(backend: &str) {
    for master in [Side::Operational, Side::Accounting] {
        let name = format!("twoway_master_{}", master.name());
        let s = setup(backend, &name, |maps| {
            for m in maps.iter_mut().filter(|m| m.name == MAP) {
                m.initial_sync_master = master;
            }
        })
        .await;
        let _keep = (s.op.keep_alive(), s.acct.keep_alive());
        initial(&s).await;
        let p = Pair::first(&s).await;
        // Both sides hold the record with different hours (as if synced by another tool);
        // an accounting-only column (one-way back) differs too.
        p.set(&s, Side::Operational, "msdyn_hours", dec("7")).await;
        p.set(&s, Side::Accounting, "Hours", dec("9")).await;
        s.engine.state.clear_checkpoint(MAP).await.unwrap();
        s.engine.initial_sync(MAP, &mut |_| {}).await.unwrap();
        let want = if master == Side::Operational { "7" } else { "9" };
        let (o, a) = p.hours(&s).await;
        assert!(
            same(&o, &dec(want)) && same(&a, &dec(want)),
            "{master:?} master: {o} {a}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_initial_sync_master_decides_sqlite() {
    the_initial_sync_master_decides("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_initial_sync_master_decides_postgres() {
    the_initial_sync_master_decides("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounting_only_row_creates_nothing_on_the_operational_side() {
    let s = setup("sqlite", "twoway_orphan", |_| {}).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    initial(&s).await;
    let p = Pair::first(&s).await;
    // A staging row copied from a real one under a new key: it has no resource assignment.
    let row = s
        .acct_store
        .get(&p.acct, std::slice::from_ref(&p.acct_key))
        .await
        .unwrap()
        .remove(0);
    let mut orphan = row.clone();
    orphan[p.acct.index_of("ResourceAssignmentId").unwrap()] = Value::Guid(uuid::Uuid::from_u128(0xabc));
    s.acct_store.apply(&p.acct, &[WriteOp::Upsert(orphan)]).await.unwrap();
    let before = common::engine::count(s.op_store.as_ref(), "msdyn_resourceassignments").await;
    quiesce(&s.engine).await;
    assert_eq!(
        common::engine::count(s.op_store.as_ref(), "msdyn_resourceassignments").await,
        before
    );
    assert!(s.engine.state.list_dead_letters(None, None).await.unwrap().is_empty());
    assert_eq!(s.engine.state.count_parked(MAP).await.unwrap(), 0);
}

async fn reconcile_tells_whose_change_it_is(backend: &str) {
    use dualsync::engine::reconcile::{ReconcileOptions, directions};
    let s = setup(backend, "twoway_reconcile", |_| {}).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    initial(&s).await;
    let p = Pair::first(&s).await;
    p.set(&s, Side::Operational, "msdyn_hours", dec("12.5")).await;
    quiesce(&s.engine).await;
    // Hours changed in the ledger with the change capture off (the engine's own kind of write).
    let d = p.acct.project(&["Hours"]).unwrap();
    let mut row = p.acct_key.clone();
    row.push(dec("44"));
    s.acct_store.apply_own(&d, &[WriteOp::Upsert(row)]).await.unwrap();
    let engine = &s.engine;
    let map = engine.map(MAP).unwrap();
    let reconcile = |repair: bool| async move {
        let options = ReconcileOptions {
            repair,
            recheck_after: std::time::Duration::ZERO,
        };
        let mut out = Vec::new();
        for from in directions(map) {
            out.push(engine.reconcile(map, from, &options).await.unwrap());
        }
        out
    };
    let found = reconcile(false).await;
    let of = |from: &str| found.iter().find(|d| d.from == from).unwrap().clone();
    assert_eq!(
        of("operational").differing.count,
        0,
        "the ledger's own change is not the operational side's drift: {found:#?}"
    );
    let back = of("accounting");
    assert_eq!(back.differing.count, 1, "{back:#?}");
    let field = &back.differing.examples[0].fields[0];
    assert_eq!(
        (field.column.as_str(), field.expected.as_deref()),
        ("msdyn_hours", Some("44.000000"))
    );
    let repaired = reconcile(true).await;
    assert!(repaired.iter().all(|d| d.unrepaired() == 0), "{repaired:#?}");
    let (o, a) = p.hours(&s).await;
    assert!(same(&o, &dec("44")) && same(&a, &dec("44")), "{o} {a}");
    assert!(reconcile(false).await.iter().all(|d| d.found() == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_tells_whose_change_it_is_sqlite() {
    reconcile_tells_whose_change_it_is("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_tells_whose_change_it_is_postgres() {
    reconcile_tells_whose_change_it_is("postgres").await;
}
