//! Change logs are pruned (issue 11, item 13): the entries every map's cursor on a side has
//! passed are deleted in bounded batches, the entries still to read stay exactly as they were,
//! and nothing is pruned while no map has a cursor there.

mod common;

use common::TestStore;
use dualsync::daemon::prune::prune_side;
use dualsync::engine::state::StateStore;
use dualsync::store::sql::SqlStore;
use dualsync::store::sql::capture::prune::log_size;
use dualsync::store::{Change, Position, Store};
use dualsync::tablemap::model::Side;

both!(
    passed_entries_are_pruned_and_unread_ones_kept,
    Side::Operational,
    |t: TestStore| async move {
        t.run_client("CREATE TABLE prune_items (id TEXT PRIMARY KEY, note TEXT)");
        let store = SqlStore::open(&t.url).await.unwrap();
        store.install_capture(&["prune_items"]).await.unwrap();
        let values: Vec<String> = (0..50).map(|i| format!("('k{i:02}', 'n')")).collect();
        t.run_client(&format!(
            "INSERT INTO prune_items (id, note) VALUES {}",
            values.join(", ")
        ));
        let read = |from: Position| {
            let store = &store;
            async move { store.changes("prune_items", &from, 1000).await.unwrap().changes }
        };
        let feed = read(Position::default()).await;
        assert_eq!(feed.len(), 50);
        let at = |c: &Change| c.position.clone().expect("a SQL store gives each entry a position");

        // The state store beside it (same backend, its own database).
        let state_url = match t.backend {
            "sqlite" => format!(
                "sqlite://{}",
                t.url.trim_start_matches("sqlite://").replace("store.db", "state.db")
            ),
            _ => common::fresh_pg_database("ops_prune_state").await,
        };
        let state = StateStore::open(&state_url).await.unwrap();
        assert_eq!(
            prune_side(&state, Side::Operational, &store, 7).await.unwrap(),
            0,
            "no map has a cursor: nothing may go"
        );

        let e = "prune_items";
        state.set_cursor("a", "operational", e, &at(&feed[19])).await.unwrap();
        state.set_cursor("b", "operational", e, &at(&feed[39])).await.unwrap();
        // Another side's cursor says nothing about this log.
        state
            .set_cursor("a", "accounting", "other", &Position::new("0:1"))
            .await
            .unwrap();
        let deleted = prune_side(&state, Side::Operational, &store, 7).await.unwrap();
        assert_eq!(deleted, 19, "the entries before the lowest cursor, 7 at a time");
        assert_eq!(log_size(store.pool()).await.unwrap(), 31);

        // What is left to read is what was there.
        let after_a = read(at(&feed[19])).await;
        assert_eq!(after_a, feed[20..].to_vec());
        let all = read(Position::default()).await;
        assert_eq!(all, feed[19..].to_vec(), "the entry at the lowest cursor stays");
        assert_eq!(store.head(e).await.unwrap(), at(&feed[49]), "the head does not move");

        // Again: nothing more to prune until the cursors move.
        assert_eq!(prune_side(&state, Side::Operational, &store, 7).await.unwrap(), 0);
        state.set_cursor("a", "operational", e, &at(&feed[49])).await.unwrap();
        assert_eq!(prune_side(&state, Side::Operational, &store, 7).await.unwrap(), 20);
        assert_eq!(read(Position::default()).await, feed[39..].to_vec());
    }
);

/// A measurement, not a check (run with `--ignored --nocapture`): the latency of single-row
/// writes to a captured table (what live sync does to a store) without and with pruning of a
/// 200,000-entry change log running at the same time, and how long pruning took.
async fn measure_pruning_cost(t: TestStore) {
    use dualsync::store::sql::conn::{Arg, Dialect};
    use dualsync::value::{Value, ValueType};
    use std::time::{Duration, Instant};

    const ENTRIES: usize = 200_000;
    const WRITES: usize = 1_000;
    t.run_client("CREATE TABLE prune_items (id TEXT PRIMARY KEY, note TEXT)");
    let store = SqlStore::open(&t.url).await.unwrap();
    store.install_capture(&["prune_items"]).await.unwrap();
    t.run_client(&match store.pool().dialect() {
        Dialect::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {ENTRIES}) \
             INSERT INTO prune_items SELECT 'k' || x, 'n' FROM c"
        ),
        Dialect::Postgres => {
            format!("INSERT INTO prune_items SELECT 'k' || x, 'n' FROM generate_series(1, {ENTRIES}) x")
        }
    });
    let writes = |label: &'static str| {
        let pool = store.pool().clone();
        async move {
            let mut lat = Vec::with_capacity(WRITES);
            for i in 0..WRITES {
                let started = Instant::now();
                let text = |s: String| Arg {
                    value: Value::Text(s),
                    ty: ValueType::Text,
                };
                let sql = pool
                    .dialect()
                    .sql("UPDATE prune_items SET note = ? WHERE id = ?")
                    .into_owned();
                pool.execute(&sql, &[text(format!("{label}{i}")), text(format!("k{}", i * 7 + 1))])
                    .await
                    .unwrap();
                lat.push(started.elapsed());
            }
            lat.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let total: Duration = lat.iter().sum();
            format!(
                "{label}: {WRITES} writes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.0} writes/s",
                ms(lat[WRITES / 2]),
                ms(lat[WRITES * 99 / 100]),
                ms(lat[WRITES - 1]),
                WRITES as f64 / total.as_secs_f64()
            )
        }
    };
    let alone = writes("without pruning").await;
    let head = dualsync::store::sql::capture::head(store.pool()).await.unwrap();
    let pool = store.pool().clone();
    let pruning = tokio::spawn(async move {
        let started = Instant::now();
        let n = dualsync::store::sql::capture::prune::prune(
            &pool,
            head,
            dualsync::daemon::prune::BATCH,
            dualsync::daemon::prune::PAUSE,
        )
        .await
        .unwrap();
        (n, started.elapsed())
    });
    let during = writes("while pruning").await;
    let (n, took) = pruning.await.unwrap();
    eprintln!(
        "{}: {alone}\n{}: {during}\n{}: pruned {n} entries in {:.2} s ({} per batch)",
        t.backend,
        t.backend,
        t.backend,
        took.as_secs_f64(),
        dualsync::daemon::prune::BATCH
    );
}

mod measure {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a measurement; run with --ignored --nocapture"]
    async fn pruning_cost_on_sqlite() {
        let t = TestStore::new("sqlite", "ops_prune_measure", Side::Operational).await;
        let _dir = t.keep_alive();
        measure_pruning_cost(t).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a measurement; run with --ignored --nocapture"]
    async fn pruning_cost_on_postgres() {
        let t = TestStore::new("postgres", "ops_prune_measure", Side::Operational).await;
        measure_pruning_cost(t).await;
    }
}
