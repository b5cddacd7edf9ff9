//! The checked form of a map: what validation proves, kept instead of thrown away. Filters and
//! skip rules parsed, each field's direction resolved with the map default (a constant's: the
//! side it writes), decimals' precision and scale, option-set value maps indexed both ways,
//! defaults and constants read as values, and the maps it depends on. Only validation builds
//! one, and only for a set of maps with no problem at all, so turning it into the engine's
//! compiled map cannot fail.

use std::collections::HashMap;

use super::filter::Expr;
use super::model::{Direction, Field, Side, SkipRule, TableMap};
use crate::value::Value;

/// A map that passed every check, alone and within its set.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidMap {
    pub(super) map: TableMap,
    pub(super) operational_filter: Option<Expr>,
    pub(super) accounting_filter: Option<Expr>,
    pub(super) fields: Vec<ValidField>,
    pub(super) skip: Vec<Expr>,
    pub(super) dependencies: Vec<String>,
}

/// What validation resolved about one field.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidField {
    /// The field's direction with the map default applied; for a constant, the side it writes.
    pub direction: Direction,
    /// Precision and scale of a decimal field.
    pub decimal: Option<(u32, u32)>,
    /// Option-set value map, operational code to accounting text.
    pub to_accounting: Option<HashMap<i64, String>>,
    /// The same value map backwards, accounting text to operational code.
    pub to_operational: Option<HashMap<String, i64>>,
    /// Written when the source value is null, as the map literal means it for this field.
    pub default: Option<Value>,
    /// Always written to the one column the field names.
    pub constant: Option<Value>,
}

impl ValidMap {
    /// The map as written.
    pub fn map(&self) -> &TableMap {
        &self.map
    }

    /// The parsed filter of one side, if it has one.
    pub fn filter(&self, side: Side) -> Option<&Expr> {
        match side {
            Side::Operational => self.operational_filter.as_ref(),
            Side::Accounting => self.accounting_filter.as_ref(),
        }
    }

    /// Each field as written, with what validation resolved about it.
    pub fn fields(&self) -> impl Iterator<Item = (&Field, &ValidField)> {
        self.map.fields.iter().zip(&self.fields)
    }

    /// Each skip rule as written, with its parsed predicate.
    pub fn skip_rules(&self) -> impl Iterator<Item = (&SkipRule, &Expr)> {
        self.map.skip.iter().zip(&self.skip)
    }

    /// The maps this one depends on: `requires`, then the maps its lookups point into (not
    /// itself). Every one of them is in the same valid set.
    pub fn dependencies(&self) -> &[String] {
        &self.dependencies
    }
}
