//! High availability (issue 19) on PostgreSQL: several `dualsync run` replicas on one state
//! store, while the test keeps changing the operational store at a steady rate. Each test ends
//! with the content checksums of `actuals` and `hour-estimates` (every field they send) equal on
//! both sides — nothing lost, nothing twice — and no change of the test undone.
//! - active-standby, three replicas: SIGKILL of the owner during the initial sync and again
//!   during live sync; a standby takes over within the lease and renewal time (measured);
//! - active-standby: SIGSTOP of the owner past its lease, a successor takes over, SIGCONT: the
//!   old owner's writes are refused by the fencing token and it steps down to standby;
//! - partitioned: replicas join and leave during live sync; the units spread and move, and each
//!   is held by one replica;
//! - the integration journal import, scheduled on every replica, runs once per period, across
//!   a failover too.
//!
//! The tests run one at a time (`ONE_AT_A_TIME`): three replicas hold connections to three
//! databases each, and two groups at once exceed PostgreSQL's default 100 connections.
//!
//! Lease 3 s, renewal 1 s (`[ha]`). The random choices come from a seed printed by each test
//! (`DUALSYNC_FAULT_SEED` repeats it). See docs/ha.md.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::changer::{Changer, keep_changing, report_known_echo_bug};
use common::faults::{Rng, expected_checksum, fault_seed, shipped_map, wait_in_sync};
use common::metrics::free_port;
use common::{Daemon, DaemonStores, parse_status};
use dualsync::demo::{SeedOptions, load};
use dualsync::engine::compile::CompiledMap;
use dualsync::engine::state::StateStore;
use dualsync::store::sql::{SqlStore, init::init};
use dualsync::tablemap::model::Side;

/// Held by each test for its whole run.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const LEASE: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_secs(1);
/// What a takeover may take beyond the lease and one renewal: a round's own queries and a
/// loaded CI machine.
const SLACK: Duration = Duration::from_secs(3);

struct Group {
    stores: DaemonStores,
    config: std::path::PathBuf,
    op: Arc<SqlStore>,
    acct: SqlStore,
    state: StateStore,
    replicas: BTreeMap<&'static str, Daemon>,
}

impl Group {
    /// Seeded PostgreSQL stores and a configuration for replicas in `mode`.
    async fn new(name: &str, mode: &str, actuals: u64, extra: &str) -> Group {
        let stores = DaemonStores::new("postgres", name).await;
        let opts = SeedOptions { actuals, seed: 7 };
        let op = init(&stores.operational, Side::Operational).await.unwrap();
        let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
        load::seed(&op, Side::Operational, &opts).await.unwrap();
        load::seed(&acct, Side::Accounting, &opts).await.unwrap();
        let config = stores.write_config(
            false,
            &format!(
                "[sync]\nbatch_size = 50\n[ha]\nmode = \"{mode}\"\nlease_seconds = {}\nrenew_seconds = {}\n{extra}",
                LEASE.as_secs(),
                RENEW.as_secs()
            ),
        );
        let state = StateStore::open(&stores.state).await.unwrap();
        Group {
            stores,
            config,
            op: Arc::new(op),
            acct,
            state,
            replicas: BTreeMap::new(),
        }
    }

    fn log(&self, id: &str) -> std::path::PathBuf {
        self.stores.dir.path().join(format!("{id}.log"))
    }

    fn start(&mut self, id: &'static str) {
        self.start_with(id, &[]);
    }

    /// Starts replica `id` with more `DUALSYNC_…` variables.
    fn start_with(&mut self, id: &'static str, more: &[(String, String)]) {
        let mut env = vec![("DUALSYNC_HA__REPLICA".to_string(), id.to_string())];
        env.extend_from_slice(more);
        let daemon = Daemon::start_with_env(&self.config, &self.log(id), &env);
        self.replicas.insert(id, daemon);
    }

    fn replica(&mut self, id: &str) -> &mut Daemon {
        self.replicas.get_mut(id).unwrap_or_else(|| panic!("no replica {id}"))
    }

    /// `dualsync status` of the group: its output, and its errors if it failed.
    fn status(&self) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dualsync"))
            .args(["status", "--config", self.config.to_str().unwrap()])
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn log_of(&self, id: &str) -> String {
        std::fs::read_to_string(self.log(id)).unwrap_or_default()
    }

    /// The units held now (lease not run out): unit → (owner, token).
    async fn owners(&self) -> BTreeMap<String, (String, i64)> {
        let now = chrono::Utc::now();
        self.state
            .list_leases()
            .await
            .unwrap()
            .into_iter()
            .filter(|l| l.expires_at > now)
            .map(|l| (l.unit, (l.owner, l.token)))
            .collect()
    }

    /// Polls the leases until `done` holds (Ok with how long it took), or `timeout`.
    async fn wait_leases(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&BTreeMap<String, (String, i64)>) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            let owners = self.owners().await;
            if done(&owners) {
                return started.elapsed();
            }
            assert!(started.elapsed() < timeout, "no {what} within {timeout:?}: {owners:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until a replica other than `from` holds `all` with the token after `token`;
    /// how long that took.
    async fn wait_takeover(&self, from: &str, token: i64) -> Duration {
        self.wait_leases("takeover", LEASE + RENEW + SLACK, |o| {
            o.get("all").is_some_and(|(owner, t)| owner != from && *t == token + 1)
        })
        .await
    }

    /// The `'static` id of replica `name`.
    fn id_of(&self, name: &str) -> &'static str {
        self.replicas
            .keys()
            .find(|k| **k == name)
            .copied()
            .unwrap_or_else(|| panic!("no replica {name}"))
    }

    /// The owner and token of `all` (active-standby), once someone holds it.
    async fn active(&self) -> (String, i64) {
        self.wait_leases("owner of `all`", Duration::from_secs(60), |o| o.contains_key("all"))
            .await;
        self.owners().await["all"].clone()
    }

    /// Waits until every shipped map runs live (`dualsync status`, through replica `id`).
    async fn wait_all_running(&mut self, id: &str) {
        self.replica(id).wait_all_running(Duration::from_secs(180)).await;
    }

    /// Stops the changer, then checks the two sides agree by content, no change was undone,
    /// there is one link per synced actual, and no record error or parked record is left.
    async fn settle(&mut self, seed: u64, stop: Arc<AtomicBool>, changer: tokio::task::JoinHandle<Changer>) {
        stop.store(true, Ordering::SeqCst);
        let changer = changer.await.unwrap();
        println!(
            "{} changes: {} actuals created, {} hour estimates edited",
            changer.writes,
            changer.created,
            changer.last_hours.len()
        );
        assert!(changer.created > 0);
        let maps: [CompiledMap; 2] = [shipped_map("actuals"), shipped_map("hour-estimates")];
        let digests = wait_in_sync(&maps, self.op.as_ref(), &self.acct, Duration::from_secs(90))
            .await
            .unwrap_or_else(|d| panic!("seed {seed}: not in sync: {d}"));
        println!("in sync: {digests}");
        let (lost, lost_hours) = changer.undone().await;
        assert!(lost.is_empty(), "seed {seed}: changes undone:\n{}", lost.join("\n"));
        report_known_echo_bug(&lost_hours);
        let status = self.status();
        let st = parse_status(&status);
        let actuals = st
            .iter()
            .find(|m| m.map == "actuals")
            .unwrap_or_else(|| panic!("no actuals in the status:\n{status}"));
        let expected = expected_checksum(&maps[0], self.op.as_ref()).await;
        assert_eq!(
            actuals.links,
            expected.len() as u64,
            "one link per synced actual\n{status}"
        );
        assert!(st.iter().all(|m| m.errors == 0 && m.parked == 0), "{status}");
    }

    /// SIGTERM to every replica still running; each must exit 0.
    fn stop_all(&mut self) {
        for (id, d) in self.replicas.iter_mut() {
            if d.is_running() {
                let code = d.terminate(Duration::from_secs(30));
                assert_eq!(code.code(), Some(0), "replica {id}");
            }
        }
    }
}

/// A changer of the operational store, its random choices from `rng`.
async fn changes(g: &Group, rng: &mut Rng) -> Changer {
    Changer::new(g.op.clone(), rng.next()).await
}

/// SIGKILL of the active replica during the initial sync, and again during live sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_standby_takes_over_after_sigkill() {
    let _one = ONE_AT_A_TIME.lock().await;
    let seed = fault_seed("active_standby_takes_over_after_sigkill");
    let mut rng = Rng(seed);
    let mut g = Group::new("ha_kill", "active-standby", 2000, "").await;
    for id in ["r1", "r2", "r3"] {
        g.start(id);
    }
    let maps = dualsync::tablemap::load(&[std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")])
        .unwrap()
        .maps()
        .map(|m| m.name.clone())
        .collect::<Vec<_>>();
    // During the initial sync: once the owner has linked some records, before every map is done.
    let (first, token) = g.active().await;
    let started = Instant::now();
    loop {
        let links = g.state.count_links("actuals").await.unwrap() + g.state.count_links("projects").await.unwrap();
        if links > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the initial sync never began"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = g.state.done_maps().await.unwrap();
    assert!(done.len() < maps.len(), "the initial sync finished before the kill");
    let id = g.id_of(&first);
    g.replica(id).kill();
    let took = g.wait_takeover(&first, token).await;
    println!(
        "SIGKILL of {first} during the initial sync ({} of {} maps done): taken over in {:.2} s",
        done.len(),
        maps.len(),
        took.as_secs_f64()
    );
    g.start(id);
    let (second, token) = g.active().await;
    g.wait_all_running(&second).await;

    // During live sync, at a steady rate of changes.
    let stop = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(tokio::sync::RwLock::new(()));
    let changer = keep_changing(changes(&g, &mut rng).await, 10..60, stop.clone(), gate);
    tokio::time::sleep(Duration::from_millis(rng.range(1500, 4000))).await;
    let id2 = g.id_of(&second);
    g.replica(id2).kill();
    let took = g.wait_takeover(&second, token).await;
    let (third, _) = g.active().await;
    println!(
        "SIGKILL of {second} during live sync: {third} took over in {:.2} s",
        took.as_secs_f64()
    );
    assert!(
        g.log_of(&third).contains("failover"),
        "the takeover is logged as a failover"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    g.settle(seed, stop, changer).await;
    g.stop_all();
}

/// SIGSTOP of the owner past its lease; a standby takes over; SIGCONT: the old owner's writes
/// are refused by the fencing token and it steps down. Tried up to three times until the pause
/// lands while the owner is in the middle of a batch (a burst of new actuals keeps it busy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_is_fenced_and_steps_down() {
    let _one = ONE_AT_A_TIME.lock().await;
    let seed = fault_seed("a_paused_owner_is_fenced_and_steps_down");
    let mut rng = Rng(seed);
    let mut g = Group::new("ha_pause", "active-standby", 300, "").await;
    // Each with its admin listener on loopback: readiness and metrics per replica.
    let ports: BTreeMap<&str, u16> = [("r1", free_port()), ("r2", free_port())].into();
    for (id, port) in &ports {
        g.start_with(id, &[("DUALSYNC_ADMIN__LISTEN".into(), format!("127.0.0.1:{port}"))]);
    }
    let (owner, _) = g.active().await;
    g.wait_all_running(&owner).await;
    let http = reqwest::Client::new();
    let get = |id: &str, path: &str| {
        let url = format!("http://127.0.0.1:{}{path}", ports[id]);
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    for id in ["r1", "r2"] {
        let ready: serde_json::Value = serde_json::from_str(&get(id, "/health/ready").await).unwrap();
        let role = if id == owner { "active" } else { "standby" };
        assert_eq!(ready["role"], role, "{id}: {ready}");
        // A standby reports that it holds nothing (the alert on no active replica reads it).
        let held = if id == owner {
            "dualsync_units_held 1"
        } else {
            "dualsync_units_held 0"
        };
        let metrics = get(id, "/metrics").await;
        assert!(metrics.lines().any(|l| l == held), "{id}: {metrics}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(tokio::sync::RwLock::new(()));
    let mut burst = changes(&g, &mut rng).await;
    // Its new actuals' keys apart from the steady changer's.
    burst.created = 1_000_000;
    let changer = keep_changing(changes(&g, &mut rng).await, 10..60, stop.clone(), gate);
    let mut refused = false;
    for attempt in 1..=3 {
        let (paused, token) = g.active().await;
        let id = g.id_of(&paused);
        burst.create_actuals(300).await;
        tokio::time::sleep(Duration::from_millis(rng.range(100, 400))).await;
        assert!(g.replica(id).signal(libc::SIGSTOP), "{id} was running");
        let took = g.wait_takeover(&paused, token).await;
        let (successor, _) = g.active().await;
        println!(
            "attempt {attempt}: {paused} paused; {successor} took over in {:.2} s",
            took.as_secs_f64()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(g.replica(id).signal(libc::SIGCONT), "{id} was running");
        // The old owner finds out: its renewal fails, and a write it had under way is refused.
        let since = Instant::now();
        while !g.log_of(&paused).contains("lease lost") {
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "{paused} never noticed:\n{}",
                g.log_of(&paused)
                    .lines()
                    .filter(|l| !l.contains("\"INFO\"") || l.contains("lease") || l.contains("unit"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(g.replica(id).is_running(), "{paused} keeps running as a standby");
        let owners = g.owners().await;
        assert_eq!(owners["all"].0, successor, "the successor keeps the unit");
        let status = g.status();
        assert!(
            status.contains(&format!("{paused}: host")) && status.contains("standby"),
            "{status}"
        );
        // Readiness and metrics say the same: the successor active after a failover, the old
        // owner a standby that lost its lease.
        let ready: serde_json::Value = serde_json::from_str(&get(id, "/health/ready").await).unwrap();
        assert_eq!(ready["role"], "standby", "{ready}");
        let lost = get(id, "/metrics").await;
        assert!(
            lost.lines()
                .any(|l| l.starts_with("dualsync_lease_changes_total{") && l.contains("change=\"lost\"")),
            "{lost}"
        );
        let took_over = get(&successor, "/metrics").await;
        assert!(
            took_over
                .lines()
                .any(|l| l.starts_with("dualsync_failovers_total{") && l.contains("unit=\"all\"")),
            "{took_over}"
        );
        if g.log_of(&paused).contains("nothing of it was committed") {
            refused = true;
            println!("attempt {attempt}: {paused}'s write in progress was refused by the fence");
            break;
        }
        println!("attempt {attempt}: {paused} was between batches when paused");
    }
    assert!(refused, "no pause landed in the middle of a batch in three attempts");
    g.settle(seed, stop, changer).await;
    g.stop_all();
}

/// Partitioned: replicas join and leave during live sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_replicas_join_and_leave() {
    let _one = ONE_AT_A_TIME.lock().await;
    let seed = fault_seed("partitioned_replicas_join_and_leave");
    let mut rng = Rng(seed);
    let mut g = Group::new("ha_part", "partitioned", 300, "").await;
    g.start("r1");
    g.wait_all_running("r1").await;
    let units = g.owners().await.len();
    assert!(
        units >= common::shipped_maps(),
        "a unit per map: {:?}",
        g.owners().await
    );
    let stop = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(tokio::sync::RwLock::new(()));
    let changer = keep_changing(changes(&g, &mut rng).await, 10..60, stop.clone(), gate);
    let holders = |o: &BTreeMap<String, (String, i64)>, ids: &[&str]| {
        o.len() == units && ids.iter().all(|id| o.values().any(|(owner, _)| owner == id))
    };
    for (joined, ids) in [("r2", &["r1", "r2"][..]), ("r3", &["r1", "r2", "r3"][..])] {
        g.start(joined);
        let took = g
            .wait_leases(&format!("units spread over {ids:?}"), Duration::from_secs(60), |o| {
                holders(o, ids)
            })
            .await;
        let owners = g.owners().await;
        let share: Vec<String> = ids
            .iter()
            .map(|id| format!("{id} {}", owners.values().filter(|(o, _)| o == id).count()))
            .collect();
        println!(
            "{joined} joined: units spread in {:.2} s ({})",
            took.as_secs_f64(),
            share.join(", ")
        );
        tokio::time::sleep(Duration::from_millis(rng.range(1000, 3000))).await;
    }
    // r1 leaves cleanly, r2 is killed: r3 ends up with every unit.
    let code = g.replica("r1").terminate(Duration::from_secs(30));
    assert_eq!(code.code(), Some(0));
    let took = g
        .wait_leases("r1's units taken", Duration::from_secs(30), |o| {
            holders(o, &["r2", "r3"]) && !o.values().any(|(w, _)| w == "r1")
        })
        .await;
    println!("r1 left (SIGTERM): its units moved in {:.2} s", took.as_secs_f64());
    tokio::time::sleep(Duration::from_millis(rng.range(1000, 3000))).await;
    g.replica("r2").kill();
    let took = g
        .wait_leases("r2's units taken", LEASE + RENEW + SLACK + RENEW, |o| {
            holders(o, &["r3"]) && o.values().all(|(w, _)| w == "r3")
        })
        .await;
    println!("r2 killed: its units moved to r3 in {:.2} s", took.as_secs_f64());
    tokio::time::sleep(Duration::from_secs(2)).await;
    g.settle(seed, stop, changer).await;
    g.stop_all();
}

/// The import, scheduled every 2 s on every replica, runs once per period across the group,
/// and goes on after its replica is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_import_runs_once_per_period() {
    let _one = ONE_AT_A_TIME.lock().await;
    let period = 2.0;
    let mut g = Group::new(
        "ha_import",
        "partitioned",
        100,
        "[processes]\nenabled = true\nimport_seconds = 2\nforecasts_seconds = 0\n",
    )
    .await;
    for id in ["r1", "r2", "r3"] {
        g.start(id);
    }
    g.wait_leases("units spread", Duration::from_secs(60), |o| {
        o.contains_key("process:import")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (holder, _) = g.owners().await["process:import"].clone();
    let id = g.id_of(&holder);
    g.replica(id).kill();
    let killed = chrono::Utc::now();
    g.wait_leases("import taken over", LEASE + RENEW + SLACK + RENEW, |o| {
        o.get("process:import").is_some_and(|(w, _)| *w != holder)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let pool = sqlx::PgPool::connect(&g.stores.accounting).await.unwrap();
    let starts: Vec<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM \"StartedDateTime\")::float8 FROM \"ProjCDSJobLog\" \
         WHERE \"JobName\" = 'ImportFromStaging' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let gaps: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    println!(
        "{} imports; gaps between starts (s): {:?}",
        starts.len(),
        gaps.iter().map(|g| format!("{g:.2}")).collect::<Vec<_>>()
    );
    // Never twice in a period (two runs of one period would start together; the time from a
    // claim to its job's start varies by some milliseconds).
    assert!(
        gaps.iter().all(|g| *g >= period * 0.75),
        "two imports within one period: {gaps:?}"
    );
    // And it went on: a run every period but for the takeover, and after the kill.
    let most = (period + (LEASE + RENEW + SLACK).as_secs_f64()) * 1.25;
    assert!(
        gaps.iter().all(|g| *g <= most),
        "a gap longer than a takeover: {gaps:?}"
    );
    assert!(starts.len() >= 6, "too few imports: {starts:?}");
    let last = chrono::DateTime::from_timestamp(*starts.last().unwrap() as i64, 0).unwrap();
    assert!(last > killed, "the import ran after its replica was killed");
    g.stop_all();
}
