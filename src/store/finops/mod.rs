//! The accounting side over finance-and-operations OData data entities (`…/data/`): a `Store`
//! whose entities are the data entities the maps name (`ProjCDSActualsImport`), each reached
//! through its public entity set (`shape`); read across companies (`cross-company=true`),
//! filtered to the companies in scope, in key order with server paging and by composite key
//! (`read`); written through `$batch`, one changeset per record so that each gets its own
//! outcome, as PATCH of an existing record or POST of a new one (`write`); and watched without
//! change tracking, which OData data entities lack: a modified-timestamp watermark with an
//! overlap window, and a periodic sweep for deletions (`feed`). Every request goes through the
//! HTTP foundation (`store::http`): OAuth client credentials, the service-protection limits
//! (user-based and resource-based 429s with `Retry-After`), retries.

mod feed;
mod read;
mod shape;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::watch;

use super::odata::{Service, service};
use super::{ChangeBatch, EntityDesc, Key, Page, Position, Result, RowOutcome, Rows, Store, WriteOp};
use crate::config::{FinopsConfig, HttpConfig, StoreConfig, StoreKind};
use shape::Shape;

pub use shape::entity_set;

/// A finance-and-operations environment's OData endpoint.
pub struct FinopsStore {
    service: Service,
    http: HttpConfig,
    finops: FinopsConfig,
    /// The companies in scope (empty: all).
    companies: Vec<String>,
    shapes: Mutex<HashMap<String, Arc<Shape>>>,
    /// When each entity's feed last came back empty (it is asked again after `poll_seconds`).
    quiet_since: Mutex<HashMap<String, Instant>>,
    watch: watch::Receiver<u64>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Drop for FinopsStore {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

impl FinopsStore {
    /// The store `config` describes (`kind = "finops"`): its secret is read now, the service
    /// is first asked when an entity is described.
    pub async fn open(config: &StoreConfig, key: &str) -> Result<FinopsStore> {
        let service = Service::open(
            config,
            key,
            "docs/connectors.md for the configuration of a finance-and-operations store",
        )?;
        let (watch, ticker) = service::ticker(config.http.poll());
        Ok(FinopsStore {
            service,
            http: config.http.clone(),
            finops: config.finops.clone(),
            companies: config.companies.clone(),
            shapes: Mutex::new(HashMap::new()),
            quiet_since: Mutex::new(HashMap::new()),
            watch,
            ticker,
        })
    }

    /// How a data entity is read and written (cached).
    async fn shape(&self, entity: &str) -> Result<Arc<Shape>> {
        if let Some(s) = self.shapes.lock().expect("shapes").get(entity) {
            return Ok(s.clone());
        }
        let metadata = self.service.metadata().await?;
        let shape = Arc::new(Shape::of(&metadata, &self.finops, entity)?);
        self.shapes
            .lock()
            .expect("shapes")
            .insert(entity.to_string(), shape.clone());
        Ok(shape)
    }

    /// Records per page asked for.
    fn page_size(&self, limit: usize) -> usize {
        limit.clamp(1, self.http.page(StoreKind::Finops))
    }
}

#[async_trait]
impl Store for FinopsStore {
    fn name(&self) -> &str {
        &self.service.name
    }

    async fn entities(&self) -> Result<Vec<String>> {
        let metadata = self.service.metadata().await?;
        let mut names: Vec<String> = metadata
            .entity_sets
            .iter()
            .map(|(set, ty)| {
                // Listed under the names the maps use where the configuration gives one.
                self.finops
                    .entities
                    .iter()
                    .find(|(_, e)| e.set.as_deref() == Some(set))
                    .map(|(name, _)| name.clone())
                    .unwrap_or_else(|| ty.rsplit('.').next().unwrap_or(set).to_string())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    async fn describe(&self, entity: &str) -> Result<EntityDesc> {
        Ok(self.shape(entity).await?.desc.clone())
    }

    async fn read_page(&self, desc: &EntityDesc, after: Option<&Key>, limit: usize) -> Result<Page> {
        self.scan_page(desc, after, limit).await
    }

    async fn read(&self, desc: &EntityDesc, keys: &[Key]) -> Result<Rows> {
        self.read_keys(desc, keys).await
    }

    async fn count(&self, entity: &str) -> Result<u64> {
        self.count_of(entity).await
    }

    async fn apply(&self, desc: &EntityDesc, ops: &[WriteOp]) -> Result<Vec<RowOutcome>> {
        self.write(desc, ops).await
    }

    async fn install_capture(&self, entities: &[&str]) -> Result<()> {
        for e in entities {
            self.check_feed(e).await?;
        }
        Ok(())
    }

    async fn changes(&self, entity: &str, after: &Position, limit: usize) -> Result<ChangeBatch> {
        self.read_changes(entity, after, limit).await
    }

    async fn head(&self, entity: &str) -> Result<Position> {
        self.feed_head(entity).await
    }

    fn watch(&self) -> watch::Receiver<u64> {
        self.watch.clone()
    }
}
