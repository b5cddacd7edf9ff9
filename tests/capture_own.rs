//! Change capture and the sync engine's own writes, on SQLite and PostgreSQL: writes through
//! `apply_own` stay out of the change feed, every other program's writes (before, after and
//! between them, and after a batch that fell back to row-by-row writing) are captured;
//! triggers of an older capture version are replaced, never doubled; records that exist are
//! updated many to a statement, whatever the spelling of their GUID key.

mod common;

use common::TestStore;
use dualsync::store::{ChangeOp, EntityDesc, Position, RowOutcome, Store, WriteOp};
use dualsync::tablemap::model::Side;
use dualsync::value::Value;
use uuid::Uuid;

fn guid(n: u128) -> Value {
    Value::Guid(Uuid::from_u128(n))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

async fn actuals(t: &TestStore) -> EntityDesc {
    let full = t.store.describe("msdyn_actuals").await.unwrap();
    full.project(&[
        "msdyn_company",
        "msdyn_transactionclassification",
        "msdyn_transactiontypecode",
        "msdyn_description",
    ])
    .unwrap()
}

fn actual(n: u128, description: &str) -> WriteOp {
    WriteOp::Upsert(vec![
        guid(n),
        text("USPM"),
        Value::Int(192350000),
        Value::Int(192350000),
        text(description),
    ])
}

/// The feed's entries after `from`, as (operation, key).
async fn feed(t: &TestStore, from: &Position) -> Vec<(ChangeOp, Value)> {
    let batch = t.store.changes("msdyn_actuals", from, 1000).await.unwrap();
    batch.changes.iter().map(|c| (c.op, c.key[0].clone())).collect()
}

both!(
    own_writes_stay_out_of_the_feed_and_others_are_captured,
    Side::Operational,
    |t: TestStore| async move {
        t.store.install_capture(&["msdyn_actuals"]).await.unwrap();
        let desc = actuals(&t).await;
        let from = t.store.head("msdyn_actuals").await.unwrap();
        let own = |ops: Vec<WriteOp>| {
            let (store, desc) = (&t.store, &desc);
            async move { store.apply_own(desc, &ops).await.unwrap() }
        };
        own(vec![actual(1, "a"), actual(2, "b")]).await;
        own(vec![actual(1, "a2"), actual(2, "b2")]).await;
        own(vec![WriteOp::Delete(vec![guid(2)])]).await;
        assert_eq!(
            feed(&t, &from).await,
            vec![],
            "the engine's own writes are not read back"
        );

        // A write through `apply` (another writer of this process) and one by another program.
        t.store.apply(&desc, &[actual(3, "c")]).await.unwrap();
        t.run_client(&format!(
            "UPDATE msdyn_actuals SET msdyn_description = 'edited' WHERE msdyn_actualid = '{}'",
            Uuid::from_u128(1)
        ));
        assert_eq!(
            feed(&t, &from).await,
            vec![(ChangeOp::Insert, guid(3)), (ChangeOp::Update, guid(1))]
        );

        // A batch with a row the database refuses is written row by row, still as own writes;
        // the good rows land, and nothing of the mark is left for the next writer.
        let mid = t.store.head("msdyn_actuals").await.unwrap();
        let bad = WriteOp::Upsert(vec![guid(5), Value::Null, Value::Int(1), Value::Int(1), text("x")]);
        let out = own(vec![actual(4, "d"), bad, actual(1, "a3")]).await;
        assert_eq!(out[0], RowOutcome::Written);
        assert!(matches!(out[1], RowOutcome::Rejected { .. }), "{:?}", out[1]);
        assert_eq!(out[2], RowOutcome::Written);
        assert_eq!(feed(&t, &mid).await, vec![]);
        let rows = t.store.scan(&desc, None, 10).await.unwrap();
        let described: Vec<(Value, Value)> = rows.iter().map(|r| (r[0].clone(), r[4].clone())).collect();
        assert_eq!(
            described,
            vec![(guid(1), text("a3")), (guid(3), text("c")), (guid(4), text("d"))]
        );
        t.run_client(&format!(
            "DELETE FROM msdyn_actuals WHERE msdyn_actualid = '{}'",
            Uuid::from_u128(4)
        ));
        assert_eq!(feed(&t, &mid).await, vec![(ChangeOp::Delete, guid(4))]);
    }
);

both!(
    triggers_of_an_older_capture_version_are_replaced,
    Side::Operational,
    |t: TestStore| async move {
        t.store.install_capture(&["msdyn_actuals"]).await.unwrap();
        // What version 1 left: an unconditional trigger under its own name, and its version.
        let old_trigger = match t.backend {
            "sqlite" => "CREATE TRIGGER \"_dualsync_v1_msdyn_actuals_ins\" AFTER INSERT ON msdyn_actuals BEGIN \
                 INSERT INTO _dualsync_changes (entity, op, key) VALUES ('msdyn_actuals', 'I', json_array(NEW.msdyn_actualid)); END;"
                .to_string(),
            _ => "CREATE TRIGGER \"_dualsync_v1_msdyn_actuals_cdc\" AFTER INSERT OR UPDATE OR DELETE ON msdyn_actuals \
                 FOR EACH ROW EXECUTE FUNCTION _dualsync_capture('msdyn_actualid');"
                .to_string(),
        };
        t.run_client(&format!(
            "{old_trigger} UPDATE _dualsync_meta SET value = '1' WHERE name = 'capture_version';"
        ));
        t.store.install_capture(&["msdyn_actuals"]).await.unwrap();
        let desc = actuals(&t).await;
        let from = t.store.head("msdyn_actuals").await.unwrap();
        t.store.apply(&desc, &[actual(1, "a")]).await.unwrap();
        t.store.apply_own(&desc, &[actual(2, "b")]).await.unwrap();
        assert_eq!(
            feed(&t, &from).await,
            vec![(ChangeOp::Insert, guid(1))],
            "one entry per change, none for own writes: the old trigger is gone"
        );
    }
);

both!(
    existing_records_are_updated_whatever_the_spelling_of_their_key,
    Side::Operational,
    |t: TestStore| async move {
        t.store.install_capture(&["msdyn_actuals"]).await.unwrap();
        let desc = actuals(&t).await;
        // Written by another program with an upper-case GUID (SQLite keeps it as text).
        t.run_client(&format!(
            "INSERT INTO msdyn_actuals (msdyn_actualid, msdyn_company, msdyn_transactionclassification, \
             msdyn_transactiontypecode, msdyn_description) VALUES ('{}', 'USPM', 192350000, 192350000, 'old')",
            Uuid::from_u128(7).hyphenated().to_string().to_uppercase()
        ));
        let ops: Vec<WriteOp> = (1..=9).map(|n| actual(n, &format!("new {n}"))).collect();
        t.store.apply_own(&desc, &ops[..3]).await.unwrap();
        // Six existing (1-3 and 7) and new ones in one batch.
        let out = t.store.apply_own(&desc, &ops).await.unwrap();
        assert!(out.iter().all(|o| *o == RowOutcome::Written), "{out:?}");
        let rows = t.store.scan(&desc, None, 100).await.unwrap();
        assert_eq!(rows.len(), 9, "no record twice: {rows:?}");
        for (n, row) in (1..=9).zip(&rows) {
            assert_eq!((&row[0], &row[4]), (&guid(n), &text(&format!("new {n}"))));
        }
    }
);
