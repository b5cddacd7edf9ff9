//! `store::open`: the one place that turns a store's configuration into a `Store`, so the
//! engine, the daemon and the commands never name an implementation. Today every store is a
//! SQL database (SQLite or PostgreSQL, told apart by the URL's scheme).

use std::sync::Arc;

use super::sql::{SqlStore, init};
use super::{Result, Store};
use crate::config::StoreConfig;
use crate::tablemap::model::Side;

/// What `open` may do to a store that is missing or not set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Open it as it is; a store that does not exist is an error.
    Existing,
    /// Create it if missing and bring the reference schema of `Side` up to date (the demo
    /// installation's first start).
    Reference(Side),
}

/// Opens the store `config` describes.
pub async fn open(config: &StoreConfig, setup: Setup) -> Result<Arc<dyn Store>> {
    let store = match setup {
        Setup::Existing => SqlStore::open(&config.url).await?,
        Setup::Reference(side) => init::init(&config.url, side).await?,
    };
    Ok(Arc::new(store))
}
