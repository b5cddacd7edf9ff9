//! Live sync of one map in one direction: read the change feed of the map's entity on the
//! source side from the map's position, fetch the current state of the changed records, run them through the pipeline and
//! commit the links together with the new cursor, so a crash replays at most one batch (and a
//! replay changes nothing). A paused map leaves its changes in the feed; a store that is down
//! pauses the map until it answers again. Records parked for a missing parent are synced when
//! the parent's link appears.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::Engine;
use super::compile::CompiledMap;
use super::conflict::Settle;
use super::retry::{RetryPolicy, retry};
use super::state::{FeedMark, MapState, SyncCounts, parse_key_text};
use crate::store::{ChangeBatch, EntityDesc, ErrorKind, Key, Result, Rows, Store, StoreError};
use crate::tablemap::model::Side;

/// How long the feed position of a map whose entity is quiet may stay in memory before it is
/// saved: moving past other entities' changes costs one state-store write per interval instead
/// of one per round (on PostgreSQL with synchronous commits, a flush each).
pub const QUIET_SAVE: Duration = Duration::from_secs(5);

/// How far a live batch may grow past `sync.batch_size` when changes queue up: a direction
/// whose last batch was full reads twice as many next time, up to this factor (memory and a
/// transaction's size stay bounded by it); one that finds few halves back down. A fixed batch
/// size capped the live rate at about batch size × rounds per second (issue 15).
pub const LIVE_GROWTH: usize = 20;

/// A batch of changes read from a feed, with the current state of the changed records.
pub(crate) struct Fetched {
    batch: ChangeBatch,
    /// The changed keys, each once, in feed order.
    keys: Vec<Key>,
    /// The latest change time of each key.
    changed_at: HashMap<Key, DateTime<Utc>>,
    /// Feed entries that could not be read.
    bad_entries: Vec<crate::store::BadChange>,
    /// The records of `keys` as the store holds them (None when no key changed).
    records: Option<(EntityDesc, Rows)>,
}

/// The next batch of a map and direction, being read ahead from the position `cursor`.
pub(crate) struct Ahead {
    cursor: crate::store::Position,
    task: tokio::task::JoinHandle<Result<Fetched>>,
}

/// Reads up to `limit` changes of `entity` after `cursor`, and the current state of the changed
/// records (their `columns`). The latest entry per key decides; the record's state is read by key.
async fn fetch(
    store: Arc<dyn Store>,
    policy: RetryPolicy,
    entity: String,
    columns: Vec<String>,
    cursor: crate::store::Position,
    limit: usize,
) -> Result<Fetched> {
    let batch = retry(&policy, "read changes", || store.changes(&entity, &cursor, limit)).await?;
    let mut keys: Vec<Key> = Vec::new();
    let mut changed_at: HashMap<Key, DateTime<Utc>> = HashMap::new();
    let mut bad_entries = Vec::new();
    for c in &batch.changes {
        if let Some(bad) = &c.bad {
            bad_entries.push(bad.clone());
            continue;
        }
        if !changed_at.contains_key(&c.key) {
            keys.push(c.key.clone());
        }
        let at = changed_at.entry(c.key.clone()).or_insert(DateTime::<Utc>::MIN_UTC);
        *at = (*at).max(c.at.unwrap_or(DateTime::<Utc>::MIN_UTC));
    }
    let records = match keys.is_empty() {
        true => None,
        false => {
            let full = retry(&policy, "describe", || store.describe(&entity)).await?;
            let desc = full.project(&columns.iter().map(String::as_str).collect::<Vec<_>>())?;
            let read = retry(&policy, "read records", || store.read(&desc, &keys)).await?;
            Some((desc, read))
        }
    };
    Ok(Fetched {
        batch,
        keys,
        changed_at,
        bad_entries,
        records,
    })
}

/// The unsaved feed position of a quiet map and direction, and when its position was last saved.
#[derive(Debug)]
pub(crate) struct Quiet {
    position: crate::store::Position,
    saved_at: std::time::Instant,
}

impl Engine {
    /// One round of live sync of `map` from `from`: applies up to one batch of changes of the
    /// map's entity on that side. Returns how many change-feed entries it consumed (0 when
    /// there was nothing new; the position may still move on past other entities' changes).
    pub async fn live_step(&self, map: &CompiledMap, from: Side) -> Result<usize> {
        let started = std::time::Instant::now();
        let side = from.name();
        let store = self.store(from);
        let entity = &map.side(from).entity;
        let key = (map.name.clone(), from);
        let remembered = self.quiet.lock().expect("quiet").get(&key).map(|q| q.position.clone());
        let cursor = match remembered {
            Some(p) => p,
            None => match self.state.get_cursor(&map.name, side, entity).await? {
                Some(c) => c,
                None => {
                    let head = retry(&self.retry, "head", || store.head(entity)).await?;
                    self.state.set_cursor(&map.name, side, entity, &head).await?;
                    head
                }
            },
        };
        let limit = self
            .live_batch
            .lock()
            .expect("live batch")
            .get(&key)
            .copied()
            .unwrap_or(self.batch_size);
        // A batch read ahead while the last one was synced, if it starts where this map stands
        // (the position moved otherwise: an error, a reset, a retry).
        let ahead = self
            .ahead
            .lock()
            .expect("ahead")
            .remove(&key)
            .filter(|a| a.cursor == cursor);
        let columns = map.columns(from);
        let fetched = match ahead {
            Some(a) => a
                .task
                .await
                .map_err(|e| StoreError::new(ErrorKind::Transient, format!("reading changes ahead: {e}")))??,
            None => {
                let store = self.shared_store(from);
                fetch(
                    store,
                    self.retry,
                    entity.clone(),
                    columns.clone(),
                    cursor.clone(),
                    limit,
                )
                .await?
            }
        };
        let Fetched {
            batch,
            keys,
            changed_at,
            bad_entries,
            records,
        } = fetched;
        let next_limit = match batch.changes.len() {
            n if n >= limit => (limit * 2).min(self.batch_size * LIVE_GROWTH),
            n if n < limit / 4 => (limit / 2).max(self.batch_size),
            _ => limit,
        };
        if next_limit != limit {
            self.live_batch
                .lock()
                .expect("live batch")
                .insert(key.clone(), next_limit);
        }
        // Changes queue up: the next batch is read (feed and records) while this one is synced.
        // Reading ahead is safe: a record changed after it was read has a later feed entry, so
        // its newer state is synced after this. Links and the target are read only when the
        // batch is synced, after this one is committed.
        if batch.changes.len() >= limit && !batch.restarted && !batch.sweep {
            let store = self.shared_store(from);
            let task = tokio::spawn(fetch(
                store,
                self.retry,
                entity.clone(),
                columns.clone(),
                batch.next.clone(),
                next_limit,
            ));
            self.ahead.lock().expect("ahead").insert(
                key.clone(),
                Ahead {
                    cursor: batch.next.clone(),
                    task,
                },
            );
        }
        if batch.changes.is_empty() && !batch.restarted && !batch.sweep {
            // Nothing of this entity: the position moves past other entities' changes, saved
            // once per `QUIET_SAVE` (a crash replays only entries this map does not read).
            if batch.next != cursor {
                let save = {
                    let mut quiet = self.quiet.lock().expect("quiet");
                    let q = quiet.entry(key).or_insert_with(|| Quiet {
                        position: cursor.clone(),
                        saved_at: std::time::Instant::now(),
                    });
                    q.position = batch.next.clone();
                    let due = q.saved_at.elapsed() >= QUIET_SAVE;
                    if due {
                        q.saved_at = std::time::Instant::now();
                    }
                    due
                };
                if save {
                    self.state.set_cursor(&map.name, side, entity, &batch.next).await?;
                }
            }
            return Ok(0);
        }
        let changes = batch.changes;
        let mut links = Vec::new();
        let mut deleted_links = Vec::new();
        let mut linked = Vec::new();
        let mut applied = 0u64;
        let mut counts = SyncCounts::default();
        let mut fine = Vec::new();
        if let Some((desc, read)) = records {
            let deleted = deleted_keys(&desc, &keys, &read);
            self.record_unreadable(map, from, &desc, &read.bad).await?;
            let settle = Settle::Live {
                changed_at: &changed_at,
            };
            let result = self.sync_batch(map, from, &desc, &read.rows, &deleted, &settle).await?;
            applied = result.counts.written;
            counts = result.counts;
            links = result.links;
            deleted_links = result.deleted_links;
            linked = result.linked;
            fine = result.fine;
        }
        for bad in &bad_entries {
            self.record_bad_change(map, from, bad).await?;
        }
        if batch.restarted || batch.sweep {
            self.sweep_deletions(map, from, batch.restarted).await?;
        }
        let mark = FeedMark {
            map: &map.name,
            side,
            entity,
            position: &batch.next,
        };
        self.state.commit_batch(&links, &deleted_links, Some(&mark)).await?;
        super::metrics::records(&map.name, from, &counts);
        super::metrics::live_batch(&map.name, from, started.elapsed());
        self.quiet.lock().expect("quiet").remove(&(map.name.clone(), from));
        if applied > 0 {
            self.state.record_applied(&map.name, applied, Utc::now()).await?;
        }
        // Parked records that now need nothing more (a change fixed them) stop waiting.
        if self.parked_any.load(std::sync::atomic::Ordering::SeqCst) {
            self.state.unpark_many(&map.name, side, &fine).await?;
        }
        self.unpark_children(map, &linked).await?;
        Ok(changes.len())
    }

    /// After a feed that restarted (its deletions since the position are lost): every record
    /// `map` has a link for on side `from` is looked up, and those the store no longer holds
    /// are deleted on the other side, as the map's `deletes` says. Pages of one batch.
    /// `restarted`: the feed was lost (a warning); otherwise a routine sweep of a store whose
    /// feed has no deletions.
    async fn sweep_deletions(&self, map: &CompiledMap, from: Side, restarted: bool) -> Result<()> {
        if !map.deletes || !map.records.flows_from(from) {
            return Ok(());
        }
        let store = self.store(from);
        let full = retry(&self.retry, "describe", || store.describe(&map.side(from).entity)).await?;
        let desc = full.project(&[])?;
        let types: Vec<_> = desc.columns.iter().map(|c| c.value_type).collect();
        let mut after: Option<String> = None;
        let mut gone = 0usize;
        loop {
            let texts = self
                .state
                .linked_keys(&map.name, from.name(), after.as_deref(), self.batch_size)
                .await?;
            let Some(last) = texts.last().cloned() else { break };
            let keys: Vec<Key> = texts.iter().filter_map(|t| parse_key_text(t, &types)).collect();
            let read = retry(&self.retry, "read records", || store.read(&desc, &keys)).await?;
            let deleted = deleted_keys(&desc, &keys, &read);
            if !deleted.is_empty() {
                gone += deleted.len();
                let result = self
                    .sync_batch(map, from, &desc, &[], &deleted, &Settle::live())
                    .await?;
                self.state
                    .commit_batch(&result.links, &result.deleted_links, None)
                    .await?;
            }
            after = Some(last);
        }
        match restarted {
            true => {
                tracing::warn!(map = %map.name, side = from.name(), deleted = gone, "records deleted while the change feed was lost, found and synced")
            }
            false if gone > 0 => {
                tracing::info!(map = %map.name, side = from.name(), deleted = gone, "deletions found by the periodic sweep and synced")
            }
            false => tracing::debug!(map = %map.name, side = from.name(), "no deletions found by the periodic sweep"),
        }
        Ok(())
    }

    /// Syncs the records parked until one of `linked` (operational keys of `parent`) had a link.
    pub async fn unpark_children(&self, parent: &CompiledMap, linked: &[String]) -> Result<()> {
        if linked.is_empty() || !self.parked_any.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        let children: Vec<&CompiledMap> = self
            .maps
            .iter()
            .filter(|m| m.fields.iter().any(|f| f.lookup.as_deref() == Some(&parent.name)))
            .collect();
        let mut waiting = 0;
        for child in &children {
            waiting += self.state.count_parked(&child.name).await?;
        }
        if waiting == 0 {
            return Ok(());
        }
        let mut by_child: HashMap<(String, Side), Vec<String>> = HashMap::new();
        for key in linked {
            for p in self.state.parked_waiting_for(&parent.name, key).await? {
                by_child.entry((p.map, p.side)).or_default().push(p.record_key);
            }
        }
        for ((child_name, from), record_keys) in by_child {
            let Some(child) = self.map(&child_name) else { continue };
            self.resync(child, from, &record_keys).await?;
        }
        Ok(())
    }

    /// Syncs the records of `map` on side `from` with these key texts again (parked records
    /// whose parent arrived, dead letters an operator retries), committing their links.
    /// A record handed back for another try (`errors retry`) whose retry neither syncs nor
    /// fails it again (still waiting for its parent, left out) returns to open.
    pub async fn resync(&self, map: &CompiledMap, from: Side, record_keys: &[String]) -> Result<()> {
        let result = self.resync_records(map, from, record_keys).await;
        // Whatever happened, no letter of these records stays `retrying`.
        self.state.reopen_retrying(&map.name, from.name(), record_keys).await?;
        result
    }

    async fn resync_records(&self, map: &CompiledMap, from: Side, record_keys: &[String]) -> Result<()> {
        let store = self.store(from);
        let full = retry(&self.retry, "describe", || store.describe(&map.side(from).entity)).await?;
        let cols = map.columns(from);
        let desc = full.project(&cols.iter().map(String::as_str).collect::<Vec<_>>())?;
        let types: Vec<_> = desc.key_columns().map(|c| c.value_type).collect();
        let keys: Vec<Key> = record_keys.iter().filter_map(|t| parse_key_text(t, &types)).collect();
        let read = retry(&self.retry, "read records", || store.read(&desc, &keys)).await?;
        let deleted = deleted_keys(&desc, &keys, &read);
        self.record_unreadable(map, from, &desc, &read.bad).await?;
        let result = self
            .sync_batch(map, from, &desc, &read.rows, &deleted, &Settle::live())
            .await?;
        self.state
            .commit_batch(&result.links, &result.deleted_links, None)
            .await?;
        // Only now, with their links committed, do synced records stop waiting.
        for key in &result.synced {
            self.state.unpark(&map.name, from.name(), key).await?;
        }
        // A record may itself be a parent (a task's subtasks).
        Box::pin(self.unpark_children(map, &result.linked)).await
    }

    /// Syncs again every parked record of `map` whose parent is linked by now. Heals what a
    /// crash between a parent's commit and its children's retry left waiting.
    pub async fn sweep_parked(&self, map: &CompiledMap) -> Result<()> {
        let far = Utc::now() + chrono::Duration::days(36_500);
        let parked: Vec<_> = self
            .state
            .parked_older_than(far)
            .await?
            .into_iter()
            .filter(|p| p.map == map.name)
            .collect();
        let mut by_side: HashMap<Side, Vec<String>> = HashMap::new();
        for p in parked {
            let key = std::slice::from_ref(&p.waiting_for_key);
            let linked = !self
                .state
                .links_by_operational(&p.waiting_for_map, key)
                .await?
                .is_empty()
                || !self
                    .state
                    .links_by_accounting(&p.waiting_for_map, key)
                    .await?
                    .is_empty();
            if linked {
                by_side.entry(p.side).or_default().push(p.record_key);
            }
        }
        for (from, keys) in by_side {
            self.resync(map, from, &keys).await?;
        }
        Ok(())
    }

    /// Records that waited longer than `park_timeout` for their parent become dead letters
    /// naming the parent they waited for. Returns how many.
    pub async fn expire_parked(&self) -> Result<usize> {
        let timeout = chrono::Duration::from_std(self.park_timeout).unwrap_or(chrono::Duration::MAX);
        let mut expired = self.state.parked_older_than(Utc::now() - timeout).await?;
        // In a high-availability group, each replica expires the records of its own maps.
        expired.retain(|p| self.state.owns_map(&p.map));
        for p in &expired {
            self.state.unpark(&p.map, p.side.name(), &p.record_key).await?;
            let message = format!(
                "the parent record {} of map {} never arrived (waited {} s)",
                p.waiting_for_key,
                p.waiting_for_map,
                self.park_timeout.as_secs()
            );
            self.state
                .add_dead_letter(&super::state::NewDeadLetter {
                    map: p.map.clone(),
                    side: p.side,
                    record_key: p.record_key.clone(),
                    payload: None,
                    error_kind: super::state::RecordErrorKind::MissingParent,
                    message: message.clone(),
                    hint: Some(format!(
                        "create or sync the {} record, then `dualsync errors retry`",
                        p.waiting_for_map
                    )),
                    at: Utc::now(),
                })
                .await?;
            tracing::warn!(map = %p.map, key = %p.record_key, "{message}");
        }
        Ok(expired.len())
    }

    /// The alert rule: a map with `alert_max_errors` record errors within `alert_window` is
    /// paused, with the reason, and an alert is logged. Returns whether it paused the map.
    pub async fn check_alert(&self, map: &CompiledMap) -> Result<bool> {
        if self.alert_max_errors == 0 {
            return Ok(false);
        }
        let window = chrono::Duration::from_std(self.alert_window).unwrap_or(chrono::Duration::MAX);
        let recent = self
            .state
            .count_recent_dead_letters(Some(&map.name), Utc::now() - window)
            .await?;
        if recent < self.alert_max_errors {
            return Ok(false);
        }
        let message = format!(
            "alert: {recent} record errors within {} s; paused (see `dualsync errors list`, then `dualsync resume {}`)",
            self.alert_window.as_secs(),
            map.name
        );
        tracing::error!(map = %map.name, errors = recent, "{message}");
        self.state
            .set_map_state(&map.name, MapState::Paused, Some(&message))
            .await?;
        Ok(true)
    }

    /// Runs live sync of every map in both directions until `stop` turns true. Store
    /// failures pause the affected map until the store answers again.
    pub async fn run_live(&self, mut stop: watch::Receiver<bool>) {
        let mut wake_op = self.operational.watch();
        let mut wake_acct = self.accounting.watch();
        let mut failing = Failing::default();
        let mut last_expiry = std::time::Instant::now();
        // A retry a crash cut short leaves no letter `retrying` (it would count as open in
        // `status` but not in `errors list`).
        if let Err(e) = self.state.reopen_all_retrying().await {
            tracing::error!(error = %e, "reopening record errors left retrying failed");
        }
        while !*stop.borrow() {
            if last_expiry.elapsed() >= Duration::from_secs(10) {
                last_expiry = std::time::Instant::now();
                for map in self.maps.iter().filter(|m| self.state.owns_map(&m.name)) {
                    if let Err(e) = self.sweep_parked(map).await {
                        tracing::error!(map = %map.name, error = %e, "retrying parked records failed");
                    }
                }
                if let Err(e) = self.expire_parked().await {
                    tracing::error!(error = %e, "checking parked records failed");
                }
            }
            let busy = self.live_round(&mut failing).await;
            if !busy {
                tokio::select! {
                    _ = wake_op.changed() => {}
                    _ = wake_acct.changed() => {}
                    _ = stop.changed() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }

    /// One live step of every map that is not paused, in both directions; whether any consumed
    /// changes. A failing direction marks its map `failed` (with the error); the map reads
    /// `running` again only once neither of its directions fails.
    pub async fn live_round(&self, failing: &mut Failing) -> bool {
        let mut busy = false;
        // The paused maps, read once per round (a map paused meanwhile stops at the next round;
        // one paused by its alert stops at once, below). Unreadable: none is taken as paused, as
        // before, and the steps below meet the same state store.
        let paused = self.state.paused_maps().await.unwrap_or_default();
        // In a high-availability group, a map taken over before its initial sync finished (here
        // or on another replica) waits for it: the daemon runs it between live rounds.
        let done = match self.state.fence() {
            Some(_) => Some(self.state.done_maps().await.unwrap_or_default()),
            None => None,
        };
        for map in &self.maps {
            if paused.contains(&map.name) || done.as_ref().is_some_and(|d| !d.contains(&map.name)) {
                continue;
            }
            // In a high-availability group, only the maps whose lease this replica holds.
            let _working = match self.state.fence() {
                Some(fence) => match fence.enter(&fence.map_unit(&map.name)) {
                    Some(w) => Some(w),
                    None => continue,
                },
                None => None,
            };
            for from in [Side::Operational, Side::Accounting] {
                // A failing direction waits out its delay; the other maps go on meanwhile.
                if failing.waiting(&map.name, from) {
                    continue;
                }
                match self.live_step(map, from).await {
                    Ok(n) => {
                        busy |= n > 0;
                        if n > 0 && matches!(self.check_alert(map).await, Ok(true)) {
                            break;
                        }
                        if failing.succeeded(&map.name, from) {
                            tracing::info!(map = %map.name, "store answers again; live sync resumed");
                            let _ = self.state.set_map_state(&map.name, MapState::Running, None).await;
                        }
                    }
                    Err(e) if e.kind == ErrorKind::Fenced => {
                        // Another replica holds the map now: it records the map's state.
                        tracing::warn!(map = %map.name, error = %e, "lease lost: this replica stopped syncing the map");
                        break;
                    }
                    Err(e) => {
                        let (policy, hint) = super::policy::for_store(e.kind);
                        let wait = failing.failed(&map.name, from, policy, &self.retry);
                        tracing::error!(
                            map = %map.name, side = from.name(), error = %e, policy = ?policy,
                            retry_in_ms = wait.as_millis() as u64, "live sync paused"
                        );
                        let message = match &e.hint {
                            Some(_) => e.to_string(),
                            None => format!("{e} (hint: {hint})"),
                        };
                        let _ = self
                            .state
                            .set_map_state(&map.name, MapState::Failed, Some(&message))
                            .await;
                    }
                }
            }
        }
        busy
    }
}

/// The (map, direction) pairs whose last live step failed: how often in a row, and when the
/// next attempt is due (from the failure's policy, `engine::policy`).
#[derive(Debug, Default)]
pub struct Failing(std::collections::HashMap<(String, Side), (u32, std::time::Instant)>);

impl Failing {
    /// Records a failure; how long the direction now waits before its next attempt.
    fn failed(
        &mut self,
        map: &str,
        from: Side,
        policy: super::policy::Policy,
        retry: &super::retry::RetryPolicy,
    ) -> Duration {
        let entry = self
            .0
            .entry((map.to_string(), from))
            .or_insert((0, std::time::Instant::now()));
        entry.0 += 1;
        let wait = super::policy::delay(policy, entry.0, retry.initial, retry.max);
        entry.1 = std::time::Instant::now() + wait;
        wait
    }

    /// Makes every failing direction due at once (an operator acted, e.g. fixed the store).
    pub fn retry_now(&mut self) {
        let now = std::time::Instant::now();
        for (_, due) in self.0.values_mut() {
            *due = now;
        }
    }

    /// Whether this direction failed and its next attempt is not due yet.
    fn waiting(&self, map: &str, from: Side) -> bool {
        self.0
            .get(&(map.to_string(), from))
            .is_some_and(|(_, due)| std::time::Instant::now() < *due)
    }

    /// Records a successful step; true when this direction was failing and the map has no
    /// failing direction left (it is `running` again).
    fn succeeded(&mut self, map: &str, from: Side) -> bool {
        self.0.remove(&(map.to_string(), from)).is_some() && !self.0.keys().any(|(m, _)| m == map)
    }
}

/// The keys asked for that the store no longer holds: neither a record read nor one that could
/// not be read has them.
pub(super) fn deleted_keys(desc: &EntityDesc, keys: &[Key], read: &Rows) -> Vec<Key> {
    let present: std::collections::HashSet<Key> = read
        .rows
        .iter()
        .map(|r| desc.key_of(r))
        .chain(read.bad.iter().filter_map(|b| b.key.clone()))
        .collect();
    keys.iter().filter(|k| !present.contains(*k)).cloned().collect()
}
