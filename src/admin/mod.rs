//! The daemon's admin HTTP listener (`[admin] listen`, off by default): Prometheus metrics at
//! `/metrics`, and health checks for supervisors at `/health/live` (the process answers) and
//! `/health/ready` (maps loaded, stores reachable, no map failed). It binds to loopback unless
//! told otherwise; on any address, a configured token is required as `Authorization: Bearer`
//! on everything but the health checks (supervisors probe those without secrets). TLS is left
//! to a reverse proxy (docs/operations.md).

mod auth;
mod health;
pub mod metrics;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::routing::get;
use tokio::sync::watch;

use crate::config::AdminConfig;
use crate::engine::Engine;
use crate::engine::state::StateStore;
use crate::error::{Error, Kind};
use crate::store::Store;

/// What the handlers read; shared by the listener's tasks and the daemon.
pub struct Admin {
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
    token: Option<auth::Token>,
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
}

/// The daemon's hold on its admin listener.
#[derive(Clone)]
pub struct AdminHandle(Arc<Admin>);

impl AdminHandle {
    /// Tells the listener about the engine, once it runs and after each reload of the maps.
    pub fn attach(&self, engine: &Engine) {
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
        };
        *self.0.engine.write().expect("admin engine") = Some(sources);
    }
}

impl Admin {
    fn sources(&self) -> Option<Sources> {
        self.engine.read().expect("admin engine").clone()
    }
}

/// Starts the listener when `[admin] listen` is set (`None` otherwise); it serves until `stop`.
/// A token file that cannot be read, or an address that cannot be bound, stops the start.
pub async fn start(config: &AdminConfig, stop: watch::Receiver<bool>) -> Result<Option<AdminHandle>, Error> {
    let Some(address) = config.address() else {
        return Ok(None);
    };
    let token = match &config.token_file {
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
        .route_layer(axum::middleware::from_fn_with_state(admin.clone(), auth::require));
    Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .merge(guarded)
        .with_state(admin)
}
