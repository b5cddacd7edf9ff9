//! Two-way (`=`) fields changed on both sides: what each side held at the last sync of a link
//! (its *agreed* values, stored on the link) tells who changed what since. A value changed
//! only on the target is kept there (it flows back through the target's own feed); a value
//! changed on both sides to different values is a conflict, settled by the map's policy
//! (`operational-wins`, `accounting-wins`, or `latest-wins` by change-log time) and logged.
//! During initial sync the map's `initial_sync_master` decides instead.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::compile::CompiledMap;
use crate::store::Key;
use crate::tablemap::model::{ConflictPolicy, Direction, Side};
use crate::value::Value;

/// The values of a link's two-way columns as each side held them at its last sync, by
/// column, in the canonical text of `canonical` (None for null).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreed {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operational: BTreeMap<String, Option<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accounting: BTreeMap<String, Option<String>>,
}

impl Agreed {
    /// Reads the JSON stored on a link; anything unreadable counts as no knowledge.
    pub fn parse(text: Option<&str>) -> Agreed {
        text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
    }

    pub fn to_json(&self) -> Option<String> {
        if self.operational.is_empty() && self.accounting.is_empty() {
            return None;
        }
        serde_json::to_string(self).ok()
    }

    pub fn side(&self, side: Side) -> &BTreeMap<String, Option<String>> {
        match side {
            Side::Operational => &self.operational,
            Side::Accounting => &self.accounting,
        }
    }

    pub fn side_mut(&mut self, side: Side) -> &mut BTreeMap<String, Option<String>> {
        match side {
            Side::Operational => &mut self.operational,
            Side::Accounting => &mut self.accounting,
        }
    }
}

/// A value as comparable text: decimals without trailing zeros (12.5 = 12.5000), null as None.
pub fn canonical(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Decimal(d) => Some(d.normalize().to_string()),
        other => Some(other.to_string()),
    }
}

/// The columns on `side` of the map's two-way fields (not constants, not keys).
pub fn two_way_columns(map: &CompiledMap, side: Side) -> Vec<&str> {
    let keys = &map.side(side).key;
    map.fields
        .iter()
        .filter(|f| f.direction == Direction::Both && f.constant.is_none())
        .filter(|f| f.column(Side::Operational).is_some() && f.column(Side::Accounting).is_some())
        .filter_map(|f| f.column(side))
        .filter(|c| !keys.iter().any(|k| k == c))
        .collect()
}

/// How a batch settles two-way fields.
#[derive(Debug, Clone, Copy)]
pub enum Settle<'a> {
    /// Initial sync: where both sides hold the record, the master side's values stay.
    Master(Side),
    /// Initial sync into a target that held none of the map's records when the copy began
    /// (and no crash has interrupted it since): there is nothing to compare with, so neither
    /// the target nor the links are read before writing.
    Fresh(Side),
    /// Live sync: by the agreed values and the map's conflict policy; `changed_at` holds when
    /// the source changed each record (from its change feed), for `latest-wins`.
    Live {
        changed_at: &'a HashMap<Key, DateTime<Utc>>,
    },
}

impl Settle<'static> {
    /// Live settling without change times (records synced again on request).
    pub fn live() -> Settle<'static> {
        static NONE: std::sync::OnceLock<HashMap<Key, DateTime<Utc>>> = std::sync::OnceLock::new();
        Settle::Live {
            changed_at: NONE.get_or_init(HashMap::new),
        }
    }
}

/// What to do with one two-way column of a record flowing from the source into the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write the source's value.
    Write,
    /// Keep the target's value: only the target changed it (or it won a conflict).
    Keep,
    /// Both sides changed it to different values: the policy decides.
    Conflict,
}

/// Decides one column. `wanted` is the source's value in target terms, `current` what the
/// target holds, `agreed` what the target held at the last sync (None: never recorded).
pub fn decide(wanted: &Value, current: &Value, agreed: Option<&Option<String>>) -> Decision {
    let (w, c) = (canonical(wanted), canonical(current));
    let Some(l) = agreed else {
        return Decision::Write;
    };
    if w == c || c == *l {
        // Nothing to settle, or only the source changed.
        Decision::Write
    } else if w == *l {
        // Only the target changed: its value stays and flows back on its own.
        Decision::Keep
    } else {
        Decision::Conflict
    }
}

/// The side a conflict policy lets win, given when each side last changed the record.
pub fn policy_winner(
    policy: ConflictPolicy,
    from: Side,
    source_at: Option<DateTime<Utc>>,
    target_at: Option<DateTime<Utc>>,
) -> Side {
    match policy {
        ConflictPolicy::OperationalWins => Side::Operational,
        ConflictPolicy::AccountingWins => Side::Accounting,
        // The later change wins; a tie, or an unknown time, goes to the change being applied.
        ConflictPolicy::LatestWins => match (source_at, target_at) {
            (Some(s), Some(t)) if t > s => from.other(),
            _ => from,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn decimals_compare_by_value() {
        use std::str::FromStr;
        let a = Value::Decimal(rust_decimal::Decimal::from_str("12.5000").unwrap());
        assert_eq!(canonical(&a), some("12.5"));
        assert_eq!(canonical(&Value::Null), None);
    }

    #[test]
    fn one_sided_changes_and_conflicts_are_told_apart() {
        let old = some("old");
        // Never recorded: the source is written.
        assert_eq!(decide(&text("a"), &text("b"), None), Decision::Write);
        // Only the source changed.
        assert_eq!(decide(&text("new"), &text("old"), Some(&old)), Decision::Write);
        // Only the target changed: kept.
        assert_eq!(decide(&text("old"), &text("theirs"), Some(&old)), Decision::Keep);
        // Both changed to the same value.
        assert_eq!(decide(&text("x"), &text("x"), Some(&old)), Decision::Write);
        // Both changed, differently; a null is a value like any other.
        assert_eq!(decide(&text("a"), &text("b"), Some(&old)), Decision::Conflict);
        assert_eq!(decide(&Value::Null, &text("b"), Some(&old)), Decision::Conflict);
        assert_eq!(decide(&text("a"), &text("b"), Some(&None)), Decision::Conflict);
    }

    #[test]
    fn latest_wins_compares_change_times() {
        let t1 = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z").unwrap().to_utc();
        let t2 = DateTime::parse_from_rfc3339("2026-01-01T10:00:05Z").unwrap().to_utc();
        let p = ConflictPolicy::LatestWins;
        assert_eq!(
            policy_winner(p, Side::Operational, Some(t1), Some(t2)),
            Side::Accounting
        );
        assert_eq!(
            policy_winner(p, Side::Operational, Some(t2), Some(t1)),
            Side::Operational
        );
        assert_eq!(policy_winner(p, Side::Accounting, Some(t1), None), Side::Accounting);
        assert_eq!(
            policy_winner(ConflictPolicy::AccountingWins, Side::Operational, Some(t2), Some(t1)),
            Side::Accounting
        );
    }

    #[test]
    fn agreed_values_round_trip_as_json() {
        let mut a = Agreed::default();
        a.side_mut(Side::Accounting).insert("Hours".into(), some("8"));
        a.side_mut(Side::Operational).insert("msdyn_hours".into(), None);
        let back = Agreed::parse(a.to_json().as_deref());
        assert_eq!(back, a);
        assert_eq!(Agreed::parse(Some("not json")), Agreed::default());
        assert_eq!(Agreed::default().to_json(), None);
    }
}
