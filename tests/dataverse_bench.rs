//! A measurement, not a check (issue 13, item 6): the initial sync of the shipped maps from the
//! Dataverse-shaped Web API (odatapy with the Dataverse layer, on loopback) into a SQLite
//! accounting store, against a plain paged read of the same entity sets with the same page size
//! (the limit of the server itself). Prints records/s and requests per 1,000 records. Run:
//!
//! ```sh
//! cargo test --release --test dataverse_bench -- --ignored --nocapture
//! ```
//!
//! `DUALSYNC_BENCH_ACTUALS` sets the number of actuals (default 20,000).

mod common;

use std::time::Instant;

use common::dataverse::DataverseServer;
use dualsync::demo::SeedOptions;
use dualsync::demo::load::seed;
use dualsync::store::Store as _;
use dualsync::store::sql::init;
use dualsync::tablemap::model::Side;

const PAGE: usize = 5000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn initial_sync_over_the_web_api() {
    let actuals: u64 = std::env::var("DUALSYNC_BENCH_ACTUALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let opts = SeedOptions { actuals, seed: 42 };
    let data = dir.path().join("dataverse.db");
    let op = init::init(&format!("sqlite://{}", data.display()), Side::Operational)
        .await
        .unwrap();
    seed(&op, Side::Operational, &opts).await.unwrap();
    let acct_url = format!("sqlite://{}", dir.path().join("accounting.db").display());
    let acct = init::init(&acct_url, Side::Accounting).await.unwrap();
    seed(&acct, Side::Accounting, &opts).await.unwrap();
    let dv = DataverseServer::start(Some(&data), Some(PAGE));

    // The entity sets the maps read.
    let loaded =
        dualsync::tablemap::load(&[std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")]).unwrap();
    let mut sets: Vec<String> = loaded
        .valid
        .iter()
        .map(|m| m.map().operational.entity.clone())
        .collect();
    sets.sort();
    sets.dedup();

    // A plain paged read of every one, every column, pages of 5,000, next links followed.
    dv.control(serde_json::json!({"reset": true})).await;
    let started = Instant::now();
    let mut records = 0usize;
    for set in &sets {
        let mut url = set.clone();
        loop {
            let page = dv
                .get_json(&url, &[("Prefer", &format!("odata.maxpagesize={PAGE}"))])
                .await;
            records += page["value"].as_array().unwrap().len();
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => break,
            }
        }
    }
    let raw_time = started.elapsed();
    let raw_requests = dv.stats().await["total"].as_u64().unwrap();

    // dualsync's initial sync of every map, a separate process.
    let secret = dir.path().join("secret");
    std::fs::write(&secret, dv.secret()).unwrap();
    let config = dir.path().join("dualsync.toml");
    let state_url = format!("sqlite://{}", dir.path().join("state.db").display());
    std::fs::write(
        &config,
        format!(
            "maps = \"{}/table-maps\"\ncompanies = [\"USPM\", \"DEMF\"]\ndemo = false\n\
             [operational]\nkind = \"dataverse\"\nurl = \"{}\"\n[operational.auth]\ntoken_url = \"{}\"\n\
             client_id = \"{}\"\nclient_secret_file = \"{}\"\n[accounting]\nurl = \"{acct_url}\"\n\
             [state]\nurl = \"{state_url}\"\n[sync]\nbatch_size = {PAGE}\n[log]\nformat = \"json\"\nlevel = \"warn\"\n",
            env!("CARGO_MANIFEST_DIR"),
            dv.api_url(),
            dv.token_url(),
            dv.client_id(),
            secret.display()
        ),
    )
    .unwrap();
    dv.control(serde_json::json!({"reset": true})).await;
    let started = Instant::now();
    let cpu_before = children_cpu();
    let (code, out, err) = common::dualsync(&["initial-sync"], &config);
    let sync_time = started.elapsed();
    let cpu = children_cpu() - cpu_before;
    assert_eq!(code, Some(0), "{out}{err}");
    let stats = dv.stats().await;
    let requests = stats["total"].as_u64().unwrap();
    let parts = stats["batch_parts"].as_u64().unwrap_or(0);
    let staged = acct.count("ProjCDSActualsImport").await.unwrap();

    let per_s = |n: usize, t: std::time::Duration| n as f64 / t.as_secs_f64();
    println!(
        "{actuals} actuals; {records} records in {} entity sets; pages of {PAGE}",
        sets.len()
    );
    println!(
        "plain paged read: {:.2} s, {:.0} records/s, {raw_requests} requests ({:.2} per 1,000 records)",
        raw_time.as_secs_f64(),
        per_s(records, raw_time),
        raw_requests as f64 * 1000.0 / records as f64
    );
    println!(
        "dualsync initial-sync: {:.2} s, {:.0} records/s ({:.0}% of the plain read), {requests} requests \
         ({:.2} per 1,000 records; {parts} writes inside $batch); {staged} actuals staged",
        sync_time.as_secs_f64(),
        per_s(records, sync_time),
        100.0 * raw_time.as_secs_f64() / sync_time.as_secs_f64(),
        requests as f64 * 1000.0 / records as f64
    );
    println!(
        "dualsync's own CPU time: {cpu:.2} s ({:.0}% of the wall time; the rest is waiting for the server)",
        100.0 * cpu / sync_time.as_secs_f64()
    );
}

/// User and system CPU seconds of the child processes waited for so far (the dualsync runs).
fn children_cpu() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
