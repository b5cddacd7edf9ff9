//! Canonical printing of filters: `Display` for the syntax tree writes filter source with
//! single spaces, lowercase keywords, minimal parentheses and literals in one spelling
//! (datetimes in UTC, lowercase GUIDs, decimals always with a point), so printing and parsing
//! again gives an equal tree.

use std::fmt;

use chrono::SecondsFormat;

use super::{CmpOp, Expr, Lit, StrFunc};
use crate::value::Value;

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for StrFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "'{}'", s.replace('\'', "''"))
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Decimal(d) => {
                // A decimal with no point would read back as an integer.
                let s = d.to_string();
                if s.contains('.') {
                    f.write_str(&s)
                } else {
                    write!(f, "{s}.0")
                }
            }
            Value::Text(s) => write_quoted(f, s),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::DateTime(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Value::Guid(g) => write!(f, "{}", g.hyphenated()),
        }
    }
}

/// Binding strength for parenthesizing: or < and < everything else.
fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Or(..) => 1,
        Expr::And(..) => 2,
        _ => 3,
    }
}

/// Writes an operand of a left-associative binary operator of precedence `parent`.
fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr, parent: u8, right: bool) -> fmt::Result {
    let p = precedence(e);
    if p < parent || (right && p == parent) {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cmp { column, op, value } => write!(f, "{} {op} {value}", column.name),
            Expr::In { column, values } => {
                write!(f, "{} in (", column.name)?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Expr::Func { func, column, arg } => {
                write!(f, "{func}({}, ", column.name)?;
                write_quoted(f, arg)?;
                f.write_str(")")
            }
            Expr::And(l, r) | Expr::Or(l, r) => {
                let (p, word) = if matches!(self, Expr::And(..)) {
                    (2, " and ")
                } else {
                    (1, " or ")
                };
                write_operand(f, l, p, false)?;
                f.write_str(word)?;
                write_operand(f, r, p, true)
            }
            // `not not (x)`, not `not (not (x))`: one nesting level per `not`, as parsed.
            Expr::Not(e) if matches!(**e, Expr::Not(_)) => write!(f, "not {e}"),
            Expr::Not(e) => write!(f, "not ({e})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::super::test_util::*;
    use super::super::{Col, parse};
    use super::*;

    #[test]
    fn deep_nots_print_back_within_the_depth_limit() {
        // Found by the fuzzer: 33 nots printed as `not (not (...` nested twice as deep as parsed.
        let src = format!("{}a eq 1", "not ".repeat(60));
        let printed = parse(&src).unwrap().to_string();
        assert!(parse(&printed).is_ok(), "{printed}");
    }

    #[test]
    fn display_is_canonical() {
        let cases = [
            (
                "msdyn_skipsync eq false and startswith(name,'A')",
                "msdyn_skipsync eq false and startswith(name, 'A')",
            ),
            (
                "not(statecode eq 1)or d ge 2024-01-31",
                "not (statecode eq 1) or d ge 2024-01-31",
            ),
            ("a eq 1 and (b eq 2 or c eq 3)", "a eq 1 and (b eq 2 or c eq 3)"),
            ("(a eq 1 and b eq 2) or c eq 3", "a eq 1 and b eq 2 or c eq 3"),
            ("a eq 1 or (b eq 2 or c eq 3)", "a eq 1 or (b eq 2 or c eq 3)"),
            ("name eq 'O''Brien'", "name eq 'O''Brien'"),
            ("contains(name, '''')", "contains(name, '''')"),
            ("t lt 2024-02-01T12:00:00.5+02:00", "t lt 2024-02-01T10:00:00.500Z"),
            ("amount in (-12.50, 3, null)", "amount in (-12.50, 3, null)"),
            ("5 gt amount", "amount lt 5"),
            ("startswith(n,'x') eq false", "not (startswith(n, 'x'))"),
            ("not not not a eq 1", "not not not (a eq 1)"),
        ];
        for (src, shown) in cases {
            assert_eq!(p(src).to_string(), shown, "{src}");
            assert_eq!(p(shown), p(src), "{shown}");
        }
        let upper = p(&format!("id eq {}", G.to_uppercase()));
        assert_eq!(upper.to_string(), format!("id eq {G}"));
    }

    #[test]
    fn whole_decimals_keep_a_point() {
        let e = cmp("a", CmpOp::Eq, Value::Decimal(Decimal::new(5, 0)));
        assert_eq!(e.to_string(), "a eq 5.0");
        assert_eq!(p(&e.to_string()), e);
        // 29 digits: "….0" does not fit a Decimal, but the zero can be dropped exactly.
        let big = cmp("a", CmpOp::Eq, dec("24791557232693970705545782892"));
        assert_eq!(big.to_string(), "a eq 24791557232693970705545782892.0");
        assert_eq!(p(&big.to_string()), big);
        let Expr::Cmp { value, .. } = p("a eq 5.0") else {
            panic!()
        };
        assert!(matches!(value.value, Value::Decimal(_)));
    }

    fn leaf() -> impl Strategy<Value = Expr> {
        let lit = || value().prop_map(|v| Lit::new(v, 0));
        let func = prop_oneof![
            Just(StrFunc::StartsWith),
            Just(StrFunc::EndsWith),
            Just(StrFunc::Contains)
        ];
        prop_oneof![
            (column_name(), op(), lit()).prop_map(|(c, op, value)| Expr::Cmp {
                column: Col::new(c, 0),
                op,
                value
            }),
            (column_name(), prop::collection::vec(lit(), 1..4)).prop_map(|(c, values)| Expr::In {
                column: Col::new(c, 0),
                values
            }),
            (func, column_name(), text_value()).prop_map(|(func, c, arg)| Expr::Func {
                func,
                column: Col::new(c, 0),
                arg
            }),
        ]
    }

    fn expr() -> impl Strategy<Value = Expr> {
        leaf().prop_recursive(5, 32, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(l, r)| and(l, r)),
                (inner.clone(), inner.clone()).prop_map(|(l, r)| or(l, r)),
                inner.prop_map(not),
            ]
        })
    }

    proptest! {
        #![proptest_config(no_persistence())]

        #[test]
        fn printing_then_parsing_gives_the_same_tree(e in expr()) {
            let shown = e.to_string();
            let back = parse(&shown).map_err(|err| TestCaseError::fail(format!("{shown}: {err}")))?;
            prop_assert_eq!(&back, &e, "{}", shown);
            prop_assert_eq!(back.to_string(), shown);
        }

        #[test]
        fn a_literal_is_as_long_as_its_spelling(v in value()) {
            let shown = Lit::new(v, 0).to_string();
            let Expr::Cmp { value, .. } = p(&format!("c eq {shown}")) else {
                return Err(TestCaseError::fail("not a comparison"));
            };
            prop_assert_eq!((value.offset, value.len), (5, shown.len()));
        }
    }
}
