//! Map files edited while the daemon runs. The map folder is polled for edits (and SIGHUP asks
//! for a reload at once). A valid edit replaces the running maps without a restart: maps that
//! are new or whose definition changed get an initial sync (records already in sync count as
//! unchanged; live cursors stay), removed maps stop. An invalid edit — one the validator or
//! the stores' catalogs refuse — is rejected with every message, and the previous maps keep
//! running.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use super::{StartError, entities};
use crate::catalog_check;
use crate::engine::Engine;
use crate::engine::state::MapState;
use crate::store::Store;
use crate::tablemap::{self, ValidMap, model::Side};

/// How often the map folder is checked for edits.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// A hash of every map file's path and content; it changes when a file is edited, added or
/// removed. Unreadable files hash as absent (the reload then reports them).
pub fn fingerprint(path: &Path) -> u64 {
    let mut h = DefaultHasher::new();
    for file in tablemap::map_files(path).unwrap_or_default() {
        file.hash(&mut h);
        std::fs::read(&file).unwrap_or_default().hash(&mut h);
    }
    h.finish()
}

/// Loads the maps and checks them, including against both stores' catalogs. `Err` holds
/// every problem, each a rendered diagnostic naming the file, line and column.
pub async fn load_checked(path: &Path, engine: &Engine) -> Result<Vec<ValidMap>, Vec<String>> {
    let loaded = tablemap::load(&[path.to_path_buf()]).map_err(|e| vec![e.to_string()])?;
    if !loaded.is_valid() {
        return Err(loaded.diagnostics.iter().map(|d| d.to_string()).collect());
    }
    check_catalogs(&loaded, engine).await?;
    Ok(loaded.valid)
}

/// Checks valid maps against both stores' catalogs, read again (columns may have been added
/// for an edit). `Err` holds every problem.
pub async fn check_catalogs(loaded: &tablemap::Loaded, engine: &Engine) -> Result<(), Vec<String>> {
    let stores: [(Side, &dyn Store); 2] = [
        (Side::Operational, engine.operational.as_ref()),
        (Side::Accounting, engine.accounting.as_ref()),
    ];
    for (_, store) in &stores {
        store.forget_catalog();
    }
    match catalog_check::check(loaded, &stores).await {
        Ok(problems) if problems.is_empty() => Ok(()),
        Ok(problems) => Err(problems.iter().map(|d| d.to_string()).collect()),
        Err(e) => Err(vec![format!("the maps could not be checked against the stores: {e}")]),
    }
}

/// Makes `maps` the engine's maps: capture on their entities, the compiled maps in dependency
/// order, and for each map whose definition differs from the one last run, its initial-sync
/// checkpoint cleared so the next initial sync applies the new definition to every record.
/// "Differs" is by the map's checksum, which leaves out cosmetic keys (title, descriptions,
/// version): such an edit keeps the checkpoint. Maps no longer present are marked stopped.
/// Returns the names of new or edited maps.
pub async fn adopt(engine: &mut Engine, maps: &[ValidMap]) -> Result<Vec<String>, StartError> {
    for (side, store) in [
        (Side::Operational, engine.operational.clone()),
        (Side::Accounting, engine.accounting.clone()),
    ] {
        store
            .install_capture(&entities(maps, side))
            .await
            .map_err(|e| crate::error::Error::store(format!("{} store", side.name()), e))?;
    }
    let removed: Vec<String> = engine
        .maps
        .iter()
        .map(|m| m.name.clone())
        .filter(|n| !maps.iter().any(|m| &m.map().name == n))
        .collect();
    engine.set_maps(maps);
    let err = |e: crate::store::StoreError| crate::error::Error::store("state store", e);
    let kept: std::collections::HashMap<String, Option<String>> = engine
        .state
        .map_definitions()
        .await
        .map_err(err)?
        .into_iter()
        .map(|d| (d.map, d.definition))
        .collect();
    let mut changed = Vec::new();
    for map in &engine.maps {
        // The definition kept for `dualsync plan`: the map as TOML.
        let definition = maps
            .iter()
            .find(|m| m.map().name == map.name)
            .and_then(|m| tablemap::to_toml(m.map()).ok());
        let known = engine.state.get_map_state(&map.name).await.map_err(err)?;
        let last = known.as_ref().and_then(|s| s.checksum.clone());
        if let Some(stored) = &last
            && map.same_definition_as(stored)
        {
            // An unedited map whose checksum is in the format of an earlier release, or whose
            // definition was not kept (or only cosmetic keys changed): the stored ones are
            // brought up to date, with no sync again.
            if stored != &map.checksum || kept.get(&map.name).cloned().flatten() != definition {
                engine
                    .state
                    .set_map_checksum(&map.name, &map.checksum, definition.as_deref())
                    .await
                    .map_err(err)?;
            }
            continue;
        }
        if last.is_some() {
            tracing::info!(map = %map.name, "the map was edited: its records are synced again with the new definition");
            engine.state.clear_checkpoint(&map.name).await.map_err(err)?;
        }
        if known.is_none() || last.is_some() {
            changed.push(map.name.clone());
        }
        engine
            .state
            .set_map_checksum(&map.name, &map.checksum, definition.as_deref())
            .await
            .map_err(err)?;
    }
    for name in rescope(engine).await.map_err(err)? {
        if !changed.contains(&name) {
            changed.push(name);
        }
    }
    for name in removed {
        tracing::info!(map = %name, "the map was removed from the map folder: stopped");
        engine
            .state
            .set_map_state(&name, MapState::Stopped, Some("removed from the map folder"))
            .await
            .map_err(err)?;
    }
    Ok(changed)
}

/// A legal entity added to the scope (the configuration's `companies`) since a map last synced
/// makes its records sync again: the map's initial-sync checkpoint is cleared, so a fan-out per
/// company writes each existing record for the new legal entity, and the records of the new
/// legal entity come into scope. A legal entity taken out of the scope keeps what was synced and
/// gets no more changes. Returns the maps that sync again. The scope is recorded per map.
async fn rescope(engine: &Engine) -> crate::store::Result<Vec<String>> {
    let mut now: Vec<String> = engine.companies.clone();
    now.sort();
    now.dedup();
    let scope = now.join(",");
    let set = |s: &str| -> std::collections::BTreeSet<String> {
        s.split(',').filter(|c| !c.is_empty()).map(String::from).collect()
    };
    let mut again = Vec::new();
    for map in &engine.maps {
        let scoped = map.fans_out_per_company()
            || map.side(Side::Operational).company.is_some()
            || map.side(Side::Accounting).company.is_some();
        let last = engine.state.map_scope(&map.name).await?;
        if scoped
            && let Some(last) = &last
            && *last != scope
        {
            let (before, after) = (set(last), set(&scope));
            // An empty scope is every legal entity.
            let added: Vec<&String> = after.difference(&before).collect();
            let widened = (after.is_empty() && !before.is_empty()) || (!before.is_empty() && !added.is_empty());
            let removed: Vec<&String> = before.difference(&after).collect();
            if !removed.is_empty() && !after.is_empty() {
                tracing::info!(map = %map.name, removed = ?removed, "legal entities left the scope: what was synced for them is kept, and they get no more changes");
            }
            if widened {
                tracing::info!(map = %map.name, added = ?added, "legal entities joined the scope: the map's records are synced again");
                engine.state.clear_checkpoint(&map.name).await?;
                again.push(map.name.clone());
            }
        }
        if last.as_deref() != Some(scope.as_str()) {
            engine.state.set_map_scope(&map.name, &scope).await?;
        }
    }
    Ok(again)
}

/// Reloads the maps after an edit: adopts them when valid, otherwise logs every problem and
/// keeps the running maps. Returns whether the new maps were adopted.
pub async fn reload(engine: &mut Engine, path: &Path) -> bool {
    match load_checked(path, engine).await {
        Ok(maps) => match adopt(engine, &maps).await {
            Ok(changed) => {
                tracing::info!(maps = engine.maps.len(), changed = ?changed, "map files reloaded");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "the edited maps could not be put in place; the previous maps keep running");
                false
            }
        },
        Err(problems) => {
            for p in &problems {
                tracing::error!("{p}");
            }
            tracing::error!(
                problems = problems.len(),
                "map edit rejected: the previous maps keep running (fix the files, `dualsync validate` shows the problems)"
            );
            false
        }
    }
}
