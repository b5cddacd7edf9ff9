//! The Dataverse store (`store::dataverse`, issue 13) against a real OData server (odatapy with
//! a layer that answers as the Dataverse Web API does, `tests/fixtures/dataverse/`): described
//! from `$metadata` with lookups under the names maps use; scanned in key order across server
//! pages; read by key; written through `$batch` with one refused record reported alone; lookups
//! written with `@odata.bind`; the change feed through delta links (changes, deletions, an
//! expired token); and the service-protection faults (429 with `Retry-After`, a revoked token).

mod common;

use std::str::FromStr;
use std::time::Duration;

use common::dataverse::{DataverseServer, operational_sqlite};
use dualsync::config::{AuthConfig, StoreConfig, StoreKind};
use dualsync::store::dataverse::DataverseStore;
use dualsync::store::{ChangeOp, Key, Position, RowOutcome, Store, WriteOp};
use dualsync::value::{Value, ValueType};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

fn project(i: u128) -> Uuid {
    Uuid::from_u128(0x1111_0000_0000_0000_0000_0000_0000_0000 + i)
}

fn task(i: u128) -> Uuid {
    Uuid::from_u128(0x2222_0000_0000_0000_0000_0000_0000_0000 + i)
}

/// A server over 23 projects and 3 tasks of project 1, serving pages of at most `page` records.
async fn seeded(page: usize) -> (DataverseServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("operational.db");
    let mut sql = String::new();
    for i in 1..=23 {
        sql += &format!(
            "INSERT INTO msdyn_projects (msdyn_projectid, msdyn_company, msdyn_subject) \
             VALUES ('{}', 'USPM', 'Project {i}');",
            project(i)
        );
    }
    for i in 1..=3 {
        sql += &format!(
            "INSERT INTO msdyn_projecttasks (msdyn_projecttaskid, msdyn_project, msdyn_company, msdyn_subject, \
             msdyn_effort) VALUES ('{}', '{}', 'USPM', 'Task {i}', '12.345678');",
            task(i),
            project(1)
        );
    }
    operational_sqlite(&path, &sql).await;
    (DataverseServer::start(Some(&path), Some(page)), dir)
}

async fn store(dv: &DataverseServer, extra: impl FnOnce(&mut StoreConfig)) -> DataverseStore {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), dv.secret()).unwrap();
    let mut config = StoreConfig {
        kind: StoreKind::Dataverse,
        url: dv.api_url(),
        auth: Some(AuthConfig {
            token_url: Some(dv.token_url()),
            client_id: dv.client_id().into(),
            client_secret_file: Some(secret.path().to_path_buf()),
            ..AuthConfig::default()
        }),
        ..StoreConfig::default()
    };
    config.http.poll_seconds = 0;
    extra(&mut config);
    DataverseStore::open(&config, "operational")
        .await
        .expect("open the store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_in_key_order_across_pages_and_by_key() {
    let (dv, _dir) = seeded(4).await;
    let s = store(&dv, |_| {}).await;
    let tasks = s.describe("msdyn_projecttasks").await.unwrap();
    let project_col = tasks.column("msdyn_project").expect("the lookup under the map's name");
    assert_eq!(project_col.value_type, ValueType::Guid);
    assert!(tasks.column("_msdyn_project_value").is_none());
    let effort = tasks.column("msdyn_effort").unwrap();
    assert_eq!(effort.decimal, Some((19, 6)));

    // A scan in pages of 10 over a server that pages by 4: every record once, in key order.
    let desc = s
        .describe("msdyn_projects")
        .await
        .unwrap()
        .project(&["msdyn_subject"])
        .unwrap();
    let mut after: Option<Key> = None;
    let mut seen = Vec::new();
    loop {
        let page = s.read_page(&desc, after.as_ref(), 10).await.unwrap();
        assert!(page.bad.is_empty());
        assert!(page.rows.len() <= 10);
        seen.extend(page.rows.iter().map(|r| r[0].clone()));
        match page.next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    let want: Vec<Value> = (1..=23).map(|i| Value::Guid(project(i))).collect();
    assert_eq!(seen, want, "every project once, in key order");
    assert_eq!(s.count("msdyn_projects").await.unwrap(), 23);

    // By key: two of three, with exact decimals and the lookup.
    let tdesc = tasks.project(&["msdyn_project", "msdyn_effort"]).unwrap();
    let keys = vec![
        vec![Value::Guid(task(1))],
        vec![Value::Guid(task(3))],
        vec![Value::Guid(task(9))],
    ];
    let got = s.read(&tdesc, &keys).await.unwrap();
    assert!(got.bad.is_empty());
    assert_eq!(got.rows.len(), 2);
    for row in &got.rows {
        assert_eq!(row[1], Value::Guid(project(1)));
        assert_eq!(row[2], Value::Decimal(Decimal::from_str("12.345678").unwrap()));
    }
    let stats = dv.stats().await;
    let missing = stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("$skip=")))
        .count();
    assert_eq!(missing, 0, "no $skip: Dataverse does not support it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_batch_with_an_outcome_per_record() {
    let (dv, _dir) = seeded(5000).await;
    let s = store(&dv, |_| {}).await;
    let desc = s
        .describe("msdyn_projecttasks")
        .await
        .unwrap()
        .project(&["msdyn_project", "msdyn_company", "msdyn_subject", "msdyn_effort"])
        .unwrap();
    let row = |t: Uuid, p: Value, subject: &str| {
        vec![
            Value::Guid(t),
            p,
            Value::Text("USPM".into()),
            Value::Text(subject.into()),
            Value::Decimal(Decimal::from_str("7.250000").unwrap()),
        ]
    };
    let ops = vec![
        // A new record (PATCH creates it), with its lookup bound.
        WriteOp::Upsert(row(task(10), Value::Guid(project(2)), "new")),
        // Too long for the column (MaxLength 100): refused alone.
        WriteOp::Upsert(row(task(11), Value::Guid(project(2)), &"x".repeat(101))),
        // An update that clears the lookup.
        WriteOp::Upsert(row(task(2), Value::Null, "moved")),
        WriteOp::Delete(vec![Value::Guid(task(3))]),
        WriteOp::Delete(vec![Value::Guid(task(99))]),
    ];
    let outcomes = s.apply(&desc, &ops).await.unwrap();
    assert_eq!(outcomes[0], RowOutcome::Written);
    match &outcomes[1] {
        RowOutcome::Rejected { message } => {
            assert!(message.contains("0x80044331"), "{message}");
            assert!(message.contains("msdyn_subject"), "{message}");
        }
        other => panic!("the too-long record is refused alone: {other:?}"),
    }
    assert_eq!(outcomes[2], RowOutcome::Written);
    assert_eq!(outcomes[3], RowOutcome::Deleted { existed: true });
    assert_eq!(outcomes[4], RowOutcome::Deleted { existed: false });

    let rows = dv.rows("msdyn_projecttasks").await;
    let by_id = |id: Uuid| rows.iter().find(|r| r["msdyn_projecttaskid"] == id.to_string());
    let new = by_id(task(10)).expect("created by PATCH");
    assert_eq!(new["_msdyn_project_value"], project(2).to_string());
    assert_eq!(
        new["msdyn_effort"].as_str().map(|e| Decimal::from_str(e).unwrap()),
        Some(Decimal::from_str("7.25").unwrap())
    );
    assert!(by_id(task(11)).is_none());
    assert_eq!(by_id(task(2)).unwrap()["_msdyn_project_value"], serde_json::Value::Null);
    assert_eq!(by_id(task(2)).unwrap()["msdyn_subject"], "moved");
    assert!(by_id(task(3)).is_none());
    let stats = dv.stats().await;
    let batches = stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("$batch")) && r["in_batch"] != true)
        .count();
    assert_eq!(batches, 1, "five writes, one $batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feed_follows_delta_links_and_survives_an_expired_token() {
    let (dv, _dir) = seeded(5000).await;
    let s = store(&dv, |_| {}).await;
    let head = s.head("msdyn_projects").await.unwrap();
    assert!(head.as_str().contains("deltatoken"), "{head}");
    let quiet = s.changes("msdyn_projects", &head, 100).await.unwrap();
    assert!(quiet.changes.is_empty());

    // Another program inserts, updates and deletes through the Web API.
    let new = project(50);
    let r = dv
        .post(
            "msdyn_projects",
            &json!({"msdyn_projectid": new.to_string(), "msdyn_company": "DEMF", "msdyn_subject": "new"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = dv
        .patch(
            "msdyn_projects",
            &project(4).to_string(),
            &json!({"msdyn_subject": "renamed"}),
        )
        .await;
    assert!(r.status().is_success());
    let r = dv.delete("msdyn_projects", &project(5).to_string()).await;
    assert!(r.status().is_success());

    let batch = s.changes("msdyn_projects", &quiet.next, 100).await.unwrap();
    let got: Vec<(ChangeOp, Value)> = batch.changes.iter().map(|c| (c.op, c.key[0].clone())).collect();
    assert!(got.contains(&(ChangeOp::Update, Value::Guid(new))), "{got:?}");
    assert!(got.contains(&(ChangeOp::Update, Value::Guid(project(4)))), "{got:?}");
    assert_eq!(
        got.last(),
        Some(&(ChangeOp::Delete, Value::Guid(project(5)))),
        "deletions last"
    );
    assert!(batch.changes.iter().all(|c| c.bad.is_none()));
    assert!(batch.changes[0].at.is_some(), "when, from modifiedon");
    let after = s.changes("msdyn_projects", &batch.next, 100).await.unwrap();
    assert!(after.changes.is_empty(), "nothing twice");

    // The service forgets every delta token: the entity is read again, nothing is missed.
    dv.control(json!({"expire_delta_tokens": true})).await;
    let r = dv
        .patch(
            "msdyn_projects",
            &project(6).to_string(),
            &json!({"msdyn_subject": "while expired"}),
        )
        .await;
    assert!(r.status().is_success());
    let again = s.changes("msdyn_projects", &after.next, 1000).await.unwrap();
    let keys: Vec<Value> = again.changes.iter().map(|c| c.key[0].clone()).collect();
    assert_eq!(keys.len(), 23, "every project there is (23 - 1 deleted + 1 new)");
    assert!(again.restarted, "the batch says the feed started again");
    assert!(!batch.restarted && !after.restarted);
    assert!(keys.contains(&Value::Guid(project(6))));
    let fresh = s.changes("msdyn_projects", &again.next, 100).await.unwrap();
    assert!(fresh.changes.is_empty(), "a new token after the re-read");
    assert_ne!(again.next, Position::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_waited_out_and_a_revoked_token_renewed() {
    let (dv, _dir) = seeded(5000).await;
    let s = store(&dv, |_| {}).await;
    let desc = s.describe("msdyn_projects").await.unwrap().project(&[]).unwrap();
    dv.control(json!({"reset": true})).await;
    dv.control(json!({"throttle": 3, "retry_after": 1})).await;
    let started = std::time::Instant::now();
    let page = s.read_page(&desc, None, 100).await.unwrap();
    assert_eq!(page.rows.len(), 23, "nothing lost to the throttling");
    assert!(started.elapsed() >= Duration::from_secs(3));
    let stats = dv.stats().await;
    let reqs: Vec<&serde_json::Value> = stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("msdyn_projects")))
        .collect();
    let statuses: Vec<i64> = reqs.iter().map(|r| r["status"].as_i64().unwrap_or(0)).collect();
    assert_eq!(statuses, vec![429, 429, 429, 200]);
    for w in reqs.windows(2) {
        let gap = w[1]["at"].as_f64().unwrap() - w[0]["at"].as_f64().unwrap();
        assert!(
            gap >= 0.99,
            "a retry came {gap:.3} s after a 429 that said Retry-After: 1"
        );
    }

    // A revoked token: the store asks for a new one and goes on.
    let tokens = dv.stats().await["tokens_issued"].as_i64().unwrap();
    dv.control(json!({"revoke": true})).await;
    let page = s.read_page(&desc, None, 100).await.unwrap();
    assert_eq!(page.rows.len(), 23);
    assert_eq!(dv.stats().await["tokens_issued"].as_i64().unwrap(), tokens + 1);

    // 503s and dropped connections are retried too; slow answers are waited for.
    dv.control(json!({"unavailable": 1})).await;
    dv.control(json!({"drop": 1})).await;
    assert_eq!(s.read_page(&desc, None, 100).await.unwrap().rows.len(), 23);
    dv.control(json!({"slow": 2, "slow_ms": 400})).await;
    let started = std::time::Instant::now();
    assert_eq!(s.read_page(&desc, None, 100).await.unwrap().rows.len(), 23);
    assert!(started.elapsed() >= Duration::from_millis(400));

    // A request that takes longer than the timeout is a transient failure, retried.
    let impatient = store(&dv, |c| {
        c.http.timeout_seconds = 1;
        c.http.attempts = 2;
    })
    .await;
    dv.control(json!({"slow": 1, "slow_ms": 1500})).await;
    assert_eq!(impatient.read_page(&desc, None, 100).await.unwrap().rows.len(), 23);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_checks_the_maps_against_the_live_metadata() {
    let (dv, dir) = seeded(5000).await;
    let secret = dir.path().join("secret");
    std::fs::write(&secret, dv.secret()).unwrap();
    let config = dir.path().join("dualsync.toml");
    std::fs::write(
        &config,
        format!(
            "demo = false\n[operational]\nkind = \"dataverse\"\nurl = \"{}\"\n[operational.auth]\n\
             token_url = \"{}\"\nclient_id = \"{}\"\nclient_secret_file = \"{}\"\n",
            dv.api_url(),
            dv.token_url(),
            dv.client_id(),
            secret.display()
        ),
    )
    .unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
    let shipped = shipped.to_str().unwrap();
    let (code, out, err) = common::dualsync(&["validate", shipped, "--operational", &dv.api_url()], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("checked against operational"), "{out}");

    // A map naming a column the Web API does not have: the file, the line, a suggestion.
    let maps = dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    let text = std::fs::read_to_string(format!("{shipped}/projects.toml")).unwrap();
    std::fs::write(
        maps.join("projects.toml"),
        text.replacen("\"msdyn_subject\"", "\"msdyn_subjekt\"", 1),
    )
    .unwrap();
    let (code, out, err) = common::dualsync(
        &["validate", maps.to_str().unwrap(), "--operational", &dv.api_url()],
        &config,
    );
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("projects.toml:") && err.contains("msdyn_subjekt"), "{err}");
    assert!(err.contains("msdyn_subject"), "a suggestion: {err}");
    assert!(!format!("{out}{err}").contains(dv.secret()), "the secret never shows");
}
