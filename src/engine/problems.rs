//! Record errors the engine records itself, each a dead letter naming the map, the side and
//! the record, with what to do: records the store cannot read (a value of the wrong type, out
//! of range, invalid UTF-8; a key another record holds in another spelling), change-log
//! entries whose key cannot be decoded, and records whose legal entity changed after they were
//! synced. The batch goes on without them.

use std::collections::HashMap;

use chrono::Utc;

use super::Engine;
use super::compile::CompiledMap;
use super::state::{Link, NewDeadLetter, RecordErrorKind, key_text};
use super::transform::TargetRecord;
use crate::store::{BadChange, BadRow, EntityDesc, Result};
use crate::tablemap::model::{FanOutKind, Side};

/// A linked record whose company now gives it another target key.
pub(super) struct CompanyChange {
    /// The legal entity the record was synced in, and the one it names now.
    pub was: String,
    pub now: String,
    /// The target record's key as linked.
    pub target_key: String,
}

impl Engine {
    /// Dead letters for records the store could not read.
    pub(super) async fn record_unreadable(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        bad: &[BadRow],
    ) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for b in bad {
            let key = b.key.as_ref().map(|k| key_text(k)).unwrap_or_else(|| b.raw_key.clone());
            // Two spellings of one key are one record error.
            if !seen.insert(key.clone()) {
                continue;
            }
            let payload = serde_json::json!({ "column": b.column, "stored": b.raw }).to_string();
            let (kind, message, hint) = if b.duplicate_key {
                (
                    RecordErrorKind::DuplicateKey,
                    format!("record {key} of `{}`: {}", desc.name, b.message),
                    format!(
                        "keep one of these {} records (delete the other or give it another key); the one kept then syncs \
                         (or `dualsync errors retry`)",
                        desc.name
                    ),
                )
            } else {
                (
                    RecordErrorKind::Unreadable,
                    format!("record {} of `{}`: `{}`: {}", b.raw_key, desc.name, b.column, b.message),
                    format!(
                        "another program wrote a value dualsync cannot read; correct `{}` of this record in the {} \
                         store: the correction syncs it (or `dualsync errors retry`)",
                        b.column,
                        from.name()
                    ),
                )
            };
            self.dead_letter(map, from, &key, Some(payload), kind, &message, &hint)
                .await?;
        }
        Ok(())
    }

    /// The dead letter of a source record whose target record cannot be read (so it is not
    /// overwritten without knowing what it holds).
    pub(super) async fn record_unreadable_target(
        &self,
        map: &CompiledMap,
        from: Side,
        key: &str,
        tdesc: &EntityDesc,
        bad: &BadRow,
    ) -> Result<()> {
        let target = from.other();
        let message = format!(
            "its {} record {} of `{}` cannot be read: `{}`: {}",
            target.name(),
            bad.raw_key,
            tdesc.name,
            bad.column,
            bad.message
        );
        let hint = format!(
            "correct `{}` of that record in the {} store, then `dualsync errors retry`",
            bad.column,
            target.name()
        );
        let payload = serde_json::json!({ "column": bad.column, "stored": bad.raw }).to_string();
        self.dead_letter(
            map,
            from,
            key,
            Some(payload),
            RecordErrorKind::Unreadable,
            &message,
            &hint,
        )
        .await
    }

    /// A dead letter for a change-log entry of `map`'s entity whose key cannot be decoded.
    pub(super) async fn record_bad_change(&self, map: &CompiledMap, from: Side, bad: &BadChange) -> Result<()> {
        let hint = format!(
            "the entry is passed. If the {} store holds a record with this key, its key does not fit the key's \
             type: give it a valid key (the new key syncs as a new record)",
            from.name()
        );
        self.dead_letter(
            map,
            from,
            &bad.raw_key,
            None,
            RecordErrorKind::BadChange,
            &bad.message,
            &hint,
        )
        .await
    }

    /// Whether a linked record's company would move it to another target record: for maps
    /// without a fan-out per company, the link's target key and company against the new ones.
    pub(super) fn company_change(
        &self,
        map: &CompiledMap,
        from: Side,
        source_key: &str,
        records: &[TargetRecord],
        existing: &HashMap<(String, String), Link>,
    ) -> Option<CompanyChange> {
        if map.fan_out.as_ref().map(|f| f.per) == Some(FanOutKind::Company) {
            return None;
        }
        records.iter().find_map(|rec| {
            let part = if from == Side::Operational {
                self.part(map, rec)
            } else {
                String::new()
            };
            let link = existing.get(&(source_key.to_string(), part))?;
            let linked = match from {
                Side::Operational => &link.accounting_key,
                Side::Accounting => &link.operational_key,
            };
            let was = link.company.clone()?;
            let now = rec.company.clone().unwrap_or_default();
            (*linked != key_text(&rec.key) && was != now).then(|| CompanyChange {
                was,
                now,
                target_key: linked.clone(),
            })
        })
    }

    /// The dead letter of a record whose company changed after it was synced; nothing is written.
    pub(super) async fn record_company_change(
        &self,
        map: &CompiledMap,
        from: Side,
        key: &str,
        payload: Option<String>,
        moved: &CompanyChange,
    ) -> Result<()> {
        let message = format!(
            "record {key} was already synced in legal entity {} (as {} record {}) and now names legal entity {}; \
             it was not written again",
            moved.was,
            map.side(from.other()).entity,
            moved.target_key,
            if moved.now.is_empty() { "(none)" } else { &moved.now },
        );
        let hint = format!(
            "dualsync does not move records between legal entities: reverse or delete the record in {} and create a new \
             record in {} (the record in {} is left as it is)",
            moved.was, moved.now, moved.was
        );
        self.dead_letter(
            map,
            from,
            key,
            payload,
            RecordErrorKind::CompanyChanged,
            &message,
            &hint,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn dead_letter(
        &self,
        map: &CompiledMap,
        from: Side,
        key: &str,
        payload: Option<String>,
        kind: RecordErrorKind,
        message: &str,
        hint: &str,
    ) -> Result<()> {
        tracing::warn!(map = %map.name, side = from.name(), key, error = message, "record error");
        self.state
            .add_dead_letter(&NewDeadLetter {
                map: map.name.clone(),
                side: from,
                record_key: key.to_string(),
                payload,
                error_kind: kind,
                message: message.to_string(),
                hint: Some(hint.to_string()),
                at: Utc::now(),
            })
            .await?;
        Ok(())
    }
}
