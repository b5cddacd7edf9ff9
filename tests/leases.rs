//! Leases with fencing tokens in the state store (issue 19, first step), on SQLite and on
//! PostgreSQL: one owner at a time per unit; the owner keeps its token while it renews; another
//! replica takes the unit over only once the lease has expired, with a higher token; the old
//! owner can then neither renew nor pass the fencing check; a released unit is taken at once.
//! Then the fence of a replica's state store: its commits of links, cursors and checkpoints are
//! refused (and leave nothing) once another replica holds the unit, even while its own clock
//! says the lease is still valid; and a scheduled process is claimed once per period.

mod common;

use std::time::Duration;

use dualsync::engine::state::{Checkpoint, FeedMark, Fence, Link, StateStore};
use dualsync::store::{ErrorKind, Position};

async fn store(backend: &str, name: &str) -> (StateStore, Option<tempfile::TempDir>) {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("state.db").display());
            (StateStore::open(&url).await.unwrap(), Some(dir))
        }
        _ => (
            StateStore::open(&common::fresh_pg_database(name).await).await.unwrap(),
            None,
        ),
    }
}

async fn leases_fence(backend: &str) {
    let (state, _dir) = store(backend, "leases").await;
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

fn link(map: &str, key: &str) -> Link {
    Link {
        map: map.into(),
        operational_key: key.into(),
        part: String::new(),
        accounting_key: key.into(),
        company: None,
        hash_to_accounting: Some("h".into()),
        hash_to_operational: None,
        agreed: None,
    }
}

async fn commits_are_fenced(backend: &str) {
    let (plain, _dir) = store(backend, "fenced_commits").await;
    let long = Duration::from_secs(60);
    // Replica a holds map:actuals and map:tasks (partitioned); its store carries the fence.
    let fence = Fence::new("replica-a", true);
    let state = plain.clone().with_fence(fence.clone());
    for unit in ["map:actuals", "map:tasks"] {
        let l = plain.acquire_lease(unit, "replica-a", long).await.unwrap().unwrap();
        fence.hold(unit, l.token, std::time::Instant::now() + long);
    }
    let position = Position::new("7".to_string());
    let mark = FeedMark {
        map: "actuals",
        side: "operational",
        entity: "msdyn_actuals",
        position: &position,
    };
    state
        .commit_batch(&[link("actuals", "[\"1\"]")], &[], Some(&mark))
        .await
        .expect("a holds the unit");
    state
        .save_checkpoint(&Checkpoint::start("tasks", "operational", None, None))
        .await
        .expect("a holds tasks");
    // A unit a does not hold is refused without a look at the database.
    let e = state
        .set_cursor("projects", "operational", "msdyn_projects", &position)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Fenced, "{e}");
    // b takes actuals over (a's lease released, as after a pause past it); a's clock still
    // says its lease is valid, but the token in the database decides.
    let old = plain
        .list_leases()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.unit == "map:actuals")
        .unwrap();
    plain
        .release_lease(&dualsync::engine::state::Lease {
            unit: old.unit.clone(),
            owner: old.owner.clone(),
            token: old.token,
            expires_at: old.expires_at,
        })
        .await
        .unwrap();
    let b = plain
        .acquire_lease("map:actuals", "replica-b", long)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.token, old.token + 1);
    assert!(fence.owns("map:actuals"), "a's own clock knows nothing yet");
    let moved = Position::new("9".to_string());
    let e = state
        .commit_batch(
            &[link("actuals", "[\"2\"]")],
            &[],
            Some(&FeedMark {
                position: &moved,
                ..mark
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Fenced, "{e}");
    assert!(e.to_string().contains("map:actuals"), "{e}");
    // Nothing of the refused commit was stored, and a forgot the unit.
    assert_eq!(plain.count_links("actuals").await.unwrap(), 1);
    assert_eq!(
        plain
            .get_cursor("actuals", "operational", "msdyn_actuals")
            .await
            .unwrap(),
        Some(position.clone())
    );
    assert!(!fence.owns("map:actuals"));
    assert_eq!(
        state
            .upsert_links(&[link("actuals", "[\"3\"]")])
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Fenced
    );
    // tasks is still a's.
    state
        .save_checkpoint(&Checkpoint::start("tasks", "accounting", None, None))
        .await
        .unwrap();

    // A scheduled process runs once per period, on the holder of its unit.
    let every = Duration::from_millis(600);
    let l = plain
        .acquire_lease("process:import", "replica-a", long)
        .await
        .unwrap()
        .unwrap();
    fence.hold("process:import", l.token, std::time::Instant::now() + long);
    assert!(state.claim_run("import", every).await.unwrap(), "the first run");
    assert!(!state.claim_run("import", every).await.unwrap(), "the same period");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(state.claim_run("import", every).await.unwrap(), "the next period");
    let e = state.claim_run("forecasts", every).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Fenced, "a does not hold process:forecasts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_are_fenced_sqlite() {
    commits_are_fenced("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_are_fenced_postgres() {
    commits_are_fenced("postgres").await;
}
