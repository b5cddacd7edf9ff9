//! What dualsync leaves on the systems it runs on (issue 11, item 14): stores it creates are
//! private (SQLite files 0600 with their -wal, -shm and lock files; PostgreSQL databases with
//! no access for PUBLIC), its PostgreSQL sessions set `application_name`, and a capture
//! trigger whose name PostgreSQL cuts to 63 bytes is not re-installed at every start.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::TestStore;
use dualsync::engine::state::StateStore;
use dualsync::store::sql::SqlStore;
use dualsync::store::sql::init::init;
use dualsync::store::{Position, Store};
use dualsync::tablemap::model::Side;
use dualsync::value::{Value, ValueType};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_sqlite_stores_are_readable_by_their_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let state_db = dir.path().join("data").join("state.db");
    let state = StateStore::open(&format!("sqlite://{}", state_db.display()))
        .await
        .unwrap();
    state.set_cursor("m", "operational", "e", &pos(0, 1)).await.unwrap();
    let _lock = state.try_lock("daemon").await.unwrap().expect("free");
    let op_db = dir.path().join("data").join("operational.db");
    let op = init(&format!("sqlite://{}", op_db.display()), Side::Operational)
        .await
        .unwrap();
    op.install_capture(&["msdyn_actuals"]).await.unwrap();
    for file in [
        state_db.clone(),
        dir.path().join("data").join("state.db-wal"),
        dir.path().join("data").join("state.db-shm"),
        dir.path().join("data").join("state.db.daemon.lock"),
        op_db.clone(),
        dir.path().join("data").join("operational.db-wal"),
    ] {
        assert_eq!(mode(&file), 0o600, "{} is {:o}", file.display(), mode(&file));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sessions_are_named_and_new_databases_private() {
    let url = common::absent_pg_database("ops_stores_private").await;
    let state = StateStore::open(&url).await.unwrap();
    state.close().await;
    let store = SqlStore::open(&url).await.unwrap();
    let rows = store
        .pool()
        .fetch(
            "SELECT application_name, has_database_privilege('public', current_database(), 'CONNECT') \
             FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
            &[ValueType::Text, ValueType::Bool],
        )
        .await
        .unwrap();
    assert_eq!(rows[0][0], Value::Text("dualsync".into()), "{rows:?}");
    assert_eq!(rows[0][1], Value::Bool(false), "PUBLIC may not connect: {rows:?}");
}

/// A table whose trigger names are longer than PostgreSQL's 63 bytes.
const LONG: &str = "project_contract_line_milestone_invoice_schedule_entries_x";

/// Something that changes whenever capture is (re)installed on the table.
async fn trigger_identity(store: &SqlStore) -> Value {
    let (sql, ty) = match store.pool().dialect() {
        dualsync::store::sql::conn::Dialect::Sqlite => ("PRAGMA schema_version", ValueType::Int),
        dualsync::store::sql::conn::Dialect::Postgres => (
            "SELECT string_agg(oid::text, ',') FROM pg_trigger WHERE NOT tgisinternal",
            ValueType::Text,
        ),
    };
    let rows = store.pool().fetch(sql, &[], &[ty]).await.unwrap();
    rows[0][0].clone()
}

both!(
    long_table_names_keep_their_capture_triggers,
    Side::Operational,
    |t: TestStore| async move {
        t.run_client(&format!("CREATE TABLE {LONG} (id TEXT PRIMARY KEY, note TEXT)"));
        let store = SqlStore::open(&t.url).await.unwrap();
        store.install_capture(&[LONG]).await.unwrap();
        let before = trigger_identity(&store).await;
        for _ in 0..2 {
            let again = SqlStore::open(&t.url).await.unwrap();
            again.install_capture(&[LONG]).await.unwrap();
        }
        assert_eq!(
            trigger_identity(&store).await,
            before,
            "installing again re-created the triggers"
        );
        // And they capture.
        t.run_client(&format!("INSERT INTO {LONG} (id, note) VALUES ('a', 'b')"));
        let changes = store.changes(LONG, &Position::default(), 100).await.unwrap().changes;
        assert!(changes.iter().any(|c| c.entity == LONG), "{changes:?}");
    }
);

/// The position of a SQL store's change log at (epoch, seq).
fn pos(epoch: i64, seq: i64) -> Position {
    dualsync::store::Cursor { epoch, seq }.into()
}
