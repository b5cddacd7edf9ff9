//! The operational side over the Dataverse Web API (OData v4 over HTTPS): a `Store` whose
//! entities are entity sets (`msdyn_actuals`), described from the service's `$metadata`
//! (`shape`), read in key order with server paging and by key (`read`), written through `$batch`
//! with a per-row outcome (`write`), and watched through change tracking: one delta link per
//! entity is the feed's position (`feed`). Every request goes through the HTTP foundation
//! (`store::http`): OAuth client credentials, the service-protection limits, retries.
//! Lookups keep the names maps use (`msdyn_project`): read from `_msdyn_project_value`, written
//! as `<navigation property>@odata.bind`.

mod feed;
mod read;
mod shape;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::watch;

use super::odata::{Metadata, Service, service};
use super::{
    ChangeBatch, EntityDesc, ErrorKind, Key, Page, Position, Result, RowOutcome, Rows, Store, StoreError, WriteOp,
};
use crate::config::{HttpConfig, StoreConfig, StoreKind};
use shape::Shape;

/// A Dataverse environment's Web API.
pub struct DataverseStore {
    service: Service,
    http: HttpConfig,
    shapes: Mutex<HashMap<String, Arc<Shape>>>,
    /// When each entity's feed last came back empty (it is asked again after `poll_seconds`).
    quiet_since: Mutex<HashMap<String, Instant>>,
    watch: watch::Receiver<u64>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Drop for DataverseStore {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

impl DataverseStore {
    /// The store `config` describes (`kind = "dataverse"`): its secret is read now, the
    /// service is first asked when an entity is described.
    pub async fn open(config: &StoreConfig, key: &str) -> Result<DataverseStore> {
        let service = Service::open(
            config,
            key,
            "docs/connectors.md for the configuration of a Dataverse store",
        )?;
        let (watch, ticker) = service::ticker(config.http.poll());
        Ok(DataverseStore {
            service,
            http: config.http.clone(),
            shapes: Mutex::new(HashMap::new()),
            quiet_since: Mutex::new(HashMap::new()),
            watch,
            ticker,
        })
    }

    /// An absolute URL of the service: `path` relative to the Web API root.
    fn url(&self, path: &str) -> Result<url::Url> {
        self.service.url(path)
    }

    async fn metadata(&self) -> Result<Arc<Metadata>> {
        self.service.metadata().await
    }

    /// How an entity set is read and written, from the metadata (cached).
    async fn shape(&self, entity: &str) -> Result<Arc<Shape>> {
        if let Some(s) = self.shapes.lock().expect("shapes").get(entity) {
            return Ok(s.clone());
        }
        let shape = Arc::new(Shape::of(&*self.metadata().await?, entity)?);
        self.shapes
            .lock()
            .expect("shapes")
            .insert(entity.to_string(), shape.clone());
        Ok(shape)
    }

    /// The page size asked for (`Prefer: odata.maxpagesize`).
    fn page_size(&self, limit: usize) -> usize {
        limit.clamp(1, self.http.page(StoreKind::Dataverse))
    }
}

#[async_trait]
impl Store for DataverseStore {
    fn name(&self) -> &str {
        &self.service.name
    }

    async fn entities(&self) -> Result<Vec<String>> {
        let mut sets: Vec<String> = self.metadata().await?.entity_sets.keys().cloned().collect();
        sets.sort();
        Ok(sets)
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
        let metadata = self.metadata().await?;
        for e in entities {
            self.shape(e).await?;
            if metadata.change_tracking.get(*e) == Some(&false) {
                return Err(StoreError::new(
                    ErrorKind::Permanent,
                    format!("change tracking is not enabled for the Dataverse table of `{e}`"),
                )
                .with_hint(
                    "turn on \"Track changes\" in the table's properties (Power Apps, Tables, Properties, \
                     Advanced options) and start dualsync again",
                ));
            }
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
