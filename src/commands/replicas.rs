//! The high-availability group in `dualsync status` and `/api/status` (issue 19): each replica
//! (host, pid, version, heartbeat) and the units of work it holds with their fencing tokens,
//! and the leases no live replica holds.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::engine::state::{LeaseRow, Replica, StateStore};
use crate::store::Result;

/// The replicas of a high-availability group and who holds what.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupReport {
    /// active-standby or partitioned, as the replicas say.
    pub mode: String,
    pub replicas: Vec<ReplicaReport>,
    /// Leases whose owner is not a live replica (run out, or given back): taken at the next
    /// round of a replica that should own them.
    pub unowned: Vec<LeaseReport>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplicaReport {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Whether its heartbeat is younger than its lease time (`ha.lease_seconds`).
    pub alive: bool,
    /// The units it holds (leases not run out); none for a standby.
    pub units: Vec<LeaseReport>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeaseReport {
    /// `all`, `map:NAME` or `process:NAME`.
    pub unit: String,
    pub owner: String,
    /// The fencing token: it grows with each new owner of the unit.
    pub token: i64,
    pub expires_at: DateTime<Utc>,
}

impl From<LeaseRow> for LeaseReport {
    fn from(l: LeaseRow) -> LeaseReport {
        LeaseReport {
            unit: l.unit,
            owner: l.owner,
            token: l.token,
            expires_at: l.expires_at,
        }
    }
}

/// The group on this state store; `None` when no replica ever ran on it.
pub async fn group(state: &StateStore) -> Result<Option<GroupReport>> {
    let replicas: Vec<Replica> = state.list_replicas(None).await?;
    let leases = state.list_leases().await?;
    if replicas.is_empty() && leases.is_empty() {
        return Ok(None);
    }
    let now = Utc::now();
    let mut unowned = Vec::new();
    let mut out: Vec<ReplicaReport> = replicas
        .iter()
        .map(|r| ReplicaReport {
            id: r.id.clone(),
            host: r.host.clone(),
            pid: r.pid,
            version: r.version.clone(),
            started_at: r.started_at,
            heartbeat_at: r.heartbeat_at,
            alive: now - r.heartbeat_at <= chrono::Duration::seconds(r.lease_seconds),
            units: Vec::new(),
        })
        .collect();
    for lease in leases {
        let owner = out
            .iter_mut()
            .find(|r| r.id == lease.owner && r.alive && lease.expires_at > now);
        match owner {
            Some(r) => r.units.push(lease.into()),
            None => unowned.push(lease.into()),
        }
    }
    Ok(Some(GroupReport {
        mode: replicas.first().map_or_else(|| "-".into(), |r| r.mode.clone()),
        replicas: out,
        unowned,
    }))
}

impl GroupReport {
    /// Live replicas.
    pub fn alive(&self) -> usize {
        self.replicas.iter().filter(|r| r.alive).count()
    }

    /// The lines of `dualsync status`.
    pub fn text(&self) -> String {
        let mut out = format!("replicas: {} alive ({})\n", self.alive(), self.mode);
        let now = Utc::now();
        for r in &self.replicas {
            let age = (now - r.heartbeat_at).num_seconds().max(0);
            let holds = match r.units.is_empty() {
                true => "standby".to_string(),
                false => r
                    .units
                    .iter()
                    .map(|u| format!("{} (token {})", u.unit, u.token))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let state = if r.alive { "" } else { " [not alive]" };
            out.push_str(&format!(
                "  {}{state}: host {}, pid {}, version {}, heartbeat {age} s ago; {holds}\n",
                r.id, r.host, r.pid, r.version
            ));
        }
        if !self.unowned.is_empty() {
            let units: Vec<String> = self
                .unowned
                .iter()
                .map(|l| format!("{} (token {}, last {})", l.unit, l.token, l.owner))
                .collect();
            out.push_str(&format!("  not held now: {}\n", units.join(", ")));
        }
        out
    }
}
