//! `dualsync validate [PATH]... [--operational URL] [--accounting URL]`: every problem of every
//! map file at once (on standard error), then one summary line (on standard output); with store
//! URLs, the maps are also checked against the stores' catalogs.

use std::path::PathBuf;

use crate::config::StoreConfig;
use crate::error::{Context, Error, Kind, Result};
use crate::store::{self, Setup, Store};
use crate::tablemap::{self, model::Side};

/// The summary line, `Ok` when the maps are valid; `Err` (kind `Maps`, exit 1) with the
/// summary when they are not, after the problems were printed.
pub async fn validate(paths: &[PathBuf], operational: Option<String>, accounting: Option<String>) -> Result<String> {
    let mut loaded = tablemap::load(paths).map_err(|e| {
        Error::usage(e.to_string()).with_hint("pass map files or folders holding them; the default is table-maps/")
    })?;
    let mut stores: Vec<(Side, std::sync::Arc<dyn Store>)> = Vec::new();
    for (side, url) in [(Side::Operational, operational), (Side::Accounting, accounting)] {
        if let Some(url) = url {
            let config = StoreConfig {
                url,
                ..StoreConfig::default()
            };
            let store = store::open(&config, Setup::Existing)
                .await
                .context(&format!("{} store", side.name()))?;
            stores.push((side, store));
        }
    }
    if !stores.is_empty() {
        let refs: Vec<(Side, &dyn Store)> = stores.iter().map(|(s, st)| (*s, st.as_ref())).collect();
        let found = crate::catalog_check::check(&loaded, &refs)
            .await
            .context("checking the maps against the stores")?;
        loaded.diagnostics.extend(found);
        loaded.sort_diagnostics();
    }
    for d in &loaded.diagnostics {
        eprintln!("{d}\n");
    }
    let checked: Vec<String> = stores
        .iter()
        .map(|(s, st)| format!("{} ({})", s.name(), st.name()))
        .collect();
    let against = if checked.is_empty() {
        String::new()
    } else {
        format!(" [checked against {}]", checked.join(", "))
    };
    if loaded.is_valid() {
        return Ok(format!("valid: {}{against}", loaded.summary()));
    }
    let files: std::collections::BTreeSet<_> = loaded.diagnostics.iter().map(|d| &d.file).collect();
    let n = loaded.diagnostics.len();
    Err(Error::new(
        Kind::Maps,
        format!(
            "invalid: {n} problem{} in {} file{}; {}{against}",
            if n == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            loaded.summary()
        ),
    ))
}
