//! Change logs are pruned (issue 11, item 13): the entries every map's cursor on a side has
//! passed are deleted in bounded batches, the entries still to read stay exactly as they were,
//! and nothing is pruned while no map has a cursor there.

mod common;

use common::TestStore;
use dualsync::daemon::prune::prune_side;
use dualsync::engine::state::StateStore;
use dualsync::store::sql::SqlStore;
use dualsync::store::sql::capture::prune::log_size;
use dualsync::store::{Cursor, Store};
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
        let feed = store.changes(Cursor::default(), 1000).await.unwrap();
        assert_eq!(feed.len(), 50);

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

        state.set_cursor("a", "operational", feed[19].cursor).await.unwrap();
        state.set_cursor("b", "operational", feed[39].cursor).await.unwrap();
        // Another side's cursor says nothing about this log.
        state
            .set_cursor("a", "accounting", Cursor { epoch: 0, seq: 1 })
            .await
            .unwrap();
        let deleted = prune_side(&state, Side::Operational, &store, 7).await.unwrap();
        assert_eq!(deleted, 19, "the entries before the lowest cursor, 7 at a time");
        assert_eq!(log_size(store.pool()).await.unwrap(), 31);

        // What is left to read is what was there.
        let after_a = store.changes(feed[19].cursor, 1000).await.unwrap();
        assert_eq!(after_a, feed[20..].to_vec());
        let all = store.changes(Cursor::default(), 1000).await.unwrap();
        assert_eq!(all, feed[19..].to_vec(), "the entry at the lowest cursor stays");
        assert_eq!(store.head().await.unwrap(), feed[49].cursor, "the head does not move");

        // Again: nothing more to prune until the cursors move.
        assert_eq!(prune_side(&state, Side::Operational, &store, 7).await.unwrap(), 0);
        state.set_cursor("a", "operational", feed[49].cursor).await.unwrap();
        assert_eq!(prune_side(&state, Side::Operational, &store, 7).await.unwrap(), 20);
        assert_eq!(
            store.changes(Cursor::default(), 1000).await.unwrap(),
            feed[39..].to_vec()
        );
    }
);
