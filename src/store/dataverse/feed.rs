//! The change feed of a Dataverse entity set, through change tracking (`Prefer:
//! odata.track-changes`). The position is the link to follow next, as the service sent it: a
//! delta link (`…?$deltatoken=…`) or, in the middle of a large delta, its next page. A delta
//! lists changed records (an upsert: the engine reads their current state by key) and then
//! deletions (`$deletedEntity` with the record's id). An entity whose feed had nothing new is
//! asked again only after `http.poll_seconds`. A delta token the service no longer knows
//! (they expire after 7 days by default) is not fatal: the entity is read again from the start
//! with a warning, every record counted as changed, so no record's current state is missed;
//! the batch says it restarted, and the engine finds the records deleted meanwhile.

use std::time::Instant;

use super::DataverseStore;
use super::shape::Shape;
use crate::store::odata::json::Entry;
use crate::store::{BadChange, Change, ChangeBatch, ChangeOp, ErrorKind, Position, Result, StoreError};
use crate::value::{Value, ValueType};

/// The error codes Dataverse gives a delta token it cannot use any more
/// (`ExpiredVersionStamp`, "Version stamp associated with the client has expired").
const EXPIRED_CODES: [&str; 2] = ["0x80044352", "-2147204270"];

fn is_expired(e: &StoreError) -> bool {
    let said = e.message.to_ascii_lowercase();
    e.code.as_deref().is_some_and(|c| EXPIRED_CODES.contains(&c))
        || (e.kind != ErrorKind::Transient && (said.contains("version stamp") || said.contains("deltatoken")))
}

impl DataverseStore {
    /// The URL that starts tracking an entity: its key (and `modifiedon`), every record.
    fn tracking_url(&self, shape: &Shape) -> Result<url::Url> {
        let mut columns: Vec<&str> = shape.key_wires();
        if let Some(m) = &shape.modified {
            columns.push(shape.wire(m));
        }
        let mut url = self.url(&shape.desc.name)?;
        url.query_pairs_mut().append_pair("$select", &columns.join(","));
        Ok(url)
    }

    pub(super) async fn read_changes(&self, entity: &str, after: &Position, limit: usize) -> Result<ChangeBatch> {
        let quiet = self.quiet_since.lock().expect("quiet").get(entity).copied();
        if quiet.is_some_and(|t| t.elapsed() < self.http.poll()) {
            return Ok(ChangeBatch {
                changes: Vec::new(),
                next: after.clone(),
                restarted: false,
                sweep: false,
            });
        }
        let shape = self.shape(entity).await?;
        let start = self.tracking_url(&shape)?;
        let url = match after.is_start() {
            true => start.clone(),
            false => self.follow(&start, after.as_str())?,
        };
        let mut restarted = false;
        let page = match self.get_page(&url, self.page_size(limit), true).await {
            Err(e) if !after.is_start() && is_expired(&e) => {
                tracing::warn!(
                    store = %self.service.name, entity, error = %e,
                    "the change-tracking token of this entity expired; reading every record again, so nothing is missed"
                );
                restarted = true;
                self.get_page(&start, self.page_size(limit), true).await?
            }
            other => other?,
        };
        let changes = changes_of(&shape, &page.entries);
        let next = match (&page.next_link, &page.delta_link) {
            (Some(link), _) | (None, Some(link)) => Position::new(self.follow(&url, link)?.to_string()),
            (None, None) => {
                return Err(StoreError::new(
                    ErrorKind::Permanent,
                    format!(
                        "{} sent neither a next link nor a delta link for `{entity}`",
                        self.service.name
                    ),
                )
                .with_hint("the table may not have change tracking enabled; turn on \"Track changes\" for it"));
            }
        };
        let mut quiet = self.quiet_since.lock().expect("quiet");
        match changes.is_empty() && page.next_link.is_none() {
            true => quiet.insert(entity.to_string(), Instant::now()),
            false => quiet.remove(entity),
        };
        Ok(ChangeBatch {
            changes,
            next,
            restarted,
            sweep: false,
        })
    }

    /// A delta link from now on: every page of the tracking read (keys only) up to the last,
    /// whose delta link is the head.
    pub(super) async fn feed_head(&self, entity: &str) -> Result<Position> {
        let shape = self.shape(entity).await?;
        let mut url = self.tracking_url(&shape)?;
        loop {
            let page = self.get_page(&url, self.page_size(usize::MAX), true).await?;
            match (page.next_link, page.delta_link) {
                (Some(next), _) => url = self.follow(&url, &next)?,
                (None, Some(delta)) => return Ok(Position::new(self.follow(&url, &delta)?.to_string())),
                (None, None) => {
                    return Err(StoreError::new(
                        ErrorKind::Permanent,
                        format!("{} sent no delta link for `{entity}`", self.service.name),
                    )
                    .with_hint("turn on \"Track changes\" for the table in Power Apps"));
                }
            }
        }
    }
}

/// The entries of a delta page as changes: records as upserts (when they changed, from
/// `modifiedon`), deletions as deletes. An entry whose key cannot be read is a bad change.
fn changes_of(shape: &Shape, entries: &[Entry]) -> Vec<Change> {
    let entity = &shape.desc.name;
    let key: Vec<(&str, ValueType)> = shape
        .desc
        .key_columns()
        .map(|c| (shape.wire(&c.name), c.value_type))
        .collect();
    let change = |op, key, at, bad| Change {
        position: None,
        entity: entity.clone(),
        op,
        key,
        at,
        bad,
    };
    entries
        .iter()
        .map(|entry| match entry {
            Entry::Entity(e) => {
                let at = shape
                    .modified
                    .as_deref()
                    .and_then(|m| e.value(shape.wire(m), ValueType::DateTime).ok())
                    .and_then(|v| match v {
                        Value::DateTime(t) => Some(t),
                        _ => None,
                    });
                let values: std::result::Result<Vec<Value>, String> = key.iter().map(|(w, t)| e.value(w, *t)).collect();
                match values {
                    Ok(k) if !k.iter().any(Value::is_null) => change(ChangeOp::Update, k, at, None),
                    Ok(_) | Err(_) => {
                        let raw = key.iter().map(|(w, _)| e.raw(w).unwrap_or("null")).collect::<Vec<_>>();
                        let raw_key = format!("[{}]", raw.join(","));
                        let message = format!("a changed record of `{entity}` whose key cannot be read: {raw_key}");
                        change(ChangeOp::Update, Vec::new(), at, Some(BadChange { raw_key, message }))
                    }
                }
            }
            Entry::Deleted(d) => match d.key_values(&key) {
                Ok(k) => change(ChangeOp::Delete, k, None, None),
                Err(why) => {
                    let raw_key = d.id.clone().unwrap_or_default();
                    let message = format!("a deletion in `{entity}` whose id cannot be read ({why}): {raw_key}");
                    change(ChangeOp::Delete, Vec::new(), None, Some(BadChange { raw_key, message }))
                }
            },
        })
        .collect()
}
