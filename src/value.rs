//! The one value type every layer shares: what a column holds in either store, what a filter
//! literal means, and what the engine compares. Money is `rust_decimal`, never floating point.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A single column value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Decimal(Decimal),
    Text(String),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Guid(Uuid),
}

/// The type of a column or of a value (null has no type of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    Bool,
    Int,
    Decimal,
    Text,
    Date,
    DateTime,
    Guid,
}

impl ValueType {
    /// The name admins see in messages and map files.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Bool => "boolean",
            ValueType::Int => "integer",
            ValueType::Decimal => "decimal",
            ValueType::Text => "text",
            ValueType::Date => "date",
            ValueType::DateTime => "datetime",
            ValueType::Guid => "guid",
        }
    }

    /// Whether a value of type `other` may be compared with a column of this type.
    /// Integers and decimals compare numerically; every other type only with itself.
    pub fn comparable_with(self, other: ValueType) -> bool {
        use ValueType::*;
        self == other || matches!((self, other), (Int, Decimal) | (Decimal, Int))
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Value {
    /// The type of this value, `None` for null.
    pub fn value_type(&self) -> Option<ValueType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => ValueType::Bool,
            Value::Int(_) => ValueType::Int,
            Value::Decimal(_) => ValueType::Decimal,
            Value::Text(_) => ValueType::Text,
            Value::Date(_) => ValueType::Date,
            Value::DateTime(_) => ValueType::DateTime,
            Value::Guid(_) => ValueType::Guid,
        })
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Orders two values of comparable types (integers and decimals numerically, exactly).
    /// `None` when either is null or the types cannot be compared.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Decimal(a), Decimal(b)) => Some(a.cmp(b)),
            (Int(a), Decimal(b)) => Some(rust_decimal::Decimal::from(*a).cmp(b)),
            (Decimal(a), Int(b)) => Some(a.cmp(&rust_decimal::Decimal::from(*b))),
            (Text(a), Text(b)) => Some(a.cmp(b)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (DateTime(a), DateTime(b)) => Some(a.cmp(b)),
            (Guid(a), Guid(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Text(s) => f.write_str(s),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::DateTime(t) => write!(f, "{}", t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            Value::Guid(g) => write!(f, "{g}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn integers_and_decimals_compare_exactly() {
        let d = Value::Decimal(Decimal::from_str("2.0").unwrap());
        assert_eq!(Value::Int(2).compare(&d), Some(Ordering::Equal));
        let a = Decimal::from_str("0.1").unwrap() + Decimal::from_str("0.2").unwrap();
        assert_eq!(
            Value::Decimal(a).compare(&Value::Decimal(Decimal::from_str("0.3").unwrap())),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn null_and_mismatched_types_do_not_compare() {
        assert_eq!(Value::Null.compare(&Value::Null), None);
        assert_eq!(Value::Text("1".into()).compare(&Value::Int(1)), None);
    }
}
