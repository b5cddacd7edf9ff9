//! The health checks: `/health/live` answers while the process runs; `/health/ready` says
//! whether the daemon can do its work (maps loaded, the stores and the state store answering
//! within `PROBE_TIMEOUT`, no map failed), 200 or 503 with each check and its reason as JSON.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::{Admin, Sources};
use crate::engine::state::MapState;
use crate::tablemap::model::Side;

/// How long a store may take to answer the readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The answer of `/health/ready`.
#[derive(Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// In a high-availability group: `active` (holds units of work) or `standby` (holds
    /// none, ready to take over); `single` otherwise.
    pub role: &'static str,
    pub checks: Vec<Check>,
}

/// One check: its name, whether it passed, and why.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok,
            detail: detail.into(),
        }
    }
}

pub async fn live() -> &'static str {
    "live\n"
}

pub async fn ready(State(admin): State<Arc<Admin>>) -> (StatusCode, Json<Readiness>) {
    let (checks, role) = match admin.sources() {
        None => (
            vec![Check::new(
                "maps",
                false,
                "starting: opening the stores and loading the maps",
            )],
            "single",
        ),
        Some(sources) => {
            let mut checks = checks(&sources).await;
            let role = match sources.state.fence() {
                None => "single",
                Some(fence) => {
                    let units = fence.units();
                    let (role, detail) = match units.is_empty() {
                        true => (
                            "standby",
                            "standby: holds no unit of work; takes over when a replica that holds one stops"
                                .to_string(),
                        ),
                        false => (
                            "active",
                            format!(
                                "active: holds {}",
                                units
                                    .iter()
                                    .map(|(u, t)| format!("{u} (token {t})"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                    };
                    // A standby is ready: it is what a failover needs (and what a disruption
                    // budget counts).
                    checks.push(Check::new("replica", true, detail));
                    role
                }
            };
            (checks, role)
        }
    };
    let ready = checks.iter().all(|c| c.ok);
    let code = match ready {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    (code, Json(Readiness { ready, role, checks }))
}

async fn checks(sources: &Sources) -> Vec<Check> {
    let mut checks = vec![Check::new("maps", true, format!("{} maps loaded", sources.maps.len()))];
    for (side, name) in [
        (Side::Operational, "operational store"),
        (Side::Accounting, "accounting store"),
    ] {
        checks.push(probe_store(sources, side, name).await);
    }
    let states = tokio::time::timeout(PROBE_TIMEOUT, sources.state.list_map_states()).await;
    match states {
        Ok(Ok(states)) => {
            checks.push(Check::new("state store", true, "answers"));
            let failed: Vec<String> = states
                .iter()
                .filter(|s| s.state == MapState::Failed)
                .map(|s| match &s.message {
                    Some(m) => format!("{}: {m}", s.map),
                    None => s.map.clone(),
                })
                .collect();
            checks.push(match failed.is_empty() {
                true => Check::new("no map failed", true, "none failed"),
                false => Check::new(
                    "no map failed",
                    false,
                    format!("failed: {} (see `dualsync status`)", failed.join("; ")),
                ),
            });
        }
        Ok(Err(e)) => checks.push(Check::new("state store", false, e.to_string())),
        Err(_) => checks.push(Check::new(
            "state store",
            false,
            format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
        )),
    }
    checks
}

/// Asks a store for the change-feed head of the first map's entity on its side.
async fn probe_store(sources: &Sources, side: Side, name: &'static str) -> Check {
    let (store, entity) = match side {
        Side::Operational => (&sources.operational, sources.maps.first().map(|m| &m.1)),
        Side::Accounting => (&sources.accounting, sources.maps.first().map(|m| &m.2)),
    };
    let Some(entity) = entity else {
        return Check::new(name, true, "no map uses it");
    };
    match tokio::time::timeout(PROBE_TIMEOUT, store.head(entity)).await {
        Ok(Ok(_)) => Check::new(name, true, "answers"),
        Ok(Err(e)) => Check::new(name, false, e.to_string()),
        Err(_) => Check::new(name, false, format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}
