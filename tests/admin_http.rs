//! The daemon's admin listener (issue 16), against `dualsync run` as a separate process on
//! SQLite and PostgreSQL: `/health/live` answers; `/health/ready` is ready once the maps run and
//! says which map failed when one did; `/metrics` refuses a request without the token, and its
//! output, read with a Prometheus parser, counts the records the initial sync wrote (equal to
//! the links), the live changes that followed and their batch latency, each map's state, and
//! the runs of a scheduled accounting process; a paused map's waiting changes and the age of
//! the oldest.

mod common;

use std::time::{Duration, Instant};

use common::metrics::{Samples, sample};
use common::{Daemon, DaemonStores};
use dualsync::demo::{SeedOptions, load};
use dualsync::engine::state::{MapState, StateStore};
use dualsync::store::sql::init::init;
use dualsync::tablemap::model::Side;

const TOKEN: &str = "s3cret-token-for-the-admin-test";

async fn the_admin_listener_serves_health_and_metrics(backend: &str) {
    let stores = DaemonStores::new(backend, "admin_http").await;
    let opts = SeedOptions { actuals: 60, seed: 11 };
    let op = init(&stores.operational, Side::Operational).await.unwrap();
    let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
    load::seed(&op, Side::Operational, &opts).await.unwrap();
    load::seed(&acct, Side::Accounting, &opts).await.unwrap();
    let token_file = stores.log_path().with_file_name("admin-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let port = common::metrics::free_port();
    let config = stores.write_config(
        false,
        &format!(
            "[admin]\nlisten = \"127.0.0.1:{port}\"\ntoken_file = \"{}\"\n\
             [processes]\nenabled = true\nforecasts_seconds = 1\nimport_seconds = 0\npost_seconds = 0\n",
            token_file.display()
        ),
    );
    let mut daemon = Daemon::start(&config, &stores.log_path());
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // Live as soon as the listener is up, ready once the maps run.
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/health/live")).send().await {
            assert_eq!(r.status(), 200);
            break;
        }
        assert!(daemon.is_running(), "the daemon exited:\n{}", daemon.log_tail(30));
        assert!(started.elapsed() < Duration::from_secs(60), "no listener after 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    daemon.wait_all_running(Duration::from_secs(120)).await;
    let ready = http.get(format!("{base}/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["ready"], true, "{body}");

    // The token guards the metrics; the health checks stay open to supervisors.
    let refused = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let wrong = http
        .get(format!("{base}/metrics"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let metrics_url = format!("{base}/metrics");
    let scrape = || common::metrics::scrape(&metrics_url, Some(TOKEN));
    let m = scrape().await;
    promtool_lint(&metrics_url).await;
    let links = sample(&m, "dualsync_links", &[("map", "actuals")]).expect("links of actuals");
    assert!(links > 0.0);
    let written = |m: &Samples| {
        sample(
            m,
            "dualsync_records_total",
            &[
                ("map", "actuals"),
                ("direction", "to_accounting"),
                ("outcome", "written"),
            ],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(written(&m), links, "each actual the initial sync wrote is linked");
    assert_eq!(
        sample(&m, "dualsync_map_state", &[("map", "actuals"), ("state", "running")]),
        Some(1.0)
    );
    assert_eq!(
        sample(&m, "dualsync_map_state", &[("map", "actuals"), ("state", "failed")]),
        Some(0.0)
    );
    assert_eq!(sample(&m, "dualsync_dead_letters", &[("map", "actuals")]), Some(0.0));
    assert_eq!(sample(&m, "dualsync_state_store_up", &[]), Some(1.0));

    // Live changes are counted, with their batch latency.
    let db = dualsync::accounting::db::Db::new(&op);
    db.execute("UPDATE msdyn_actuals SET msdyn_documentdate = '2001-02-03'", &[])
        .await
        .unwrap();
    let started = Instant::now();
    let m = loop {
        let m = scrape().await;
        if written(&m) >= 2.0 * links {
            break m;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the live edits were not counted after 60 s: {} written",
            written(&m)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(written(&m), 2.0 * links, "each edited actual written once more");
    let batches = sample(
        &m,
        "dualsync_live_batch_duration_seconds_count",
        &[("map", "actuals"), ("direction", "to_accounting")],
    )
    .or_else(|| {
        sample(
            &m,
            "dualsync_live_batch_duration_seconds",
            &[("map", "actuals"), ("direction", "to_accounting")],
        )
    });
    assert!(batches.is_some_and(|n| n >= 1.0), "a live batch timed: {batches:?}");
    // The scheduled accounting process (forecasts, every second) is counted and timed.
    let forecasts = sample(
        &m,
        "dualsync_process_runs_total",
        &[("process", "forecasts"), ("outcome", "succeeded")],
    );
    assert!(forecasts.is_some_and(|n| n >= 1.0), "forecast runs: {forecasts:?}");
    assert_eq!(
        sample(
            &m,
            "dualsync_process_runs_total",
            &[("process", "forecasts"), ("outcome", "failed")]
        ),
        None
    );

    // A paused map's changes wait: the backlog counts them and the age of the oldest grows.
    let (code, out, err) = common::dualsync(&["pause", "actuals"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
    // A live round already under way (a slow debug build under load) ends before the edits.
    tokio::time::sleep(Duration::from_secs(3)).await;
    db.execute("UPDATE msdyn_actuals SET msdyn_documentdate = '2001-02-04'", &[])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let m = scrape().await;
    let waiting = [("map", "actuals"), ("direction", "to_accounting")];
    let backlog = sample(&m, "dualsync_change_backlog", &waiting).unwrap();
    assert!(backlog >= links, "every edited actual waits: {backlog} of {links}");
    let age = sample(&m, "dualsync_oldest_unsynced_change_age_seconds", &waiting).unwrap();
    assert!(
        (1.5..120.0).contains(&age),
        "the oldest waiting change is about 2 s old: {age}"
    );
    assert_eq!(
        sample(&m, "dualsync_map_state", &[("map", "actuals"), ("state", "paused")]),
        Some(1.0)
    );
    let (code, out, err) = common::dualsync(&["resume", "actuals"], &config);
    assert_eq!(code, Some(0), "{out}{err}");

    // A failed map makes the daemon not ready, and says which.
    let state = StateStore::open(&stores.state).await.unwrap();
    state
        .set_map_state("projects", MapState::Failed, Some("broken on purpose by the test"))
        .await
        .unwrap();
    let r = http.get(format!("{base}/health/ready")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["ready"], false);
    assert!(
        body.to_string().contains("projects: broken on purpose by the test"),
        "{body}"
    );
    daemon.terminate(Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_serves_health_and_metrics_on_sqlite() {
    the_admin_listener_serves_health_and_metrics("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_serves_health_and_metrics_on_postgres() {
    the_admin_listener_serves_health_and_metrics("postgres").await;
}

/// `promtool check metrics` (the Prometheus project's own linter: names, units, types, help)
/// finds nothing in the output, where promtool is installed (`.ci/run` installs it; in CI it
/// must be there).
async fn promtool_lint(url: &str) {
    let text = reqwest::Client::new()
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let Some((ok, said)) = common::metrics::promtool(&["check", "metrics"], &text) else {
        return;
    };
    assert!(ok && said.trim().is_empty(), "promtool check metrics:\n{said}\n{text}");
}
