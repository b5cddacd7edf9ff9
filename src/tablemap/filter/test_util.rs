//! Shared by the filter tests: parsing shorthands, tree builders, literal constructors and
//! proptest strategies.

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::test_runner::Config;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::lex::KEYWORDS;
use super::{CmpOp, Col, Expr, FilterError, Lit, StrFunc, parse};
use crate::value::Value;

pub const G: &str = "5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c";

/// Proptest settings that never write `proptest-regressions/` files into the source tree.
pub fn no_persistence() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

pub fn p(src: &str) -> Expr {
    parse(src).unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
}

pub fn err(src: &str) -> FilterError {
    match parse(src) {
        Ok(e) => panic!("{src:?} should not parse, got {e:?}"),
        Err(e) => e,
    }
}

/// Asserts the error for `src`, shown as "message (at byte N); hint: ...".
pub fn assert_err(src: &str, expected: &str) {
    assert_eq!(err(src).to_string(), expected, "{src:?}");
}

/// The source text an error covers (`offset` and `len`), or "" at the end of the input.
pub fn covered(src: &str) -> &str {
    let e = err(src);
    src.get(e.offset..e.offset + e.len).unwrap_or("")
}

pub fn cmp(column: &str, op: CmpOp, value: Value) -> Expr {
    Expr::Cmp {
        column: Col::new(column, 0),
        op,
        value: Lit::new(value, 0),
    }
}

pub fn func(func: StrFunc, column: &str, arg: &str) -> Expr {
    Expr::Func {
        func,
        column: Col::new(column, 0),
        arg: arg.into(),
    }
}

pub fn and(l: Expr, r: Expr) -> Expr {
    Expr::And(Box::new(l), Box::new(r))
}

pub fn or(l: Expr, r: Expr) -> Expr {
    Expr::Or(Box::new(l), Box::new(r))
}

pub fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

pub fn dec(s: &str) -> Value {
    Value::Decimal(Decimal::from_str_exact(s).unwrap())
}

pub fn date(s: &str) -> Value {
    Value::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

pub fn datetime(s: &str) -> Value {
    Value::DateTime(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

pub fn guid(s: &str) -> Value {
    Value::Guid(Uuid::parse_str(s).unwrap())
}

pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

pub fn column_name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}".prop_filter("not a keyword", |s| !KEYWORDS.contains(&s.as_str()))
}

pub fn text_value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z' ]{0,8}", any::<String>()]
}

/// Any value, null included, over the full range of every type.
pub fn value() -> impl Strategy<Value = Value> {
    const MAX_96_BITS: i128 = (1 << 96) - 1;
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Value::Decimal(Decimal::new(m, s))),
        (-MAX_96_BITS..=MAX_96_BITS, 0u32..=28).prop_map(|(m, s)| Value::Decimal(Decimal::from_i128_with_scale(m, s))),
        text_value().prop_map(Value::Text),
        (1i32..=3_652_059).prop_map(|d| Value::Date(NaiveDate::from_num_days_from_ce_opt(d).unwrap())),
        (-62_135_596_800i64..=253_402_300_799, 0u32..1_000_000_000)
            .prop_map(|(s, n)| Value::DateTime(DateTime::from_timestamp(s, n).unwrap())),
        any::<u128>().prop_map(|g| Value::Guid(Uuid::from_u128(g))),
    ]
}

pub fn op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge),
        Just(CmpOp::Lt),
        Just(CmpOp::Le)
    ]
}
