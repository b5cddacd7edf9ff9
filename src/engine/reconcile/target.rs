//! The passes of reconcile over the target's records (those nothing maps to) and over the
//! links (those whose source record is gone).

use std::collections::HashSet;

use super::{Drift, DriftExample, DriftKind, RECHECK_AT, ReconcileOptions, key_hash};
use crate::engine::Engine;
use crate::engine::compile::CompiledMap;
use crate::engine::retry::retry;
use crate::engine::state::{key_text, parse_key_text};
use crate::engine::transform::RowView;
use crate::store::{EntityDesc, Key, Result, WriteOp};
use crate::tablemap::model::Side;
use crate::value::Value;

impl Engine {
    /// The target pass: records of the target entity in the map's scope (its companies, and
    /// its filter on that side) that no source record maps to and no link of the map names.
    pub(super) async fn unexpected(
        &self,
        map: &CompiledMap,
        target: Side,
        expected: &HashSet<u64>,
        options: &ReconcileOptions,
    ) -> Result<DriftKind> {
        let store = self.store(target);
        let full = retry(&self.retry, "describe", || store.describe(&map.side(target).entity)).await?;
        let side = map.side(target);
        let mut cols: Vec<&str> = side.key.iter().map(String::as_str).collect();
        if let Some(c) = side.company.as_deref()
            && !cols.contains(&c)
        {
            cols.push(c);
        }
        // The side's filter says which of its records the map is about.
        let filter = side.filter.as_ref();
        for c in filter.map(|f| f.columns()).unwrap_or_default() {
            if !cols.contains(&c.name.as_str()) {
                cols.push(&c.name);
            }
        }
        let desc = full.project(&cols)?;
        let company = side.company.as_deref().and_then(|c| desc.index_of(c));
        let mut found = DriftKind::default();
        let mut suspects: Vec<Key> = Vec::new();
        let mut after: Option<Key> = None;
        loop {
            let page = retry(&self.retry, "scan", || {
                store.read_page(&desc, after.as_ref(), self.batch_size)
            })
            .await?;
            for row in &page.rows {
                let in_scope = match company {
                    Some(i) => {
                        self.companies.is_empty() || self.companies.iter().any(|c| Value::Text(c.clone()) == row[i])
                    }
                    None => true,
                };
                let in_scope = in_scope && filter.is_none_or(|f| f.eval(&RowView::new(&desc, row)));
                let key = desc.key_of(row);
                if in_scope && !expected.contains(&key_hash(&key_text(&key))) {
                    suspects.push(key);
                }
            }
            if suspects.len() >= RECHECK_AT || page.next.is_none() {
                self.settle_unexpected(map, target, &desc, std::mem::take(&mut suspects), options, &mut found)
                    .await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(found)
    }

    /// Unexpected suspects: those no link names and the target still holds after the delay
    /// are reported, and deleted when asked.
    async fn settle_unexpected(
        &self,
        map: &CompiledMap,
        target: Side,
        desc: &EntityDesc,
        suspects: Vec<Key>,
        options: &ReconcileOptions,
        found: &mut DriftKind,
    ) -> Result<()> {
        if suspects.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(options.recheck_after).await;
        let store = self.store(target);
        for chunk in suspects.chunks(self.batch_size.max(1)) {
            let texts: Vec<String> = chunk.iter().map(|k| key_text(k)).collect();
            let named = self.linked(map, target, &texts).await?;
            let unnamed: Vec<Key> = chunk
                .iter()
                .filter(|k| !named.contains(&key_text(k)))
                .cloned()
                .collect();
            let read = retry(&self.retry, "read target", || store.read(desc, &unnamed)).await?;
            let held: Vec<Key> = read.rows.iter().map(|r| desc.key_of(r)).collect();
            for k in &held {
                found.add(DriftExample {
                    record: key_text(k),
                    fields: Vec::new(),
                });
            }
            if options.repair && !held.is_empty() {
                let keys = desc.project(&[])?;
                let ops: Vec<WriteOp> = held.iter().cloned().map(WriteOp::Delete).collect();
                let outcomes = self.write(map, target, &keys, &ops).await?;
                found.repaired += outcomes
                    .iter()
                    .filter(|o| matches!(o, crate::store::RowOutcome::Deleted { existed: true }))
                    .count() as u64;
            }
        }
        Ok(())
    }

    /// The link pass: links of the map whose source record was not read (gone); checked again
    /// after the delay, reported, and when asked synced as deletions through the pipeline.
    pub(super) async fn stale_links(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        source_keys: &HashSet<u64>,
        options: &ReconcileOptions,
        drift: &mut Drift,
    ) -> Result<()> {
        let mut after: Option<String> = None;
        let mut suspects: Vec<String> = Vec::new();
        loop {
            let keys = self
                .state
                .linked_keys(&map.name, from.name(), after.as_deref(), self.batch_size.max(1))
                .await?;
            let Some(last) = keys.last().cloned() else { break };
            suspects.extend(keys.into_iter().filter(|k| !source_keys.contains(&key_hash(k))));
            after = Some(last);
            if suspects.len() >= RECHECK_AT {
                self.settle_stale(map, from, desc, std::mem::take(&mut suspects), options, drift)
                    .await?;
            }
        }
        self.settle_stale(map, from, desc, suspects, options, drift).await
    }

    async fn settle_stale(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        suspects: Vec<String>,
        options: &ReconcileOptions,
        drift: &mut Drift,
    ) -> Result<()> {
        if suspects.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(options.recheck_after).await;
        let gone = self.gone(from, desc, &suspects).await?;
        for key in &gone {
            drift.stale_links.add(DriftExample {
                record: key.clone(),
                fields: Vec::new(),
            });
        }
        if options.repair && !gone.is_empty() {
            // The pipeline syncs a record that is gone as a deletion: the target record (where
            // the map deletes) and the link go.
            for chunk in gone.chunks(self.batch_size.max(1)) {
                self.resync(map, from, chunk).await?;
            }
            let still = self.gone(from, desc, &gone).await?;
            let linked = self.linked(map, from, &still).await?;
            drift.stale_links.repaired += gone.iter().filter(|k| !linked.contains(*k)).count() as u64;
        }
        Ok(())
    }

    /// Of these source keys, those whose record the source store does not hold.
    async fn gone(&self, from: Side, desc: &EntityDesc, keys: &[String]) -> Result<Vec<String>> {
        let types: Vec<_> = desc.key_columns().map(|c| c.value_type).collect();
        let store = self.store(from);
        let mut out = Vec::new();
        for chunk in keys.chunks(self.batch_size.max(1)) {
            let parsed: Vec<Key> = chunk.iter().filter_map(|t| parse_key_text(t, &types)).collect();
            let read = retry(&self.retry, "read records", || store.read(desc, &parsed)).await?;
            out.extend(
                crate::engine::live::deleted_keys(desc, &parsed, &read)
                    .iter()
                    .map(|k| key_text(k)),
            );
        }
        Ok(out)
    }
}
