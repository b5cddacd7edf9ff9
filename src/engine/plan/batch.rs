//! One batch of a plan: the records through the new and the running definition, then the
//! pipeline's own decisions without its writes: unchanged when the link's last hash matches,
//! otherwise the target read and the two-way fields settled as the initial sync settles them
//! (`Engine::settled_row`, by the master side), then unchanged when the target already holds the
//! values, written otherwise. And the overlay of the write-back pass: what the main pass would
//! write to the accounting records, laid over them before they are planned.

use std::collections::{HashMap, HashSet};

use super::PassPlan;
use crate::engine::Engine;
use crate::engine::compile::CompiledMap;
use crate::engine::conflict::{self, Settle};
use crate::engine::pipeline::same_values;
use crate::engine::retry::retry;
use crate::engine::state::{key_text, parse_key_text};
use crate::engine::transform::{self, Outcome, RowView, Scope, TargetRecord, hash_values};
use crate::store::{EntityDesc, Key, Result, Row};
use crate::tablemap::model::Side;

impl Engine {
    /// Plans one batch of source `rows` (read from `from` with `desc`) into `pass`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn plan_batch(
        &self,
        old: Option<&CompiledMap>,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        rows: &[Row],
        settle: &Settle<'_>,
        pass: &mut PassPlan,
    ) -> Result<()> {
        let fresh = matches!(settle, Settle::Fresh(_));
        let scope = Scope {
            companies: &self.companies,
        };
        let links = self.prefetch(map, from, desc, rows).await?;
        // The running definition, where it reads this side at all.
        let old = old.filter(|o| crate::engine::initial::passes(o).contains(&from));
        let old_links = match old {
            Some(o) => Some(self.prefetch(o, from, desc, rows).await?),
            None => None,
        };
        let known = pass.newly_synced.is_some();
        let keys: Vec<String> = rows.iter().map(|r| key_text(&desc.key_of(r))).collect();
        let existing = match fresh {
            true => HashMap::new(),
            false => self.links_of(map, from, &keys).await?,
        };
        let linked_only = !map.records.flows_from(from);
        let linked: HashSet<&str> = existing.keys().map(|(k, _)| k.as_str()).collect();
        let mut todo: Vec<(usize, TargetRecord)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let key = &keys[i];
            if linked_only && !linked.contains(key.as_str()) {
                continue;
            }
            let view = RowView::new(desc, row);
            // Whether the record synced by the running definition (None: not known).
            let before = match (old, &old_links) {
                (Some(o), Some(l)) => Some(matches!(
                    transform::transform(o, from, &view, l, &scope),
                    Outcome::Records(_)
                )),
                _ => known.then_some(false),
            };
            match transform::transform(map, from, &view, &links, &scope) {
                Outcome::Records(records) => {
                    if before == Some(false)
                        && let Some(r) = &mut pass.newly_synced
                    {
                        r.add(|| key.clone());
                    }
                    if self.company_change(map, from, key, &records, &existing).is_some() {
                        pass.counts.failed += 1;
                        continue;
                    }
                    for rec in records {
                        let last =
                            existing
                                .get(&(key.clone(), self.part(map, &rec)))
                                .and_then(|l| match from.other() {
                                    Side::Accounting => l.hash_to_accounting.as_deref(),
                                    Side::Operational => l.hash_to_operational.as_deref(),
                                });
                        if last == Some(hash_values(&rec.values).as_str()) {
                            pass.counts.unchanged += 1;
                        } else {
                            todo.push((i, rec));
                        }
                    }
                }
                Outcome::OutOfScope => {
                    if before == Some(true)
                        && let Some(r) = &mut pass.newly_out_of_scope
                    {
                        r.add(|| key.clone());
                    }
                }
                Outcome::Skipped(rule) => {
                    pass.counts.skipped += 1;
                    if before == Some(true)
                        && let Some(r) = &mut pass.newly_skipped
                    {
                        r.add(|| format!("{key} (rule {rule})"));
                    }
                }
                Outcome::WaitingForParent { .. } => pass.counts.parked += 1,
                Outcome::Rejected { .. } => pass.counts.failed += 1,
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        self.plan_writes(map, from, desc, rows, &keys, &existing, todo, settle, pass)
            .await
    }

    /// The records whose link does not say they are unchanged: the target read, the two-way
    /// fields settled, and each counted as unchanged or written (and its changes noted).
    #[allow(clippy::too_many_arguments)]
    async fn plan_writes(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        rows: &[Row],
        keys: &[String],
        existing: &HashMap<(String, String), crate::engine::state::Link>,
        todo: Vec<(usize, TargetRecord)>,
        settle: &Settle<'_>,
        pass: &mut PassPlan,
    ) -> Result<()> {
        let fresh = matches!(settle, Settle::Fresh(_));
        let groups = self
            .target_groups(map, from.other(), todo.iter().map(|(_, rec)| rec), fresh)
            .await?;
        for group in groups {
            for &n in &group.members {
                let (i, rec) = &todo[n];
                if group.unreadable.contains_key(&rec.key) {
                    pass.counts.failed += 1;
                    continue;
                }
                let cur = group.current.get(&rec.key);
                if cur.is_none() && !map.records.flows_from(from) {
                    continue;
                }
                let link = existing.get(&(keys[*i].clone(), self.part(map, rec)));
                let (row, _) = self
                    .settled_row(map, from, &group, rec, cur, link, settle, &desc.key_of(&rows[*i]))
                    .await?;
                pass.links_updated += 1;
                match cur {
                    Some(cur) if same_values(cur, &row) => pass.counts.unchanged += 1,
                    Some(cur) => {
                        pass.counts.written += 1;
                        let record = key_text(&rec.key);
                        for (idx, column) in group.desc.columns.iter().enumerate() {
                            if !same_values(std::slice::from_ref(&cur[idx]), std::slice::from_ref(&row[idx])) {
                                pass.change(
                                    &column.name,
                                    &record,
                                    conflict::canonical(&cur[idx]),
                                    conflict::canonical(&row[idx]),
                                );
                            }
                        }
                    }
                    None => {
                        pass.counts.written += 1;
                        pass.created += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Lays over accounting `rows` (read with `desc`) the values the main pass would write to
    /// them: their linked operational records through the map, as the main pass writes them
    /// (not where the link says the values were last written; the two-way values kept where
    /// the accounting side is the initial-sync master).
    pub(super) async fn overlay(&self, map: &CompiledMap, desc: &EntityDesc, rows: &mut [Row]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = rows.iter().map(|r| key_text(&desc.key_of(r))).collect();
        let links = self.state.links_by_accounting(&map.name, &keys).await?;
        if links.is_empty() {
            return Ok(());
        }
        let op = self.store(Side::Operational);
        let full = retry(&self.retry, "describe", || op.describe(&map.operational.entity)).await?;
        let cols = map.columns(Side::Operational);
        let odesc = full.project(&cols.iter().map(String::as_str).collect::<Vec<_>>())?;
        let types: Vec<_> = odesc.key_columns().map(|c| c.value_type).collect();
        let mut op_keys: Vec<Key> = links
            .iter()
            .filter_map(|l| parse_key_text(&l.operational_key, &types))
            .collect();
        op_keys.sort_by_key(|k| key_text(k));
        op_keys.dedup();
        let read = retry(&self.retry, "read records", || op.read(&odesc, &op_keys)).await?;
        let prefetched = self.prefetch(map, Side::Operational, &odesc, &read.rows).await?;
        let last: HashMap<(&str, &str), Option<&str>> = links
            .iter()
            .map(|l| {
                (
                    (l.operational_key.as_str(), l.accounting_key.as_str()),
                    l.hash_to_accounting.as_deref(),
                )
            })
            .collect();
        let at: HashMap<&str, usize> = keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
        let two_way = conflict::two_way_columns(map, Side::Accounting);
        let keep_two_way = map.initial_sync_master == Side::Accounting;
        let scope = Scope {
            companies: &self.companies,
        };
        for row in &read.rows {
            let Outcome::Records(records) =
                transform::transform(map, Side::Operational, &RowView::new(&odesc, row), &prefetched, &scope)
            else {
                continue;
            };
            let okey = key_text(&odesc.key_of(row));
            for rec in records {
                let akey = key_text(&rec.key);
                let (Some(&i), Some(hash)) = (at.get(akey.as_str()), last.get(&(okey.as_str(), akey.as_str()))) else {
                    continue;
                };
                if *hash == Some(hash_values(&rec.values).as_str()) {
                    continue;
                }
                for (column, value) in &rec.values {
                    if keep_two_way && two_way.contains(&&**column) {
                        continue;
                    }
                    if let Some(idx) = desc.index_of(column) {
                        rows[i][idx] = value.clone();
                    }
                }
            }
        }
        Ok(())
    }
}
