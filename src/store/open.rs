//! `store::open`: the one place that turns a store's configuration into a `Store`, so the
//! engine, the daemon and the commands never name an implementation: a SQL database (SQLite or
//! PostgreSQL, told apart by the URL's scheme), the Dataverse Web API (`kind = "dataverse"`) or
//! finance-and-operations OData (`kind = "finops"`).

use std::sync::Arc;

use super::dataverse::DataverseStore;
use super::finops::FinopsStore;
use super::sql::{SqlStore, init};
use super::{ErrorKind, Result, Store, StoreError};
use crate::config::{StoreConfig, StoreKind};
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
    match (config.kind, setup) {
        (StoreKind::Sql, Setup::Existing) => Ok(Arc::new(SqlStore::open(&config.url).await?)),
        (StoreKind::Sql, Setup::Reference(side)) => Ok(Arc::new(init::init(&config.url, side).await?)),
        (StoreKind::Dataverse, Setup::Existing) => Ok(Arc::new(DataverseStore::open(config, "the store").await?)),
        (StoreKind::Dataverse, Setup::Reference(_)) => Err(StoreError::new(
            ErrorKind::Permanent,
            "dualsync does not create or seed a Dataverse environment",
        )
        .with_hint("set `demo = false`; the tables are Project Operations' own")),
        (StoreKind::Finops, Setup::Existing) => Ok(Arc::new(FinopsStore::open(config, "accounting").await?)),
        (StoreKind::Finops, Setup::Reference(_)) => Err(StoreError::new(
            ErrorKind::Permanent,
            "dualsync does not create or seed a finance-and-operations environment",
        )
        .with_hint("set `demo = false`; the data entities are finance and operations' own")),
    }
}
