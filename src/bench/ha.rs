//! `dualsync bench-ha` (issue 19): on PostgreSQL, the live throughput of a partitioned group of
//! one, two and three replicas, and the failover time of an active-standby group against lease
//! settings. The replicas are `dualsync run` children of this very executable.
//!
//! Throughput: the demo data is seeded and synced once; then, per replica count, the replicas
//! start, the units spread over them, and each round changes `--changes` linked records of
//! every map with that many (a text field they send to the accounting side, set to a marker of
//! the round) in one write per map, and times until every marker is on the accounting side.
//! Failover: two replicas; the one holding `all` is killed (SIGKILL) and the time until the
//! other holds it is measured; and once with SIGTERM (a clean hand-over).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::stores::{Backend, BenchStores};
use crate::demo::{SeedOptions, load};
use crate::engine::compile::{CompiledMap, compile};
use crate::engine::state::{StateStore, parse_key_text};
use crate::store::sql::catalog::quote;
use crate::store::sql::init;
use crate::store::{Store, WriteOp};
use crate::tablemap::model::{FieldType, Side};
use crate::value::Value;

/// Options of `dualsync bench-ha`.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct HaBenchArgs {
    /// Actuals seeded (with their parents).
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub rows: u64,
    /// The replica counts whose throughput is measured.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 3])]
    pub replicas: Vec<usize>,
    /// Records changed per round in each map with at least 100 links (at most this many).
    #[arg(long, value_name = "N", default_value_t = 5_000)]
    pub changes: usize,
    /// Rounds per replica count.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Lease settings of the failover measurement, `LEASE:RENEW` in seconds.
    #[arg(long, value_delimiter = ',', default_values_t = ["3:1".to_string(), "6:2".to_string(), "15:5".to_string()])]
    pub leases: Vec<String>,
    /// Kills per lease setting.
    #[arg(long, default_value_t = 5)]
    pub kills: usize,
    #[command(flatten)]
    #[serde(flatten)]
    pub setup: super::BenchSetup,
}

/// A map with fewer links is not changed by the rounds.
const BUSY_AT_LEAST: usize = 100;

/// A map the throughput rounds change: a text field it sends, on both sides, and how many of its
/// records each round changes.
struct Busy {
    map: CompiledMap,
    records: usize,
    op_column: String,
    acct_column: String,
}

#[derive(Debug, Serialize)]
pub struct ThroughputRun {
    pub replicas: usize,
    /// Units each replica held while measured.
    pub units_per_replica: Vec<usize>,
    /// Which replica held each map the rounds changed.
    pub busy_owners: Vec<String>,
    /// Seconds from the writes to the last marker on the accounting side, per round.
    pub seconds: Vec<f64>,
    /// Records per second of the median round.
    pub records_per_second: f64,
}

#[derive(Debug, Serialize)]
pub struct FailoverRun {
    pub lease_seconds: u64,
    pub renew_seconds: u64,
    /// Seconds from SIGKILL of the active replica to the standby holding `all`.
    pub after_sigkill: Vec<f64>,
    /// Seconds from SIGTERM of the active replica to the standby holding `all`.
    pub after_sigterm: f64,
}

#[derive(Debug, Serialize)]
pub struct HaBenchResult {
    pub args: HaBenchArgs,
    pub busy_maps: Vec<String>,
    pub throughput: Vec<ThroughputRun>,
    pub failover: Vec<FailoverRun>,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A `dualsync run` replica; killed when dropped.
struct Replica(std::process::Child);

impl Replica {
    fn start(
        config: &std::path::Path,
        id: &str,
        ha: &[(&str, String)],
        log: &std::path::Path,
    ) -> Result<Replica, String> {
        let exe = std::env::current_exe().map_err(err)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(err)?;
        let mut cmd = std::process::Command::new(exe);
        cmd.args(["run", "--config"])
            .arg(config)
            .env("DUALSYNC_HA__REPLICA", id)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log);
        for (k, v) in ha {
            cmd.env(format!("DUALSYNC_HA__{k}"), v);
        }
        Ok(Replica(
            cmd.spawn().map_err(|e| format!("cannot start a replica: {e}"))?,
        ))
    }

    fn signal(&mut self, sig: i32) {
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe {
            libc::kill(self.0.id() as i32, sig);
        }
    }

    fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let _ = self.0.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Replica names for `n` replicas that put the busy maps on as many replicas as rendezvous
/// hashing allows (the first of 100 name sets that does best): the measurement shows what
/// partitioning gives when the load is spread. A real group's spread depends on its names.
fn spreading_ids(n: usize, busy: &[Busy]) -> Vec<String> {
    let spread = |ids: &[String]| {
        let mut owners: Vec<&str> = busy
            .iter()
            .filter_map(|b| crate::daemon::ha::winner(&format!("map:{}", b.map.name), ids))
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners.len()
    };
    (0..100)
        .map(|set| (1..=n).map(|i| format!("t{n}-{set}-{i}")).collect::<Vec<String>>())
        .max_by_key(|ids| (spread(ids), std::cmp::Reverse(ids[0].clone())))
        .unwrap_or_default()
}

/// Polls `check` every 20 ms until it is true; the time it took. Err after `limit`.
async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<Duration, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, String>>,
{
    let started = Instant::now();
    while !check().await? {
        if started.elapsed() > limit {
            return Err(format!("{what}: not within {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

/// The units held now, by owner.
async fn holders(state: &StateStore) -> Result<std::collections::BTreeMap<String, (String, i64)>, String> {
    let now = chrono::Utc::now();
    Ok(state
        .list_leases()
        .await
        .map_err(err)?
        .into_iter()
        .filter(|l| l.expires_at > now)
        .map(|l| (l.unit, (l.owner, l.token)))
        .collect())
}

pub async fn run(args: HaBenchArgs) -> Result<String, String> {
    let pg_url = args.setup.pg_url();
    std::fs::create_dir_all(&args.setup.work_dir).map_err(err)?;
    let stores = BenchStores::fresh(Backend::Postgres, &args.setup.work_dir, &pg_url, "ha").await?;
    let op = init::init(&stores.operational, Side::Operational).await.map_err(err)?;
    let acct = init::init(&stores.accounting, Side::Accounting).await.map_err(err)?;
    let opts = SeedOptions {
        actuals: args.rows,
        seed: args.setup.seed,
    };
    load::seed(&op, Side::Operational, &opts).await.map_err(err)?;
    load::seed(&acct, Side::Accounting, &opts).await.map_err(err)?;
    let config = stores.write_config(&args.setup.maps, args.setup.batch_size)?;
    let log = stores.dir.join("replicas.log");
    println!("seeded {} actuals; initial sync", args.rows);
    let sync = super::child::spawn(&["initial-sync", "--config", config.to_str().unwrap_or_default()], &log)?;
    let done = tokio::task::spawn_blocking(move || sync.wait()).await.map_err(err)??;
    println!("initial sync: {:.1} s", done.elapsed.as_secs_f64());
    let state = StateStore::open(&stores.state).await.map_err(err)?;
    let acct_pool = sqlx::PgPool::connect(&stores.accounting).await.map_err(err)?;
    let busy = busy_maps(&args, &state).await?;
    let names: Vec<String> = busy.iter().map(|b| format!("{} ({})", b.map.name, b.records)).collect();
    println!("records changed each round: {}", names.join(", "));
    // Every map and scheduled process is a unit.
    let loaded = crate::config::Config::load(Some(&config)).map_err(err)?;
    let units = crate::tablemap::load(std::slice::from_ref(&args.setup.maps))
        .map_err(err)?
        .valid
        .len()
        + crate::daemon::ha::processes(&loaded).len();

    let mut throughput = Vec::new();
    for &n in &args.replicas {
        let ha = [
            ("MODE", "partitioned".to_string()),
            ("LEASE_SECONDS", "3".to_string()),
            ("RENEW_SECONDS", "1".to_string()),
        ];
        let ids = spreading_ids(n, &busy);
        let mut group = Vec::new();
        for id in &ids {
            group.push(Replica::start(&config, id, &ha, &log)?);
        }
        // Until each unit is on the replica rendezvous hashing gives it (hand-overs done).
        wait_for("the units spread", Duration::from_secs(120), || async {
            let h = holders(&state).await?;
            Ok(h.len() >= units
                && h.iter()
                    .all(|(unit, (owner, _))| crate::daemon::ha::winner(unit, &ids) == Some(owner.as_str())))
        })
        .await?;
        let held = holders(&state).await?;
        println!("{n} replicas: {} units held", held.len());
        let units_per_replica = ids
            .iter()
            .map(|id| held.values().filter(|(o, _)| o == id).count())
            .collect();
        let busy_owners = busy
            .iter()
            .map(|b| {
                let owner = held
                    .get(&format!("map:{}", b.map.name))
                    .map_or("-", |(o, _)| o.as_str());
                format!("{} on {owner}", b.map.name)
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut seconds = Vec::new();
        for round in 0..args.rounds {
            let marker = format!("bench-ha {n} replicas, round {round}");
            let started = Instant::now();
            for b in &busy {
                let written = change(&op, &state, b, b.records, &marker).await?;
                if written < b.records {
                    return Err(format!("{}: {written} of {} records changed", b.map.name, b.records));
                }
            }
            wait_for("the changes synced", Duration::from_secs(600), || async {
                for b in &busy {
                    if arrived(&acct_pool, b, &marker).await? < b.records as i64 {
                        return Ok(false);
                    }
                }
                Ok(true)
            })
            .await?;
            seconds.push(started.elapsed().as_secs_f64());
        }
        for r in group {
            r.stop();
        }
        let mut sorted = seconds.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let run = ThroughputRun {
            replicas: n,
            units_per_replica,
            busy_owners,
            records_per_second: busy.iter().map(|b| b.records).sum::<usize>() as f64 / median,
            seconds,
        };
        println!(
            "{n} replicas (units {:?}; {}): {:.0} records/s (rounds {:?} s)",
            run.units_per_replica,
            run.busy_owners.join(", "),
            run.records_per_second,
            run.seconds
        );
        throughput.push(run);
    }

    let mut failover = Vec::new();
    for (i, setting) in args.leases.iter().enumerate() {
        let (lease, renew) = setting
            .split_once(':')
            .and_then(|(l, r)| Some((l.parse::<u64>().ok()?, r.parse::<u64>().ok()?)))
            .ok_or_else(|| format!("--leases: \"{setting}\" is not LEASE:RENEW"))?;
        let ha = [
            ("MODE", "active-standby".to_string()),
            ("LEASE_SECONDS", lease.to_string()),
            ("RENEW_SECONDS", renew.to_string()),
        ];
        let mut run = FailoverRun {
            lease_seconds: lease,
            renew_seconds: renew,
            after_sigkill: Vec::new(),
            after_sigterm: 0.0,
        };
        let mut next = 0;
        let start = |next: &mut usize| -> Result<(String, Replica), String> {
            *next += 1;
            let id = format!("f{i}-{next}");
            let r = Replica::start(&config, &id, &ha, &log)?;
            Ok((id, r))
        };
        let mut group = vec![start(&mut next)?, start(&mut next)?];
        for k in 0..=args.kills {
            // The active one, once the other has joined (its replica row is there).
            let ids: Vec<String> = group.iter().map(|(id, _)| id.clone()).collect();
            wait_for("an active replica", Duration::from_secs(120), || async {
                let live = state
                    .list_replicas(Some(Duration::from_secs(lease)))
                    .await
                    .map_err(err)?;
                let h = holders(&state).await?;
                Ok(ids.iter().all(|id| live.iter().any(|r| &r.id == id))
                    && h.get("all").is_some_and(|(o, _)| ids.contains(o)))
            })
            .await?;
            // A kill at any moment of the renewal cycle: the takeover comes between
            // `lease - renew` and `lease + renew` after it.
            let phase = u64::from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_err(err)?
                    .subsec_nanos(),
            );
            tokio::time::sleep(Duration::from_secs(renew) + Duration::from_millis(phase % (renew * 1000).max(1))).await;
            let (owner, _) = holders(&state).await?["all"].clone();
            let at = group.iter().position(|(id, _)| *id == owner).unwrap_or(0);
            let (_, mut active) = group.remove(at);
            let last = k == args.kills;
            let started = Instant::now();
            match last {
                true => active.signal(libc::SIGTERM),
                false => active.signal(libc::SIGKILL),
            }
            let other = group[0].0.clone();
            wait_for("the takeover", Duration::from_secs(lease * 4 + 30), || async {
                Ok(holders(&state).await?.get("all").is_some_and(|(o, _)| *o == other))
            })
            .await?;
            let took = started.elapsed().as_secs_f64();
            let _ = active.0.wait();
            match last {
                true => run.after_sigterm = took,
                false => run.after_sigkill.push(took),
            }
            group.push(start(&mut next)?);
        }
        println!(
            "lease {lease} s, renew {renew} s: taken over {:?} s after SIGKILL, {:.2} s after SIGTERM",
            run.after_sigkill, run.after_sigterm
        );
        for (_, r) in group {
            r.stop();
        }
        failover.push(run);
    }
    let result = HaBenchResult {
        args,
        busy_maps: names,
        throughput,
        failover,
    };
    std::fs::create_dir_all(&result.args.setup.out).map_err(err)?;
    let path = result
        .args
        .setup
        .out
        .join(format!("ha-{}.json", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
    std::fs::write(&path, serde_json::to_string_pretty(&result).map_err(err)?).map_err(err)?;
    Ok(format!("{}\nwritten to {}", report(&result), path.display()))
}

/// The maps with at least `--changes` links and a plain text field they send to accounting (not
/// one their filter reads: a new value would take the record out of scope).
async fn busy_maps(args: &HaBenchArgs, state: &StateStore) -> Result<Vec<Busy>, String> {
    let loaded = crate::tablemap::load(std::slice::from_ref(&args.setup.maps)).map_err(err)?;
    let mut out = Vec::new();
    for valid in &loaded.valid {
        let map = compile(valid);
        let filter = valid.map().operational.filter.clone().unwrap_or_default();
        let links = state.count_links(&map.name).await.map_err(err)? as usize;
        if links < BUSY_AT_LEAST {
            continue;
        }
        let field = map.fields.iter().find(|f| {
            f.field_type == FieldType::Text
                && f.writes(Side::Accounting)
                && f.lookup.is_none()
                && f.constant.is_none()
                && f.to_accounting.is_none()
                && f.operational.as_deref().is_some_and(|c| !filter.contains(c))
        });
        if let Some(f) = field {
            out.push(Busy {
                records: links.min(args.changes),
                op_column: f.operational.clone().unwrap_or_default(),
                acct_column: f.accounting.clone().unwrap_or_default(),
                map,
            });
        }
    }
    match out.is_empty() {
        true => Err(format!("no map has {BUSY_AT_LEAST} linked records: seed more --rows")),
        false => Ok(out),
    }
}

/// Sets the text field of `n` linked records of `b` to `marker`, in one write; how many.
async fn change(
    op: &crate::store::sql::SqlStore,
    state: &StateStore,
    b: &Busy,
    n: usize,
    marker: &str,
) -> Result<usize, String> {
    let entity = &b.map.operational.entity;
    let desc = op
        .describe(entity)
        .await
        .map_err(err)?
        .project(&[b.op_column.as_str()])
        .map_err(err)?;
    let types: Vec<_> = desc.key_columns().map(|c| c.value_type).collect();
    let keys = state
        .linked_keys(&b.map.name, Side::Operational.name(), None, n)
        .await
        .map_err(err)?;
    let ops: Vec<WriteOp> = keys
        .iter()
        .filter_map(|k| parse_key_text(k, &types))
        .map(|mut key| {
            key.push(Value::Text(marker.to_string()));
            WriteOp::Upsert(key)
        })
        .collect();
    op.apply(&desc, &ops).await.map_err(err)?;
    Ok(ops.len())
}

/// How many accounting records of `b` hold `marker`.
async fn arrived(pool: &sqlx::PgPool, b: &Busy, marker: &str) -> Result<i64, String> {
    let sql = format!(
        "SELECT count(*) FROM {} WHERE {} = $1",
        quote(&b.map.accounting.entity),
        quote(&b.acct_column)
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(marker)
        .fetch_one(pool)
        .await
        .map_err(err)
}

fn report(r: &HaBenchResult) -> String {
    let mut out = format!(
        "## bench-ha: {} actuals; records changed per round: {}\n\n| replicas | units per replica | busy maps on | records/s (median) | rounds (s) |\n|---|---|---|---|---|\n",
        r.args.rows,
        r.busy_maps.join(", ")
    );
    for t in &r.throughput {
        out.push_str(&format!(
            "| {} | {:?} | {} | {:.0} | {} |\n",
            t.replicas,
            t.units_per_replica,
            t.busy_owners.join(", "),
            t.records_per_second,
            t.seconds
                .iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.push_str("\n| lease (s) | renew (s) | takeover after SIGKILL (s) | after SIGTERM (s) |\n|---|---|---|---|\n");
    for f in &r.failover {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} |\n",
            f.lease_seconds,
            f.renew_seconds,
            f.after_sigkill
                .iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            f.after_sigterm
        ));
    }
    out
}
