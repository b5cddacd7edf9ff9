//! The passes of a plan: the initial sync's passes over the source records, in order, batch by
//! batch, each batch planned by `batch`; the write-back pass reads the accounting records as
//! the main pass would leave them.

use super::PassPlan;
use crate::engine::Engine;
use crate::engine::compile::CompiledMap;
use crate::engine::conflict::Settle;
use crate::engine::retry::retry;
use crate::store::{Key, Result};
use crate::tablemap::model::Side;

impl Engine {
    /// What adopting `map` (one of this engine's maps) would do, pass by pass, compared with
    /// `old`, the definition the daemon runs (`None`: a new map, or not known). `progress` is
    /// told the records read so far.
    pub async fn plan(
        &self,
        old: Option<&CompiledMap>,
        map: &CompiledMap,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<PassPlan>> {
        let passes = crate::engine::initial::passes(map);
        // An initial sync into an empty target compares nothing (`Settle::Fresh`).
        let fresh = self.is_empty(map, Side::Accounting).await?;
        // After a fresh main pass, a map whose records come from the operational side alone
        // reads back only the records with a value to carry back: none of those it created.
        let fresh_back = fresh && !map.records.flows_from(Side::Accounting);
        let mut out: Vec<PassPlan> = Vec::new();
        let mut read = 0u64;
        for (n, &from) in passes.iter().enumerate() {
            let settle = match fresh && n == 0 {
                true => Settle::Fresh(map.initial_sync_master),
                false => Settle::Master(map.initial_sync_master),
            };
            let mut pass = PassPlan::new(from, old.is_some());
            let store = self.store(from);
            let full = retry(&self.retry, "describe", || store.describe(&map.side(from).entity)).await?;
            // The columns both definitions read (the old one's, to tell what changed).
            let mut cols = map.columns(from);
            for c in old.map(|o| o.columns(from)).unwrap_or_default() {
                if !cols.contains(&c) && full.index_of(&c).is_some() {
                    cols.push(c);
                }
            }
            let desc = full.project(&cols.iter().map(String::as_str).collect::<Vec<_>>())?;
            let mut after: Option<Key> = None;
            loop {
                let page = retry(&self.retry, "scan", || {
                    store.read_page(&desc, after.as_ref(), self.batch_size)
                })
                .await?;
                let mut rows = page.rows;
                if n > 0 {
                    self.overlay(map, &desc, &mut rows).await?;
                }
                pass.counts.read += (rows.len() + page.bad.len()) as u64;
                pass.counts.failed += page.bad.len() as u64;
                self.plan_batch(old, map, from, &desc, &rows, &settle, &mut pass)
                    .await?;
                read += (rows.len() + page.bad.len()) as u64;
                progress(read);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            if n > 0 && !fresh_back {
                // Records the main pass creates are read again here, with the values it wrote.
                let created = out.first().map_or(0, |p| p.created);
                pass.counts.read += created;
                pass.counts.unchanged += created;
            }
            out.push(pass);
        }
        Ok(out)
    }
}
