//! The table-map file format as Rust types: what an admin writes in `table-maps/*.toml`.
//!
//! These types are the single source of truth for the format. `dualsync schema` prints the
//! JSON Schema generated from them, and the validator checks the structure of every file
//! against that same schema before it checks meaning. Doc comments here become the schema's
//! descriptions, so they are what an editor shows while an admin types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::value::ValueType;

/// One table map: how one operational entity and one accounting entity are kept in sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "dualsync table map")]
pub struct TableMap {
    /// Unique name of the map, used by `requires`, `lookup` and the CLI (lowercase, digits, `-`).
    pub name: String,
    /// Human title shown in status output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Version of this map file, for the admin's own bookkeeping (for example "1.0.0").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What the map is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Default direction of the fields: `>` operational to accounting, `<` accounting to
    /// operational, `=` both ways.
    #[serde(default)]
    pub direction: Direction,
    /// The side(s) on which records are created: `>` only operational (new records flow to
    /// accounting), `<` only accounting, `=` either side.
    #[serde(default)]
    pub records: Direction,
    /// Whether a deleted record is deleted on the other side too (in the `records` direction).
    #[serde(default = "yes")]
    pub deletes: bool,
    /// Maps whose records must be synced before this one (their names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// During initial sync, which side wins when both sides hold a record with the same key.
    #[serde(default)]
    pub initial_sync_master: Side,
    /// Which value wins on a `=` field changed on both sides since the last sync.
    #[serde(default)]
    pub conflict: ConflictPolicy,
    /// The entity on the operational side.
    pub operational: Entity,
    /// The entity on the accounting side.
    pub accounting: Entity,
    /// The field mappings.
    pub fields: Vec<Field>,
    /// Skip-sync rules: a record matching one is not synced, and the rule's name is recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<SkipRule>,
    /// One operational record becomes several accounting records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan_out: Option<FanOut>,
}

fn yes() -> bool {
    true
}

/// One side's entity: table, key and company column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Entity {
    /// Entity (table) name in that store, for example `msdyn_actuals` or `ProjCDSActualsImport`.
    pub entity: String,
    /// Key column(s) that identify a record; more than one for a composite key.
    pub key: Vec<String>,
    /// Column holding the company (legal entity, `DataAreaId`), if the entity is company-specific.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Only records matching this filter are in scope (OData `$filter` subset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// A direction of flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub enum Direction {
    /// Operational to accounting.
    #[default]
    #[serde(rename = ">")]
    ToAccounting,
    /// Accounting to operational.
    #[serde(rename = "<")]
    ToOperational,
    /// Both ways.
    #[serde(rename = "=")]
    Both,
}

impl Direction {
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::ToAccounting => ">",
            Direction::ToOperational => "<",
            Direction::Both => "=",
        }
    }

    /// Whether values flow from `from` to the other side in this direction.
    pub fn flows_from(self, from: Side) -> bool {
        matches!(
            (self, from),
            (Direction::Both, _)
                | (Direction::ToAccounting, Side::Operational)
                | (Direction::ToOperational, Side::Accounting)
        )
    }
}

/// One of the two systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    #[default]
    Operational,
    Accounting,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Operational => "operational",
            Side::Accounting => "accounting",
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Operational => Side::Accounting,
            Side::Accounting => Side::Operational,
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The side a stored name (`operational`, `accounting`) stands for; any other text is an
/// error, never taken for one of them.
impl std::str::FromStr for Side {
    type Err = String;

    fn from_str(s: &str) -> Result<Side, String> {
        [Side::Operational, Side::Accounting]
            .into_iter()
            .find(|side| side.name() == s)
            .ok_or_else(|| format!("unknown side \"{s}\" (expected operational, accounting)"))
    }
}

/// Which value wins a conflict on a two-way field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// The operational value wins.
    #[default]
    OperationalWins,
    /// The accounting value wins.
    AccountingWins,
    /// The value changed last (by change-log time) wins.
    LatestWins,
}

/// The declared type of a mapped field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FieldType {
    Text,
    Integer,
    /// Exact decimal; give `precision` and `scale`.
    Decimal,
    Boolean,
    Date,
    Datetime,
    Guid,
    /// Integer code on the operational side; with `values`, enum text on the accounting side.
    OptionSet,
}

impl FieldType {
    /// The value type of this field's column on `side`, given whether it has a value map.
    pub fn value_type(self, side: Side, has_values: bool) -> ValueType {
        match self {
            FieldType::Text => ValueType::Text,
            FieldType::Integer => ValueType::Int,
            FieldType::Decimal => ValueType::Decimal,
            FieldType::Boolean => ValueType::Bool,
            FieldType::Date => ValueType::Date,
            FieldType::Datetime => ValueType::DateTime,
            FieldType::Guid => ValueType::Guid,
            FieldType::OptionSet if side == Side::Accounting && has_values => ValueType::Text,
            FieldType::OptionSet => ValueType::Int,
        }
    }
}

/// One field mapping between an operational column and an accounting column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Field {
    /// Column on the operational side. Leave out for a constant written to the accounting side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operational: Option<String>,
    /// Column on the accounting side. Leave out for a constant written to the operational side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounting: Option<String>,
    /// Declared type of the value.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Total significant digits of a decimal (1 to 28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Digits after the decimal point of a decimal (0 to precision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Direction of this field; the map's `direction` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Value map of an option set: operational integer code (as a string key) to accounting text.
    /// Used in both directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    /// Value written when the source value is missing (null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Literal>,
    /// Value always written to the one column given, which has no source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<Literal>,
    /// The column holds the key of a record of this map; it is translated through that
    /// map's key links (the map's own name for a self-lookup, such as a parent task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<String>,
    /// A note for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Field {
    /// The column on `side`, if any.
    pub fn column(&self, side: Side) -> Option<&str> {
        match side {
            Side::Operational => self.operational.as_deref(),
            Side::Accounting => self.accounting.as_deref(),
        }
    }

    /// The direction in force for this field, given the map default.
    pub fn direction_or(&self, default: Direction) -> Direction {
        self.direction.unwrap_or(default)
    }
}

/// A literal in a map file (a default or a constant). Decimals, dates, datetimes and GUIDs
/// are written as strings and read by the field's type, so no precision is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Literal {
    Bool(bool),
    Integer(i64),
    Text(String),
}

/// A named skip-sync rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SkipRule {
    /// The reason recorded for each record this rule skips.
    pub name: String,
    /// The predicate (OData `$filter` subset); a matching record is skipped.
    pub when: String,
    /// The side whose columns `when` reads.
    #[serde(default)]
    pub side: Side,
    /// A note for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How one operational record becomes several accounting records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FanOut {
    /// `company`: one record per company in scope (written to the accounting company column);
    /// `value`: one record per entry of `values` (written to `column`).
    pub per: FanOutKind,
    /// With `per = "value"`: the accounting column that receives each value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// With `per = "value"`: the values, one accounting record each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// What a fan-out multiplies by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FanOutKind {
    Company,
    Value,
}
