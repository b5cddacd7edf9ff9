//! Map states: what each map is doing (stopped, initial sync, running, paused, failed), the
//! checksum and definition of the map it runs, and the counters the status command shows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Cols, StateStore, count_arg, now, opt_text, text, time};
use crate::store::{Position, Result};
use crate::value::ValueType;

text_enum! {
    /// What a map is doing.
    pub enum MapState ("map state") {
        Stopped = "stopped",
        InitialSync = "initial-sync",
        Running = "running",
        Paused = "paused",
        Failed = "failed",
    }
}

/// A map's state and counters, as the status command shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapStatus {
    pub map: String,
    pub state: MapState,
    /// Checksum of the map file the map runs, once recorded.
    pub checksum: Option<String>,
    /// Why the map is in this state (the error of a failed map, the reason of a pause).
    pub message: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Records applied by live sync so far.
    pub applied: u64,
    pub last_applied_at: Option<DateTime<Utc>>,
    /// The change-feed positions of the map, by side name (from `feed_positions`).
    pub cursors: BTreeMap<String, Position>,
}

/// The definition a map runs, as the state store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDefinition {
    pub map: String,
    pub state: MapState,
    pub checksum: Option<String>,
    /// The map as TOML, as adopted.
    pub definition: Option<String>,
}

const MAP_SELECT: &str = "SELECT map, state, checksum, message, updated_at, applied, last_applied_at FROM map_states";
const MAP_TYPES: [ValueType; 7] = {
    use ValueType::{DateTime, Int, Text};
    [Text, Text, Text, Text, DateTime, Int, DateTime]
};

fn map_status_of(mut c: Cols) -> Result<MapStatus> {
    Ok(MapStatus {
        map: c.text()?,
        state: c.parsed()?,
        checksum: c.opt_text()?,
        message: c.opt_text()?,
        updated_at: c.time()?,
        applied: c.count()?,
        last_applied_at: c.opt_time()?,
        cursors: BTreeMap::new(),
    })
}

impl StateStore {
    /// A map's state, or `None` for a map the engine never ran.
    pub async fn get_map_state(&self, map: &str) -> Result<Option<MapStatus>> {
        let sql = format!("{MAP_SELECT} WHERE map = ?");
        let Some(row) = self.fetch_one(&sql, &[text(map)], &MAP_TYPES).await? else {
            return Ok(None);
        };
        let mut status = map_status_of(row)?;
        status.cursors = self
            .cursors_where("WHERE map = ?", &[text(map)])
            .await?
            .remove(map)
            .unwrap_or_default();
        Ok(Some(status))
    }

    /// The names of the paused maps: one query, for the live loop's every round.
    pub async fn paused_maps(&self) -> Result<std::collections::HashSet<String>> {
        self.names(
            "SELECT map FROM map_states WHERE state = ?",
            &[text(MapState::Paused.as_str())],
        )
        .await
    }

    /// Every map's state, by map name.
    pub async fn list_map_states(&self) -> Result<Vec<MapStatus>> {
        let mut cursors = self.cursors_where("", &[]).await?;
        let sql = format!("{MAP_SELECT} ORDER BY map");
        let mut out = Vec::new();
        for row in self.fetch(&sql, &[], &MAP_TYPES).await? {
            let mut status = map_status_of(row)?;
            status.cursors = cursors.remove(&status.map).unwrap_or_default();
            out.push(status);
        }
        Ok(out)
    }

    async fn cursors_where(
        &self,
        condition: &str,
        args: &[super::Arg],
    ) -> Result<BTreeMap<String, BTreeMap<String, Position>>> {
        let sql = format!("SELECT map, side, position FROM feed_positions {condition}");
        let mut out: BTreeMap<String, BTreeMap<String, Position>> = BTreeMap::new();
        let types = [ValueType::Text, ValueType::Text, ValueType::Text];
        for mut c in self.fetch(&sql, args, &types).await? {
            let (map, side, position) = (c.text()?, c.text()?, c.text()?);
            out.entry(map).or_default().insert(side, Position::new(position));
        }
        Ok(out)
    }

    /// Sets what a map is doing and why (the message replaces the previous one).
    pub async fn set_map_state(&self, map: &str, state: MapState, message: Option<&str>) -> Result<()> {
        self.execute(
            "INSERT INTO map_states (map, state, message, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (map) DO UPDATE SET state = excluded.state, message = excluded.message, \
             updated_at = excluded.updated_at",
            &[text(map), text(state.as_str()), opt_text(message), time(now())],
        )
        .await?;
        Ok(())
    }

    /// Records the checksum and the definition (the map as TOML) of the map a map runs (a map
    /// not yet known is `stopped`).
    pub async fn set_map_checksum(&self, map: &str, checksum: &str, definition: Option<&str>) -> Result<()> {
        self.execute(
            "INSERT INTO map_states (map, state, checksum, definition, updated_at) VALUES (?, 'stopped', ?, ?, ?) \
             ON CONFLICT (map) DO UPDATE SET checksum = excluded.checksum, \
             definition = excluded.definition, updated_at = excluded.updated_at",
            &[text(map), text(checksum), opt_text(definition), time(now())],
        )
        .await?;
        Ok(())
    }

    /// The legal entities in scope when `map` last synced (sorted, comma-separated), if known.
    pub async fn map_scope(&self, map: &str) -> Result<Option<String>> {
        Ok(self
            .fetch(
                "SELECT companies FROM map_states WHERE map = ?",
                &[text(map)],
                &[ValueType::Text],
            )
            .await?
            .into_iter()
            .next()
            .map(|mut c| c.opt_text())
            .transpose()?
            .flatten())
    }

    /// Records the legal entities in scope for `map` (which must be known: adopted first).
    pub async fn set_map_scope(&self, map: &str, companies: &str) -> Result<()> {
        self.execute(
            "UPDATE map_states SET companies = ?, updated_at = ? WHERE map = ?",
            &[text(companies), time(now()), text(map)],
        )
        .await?;
        Ok(())
    }

    /// The maps the engine runs or ran, each with its state, checksum and definition (`None`
    /// when adopted by a release that did not keep it), by map name.
    pub async fn map_definitions(&self) -> Result<Vec<MapDefinition>> {
        let types = [ValueType::Text, ValueType::Text, ValueType::Text, ValueType::Text];
        let mut out = Vec::new();
        for mut c in self
            .fetch(
                "SELECT map, state, checksum, definition FROM map_states ORDER BY map",
                &[],
                &types,
            )
            .await?
        {
            out.push(MapDefinition {
                map: c.text()?,
                state: c.parsed()?,
                checksum: c.opt_text()?,
                definition: c.opt_text()?,
            });
        }
        Ok(out)
    }

    /// Adds `n` applied records to a map's counter and notes when (a map not yet known is
    /// recorded as `running`).
    pub async fn record_applied(&self, map: &str, n: u64, at: DateTime<Utc>) -> Result<()> {
        self.execute(
            "INSERT INTO map_states (map, state, updated_at, applied, last_applied_at) \
             VALUES (?, 'running', ?, ?, ?) \
             ON CONFLICT (map) DO UPDATE SET applied = map_states.applied + excluded.applied, \
             last_applied_at = excluded.last_applied_at",
            &[text(map), time(now()), count_arg(n), time(at)],
        )
        .await?;
        Ok(())
    }

    /// The positions on `side` that some reader still needs: every map's position there, and
    /// the feed heads recorded by initial syncs still running (their live positions once done).
    /// The store may prune what comes before all of them. Empty when no map has a position
    /// there yet (nothing may be pruned).
    pub async fn needed_positions(&self, side: &str) -> Result<Vec<Position>> {
        let mut out = Vec::new();
        for mut c in self
            .fetch(
                "SELECT position FROM feed_positions WHERE side = ?",
                &[text(side)],
                &[ValueType::Text],
            )
            .await?
        {
            out.push(Position::new(c.text()?));
        }
        if out.is_empty() {
            return Ok(out);
        }
        let heads = match side {
            "operational" => {
                "SELECT head_operational FROM checkpoints WHERE status = 'running' AND head_operational IS NOT NULL"
            }
            _ => "SELECT head_accounting FROM checkpoints WHERE status = 'running' AND head_accounting IS NOT NULL",
        };
        for mut c in self.fetch(heads, &[], &[ValueType::Text]).await? {
            out.push(Position::new(c.text()?));
        }
        Ok(out)
    }
}
