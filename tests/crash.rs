//! Crash safety: `dualsync initial-sync` killed with SIGKILL at several points, restarted each
//! time, ends with every accounting table holding exactly what the demo data predicts — no
//! record lost, none twice (keys are unique, and the counts equal the prediction).

use std::process::{Command, Stdio};
use std::time::Duration;

use dualsync::store::Store;
use dualsync::store::seed::{self, SeedOptions};
use dualsync::store::sql::SqlStore;

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

async fn count(store: &dyn Store, entity: &str) -> u64 {
    let desc = store.describe(entity).await.unwrap().project(&[]).unwrap();
    let (mut n, mut after) = (0, None);
    loop {
        let page = store.scan(&desc, after.as_ref(), 5000).await.unwrap();
        let Some(last) = page.last() else { return n };
        after = Some(desc.key_of(last));
        n += page.len() as u64;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_dualsync");
    let maps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let run = |args: &[&str]| {
        let out = Command::new(bin)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let actuals = 4000;
    for (side, db) in [("operational", "op.db"), ("accounting", "acct.db")] {
        run(&["store", "init", "--side", side, "--url", &url(db)]);
        run(&[
            "store",
            "seed",
            "--url",
            &url(db),
            "--scale",
            &actuals.to_string(),
            "--seed",
            "11",
        ]);
    }
    let config = dir.path().join("dualsync.toml");
    std::fs::write(
        &config,
        format!(
            "maps = \"{}\"\ncompanies = [\"USPM\", \"DEMF\"]\n[operational]\nurl = \"{}\"\n[accounting]\nurl = \"{}\"\n\
             [state]\nurl = \"{}\"\n[sync]\nbatch_size = 100\n",
            maps.display(),
            url("op.db"),
            url("acct.db"),
            url("state.db")
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    // Kill points spread over the run (batches of 100 make each kill land mid-map).
    let mut killed = 0;
    for delay_ms in [250u64, 300, 350, 400, 450, 500, 550, 600, 650, 700] {
        let mut child = Command::new(bin)
            .args(["initial-sync", "--config", cfg])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            unsafe { libc_kill(child.id() as i32, 9) };
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(killed >= 8, "only {killed} runs were killed mid-sync");
    run(&["initial-sync", "--config", cfg]);

    let acct = SqlStore::open(&url("acct.db")).await.unwrap();
    let summary = seed::summary(&SeedOptions { actuals, seed: 11 });
    for (entity, expected) in &summary.expected_after_initial_sync {
        assert_eq!(
            count(&acct, entity).await,
            *expected,
            "{entity} after ten SIGKILLs and a restart"
        );
    }
}
