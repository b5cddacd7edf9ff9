//! The type check of a parsed filter against the types of its columns: a literal that can
//! never match its column (`amount eq 'abc'`), a string function on a non-text column, or an
//! ordering comparison with null is reported with the position and length of the culprit and
//! a hint on how to write it.

use super::{CmpOp, Col, Expr, FilterError, Lit};
use crate::value::ValueType;

fn literal_hint(column_type: ValueType) -> &'static str {
    match column_type {
        ValueType::Bool => "write true or false without quotes",
        ValueType::Int => "write a whole number without quotes, e.g. 42",
        ValueType::Decimal => "write a number without quotes, e.g. 100.50",
        ValueType::Text => "quote text in single quotes, e.g. 'Contoso'",
        ValueType::Date => "write a date without quotes, e.g. 2024-01-31",
        ValueType::DateTime => "write a datetime without quotes, e.g. 2024-01-31T10:00:00Z",
        ValueType::Guid => "write a GUID without quotes or braces, e.g. 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c",
    }
}

/// Reports every literal that cannot be compared with its column's type, and every string
/// function applied to a non-text column. Columns for which `column_type` returns `None` are
/// not type-checked; an ordering comparison with `null` (never true) is reported regardless.
pub fn check_types(expr: &Expr, column_type: &dyn Fn(&str) -> Option<ValueType>) -> Vec<FilterError> {
    let mut errors = Vec::new();
    check_into(expr, column_type, &mut errors);
    errors
}

fn check_literal(column: &Col, op: CmpOp, lit: &Lit, ty: Option<ValueType>, errors: &mut Vec<FilterError>) {
    let Some(lit_type) = lit.value.value_type() else {
        if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            let msg = format!(
                "column '{}' is compared with null using '{op}', which is never true",
                column.name
            );
            errors.push(
                FilterError::new(lit.offset, lit.len, msg)
                    .hint(format!("null only works with eq and ne, e.g. {} ne null", column.name)),
            );
        }
        return;
    };
    if let Some(ty) = ty.filter(|ty| !ty.comparable_with(lit_type)) {
        let msg = format!("column '{}' is {ty} but is compared with {lit_type} {lit}", column.name);
        errors.push(FilterError::new(lit.offset, lit.len, msg).hint(literal_hint(ty)));
    }
}

fn check_into(expr: &Expr, column_type: &dyn Fn(&str) -> Option<ValueType>, errors: &mut Vec<FilterError>) {
    match expr {
        Expr::Cmp { column, op, value } => check_literal(column, *op, value, column_type(&column.name), errors),
        Expr::In { column, values } => {
            let ty = column_type(&column.name);
            for v in values {
                check_literal(column, CmpOp::Eq, v, ty, errors);
            }
        }
        Expr::Func { func, column, .. } => {
            if let Some(ty) = column_type(&column.name).filter(|ty| *ty != ValueType::Text) {
                let msg = format!("column '{}' is {ty} but {func} needs a text column", column.name);
                errors.push(FilterError::new(column.offset, column.name.len(), msg).hint(format!(
                    "startswith, endswith and contains only apply to text; compare a {ty} column with eq, gt, ..."
                )));
            }
        }
        Expr::And(l, r) | Expr::Or(l, r) => {
            check_into(l, column_type, errors);
            check_into(r, column_type, errors);
        }
        Expr::Not(e) => check_into(e, column_type, errors),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::p;
    use super::*;

    fn types(column: &str) -> Option<ValueType> {
        Some(match column {
            "msdyn_amount" => ValueType::Decimal,
            "qty" => ValueType::Int,
            "name" => ValueType::Text,
            "d" => ValueType::Date,
            "t" => ValueType::DateTime,
            "id" => ValueType::Guid,
            "flag" => ValueType::Bool,
            _ => return None,
        })
    }

    fn type_errors(src: &str) -> Vec<(usize, String, Option<String>)> {
        check_types(&p(src), &types)
            .into_iter()
            .map(|e| (e.offset, e.message, e.hint))
            .collect()
    }

    /// The source text each type error covers.
    fn covered(src: &str) -> Vec<&str> {
        check_types(&p(src), &types)
            .iter()
            .map(|e| &src[e.offset..e.offset + e.len])
            .collect()
    }

    #[test]
    fn literals_must_match_the_column_type() {
        assert_eq!(
            type_errors("msdyn_amount eq 'abc'"),
            vec![(
                16,
                "column 'msdyn_amount' is decimal but is compared with text 'abc'".into(),
                Some("write a number without quotes, e.g. 100.50".into())
            )]
        );
        assert_eq!(
            type_errors("flag eq 1 or name gt 5 and d lt 2024-01-31T00:00:00Z"),
            vec![
                (
                    8,
                    "column 'flag' is boolean but is compared with integer 1".into(),
                    Some("write true or false without quotes".into())
                ),
                (
                    21,
                    "column 'name' is text but is compared with integer 5".into(),
                    Some("quote text in single quotes, e.g. 'Contoso'".into())
                ),
                (
                    32,
                    "column 'd' is date but is compared with datetime 2024-01-31T00:00:00Z".into(),
                    Some("write a date without quotes, e.g. 2024-01-31".into())
                ),
            ]
        );
        let e = type_errors("qty in (1, 'two', 3.5) and id eq '5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c'");
        assert_eq!(e.iter().map(|e| e.0).collect::<Vec<_>>(), vec![11, 33]);
        assert_eq!(
            e[1].2.as_deref(),
            Some("write a GUID without quotes or braces, e.g. 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c")
        );
        assert_eq!(
            type_errors("t gt 2024-01-31")[0].1,
            "column 't' is datetime but is compared with date 2024-01-31"
        );
    }

    #[test]
    fn type_errors_cover_the_literal_as_written() {
        assert_eq!(
            covered("msdyn_amount eq 'it''s' or flag in (true, 007)"),
            ["'it''s'", "007"]
        );
        assert_eq!(
            covered("d lt 2024-01-31T12:00:00.50+02:00 and 5 lt name"),
            ["2024-01-31T12:00:00.50+02:00", "5"]
        );
        assert_eq!(
            covered("name eq 5F3A1C2E-8B7D-4E1A-9C3B-2D4E6F8A0B1C"),
            ["5F3A1C2E-8B7D-4E1A-9C3B-2D4E6F8A0B1C"]
        );
        assert_eq!(covered("qty ge  null"), ["null"]);
        assert_eq!(covered("contains(msdyn_amount, '5')"), ["msdyn_amount"]);
    }

    #[test]
    fn compatible_unknown_and_null_comparisons() {
        assert!(type_errors("msdyn_amount gt 100 and qty le 2.5 and name eq null and not (id ne null)").is_empty());
        assert!(type_errors("unknown eq 'x' and unknown gt 5 and startswith(unknown, 'a')").is_empty());
        assert!(type_errors("qty in (null, 1)").is_empty());
        assert_eq!(
            type_errors("qty gt null"),
            vec![(
                7,
                "column 'qty' is compared with null using 'gt', which is never true".into(),
                Some("null only works with eq and ne, e.g. qty ne null".into())
            )]
        );
        assert_eq!(type_errors("unknown le null").len(), 1, "never true, whatever the type");
    }

    #[test]
    fn string_functions_need_text_columns() {
        assert!(type_errors("startswith(name, 'A') and contains(unknown, 'x')").is_empty());
        assert_eq!(
            type_errors("a eq 1 or endswith(msdyn_amount, '5')"),
            vec![(
                19,
                "column 'msdyn_amount' is decimal but endswith needs a text column".into(),
                Some(
                    "startswith, endswith and contains only apply to text; compare a decimal column with eq, gt, ..."
                        .into()
                )
            )]
        );
    }
}
