//! Support of the fault tests (tests/faults.rs, tests/crash.rs, tests/bad_records.rs): the
//! seeded random generator and the seed (`DUALSYNC_FAULT_SEED`), the scale
//! (`DUALSYNC_FAULT_SCALE`), writes to the operational store as another program makes them, and
//! the content checksum that compares what the accounting side holds with what the maps send
//! from the operational side. See docs/faults.md.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use dualsync::engine::compile::{CompiledMap, compile};
use dualsync::engine::transform::RowView;
use dualsync::store::{EntityDesc, Key, Row, RowOutcome, Store, WriteOp};
use dualsync::tablemap::{self, model::Side};
use dualsync::value::Value;

/// The companies (legal entities) in scope of every daemon under test (`DaemonStores::write_config`).
pub const COMPANIES: [&str; 2] = ["USPM", "DEMF"];

/// `DUALSYNC_FAULT_SCALE`: the number of actuals a fault test works with (`100000` or
/// `100_000`), or the test's own small CI size `default` when the variable is not set.
pub fn fault_scale(default: u64) -> u64 {
    match std::env::var("DUALSYNC_FAULT_SCALE") {
        Ok(s) => {
            let n: u64 = s
                .trim()
                .replace('_', "")
                .parse()
                .unwrap_or_else(|_| panic!("DUALSYNC_FAULT_SCALE={s} is not a number of actuals"));
            assert!(n > 0, "DUALSYNC_FAULT_SCALE must be at least 1");
            n
        }
        Err(_) => default,
    }
}

/// A waiting limit for a test at `scale` actuals: `base` as written for the CI scale, plus
/// 20 ms per actual above `default_scale` (debug builds sync a few hundred records a second).
pub fn scaled_timeout(base: Duration, scale: u64, default_scale: u64) -> Duration {
    base + Duration::from_millis(20 * scale.saturating_sub(default_scale))
}

/// Writes `ops` to the operational store as an application would: a transient error (a
/// deadlock victim, a locked file) is recorded in `errors` and the write tried again (50
/// times at most). Every row must be written.
pub async fn write_as_user(store: &dyn Store, desc: &EntityDesc, ops: &[WriteOp], errors: &mut Vec<String>) {
    let mut attempts = 0;
    let outcomes = loop {
        match store.apply(desc, ops).await {
            Ok(o) => break o,
            Err(e) if e.is_transient() && attempts < 50 => {
                attempts += 1;
                errors.push(e.message.clone());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("write to the operational store: {e}"),
        }
    };
    assert!(
        outcomes.iter().all(|o| matches!(o, RowOutcome::Written)),
        "{outcomes:?}"
    );
}

/// SplitMix64: a small, seedable generator, so a failing run can be repeated.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// `DUALSYNC_FAULT_SEED`, or one taken from the clock; printed either way.
pub fn fault_seed(test: &str) -> u64 {
    let seed = std::env::var("DUALSYNC_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("{test}: seed {seed} (repeat with DUALSYNC_FAULT_SEED={seed})");
    seed
}

pub fn shipped_map(name: &str) -> CompiledMap {
    let loaded = tablemap::load(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")]).unwrap();
    let map = loaded.valid.iter().find(|m| m.map().name == name).expect("shipped map");
    compile(map)
}

// ---------------------------------------------------------------------------------------------
// Target = source: the content checksum of one map.

/// Every record of `entity`, read in key order with all its columns.
pub async fn scan_all(store: &dyn Store, entity: &str) -> (EntityDesc, Vec<Row>) {
    let desc = store.describe(entity).await.unwrap();
    let (mut rows, mut after) = (Vec::new(), None::<Key>);
    loop {
        let page = store.scan(&desc, after.as_ref(), 5000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(desc.key_of(last));
        rows.extend(page);
    }
    (desc, rows)
}

/// A value as text, decimals without trailing zeros (a store may keep `1.5000` as `1.5`).
pub fn text(v: &Value) -> String {
    match v {
        Value::Decimal(d) => d.normalize().to_string(),
        v => v.to_string(),
    }
}

/// A field sent to the accounting side: operational column, accounting column, and the
/// option-set codes' accounting texts.
pub type SentField<'a> = (&'a str, &'a str, Option<&'a HashMap<i64, String>>);

/// The fields of `map` whose values flow from the operational to the accounting side.
pub fn sent_fields(map: &CompiledMap) -> Vec<SentField<'_>> {
    map.fields
        .iter()
        .filter(|f| f.direction.flows_from(Side::Operational) && f.constant.is_none())
        .filter_map(|f| {
            Some((
                f.operational.as_deref()?,
                f.accounting.as_deref()?,
                f.to_accounting.as_ref(),
            ))
        })
        .collect()
}

/// What the accounting side must hold for `map`, computed from the operational records
/// independently of the engine: records out of the company scope or skipped by a rule are left
/// out; option-set codes become their accounting text; lookups keep the GUID (every parent map
/// shipped keys both sides by the same GUID). Accounting key text -> mapped values text.
pub async fn expected_checksum(map: &CompiledMap, op: &dyn Store) -> BTreeMap<String, String> {
    let fields = sent_fields(map);
    let (desc, rows) = scan_all(op, &map.operational.entity).await;
    let company = map.operational.company.as_deref();
    let mut out = BTreeMap::new();
    for row in &rows {
        let view = RowView::new(&desc, row);
        let get = |col: &str| view.get(col).cloned().unwrap_or(Value::Null);
        if let Some(c) = company
            && !COMPANIES.iter().any(|x| Value::Text(x.to_string()) == get(c))
        {
            continue;
        }
        if map.operational.filter.as_ref().is_some_and(|f| !f.eval(&view)) {
            continue;
        }
        if map
            .skip
            .iter()
            .any(|s| s.side == Side::Operational && s.when.eval(&view))
        {
            continue;
        }
        let key: Vec<String> = map
            .accounting
            .key
            .iter()
            .map(|k| {
                if map.accounting.company.as_deref() == Some(k) {
                    text(&get(company.expect("a company column")))
                } else {
                    let (o, _, _) = fields.iter().find(|(_, a, _)| a == k).expect("key field");
                    text(&get(o))
                }
            })
            .collect();
        let values: Vec<String> = fields
            .iter()
            .map(|(o, a, codes)| {
                let v = match (get(o), codes) {
                    (Value::Int(code), Some(codes)) => codes.get(&code).cloned().unwrap_or_else(|| format!("?{code}")),
                    (v, _) => text(&v),
                };
                format!("{a}={v}")
            })
            .collect();
        out.insert(key.join("|"), values.join(";"));
    }
    out
}

/// What the accounting side holds for `map`, in the form of `expected_checksum`. Panics if a
/// key occurs twice.
pub async fn actual_checksum(map: &CompiledMap, acct: &dyn Store) -> BTreeMap<String, String> {
    let fields = sent_fields(map);
    let (desc, rows) = scan_all(acct, &map.accounting.entity).await;
    let mut out = BTreeMap::new();
    for row in &rows {
        let view = RowView::new(&desc, row);
        let get = |col: &str| view.get(col).cloned().unwrap_or(Value::Null);
        let key: Vec<String> = map.accounting.key.iter().map(|k| text(&get(k))).collect();
        let values: Vec<String> = fields
            .iter()
            .map(|(_, a, _)| format!("{a}={}", text(&get(a))))
            .collect();
        let key = key.join("|");
        assert!(
            out.insert(key.clone(), values.join(";")).is_none(),
            "{} holds {key} twice",
            map.accounting.entity
        );
    }
    assert_eq!(out.len(), rows.len(), "one accounting record per key");
    out
}

/// A stable digest of a checksum list, to print.
pub fn digest(list: &BTreeMap<String, String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in list {
        for b in k.bytes().chain([0]).chain(v.bytes()).chain([1]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x} over {} records", list.len())
}

/// What differs between the expected and the actual list, for a failure message.
pub fn difference(expected: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) -> String {
    let missing: Vec<&String> = expected.keys().filter(|k| !actual.contains_key(*k)).collect();
    let extra: Vec<&String> = actual.keys().filter(|k| !expected.contains_key(*k)).collect();
    let differ: Vec<String> = expected
        .iter()
        .filter_map(|(k, v)| {
            let a = actual.get(k)?;
            (a != v).then(|| format!("  {k}\n    expected {v}\n    actual   {a}"))
        })
        .collect();
    format!(
        "expected {} records, the accounting side holds {}; missing {} (e.g. {:?}), unexpected {} (e.g. {:?}), \
         different {}:\n{}",
        expected.len(),
        actual.len(),
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(5).collect::<Vec<_>>(),
        differ.len(),
        differ.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    )
}

/// Compares the maps' checksums until they agree on two polls in a row, a second apart, with
/// the same content (Ok with the digests), or `timeout` passes (Err with the last difference).
pub async fn wait_in_sync(
    maps: &[CompiledMap],
    op: &dyn Store,
    acct: &dyn Store,
    timeout: Duration,
) -> Result<String, String> {
    let started = Instant::now();
    let mut previous: Option<String> = None;
    loop {
        let mut report = Vec::new();
        let mut diff = None;
        for map in maps {
            let expected = expected_checksum(map, op).await;
            let actual = actual_checksum(map, acct).await;
            if expected == actual {
                report.push(format!("{}: {}", map.name, digest(&actual)));
            } else {
                diff = Some(format!("{}: {}", map.name, difference(&expected, &actual)));
                break;
            }
        }
        match diff {
            None if previous.as_deref() == Some(report.join("; ").as_str()) => return Ok(report.join("; ")),
            None => {
                previous = Some(report.join("; "));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Some(d) if started.elapsed() > timeout => return Err(d),
            Some(_) => {
                previous = None;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// For a map whose records come from the accounting side (`records = "<"`): what the
/// operational side must hold, computed from the accounting records in scope (company, the
/// accounting filter), keyed by the operational key; values in accounting terms (option-set codes
/// as their accounting text).
pub async fn expected_received(map: &CompiledMap, acct: &dyn Store) -> BTreeMap<String, String> {
    let fields: Vec<&dualsync::engine::compile::CompiledField> = map
        .fields
        .iter()
        .filter(|f| f.direction.flows_from(Side::Accounting) && f.constant.is_none())
        .collect();
    let (desc, rows) = scan_all(acct, &map.accounting.entity).await;
    let company = map.accounting.company.as_deref();
    let mut out = BTreeMap::new();
    for row in &rows {
        let view = RowView::new(&desc, row);
        let get = |col: &str| view.get(col).cloned().unwrap_or(Value::Null);
        if let Some(c) = company
            && !COMPANIES.iter().any(|x| Value::Text(x.to_string()) == get(c))
        {
            continue;
        }
        if map.accounting.filter.as_ref().is_some_and(|f| !f.eval(&view)) {
            continue;
        }
        let key: Vec<String> = map
            .operational
            .key
            .iter()
            .map(|k| {
                if map.operational.company.as_deref() == Some(k) {
                    text(&get(company.expect("a company column")))
                } else {
                    let f = fields
                        .iter()
                        .find(|f| f.operational.as_deref() == Some(k))
                        .expect("key field");
                    text(&get(f.accounting.as_deref().expect("an accounting column")))
                }
            })
            .collect();
        let values: Vec<String> = fields
            .iter()
            .filter_map(|f| {
                let a = f.accounting.as_deref()?;
                Some(format!("{a}={}", text(&get(a))))
            })
            .collect();
        out.insert(key.join("|"), values.join(";"));
    }
    out
}

/// What the operational side holds for a map whose records come from the accounting side, in
/// the form of `expected_received` (records outside the companies left out).
pub async fn actual_received(map: &CompiledMap, op: &dyn Store) -> BTreeMap<String, String> {
    let (desc, rows) = scan_all(op, &map.operational.entity).await;
    let company = map.operational.company.as_deref();
    let mut out = BTreeMap::new();
    for row in &rows {
        let view = RowView::new(&desc, row);
        let get = |col: &str| view.get(col).cloned().unwrap_or(Value::Null);
        if let Some(c) = company
            && !COMPANIES.iter().any(|x| Value::Text(x.to_string()) == get(c))
        {
            continue;
        }
        let key: Vec<String> = map.operational.key.iter().map(|k| text(&get(k))).collect();
        let values: Vec<String> = map
            .fields
            .iter()
            .filter(|f| f.direction.flows_from(Side::Accounting) && f.constant.is_none())
            .filter_map(|f| {
                let (o, a) = (f.operational.as_deref()?, f.accounting.as_deref()?);
                let v = match (get(o), &f.to_accounting) {
                    (Value::Int(code), Some(codes)) => codes.get(&code).cloned().unwrap_or_else(|| format!("?{code}")),
                    (v, _) => text(&v),
                };
                Some(format!("{a}={v}"))
            })
            .collect();
        assert!(out.insert(key.join("|"), values.join(";")).is_none(), "a key twice");
    }
    out
}
