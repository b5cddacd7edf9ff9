//! The daemon's admin HTTP listener (`[admin] listen`, off by default): Prometheus metrics at
//! `/metrics`, health checks for supervisors at `/health/live` (the process answers) and
//! `/health/ready` (maps loaded, stores reachable, no map failed), the REST API under `/api`
//! (`api.rs`, documented at `/api/openapi.json`) and the status page at `/` (`page.rs`). It
//! binds to loopback unless told otherwise; on any address, a configured token is required as
//! `Authorization: Bearer` (or the page's sign-in cookie) on everything but the health checks
//! (supervisors probe those without secrets). Requests that change something must not come
//! from another site (`auth::same_origin`). TLS is left to a reverse proxy (docs/operations.md).

pub mod api;
mod auth;
mod health;
pub mod metrics;
mod page;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::{OnceCell, mpsc, watch};

use crate::accounting::db::Db;
use crate::commands::journal::JobRuns;
use crate::config::Config;
use crate::engine::Engine;
use crate::engine::state::StateStore;
use crate::error::{Error, Kind};
use crate::store::Store;

/// What the handlers read; shared by the listener's tasks and the daemon.
pub struct Admin {
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
    token: Option<auth::Token>,
    /// The daemon's configuration: the admin commands the API runs take it.
    config: Arc<Config>,
    /// The accounting store as a database, for the job log (opened at the first request).
    accounting_db: OnceCell<Db>,
    /// The running engine's stores and maps; `None` while the daemon starts.
    engine: RwLock<Option<Sources>>,
}

/// The parts of the running engine the handlers read.
#[derive(Clone)]
struct Sources {
    state: StateStore,
    operational: Arc<dyn Store>,
    accounting: Arc<dyn Store>,
    /// Each map's name and its entity on the operational and the accounting side.
    maps: Vec<(String, String, String)>,
    /// Asks the daemon's loop to end its live round and reload (which runs due initial syncs).
    control: mpsc::Sender<&'static str>,
}

/// The daemon's hold on its admin listener.
#[derive(Clone)]
pub struct AdminHandle(Arc<Admin>);

impl AdminHandle {
    /// Tells the listener about the engine, once it runs and after each reload of the maps;
    /// `control` asks the daemon's loop for a reload.
    pub fn attach(&self, engine: &Engine, control: mpsc::Sender<&'static str>) {
        let sources = Sources {
            state: engine.state.clone(),
            operational: engine.operational.clone(),
            accounting: engine.accounting.clone(),
            maps: engine
                .maps
                .iter()
                .map(|m| {
                    (
                        m.name.clone(),
                        m.operational.entity.clone(),
                        m.accounting.entity.clone(),
                    )
                })
                .collect(),
            control,
        };
        *self.0.engine.write().expect("admin engine") = Some(sources);
    }
}

impl Admin {
    fn sources(&self) -> Option<Sources> {
        self.engine.read().expect("admin engine").clone()
    }

    /// The accounting processes' latest runs (a usage error for an HTTP accounting store).
    async fn job_runs(&self, limit: usize) -> Result<JobRuns, Error> {
        let db = self
            .accounting_db
            .get_or_try_init(|| crate::commands::journal::open(&self.config))
            .await?;
        crate::commands::journal::runs_in(db, limit).await
    }
}

/// Starts the listener when `[admin] listen` is set (`None` otherwise); it serves until `stop`.
/// A token file that cannot be read, or an address that cannot be bound, stops the start.
pub async fn start(config: &Config, stop: watch::Receiver<bool>) -> Result<Option<AdminHandle>, Error> {
    let admin_config = &config.admin;
    let Some(address) = admin_config.address() else {
        return Ok(None);
    };
    let token = match &admin_config.token_file {
        Some(path) => Some(auth::Token::read(path)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        Error::new(Kind::Usage, format!("the admin listener cannot listen on {address}"))
            .with_hint("another process may use the port; change `admin.listen`")
            .with_source(e)
    })?;
    let bound = listener.local_addr().unwrap_or(address);
    let admin = Arc::new(Admin {
        prometheus: metrics::install(),
        token,
        config: Arc::new(config.clone()),
        accounting_db: OnceCell::new(),
        engine: RwLock::new(None),
    });
    let app = router(admin.clone());
    let mut stop = stop;
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "the admin listener stopped");
        }
    });
    tracing::info!(address = %bound, token = admin.token.is_some(), "admin listener started");
    Ok(Some(AdminHandle(admin)))
}

/// The routes: health checks open, everything else behind the token when one is set.
fn router(admin: Arc<Admin>) -> Router {
    let guarded = Router::new()
        .route("/metrics", get(metrics::scrape))
        .route("/", get(page::page))
        .route("/errors/{id}/retry", post(page::retry))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/status", get(api::status))
        .route("/api/maps", get(api::maps))
        .route("/api/maps/{name}", get(api::map))
        .route("/api/maps/{name}/pause", post(api::pause))
        .route("/api/maps/{name}/resume", post(api::resume))
        .route("/api/maps/{name}/initial-sync", post(api::initial_sync))
        .route("/api/reload", post(api::reload))
        .route("/api/errors", get(api::error_list))
        .route("/api/errors/retry", post(api::error_retry_all))
        .route("/api/errors/{id}", get(api::error_show))
        .route("/api/errors/{id}/retry", post(api::error_retry))
        .route("/api/journal/runs", get(api::journal_runs))
        .route_layer(axum::middleware::from_fn_with_state(admin.clone(), auth::require))
        .route_layer(axum::middleware::from_fn(auth::same_origin));
    Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/login", get(page::login_form).post(page::login))
        .merge(guarded)
        .with_state(admin)
}
