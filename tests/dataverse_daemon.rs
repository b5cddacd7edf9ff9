//! A connected installation (issue 13, item 5): the daemon (`dualsync run`, a separate process)
//! syncs the shipped maps between a Dataverse-shaped operational store served over the Web API
//! (odatapy with the Dataverse layer, `tests/fixtures/dataverse/`) and a database accounting
//! store, on SQLite and on PostgreSQL, through faults. Each scenario asserts on data:
//! - the initial sync: the accounting side holds what the maps send from the operational data;
//! - live inserts, updates and deletes made through the Web API arrive;
//! - the posted attributes written on the accounting side land in Dataverse (PATCH);
//! - a 429 storm: no request came before its `Retry-After` elapsed, and nothing is lost;
//! - a revoked token mid-run is renewed; an expired delta token is re-read, nothing lost.

mod common;

use std::time::Duration;

use common::dataverse::DataverseServer;
use common::faults::{actual_checksum, difference, expected_checksum, scan_all, shipped_map};
use common::{Daemon, DaemonStores, eventually};
use dualsync::demo::SeedOptions;
use dualsync::demo::load::seed;
use dualsync::store::sql::conn::Arg;
use dualsync::store::sql::{SqlStore, init};
use dualsync::tablemap::model::Side;
use dualsync::value::{Value, ValueType};
use serde_json::{Value as Json, json};

const ACTUALS: u64 = 300;

/// The staging row of an actual, as (column → text), or None.
async fn staged(acct: &SqlStore, actual: &str) -> Option<std::collections::HashMap<String, String>> {
    let (desc, rows) = scan_all(acct, "ProjCDSActualsImport").await;
    let i = desc.index_of("ActualId").unwrap();
    rows.iter().find(|r| r[i].to_string() == actual).map(|r| {
        desc.columns
            .iter()
            .zip(r)
            .map(|(c, v)| (c.name.clone(), common::faults::text(v)))
            .collect()
    })
}

/// Waits until the staging row of `actual` has the description `text`.
async fn described(daemon: &mut Daemon, acct: &SqlStore, actual: &str, text: &str) {
    eventually(
        &format!("the description {text:?} staged"),
        daemon,
        Duration::from_secs(60),
        || async {
            let e = staged(acct, actual).await.ok_or("the actual is not staged")?;
            match e["Description"].as_str() {
                t if t == text => Ok(()),
                other => Err(format!("staged as {other:?}")),
            }
        },
    )
    .await;
}

/// Sets an actual's description through the Web API, as a user would.
async fn edit(dv: &DataverseServer, actual: &str, text: &str) -> reqwest::StatusCode {
    dv.patch("msdyn_actuals", actual, &json!({"msdyn_description": text}))
        .await
        .status()
}

/// An actual as the Web API has it, ready to be posted again: annotations, read-only lookups
/// and the columns the service owns left out.
fn postable(mut row: Json) -> Json {
    let obj = row.as_object_mut().unwrap();
    obj.retain(|k, _| {
        !k.starts_with('@')
            && !k.starts_with('_')
            && !["createdon", "modifiedon", "versionnumber"].contains(&k.as_str())
    });
    row
}

async fn connected_installation(backend: &str) {
    let stores = DaemonStores::new(backend, &format!("dv_e2e_{backend}")).await;
    let opts = SeedOptions {
        actuals: ACTUALS,
        seed: 7,
    };
    // The Dataverse environment's data: the operational demo data, served by the Web API.
    let data = stores.dir.path().join("dataverse.db");
    let data_url = format!("sqlite://{}", data.display());
    let op_file = init::init(&data_url, Side::Operational).await.unwrap();
    seed(&op_file, Side::Operational, &opts).await.unwrap();
    // The accounting database: its reference schema and master data.
    let acct = init::init(&stores.accounting, Side::Accounting).await.unwrap();
    seed(&acct, Side::Accounting, &opts).await.unwrap();
    let dv = DataverseServer::start(Some(&data), None);
    let secret = stores.dir.path().join("client-secret");
    std::fs::write(&secret, dv.secret()).unwrap();
    let maps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
    let config = stores.dir.path().join("dualsync.toml");
    std::fs::write(
        &config,
        format!(
            "maps = \"{}\"\ncompanies = [\"USPM\", \"DEMF\"]\ndemo = false\n\
             [operational]\nkind = \"dataverse\"\nurl = \"{}\"\n\
             [operational.auth]\ntoken_url = \"{}\"\nclient_id = \"{}\"\nclient_secret_file = \"{}\"\n\
             [operational.http]\npoll_seconds = 1\n\
             [accounting]\nurl = \"{}\"\n[state]\nurl = \"{}\"\n[log]\nformat = \"json\"\n",
            maps.display(),
            dv.api_url(),
            dv.token_url(),
            dv.client_id(),
            secret.display(),
            stores.accounting,
            stores.state
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start(&config, &stores.log_path());
    daemon.wait_all_running(Duration::from_secs(300)).await;

    // The initial sync: actuals and hour estimates agree by content with the data file the
    // Web API serves (read without dualsync's Dataverse store).
    for name in ["actuals", "hour-estimates"] {
        let map = shipped_map(name);
        let expected = expected_checksum(&map, &op_file).await;
        let actual = actual_checksum(&map, &acct).await;
        assert!(!expected.is_empty());
        assert!(expected == actual, "{name}: {}", difference(&expected, &actual));
    }

    // Live: a new actual, an edited one, a deleted hour estimate, all through the Web API.
    let (desc, rows) = scan_all(&acct, "ProjCDSActualsImport").await;
    let id_col = desc.index_of("ActualId").unwrap();
    let first = rows[0][id_col].to_string();
    let second = rows[1][id_col].to_string();
    let mut new = postable(dv.get_json(&format!("msdyn_actuals({first})"), &[]).await);
    let new_id = uuid::Uuid::new_v4().to_string();
    new["msdyn_actualid"] = json!(new_id);
    new["msdyn_description"] = json!("made in Dataverse");
    let r = dv.post("msdyn_actuals", &new).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    assert!(edit(&dv, &second, "edited in Dataverse").await.is_success());
    let estimate = dv.rows("msdyn_resourceassignments").await[0]["msdyn_resourceassignmentid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = dv.delete("msdyn_resourceassignments", &estimate).await;
    assert!(r.status().is_success());
    let acct_ref = &acct;
    eventually(
        "the live changes in accounting",
        &mut daemon,
        Duration::from_secs(60),
        || {
            let (new_id, second, estimate) = (new_id.clone(), second.clone(), estimate.clone());
            async move {
                let n = staged(acct_ref, &new_id).await.ok_or("the new actual is not staged")?;
                if n["Description"] != "made in Dataverse" {
                    return Err(format!("new actual staged as {:?}", n["Description"]));
                }
                let e = staged(acct_ref, &second).await.ok_or("the edited actual is gone")?;
                if e["Description"] != "edited in Dataverse" {
                    return Err(format!("edited actual staged as {:?}", e["Description"]));
                }
                let (d, rows) = scan_all(acct_ref, "ProjCDSEstimateHoursImport").await;
                let i = d.index_of("ResourceAssignmentId").unwrap();
                if rows.iter().any(|r| r[i].to_string() == estimate) {
                    return Err("the deleted hour estimate is still staged".into());
                }
                Ok(())
            }
        },
    )
    .await;

    // Write-back: posting sets the posted attributes on the staging row; they reach Dataverse.
    let posted = "UPDATE \"ProjCDSActualsImport\" SET \"AccountingAmount\" = 123.4500, \"VoucherNumber\" = 'V-DV-1' \
                  WHERE \"ActualId\" = ?";
    let sql = acct.pool().dialect().sql(posted).into_owned();
    acct.pool()
        .execute(
            &sql,
            &[Arg {
                value: Value::Guid(first.parse().unwrap()),
                ty: ValueType::Guid,
            }],
        )
        .await
        .unwrap();
    let dv_ref = &dv;
    eventually(
        "the posted attributes in Dataverse",
        &mut daemon,
        Duration::from_secs(60),
        || {
            let first = first.clone();
            async move {
                let row = dv_ref.get_json(&format!("msdyn_actuals({first})"), &[]).await;
                match (
                    &row["msdyn_vouchernumber"],
                    row["msdyn_accountingamount"].to_string().as_str(),
                ) {
                    (Json::String(v), amount) if v == "V-DV-1" && amount.trim_end_matches('0') == "123.45" => Ok(()),
                    (v, a) => Err(format!("voucher {v}, amount {a}")),
                }
            }
        },
    )
    .await;

    // A batch with one bad record: two staging rows posted in one statement, one voucher too
    // long for Dataverse's column. That record alone is a record error; the other lands.
    let third = rows[2][id_col].to_string();
    let fourth = rows[3][id_col].to_string();
    let posted = format!(
        "UPDATE \"ProjCDSActualsImport\" SET \"VoucherNumber\" = CASE WHEN \"ActualId\" = ? THEN '{}' ELSE 'V-DV-2' END \
         WHERE \"ActualId\" IN (?, ?)",
        "V".repeat(101)
    );
    let sql = acct.pool().dialect().sql(&posted).into_owned();
    let guid = |t: &str| Arg {
        value: Value::Guid(t.parse().unwrap()),
        ty: ValueType::Guid,
    };
    acct.pool()
        .execute(&sql, &[guid(&third), guid(&third), guid(&fourth)])
        .await
        .unwrap();
    eventually(
        "the good record of the batch in Dataverse",
        &mut daemon,
        Duration::from_secs(60),
        || {
            let fourth = fourth.clone();
            async move {
                let row = dv_ref.get_json(&format!("msdyn_actuals({fourth})"), &[]).await;
                match &row["msdyn_vouchernumber"] {
                    Json::String(v) if v == "V-DV-2" => Ok(()),
                    v => Err(format!("voucher {v}")),
                }
            }
        },
    )
    .await;
    // The batch's record error is written once the batch's writes returned: the good record
    // can be in Dataverse a moment before it.
    eventually(
        "the bad record of the batch as a record error",
        &mut daemon,
        Duration::from_secs(30),
        || {
            let config = config.clone();
            async move {
                let (code, out, err) = common::dualsync(&["errors", "list"], &config);
                match code == Some(0) && out.contains("0x80044331") {
                    true => Ok(()),
                    false => Err(format!("{out}{err}")),
                }
            }
        },
    )
    .await;
    let (code, out, err) = common::dualsync(&["errors", "list"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("0x80044331") && out.contains("1 record error"),
        "only the bad record: {out}"
    );
    let (_, shown, _) = common::dualsync(&["errors", "show", "1"], &config);
    assert!(shown.contains(&third), "the error names the record: {shown}");
    let row = dv.get_json(&format!("msdyn_actuals({third})"), &[]).await;
    assert_ne!(row["msdyn_vouchernumber"], json!("V".repeat(101)));

    // A 429 storm: three refusals with Retry-After: 1, then a change; it arrives, and no
    // request came sooner than the service asked.
    dv.control(json!({"reset": true})).await;
    dv.control(json!({"throttle": 3, "retry_after": 1})).await;
    let r = edit(&dv, &second, "during the storm").await;
    assert!(r.is_success() || r == 429);
    if r == 429 {
        // The test's own request drew a refusal: send it again after the wait.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut sent = false;
        for _ in 0..5 {
            let r = edit(&dv, &second, "during the storm").await;
            if r.is_success() {
                sent = true;
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert!(sent);
    }
    described(&mut daemon, acct_ref, &second, "during the storm").await;
    let stats = dv.stats().await;
    let requests = stats["requests"].as_array().unwrap();
    let refused = requests.iter().filter(|r| r["status"] == 429).count();
    assert_eq!(refused, 3, "three refusals, each waited out");
    // The test's own requests are PATCHes of single records; the daemon's are GETs and $batch
    // POSTs. After a 429, none of the daemon's came before Retry-After elapsed.
    let daemon_requests: Vec<&Json> = requests
        .iter()
        .filter(|r| r["method"] != "PATCH" && r["in_batch"] != true)
        .collect();
    for (i, r) in daemon_requests.iter().enumerate().filter(|(_, r)| r["status"] == 429) {
        if let Some(next) = daemon_requests.get(i + 1) {
            let gap = next["at"].as_f64().unwrap() - r["at"].as_f64().unwrap();
            assert!(
                gap >= 0.99,
                "a request came {gap:.3} s after a 429 with Retry-After: 1: {r} then {next}"
            );
        }
    }

    // A revoked token mid-run, then an expired delta token: both recovered, nothing lost.
    let tokens = dv.stats().await["tokens_issued"].as_i64().unwrap();
    dv.control(json!({"revoke": true})).await;
    dv.control(json!({"expire_delta_tokens": true})).await;
    assert!(edit(&dv, &second, "after the revocation").await.is_success());
    described(&mut daemon, acct_ref, &second, "after the revocation").await;
    assert!(
        dv.stats().await["tokens_issued"].as_i64().unwrap() > tokens,
        "a new token"
    );
    let log = std::fs::read_to_string(stores.log_path()).unwrap();
    assert!(log.contains("token of this entity expired"), "the re-read is logged");

    // The daemon stopped longer than Dataverse keeps change-tracking data: a record deleted
    // meanwhile is not in any delta. At the next start the re-read finds it gone by its link.
    let status = daemon.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status:?}\n{}", daemon.log_tail(20));
    let estimate = dv.rows("msdyn_resourceassignments").await[0]["msdyn_resourceassignmentid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = dv.delete("msdyn_resourceassignments", &estimate).await;
    assert!(r.status().is_success());
    dv.control(json!({"expire_delta_tokens": true})).await;
    let mut daemon = Daemon::start(&config, &stores.log_path());
    eventually(
        "the deletion made while stopped",
        &mut daemon,
        Duration::from_secs(120),
        || {
            let estimate = estimate.clone();
            async move {
                let (d, rows) = scan_all(acct_ref, "ProjCDSEstimateHoursImport").await;
                let i = d.index_of("ResourceAssignmentId").unwrap();
                match rows.iter().any(|r| r[i].to_string() == estimate) {
                    true => Err("the hour estimate deleted while the daemon was stopped is still staged".into()),
                    false => Ok(()),
                }
            }
        },
    )
    .await;
    let log = std::fs::read_to_string(stores.log_path()).unwrap();
    assert!(
        log.contains("deleted while the change feed was lost"),
        "the sweep is logged"
    );
    assert!(!log.contains(dv.secret()), "the secret never shows");

    // Everything agrees by content, read through the Web API this time.
    let op_web = {
        let s = dualsync::config::Config::load(Some(&config)).unwrap();
        dualsync::store::open(&s.operational, dualsync::store::Setup::Existing)
            .await
            .unwrap()
    };
    for name in ["actuals", "hour-estimates"] {
        let map = shipped_map(name);
        let expected = expected_checksum(&map, op_web.as_ref()).await;
        let actual = actual_checksum(&map, &acct).await;
        assert!(expected == actual, "{name}: {}", difference(&expected, &actual));
    }
    let status = daemon.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status:?}\n{}", daemon.log_tail(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_installation_syncs_through_faults_on_sqlite() {
    connected_installation("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_installation_syncs_through_faults_on_postgres() {
    connected_installation("postgres").await;
}
