//! `dualsync plan [--map NAME]... [PATH]`: what adopting the map files at PATH (the configured
//! map folder by default) would do, before the daemon adopts them (`engine::plan`). The state
//! store keeps the definition each running map was adopted with; each map is new, edited,
//! unchanged (cosmetic keys only, or not at all) or removed. New and edited maps are synced
//! again in full when adopted, so their records are read and planned pass by pass. Nothing is
//! written anywhere (the state store is opened read-only).

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use utoipa::ToSchema;

use super::open_state_existing;
use super::output::{Report, plural};
use crate::config::Config;
use crate::engine::plan::{MapChange, MapPlan, Records};
use crate::error::{Context, Error, Kind, Result};
use crate::tablemap;

/// What adopting the map files would do, per map.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanReport {
    /// The map files compared.
    pub path: String,
    pub maps: Vec<MapPlan>,
    /// Whether adopting them would change records or what runs.
    pub changes: bool,
    pub seconds: f64,
}

impl Report for PlanReport {
    fn text(&self) -> String {
        let mut out = format!(
            "{:<26} {:<10} {:<12} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7}\n",
            "map", "change", "pass", "read", "write", "create", "unchanged", "skipped", "failed"
        );
        for m in &self.maps {
            let change = format!("{:?}", m.change).to_lowercase();
            if m.passes.is_empty() {
                out.push_str(&format!("{:<26} {:<10} -\n", m.map, change));
            }
            for (n, p) in m.passes.iter().enumerate() {
                let (name, change) = match n {
                    0 => (m.map.as_str(), change.as_str()),
                    _ => ("", ""),
                };
                out.push_str(&format!(
                    "{:<26} {:<10} {:<12} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7}\n",
                    name,
                    change,
                    format!("from {}", p.from),
                    p.counts.read,
                    p.counts.written,
                    p.created,
                    p.counts.unchanged,
                    p.counts.skipped,
                    p.counts.failed + p.counts.parked,
                ));
            }
        }
        for m in &self.maps {
            details(&mut out, m);
        }
        out.push_str(&match self.changes {
            false => format!("\nno change to any record ({:.1} s)\n", self.seconds),
            true => format!(
                "\nadopting these files changes records (the daemon adopts them when they are in its map folder; {:.1} s)\n",
                self.seconds
            ),
        });
        out
    }
}

/// What a map's plan says beyond its counts.
fn details(out: &mut String, m: &MapPlan) {
    let mut lines = Vec::new();
    match m.change {
        MapChange::Removed => lines.push("removed: the daemon stops syncing it; its records and links stay".into()),
        MapChange::Unchanged => return,
        MapChange::New => lines.push("new: its initial sync runs when adopted".to_string()),
        MapChange::Edited if !m.running_known => lines.push(
            "edited: every record is synced again (the running definition was not kept by the release that adopted it, so nothing is told apart as newly skipped or synced)".into(),
        ),
        MapChange::Edited => lines.push("edited: every record is synced again".to_string()),
    }
    for p in &m.passes {
        let from = format!("from {}", p.from);
        let mut kinds = |what: &str, r: &Option<Records>| {
            if let Some(r) = r.as_ref().filter(|r| r.count > 0) {
                lines.push(format!("{from}: {} {what}, e.g. {}", r.count, r.examples.join(", ")));
            }
        };
        kinds("newly skipped by a rule", &p.newly_skipped);
        kinds("newly out of scope", &p.newly_out_of_scope);
        kinds("newly synced", &p.newly_synced);
        for f in &p.fields {
            lines.push(format!("{from}: {} changes in {} records:", f.column, f.records));
            for e in &f.examples {
                lines.push(format!(
                    "  {}: {} -> {}",
                    e.record,
                    e.old.as_deref().unwrap_or("null"),
                    e.new.as_deref().unwrap_or("null")
                ));
            }
        }
        if p.links_updated > 0 {
            lines.push(format!("{from}: {} updated", plural(p.links_updated, "link")));
        }
    }
    out.push_str(&format!("\n{}:\n", m.map));
    for l in lines {
        out.push_str(&format!("  {l}\n"));
    }
}

/// What to plan.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The map files (the configured map folder when `None`).
    pub path: Option<PathBuf>,
    /// Only these maps (every map when empty).
    pub maps: Vec<String>,
}

pub async fn plan(config: &Config, request: &Request) -> Result<PlanReport> {
    let started = std::time::Instant::now();
    let path = request.path.clone().unwrap_or_else(|| config.maps.clone());
    let loaded = tablemap::load(std::slice::from_ref(&path))
        .map_err(|e| Error::new(Kind::Maps, e.to_string()).with_hint("name a map file or a folder of map files"))?;
    if !loaded.is_valid() {
        for d in &loaded.diagnostics {
            crate::logging::problem(&d.to_string());
        }
        return Err(
            Error::new(Kind::Maps, format!("the maps in {} are invalid", path.display())).with_hint(
                "the daemon would reject this edit too; fix the files (`dualsync validate` shows every problem)",
            ),
        );
    }
    let state = open_state_existing(config).await?.ok_or_else(|| {
        Error::not_found("there is no state store yet: no map runs, so there is nothing to compare with")
            .with_hint("`dualsync initial-sync` or `dualsync run` syncs the maps as they are")
    })?;
    let running = state.map_definitions().await.context("state store")?;
    let engine = crate::daemon::admin_engine(config, &loaded.valid, state).await?;
    if let Err(problems) = crate::daemon::reload::check_catalogs(&loaded, &engine).await {
        for p in &problems {
            crate::logging::problem(p);
        }
        return Err(Error::new(
            Kind::Maps,
            format!("the maps in {} do not fit the stores", path.display()),
        )
        .with_hint("the daemon would reject this edit too; fix what is named above"));
    }
    let mut names: Vec<&str> = engine.maps.iter().map(|m| m.name.as_str()).collect();
    names.extend(running.iter().map(|d| d.map.as_str()));
    if let Some(unknown) = request.maps.iter().find(|m| !names.contains(&m.as_str())) {
        return Err(super::unknown_map_option(unknown, &names));
    }
    let bar = progress_bar();
    let mut at = (String::new(), 0u64);
    let out = engine
        .plan_maps(&request.maps, &mut |map, n| {
            if at.0 != map {
                at = (map.to_string(), bar.position());
                bar.set_message(map.to_string());
            }
            bar.set_position(at.1 + n);
        })
        .await
        .context("planning")?;
    bar.finish_and_clear();
    Ok(PlanReport {
        path: path.display().to_string(),
        changes: out.iter().any(MapPlan::changes),
        maps: out,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A spinner counting the records read, on a terminal.
fn progress_bar() -> ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} planning {msg}: {human_pos} records read ({per_sec})")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
