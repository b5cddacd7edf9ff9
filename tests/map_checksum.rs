//! Which map edits make the engine sync a map's records again, on SQLite and on PostgreSQL,
//! through the daemon's own adoption of edited maps (`daemon::reload::adopt`) over seeded
//! stores and a real state store: an edit of only the title, descriptions or version keeps the
//! initial-sync checkpoint (no record is read again); an edit of a field clears it (every
//! record is read again). A state store written by a release with the old checksum formula
//! does not cause a sync again for an unedited map, but does for an edited one.

mod common;

use common::engine::{Setup, setup};

use dualsync::daemon::reload::adopt;
use dualsync::engine::Engine;
use dualsync::tablemap::{self, TableMap};

const MAP: &str = "resource-roles";

fn edited(maps: &[TableMap], edit: impl FnOnce(&mut TableMap)) -> Vec<TableMap> {
    let mut maps = maps.to_vec();
    edit(maps.iter_mut().find(|m| m.name == MAP).unwrap());
    maps
}

/// Runs the map's initial sync and returns how many records it read in this call (0 when the
/// checkpoint says it is done, as nothing is read then).
async fn sync_reads(engine: &Engine) -> u64 {
    let before = engine.state.get_checkpoint(MAP).await.unwrap();
    let counts = engine.initial_sync(MAP, &mut |_| {}).await.unwrap();
    match before {
        Some(c) if c.status == dualsync::engine::state::CheckpointStatus::Done => {
            assert_eq!(
                counts, c.counts,
                "a done initial sync returns its counts, reading nothing"
            );
            0
        }
        _ => counts.read,
    }
}

/// FNV-1a 64 of the whole map's JSON: the checksum releases before `v2` stored.
fn old_formula(map: &TableMap) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in serde_json::to_string(map).unwrap().bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

async fn edits(backend: &str) {
    let mut maps = Vec::new();
    let Setup {
        op,
        acct,
        _state_dir,
        mut engine,
        ..
    } = setup(backend, "map_checksum", |m| maps = m.clone()).await;
    let _keep = (op.keep_alive(), acct.keep_alive());

    let first = adopt(&mut engine, &tablemap::check_maps(&maps).unwrap()).await.unwrap();
    assert!(first.contains(&MAP.to_string()), "a new map is reported: {first:?}");
    let read = sync_reads(&engine).await;
    assert!(read > 0, "the first initial sync reads the roles");
    let done = engine.state.get_checkpoint(MAP).await.unwrap().unwrap();

    // Title, descriptions and version only: the checkpoint stays, nothing is read again.
    let cosmetic = edited(&maps, |m| {
        m.title = Some("Resource roles (renamed)".into());
        m.description = Some("Edited words only.".into());
        m.version = Some("1.0.1".into());
        m.fields[0].description = Some("A new note on the key.".into());
    });
    let changed = adopt(&mut engine, &tablemap::check_maps(&cosmetic).unwrap())
        .await
        .unwrap();
    assert!(changed.is_empty(), "a cosmetic edit changes no map: {changed:?}");
    assert_eq!(engine.state.get_checkpoint(MAP).await.unwrap().as_ref(), Some(&done));
    assert_eq!(sync_reads(&engine).await, 0, "no record is read again");
    assert_eq!(
        engine.map(MAP).unwrap().title.as_deref(),
        Some("Resource roles (renamed)"),
        "the new title is in use"
    );

    // A field edit: the checkpoint is cleared and every record is read again.
    let field_edit = edited(&cosmetic, |m| {
        m.fields.retain(|f| f.operational.as_deref() != Some("description"));
    });
    let changed = adopt(&mut engine, &tablemap::check_maps(&field_edit).unwrap())
        .await
        .unwrap();
    assert_eq!(changed, vec![MAP.to_string()]);
    assert_eq!(engine.state.get_checkpoint(MAP).await.unwrap(), None);
    assert_eq!(sync_reads(&engine).await, read, "every record is read again");

    // A state store from before this release holds the old formula. Unedited since: no sync
    // again, and the stored checksum is brought to today's format.
    let done = engine.state.get_checkpoint(MAP).await.unwrap().unwrap();
    let current = field_edit.iter().find(|m| m.name == MAP).unwrap();
    engine
        .state
        .set_map_checksum(MAP, &old_formula(current), None)
        .await
        .unwrap();
    let changed = adopt(&mut engine, &tablemap::check_maps(&field_edit).unwrap())
        .await
        .unwrap();
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(engine.state.get_checkpoint(MAP).await.unwrap().as_ref(), Some(&done));
    let stored = engine
        .state
        .get_map_state(MAP)
        .await
        .unwrap()
        .unwrap()
        .checksum
        .unwrap();
    assert_eq!(stored, engine.map(MAP).unwrap().checksum);
    assert!(stored.starts_with("v2:"), "{stored}");

    // Old formula, but the map was edited since (here: only its title, which the old formula
    // counted; the old checksum cannot tell): synced again, to be safe.
    let older = edited(&field_edit, |m| m.title = Some("Older title".into()));
    let older_map = older.iter().find(|m| m.name == MAP).unwrap();
    engine
        .state
        .set_map_checksum(MAP, &old_formula(older_map), None)
        .await
        .unwrap();
    let changed = adopt(&mut engine, &tablemap::check_maps(&field_edit).unwrap())
        .await
        .unwrap();
    assert_eq!(changed, vec![MAP.to_string()]);
    assert_eq!(engine.state.get_checkpoint(MAP).await.unwrap(), None);

    // Whether deletes flow is a real edit too.
    sync_reads(&engine).await;
    let no_deletes = edited(&field_edit, |m| m.deletes = false);
    let changed = adopt(&mut engine, &tablemap::check_maps(&no_deletes).unwrap())
        .await
        .unwrap();
    assert_eq!(changed, vec![MAP.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosmetic_edits_keep_the_sync_and_real_edits_redo_it_sqlite() {
    edits("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosmetic_edits_keep_the_sync_and_real_edits_redo_it_postgres() {
    edits("postgres").await;
}
