//! Map files edited while `dualsync run` runs, on SQLite and on PostgreSQL: an invalid edit is rejected with the
//! validator's message naming the file and line, and the previous map keeps syncing; a valid
//! edit (a new skip rule) takes effect without a restart, and so does a new field on columns
//! added to both stores while it runs; SIGHUP reloads at once; SIGTERM
//! still ends the daemon with exit code 0.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dualsync::store::sql::SqlStore;
use dualsync::store::{Store, WriteOp};
use dualsync::value::Value;
use rust_decimal::Decimal;

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

const SIGHUP: i32 = 1;
const SIGTERM: i32 = 15;

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The log lines the daemon wrote so far, and how many mention `text`.
fn mentions(log: &Mutex<Vec<String>>, text: &str) -> usize {
    log.lock().unwrap().iter().filter(|l| l.contains(text)).count()
}

/// Sets the hours of the `n`th resource assignment and returns its id.
async fn set_hours(op: &SqlStore, n: usize, hours: i64) -> Value {
    let desc = op.describe("msdyn_resourceassignments").await.unwrap();
    let row = op.scan(&desc, None, n + 1).await.unwrap().remove(n);
    let id = row[desc.index_of("msdyn_resourceassignmentid").unwrap()].clone();
    let d = desc.project(&["msdyn_hours"]).unwrap();
    op.apply(
        &d,
        &[WriteOp::Upsert(vec![id.clone(), Value::Decimal(Decimal::from(hours))])],
    )
    .await
    .unwrap();
    id
}

/// The staging row's hours of a resource assignment.
async fn staged_hours(acct: &SqlStore, id: &Value) -> Option<Decimal> {
    match staged(acct, id, "Hours").await? {
        Value::Decimal(h) => Some(h.normalize()),
        _ => None,
    }
}

/// One column of a resource assignment's staging row.
async fn staged(acct: &SqlStore, id: &Value, column: &str) -> Option<Value> {
    let desc = acct.describe("ProjCDSEstimateHoursImport").await.unwrap();
    let desc = desc.project(&["ResourceAssignmentId", column]).unwrap();
    let (ic, vc) = (desc.index_of("ResourceAssignmentId")?, desc.index_of(column)?);
    let mut after = None;
    loop {
        let page = acct.scan(&desc, after.as_ref(), 1000).await.unwrap();
        let last = page.last()?;
        if let Some(r) = page.iter().find(|r| &r[ic] == id) {
            return Some(r[vc].clone());
        }
        after = Some(desc.key_of(last));
    }
}

async fn map_edits(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_dualsync");
    let maps = dir.path().join("maps");
    std::fs::create_dir(&maps).unwrap();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, maps.join(p.file_name().unwrap())).unwrap();
    }
    let mut urls = Vec::new();
    for name in ["op", "acct", "state"] {
        urls.push(match backend {
            "sqlite" => format!("sqlite://{}", dir.path().join(format!("{name}.db")).display()),
            _ => common::fresh_pg_database(&format!("reload_{name}")).await,
        });
    }
    let [op_url, acct_url, state_url] = <[String; 3]>::try_from(urls).unwrap();
    for (side, u) in [("operational", &op_url), ("accounting", &acct_url)] {
        for args in [
            vec!["store", "init", "--side", side, "--url", u],
            vec!["store", "seed", "--url", u, "--scale", "200", "--seed", "5"],
        ] {
            let out = Command::new(bin).args(&args).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let config = dir.path().join("dualsync.toml");
    std::fs::write(
        &config,
        format!(
            "maps = \"{}\"\ncompanies = [\"USPM\", \"DEMF\"]\n[operational]\nurl = \"{}\"\n[accounting]\nurl = \"{}\"\n\
             [state]\nurl = \"{}\"\n[log]\nformat = \"json\"\n",
            maps.display(),
            op_url,
            acct_url,
            state_url
        ),
    )
    .unwrap();
    let mut daemon = common::KillOnDrop(
        Command::new(bin)
            .args(["run", "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let log = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let log = log.clone();
        let stderr = daemon.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.lock().unwrap().push(line);
            }
        })
    };
    let status = || {
        let out = Command::new(bin)
            .args(["status", "--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    wait_for("every map running", Duration::from_secs(120), || {
        let s = status();
        s.lines().skip(1).filter(|l| l.contains(" running ")).count() == common::shipped_maps()
    });
    let op = SqlStore::open(&op_url).await.unwrap();
    let acct = SqlStore::open(&acct_url).await.unwrap();

    // An invalid edit is rejected with the validator's message; the old map keeps running.
    let file = maps.join("hour-estimates.toml");
    let original = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        original.replacen("direction = \">\"", "direction = \"sideways\"", 1),
    )
    .unwrap();
    wait_for("the rejection", Duration::from_secs(30), || {
        mentions(&log, "map edit rejected") > 0
    });
    assert!(
        mentions(&log, "hour-estimates.toml:9:") > 0,
        "the message names the file and line:\n{}",
        log.lock().unwrap().join("\n")
    );
    let id = set_hours(&op, 0, 17).await;
    let mut synced = false;
    for _ in 0..100 {
        if staged_hours(&acct, &id).await == Some(Decimal::from(17)) {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(synced, "the previous hour-estimates map keeps syncing");

    // A valid edit takes effect without a restart: a new skip rule.
    let reloads = mentions(&log, "map files reloaded");
    let edited = format!(
        "{original}\n[[skip]]\nname = \"huge-estimates\"\nside = \"operational\"\nwhen = \"msdyn_hours gt 1000\"\n"
    );
    std::fs::write(&file, edited).unwrap();
    wait_for("the reload", Duration::from_secs(30), || {
        mentions(&log, "map files reloaded") > reloads
    });
    let huge = set_hours(&op, 1, 5000).await;
    let normal = set_hours(&op, 2, 9).await;
    let mut synced = false;
    for _ in 0..100 {
        if staged_hours(&acct, &normal).await == Some(Decimal::from(9)) {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(synced, "estimates keep syncing after the reload");
    assert_ne!(
        staged_hours(&acct, &huge).await,
        Some(Decimal::from(5000)),
        "the new skip rule keeps the huge estimate out"
    );
    let s = status();
    let line = s.lines().find(|l| l.starts_with("hour-estimates ")).unwrap();
    assert!(
        line.split_whitespace().nth(4).unwrap().parse::<u64>().unwrap() >= 1,
        "status counts the skipped estimate: {line}"
    );

    // A new field on columns added to both stores while the daemon runs: the reload reads the
    // stores' catalogs again, so the edit is adopted (not refused for an unknown column), and
    // the new column syncs.
    use dualsync::accounting::db::Db;
    Db::new(&op)
        .execute("ALTER TABLE msdyn_resourceassignments ADD COLUMN msdyn_note TEXT", &[])
        .await
        .unwrap();
    Db::new(&acct)
        .execute(
            "ALTER TABLE \"ProjCDSEstimateHoursImport\" ADD COLUMN \"Note\" TEXT",
            &[],
        )
        .await
        .unwrap();
    let (rejected, reloads) = (
        mentions(&log, "map edit rejected"),
        mentions(&log, "map files reloaded"),
    );
    let with_field = format!(
        "{}\n[[fields]]\noperational = \"msdyn_note\"\naccounting = \"Note\"\ntype = \"text\"\n",
        std::fs::read_to_string(&file).unwrap()
    );
    std::fs::write(&file, with_field).unwrap();
    wait_for("the reload with the new field", Duration::from_secs(30), || {
        mentions(&log, "map files reloaded") > reloads || mentions(&log, "map edit rejected") > rejected
    });
    assert_eq!(
        mentions(&log, "map edit rejected"),
        rejected,
        "the edit is adopted:\n{}",
        log.lock().unwrap().join("\n")
    );
    acct.forget_catalog();
    Db::new(&op)
        .execute(
            &format!("UPDATE msdyn_resourceassignments SET msdyn_note = 'noted while running' WHERE msdyn_resourceassignmentid = '{normal}'"),
            &[],
        )
        .await
        .unwrap();
    let mut noted = false;
    for _ in 0..150 {
        if staged(&acct, &normal, "Note").await == Some(Value::Text("noted while running".into())) {
            noted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(noted, "the new field syncs:\n{}", log.lock().unwrap().join("\n"));

    // SIGHUP reloads at once.
    let reloads = mentions(&log, "map files reloaded");
    unsafe { libc_kill(daemon.id() as i32, SIGHUP) };
    wait_for("the SIGHUP reload", Duration::from_secs(30), || {
        mentions(&log, "map files reloaded") > reloads
    });
    assert!(mentions(&log, "SIGHUP") > 0);

    unsafe { libc_kill(daemon.id() as i32, SIGTERM) };
    let exit = daemon.wait().unwrap();
    reader.join().unwrap();
    assert!(exit.success(), "exit code 0 after SIGTERM, got {exit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_edits_are_reloaded_and_invalid_ones_rejected_sqlite() {
    map_edits("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_edits_are_reloaded_and_invalid_ones_rejected_postgres() {
    map_edits("postgres").await;
}
