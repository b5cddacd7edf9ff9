//! Leases with fencing tokens in the state store (issue 19, first step), on SQLite and on
//! PostgreSQL: one owner at a time per unit; the owner keeps its token while it renews; another
//! replica takes the unit over only once the lease has expired, with a higher token; the old
//! owner can then neither renew nor pass the fencing check; a released unit is taken at once.

mod common;

use std::time::Duration;

use dualsync::engine::state::StateStore;

async fn store(backend: &str) -> (StateStore, Option<tempfile::TempDir>) {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("state.db").display());
            (StateStore::open(&url).await.unwrap(), Some(dir))
        }
        _ => (
            StateStore::open(&common::fresh_pg_database("leases").await)
                .await
                .unwrap(),
            None,
        ),
    }
}

async fn leases_fence(backend: &str) {
    let (state, _dir) = store(backend).await;
    let (short, long) = (Duration::from_millis(300), Duration::from_secs(60));
    let mut a = state
        .acquire_lease("map:actuals", "replica-a", short)
        .await
        .unwrap()
        .expect("free unit");
    assert_eq!(a.token, 1);
    assert!(
        state
            .acquire_lease("map:actuals", "replica-b", long)
            .await
            .unwrap()
            .is_none(),
        "held by a"
    );
    // Renewing keeps the token; so does acquiring again as the same owner.
    assert!(state.renew_lease(&mut a, short).await.unwrap());
    assert_eq!(
        state
            .acquire_lease("map:actuals", "replica-a", short)
            .await
            .unwrap()
            .unwrap()
            .token,
        1
    );
    assert!(state.holds(&a).await.unwrap());
    // Another unit is independent.
    let other = state
        .acquire_lease("process:import", "replica-b", long)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.token, 1);
    // a stops renewing (paused past its lease): b takes over with a higher token.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let b = state
        .acquire_lease("map:actuals", "replica-b", long)
        .await
        .unwrap()
        .expect("expired");
    assert_eq!(b.token, 2);
    // a wakes up: its renewal and its fencing check fail; b holds.
    assert!(!state.renew_lease(&mut a, long).await.unwrap(), "a's lease is gone");
    assert!(!state.holds(&a).await.unwrap(), "a's writes are fenced");
    assert!(state.holds(&b).await.unwrap());
    assert!(
        state
            .acquire_lease("map:actuals", "replica-a", long)
            .await
            .unwrap()
            .is_none()
    );
    // b releases: a takes the unit at once, with a higher token still.
    state.release_lease(&b).await.unwrap();
    let a2 = state
        .acquire_lease("map:actuals", "replica-a", long)
        .await
        .unwrap()
        .expect("released");
    assert_eq!(a2.token, 3);
    assert!(!state.holds(&b).await.unwrap());
    let rows = state.list_leases().await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].unit.as_str(), rows[0].owner.as_str(), rows[0].token),
        ("map:actuals", "replica-a", 3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_fence_sqlite() {
    leases_fence("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_fence_postgres() {
    leases_fence("postgres").await;
}
