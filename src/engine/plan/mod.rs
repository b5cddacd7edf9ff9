//! Plan: what adopting an edited map would do to the records, before it is adopted. The
//! daemon adopts an edit by syncing every record of the map again (its initial sync, after the
//! checkpoint is cleared); the plan runs the same passes in the same order over the same
//! records, through the real transform and the pipeline's own decisions (the link's last hash,
//! what the target holds, the initial-sync master for two-way fields), and writes nothing.
//!
//! Each pass counts what the initial sync would count (read, written, unchanged, skipped,
//! parked, failed), and, against the running definition, which records a rule newly skips or
//! a filter newly leaves out, which start to sync, and which fields change, with examples
//! (what the target holds → what it would hold).
//!
//! The write-back pass (accounting records, for maps whose values also flow back) reads the
//! accounting records as the main pass would have left them: for each batch, the values the
//! main pass would write to those records are laid over them first (`batch::overlay`).
//! Records the main pass would create are not in the store yet; they are counted in the
//! write-back pass as read and unchanged (their values are the ones just written).
//!
//! Memory is bounded like a sync's: one batch at a time, and a few examples.

mod batch;
mod pass;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use super::Engine;
use super::compile::{self, CompiledMap};
use super::state::{MapDefinition, MapState, SyncCounts};
use crate::store::Result;
use crate::tablemap::model::Side;
use crate::tablemap::{self, SourceFile};

/// How many examples each kind of change keeps.
pub const EXAMPLES: usize = 5;

/// One value a record would change: the record's key, what the target holds, what it would hold.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ValueChange {
    pub record: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The records whose value in one target column would change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub column: String,
    pub records: u64,
    pub examples: Vec<ValueChange>,
}

/// Records a plan names, counted, with a few examples (record keys, with the rule where a skip
/// rule is why).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Records {
    pub count: u64,
    pub examples: Vec<String>,
}

impl Records {
    fn add(&mut self, example: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example());
        }
    }
}

/// What one pass of the initial sync would do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PassPlan {
    /// The side the pass reads: operational (the main pass) or accounting (the write-back).
    pub from: String,
    /// What the initial sync would count.
    pub counts: SyncCounts,
    /// Of the records written, those the target lacks (created).
    pub created: u64,
    /// Links whose last written values would be updated (records written, or found already
    /// equal with values that differ from the link's).
    pub links_updated: u64,
    /// Compared with the running definition (`None` when it is not known: a new map, or one
    /// last adopted by a release that did not keep its definition):
    /// records a skip rule now leaves out that synced before (example: key and rule),
    pub newly_skipped: Option<Records>,
    /// records the side's filter or the companies now leave out that synced before,
    pub newly_out_of_scope: Option<Records>,
    /// records that sync now and were left out before.
    pub newly_synced: Option<Records>,
    /// The target columns whose values would change, by column (created records not counted).
    pub fields: Vec<FieldChange>,
}

impl PassPlan {
    pub(super) fn new(from: Side, known: bool) -> PassPlan {
        let known = known.then(Records::default);
        PassPlan {
            from: from.name().to_string(),
            counts: SyncCounts::default(),
            created: 0,
            links_updated: 0,
            newly_skipped: known.clone(),
            newly_out_of_scope: known.clone(),
            newly_synced: known,
            fields: Vec::new(),
        }
    }

    fn change(&mut self, column: &str, record: &str, old: Option<String>, new: Option<String>) {
        let i = match self.fields.iter().position(|f| f.column == column) {
            Some(i) => i,
            None => {
                self.fields.push(FieldChange {
                    column: column.to_string(),
                    records: 0,
                    examples: Vec::new(),
                });
                self.fields.len() - 1
            }
        };
        let f = &mut self.fields[i];
        f.records += 1;
        if f.examples.len() < EXAMPLES {
            f.examples.push(ValueChange {
                record: record.to_string(),
                old,
                new,
            });
        }
    }
}

/// The counts of passes added up.
pub fn total(passes: &[PassPlan]) -> SyncCounts {
    passes
        .iter()
        .fold(SyncCounts::default(), |a, p| crate::engine::initial::add(a, p.counts))
}

/// How a map differs from the definition the daemon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MapChange {
    /// Not run before: adopting it runs its initial sync.
    New,
    /// What it syncs changed: adopting it syncs every record again.
    Edited,
    /// Nothing it syncs changed (at most its title, descriptions or version).
    Unchanged,
    /// Run now, and not among the maps: adopting them stops it (nothing is deleted).
    Removed,
}

/// What adopting the maps would do to one map.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MapPlan {
    pub map: String,
    pub change: MapChange,
    /// Whether adopting it syncs every record again (its initial sync).
    pub resync: bool,
    /// Whether the definition it runs is known (kept by the state store), so that what is
    /// *newly* skipped or synced can be told.
    pub running_known: bool,
    /// The passes of the initial sync, in order (empty when nothing is synced again).
    pub passes: Vec<PassPlan>,
    /// The counts of all passes together, as the initial sync reports them.
    pub total: SyncCounts,
}

impl MapPlan {
    /// Whether adopting it would change records or what runs.
    pub fn changes(&self) -> bool {
        let newly = |r: &Option<Records>| r.as_ref().is_some_and(|r| r.count > 0);
        matches!(self.change, MapChange::New | MapChange::Removed)
            || self.total.written > 0
            || self
                .passes
                .iter()
                .any(|p| newly(&p.newly_skipped) || newly(&p.newly_out_of_scope))
    }
}

impl Engine {
    /// What adopting this engine's maps would do, compared with the maps the state store
    /// says run: each map named in `only` (every map when empty), in dependency order, then
    /// the maps that would stop. `progress` is told the map being read and the records read.
    pub async fn plan_maps(&self, only: &[String], progress: &mut dyn FnMut(&str, u64)) -> Result<Vec<MapPlan>> {
        let running = self.state.map_definitions().await?;
        let wanted = |name: &str| only.is_empty() || only.iter().any(|m| m == name);
        let old = running_maps(&running);
        let mut out = Vec::new();
        for map in self.maps.iter().filter(|m| wanted(&m.name)) {
            let kept = running.iter().find(|d| d.map == map.name && d.checksum.is_some());
            let (change, before) = match kept {
                None => (MapChange::New, None),
                Some(d) if d.checksum.as_deref().is_some_and(|c| map.same_definition_as(c)) => {
                    (MapChange::Unchanged, None)
                }
                Some(_) => (MapChange::Edited, old.get(&map.name)),
            };
            let passes = match change {
                MapChange::Unchanged => Vec::new(),
                _ => self.plan(before, map, &mut |n| progress(&map.name, n)).await?,
            };
            out.push(MapPlan {
                map: map.name.clone(),
                change,
                resync: change != MapChange::Unchanged,
                running_known: before.is_some(),
                total: total(&passes),
                passes,
            });
        }
        for d in &running {
            let runs = d.checksum.is_some() && d.state != MapState::Stopped;
            if runs && wanted(&d.map) && self.map(&d.map).is_none() {
                out.push(MapPlan {
                    map: d.map.clone(),
                    change: MapChange::Removed,
                    resync: false,
                    running_known: d.definition.is_some(),
                    passes: Vec::new(),
                    total: SyncCounts::default(),
                });
            }
        }
        Ok(out)
    }
}

/// The running maps, compiled from the definitions the state store kept, by name. They are
/// checked together, as the set they ran as; when one was not kept (adopted by an earlier
/// release), or this release no longer accepts the set, none is known (their plans then tell
/// nothing apart as newly skipped or synced).
fn running_maps(running: &[MapDefinition]) -> HashMap<String, CompiledMap> {
    let sources: Vec<SourceFile> = running
        .iter()
        .filter_map(|d| {
            let text = d.definition.clone()?;
            Some(SourceFile::new(
                PathBuf::from(format!("<running {}>.toml", d.map)),
                text,
            ))
        })
        .collect();
    let loaded = tablemap::load_sources(sources);
    if !loaded.is_valid() {
        return HashMap::new();
    }
    loaded
        .valid
        .iter()
        .map(|v| (v.map().name.clone(), compile::compile(v)))
        .collect()
}
