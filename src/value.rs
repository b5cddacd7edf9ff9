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

/// Fast text forms of values, written without parsing a format string per value (they run for
/// every value the engine hashes and every date it binds for SQLite).
pub mod text {
    use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

    /// The decimal digits of `n`, in `buf`.
    pub fn digits(n: u64, buf: &mut [u8; 20]) -> &[u8] {
        let mut at = buf.len();
        let mut n = n;
        loop {
            at -= 1;
            buf[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        &buf[at..]
    }

    /// `n` in decimal, at least `width` digits (zero-padded).
    pub fn push_padded(out: &mut String, n: u64, width: usize) {
        let mut buf = [0u8; 20];
        let d = digits(n, &mut buf);
        for _ in d.len()..width {
            out.push('0');
        }
        out.extend(d.iter().map(|b| char::from(*b)));
    }

    /// `%Y-%m-%d`.
    pub fn push_date(out: &mut String, d: NaiveDate) {
        match d.year() {
            y @ 0..=9999 => {
                push_padded(out, y as u64, 4);
                out.push('-');
                push_padded(out, u64::from(d.month()), 2);
                out.push('-');
                push_padded(out, u64::from(d.day()), 2);
            }
            _ => out.push_str(&d.format("%Y-%m-%d").to_string()),
        }
    }

    /// `%Y-%m-%dT%H:%M:%S%.Nf Z` with `fraction` digits of the second (6 or 9), UTC.
    pub fn push_date_time(out: &mut String, t: &DateTime<Utc>, fraction: usize) {
        let nanos = t.nanosecond();
        if !(0..=9999).contains(&t.year()) || nanos >= 1_000_000_000 || !matches!(fraction, 6 | 9) {
            let format = if fraction == 6 {
                "%Y-%m-%dT%H:%M:%S%.6fZ"
            } else {
                "%Y-%m-%dT%H:%M:%S%.9fZ"
            };
            out.push_str(&t.format(format).to_string());
            return;
        }
        push_date(out, t.date_naive());
        out.push('T');
        push_padded(out, u64::from(t.hour()), 2);
        out.push(':');
        push_padded(out, u64::from(t.minute()), 2);
        out.push(':');
        push_padded(out, u64::from(t.second()), 2);
        out.push('.');
        match fraction {
            6 => push_padded(out, u64::from(nanos / 1_000), 6),
            _ => push_padded(out, u64::from(nanos), 9),
        }
        out.push('Z');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn fast_text_forms_match_chrono() {
        use chrono::{Duration, TimeZone};
        let times = [
            Utc.with_ymd_and_hms(2026, 12, 3, 7, 5, 9).unwrap() + Duration::nanoseconds(1_002_003),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap() + Duration::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(-44, 3, 15, 12, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(12345, 1, 1, 0, 0, 0).unwrap(),
        ];
        for t in times {
            for (fraction, format) in [(6, "%Y-%m-%dT%H:%M:%S%.6fZ"), (9, "%Y-%m-%dT%H:%M:%S%.9fZ")] {
                let mut out = String::new();
                text::push_date_time(&mut out, &t, fraction);
                assert_eq!(out, t.format(format).to_string());
            }
            let mut out = String::new();
            text::push_date(&mut out, t.date_naive());
            assert_eq!(out, t.date_naive().format("%Y-%m-%d").to_string());
        }
        let mut buf = [0u8; 20];
        assert_eq!(text::digits(u64::MAX, &mut buf), u64::MAX.to_string().as_bytes());
        assert_eq!(text::digits(0, &mut buf), b"0");
    }

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
