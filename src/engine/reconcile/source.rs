//! The source pass of reconcile: source records through the real transform, compared with
//! what the target holds; suspects checked again; the repair by syncing them again.

use std::collections::{HashMap, HashSet};

use super::{Drift, DriftExample, FieldDiff, ReconcileOptions};
use crate::engine::Engine;
use crate::engine::compile::CompiledMap;
use crate::engine::conflict::{self, Agreed, Decision};
use crate::engine::retry::retry;
use crate::engine::state::{key_text, parse_key_text};
use crate::engine::transform::{self, Outcome, RowView, Scope, TargetRecord};
use crate::store::{EntityDesc, Key, Result, Row};
use crate::tablemap::model::Side;
use crate::value::Value;

/// What one source record should be on the target, against what the target holds.
pub(super) enum Verdict {
    InSync,
    LeftOut,
    Missing,
    Differs(Vec<FieldDiff>),
}

impl Engine {
    /// The transform of each row and what the target holds of it.
    pub(super) async fn verdicts(
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
                Some(self.linked(map, from, &keys).await?)
            }
        };
        // Two-way values only the target changed since the last sync flow the other way:
        // what each side held then (the links' agreed values) tells them apart.
        let two_way = conflict::two_way_columns(map, target);
        let synced = match two_way.is_empty() {
            true => HashMap::new(),
            false => {
                let keys: Vec<String> = rows.iter().map(|r| key_text(&desc.key_of(r))).collect();
                self.links_of(map, from, &keys).await?
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
        for (row, records) in rows.iter().zip(wanted) {
            let source_key = key_text(&desc.key_of(row));
            if records.is_empty() {
                out.push((records, Verdict::LeftOut));
                continue;
            }
            let mut verdict = Verdict::InSync;
            for r in &records {
                let cols = columns_of(r);
                let tdesc = &descs[&cols];
                let Some(held_row) = held.get(&(cols, r.key.clone())) else {
                    verdict = Verdict::Missing;
                    break;
                };
                let agreed = synced
                    .get(&(source_key.clone(), self.part(map, r)))
                    .map(|l| Agreed::parse(l.agreed.as_deref()))
                    .unwrap_or_default();
                let theirs = |column: &str, wanted: &Value, held: &Value| {
                    two_way.contains(&column)
                        && conflict::decide(wanted, held, agreed.side(target).get(column)) == Decision::Keep
                };
                let diffs = differences(tdesc, held_row, r, theirs);
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
    pub(super) async fn settle_suspects(
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
}

/// The fields of `wanted` whose value `row` (read with `desc`) does not hold, but those whose
/// difference is the target's own change (`theirs`: column, wanted value, held value).
fn differences(
    desc: &EntityDesc,
    row: &Row,
    wanted: &TargetRecord,
    theirs: impl Fn(&str, &Value, &Value) -> bool,
) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    for (column, value) in &wanted.values {
        let Some(i) = desc.index_of(column) else { continue };
        let held = &row[i];
        if held == value || held.compare(value) == Some(std::cmp::Ordering::Equal) || theirs(column, value, held) {
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
