//! Plan (issue 17) on SQLite and PostgreSQL: after the initial sync of the shipped maps over
//! seeded stores, four edits of the actuals map are each planned, then adopted as the daemon
//! adopts them (`reload::adopt`, then the map's initial sync). For each, the plan's counts are
//! exactly the initial sync's, its examples are what the stores hold afterwards, and the plan
//! itself wrote nothing. The edits: a skip rule added, a value map changed, a field's
//! direction turned (with descriptions edited in the ledger beforehand), and a new field on a
//! column just added to both stores. Then `dualsync plan` itself: exit codes and JSON.

mod common;

use std::collections::BTreeMap;

use common::engine::{Setup, setup};
use common::faults::{scan_all, text};
use dualsync::accounting::db::Db;
use dualsync::daemon::reload;
use dualsync::engine::Engine;
use dualsync::engine::plan::{MapChange, MapPlan, PassPlan};
use dualsync::engine::state::SyncCounts;
use dualsync::store::sql::SqlStore;
use dualsync::store::{Store, WriteOp};
use dualsync::tablemap::model::{Direction, TableMap};
use dualsync::tablemap::{self};
use dualsync::value::Value;

const OP: &str = "msdyn_actuals";
const STAGING: &str = "ProjCDSActualsImport";

/// Every record of an entity: the first key column's text → the row as text by column.
async fn snapshot(store: &SqlStore, entity: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let (desc, rows) = scan_all(store, entity).await;
    let key = if entity == OP { "msdyn_actualid" } else { "ActualId" };
    rows.iter()
        .map(|r| {
            let cols = desc
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), text(&r[i])))
                .collect();
            (text(&r[desc.index_of(key).unwrap()]), cols)
        })
        .collect()
}

/// Plans `maps` against what runs, checking the plan writes nothing; then adopts them as the
/// daemon does and runs the actuals map's initial sync. The plan of actuals and the counts.
async fn plan_then_adopt(
    engine: &mut Engine,
    maps: &[TableMap],
    op: &SqlStore,
    acct: &SqlStore,
) -> (MapPlan, SyncCounts) {
    let valid = tablemap::check_maps(maps).expect("the edited maps are valid");
    engine.set_maps(&valid);
    let before = (snapshot(op, OP).await, snapshot(acct, STAGING).await);
    let plans = engine.plan_maps(&[], &mut |_, _| {}).await.unwrap();
    assert_eq!(
        (snapshot(op, OP).await, snapshot(acct, STAGING).await),
        before,
        "the plan wrote nothing"
    );
    for p in plans.iter().filter(|p| p.map != "actuals") {
        assert_eq!(p.change, MapChange::Unchanged, "{p:?}");
        assert!(!p.changes() && p.passes.is_empty());
    }
    let plan = plans.into_iter().find(|p| p.map == "actuals").unwrap();
    assert_eq!(plan.change, MapChange::Edited);
    assert!(plan.resync && plan.running_known, "{plan:?}");
    let changed = reload::adopt(engine, &valid).await.unwrap();
    assert_eq!(changed, ["actuals"]);
    let counts = engine.initial_sync("actuals", &mut |_| {}).await.unwrap();
    assert_eq!(
        plan.total, counts,
        "the plan's counts are the initial sync's: {plan:#?}"
    );
    (plan, counts)
}

fn actuals(maps: &mut [TableMap]) -> &mut TableMap {
    maps.iter_mut().find(|m| m.name == "actuals").unwrap()
}

fn pass<'a>(plan: &'a MapPlan, from: &str) -> &'a PassPlan {
    plan.passes.iter().find(|p| p.from == from).unwrap()
}

/// The one field change of a pass, checked to be on `column`.
fn only_change<'a>(pass: &'a PassPlan, column: &str) -> &'a dualsync::engine::plan::FieldChange {
    assert_eq!(pass.fields.len(), 1, "{:#?}", pass.fields);
    assert_eq!(pass.fields[0].column, column);
    &pass.fields[0]
}

async fn plan_predicts_the_resync(backend: &str) {
    let Setup {
        op,
        acct,
        mut engine,
        op_store,
        acct_store,
        _state_dir,
        ..
    } = setup(backend, "plan", |_| {}).await;
    let _keep = (op.keep_alive(), acct.keep_alive());
    let (op_s, acct_s) = (op_store.as_ref(), acct_store.as_ref());
    let shipped = tablemap::load(&[std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")]).unwrap();
    let mut maps: Vec<TableMap> = shipped.maps().cloned().collect();
    // The daemon's start: the maps adopted (their definitions kept), then synced.
    reload::adopt(&mut engine, &shipped.valid).await.unwrap();
    for name in engine.maps.iter().map(|m| m.name.clone()).collect::<Vec<_>>() {
        engine.initial_sync(&name, &mut |_| {}).await.unwrap();
    }
    // Nothing edited: nothing to plan.
    let plans = engine.plan_maps(&[], &mut |_, _| {}).await.unwrap();
    assert!(plans.iter().all(|p| p.change == MapChange::Unchanged && !p.changes()));
    let ops = snapshot(op_s, OP).await;
    let material = |id: &String| ops[id]["msdyn_transactionclassification"] == "192350002";

    // 1. A skip rule added: material actuals stay out; nothing is written or deleted.
    let rule: dualsync::tablemap::model::SkipRule = toml::from_str(
        "name = \"no-material\"\nwhen = \"msdyn_transactionclassification eq 192350002\"\nside = \"operational\"\n",
    )
    .unwrap();
    actuals(&mut maps).skip.insert(0, rule);
    let staged = snapshot(acct_s, STAGING).await;
    let (plan, counts) = plan_then_adopt(&mut engine, &maps, op_s, acct_s).await;
    let main = pass(&plan, "operational");
    let newly = main.newly_skipped.as_ref().unwrap();
    let synced_material = staged.keys().filter(|id| material(id)).count() as u64;
    assert!(synced_material > 0);
    assert_eq!(
        newly.count, synced_material,
        "every synced material actual is newly skipped"
    );
    for e in &newly.examples {
        assert!(e.contains("no-material"), "{e}");
        let id = e.split('"').nth(1).unwrap().to_string();
        assert!(material(&id) && staged.contains_key(&id), "{e}");
    }
    assert_eq!(counts.written, 0);
    assert!(main.fields.is_empty() && main.newly_synced.as_ref().unwrap().count == 0);
    assert_eq!(snapshot(acct_s, STAGING).await, staged, "a skip rule deletes nothing");

    // 2. A value map changed: chargeable actuals are staged as "Billable".
    let billing = actuals(&mut maps)
        .fields
        .iter_mut()
        .find(|f| f.operational.as_deref() == Some("msdyn_billingtype"))
        .unwrap();
    billing
        .values
        .as_mut()
        .unwrap()
        .insert("192350001".into(), "Billable".into());
    let (plan, counts) = plan_then_adopt(&mut engine, &maps, op_s, acct_s).await;
    let change = only_change(pass(&plan, "operational"), "BillingType");
    let after = snapshot(acct_s, STAGING).await;
    let chargeable = after
        .keys()
        .filter(|id| !material(id) && ops[*id]["msdyn_billingtype"] == "192350001")
        .count() as u64;
    assert!(chargeable > 0);
    assert_eq!((change.records, counts.written), (chargeable, chargeable));
    for e in &change.examples {
        assert_eq!(
            (e.old.as_deref(), e.new.as_deref()),
            (Some("Chargeable"), Some("Billable"))
        );
        let id = e.record.split('"').nth(3).unwrap();
        assert_eq!(after[id]["BillingType"], "Billable", "{e:?}");
    }

    // 3. A field's direction turned: descriptions are now mastered in the ledger. Three were
    //    edited there beforehand (behind dualsync's back); they flow to the operational side.
    let (sdesc, srows) = scan_all(acct_s, STAGING).await;
    let col = sdesc.index_of("Description").unwrap();
    let edited: Vec<Vec<Value>> = srows[..3]
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r[col] = Value::Text("corrected in the ledger".into());
            r
        })
        .collect();
    let ids: Vec<String> = edited
        .iter()
        .map(|r| text(&r[sdesc.index_of("ActualId").unwrap()]))
        .collect();
    acct_s
        .apply_own(&sdesc, &edited.into_iter().map(WriteOp::Upsert).collect::<Vec<_>>())
        .await
        .unwrap();
    actuals(&mut maps)
        .fields
        .iter_mut()
        .find(|f| f.operational.as_deref() == Some("msdyn_description"))
        .unwrap()
        .direction = Some(Direction::ToOperational);
    let (plan, counts) = plan_then_adopt(&mut engine, &maps, op_s, acct_s).await;
    assert_eq!(pass(&plan, "operational").counts.written, 0);
    let back = pass(&plan, "accounting");
    let change = only_change(back, "msdyn_description");
    assert_eq!((change.records, back.counts.written, counts.written), (3, 3, 3));
    let ops = snapshot(op_s, OP).await;
    for e in &change.examples {
        let id = e.record.split('"').nth(1).unwrap();
        assert!(ids.iter().any(|i| i == id), "{e:?}");
        assert_eq!(e.new.as_deref(), Some("corrected in the ledger"));
        assert_eq!(ops[id]["msdyn_description"], "corrected in the ledger");
    }

    // 4. A new field, on a column just added to both stores and filled on five actuals.
    Db::new(op_s)
        .execute("ALTER TABLE msdyn_actuals ADD COLUMN msdyn_note TEXT", &[])
        .await
        .unwrap();
    Db::new(acct_s)
        .execute("ALTER TABLE \"ProjCDSActualsImport\" ADD COLUMN \"Note\" TEXT", &[])
        .await
        .unwrap();
    let noted: Vec<String> = after.keys().filter(|id| !material(id)).take(5).cloned().collect();
    for id in &noted {
        Db::new(op_s)
            .execute(
                &format!("UPDATE msdyn_actuals SET msdyn_note = 'note {id}' WHERE msdyn_actualid = '{id}'"),
                &[],
            )
            .await
            .unwrap();
    }
    let field: dualsync::tablemap::model::Field =
        toml::from_str("operational = \"msdyn_note\"\naccounting = \"Note\"\ntype = \"text\"\n").unwrap();
    actuals(&mut maps).fields.push(field);
    for s in [op_s, acct_s] {
        s.forget_catalog();
    }
    let (plan, counts) = plan_then_adopt(&mut engine, &maps, op_s, acct_s).await;
    let main = pass(&plan, "operational");
    let change = only_change(main, "Note");
    assert_eq!((change.records, main.counts.written, counts.written), (5, 5, 5));
    assert_eq!(main.created, 0);
    let staged = snapshot(acct_s, STAGING).await;
    for id in &noted {
        assert_eq!(staged[id]["Note"], format!("note {id}"));
    }
    for e in &change.examples {
        assert_eq!(e.old, None);
        let id = e.record.split('"').nth(3).unwrap();
        assert_eq!(e.new.as_deref(), Some(format!("note {id}").as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_predicts_the_resync_on_sqlite() {
    plan_predicts_the_resync("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_predicts_the_resync_on_postgres() {
    plan_predicts_the_resync("postgres").await;
}

/// `dualsync plan` as an admin runs it: nothing edited (exit 0), an edited copy of the map
/// folder with one map removed (exit 1, JSON), an unknown map (exit 2).
async fn the_plan_command(backend: &str) {
    use common::DaemonStores;

    let (stores, _op, _acct) = DaemonStores::seeded(backend, "plan_command", 100, 5).await;
    let config = stores.write_config(false, "[processes]\nenabled = false\n");
    let (code, _, err) = common::dualsync(&["initial-sync"], &config);
    assert_eq!(code, Some(0), "{err}");
    let plan = |args: &[&str]| {
        let mut all = vec!["--output", "json", "plan"];
        all.extend_from_slice(args);
        let (code, out, err) = common::dualsync(&all, &config);
        let report: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("no JSON ({e}): {out}{err}"));
        (code, report)
    };
    let (code, report) = plan(&[]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["changes"], false);
    assert!(
        report["maps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["change"] == "unchanged")
    );

    let edited = stores.dir.path().join("edited-maps");
    std::fs::create_dir(&edited).unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
    for f in std::fs::read_dir(&shipped).unwrap() {
        let f = f.unwrap().path();
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        match name.as_str() {
            "transaction-connections.toml" => continue,
            "actuals.toml" => std::fs::write(
                edited.join(&name),
                text.replace("\"192350001\" = \"Chargeable\"", "\"192350001\" = \"Billable\""),
            )
            .unwrap(),
            _ => std::fs::write(edited.join(&name), text).unwrap(),
        }
    }
    let (code, report) = plan(&[edited.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["changes"], true);
    let map = |name: &str| {
        report["maps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["map"] == name)
            .unwrap_or_else(|| panic!("no {name} in {report:#}"))
            .clone()
    };
    let a = map("actuals");
    assert_eq!(a["change"], "edited");
    let written = a["total"]["written"].as_u64().unwrap();
    assert!(written > 0, "{a:#}");
    assert_eq!(a["passes"][0]["fields"][0]["column"], "BillingType");
    assert_eq!(a["passes"][0]["fields"][0]["records"], written);
    assert_eq!(map("transaction-connections")["change"], "removed");
    assert_eq!(map("projects")["change"], "unchanged");
    // The text report names the change.
    let (code, out, _) = common::dualsync(&["plan", "--map", "actuals", edited.to_str().unwrap()], &config);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("BillingType changes in") && out.contains("Chargeable -> Billable"),
        "{out}"
    );

    let (code, _, err) = common::dualsync(&["plan", "--map", "nonesuch"], &config);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nonesuch"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_command_on_sqlite() {
    the_plan_command("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_command_on_postgres() {
    the_plan_command("postgres").await;
}
