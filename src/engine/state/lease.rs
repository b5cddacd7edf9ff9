//! Leases on units of work (issue 19, first step): a replica owns a unit — a map, a map and a
//! legal entity, a scheduled process — while its lease row names it and has not expired. Taking
//! over a unit from another owner raises the unit's **fencing token**; the owner keeps its token
//! while it renews. A write that commits progress checks the token in its own transaction
//! (`holds`), so a replica that lost its lease (a pause past the expiry, a partition) is refused
//! once its successor holds the unit, whatever its clock says. Expiry uses the replicas' clocks
//! (keep them in sync); the token check does not.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Cols, StateStore, int, now, text, time};
use crate::store::Result;
use crate::value::ValueType;

/// A lease held: the unit, its owner, the fencing token and until when it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub unit: String,
    pub owner: String,
    pub token: i64,
    pub expires_at: DateTime<Utc>,
}

/// A lease row as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub unit: String,
    pub owner: String,
    pub token: i64,
    pub renewed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A replica of a high-availability group, as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
    pub mode: String,
    /// Its `ha.lease_seconds`: it is alive while its heartbeat is younger.
    pub lease_seconds: i64,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

fn until(ttl: Duration) -> DateTime<Utc> {
    now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

impl StateStore {
    /// Takes (or keeps) the lease of `unit` for `owner` for `ttl`: `None` while another owner's
    /// lease has not expired. A new owner gets the unit's token plus one (1 for a new unit); the
    /// same owner keeps its token.
    pub async fn acquire_lease(&self, unit: &str, owner: &str, ttl: Duration) -> Result<Option<Lease>> {
        let (at, expires) = (now(), until(ttl));
        let row = self
            .fetch_one(
                "INSERT INTO leases (unit, owner, token, acquired_at, renewed_at, expires_at) VALUES (?, ?, 1, ?, ?, ?) \
                 ON CONFLICT (unit) DO UPDATE SET \
                   token = CASE WHEN leases.owner = excluded.owner THEN leases.token ELSE leases.token + 1 END, \
                   acquired_at = CASE WHEN leases.owner = excluded.owner THEN leases.acquired_at ELSE excluded.acquired_at END, \
                   owner = excluded.owner, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at \
                 WHERE leases.owner = excluded.owner OR leases.expires_at < excluded.acquired_at \
                 RETURNING token",
                &[text(unit), text(owner), time(at), time(at), time(expires)],
                &[ValueType::Int],
            )
            .await?;
        match row {
            None => Ok(None),
            Some(mut c) => Ok(Some(Lease {
                unit: unit.to_string(),
                owner: owner.to_string(),
                token: c.int()?,
                expires_at: expires,
            })),
        }
    }

    /// Pushes the lease's expiry `ttl` ahead; false when it was lost (expired and taken, or
    /// released): the holder must stop working on the unit.
    pub async fn renew_lease(&self, lease: &mut Lease, ttl: Duration) -> Result<bool> {
        let (at, expires) = (now(), until(ttl));
        let n = self
            .execute(
                "UPDATE leases SET renewed_at = ?, expires_at = ? WHERE unit = ? AND owner = ? AND token = ? \
                 AND expires_at >= ?",
                &[
                    time(at),
                    time(expires),
                    text(&lease.unit),
                    text(&lease.owner),
                    int(lease.token),
                    time(at),
                ],
            )
            .await?;
        if n == 1 {
            lease.expires_at = expires;
        }
        Ok(n == 1)
    }

    /// Gives the unit up now (a clean stop or a rebalance); the next owner need not wait.
    pub async fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.execute(
            "UPDATE leases SET expires_at = ? WHERE unit = ? AND owner = ? AND token = ?",
            &[time(now()), text(&lease.unit), text(&lease.owner), int(lease.token)],
        )
        .await?;
        Ok(())
    }

    /// Whether `lease` is still the unit's current one: its token is the unit's (nobody took the
    /// unit over). The fencing check of a write that commits progress.
    pub async fn holds(&self, lease: &Lease) -> Result<bool> {
        let row = self
            .fetch_one(
                "SELECT token FROM leases WHERE unit = ? AND owner = ?",
                &[text(&lease.unit), text(&lease.owner)],
                &[ValueType::Int],
            )
            .await?;
        Ok(match row {
            Some(mut c) => c.int()? == lease.token,
            None => false,
        })
    }

    /// Every lease, by unit.
    pub async fn list_leases(&self) -> Result<Vec<LeaseRow>> {
        use ValueType::{DateTime, Int, Text};
        let mut out = Vec::new();
        for mut c in self
            .fetch(
                "SELECT unit, owner, token, renewed_at, expires_at FROM leases ORDER BY unit",
                &[],
                &[Text, Text, Int, DateTime, DateTime],
            )
            .await?
        {
            out.push(lease_row(&mut c)?);
        }
        Ok(out)
    }
}

impl StateStore {
    /// Records that replica `id` (this process) is alive, in `mode`, with leases of `lease`.
    pub async fn replica_heartbeat(&self, id: &str, mode: &str, lease: Duration) -> Result<()> {
        let at = now();
        self.execute(
            "INSERT INTO replicas (id, host, pid, version, mode, lease_seconds, started_at, heartbeat_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version, \
             mode = excluded.mode, lease_seconds = excluded.lease_seconds, heartbeat_at = excluded.heartbeat_at",
            &[
                text(id),
                text(&super::host_name()),
                int(i64::from(std::process::id())),
                text(env!("CARGO_PKG_VERSION")),
                text(mode),
                int(i64::try_from(lease.as_secs()).unwrap_or(i64::MAX)),
                time(at),
                time(at),
            ],
        )
        .await?;
        Ok(())
    }

    /// Removes replica `id` (it stops cleanly): the others rebalance without waiting.
    pub async fn remove_replica(&self, id: &str) -> Result<()> {
        self.execute("DELETE FROM replicas WHERE id = ?", &[text(id)]).await?;
        Ok(())
    }

    /// The replicas, by id; with `alive_within`, only those that reported within it.
    pub async fn list_replicas(&self, alive_within: Option<Duration>) -> Result<Vec<Replica>> {
        use ValueType::{DateTime, Int, Text};
        let (filter, args) = match alive_within {
            Some(d) => (
                " WHERE heartbeat_at >= ?",
                vec![time(
                    now() - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX),
                )],
            ),
            None => ("", Vec::new()),
        };
        let mut out = Vec::new();
        for mut c in self
            .fetch(
                &format!("SELECT id, host, pid, version, mode, lease_seconds, started_at, heartbeat_at FROM replicas{filter} \
                     ORDER BY id"),
                &args,
                &[Text, Text, Int, Text, Text, Int, DateTime, DateTime],
            )
            .await?
        {
            out.push(Replica {
                id: c.text()?,
                host: c.text()?,
                pid: c.int()?,
                version: c.text()?,
                mode: c.text()?,
                lease_seconds: c.int()?,
                started_at: c.time()?,
                heartbeat_at: c.time()?,
            });
        }
        Ok(out)
    }
}

fn lease_row(c: &mut Cols) -> Result<LeaseRow> {
    Ok(LeaseRow {
        unit: c.text()?,
        owner: c.text()?,
        token: c.int()?,
        renewed_at: c.time()?,
        expires_at: c.time()?,
    })
}
