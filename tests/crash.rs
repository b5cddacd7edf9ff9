//! Crash safety of the initial sync, on SQLite and on PostgreSQL: `dualsync initial-sync` is
//! killed with SIGKILL at random points (at least 10 kills that land mid-sync, spread over the
//! whole copy) and restarted each time; a last run completes it. Then the accounting side must
//! hold exactly what the maps send: a content checksum of every field `actuals` and
//! `hour-estimates` send equals the one computed from the operational records (no record lost,
//! none twice, no value changed), every accounting table holds the count the demo data
//! predicts, there is one link per synced actual, and no record error or parked record is left.
//!
//! The kill points come from a seed printed by the test (`DUALSYNC_FAULT_SEED` repeats it);
//! `DUALSYNC_FAULT_SCALE` sets the number of demo actuals (default 4000). See docs/faults.md.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::engine::count;
use common::faults::{
    Rng, actual_checksum, difference, digest, expected_checksum, fault_scale, fault_seed, shipped_map,
};
use common::{DaemonStores, KillOnDrop};
use dualsync::demo::{self, SeedOptions, load};
use dualsync::engine::state::{CheckpointStatus, StateStore};
use dualsync::store::sql::init::init;
use dualsync::tablemap::model::Side;

/// Demo actuals at CI scale.
const CI_SCALE: u64 = 4000;
/// Kills that must land while the initial sync is under way (of `KILLS + 2` tried).
const KILLS: usize = 10;

/// How far the initial sync got: links of every map, and how many maps finished their copy.
async fn progress(state: &StateStore, maps: &[String]) -> (u64, usize) {
    let (mut links, mut done) = (0, 0);
    for map in maps {
        links += state.count_links(map).await.unwrap_or(0);
        if matches!(state.get_checkpoint(map).await, Ok(Some(c)) if c.status == CheckpointStatus::Done) {
            done += 1;
        }
    }
    (links, done)
}

async fn initial_sync_survives_sigkill(backend: &str) {
    let started = Instant::now();
    let seed = fault_seed(&format!("initial_sync_survives_sigkill_{backend}"));
    let mut rng = Rng(seed);
    let opts = SeedOptions {
        actuals: fault_scale(CI_SCALE),
        seed: 11,
    };
    println!("{backend}: {} demo actuals", opts.actuals);
    let stores = DaemonStores::new(backend, "crash").await;
    let op = init(&stores.operational, Side::Operational).await.unwrap();
    let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
    load::seed(&op, Side::Operational, &opts).await.unwrap();
    load::seed(&acct, Side::Accounting, &opts).await.unwrap();
    // Batches of 100: every map's copy takes several batches, so kills land inside maps.
    let config = stores.write_config(false, "[sync]\nbatch_size = 100\n");
    let state = StateStore::open(&stores.state).await.unwrap();
    let loaded =
        dualsync::tablemap::load(&[std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")]).unwrap();
    let names: Vec<String> = loaded.maps().map(|m| m.name.clone()).collect();
    let summary = demo::summary(&opts);
    // About one link per accounting record the maps write.
    let total: u64 = summary.expected_after_initial_sync.iter().map(|(_, n)| n).sum();
    let spawn = || {
        KillOnDrop(
            Command::new(env!("CARGO_BIN_EXE_dualsync"))
                .args(["initial-sync", "--config", config.to_str().unwrap()])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start dualsync initial-sync"),
        )
    };

    // Kill points: a random share of the links (up to 85%), reached by this run's own copying (a
    // kill never lands before the run copied something), then a random share of one batch's
    // time (as measured between two commits of this run), so a kill lands anywhere in a batch
    // (reading, writing, committing) however fast the build and the store are.
    let mut points: Vec<(u64, u64)> = (0..KILLS + 2)
        .map(|_| (rng.range(0, total * 85 / 100), rng.range(0, 1000)))
        .collect();
    points.sort();
    let mut mid_sync = Vec::new();
    for (target, permille) in points {
        let (before, _) = progress(&state, &names).await;
        let goal = target.max(before + 1);
        let mut child = spawn();
        let (mut seen, mut changed, mut batch) = (before, None::<Instant>, Duration::from_millis(50));
        let exited = loop {
            if child.try_wait().unwrap().is_some() {
                break true;
            }
            let (links, _) = progress(&state, &names).await;
            if links > seen {
                if let Some(at) = changed {
                    batch = at.elapsed();
                }
                (seen, changed) = (links, Some(Instant::now()));
            }
            if links >= goal {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let delay = batch * permille as u32 / 1000;
        if !exited {
            tokio::time::sleep(delay).await;
        }
        // std's kill is SIGKILL on Unix.
        let killed = child.try_wait().unwrap().is_none() && child.kill().is_ok();
        let status = child.wait().unwrap();
        let (links, done) = progress(&state, &names).await;
        if !killed {
            assert!(status.success(), "seed {seed}: initial-sync failed by itself: {status}");
        }
        if !killed || done == names.len() {
            // The copy finished before this kill point: no later kill can land mid-sync.
            println!("the copy finished before kill point {target} (+ {permille}/1000 of a batch)");
            break;
        }
        mid_sync.push(format!(
            "{links} links, {done} maps done (point {target}, reached at {goal}, + {} ms)",
            delay.as_millis()
        ));
    }
    println!(
        "seed {seed}: {} kills mid-sync:\n  {}",
        mid_sync.len(),
        mid_sync.join("\n  ")
    );
    assert!(
        mid_sync.len() >= KILLS,
        "seed {seed}: only {} of the kills landed mid-sync (the copy finished too soon)",
        mid_sync.len()
    );

    let out = Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args(["initial-sync", "--config", config.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the last initial-sync: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (links, done) = progress(&state, &names).await;
    assert_eq!(done, names.len(), "every map finished its initial sync");

    // Target = source: content of the maps the checksum covers, counts of every table.
    for name in ["actuals", "hour-estimates"] {
        let map = shipped_map(name);
        let expected = expected_checksum(&map, &op).await;
        let actual = actual_checksum(&map, &acct).await;
        assert!(
            expected == actual,
            "seed {seed}: {name} after {} SIGKILLs: {}",
            mid_sync.len(),
            difference(&expected, &actual)
        );
        assert_eq!(
            state.count_links(name).await.unwrap(),
            expected.len() as u64,
            "{name}: one link per synced record"
        );
        println!("{name}: {}", digest(&actual));
    }
    for (entity, expected) in &summary.expected_after_initial_sync {
        assert_eq!(
            count(&acct, entity).await,
            *expected,
            "seed {seed}: {entity} after {} SIGKILLs and a restart",
            mid_sync.len()
        );
    }
    for name in &names {
        assert_eq!(state.count_parked(name).await.unwrap(), 0, "{name}: parked records");
    }
    assert_eq!(state.count_open_dead_letters(None).await.unwrap(), 0, "record errors");
    println!(
        "{backend}: {links} links (estimate {total}); {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_survives_sigkill_on_sqlite() {
    initial_sync_survives_sigkill("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_survives_sigkill_on_postgres() {
    initial_sync_survives_sigkill("postgres").await;
}
