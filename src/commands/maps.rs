//! `dualsync pause MAP` and `dualsync resume MAP`. A paused map's changes wait in the change
//! log and are caught up in order when it is resumed; a running daemon sees the new state at
//! its next round. Works while the map files are invalid: the names are those of the files
//! that parse and those the state store knows.

use serde::Serialize;
use utoipa::ToSchema;

use super::output::Report;
use super::{MapFiles, no_such_map, open_state_for_change};
use crate::config::Config;
use crate::engine::state::MapState;
use crate::error::{Context, Result};

/// A map's new state after a pause or a resume.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MapChange {
    pub map: String,
    /// paused or running.
    pub state: String,
    /// Set when the map files are invalid: the daemon keeps the maps it last adopted.
    pub note: Option<String>,
}

impl Report for MapChange {
    fn text(&self) -> String {
        format!("{}: {}{}", self.map, self.state, self.note.as_deref().unwrap_or(""))
    }
}

pub async fn set_paused(config: &Config, map: &str, paused: bool) -> Result<MapChange> {
    let files = MapFiles::load(config);
    let mut names = files.names();
    // A name that is not a map is refused before anything is opened, when the files say so.
    if files.valid && !names.iter().any(|n| n == map) {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        return Err(no_such_map(map, &names));
    }
    let state = open_state_for_change(config, if paused { "pause" } else { "resume" }).await?;
    for s in state.list_map_states().await.context("state store")? {
        if !names.contains(&s.map) {
            names.push(s.map);
        }
    }
    if !names.iter().any(|n| n == map) {
        names.sort();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        return Err(no_such_map(map, &names));
    }
    let (new, message) = if paused {
        (MapState::Paused, Some("paused by an operator"))
    } else {
        (MapState::Running, None)
    };
    state.set_map_state(map, new, message).await.context("state store")?;
    state.close().await;
    let note = files.note();
    Ok(MapChange {
        map: map.to_string(),
        state: new.as_str().into(),
        note: (!note.is_empty()).then_some(note),
    })
}
