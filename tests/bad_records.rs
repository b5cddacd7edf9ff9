//! Bad records in a burst, on SQLite and on PostgreSQL: the daemon (`dualsync run`) has synced
//! the demo data; then another program writes a burst of 10,000 new actuals to the operational
//! store, 5% of them bad, in three kinds:
//! - an option-set code the map does not know (`msdyn_transactionclassification` = 999);
//! - an amount with more integer digits than the map's decimal(19,4) allows (the test widens the
//!   operational column to decimal(24,4), as a customization would, so the store takes it);
//! - a project (lookup) that no project record has: the record is parked, and after
//!   `sync.park_timeout_seconds` (2 s here) it becomes a record error naming the parent.
//!
//! Then every valid record is in the staging table ProjCDSActualsImport with the values the map
//! sends (the content checksum of tests/common/faults.rs, bad records left out), every bad
//! record is in the dead-letter list with a message naming its problem, no bad record reached
//! the staging table, no valid record is in the dead-letter list, and valid + bad = the burst.
//!
//! The choice of records and values comes from a seed printed by the test
//! (`DUALSYNC_FAULT_SEED` repeats it); `DUALSYNC_FAULT_SCALE` sets the burst size. See
//! docs/faults.md.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::faults::{
    COMPANIES, Rng, actual_checksum, difference, digest, expected_checksum, fault_scale, fault_seed, scaled_timeout,
    scan_all, shipped_map, text, write_as_user,
};
use common::{Daemon, DaemonStores, parse_status};
use dualsync::demo::{SeedOptions, load};
use dualsync::engine::state::{DeadLetter, StateStore, key_text};
use dualsync::store::WriteOp;
use dualsync::store::sql::{SqlStore, init::init};
use dualsync::tablemap::model::Side;
use dualsync::value::Value;
use rust_decimal::Decimal;
use uuid::Uuid;

/// The burst at CI scale.
const CI_SCALE: u64 = 10_000;
/// The demo data synced before the burst.
const DEMO: SeedOptions = SeedOptions { actuals: 300, seed: 5 };

/// What is wrong with a bad record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Bad {
    OptionSet,
    Decimal,
    MissingParent,
}

/// Widens the operational `msdyn_actuals.msdyn_amount` from decimal(19,4) to decimal(24,4), so
/// the store accepts amounts the map (decimal(19,4)) refuses. Run on the empty table.
async fn widen_amount(backend: &str, url: &str) {
    if backend == "postgres" {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql("ALTER TABLE msdyn_actuals ALTER COLUMN msdyn_amount TYPE NUMERIC(24,4)")
            .execute(&mut c)
            .await
            .unwrap();
        return;
    }
    // SQLite cannot alter a column's type: the empty table is made again with the wider
    // declared type, and its indexes (and triggers, if any) after it.
    use sqlx::{Connection, Row};
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    let objects: Vec<(String, String)> = sqlx::query(
        "SELECT type, sql FROM sqlite_schema WHERE tbl_name = 'msdyn_actuals' AND sql IS NOT NULL \
         ORDER BY type = 'table' DESC",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let (kind, table) = &objects[0];
    assert_eq!(kind, "table");
    let wider = table.replace("msdyn_amount DECIMAL_TEXT(19,4)", "msdyn_amount DECIMAL_TEXT(24,4)");
    assert_ne!(
        &wider, table,
        "the operational schema declares msdyn_amount DECIMAL_TEXT(19,4)"
    );
    let mut script = vec!["DROP TABLE msdyn_actuals".to_string(), wider];
    script.extend(objects[1..].iter().map(|(_, sql)| sql.clone()));
    for sql in script {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
    }
}

/// The canonical key text of an actual, as the dead-letter list holds it.
fn record_key(id: Uuid) -> String {
    key_text(&[Value::Guid(id)])
}

/// Whether a dead letter says what is wrong with a record of kind `bad`.
fn names_the_problem(letter: &DeadLetter, bad: Bad, project: Option<&Value>) -> bool {
    let m = &letter.message;
    match bad {
        Bad::OptionSet => {
            letter.error_kind.as_str() == "rejected"
                && m.contains("msdyn_transactionclassification")
                && m.contains("option-set code 999")
        }
        Bad::Decimal => {
            letter.error_kind.as_str() == "rejected"
                && m.contains("msdyn_amount")
                && m.contains("decimal(19,4)")
                && m.contains("digits before the point")
        }
        Bad::MissingParent => {
            letter.error_kind.as_str() == "missing-parent"
                && m.contains("map projects never arrived")
                && project.is_some_and(|p| m.contains(&p.to_string()))
        }
    }
}

async fn bad_records_go_to_the_dead_letter_list(backend: &str) {
    let started = Instant::now();
    let seed = fault_seed(&format!("bad_records_{backend}"));
    let mut rng = Rng(seed);
    let n = fault_scale(CI_SCALE);
    let bad_n = n / 20;
    println!("{backend}: a burst of {n} actuals, {bad_n} of them bad");
    let patience = |base: u64| scaled_timeout(Duration::from_secs(base), n, CI_SCALE);

    let stores = DaemonStores::new(backend, "bad_records").await;
    init(&stores.operational, Side::Operational).await.unwrap();
    widen_amount(backend, &stores.operational).await;
    let op = SqlStore::open(&stores.operational).await.unwrap();
    let acct = init(&stores.accounting, Side::Accounting).await.unwrap();
    load::seed(&op, Side::Operational, &DEMO).await.unwrap();
    load::seed(&acct, Side::Accounting, &DEMO).await.unwrap();
    // The alert rule would pause the map after 100 errors: off, this test makes hundreds.
    let config = stores.write_config(
        false,
        "[sync]\nbatch_size = 500\npark_timeout_seconds = 2\n[alerts]\nmax_errors = 0\n",
    );
    let mut daemon = Daemon::start(&config, &stores.log_path());
    let status = daemon.wait_all_running(Duration::from_secs(120)).await;
    let demo_links = parse_status(&status)
        .into_iter()
        .find(|m| m.map == "actuals")
        .unwrap()
        .links;
    let state = StateStore::open(&stores.state).await.unwrap();
    assert_eq!(state.count_open_dead_letters(None).await.unwrap(), 0, "{status}");
    println!("demo data synced: {:.1} s", started.elapsed().as_secs_f64());

    // The burst: copies of synced actuals (Skip Sync off) with new GUIDs, descriptions and
    // amounts; every 20th on average bad, the kinds in turn.
    let (desc, rows) = scan_all(&op, "msdyn_actuals").await;
    let col = |c: &str| desc.index_of(c).unwrap();
    let (id, skip, company, description, amount, class, project) = (
        col("msdyn_actualid"),
        col("msdyn_skipsync"),
        col("msdyn_company"),
        col("msdyn_description"),
        col("msdyn_amount"),
        col("msdyn_transactionclassification"),
        col("msdyn_project"),
    );
    let templates: Vec<_> = rows
        .iter()
        .filter(|r| r[skip] == Value::Bool(false))
        .filter(|r| COMPANIES.iter().any(|c| r[company] == Value::Text(c.to_string())))
        .collect();
    let mut order: Vec<u64> = (0..n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.range(0, i as u64 + 1) as usize);
    }
    let mut bad: BTreeMap<Uuid, Bad> = BTreeMap::new();
    for (k, &i) in order[..bad_n as usize].iter().enumerate() {
        let kind = [Bad::OptionSet, Bad::Decimal, Bad::MissingParent][k % 3];
        bad.insert(Uuid::from_u128((0xb057_u128 << 112) | u128::from(i)), kind);
    }
    let mut burst = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key = Uuid::from_u128((0xb057_u128 << 112) | u128::from(i));
        let mut row = templates[rng.range(0, templates.len() as u64) as usize].clone();
        row[id] = Value::Guid(key);
        row[skip] = Value::Bool(false);
        row[description] = Value::Text(format!("burst actual {i}"));
        row[amount] = Value::Decimal(Decimal::new(rng.range(1, 10_000_000_000) as i64, 4));
        match bad.get(&key) {
            Some(Bad::OptionSet) => row[class] = Value::Int(999),
            // 17 digits before the point; decimal(19,4) allows 15.
            Some(Bad::Decimal) => {
                row[amount] = Value::Decimal(Decimal::from_i128_with_scale(
                    10_i128.pow(20) + i128::from(rng.range(0, 10_u64.pow(12))),
                    4,
                ))
            }
            Some(Bad::MissingParent) => {
                row[project] = Value::Guid(Uuid::from_u128((0xdead_u128 << 112) | u128::from(i)))
            }
            None => {}
        }
        burst.push(row);
    }
    let projects: BTreeMap<Uuid, Value> = burst
        .iter()
        .filter_map(|r| match r[id] {
            Value::Guid(g) if bad.get(&g) == Some(&Bad::MissingParent) => Some((g, r[project].clone())),
            _ => None,
        })
        .collect();
    let burst_at = Instant::now();
    let mut errors = Vec::new();
    for chunk in burst.chunks(500) {
        let ops: Vec<WriteOp> = chunk.iter().cloned().map(WriteOp::Upsert).collect();
        write_as_user(&op, &desc, &ops, &mut errors).await;
    }
    println!(
        "burst written in {:.1} s ({} writes retried)",
        burst_at.elapsed().as_secs_f64(),
        errors.len()
    );

    // Caught up: every valid record linked, every bad one a record error, none parked.
    let valid_n = n - bad_n;
    let wanted = |m: &common::MapStatus| m.links == demo_links + valid_n && m.errors == bad_n && m.parked == 0;
    let status = daemon
        .wait_status("the burst synced", patience(240), |maps| {
            maps.iter().any(|m| m.map == "actuals" && wanted(m))
        })
        .await;
    println!(
        "burst synced {:.1} s after it was written:\n{status}",
        burst_at.elapsed().as_secs_f64()
    );

    // Every valid record in the staging table with the values the map sends; no bad one.
    let map = shipped_map("actuals");
    let bad_ids: HashSet<String> = bad.keys().map(|g| text(&Value::Guid(*g))).collect();
    let mut expected = expected_checksum(&map, &op).await;
    let before = expected.len();
    expected.retain(|k, _| !bad_ids.contains(k.rsplit('|').next().unwrap()));
    assert_eq!(
        before - expected.len(),
        bad_n as usize,
        "every bad record is an actual in scope"
    );
    let actual = actual_checksum(&map, &acct).await;
    assert!(expected == actual, "seed {seed}: {}", difference(&expected, &actual));
    let burst_ids: HashSet<String> = burst.iter().map(|r| text(&r[id])).collect();
    let burst_in_target = actual
        .keys()
        .filter(|k| burst_ids.contains(k.rsplit('|').next().unwrap()))
        .count() as u64;
    println!("staging: {}", digest(&actual));

    // Every bad record in the dead-letter list, saying what is wrong with it; no valid one.
    let letters = state.list_dead_letters(None, None).await.unwrap();
    let mut by_kind: BTreeMap<Bad, u64> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let mut listed = HashSet::new();
    let bad_keys: BTreeMap<String, (Uuid, Bad)> = bad.iter().map(|(g, k)| (record_key(*g), (*g, *k))).collect();
    for l in &letters {
        let Some((g, kind)) = bad_keys.get(&l.record_key) else {
            panic!("seed {seed}: a record error of a record that is not bad: {l:?}");
        };
        assert!(listed.insert(*g), "one record error per record: {l:?}");
        assert_eq!((l.map.as_str(), l.side.name()), ("actuals", "operational"), "{l:?}");
        if !names_the_problem(l, *kind, projects.get(g)) {
            unexplained.push(format!("{kind:?}: {} ({})", l.message, l.error_kind));
        }
        *by_kind.entry(*kind).or_default() += 1;
    }
    assert!(
        unexplained.is_empty(),
        "seed {seed}: {} record errors do not name their problem:\n{}",
        unexplained.len(),
        unexplained.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
    println!("record errors by kind: {by_kind:?}");
    let dead = letters.len() as u64;
    assert_eq!(dead, bad_n, "seed {seed}: every bad record is in the dead-letter list");
    assert_eq!(
        burst_in_target, valid_n,
        "every valid record of the burst is in the staging table"
    );
    assert_eq!(burst_in_target + dead, n, "valid + bad = the burst");

    // `dualsync errors list` shows them.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args(["errors", "list", "--config", config.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        listing.ends_with(&format!("\n{bad_n} record errors\n")),
        "{}",
        listing.lines().last().unwrap_or_default()
    );
    for (words, kind) in [
        ("option-set code 999", Bad::OptionSet),
        ("decimal(19,4)", Bad::Decimal),
        ("never arrived", Bad::MissingParent),
    ] {
        assert_eq!(
            listing.lines().filter(|l| l.contains(words)).count() as u64,
            by_kind[&kind],
            "lines of `dualsync errors list` naming {words}"
        );
    }

    let status = daemon.status();
    let actuals = parse_status(&status).into_iter().find(|m| m.map == "actuals").unwrap();
    assert_eq!(actuals.state, "running", "{status}");
    assert_eq!(daemon.terminate(Duration::from_secs(30)).code(), Some(0));
    // Record errors are warnings; nothing failed beyond the bad records.
    let log = std::fs::read_to_string(stores.log_path()).unwrap();
    let failures: Vec<&str> = log.lines().filter(|l| l.contains("\"level\":\"ERROR\"")).collect();
    assert!(
        failures.is_empty(),
        "the daemon logged errors:\n{}",
        failures.join("\n")
    );
    println!("{backend}: {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_go_to_the_dead_letter_list_on_sqlite() {
    bad_records_go_to_the_dead_letter_list("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_go_to_the_dead_letter_list_on_postgres() {
    bad_records_go_to_the_dead_letter_list("postgres").await;
}
