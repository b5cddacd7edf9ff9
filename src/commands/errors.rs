//! `dualsync errors list|show|retry`: the dead-letter list of records that failed
//! permanently. `list` and `show` only read the state store; `retry` syncs the records again
//! through the engine, on the stores as they are (it creates nothing and seeds nothing).

use super::{open_state_existing, open_state_for_change};
use crate::config::Config;
use crate::engine::state::{DeadLetter, DeadLetterStatus, StateStore};
use crate::error::{Context, Error, Kind, Result};

/// The dead-letter list (open ones, or all with `all`), a line each.
pub async fn list(config: &Config, all: bool) -> Result<String> {
    let letters = match open_state_existing(config).await? {
        Some(state) => {
            let status = if all { None } else { Some(DeadLetterStatus::Open) };
            let letters = state.list_dead_letters(None, status).await.context("state store")?;
            state.close().await;
            letters
        }
        None => Vec::new(),
    };
    let mut out = format!(
        "{:>6}  {:<24} {:<12} {:<9} {:>8}  {}\n",
        "id", "map", "side", "status", "attempts", "error"
    );
    for l in &letters {
        out.push_str(&format!(
            "{:>6}  {:<24} {:<12} {:<9} {:>8}  {}\n",
            l.id,
            l.map,
            l.side,
            l.status.as_str(),
            l.attempts,
            l.message
        ));
    }
    out.push_str(&format!(
        "{} record error{}\n",
        letters.len(),
        if letters.len() == 1 { "" } else { "s" }
    ));
    Ok(out)
}

fn no_such_error(id: i64) -> Error {
    Error::not_found(format!("there is no record error {id}")).with_hint("see `dualsync errors list --all`")
}

async fn get(state: &StateStore, id: i64) -> Result<DeadLetter> {
    state
        .get_dead_letter(id)
        .await
        .context("state store")?
        .ok_or_else(|| no_such_error(id))
}

/// One dead letter in full: the record, its payload, the error and what to do.
pub async fn show(config: &Config, id: i64) -> Result<String> {
    let Some(state) = open_state_existing(config).await? else {
        return Err(no_such_error(id));
    };
    let l = get(&state, id).await?;
    state.close().await;
    Ok(format!(
        "error {}\n  map:      {}\n  side:     {} (where the record was read)\n  record:   {}\n  kind:     {}\n  \
         message:  {}\n  hint:     {}\n  attempts: {}\n  first:    {}\n  last:     {}\n  status:   {}\n  payload:  {}\n",
        l.id,
        l.map,
        l.side,
        l.record_key,
        l.error_kind,
        l.message,
        l.hint.as_deref().unwrap_or("-"),
        l.attempts,
        l.first_seen.to_rfc3339(),
        l.last_seen.to_rfc3339(),
        l.status.as_str(),
        l.payload.as_deref().unwrap_or("-"),
    ))
}

/// Syncs the records of open dead letters again (`id`, or all open ones). A record that now
/// syncs resolves its letter; one that fails again stays open with one more attempt.
pub async fn retry(config: &Config, id: Option<i64>) -> Result<String> {
    let state = open_state_for_change(config, "retry").await?;
    let letters = match id {
        Some(id) => vec![get(&state, id).await?],
        None => state
            .list_dead_letters(None, Some(DeadLetterStatus::Open))
            .await
            .context("state store")?,
    };
    if letters.is_empty() {
        return Ok("no open record errors to retry\n".into());
    }
    let maps = crate::daemon::load_maps(config).map_err(|e| {
        Error::new(Kind::Maps, e.message().to_string())
            .with_hint("retrying needs the maps' definitions; fix the map files first (dualsync validate)")
    })?;
    let engine = crate::daemon::admin_engine(config, &maps, state).await?;
    let mut tried = 0;
    for l in &letters {
        let Some(map) = engine.map(&l.map).cloned() else {
            continue;
        };
        let from = l.side;
        engine
            .state
            .set_dead_letter_status(l.id, DeadLetterStatus::Retrying)
            .await
            .context("state store")?;
        engine
            .resync(&map, from, std::slice::from_ref(&l.record_key))
            .await
            .context(&format!("retrying record error {}", l.id))?;
        tried += 1;
    }
    let open = engine
        .state
        .count_open_dead_letters(None)
        .await
        .context("state store")?;
    Ok(format!(
        "retried {tried} record error{}; {open} still open\n",
        if tried == 1 { "" } else { "s" }
    ))
}
