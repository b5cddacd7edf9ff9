//! `dualsync errors list|show|retry`: the dead-letter list of records that failed
//! permanently. `list` and `show` only read the state store; `retry` syncs the records again
//! through the engine, on the stores as they are (it creates nothing and seeds nothing). The
//! admin API and the status page serve the same reports.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::output::{Report, plural};
use super::{open_state_existing, open_state_for_change};
use crate::config::Config;
use crate::engine::state::{DeadLetter, DeadLetterStatus, RecordErrorKind, StateStore};
use crate::error::{Context, Error, Kind, Result};

/// Which dead letters a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub map: Option<String>,
    /// A record error kind (`rejected`, `refused`, `missing-parent`, ...).
    pub kind: Option<String>,
    /// Resolved ones too, not only the open ones.
    pub all: bool,
}

/// One dead letter: the record, what went wrong and what to do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordError {
    pub id: i64,
    pub map: String,
    /// The side the record was read from: operational or accounting.
    pub side: String,
    /// The record's key, as text.
    pub record: String,
    /// What went wrong: rejected, refused, missing-parent, duplicate-key, unreadable, ...
    pub kind: String,
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Failures while the letter was open.
    pub attempts: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// open, retrying or resolved.
    pub status: String,
    /// The record's columns and values as read (or, for a refused record, as written), values
    /// as text.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
}

impl From<DeadLetter> for RecordError {
    fn from(l: DeadLetter) -> RecordError {
        RecordError {
            id: l.id,
            map: l.map,
            side: l.side.name().into(),
            record: l.record_key,
            kind: l.error_kind.as_str().into(),
            message: l.message,
            hint: l.hint,
            attempts: l.attempts,
            first_seen: l.first_seen,
            last_seen: l.last_seen,
            status: l.status.as_str().into(),
            payload: l.payload.map(|p| payload_object(&p)),
        }
    }
}

/// A recorded payload as a JSON object: the object it is; a list of `[column, value]` pairs
/// (as the letters of refused records were recorded before the API) as the object of those
/// pairs; anything else under `"recorded"`.
fn payload_object(text: &str) -> serde_json::Value {
    use serde_json::Value;
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => v,
        Ok(Value::Array(items))
            if items
                .iter()
                .all(|i| i.as_array().is_some_and(|p| p.len() == 2 && p[0].is_string())) =>
        {
            Value::Object(
                items
                    .into_iter()
                    .filter_map(|i| match i {
                        Value::Array(mut p) => {
                            let v = p.pop()?;
                            Some((p.pop()?.as_str()?.to_string(), v))
                        }
                        _ => None,
                    })
                    .collect(),
            )
        }
        Ok(v) => serde_json::json!({ "recorded": v }),
        Err(_) => serde_json::json!({ "recorded": text }),
    }
}

/// The dead-letter list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorList {
    pub errors: Vec<RecordError>,
}

impl Report for ErrorList {
    fn text(&self) -> String {
        let mut out = format!(
            "{:>6}  {:<24} {:<12} {:<9} {:>8}  {}\n",
            "id", "map", "side", "status", "attempts", "error"
        );
        for l in &self.errors {
            out.push_str(&format!(
                "{:>6}  {:<24} {:<12} {:<9} {:>8}  {}\n",
                l.id, l.map, l.side, l.status, l.attempts, l.message
            ));
        }
        out.push_str(&format!("{}\n", plural(self.errors.len() as u64, "record error")));
        out
    }
}

impl Report for RecordError {
    fn text(&self) -> String {
        format!(
            "error {}\n  map:      {}\n  side:     {} (where the record was read)\n  record:   {}\n  kind:     {}\n  \
             message:  {}\n  hint:     {}\n  attempts: {}\n  first:    {}\n  last:     {}\n  status:   {}\n  payload:  {}\n",
            self.id,
            self.map,
            self.side,
            self.record,
            self.kind,
            self.message,
            self.hint.as_deref().unwrap_or("-"),
            self.attempts,
            self.first_seen.to_rfc3339(),
            self.last_seen.to_rfc3339(),
            self.status,
            self.payload
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
        )
    }
}

/// The dead letters `filter` selects, newest state first as the state store lists them.
pub async fn list_in(state: &StateStore, filter: &Filter) -> Result<ErrorList> {
    let kind =
        match &filter.kind {
            Some(k) => Some(k.parse::<RecordErrorKind>().map_err(|e| {
                Error::usage(e).with_hint("`dualsync errors list --all` shows the kinds the list holds")
            })?),
            None => None,
        };
    let status = if filter.all { None } else { Some(DeadLetterStatus::Open) };
    let letters = state
        .list_dead_letters(filter.map.as_deref(), status)
        .await
        .context("state store")?;
    Ok(ErrorList {
        errors: letters
            .into_iter()
            .filter(|l| kind.is_none_or(|k| l.error_kind == k))
            .map(RecordError::from)
            .collect(),
    })
}

/// The dead-letter list of the configured installation (empty when it never ran).
pub async fn list(config: &Config, filter: &Filter) -> Result<ErrorList> {
    let Some(state) = open_state_existing(config).await? else {
        return Ok(ErrorList { errors: Vec::new() });
    };
    let list = list_in(&state, filter).await;
    state.close().await;
    list
}

fn no_such_error(id: i64) -> Error {
    Error::not_found(format!("there is no record error {id}")).with_hint("see `dualsync errors list --all`")
}

/// One dead letter, or a not-found error naming it.
pub async fn get(state: &StateStore, id: i64) -> Result<DeadLetter> {
    state
        .get_dead_letter(id)
        .await
        .context("state store")?
        .ok_or_else(|| no_such_error(id))
}

/// One dead letter in full: the record, its payload, the error and what to do.
pub async fn show(config: &Config, id: i64) -> Result<RecordError> {
    let Some(state) = open_state_existing(config).await? else {
        return Err(no_such_error(id));
    };
    let l = get(&state, id).await;
    state.close().await;
    Ok(l?.into())
}

/// What a retry did: each letter tried and where it stands after it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetryReport {
    pub retried: Vec<RetryOutcome>,
    /// Open dead letters left, of every map.
    pub still_open: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetryOutcome {
    pub id: i64,
    pub map: String,
    pub record: String,
    /// resolved when the record now synced; open when it failed again (one more attempt).
    pub status: String,
    /// The latest failure when it failed again.
    pub message: Option<String>,
}

impl Report for RetryReport {
    fn text(&self) -> String {
        if self.retried.is_empty() {
            return "no open record errors to retry\n".into();
        }
        format!(
            "retried {}; {} still open\n",
            plural(self.retried.len() as u64, "record error"),
            self.still_open
        )
    }
}

/// Syncs the records of open dead letters again (`id`, or all open ones that `filter`
/// selects). A record that now syncs resolves its letter; one that fails again stays open with
/// one more attempt.
pub async fn retry(config: &Config, id: Option<i64>, filter: &Filter) -> Result<RetryReport> {
    let state = open_state_for_change(config, "retry").await?;
    let letters = match id {
        Some(id) => vec![get(&state, id).await?],
        None => {
            let open = Filter {
                all: false,
                ..filter.clone()
            };
            let ids: Vec<i64> = list_in(&state, &open).await?.errors.iter().map(|e| e.id).collect();
            let mut letters = Vec::new();
            for id in ids {
                letters.push(get(&state, id).await?);
            }
            letters
        }
    };
    if letters.is_empty() {
        return Ok(RetryReport {
            retried: Vec::new(),
            still_open: state.count_open_dead_letters(None).await.context("state store")?,
        });
    }
    let maps = crate::daemon::load_maps(config).map_err(|e| {
        Error::new(Kind::Maps, e.message().to_string())
            .with_hint("retrying needs the maps' definitions; fix the map files first (dualsync validate)")
    })?;
    let engine = crate::daemon::admin_engine(config, &maps, state).await?;
    let mut retried = Vec::new();
    for l in &letters {
        let Some(map) = engine.map(&l.map).cloned() else {
            continue;
        };
        engine
            .state
            .set_dead_letter_status(l.id, DeadLetterStatus::Retrying)
            .await
            .context("state store")?;
        engine
            .resync(&map, l.side, std::slice::from_ref(&l.record_key))
            .await
            .context(&format!("retrying record error {}", l.id))?;
        let after = get(&engine.state, l.id).await?;
        let resolved = after.status == DeadLetterStatus::Resolved;
        retried.push(RetryOutcome {
            id: l.id,
            map: l.map.clone(),
            record: l.record_key.clone(),
            status: after.status.as_str().into(),
            message: (!resolved).then(|| after.message.clone()),
        });
    }
    let still_open = engine
        .state
        .count_open_dead_letters(None)
        .await
        .context("state store")?;
    Ok(RetryReport { retried, still_open })
}

#[cfg(test)]
mod tests {
    use super::payload_object;
    use serde_json::json;

    #[test]
    fn a_payload_is_always_an_object() {
        assert_eq!(payload_object(r#"{"a":"1","b":null}"#), json!({"a": "1", "b": null}));
        assert_eq!(
            payload_object(r#"[["a","1"],["b","null"]]"#),
            json!({"a": "1", "b": "null"})
        );
        assert_eq!(payload_object("[1,2]"), json!({"recorded": [1, 2]}));
        assert_eq!(payload_object("not json"), json!({"recorded": "not json"}));
    }
}
