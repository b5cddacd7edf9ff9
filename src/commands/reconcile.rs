//! `dualsync reconcile [--map NAME]... [--company X] [--repair]`: are the two stores in sync
//! through the maps, and where not (`engine::reconcile`). Safe while the daemon runs: what
//! differs is checked again after the daemon has had time to sync it, and only what still
//! differs is reported. Without `--repair` it writes nothing (the state store is opened
//! read-only); with it, the repairs go through the engine's pipeline.

use serde::Serialize;
use utoipa::ToSchema;

use super::output::{Report, plural};
use super::{open_state_existing, open_state_for_change};
use crate::config::Config;
use crate::engine::reconcile::{Drift, DriftKind, ReconcileOptions};
use crate::engine::state::DAEMON;
use crate::error::{Context, Error, Kind, Result};

/// What reconcile found, per map and direction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReconcileReport {
    pub repair: bool,
    pub maps: Vec<Drift>,
    /// Drift found and not repaired, over every map.
    pub unrepaired: u64,
    pub seconds: f64,
}

impl Report for ReconcileReport {
    /// A line per map and direction with its counts, then the examples of what differs.
    fn text(&self) -> String {
        let mut out = format!(
            "{:<26} {:<12} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>10} {:>6}\n",
            "map", "from", "read", "expected", "in sync", "left out", "missing", "differ", "unexpected", "stale"
        );
        for d in &self.maps {
            out.push_str(&format!(
                "{:<26} {:<12} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>10} {:>6}\n",
                d.map,
                d.from,
                d.read,
                d.expected,
                d.in_sync,
                d.left_out,
                d.missing.count,
                d.differing.count,
                d.unexpected.as_ref().map_or("-".to_string(), |u| u.count.to_string()),
                d.stale_links.count,
            ));
        }
        for d in self.maps.iter().filter(|d| d.found() > 0) {
            out.push_str(&format!("\n{} (from {}):\n", d.map, d.from));
            kind(&mut out, "missing on the other side", Some(&d.missing), self.repair);
            kind(&mut out, "fields differ", Some(&d.differing), self.repair);
            kind(
                &mut out,
                "unexpected on the other side",
                d.unexpected.as_ref(),
                self.repair,
            );
            kind(
                &mut out,
                "links to a record that is gone",
                Some(&d.stale_links),
                self.repair,
            );
        }
        let in_flight: u64 = self.maps.iter().map(|d| d.settled_in_flight).sum();
        if in_flight > 0 {
            out.push_str(&format!(
                "\n{} differed at first and were in sync when checked again (changes in flight)\n",
                plural(in_flight, "record")
            ));
        }
        let found: u64 = self.maps.iter().map(Drift::found).sum();
        out.push_str(&match (found, self.repair) {
            (0, _) => format!("\nin sync ({:.1} s)\n", self.seconds),
            (n, false) => format!(
                "\ndrift: {} (dualsync reconcile --repair repairs it; {:.1} s)\n",
                plural(n, "record"),
                self.seconds
            ),
            (n, true) => format!(
                "\ndrift: {}, {} repaired, {} not ({:.1} s)\n",
                plural(n, "record"),
                n - self.unrepaired,
                self.unrepaired,
                self.seconds
            ),
        });
        out
    }
}

fn kind(out: &mut String, what: &str, k: Option<&DriftKind>, repair: bool) {
    let Some(k) = k.filter(|k| k.count > 0) else { return };
    out.push_str(&format!("  {what}: {}", k.count));
    if repair {
        out.push_str(&format!(" ({} repaired)", k.repaired));
    }
    out.push('\n');
    for e in &k.examples {
        out.push_str(&format!("    {}\n", e.record));
        for f in &e.fields {
            out.push_str(&format!(
                "      {}: expected {}, holds {}\n",
                f.column,
                f.expected.as_deref().unwrap_or("null"),
                f.actual.as_deref().unwrap_or("null")
            ));
        }
    }
    if k.count > k.examples.len() as u64 {
        out.push_str(&format!("    and {} more\n", k.count - k.examples.len() as u64));
    }
}

/// What to reconcile.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The maps (every map when empty).
    pub maps: Vec<String>,
    /// Only this company's records, instead of the configured companies.
    pub company: Option<String>,
    pub repair: bool,
    /// How long to wait before checking a suspect again; by default 0 when no daemon runs,
    /// otherwise long enough for the daemon to sync what it has seen.
    pub recheck_seconds: Option<u64>,
}

pub async fn reconcile(config: &Config, request: &Request) -> Result<ReconcileReport> {
    let started = std::time::Instant::now();
    let maps = crate::daemon::load_maps(config).map_err(|e| {
        Error::new(Kind::Maps, e.message().to_string())
            .with_hint("reconcile compares through the maps' definitions; fix the map files first (dualsync validate)")
    })?;
    let names: Vec<&str> = maps.iter().map(|m| m.map().name.as_str()).collect();
    if let Some(unknown) = request.maps.iter().find(|m| !names.contains(&m.as_str())) {
        return Err(super::unknown_map_option(unknown, &names));
    }
    let mut config = config.clone();
    if let Some(c) = &request.company {
        if !config.companies.is_empty() && !config.companies.contains(c) {
            return Err(Error::usage(format!(
                "{c} is not one of the configured companies ({})",
                config.companies.join(", ")
            ))
            .with_hint("name a company of `companies` in the configuration"));
        }
        config.companies = vec![c.clone()];
    }
    let state = match request.repair {
        true => open_state_for_change(&config, "reconcile").await?,
        false => open_state_existing(&config).await?.ok_or_else(|| {
            Error::not_found("there is no state store yet: nothing has been synced to reconcile")
                .with_hint("start `dualsync run` (or `dualsync initial-sync`) first")
        })?,
    };
    let daemon_runs = state.lock_held(DAEMON).await.context("state store")?;
    let recheck = match request.recheck_seconds {
        Some(s) => std::time::Duration::from_secs(s),
        None if daemon_runs => {
            let poll = config.operational.http.poll().max(config.accounting.http.poll());
            std::time::Duration::from_secs(2) + poll
        }
        None => std::time::Duration::ZERO,
    };
    let engine = crate::daemon::admin_engine(&config, &maps, state).await?;
    let options = ReconcileOptions {
        repair: request.repair,
        recheck_after: recheck,
    };
    let out = engine
        .reconcile_maps(&request.maps, &options)
        .await
        .context("reconciling")?;
    let unrepaired = match request.repair {
        true => out.iter().map(Drift::unrepaired).sum(),
        false => out.iter().map(Drift::found).sum(),
    };
    Ok(ReconcileReport {
        repair: request.repair,
        maps: out,
        unrepaired,
        seconds: started.elapsed().as_secs_f64(),
    })
}
