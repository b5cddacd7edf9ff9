//! One batch of one map in one direction: source records (and deleted source keys) become
//! writes on the other side. Lookups translate through prefetched links; a record whose
//! values equal what was last written (the link's hash) or what the target already holds is
//! not written again, which suppresses both no-ops and echoes of the engine's own writes.
//! Two-way fields changed on the target are kept, and conflicts settled (`conflict`).
//! Skips, parked records and record errors are recorded in the state store. The caller
//! commits the returned links together with its cursor or checkpoint.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::Engine;
use super::compile::CompiledMap;
use super::conflict::{self, Agreed, Decision, Settle};
use super::retry::retry;
use super::state::{Link, Parked, RecordErrorKind, SyncCounts, key_text, parse_key_text};
use super::transform::{self, Outcome, RowView, Scope, TargetRecord};
use crate::store::{BadRow, EntityDesc, Key, Result, Row, RowOutcome, WriteOp};
use crate::tablemap::model::{ConflictPolicy, FanOutKind, Side};
use crate::value::{Value, ValueType};

/// The target's records for some records about to be written that write the same columns.
pub(super) struct TargetGroup {
    /// The target entity projected on those columns.
    pub desc: EntityDesc,
    /// Where each of `desc`'s columns is in the records' values.
    slots: Vec<Option<usize>>,
    /// The records' places in the list they were grouped from.
    pub members: Vec<usize>,
    /// What the target holds, by key (nothing when it was not read).
    pub current: HashMap<Key, Row>,
    /// Target records that could not be read, by key.
    pub unreadable: HashMap<Key, BadRow>,
}

/// What a batch produced: links to commit, links to remove, and counts.
#[derive(Debug, Default)]
pub struct BatchResult {
    pub links: Vec<Link>,
    pub deleted_links: Vec<(String, String)>,
    pub counts: SyncCounts,
    /// Operational keys of records newly linked (children may wait for them).
    pub linked: Vec<String>,
    /// Source keys of the records that are now in sync (written, or already equal).
    pub synced: Vec<String>,
    /// Source keys of the records that need nothing more: in sync, left out by scope or a skip
    /// rule, or deleted. They stop waiting for a parent once the batch is committed.
    pub fine: Vec<String>,
}

impl Engine {
    /// Syncs `rows` (read from `from` with `desc`) and `deleted` source keys of `map`.
    /// Live sync (`Settle::Live`) also clears skip records and resolves dead letters of
    /// records that now sync.
    pub async fn sync_batch(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        rows: &[Row],
        deleted: &[Key],
        settle: &Settle<'_>,
    ) -> Result<BatchResult> {
        let live = matches!(settle, Settle::Live { .. });
        let fresh = matches!(settle, Settle::Fresh(_));
        let target = from.other();
        let mut out = BatchResult::default();
        out.counts.read = rows.len() as u64;
        let links = self.prefetch(map, from, desc, rows).await?;
        let scope = Scope {
            companies: &self.companies,
        };
        let side = from.name();

        // Existing links of these source records.
        let source_keys: Vec<String> = rows.iter().map(|r| key_text(&desc.key_of(r))).collect();
        let existing = match fresh {
            true => HashMap::new(),
            false => self.links_of(map, from, &source_keys).await?,
        };

        // Transform; collect the writes.
        let mut writes: Vec<(usize, TargetRecord)> = Vec::new();
        let mut synced: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
        // Live sync: records that sync (their skip notes go) and that were written (their
        // record errors are resolved), each done in one statement per chunk after the writes.
        let mut unskipped: Vec<String> = Vec::new();
        // Records that need nothing more (left out by scope or a skip rule; those that sync
        // are added below): their record errors are resolved.
        let mut fine: Vec<String> = Vec::new();
        // Where records are created only from the other side, only linked records are updated.
        let linked_only = !map.records.flows_from(from);
        let linked: std::collections::HashSet<&str> = existing.keys().map(|(k, _)| k.as_str()).collect();
        // Records left out by a skip rule (key, rule), noted in one statement after the loop.
        let mut skips: Vec<(String, String)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let key = &source_keys[i];
            if linked_only && !linked.contains(key.as_str()) {
                continue;
            }
            match transform::transform(map, from, &RowView::new(desc, row), &links, &scope) {
                Outcome::Records(records) => {
                    if let Some(moved) = self.company_change(map, from, key, &records, &existing) {
                        out.counts.failed += 1;
                        self.record_company_change(map, from, key, Some(payload(desc, row)), &moved)
                            .await?;
                        continue;
                    }
                    unskipped.push(key.clone());
                    synced.insert(i);
                    writes.extend(records.into_iter().map(|r| (i, r)));
                }
                Outcome::OutOfScope => fine.push(key.clone()),
                Outcome::Skipped(rule) => {
                    fine.push(key.clone());
                    out.counts.skipped += 1;
                    skips.push((key.clone(), rule));
                }
                Outcome::WaitingForParent {
                    map: parent,
                    key: parent_key,
                } => {
                    out.counts.parked += 1;
                    self.parked_any.store(true, std::sync::atomic::Ordering::SeqCst);
                    self.state
                        .park(&Parked {
                            map: map.name.clone(),
                            side: from,
                            record_key: key.clone(),
                            waiting_for_map: parent.clone(),
                            waiting_for_key: key_text(std::slice::from_ref(&parent_key)),
                            parked_at: Utc::now(),
                            reason: Some(format!("waiting for {parent} {parent_key}")),
                        })
                        .await?;
                }
                Outcome::Rejected { message, hint } => {
                    out.counts.failed += 1;
                    self.dead_letter(
                        map,
                        from,
                        key,
                        Some(payload(desc, row)),
                        RecordErrorKind::Rejected,
                        &message,
                        &hint,
                    )
                    .await?;
                }
            }
        }

        self.state.record_skips(&map.name, side, &skips).await?;

        // Leave out what was last written or what the target already holds.
        let mut todo: Vec<(usize, TargetRecord, String)> = Vec::new();
        for (i, rec) in writes {
            let hash = transform::hash_values(&rec.values);
            let part = self.part(map, &rec);
            let last = existing
                .get(&(source_keys[i].clone(), part))
                .and_then(|l| match target {
                    Side::Accounting => l.hash_to_accounting.clone(),
                    Side::Operational => l.hash_to_operational.clone(),
                });
            if last.as_deref() == Some(hash.as_str()) {
                out.counts.unchanged += 1;
            } else {
                todo.push((i, rec, hash));
            }
        }
        if !todo.is_empty() {
            let groups = self
                .target_groups(map, target, todo.iter().map(|(_, rec, _)| rec), fresh)
                .await?;
            for group in groups {
                let tdesc = &group.desc;
                let mut ops = Vec::new();
                let mut pending = Vec::new();
                for &n in &group.members {
                    let (i, rec, _) = &todo[n];
                    if let Some(bad) = group.unreadable.get(&rec.key) {
                        out.counts.failed += 1;
                        synced.remove(i);
                        self.record_unreadable_target(map, from, &source_keys[*i], tdesc, bad)
                            .await?;
                        continue;
                    }
                    let cur = group.current.get(&rec.key);
                    if cur.is_none() && !map.records.flows_from(from) {
                        // Records are created only from the other side: nothing to update here.
                        synced.remove(i);
                        continue;
                    }
                    let link = existing.get(&(source_keys[*i].clone(), self.part(map, rec)));
                    let (row, mut agreed) = self
                        .settled_row(map, from, &group, rec, cur, link, settle, &desc.key_of(&rows[*i]))
                        .await?;
                    record_source(map, from, desc, &rows[*i], &mut agreed);
                    let agreed = agreed.to_json();
                    if cur.is_some_and(|cur| same_values(cur, &row)) {
                        out.counts.unchanged += 1;
                        let (_, rec, hash) = &todo[n];
                        out.links
                            .push(self.link(map, from, &source_keys[*i], rec, hash, agreed, &existing));
                    } else {
                        ops.push(WriteOp::Upsert(row));
                        pending.push((n, agreed));
                    }
                }
                if ops.is_empty() {
                    continue;
                }
                self.limiter(target).until_n(ops.len()).await;
                let outcomes = retry(&self.retry, "write", || self.write(map, target, tdesc, &ops)).await?;
                for (outcome, (n, agreed)) in outcomes.into_iter().zip(pending) {
                    let (i, rec, hash) = &todo[n];
                    match outcome {
                        RowOutcome::Rejected { message } => {
                            out.counts.failed += 1;
                            synced.remove(i);
                            let hint = format!(
                                "the {} store refused the record; correct the value and retry it",
                                target.name()
                            );
                            let body = Some(values_json(rec.values.iter().map(|(c, v)| (&**c, v))));
                            self.dead_letter(
                                map,
                                from,
                                &source_keys[*i],
                                body,
                                RecordErrorKind::Refused,
                                &message,
                                &hint,
                            )
                            .await?;
                        }
                        _ => {
                            out.counts.written += 1;
                            out.links
                                .push(self.link(map, from, &source_keys[*i], rec, hash, agreed, &existing));
                        }
                    }
                }
            }
        }
        if live {
            self.state.clear_skips(&map.name, side, &unskipped).await?;
        }
        out.linked = out.links.iter().map(|l| l.operational_key.clone()).collect();
        out.synced = synced.into_iter().map(|i| source_keys[i].clone()).collect();
        // A record that synced (written, or already as it should be), needs no write, or is
        // gone has no error any more. (Initial sync asks only when the map has open errors.)
        fine.extend(out.synced.iter().cloned());
        fine.extend(deleted.iter().map(|k| key_text(k)));
        if live || self.state.count_open_dead_letters(Some(&map.name)).await? > 0 {
            self.state.resolve_dead_letters_for(&map.name, side, &fine).await?;
        }
        out.fine = fine;
        if !deleted.is_empty() {
            self.propagate_deletes(map, from, deleted, &mut out).await?;
        }
        Ok(out)
    }

    /// What the target holds of `records` (about to be written to `target`), grouped by the
    /// columns they write (fan-out and constants make column sets differ within a batch);
    /// `fresh`: the target held nothing when the copy began, so it is not read.
    pub(super) async fn target_groups<'r>(
        &self,
        map: &CompiledMap,
        target: Side,
        records: impl Iterator<Item = &'r TargetRecord>,
        fresh: bool,
    ) -> Result<Vec<TargetGroup>> {
        let records: Vec<&TargetRecord> = records.collect();
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let target_store = self.store(target);
        let full = retry(&self.retry, "describe", || {
            target_store.describe(&map.side(target).entity)
        })
        .await?;
        let mut by_columns: BTreeMap<Vec<&str>, Vec<usize>> = BTreeMap::new();
        for (n, rec) in records.iter().enumerate() {
            by_columns
                .entry(rec.values.iter().map(|(c, _)| &**c).collect())
                .or_default()
                .push(n);
        }
        let mut out = Vec::with_capacity(by_columns.len());
        for (cols, members) in by_columns {
            let desc = full.project(&cols)?;
            // Where each of the target's columns is in the group's records (all alike).
            let slots = desc
                .columns
                .iter()
                .map(|c| cols.iter().position(|k| *k == c.name))
                .collect();
            let read = match fresh {
                true => crate::store::Rows::default(),
                false => {
                    let keys: Vec<Key> = members.iter().map(|&n| records[n].key.clone()).collect();
                    retry(&self.retry, "read target", || target_store.read(&desc, &keys)).await?
                }
            };
            let current = read.rows.into_iter().map(|r| (desc.key_of(&r), r)).collect();
            // A target record that cannot be read is not overwritten blindly (the caller
            // makes the source record a record error naming the target's problem).
            let unreadable = read
                .bad
                .into_iter()
                .filter_map(|b| b.key.clone().map(|k| (k, b)))
                .collect();
            out.push(TargetGroup {
                desc,
                slots,
                members,
                current,
                unreadable,
            });
        }
        Ok(out)
    }

    /// `rec` as the row to write into `group`'s columns, its two-way fields settled against
    /// what the target holds (`current`), and the agreed values after (from the `link`'s).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn settled_row(
        &self,
        map: &CompiledMap,
        from: Side,
        group: &TargetGroup,
        rec: &TargetRecord,
        current: Option<&Row>,
        link: Option<&Link>,
        settle: &Settle<'_>,
        source_key: &Key,
    ) -> Result<(Row, Agreed)> {
        let mut row: Row = group
            .slots
            .iter()
            .map(|s| s.map_or(Value::Null, |p| rec.values[p].1.clone()))
            .collect();
        let mut agreed = Agreed::parse(link.and_then(|l| l.agreed.as_deref()));
        self.settle(
            map,
            from,
            &group.desc,
            current,
            &mut row,
            &mut agreed,
            settle,
            source_key,
        )
        .await?;
        Ok((row, agreed))
    }

    /// Existing links of source records, by (source key text, fan-out part).
    pub(super) async fn links_of(
        &self,
        map: &CompiledMap,
        from: Side,
        keys: &[String],
    ) -> Result<HashMap<(String, String), Link>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let links = match from {
            Side::Operational => self.state.links_by_operational(&map.name, keys).await?,
            Side::Accounting => self.state.links_by_accounting(&map.name, keys).await?,
        };
        Ok(links
            .into_iter()
            .map(|l| {
                let k = match from {
                    Side::Operational => l.operational_key.clone(),
                    Side::Accounting => l.accounting_key.clone(),
                };
                let part = if from == Side::Operational {
                    l.part.clone()
                } else {
                    String::new()
                };
                ((k, part), l)
            })
            .collect())
    }

    /// The fan-out part of a target record: its company or fan-out value, or empty.
    pub(super) fn part(&self, map: &CompiledMap, rec: &TargetRecord) -> String {
        match map.fan_out.as_ref().map(|f| f.per) {
            Some(FanOutKind::Company) => rec.company.clone().unwrap_or_default(),
            Some(FanOutKind::Value) => map
                .fan_out_column()
                .and_then(|c| rec.get(c))
                .map(|v| v.to_string())
                .unwrap_or_default(),
            None => String::new(),
        }
    }

    /// The link recording that `rec` was written (or already matched) for a source record.
    #[allow(clippy::too_many_arguments)]
    fn link(
        &self,
        map: &CompiledMap,
        from: Side,
        source_key: &str,
        rec: &TargetRecord,
        hash: &str,
        agreed: Option<String>,
        existing: &HashMap<(String, String), Link>,
    ) -> Link {
        let target_key = key_text(&rec.key);
        match from {
            Side::Operational => {
                let part = self.part(map, rec);
                let old = existing.get(&(source_key.to_string(), part.clone()));
                Link {
                    map: map.name.clone(),
                    operational_key: source_key.to_string(),
                    part,
                    accounting_key: target_key,
                    company: rec.company.clone(),
                    hash_to_accounting: Some(hash.to_string()),
                    hash_to_operational: old.and_then(|l| l.hash_to_operational.clone()),
                    agreed,
                }
            }
            Side::Accounting => {
                let old = existing.get(&(source_key.to_string(), String::new()));
                Link {
                    map: map.name.clone(),
                    operational_key: target_key,
                    part: old.map(|l| l.part.clone()).unwrap_or_default(),
                    accounting_key: source_key.to_string(),
                    company: rec.company.clone().or_else(|| old.and_then(|l| l.company.clone())),
                    hash_to_accounting: old.and_then(|l| l.hash_to_accounting.clone()),
                    hash_to_operational: Some(hash.to_string()),
                    agreed,
                }
            }
        }
    }

    /// Settles the two-way columns of `row` (about to be written to the target) against what
    /// the target holds (`current`, None when it has no such record yet), and records in
    /// `agreed` what the target holds afterwards. Conflicts are logged.
    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        map: &CompiledMap,
        from: Side,
        tdesc: &EntityDesc,
        current: Option<&Row>,
        row: &mut Row,
        agreed: &mut Agreed,
        settle: &Settle<'_>,
        source_key: &Key,
    ) -> Result<()> {
        let target = from.other();
        let columns = conflict::two_way_columns(map, target);
        let mut target_at: Option<Option<DateTime<Utc>>> = None;
        for (idx, column) in tdesc.columns.iter().enumerate() {
            if !columns.contains(&column.name.as_str()) {
                continue;
            }
            let Some(cur) = current else {
                agreed
                    .side_mut(target)
                    .insert(column.name.clone(), conflict::canonical(&row[idx]));
                continue;
            };
            let decision = match settle {
                Settle::Master(master) | Settle::Fresh(master) => {
                    if *master == target {
                        Decision::Keep
                    } else {
                        Decision::Write
                    }
                }
                Settle::Live { changed_at } => {
                    match conflict::decide(&row[idx], &cur[idx], agreed.side(target).get(&column.name)) {
                        Decision::Conflict => {
                            if map.conflict == ConflictPolicy::LatestWins && target_at.is_none() {
                                target_at = Some(self.last_change_at(map, target, &tdesc.key_of(row)).await?);
                            }
                            let source_at = changed_at.get(source_key).copied();
                            let winner = conflict::policy_winner(map.conflict, from, source_at, target_at.flatten());
                            tracing::warn!(
                                map = %map.name,
                                key = %key_text(source_key),
                                column = %column.name,
                                from = from.name(),
                                source_value = %row[idx],
                                target_value = %cur[idx],
                                policy = ?map.conflict,
                                "conflict: the field changed on both sides; the {} value wins",
                                winner.name()
                            );
                            if winner == from {
                                Decision::Write
                            } else {
                                Decision::Keep
                            }
                        }
                        decision => decision,
                    }
                }
            };
            match decision {
                Decision::Write => {
                    agreed
                        .side_mut(target)
                        .insert(column.name.clone(), conflict::canonical(&row[idx]));
                }
                Decision::Keep | Decision::Conflict => {
                    row[idx] = cur[idx].clone();
                    // In live sync the target's own change has not reached the source yet: the
                    // agreed value stays, so the change still counts as one (initial sync: the
                    // master's value is the agreed one).
                    let last = agreed.side(target).get(&column.name).is_some();
                    if !last || matches!(settle, Settle::Master(_) | Settle::Fresh(_)) {
                        agreed
                            .side_mut(target)
                            .insert(column.name.clone(), conflict::canonical(&cur[idx]));
                    }
                }
            }
        }
        Ok(())
    }

    /// When `side` last changed the record `key` of `map` after the map's cursor, from the
    /// change feed (scanning at most a few batches ahead); None when not found.
    async fn last_change_at(&self, map: &CompiledMap, side: Side, key: &Key) -> Result<Option<DateTime<Utc>>> {
        let store = self.store(side);
        let entity = &map.side(side).entity;
        let mut cursor = self
            .state
            .get_cursor(&map.name, side.name(), entity)
            .await?
            .unwrap_or_default();
        let mut latest = None;
        for _ in 0..8 {
            let batch = retry(&self.retry, "read changes", || {
                store.changes(entity, &cursor, self.batch_size)
            })
            .await?;
            if batch.changes.is_empty() {
                break;
            }
            cursor = batch.next;
            for c in batch.changes.iter().filter(|c| &c.key == key) {
                latest = latest.max(c.at);
            }
        }
        Ok(latest)
    }

    /// Deletes the linked target records of deleted source records, when the map says so.
    async fn propagate_deletes(
        &self,
        map: &CompiledMap,
        from: Side,
        deleted: &[Key],
        out: &mut BatchResult,
    ) -> Result<()> {
        if !map.deletes || !map.records.flows_from(from) {
            return Ok(());
        }
        let target = from.other();
        let texts: Vec<String> = deleted.iter().map(|k| key_text(k)).collect();
        let links: Vec<Link> = self.links_of(map, from, &texts).await?.into_values().collect();
        if links.is_empty() {
            return Ok(());
        }
        let store = self.store(target);
        let full = retry(&self.retry, "describe", || store.describe(&map.side(target).entity)).await?;
        let kdesc = full.project(&[])?;
        let types: Vec<ValueType> = kdesc.columns.iter().map(|c| c.value_type).collect();
        let mut ops = Vec::new();
        for l in &links {
            let text = if target == Side::Accounting {
                &l.accounting_key
            } else {
                &l.operational_key
            };
            if let Some(k) = parse_key_text(text, &types) {
                ops.push(WriteOp::Delete(k));
            }
            out.deleted_links.push((map.name.clone(), l.operational_key.clone()));
        }
        self.limiter(target).until_n(ops.len()).await;
        retry(&self.retry, "delete", || self.write(map, target, &kdesc, &ops)).await?;
        out.counts.written += ops.len() as u64;
        Ok(())
    }
}

/// Whether the target already holds these values (decimals compare by value: 12.5 = 12.5000).
pub(super) fn same_values(current: &[Value], wanted: &[Value]) -> bool {
    current.len() == wanted.len()
        && current
            .iter()
            .zip(wanted)
            .all(|(a, b)| a == b || a.compare(b) == Some(std::cmp::Ordering::Equal))
}

/// Records the source record's two-way values as what its side holds now.
fn record_source(map: &CompiledMap, from: Side, desc: &EntityDesc, row: &Row, agreed: &mut Agreed) {
    for column in conflict::two_way_columns(map, from) {
        if let Some(idx) = desc.index_of(column) {
            agreed
                .side_mut(from)
                .insert(column.to_string(), conflict::canonical(&row[idx]));
        }
    }
}

/// A source row as JSON text, for the dead-letter list.
pub(super) fn payload(desc: &EntityDesc, row: &Row) -> String {
    values_json(desc.columns.iter().map(|c| c.name.as_str()).zip(row))
}

/// Columns and their values as a JSON object of text values (null for a null), for the
/// dead-letter list.
pub(super) fn values_json<'a>(values: impl Iterator<Item = (&'a str, &'a Value)>) -> String {
    let object: serde_json::Map<String, serde_json::Value> = values
        .map(|(c, v)| {
            let v = match v {
                Value::Null => serde_json::Value::Null,
                v => serde_json::Value::String(v.to_string()),
            };
            (c.to_string(), v)
        })
        .collect();
    serde_json::Value::Object(object).to_string()
}
