//! `dualsync validate [PATH]... [--operational URL] [--accounting URL]`: every problem of every
//! map file at once (on standard error), then one summary line (on standard output); with store
//! URLs, the maps are also checked against the stores' catalogs.

use std::path::PathBuf;

use crate::config::{Config, StoreConfig};
use crate::error::{Context, Error, Kind, Result};
use crate::store::{self, Setup, Store};
use crate::tablemap::{self, model::Side};

/// The summary line, `Ok` when the maps are valid; `Err` (kind `Maps`, exit 1) with the
/// summary when they are not, after the problems were printed.
/// `config` loads the configuration file, needed only for a store reached over HTTP (its
/// `kind` and `auth`).
pub async fn validate(
    paths: &[PathBuf],
    operational: Option<String>,
    accounting: Option<String>,
    config: impl Fn() -> Result<Config>,
) -> Result<String> {
    let mut loaded = tablemap::load(paths).map_err(|e| {
        Error::usage(e.to_string()).with_hint("pass map files or folders holding them; the default is table-maps/")
    })?;
    let mut stores: Vec<(Side, std::sync::Arc<dyn Store>)> = Vec::new();
    for (side, url) in [(Side::Operational, operational), (Side::Accounting, accounting)] {
        if let Some(url) = url {
            let config = store_config(side, url, &config)?;
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

/// How to reach the store at `url`: a SQL database by its URL alone; a Web API (`http(s)://`)
/// with the kind and sign-in of that side in the configuration file.
fn store_config(side: Side, url: String, config: &impl Fn() -> Result<Config>) -> Result<StoreConfig> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Ok(StoreConfig {
            url,
            ..StoreConfig::default()
        });
    }
    let configured = config()?.store(side).clone();
    if !configured.kind.is_http() {
        return Err(Error::usage(format!(
            "--{} names a Web API, but the configuration's `{}.kind` is \"{}\"",
            side.name(),
            side.name(),
            configured.kind.name()
        ))
        .with_hint(format!(
            "set `[{}] kind = \"{}\"` and its `[{}.auth]` in the configuration file (--config)",
            side.name(),
            match side {
                Side::Operational => "dataverse",
                Side::Accounting => "finops",
            },
            side.name()
        )));
    }
    Ok(StoreConfig { url, ..configured })
}
