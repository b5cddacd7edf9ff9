//! Reconcile (issue 17) on SQLite and PostgreSQL, through the engine over seeded stores: after
//! the initial sync every map is in sync. Then drift is made behind dualsync's back (writes
//! the change capture leaves out of the feed, as the engine's own writes are): an actual
//! deleted from the accounting staging table, one edited there, one inserted there that no
//! operational record maps to (and one the map's filter there leaves out, which is not drift),
//! one edited and one inserted on the operational side, and a material estimate
//! deleted on the operational side (its map deletes, so its link now names nothing). A
//! report-only reconcile finds exactly those, names them and writes nothing; a reconcile with
//! repair repairs every one; the next reconcile finds nothing; and no record but the drifted
//! ones changed on either side.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::engine::{Setup, setup};
use common::faults::{scan_all, text};
use dualsync::engine::Engine;
use dualsync::engine::reconcile::{Drift, ReconcileOptions, directions};
use dualsync::engine::state::parse_key_text;
use dualsync::store::sql::SqlStore;
use dualsync::store::{Store, WriteOp};
use dualsync::value::Value;

/// Every record of an entity: key text → the row as text.
async fn snapshot(store: &SqlStore, entity: &str) -> BTreeMap<String, String> {
    let (desc, rows) = scan_all(store, entity).await;
    rows.iter()
        .map(|r| {
            let key: Vec<String> = desc.key_of(r).iter().map(text).collect();
            (key.join("|"), r.iter().map(text).collect::<Vec<_>>().join(";"))
        })
        .collect()
}

async fn reconcile_all(engine: &Engine, repair: bool) -> Vec<Drift> {
    let options = ReconcileOptions {
        repair,
        recheck_after: Duration::ZERO,
    };
    let mut out = Vec::new();
    for map in &engine.maps {
        for from in directions(map) {
            out.push(engine.reconcile(map, from, &options).await.unwrap());
        }
    }
    out
}

fn of<'a>(drifts: &'a [Drift], map: &str, from: &str) -> &'a Drift {
    drifts
        .iter()
        .find(|d| d.map == map && d.from == from)
        .unwrap_or_else(|| panic!("no reconcile of {map} from {from}"))
}

/// Writes `ops` to `entity` as the engine's own writes: the change capture leaves them out of
/// the feed, so no sync follows them.
async fn behind_the_back(store: &SqlStore, entity: &str, ops: Vec<WriteOp>) {
    let desc = store.describe(entity).await.unwrap();
    let outcomes = store.apply_own(&desc, &ops).await.unwrap();
    use dualsync::store::RowOutcome;
    let done = |o: &RowOutcome| matches!(o, RowOutcome::Written | RowOutcome::Deleted { existed: true });
    assert!(outcomes.iter().all(done), "{outcomes:?}");
}

async fn reconcile_finds_and_repairs_drift(backend: &str) {
    let Setup {
        op,
        acct,
        engine,
        op_store,
        acct_store,
        _state_dir,
        ..
    } = setup(backend, "reconcile", |maps| {
        // The actuals map is about the staging rows other than those the ledger stages for
        // budgets itself: such a row is not unexpected.
        let actuals = maps.iter_mut().find(|m| m.name == "actuals").unwrap();
        actuals.accounting.filter = Some("TransType ne 'Budget'".into());
    })
    .await;
    let _keep = (op.keep_alive(), acct.keep_alive());
    let names: Vec<String> = engine.maps.iter().map(|m| m.name.clone()).collect();
    for name in &names {
        engine.initial_sync(name, &mut |_| {}).await.unwrap();
    }

    // In sync after the initial sync.
    let clean = reconcile_all(&engine, false).await;
    for d in &clean {
        assert_eq!(d.found(), 0, "{} from {} after the initial sync: {d:#?}", d.map, d.from);
    }
    let actuals = of(&clean, "actuals", "operational");
    assert!(actuals.expected > 0 && actuals.left_out > 0, "{actuals:?}");
    assert_eq!(actuals.expected, actuals.in_sync);
    assert!(
        actuals.unexpected.as_ref().is_some_and(|u| u.count == 0),
        "the staging table is checked for records nothing maps to"
    );
    assert!(
        clean.iter().any(|d| d.map == "actuals" && d.from == "accounting"),
        "the posted attributes written back are reconciled too"
    );

    // Drift behind dualsync's back.
    let staging = "ProjCDSActualsImport";
    let (sdesc, srows) = scan_all(acct_store.as_ref(), staging).await;
    let col = |name: &str| sdesc.index_of(name).unwrap();
    let actual_id = |r: &Vec<Value>| r[col("ActualId")].to_string();
    let gone = srows[0].clone();
    let mut edited = srows[1].clone();
    edited[col("Description")] = Value::Text("edited behind dualsync's back".into());
    let mut stranger = srows[2].clone();
    stranger[col("ActualId")] = Value::Guid(uuid::Uuid::new_v4());
    let mut budget = srows[3].clone();
    budget[col("ActualId")] = Value::Guid(uuid::Uuid::new_v4());
    budget[col("TransType")] = Value::Text("Budget".into());
    behind_the_back(
        acct_store.as_ref(),
        staging,
        vec![
            WriteOp::Delete(sdesc.key_of(&gone)),
            WriteOp::Upsert(edited.clone()),
            WriteOp::Upsert(stranger.clone()),
            WriteOp::Upsert(budget.clone()),
        ],
    )
    .await;
    let (odesc, orows) = scan_all(op_store.as_ref(), "msdyn_actuals").await;
    let ocol = |name: &str| odesc.index_of(name).unwrap();
    // An operational actual that is synced (not one of the three above, not skipped).
    let synced: Vec<String> = srows.iter().map(actual_id).collect();
    let mut source = orows
        .iter()
        .find(|r| {
            let id = r[ocol("msdyn_actualid")].to_string();
            synced[4..].contains(&id)
        })
        .unwrap()
        .clone();
    source[ocol("msdyn_description")] = Value::Text("changed at the source, never captured".into());
    // And one inserted there, never captured: missing in the staging table.
    let mut newcomer = source.clone();
    let newcomer_id = uuid::Uuid::new_v4();
    newcomer[ocol("msdyn_actualid")] = Value::Guid(newcomer_id);
    newcomer[ocol("msdyn_description")] = Value::Text("inserted at the source, never captured".into());
    behind_the_back(
        op_store.as_ref(),
        "msdyn_actuals",
        vec![WriteOp::Upsert(source.clone()), WriteOp::Upsert(newcomer)],
    )
    .await;
    // A material estimate line deleted at the source: its map deletes, so its link should
    // have gone with the target record.
    let material = engine.map("material-estimates").unwrap();
    let linked = engine
        .state
        .linked_keys("material-estimates", "operational", None, 1)
        .await
        .unwrap();
    let mdesc = op_store.describe(&material.operational.entity).await.unwrap();
    let types: Vec<_> = mdesc.key_columns().map(|c| c.value_type).collect();
    let line = parse_key_text(&linked[0], &types).unwrap();
    behind_the_back(
        op_store.as_ref(),
        &material.operational.entity,
        vec![WriteOp::Delete(line)],
    )
    .await;
    let acct_before = snapshot(acct_store.as_ref(), staging).await;

    // The report names each and writes nothing.
    let found = reconcile_all(&engine, false).await;
    let a = of(&found, "actuals", "operational");
    assert_eq!(a.missing.count, 2, "{a:#?}");
    for id in [actual_id(&gone), newcomer_id.to_string()] {
        assert!(
            a.missing.examples.iter().any(|e| e.record.contains(&id)),
            "{id}: {a:#?}"
        );
    }
    assert_eq!(a.differing.count, 2, "{a:#?}");
    let described: Vec<&str> = a
        .differing
        .examples
        .iter()
        .flat_map(|e| &e.fields)
        .filter(|f| f.column == "Description")
        .map(|f| f.actual.as_deref().unwrap_or(""))
        .collect();
    assert!(described.contains(&"edited behind dualsync's back"), "{a:#?}");
    let u = a.unexpected.as_ref().unwrap();
    assert_eq!(u.count, 1, "{a:#?}");
    assert!(
        u.examples[0].record.contains(&stranger[col("ActualId")].to_string()),
        "{u:#?}"
    );
    let m = of(&found, "material-estimates", "operational");
    assert_eq!(m.stale_links.count, 1, "{m:#?}");
    assert_eq!(m.stale_links.examples[0].record, linked[0]);
    for d in found
        .iter()
        .filter(|d| d.map != "actuals" && d.map != "material-estimates")
    {
        assert_eq!(d.found(), 0, "{} from {}: {d:#?}", d.map, d.from);
    }
    assert_eq!(
        snapshot(acct_store.as_ref(), staging).await,
        acct_before,
        "a report writes nothing"
    );

    // Repair: each one repaired, then nothing found.
    let repaired = reconcile_all(&engine, true).await;
    let a = of(&repaired, "actuals", "operational");
    assert_eq!((a.missing.count, a.missing.repaired), (2, 2), "{a:#?}");
    assert_eq!((a.differing.count, a.differing.repaired), (2, 2), "{a:#?}");
    let u = a.unexpected.as_ref().unwrap();
    assert_eq!((u.count, u.repaired), (1, 1), "{a:#?}");
    let m = of(&repaired, "material-estimates", "operational");
    assert_eq!((m.stale_links.count, m.stale_links.repaired), (1, 1), "{m:#?}");
    assert!(
        engine
            .state
            .links_by_operational("material-estimates", &linked)
            .await
            .unwrap()
            .is_empty()
    );
    for d in &repaired {
        assert_eq!(d.unrepaired(), 0, "{} from {}: {d:#?}", d.map, d.from);
    }
    let again = reconcile_all(&engine, false).await;
    for d in &again {
        assert_eq!(d.found(), 0, "{} from {} after the repair: {d:#?}", d.map, d.from);
    }

    // Nothing else touched: the staging table is as before the drift but for the drifted
    // records, which hold what the map says.
    let after = snapshot(acct_store.as_ref(), staging).await;
    let key_of = |r: &Vec<Value>| sdesc.key_of(r).iter().map(text).collect::<Vec<_>>().join("|");
    let drifted = [key_of(&gone), key_of(&edited), key_of(&stranger)];
    let source_key = source[ocol("msdyn_actualid")].to_string();
    let mut before = acct_before.clone();
    before.remove(&key_of(&stranger));
    for (k, v) in &before {
        if drifted.contains(k) || k.contains(&source_key) {
            continue;
        }
        assert_eq!(after.get(k), Some(v), "{k} was touched");
    }
    assert!(
        !after.contains_key(&key_of(&stranger)),
        "the unexpected record was deleted"
    );
    assert!(
        after.contains_key(&key_of(&budget)),
        "a row outside the map's filter is left alone"
    );
    assert!(after.contains_key(&key_of(&gone)), "the missing record is back");
    assert!(
        after.keys().any(|k| k.contains(&newcomer_id.to_string())),
        "the record inserted at the source is staged"
    );
    assert_eq!(after.len(), before.len() + 2, "{} records", after.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_finds_and_repairs_drift_on_sqlite() {
    reconcile_finds_and_repairs_drift("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_finds_and_repairs_drift_on_postgres() {
    reconcile_finds_and_repairs_drift("postgres").await;
}

/// `dualsync reconcile` beside a running daemon: in sync at first (exit 0); a change to every
/// actual made just before it runs is in flight, not drift (exit 0); an edit of the staging
/// table the maps do not sync back is drift (exit 1, named with both values); `--repair`
/// repairs it (exit 0) and the next run finds the stores in sync.
async fn reconcile_beside_the_daemon(backend: &str) {
    use common::{Daemon, DaemonStores};
    use dualsync::accounting::db::Db;

    let (stores, op, acct) = DaemonStores::seeded(backend, "reconcile_daemon", 200, 7).await;
    let config = stores.write_config(false, "[processes]\nenabled = false\n");
    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon.wait_all_running(Duration::from_secs(120)).await;
    let reconcile = |args: &[&str]| {
        let mut all = vec!["--output", "json", "reconcile", "--map", "actuals"];
        all.extend_from_slice(args);
        let (code, out, err) = common::dualsync(&all, &config);
        let report: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("no JSON ({e}): {out}{err}"));
        (code, report)
    };
    let forward = |r: &serde_json::Value| {
        r["maps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["from"] == "operational")
            .unwrap()
            .clone()
    };

    let (code, report) = reconcile(&[]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["unrepaired"], 0);
    let (code, _, err) = common::dualsync(&["reconcile", "--map", "nonesuch"], &config);
    assert_eq!(code, Some(2), "an unknown map is a usage error: {err}");

    // Every actual changes just before the run: the daemon syncs them while it checks.
    Db::new(&op)
        .execute(
            "UPDATE msdyn_actuals SET msdyn_description = 'changed while reconciling'",
            &[],
        )
        .await
        .unwrap();
    let (code, report) = reconcile(&[]);
    assert_eq!(code, Some(0), "changes in flight are not drift: {report:#}");

    // An edit of the staging table that no map syncs back: drift.
    let ledger = Db::new(&acct);
    let edited = ledger
        .execute(
            "UPDATE \"ProjCDSActualsImport\" SET \"Description\" = 'edited in the ledger' \
             WHERE \"Description\" = 'changed while reconciling' AND \"ProjectDataAreaId\" = 'USPM'",
            &[],
        )
        .await
        .unwrap();
    assert!(edited > 0);
    let (code, report) = reconcile(&[]);
    assert_eq!(code, Some(1), "{report:#}");
    let f = forward(&report);
    assert_eq!(f["differing"]["count"], edited, "{f:#}");
    let field = &f["differing"]["examples"][0]["fields"][0];
    assert_eq!(field["column"], "Description");
    assert_eq!(field["expected"], "changed while reconciling");
    assert_eq!(field["actual"], "edited in the ledger");

    let (code, report) = reconcile(&["--repair"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(forward(&report)["differing"]["repaired"], edited);
    let (code, report) = reconcile(&[]);
    assert_eq!(code, Some(0), "in sync after the repair: {report:#}");
    assert!(daemon.is_running(), "the daemon ran on: {}", daemon.log_tail(20));
    daemon.terminate(Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_beside_the_daemon_on_sqlite() {
    reconcile_beside_the_daemon("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_beside_the_daemon_on_postgres() {
    reconcile_beside_the_daemon("postgres").await;
}

/// Reconcile on the daemon's schedule: drift made in the ledger shows in `status`, in the
/// job log and as the gauge `dualsync_drift_records`; with `repair` the next daemon repairs it.
async fn scheduled_reconcile(backend: &str) {
    use common::metrics::{free_port, sample, scrape};
    use common::{Daemon, DaemonStores};
    use dualsync::accounting::db::Db;

    let (stores, _op, acct) = DaemonStores::seeded(backend, "reconcile_schedule", 100, 9).await;
    let port = free_port();
    let config_with = |repair: bool| {
        stores.write_config(
            false,
            &format!(
                "[processes]\nenabled = false\n[admin]\nlisten = \"127.0.0.1:{port}\"\n\
                 [reconcile]\nevery_seconds = 1\nrepair = {repair}\n"
            ),
        )
    };
    let status = |config: &std::path::Path| {
        let (_, out, err) = common::dualsync(&["--output", "json", "status"], config);
        serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("no JSON ({e}): {out}{err}"))
    };
    let config = config_with(false);
    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon.wait_all_running(Duration::from_secs(120)).await;
    let edited = Db::new(&acct)
        .execute(
            "UPDATE \"ProjCDSActualsImport\" SET \"Description\" = 'edited in the ledger' \
             WHERE \"ProjectDataAreaId\" = 'USPM'",
            &[],
        )
        .await
        .unwrap();
    assert!(edited > 0);
    // A run that started after the edit reports every edited record.
    common::eventually(
        "a run that found the drift",
        &mut daemon,
        Duration::from_secs(60),
        || async {
            let s = status(&config);
            match s["reconcile"]["found"].as_u64() == Some(edited) {
                true => Ok(()),
                false => Err(format!("{s:#}")),
            }
        },
    )
    .await;
    let run = status(&config)["reconcile"].clone();
    assert_eq!(
        (run["status"].as_str(), run["left"].as_u64()),
        (Some("partial"), Some(edited))
    );
    let (_, text, _) = common::dualsync(&["status"], &config);
    assert!(
        text.contains(&format!("reconcile: {edited} records out of sync, {edited} left")),
        "{text}"
    );
    let m = scrape(&format!("http://127.0.0.1:{port}/metrics"), None).await;
    let labels = [("map", "actuals"), ("from", "operational"), ("kind", "differing")];
    assert_eq!(sample(&m, "dualsync_drift_records", &labels), Some(edited as f64));
    assert_eq!(
        sample(
            &m,
            "dualsync_drift_records",
            &[("map", "projects"), ("from", "operational"), ("kind", "missing")]
        ),
        Some(0.0)
    );
    daemon.terminate(Duration::from_secs(30));

    // With repair: the next daemon's run repairs it.
    let config = config_with(true);
    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon.wait_all_running(Duration::from_secs(120)).await;
    common::eventually(
        "a run that repaired the drift",
        &mut daemon,
        Duration::from_secs(60),
        || async {
            let s = status(&config);
            let run = &s["reconcile"];
            match run["status"] == "succeeded" && run["found"].as_u64() == Some(edited) {
                true => Ok(()),
                false => Err(format!("{s:#}")),
            }
        },
    )
    .await;
    assert_eq!(status(&config)["reconcile"]["left"], 0);
    let left = Db::new(&acct)
        .execute(
            "UPDATE \"ProjCDSActualsImport\" SET \"Description\" = \"Description\" \
             WHERE \"Description\" = 'edited in the ledger'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(left, 0, "the ledger's edits were repaired");
    let m = scrape(&format!("http://127.0.0.1:{port}/metrics"), None).await;
    assert_eq!(sample(&m, "dualsync_drift_records", &labels), Some(0.0));
    assert!(daemon.is_running());
    daemon.terminate(Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_reconcile_on_sqlite() {
    scheduled_reconcile("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_reconcile_on_postgres() {
    scheduled_reconcile("postgres").await;
}
