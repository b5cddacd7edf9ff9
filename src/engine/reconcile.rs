//! Reconcile: are the two stores in sync through a map, and where not? For one map and one
//! direction, every source record is read in key order, batch by batch, and run through the
//! real transform; what the map says the target should hold is compared with what it holds.
//! Found: records missing on the target, fields that differ (with both values), records on
//! the target that nothing maps to and no link names (`unexpected`), and, where the map
//! deletes, links whose source record is gone (`stale links`: the deletion never arrived).
//!
//! Memory stays bounded: the passes keep only a 64-bit hash per source and expected target
//! key, and at most `RECHECK_AT` suspects at a time. Changes in flight are not drift: each
//! suspect is checked again after `recheck_after` (the daemon syncs what it has seen by then)
//! and reported only if it still differs. A repair goes through the normal pipeline (links
//! told to forget what they last wrote, then the records synced again), so skip rules,
//! record errors and echo suppression apply; an unexpected record is deleted on the target.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use serde::Serialize;

use super::Engine;
use super::compile::CompiledMap;
use super::retry::retry;
use super::state::{key_text, parse_key_text};
use super::transform::{self, Outcome, RowView, Scope, TargetRecord};
use crate::store::{EntityDesc, Key, Result, Row, WriteOp};
use crate::tablemap::model::Side;
use crate::value::Value;

/// How many suspects are gathered before they are checked again.
const RECHECK_AT: usize = 5_000;
/// How many examples of each kind of drift a report keeps.
pub const EXAMPLES: usize = 10;

/// What to do and how.
#[derive(Debug, Clone)]
pub struct ReconcileOptions {
    /// Repair what is found.
    pub repair: bool,
    /// How long to wait before checking a suspect again (the daemon's poll interval and a
    /// batch; zero when no daemon runs).
    pub recheck_after: std::time::Duration,
}

/// One record that is not as the map says.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DriftExample {
    /// The record's key on the side it was found on (the target's for `unexpected`).
    pub record: String,
    /// The differing fields: target column, what the map says, what the target holds.
    pub fields: Vec<FieldDiff>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldDiff {
    pub column: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

/// How many of one kind of drift, a few examples, and how many were repaired.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DriftKind {
    pub count: u64,
    pub repaired: u64,
    pub examples: Vec<DriftExample>,
}

impl DriftKind {
    fn add(&mut self, example: DriftExample) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example);
        }
    }
}

/// What reconcile found for one map in one direction.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Drift {
    pub map: String,
    /// The side records were read from: operational or accounting.
    pub from: String,
    /// Source records read.
    pub read: u64,
    /// Records the target should hold by the map, and of those, how many are as it says.
    pub expected: u64,
    pub in_sync: u64,
    /// Records the map leaves out (out of scope, a skip rule, waiting for a parent, a
    /// record error).
    pub left_out: u64,
    /// Source records the target lacks.
    pub missing: DriftKind,
    /// Records whose fields differ.
    pub differing: DriftKind,
    /// Target records in the map's scope that no source record maps to and no link names.
    /// `None`: not checked (records also come from the target side, which the other
    /// direction checks, or another map writes the same entity).
    pub unexpected: Option<DriftKind>,
    /// Links whose source record is gone.
    pub stale_links: DriftKind,
    /// Suspects that were in sync when checked again (changes in flight).
    pub settled_in_flight: u64,
}

impl Drift {
    /// How much drift is left (found and not repaired).
    pub fn unrepaired(&self) -> u64 {
        let kinds = [
            Some(&self.missing),
            Some(&self.differing),
            self.unexpected.as_ref(),
            Some(&self.stale_links),
        ];
        kinds.into_iter().flatten().map(|k| k.count - k.repaired).sum()
    }

    pub fn found(&self) -> u64 {
        let kinds = [
            Some(&self.missing),
            Some(&self.differing),
            self.unexpected.as_ref(),
            Some(&self.stale_links),
        ];
        kinds.into_iter().flatten().map(|k| k.count).sum()
    }
}

/// The directions in which something of `map` flows: from a side records come from, and from
/// a side whose values (other than the key) are written back to linked records.
pub fn directions(map: &CompiledMap) -> Vec<Side> {
    [Side::Operational, Side::Accounting]
        .into_iter()
        .filter(|&from| {
            let target = from.other();
            map.records.flows_from(from)
                || map.fields.iter().any(|f| {
                    f.constant.is_none()
                        && f.writes(target)
                        && f.column(target)
                            .is_some_and(|c| !map.side(target).key.iter().any(|k| k == c))
                })
        })
        .collect()
}

/// A 64-bit hash of a key text: the passes remember keys by it (8 bytes a record).
fn key_hash(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// What one source record should be on the target, against what the target holds.
enum Verdict {
    InSync,
    LeftOut,
    Missing,
    Differs(Vec<FieldDiff>),
}

impl Engine {
    /// Reconciles `map` in the direction from `from`: see the module's documentation.
    pub async fn reconcile(&self, map: &CompiledMap, from: Side, options: &ReconcileOptions) -> Result<Drift> {
        let target = from.other();
        let store = self.store(from);
        let full = retry(&self.retry, "describe", || store.describe(&map.side(from).entity)).await?;
        let cols = map.columns(from);
        let desc = full.project(&cols.iter().map(String::as_str).collect::<Vec<_>>())?;
        let mut drift = Drift {
            map: map.name.clone(),
            from: from.name().into(),
            read: 0,
            expected: 0,
            in_sync: 0,
            left_out: 0,
            missing: DriftKind::default(),
            differing: DriftKind::default(),
            unexpected: None,
            stale_links: DriftKind::default(),
            settled_in_flight: 0,
        };
        let mut source_keys: HashSet<u64> = HashSet::new();
        let mut expected_keys: HashSet<u64> = HashSet::new();
        let mut suspects: Vec<String> = Vec::new();

        // The source pass.
        let mut after: Option<Key> = None;
        loop {
            let page = retry(&self.retry, "scan", || {
                store.read_page(&desc, after.as_ref(), self.batch_size)
            })
            .await?;
            drift.read += page.rows.len() as u64;
            let verdicts = self.verdicts(map, from, &desc, &page.rows).await?;
            for (row, (records, verdict)) in page.rows.iter().zip(verdicts) {
                let key = key_text(&desc.key_of(row));
                source_keys.insert(key_hash(&key));
                for r in &records {
                    expected_keys.insert(key_hash(&key_text(&r.key)));
                }
                match verdict {
                    Verdict::LeftOut => drift.left_out += 1,
                    Verdict::InSync => {
                        drift.expected += 1;
                        drift.in_sync += 1;
                    }
                    Verdict::Missing | Verdict::Differs(_) => {
                        drift.expected += 1;
                        suspects.push(key);
                    }
                }
            }
            if suspects.len() >= RECHECK_AT {
                self.settle_suspects(map, from, &desc, std::mem::take(&mut suspects), options, &mut drift)
                    .await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        self.settle_suspects(map, from, &desc, suspects, options, &mut drift)
            .await?;

        // Target records nothing maps to: only where records come from this side alone and no
        // other map writes the target entity.
        let shared = self
            .maps
            .iter()
            .any(|m| m.name != map.name && m.side(target).entity.eq_ignore_ascii_case(&map.side(target).entity));
        if map.records.flows_from(from) && !map.records.flows_from(target) && !shared {
            drift.unexpected = Some(self.unexpected(map, target, &expected_keys, options).await?);
        }
        drop(expected_keys);

        // Links whose source record is gone, where the map deletes: the deletion did not reach
        // the target. (Without `deletes`, the link and the target record stay by design; where
        // records come from the other side, that direction finds the record missing.)
        if map.deletes && map.records.flows_from(from) {
            self.stale_links(map, from, &desc, &source_keys, options, &mut drift)
                .await?;
        }
        Ok(drift)
    }

    /// The transform of each row and what the target holds of it.
    async fn verdicts(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        rows: &[Row],
    ) -> Result<Vec<(Vec<TargetRecord>, Verdict)>> {
        let target = from.other();
        let links = self.prefetch(map, from, desc, rows).await?;
        let scope = Scope {
            companies: &self.companies,
        };
        // Where records are created only from the other side, only linked records count.
        let linked: Option<HashSet<String>> = match map.records.flows_from(from) {
            true => None,
            false => {
                let keys: Vec<String> = rows.iter().map(|r| key_text(&desc.key_of(r))).collect();
                let links = match from {
                    Side::Operational => self.state.links_by_operational(&map.name, &keys).await?,
                    Side::Accounting => self.state.links_by_accounting(&map.name, &keys).await?,
                };
                Some(
                    links
                        .into_iter()
                        .map(|l| match from {
                            Side::Operational => l.operational_key,
                            Side::Accounting => l.accounting_key,
                        })
                        .collect(),
                )
            }
        };
        let mut wanted: Vec<Vec<TargetRecord>> = Vec::with_capacity(rows.len());
        for row in rows {
            let records = match transform::transform(map, from, &RowView::new(desc, row), &links, &scope) {
                Outcome::Records(records) => records,
                _ => Vec::new(),
            };
            let is_linked = linked.as_ref().is_none_or(|l| l.contains(&key_text(&desc.key_of(row))));
            wanted.push(if is_linked { records } else { Vec::new() });
        }
        // What the target holds, read by key, one read per column set.
        let target_store = self.store(target);
        let full = retry(&self.retry, "describe", || {
            target_store.describe(&map.side(target).entity)
        })
        .await?;
        let columns_of = |r: &TargetRecord| -> Vec<String> { r.values.iter().map(|(c, _)| c.to_string()).collect() };
        let mut groups: HashMap<Vec<String>, Vec<Key>> = HashMap::new();
        for r in wanted.iter().flatten() {
            groups.entry(columns_of(r)).or_default().push(r.key.clone());
        }
        let mut held: HashMap<(Vec<String>, Key), Row> = HashMap::new();
        let mut descs: HashMap<Vec<String>, EntityDesc> = HashMap::new();
        for (cols, keys) in groups {
            let tdesc = full.project(&cols.iter().map(String::as_str).collect::<Vec<_>>())?;
            let read = retry(&self.retry, "read target", || target_store.read(&tdesc, &keys)).await?;
            for row in read.rows {
                held.insert((cols.clone(), tdesc.key_of(&row)), row);
            }
            descs.insert(cols, tdesc);
        }
        let mut out = Vec::with_capacity(rows.len());
        for records in wanted {
            if records.is_empty() {
                out.push((records, Verdict::LeftOut));
                continue;
            }
            let mut verdict = Verdict::InSync;
            for r in &records {
                let cols = columns_of(r);
                let tdesc = &descs[&cols];
                let Some(row) = held.get(&(cols, r.key.clone())) else {
                    verdict = Verdict::Missing;
                    break;
                };
                let diffs = differences(tdesc, row, r);
                if !diffs.is_empty() {
                    match &mut verdict {
                        Verdict::Differs(all) => all.extend(diffs),
                        _ => verdict = Verdict::Differs(diffs),
                    }
                }
            }
            out.push((records, verdict));
        }
        Ok(out)
    }

    /// Checks suspects again after the delay; those still out of sync are reported, and
    /// repaired when asked.
    async fn settle_suspects(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        suspects: Vec<String>,
        options: &ReconcileOptions,
        drift: &mut Drift,
    ) -> Result<()> {
        if suspects.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(options.recheck_after).await;
        let still = self.recheck(map, from, desc, &suspects).await?;
        drift.settled_in_flight += (suspects.len() - still.len()) as u64;
        drift.in_sync += (suspects.len() - still.len()) as u64;
        let mut missing = Vec::new();
        let mut differing = Vec::new();
        for (key, verdict) in still {
            match verdict {
                Verdict::Missing => {
                    drift.missing.add(DriftExample {
                        record: key.clone(),
                        fields: Vec::new(),
                    });
                    missing.push(key);
                }
                Verdict::Differs(fields) => {
                    drift.differing.add(DriftExample {
                        record: key.clone(),
                        fields,
                    });
                    differing.push(key);
                }
                Verdict::InSync | Verdict::LeftOut => {}
            }
        }
        if options.repair {
            let all: Vec<String> = missing.iter().chain(&differing).cloned().collect();
            self.resync_forgetting(map, from, &all).await?;
            let after = self.recheck(map, from, desc, &all).await?;
            let left: HashSet<&String> = after.iter().map(|(k, _)| k).collect();
            drift.missing.repaired += missing.iter().filter(|k| !left.contains(k)).count() as u64;
            drift.differing.repaired += differing.iter().filter(|k| !left.contains(k)).count() as u64;
        }
        Ok(())
    }

    /// The source records `keys` read again and compared again: those that still differ
    /// (a record gone meanwhile is not reported here; the link pass sees it).
    async fn recheck(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        keys: &[String],
    ) -> Result<Vec<(String, Verdict)>> {
        let types: Vec<_> = desc.key_columns().map(|c| c.value_type).collect();
        let parsed: Vec<Key> = keys.iter().filter_map(|t| parse_key_text(t, &types)).collect();
        let store = self.store(from);
        let mut out = Vec::new();
        for chunk in parsed.chunks(self.batch_size.max(1)) {
            let read = retry(&self.retry, "read records", || store.read(desc, chunk)).await?;
            let verdicts = self.verdicts(map, from, desc, &read.rows).await?;
            for (row, (_, verdict)) in read.rows.iter().zip(verdicts) {
                if matches!(verdict, Verdict::Missing | Verdict::Differs(_)) {
                    out.push((key_text(&desc.key_of(row)), verdict));
                }
            }
        }
        Ok(out)
    }

    /// Syncs these source records again through the pipeline, after their links forget the
    /// values last written (which would otherwise make them look unchanged).
    async fn resync_forgetting(&self, map: &CompiledMap, from: Side, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        for chunk in keys.chunks(self.batch_size.max(1)) {
            let mut links = match from {
                Side::Operational => self.state.links_by_operational(&map.name, chunk).await?,
                Side::Accounting => self.state.links_by_accounting(&map.name, chunk).await?,
            };
            for l in &mut links {
                match from {
                    Side::Operational => l.hash_to_accounting = None,
                    Side::Accounting => l.hash_to_operational = None,
                }
            }
            self.state.upsert_links(&links).await?;
            self.resync(map, from, chunk).await?;
        }
        Ok(())
    }

    /// The target pass: records of the target entity in the map's scope that no source record
    /// maps to and no link of the map names.
    async fn unexpected(
        &self,
        map: &CompiledMap,
        target: Side,
        expected: &HashSet<u64>,
        options: &ReconcileOptions,
    ) -> Result<DriftKind> {
        let store = self.store(target);
        let full = retry(&self.retry, "describe", || store.describe(&map.side(target).entity)).await?;
        let side = map.side(target);
        let mut cols: Vec<&str> = side.key.iter().map(String::as_str).collect();
        if let Some(c) = side.company.as_deref()
            && !cols.contains(&c)
        {
            cols.push(c);
        }
        let desc = full.project(&cols)?;
        let company = side.company.as_deref().and_then(|c| desc.index_of(c));
        let mut found = DriftKind::default();
        let mut suspects: Vec<Key> = Vec::new();
        let mut after: Option<Key> = None;
        loop {
            let page = retry(&self.retry, "scan", || {
                store.read_page(&desc, after.as_ref(), self.batch_size)
            })
            .await?;
            for row in &page.rows {
                let in_scope = match company {
                    Some(i) => {
                        self.companies.is_empty() || self.companies.iter().any(|c| Value::Text(c.clone()) == row[i])
                    }
                    None => true,
                };
                let key = desc.key_of(row);
                if in_scope && !expected.contains(&key_hash(&key_text(&key))) {
                    suspects.push(key);
                }
            }
            if suspects.len() >= RECHECK_AT || page.next.is_none() {
                self.settle_unexpected(map, target, &desc, std::mem::take(&mut suspects), options, &mut found)
                    .await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(found)
    }

    /// Unexpected suspects: those no link names and the target still holds after the delay
    /// are reported, and deleted when asked.
    async fn settle_unexpected(
        &self,
        map: &CompiledMap,
        target: Side,
        desc: &EntityDesc,
        suspects: Vec<Key>,
        options: &ReconcileOptions,
        found: &mut DriftKind,
    ) -> Result<()> {
        if suspects.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(options.recheck_after).await;
        let store = self.store(target);
        for chunk in suspects.chunks(self.batch_size.max(1)) {
            let texts: Vec<String> = chunk.iter().map(|k| key_text(k)).collect();
            let links = match target {
                Side::Operational => self.state.links_by_operational(&map.name, &texts).await?,
                Side::Accounting => self.state.links_by_accounting(&map.name, &texts).await?,
            };
            let named: HashSet<String> = links
                .into_iter()
                .map(|l| match target {
                    Side::Operational => l.operational_key,
                    Side::Accounting => l.accounting_key,
                })
                .collect();
            let unnamed: Vec<Key> = chunk
                .iter()
                .filter(|k| !named.contains(&key_text(k)))
                .cloned()
                .collect();
            let read = retry(&self.retry, "read target", || store.read(desc, &unnamed)).await?;
            let held: Vec<Key> = read.rows.iter().map(|r| desc.key_of(r)).collect();
            for k in &held {
                found.add(DriftExample {
                    record: key_text(k),
                    fields: Vec::new(),
                });
            }
            if options.repair && !held.is_empty() {
                let keys = desc.project(&[])?;
                let ops: Vec<WriteOp> = held.iter().cloned().map(WriteOp::Delete).collect();
                let outcomes = self.write(map, target, &keys, &ops).await?;
                found.repaired += outcomes
                    .iter()
                    .filter(|o| matches!(o, crate::store::RowOutcome::Deleted { existed: true }))
                    .count() as u64;
            }
        }
        Ok(())
    }

    /// The link pass: links of the map whose source record was not read (gone); checked again
    /// after the delay, reported, and when asked synced as deletions through the pipeline.
    async fn stale_links(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        source_keys: &HashSet<u64>,
        options: &ReconcileOptions,
        drift: &mut Drift,
    ) -> Result<()> {
        let mut after: Option<String> = None;
        let mut suspects: Vec<String> = Vec::new();
        loop {
            let keys = self
                .state
                .linked_keys(&map.name, from.name(), after.as_deref(), self.batch_size.max(1))
                .await?;
            let Some(last) = keys.last().cloned() else { break };
            suspects.extend(keys.into_iter().filter(|k| !source_keys.contains(&key_hash(k))));
            after = Some(last);
            if suspects.len() >= RECHECK_AT {
                self.settle_stale(map, from, desc, std::mem::take(&mut suspects), options, drift)
                    .await?;
            }
        }
        self.settle_stale(map, from, desc, suspects, options, drift).await
    }

    async fn settle_stale(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        suspects: Vec<String>,
        options: &ReconcileOptions,
        drift: &mut Drift,
    ) -> Result<()> {
        if suspects.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(options.recheck_after).await;
        let gone = self.gone(from, desc, &suspects).await?;
        for key in &gone {
            drift.stale_links.add(DriftExample {
                record: key.clone(),
                fields: Vec::new(),
            });
        }
        if options.repair && !gone.is_empty() {
            // The pipeline syncs a record that is gone as a deletion: the target record (where
            // the map deletes) and the link go.
            for chunk in gone.chunks(self.batch_size.max(1)) {
                self.resync(map, from, chunk).await?;
            }
            let still = self.gone(from, desc, &gone).await?;
            let texts: Vec<String> = still.clone();
            let links = match from {
                Side::Operational => self.state.links_by_operational(&map.name, &texts).await?,
                Side::Accounting => self.state.links_by_accounting(&map.name, &texts).await?,
            };
            let linked: HashSet<String> = links
                .into_iter()
                .map(|l| match from {
                    Side::Operational => l.operational_key,
                    Side::Accounting => l.accounting_key,
                })
                .collect();
            drift.stale_links.repaired += gone.iter().filter(|k| !linked.contains(*k)).count() as u64;
        }
        Ok(())
    }

    /// Of these source keys, those whose record the source store does not hold.
    async fn gone(&self, from: Side, desc: &EntityDesc, keys: &[String]) -> Result<Vec<String>> {
        let types: Vec<_> = desc.key_columns().map(|c| c.value_type).collect();
        let store = self.store(from);
        let mut out = Vec::new();
        for chunk in keys.chunks(self.batch_size.max(1)) {
            let parsed: Vec<Key> = chunk.iter().filter_map(|t| parse_key_text(t, &types)).collect();
            let read = retry(&self.retry, "read records", || store.read(desc, &parsed)).await?;
            let present: HashSet<String> = read
                .rows
                .iter()
                .map(|r| key_text(&desc.key_of(r)))
                .chain(read.bad.iter().filter_map(|b| b.key.as_ref().map(|k| key_text(k))))
                .collect();
            out.extend(chunk.iter().filter(|k| !present.contains(*k)).cloned());
        }
        Ok(out)
    }
}

/// The fields of `wanted` whose value `row` (read with `desc`) does not hold.
fn differences(desc: &EntityDesc, row: &Row, wanted: &TargetRecord) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    for (column, value) in &wanted.values {
        let Some(i) = desc.index_of(column) else { continue };
        let held = &row[i];
        if held == value || held.compare(value) == Some(std::cmp::Ordering::Equal) {
            continue;
        }
        let text = |v: &Value| (!v.is_null()).then(|| v.to_string());
        out.push(FieldDiff {
            column: column.to_string(),
            expected: text(value),
            actual: text(held),
        });
    }
    out
}
