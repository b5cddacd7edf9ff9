//! Fan-out in live sync, on SQLite and on PostgreSQL: a resource role created on the
//! operational side becomes one accounting role per company in scope; a transaction category
//! becomes its four shared categories (Hour, Expense, Item, Fee); an edit reaches every copy;
//! a delete removes every copy.

mod common;

use common::engine::{Setup, quiesce, setup};
use dualsync::store::sql::SqlStore;
use dualsync::store::{Store, WriteOp};
use dualsync::value::Value;
use uuid::Uuid;

/// The accounting rows of `entity` whose `id_column` is `id`, as (fan-out column, name column).
async fn copies(
    acct: &SqlStore,
    entity: &str,
    id_column: &str,
    part: &str,
    name: &str,
    id: Uuid,
) -> Vec<(String, String)> {
    let desc = acct.describe(entity).await.unwrap();
    let d = desc.project(&[id_column, part, name]).unwrap();
    let (i, p, n) = (
        d.index_of(id_column).unwrap(),
        d.index_of(part).unwrap(),
        d.index_of(name).unwrap(),
    );
    let mut out: Vec<(String, String)> = acct
        .scan(&d, None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r[i] == Value::Guid(id))
        .map(|r| (r[p].to_string(), r[n].to_string()))
        .collect();
    out.sort();
    out
}

/// Creates (or renames) an operational record from a template row of `entity`.
async fn upsert(s: &Setup, entity: &str, id_column: &str, name_column: &str, id: Uuid, name: &str) {
    let desc = s.op_store.describe(entity).await.unwrap();
    let mut row = s.op_store.scan(&desc, None, 1).await.unwrap().remove(0);
    row[desc.index_of(id_column).unwrap()] = Value::Guid(id);
    row[desc.index_of(name_column).unwrap()] = Value::Text(name.into());
    s.op_store.apply(&desc, &[WriteOp::Upsert(row)]).await.unwrap();
}

async fn delete(s: &Setup, entity: &str, id: Uuid) {
    let desc = s.op_store.describe(entity).await.unwrap().project(&[]).unwrap();
    s.op_store
        .apply(&desc, &[WriteOp::Delete(vec![Value::Guid(id)])])
        .await
        .unwrap();
}

async fn fan_out(backend: &str) {
    let s = setup(backend, "fanout", |_| {}).await;
    let _keep = (s.op.keep_alive(), s.acct.keep_alive());
    for m in &s.engine.maps {
        s.engine.initial_sync(&m.name, &mut |_| {}).await.unwrap();
    }
    let pairs = |names: &[&str], value: &str| -> Vec<(String, String)> {
        names.iter().map(|n| (n.to_string(), value.to_string())).collect()
    };

    // A resource role: one per company in scope.
    let role = Uuid::from_u128(0x501e);
    let roles = ("bookableresourcecategories", "bookableresourcecategoryid", "name");
    upsert(&s, roles.0, roles.1, roles.2, role, "Data architect").await;
    quiesce(&s.engine).await;
    let got = copies(
        &s.acct_store,
        "ProjCDSResourceCategoryEntity",
        "RoleId",
        "DataAreaId",
        "Name",
        role,
    )
    .await;
    assert_eq!(got, pairs(&["DEMF", "USPM"], "Data architect"), "one role per company");
    upsert(&s, roles.0, roles.1, roles.2, role, "Lead data architect").await;
    quiesce(&s.engine).await;
    let got = copies(
        &s.acct_store,
        "ProjCDSResourceCategoryEntity",
        "RoleId",
        "DataAreaId",
        "Name",
        role,
    )
    .await;
    assert_eq!(
        got,
        pairs(&["DEMF", "USPM"], "Lead data architect"),
        "an edit reaches both"
    );

    // A transaction category: its four shared categories.
    let category = Uuid::from_u128(0xca7);
    let cats = (
        "msdyn_transactioncategories",
        "msdyn_transactioncategoryid",
        "msdyn_name",
    );
    upsert(&s, cats.0, cats.1, cats.2, category, "Travel").await;
    quiesce(&s.engine).await;
    let got = copies(
        &s.acct_store,
        "ProjCDSCategoryEntity",
        "CategoryId",
        "TransactionType",
        "CategoryName",
        category,
    )
    .await;
    assert_eq!(
        got,
        pairs(&["Expense", "Fee", "Hour", "Item"], "Travel"),
        "four shared categories"
    );

    // Deletes remove every copy (both maps propagate deletes).
    delete(&s, roles.0, role).await;
    delete(&s, cats.0, category).await;
    quiesce(&s.engine).await;
    assert!(
        copies(
            &s.acct_store,
            "ProjCDSResourceCategoryEntity",
            "RoleId",
            "DataAreaId",
            "Name",
            role
        )
        .await
        .is_empty()
    );
    assert!(
        copies(
            &s.acct_store,
            "ProjCDSCategoryEntity",
            "CategoryId",
            "TransactionType",
            "CategoryName",
            category
        )
        .await
        .is_empty()
    );
    assert!(s.engine.state.list_dead_letters(None, None).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_sqlite() {
    fan_out("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_postgres() {
    fan_out("postgres").await;
}
