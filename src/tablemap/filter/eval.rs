//! Evaluating a filter against one record, with OData null semantics: `eq null` tests for
//! null, `ne` is exactly `not eq` (so `x ne 5` holds when `x` is null), and ordering
//! comparisons with a null side or across types that do not compare are false. Integers and
//! decimals compare exactly; text compares ordinally (case-sensitive).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use super::{CmpOp, Col, Expr, StrFunc};
use crate::value::Value;

/// A record to evaluate a filter against. A missing column reads as null.
pub trait Row {
    fn get(&self, column: &str) -> Option<&Value>;
}

impl<S: BuildHasher> Row for HashMap<String, Value, S> {
    fn get(&self, column: &str) -> Option<&Value> {
        HashMap::get(self, column)
    }
}

impl Row for BTreeMap<String, Value> {
    fn get(&self, column: &str) -> Option<&Value> {
        BTreeMap::get(self, column)
    }
}

static NULL: Value = Value::Null;

/// OData equality: null equals only null; values of types that do not compare are unequal.
fn equals(v: &Value, lit: &Value) -> bool {
    match (v, lit) {
        (Value::Null, Value::Null) => true,
        _ => v.compare(lit).is_some_and(Ordering::is_eq),
    }
}

/// `ne` is `not eq`; an ordering needs two non-null values of comparable types.
fn compare(v: &Value, op: CmpOp, lit: &Value) -> bool {
    let ordered = |holds: fn(Ordering) -> bool| v.compare(lit).is_some_and(holds);
    match op {
        CmpOp::Eq => equals(v, lit),
        CmpOp::Ne => !equals(v, lit),
        CmpOp::Gt => ordered(Ordering::is_gt),
        CmpOp::Ge => ordered(Ordering::is_ge),
        CmpOp::Lt => ordered(Ordering::is_lt),
        CmpOp::Le => ordered(Ordering::is_le),
    }
}

impl StrFunc {
    /// Ordinal (case-sensitive) text test.
    fn apply(self, text: &str, arg: &str) -> bool {
        match self {
            StrFunc::StartsWith => text.starts_with(arg),
            StrFunc::EndsWith => text.ends_with(arg),
            StrFunc::Contains => text.contains(arg),
        }
    }
}

impl Expr {
    /// Whether `row` matches this filter.
    pub fn eval(&self, row: &dyn Row) -> bool {
        let lookup = |c: &Col| row.get(&c.name).unwrap_or(&NULL);
        match self {
            Expr::Cmp { column, op, value } => compare(lookup(column), *op, &value.value),
            Expr::In { column, values } => {
                let v = lookup(column);
                values.iter().any(|l| equals(v, &l.value))
            }
            Expr::Func { func, column, arg } => {
                matches!(lookup(column), Value::Text(s) if func.apply(s, arg))
            }
            Expr::And(l, r) => l.eval(row) && r.eval(row),
            Expr::Or(l, r) => l.eval(row) || r.eval(row),
            Expr::Not(e) => !e.eval(row),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::super::Lit;
    use super::super::test_util::*;
    use super::*;

    fn row(pairs: &[(&str, Value)]) -> HashMap<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn holds(src: &str, r: &dyn Row) -> bool {
        p(src).eval(r)
    }

    #[test]
    fn null_and_missing_columns() {
        let r = row(&[("parent", Value::Null), ("n", Value::Int(1))]);
        assert!(holds("parent eq null", &r));
        assert!(holds("missing eq null", &r));
        assert!(!holds("parent ne null", &r));
        assert!(holds("n ne null", &r));
        assert!(!holds("n eq null", &r));
        // ne is not eq: null is not equal to a value (OData: null ne 5 is true)
        for src in [
            "parent ne 1",
            "missing ne 0",
            "missing ne 'x'",
            "1 ne parent",
            "not (missing eq 1)",
        ] {
            assert!(holds(src, &r), "{src}");
        }
        // eq with one null side, and every ordering with a null side, is false
        for src in [
            "parent eq 1",
            "parent lt 1",
            "missing gt 0",
            "missing ge 0",
            "n gt null",
            "n le null",
            "parent ge null",
        ] {
            assert!(!holds(src, &r), "{src}");
        }
        assert!(holds("missing in (1, null)", &r));
        assert!(!holds("missing in (1, 2)", &r));
        assert!(holds("not (missing in (1, 2))", &r));
        assert!(!holds("startswith(missing, '')", &r));
        assert!(holds("startswith(missing, '') ne true", &r));
    }

    #[test]
    fn numbers_compare_exactly() {
        let sum = Decimal::from_str_exact("0.1").unwrap() + Decimal::from_str_exact("0.2").unwrap();
        let r = row(&[
            ("amount", Value::Decimal(sum)),
            ("neg", dec("-0.5")),
            ("qty", Value::Int(2)),
        ]);
        assert!(holds("amount eq 0.3", &r));
        assert!(holds("amount eq 0.30000", &r));
        assert!(!holds("amount gt 0.3", &r));
        assert!(!holds("amount ne 0.30", &r));
        assert!(holds("neg lt 0", &r));
        assert!(holds("neg lt -0.49999999999999999999", &r));
        assert!(holds("qty eq 2.00", &r));
        assert!(!holds("qty ne 2.00", &r));
        assert!(holds("qty gt 1.99", &r));
        assert!(holds("qty in (1.5, 2.0)", &r));
        assert!(holds("3 gt qty", &r));
        assert!(!holds("qty eq '2'", &r), "text never equals a number");
        assert!(holds("qty ne '2'", &r), "incompatible types are unequal");
        assert!(!holds("qty lt '3'", &r), "incompatible types do not order");
        assert!(!holds("qty ge '1'", &r), "incompatible types do not order");
    }

    #[test]
    fn dates_datetimes_guids_text_and_booleans() {
        let r = BTreeMap::from([
            ("d".to_string(), date("2024-01-31")),
            ("t".to_string(), datetime("2024-02-01T10:00:00Z")),
            ("id".to_string(), guid(G)),
            ("name".to_string(), text("Alpha O'Brien")),
            ("skip".to_string(), Value::Bool(false)),
        ]);
        assert!(holds("d ge 2024-01-31 and d lt 2024-02-01", &r));
        assert!(!holds("d eq 2024-01-31T00:00:00Z", &r), "a date is not a datetime");
        assert!(holds("d ne 2024-01-31T00:00:00Z", &r));
        assert!(holds("t eq 2024-02-01T11:00:00+01:00", &r));
        assert!(holds("t lt 2024-02-01T10:00:00.001Z", &r));
        assert!(holds(&format!("id eq {}", G.to_uppercase()), &r));
        assert!(holds("id ne 00000000-0000-0000-0000-000000000000", &r));
        assert!(!holds("id eq 'x'", &r));
        assert!(holds("name eq 'Alpha O''Brien'", &r));
        assert!(!holds("name eq 'alpha o''brien'", &r), "text is case-sensitive");
        assert!(holds("name gt 'Alp' and name lt 'B'", &r));
        assert!(holds("name lt 'a'", &r), "ordinal: uppercase sorts before lowercase");
        assert!(holds(
            "startswith(name, 'Al') and endswith(name, 'ien') and contains(name, 'O''B')",
            &r
        ));
        assert!(!holds("startswith(name, 'al')", &r));
        assert!(
            !holds("contains(skip, 'f')", &r),
            "string functions are false on non-text"
        );
        assert!(holds("skip eq false and not (skip eq true)", &r));
        assert!(holds("skip lt true", &r));
        assert!(holds("name in ('x', 'Alpha O''Brien')", &r));
        assert!(!holds("name in ('x', 'y')", &r));
        assert!(holds("skip eq true or d eq 2024-01-31", &r));
        assert!(!holds("skip eq true and d eq 2024-01-31", &r));
    }

    fn lit_cmp(column: &str, op: CmpOp, lit: &Value) -> Expr {
        Expr::Cmp {
            column: Col::new(column, 0),
            op,
            value: Lit::new(lit.clone(), 0),
        }
    }

    proptest! {
        #![proptest_config(no_persistence())]

        #[test]
        fn ne_is_exactly_not_eq(v in value(), lit in value()) {
            let r = row(&[("c", v.clone())]);
            let eq = lit_cmp("c", CmpOp::Eq, &lit).eval(&r);
            prop_assert_eq!(lit_cmp("c", CmpOp::Ne, &lit).eval(&r), !eq);
            prop_assert_eq!(eq, v == lit || v.compare(&lit) == Some(Ordering::Equal));
            // a missing column behaves like a null one
            let missing = row(&[]);
            prop_assert_eq!(lit_cmp("c", CmpOp::Ne, &lit).eval(&missing), !lit.is_null());
        }

        #[test]
        fn orderings_with_null_or_across_types_are_false(
            v in value(),
            lit in value(),
            op in prop::sample::select(vec![CmpOp::Gt, CmpOp::Ge, CmpOp::Lt, CmpOp::Le]),
        ) {
            let r = row(&[("c", v.clone())]);
            if v.compare(&lit).is_none() {
                prop_assert!(!lit_cmp("c", op, &lit).eval(&r));
            }
        }
    }
}
