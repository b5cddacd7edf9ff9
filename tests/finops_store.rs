//! The finance-and-operations store (`store::finops`, issue 14) against a real OData server
//! (odatapy with a layer that answers as finance and operations does, `tests/fixtures/finops/`):
//! data entities found through their public collection names (by type name, or configured);
//! composite keys with an enumeration, written as `Namespace.Enum'Member'` and never compared
//! with `gt`; writes through `$batch` with a changeset per record (PATCH existing, POST new, one
//! refused record alone); reads across companies kept to the companies in scope; the
//! modified-timestamp feed (a change, nothing twice, two edits in one second, a change stamped
//! before it committed, the periodic sweep); and both kinds of 429.

mod common;

use std::time::Duration;

use common::finops::{FinopsOptions, FinopsServer, accounting_sqlite};
use dualsync::config::{AuthConfig, FinopsEntity, StoreConfig, StoreKind};
use dualsync::store::finops::FinopsStore;
use dualsync::store::{ErrorKind, Key, Position, RowOutcome, Store, WriteOp};
use dualsync::value::Value;
use serde_json::json;
use uuid::Uuid;

fn guid(i: u128) -> Uuid {
    Uuid::from_u128(0x3333_0000_0000_0000_0000_0000_0000_0000 + i)
}

/// A server with three staging actuals, one per company (USPM, DEMF and OTHR, out of scope).
async fn seeded() -> (FinopsServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounting.db");
    let mut sql = String::new();
    for (i, company) in ["USPM", "DEMF", "OTHR"].iter().enumerate() {
        sql += &format!(
            "INSERT INTO \"ProjCDSActualsImport\" (\"ProjectDataAreaId\", \"ActualId\", \"Description\", \"Amount\") \
             VALUES ('{company}', '{}', 'actual {i}', 10.5000);",
            guid(i as u128)
        );
    }
    accounting_sqlite(&path, &sql).await;
    (FinopsServer::start(Some(&path), FinopsOptions::default()), dir)
}

async fn store(fo: &FinopsServer, dir: &tempfile::TempDir, edit: impl FnOnce(&mut StoreConfig)) -> FinopsStore {
    let secret = dir.path().join("secret");
    std::fs::write(&secret, fo.secret()).unwrap();
    let mut config = StoreConfig {
        kind: StoreKind::Finops,
        url: fo.data_url(),
        auth: Some(AuthConfig {
            token_url: Some(fo.token_url()),
            client_id: fo.client_id().into(),
            client_secret_file: Some(secret),
            ..AuthConfig::default()
        }),
        companies: vec!["USPM".into(), "DEMF".into()],
        ..StoreConfig::default()
    };
    config.http.poll_seconds = 0;
    config.http.attempts = 6;
    edit(&mut config);
    FinopsStore::open(&config, "accounting").await.unwrap()
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn composite_keys_with_an_enumeration_are_written_read_and_scanned() {
    let (fo, dir) = seeded().await;
    let store = store(&fo, &dir, |_| {}).await;
    let desc = store.describe("ProjCDSCategoryEntity").await.unwrap();
    let key: Vec<&str> = desc.key_columns().map(|c| c.name.as_str()).collect();
    assert_eq!(key, ["CategoryId", "TransactionType"]);
    let desc = desc.project(&["CategoryName"]).unwrap();
    let row = |i: u128, t: &str, name: &str| vec![Value::Guid(guid(i)), text(t), text(name)];
    let ops = vec![
        WriteOp::Upsert(row(1, "Hour", "Design")),
        WriteOp::Upsert(row(1, "Expense", "Travel")),
        WriteOp::Upsert(row(2, "Hour", &"x".repeat(5000))),
        WriteOp::Upsert(row(2, "Fee", "Setup")),
    ];
    let out = store.apply(&desc, &ops).await.unwrap();
    assert_eq!(out[0], RowOutcome::Written);
    assert_eq!(out[1], RowOutcome::Written);
    assert!(
        matches!(&out[2], RowOutcome::Rejected { message } if message.contains("CategoryName")),
        "{out:?}"
    );
    assert_eq!(out[3], RowOutcome::Written);
    // An existing record is updated in place (PATCH), not created twice.
    let out = store
        .apply(&desc, &[WriteOp::Upsert(row(1, "Hour", "Design and build"))])
        .await
        .unwrap();
    assert_eq!(out, [RowOutcome::Written]);
    let rows = fo.rows("ProjCDSCategoryEntities").await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    let hour = rows
        .iter()
        .find(|r| r["TransactionType"] == "Hour")
        .expect("the Hour category");
    assert_eq!(hour["CategoryName"], "Design and build");
    // Read by key (the enumeration as a literal), and a scan a record at a time: every record
    // once, in key order, though the enumeration cannot be compared with gt.
    let keys: Vec<Key> = vec![
        vec![Value::Guid(guid(1)), text("Expense")],
        vec![Value::Guid(guid(2)), text("Fee")],
    ];
    let read = store.read(&desc, &keys).await.unwrap();
    assert_eq!(read.rows.len(), 2);
    let mut seen = Vec::new();
    let mut after: Option<Key> = None;
    loop {
        let page = store.read_page(&desc, after.as_ref(), 1).await.unwrap();
        let Some(next) = page.next else { break };
        seen.extend(page.rows.iter().map(|r| format!("{}/{}", r[0], r[1])));
        after = Some(next);
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 3, "nothing twice: {seen:?}");
    // Deletes: there, then gone.
    let gone = vec![Value::Guid(guid(1)), text("Expense")];
    let out = store.apply(&desc, &[WriteOp::Delete(gone.clone())]).await.unwrap();
    assert_eq!(out, [RowOutcome::Deleted { existed: true }]);
    let out = store.apply(&desc, &[WriteOp::Delete(gone)]).await.unwrap();
    assert_eq!(out, [RowOutcome::Deleted { existed: false }]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_keep_to_the_companies_in_scope_and_entity_sets_can_be_named() {
    let (fo, dir) = seeded().await;
    let store = store(&fo, &dir, |c| {
        c.finops.entities.insert(
            "Staging".into(),
            FinopsEntity {
                set: Some("ProjCDSActualsImports".into()),
                ..FinopsEntity::default()
            },
        );
        c.finops.entities.insert(
            "Missing".into(),
            FinopsEntity {
                set: Some("ProjCDSActualImports".into()),
                ..FinopsEntity::default()
            },
        );
    })
    .await;
    // Found by its type name; USPM and DEMF only (the server's default company is USPM: the
    // DEMF record is there only because every read asks cross-company).
    let desc = store.describe("ProjCDSActualsImport").await.unwrap();
    let page = store.read_page(&desc, None, 100).await.unwrap();
    let companies: Vec<String> = page.rows.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(companies.len(), 2, "{companies:?}");
    assert!(companies.contains(&"DEMF".to_string()) && !companies.contains(&"OTHR".to_string()));
    assert_eq!(store.count("ProjCDSActualsImport").await.unwrap(), 2);
    // Named in the configuration: the map's name is kept.
    let named = store.describe("Staging").await.unwrap();
    assert_eq!(named.name, "Staging");
    assert_eq!(named.columns, desc.columns);
    assert_eq!(store.read_page(&named, None, 100).await.unwrap().rows.len(), 2);
    let err = store.describe("Missing").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let hint = err.hint.clone().unwrap_or_default();
    assert!(
        hint.contains("ProjCDSActualsImports") && hint.contains("[accounting.finops.entities.Missing]"),
        "{err}: {hint}"
    );
    let err = store.describe("ProjCDSActualsImprt").await.unwrap_err();
    assert!(
        err.to_string().contains("no data entity `ProjCDSActualsImprt`"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_finds_every_change_once_even_when_committed_late() {
    let (fo, dir) = seeded().await;
    let store = store(&fo, &dir, |c| {
        c.finops.overlap_seconds = 60;
        c.finops.sweep_seconds = 2;
    })
    .await;
    let entity = "ProjCDSActualsImport";
    let head = store.head(entity).await.unwrap();
    let path = |i: u128, company: &str| {
        format!(
            "ProjCDSActualsImports(ProjectDataAreaId='{company}',ActualId={})?cross-company=true",
            guid(i)
        )
    };
    let changes = |from: Position| {
        let store = &store;
        async move { store.changes(entity, &from, 100).await.unwrap() }
    };
    // Nothing since the head.
    let batch = changes(head.clone()).await;
    assert!(batch.changes.is_empty(), "{:?}", batch.changes);
    // One edit: one change, once.
    let r = fo.patch(&path(1, "DEMF"), &json!({"VoucherNumber": "V-1"})).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let batch = changes(batch.next).await;
    let keys: Vec<String> = batch.changes.iter().map(|c| format!("{:?}", c.key)).collect();
    assert_eq!(batch.changes.len(), 1, "{keys:?}");
    assert_eq!(batch.changes[0].key, vec![text("DEMF"), Value::Guid(guid(1))]);
    let batch = changes(batch.next).await;
    assert!(batch.changes.is_empty(), "nothing twice: {:?}", batch.changes);
    // Two edits within one second (the timestamp has whole seconds): both are changes.
    assert!(
        fo.patch(&path(0, "USPM"), &json!({"VoucherNumber": "V-2"}))
            .await
            .status()
            .is_success()
    );
    let batch = changes(batch.next).await;
    assert_eq!(batch.changes.len(), 1);
    assert!(
        fo.patch(&path(0, "USPM"), &json!({"VoucherNumber": "V-3"}))
            .await
            .status()
            .is_success()
    );
    let batch = changes(batch.next).await;
    assert_eq!(
        batch.changes.len(),
        1,
        "the second edit of the same second is a change too"
    );
    // A transaction that committed 30 s after it stamped its record: still found.
    fo.control(json!({"backdate": {"count": 1, "seconds": 30}})).await;
    assert!(
        fo.patch(&path(1, "DEMF"), &json!({"VoucherNumber": "V-late"}))
            .await
            .status()
            .is_success()
    );
    let batch = changes(batch.next).await;
    assert_eq!(batch.changes.len(), 1, "the late change");
    assert_eq!(batch.changes[0].key[1], Value::Guid(guid(1)));
    // A company out of scope is never a change of this store.
    assert!(
        fo.patch(&path(2, "OTHR"), &json!({"VoucherNumber": "V-x"}))
            .await
            .status()
            .is_success()
    );
    let mut batch = changes(batch.next).await;
    assert!(batch.changes.is_empty(), "{:?}", batch.changes);
    // Every sweep_seconds a batch asks the reader to look for deletions.
    let started = std::time::Instant::now();
    while !batch.sweep {
        assert!(started.elapsed() < Duration::from_secs(10), "no sweep asked for");
        tokio::time::sleep(Duration::from_millis(300)).await;
        batch = changes(batch.next).await;
    }
    assert!(!changes(batch.next).await.sweep, "not again at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_kinds_of_429_are_waited_out() {
    let (fo, dir) = seeded().await;
    let store = store(&fo, &dir, |_| {}).await;
    let desc = store.describe("ProjCDSActualsImport").await.unwrap();
    fo.control(json!({"reset": true})).await;
    fo.control(json!({"throttle": 2, "retry_after": 1, "throttle_kind": "user"}))
        .await;
    assert_eq!(store.read_page(&desc, None, 10).await.unwrap().rows.len(), 2);
    fo.control(json!({"throttle": 2, "retry_after": 1, "throttle_kind": "resource"}))
        .await;
    assert_eq!(store.count("ProjCDSActualsImport").await.unwrap(), 2);
    let stats = fo.stats().await;
    let requests = stats["requests"].as_array().unwrap();
    let refused: Vec<usize> = (0..requests.len()).filter(|&i| requests[i]["status"] == 429).collect();
    assert_eq!(refused.len(), 4, "{requests:?}");
    for i in refused {
        if let Some(next) = requests.get(i + 1) {
            let gap = next["at"].as_f64().unwrap() - requests[i]["at"].as_f64().unwrap();
            assert!(gap >= 0.99, "a request {gap:.3} s after a 429 with Retry-After: 1");
        }
    }
}
