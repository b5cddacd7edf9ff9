//! `dualsync store init` and `dualsync store seed`: create and migrate a reference store and
//! install change capture for the maps' entities; fill one with the demo data set.

use std::path::Path;

use crate::demo::{SeedOptions, load};
use crate::error::{Context, Error, Kind, Result};
use crate::store::Store;
use crate::store::sql::{SqlStore, init};
use crate::tablemap::{self, model::Side};

/// Creates the store if needed, brings its schema up to date and installs change capture for
/// the entities of the maps in `maps` (when that folder exists).
pub async fn init(url: &str, side: Side, maps: &Path) -> Result<String> {
    let store = init::init(url, side).await.context(&format!("{} store", side.name()))?;
    let mut out = format!("{} store ready at {}\n", side.name(), store.name());
    if !maps.exists() {
        out.push_str(&format!(
            "no maps at {}: change capture not installed\n",
            maps.display()
        ));
        return Ok(out);
    }
    let loaded = tablemap::load(std::slice::from_ref(&maps.to_path_buf())).map_err(|e| {
        Error::usage(e.to_string()).with_hint("pass map files or folders holding them; the default is table-maps/")
    })?;
    if !loaded.is_valid() {
        for d in &loaded.diagnostics {
            eprintln!("{d}\n");
        }
        print!("{out}");
        return Err(Error::new(
            Kind::Maps,
            "the maps are invalid, so change capture was not installed; fix them and run again",
        ));
    }
    let entities = crate::daemon::entities(&loaded.valid, side);
    store
        .install_capture(&entities)
        .await
        .context("installing change capture")?;
    out.push_str(&format!(
        "change capture on {} entities: {}\n",
        entities.len(),
        entities.join(", ")
    ));
    Ok(out)
}

/// Seeds the store at `url` with the demo data (`side` when the store does not record it).
pub async fn seed(url: &str, side: Option<Side>, opts: &SeedOptions) -> Result<String> {
    let store = SqlStore::open(url).await.context("store")?;
    let recorded = store.side().await.context("store")?;
    let side = match (recorded.as_deref(), side) {
        (Some("operational"), None | Some(Side::Operational)) => Side::Operational,
        (Some("accounting"), None | Some(Side::Accounting)) => Side::Accounting,
        (Some(r), Some(given)) => {
            return Err(Error::failed(format!(
                "{} is the {r} store; it cannot be seeded as the {} side",
                store.name(),
                given.name()
            )));
        }
        (_, Some(given)) => given,
        (_, None) => {
            return Err(
                Error::failed(format!("{} was not initialized by dualsync", store.name()))
                    .with_hint("run `dualsync store init` first or pass --side"),
            );
        }
    };
    let loaded = load::seed(&store, side, opts).await.context("seeding")?;
    let mut out = String::new();
    for (table, n) in &loaded.tables {
        out.push_str(&format!("{n:>10}  {table}\n"));
    }
    out.push_str(&format!(
        "seeded the {} store at {}: {} rows\n",
        side.name(),
        store.name(),
        loaded.total()
    ));
    Ok(out)
}
