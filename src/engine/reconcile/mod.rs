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
//!
//! `source` holds the source pass (the transform and the comparison, checking suspects again,
//! the repair by resync); `target` the passes over the target's records and the links.

mod source;
mod target;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use serde::Serialize;

use super::Engine;
use super::compile::CompiledMap;
use super::retry::retry;
use super::state::key_text;
use crate::store::{Key, Result};
use crate::tablemap::model::Side;
use source::Verdict;

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
    /// The kinds of drift this direction looked for.
    fn kinds(&self) -> impl Iterator<Item = &DriftKind> {
        [
            Some(&self.missing),
            Some(&self.differing),
            self.unexpected.as_ref(),
            Some(&self.stale_links),
        ]
        .into_iter()
        .flatten()
    }

    /// How much drift is left (found and not repaired).
    pub fn unrepaired(&self) -> u64 {
        self.kinds().map(|k| k.count - k.repaired).sum()
    }

    pub fn found(&self) -> u64 {
        self.kinds().map(|k| k.count).sum()
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
            // Records the store cannot read are record errors of the sync: left out here too.
            drift.read += (page.rows.len() + page.bad.len()) as u64;
            drift.left_out += page.bad.len() as u64;
            for k in page.bad.iter().filter_map(|b| b.key.as_ref()) {
                source_keys.insert(key_hash(&key_text(k)));
            }
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

    /// Reconciles the maps named in `only` (every map when empty), each in every direction
    /// something of it flows in.
    pub async fn reconcile_maps(&self, only: &[String], options: &ReconcileOptions) -> Result<Vec<Drift>> {
        let mut out = Vec::new();
        for map in self.maps.iter().filter(|m| only.is_empty() || only.contains(&m.name)) {
            for from in directions(map) {
                out.push(self.reconcile(map, from, options).await?);
            }
        }
        Ok(out)
    }

    /// Which of these record keys of `side` a link of `map` names.
    async fn linked(&self, map: &CompiledMap, side: Side, keys: &[String]) -> Result<HashSet<String>> {
        let links = match side {
            Side::Operational => self.state.links_by_operational(&map.name, keys).await?,
            Side::Accounting => self.state.links_by_accounting(&map.name, keys).await?,
        };
        Ok(links
            .into_iter()
            .map(|l| match side {
                Side::Operational => l.operational_key,
                Side::Accounting => l.accounting_key,
            })
            .collect())
    }
}
