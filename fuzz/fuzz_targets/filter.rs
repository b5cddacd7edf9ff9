//! Fuzzes the filter language (`dualsync::tablemap::filter`), the OData `$filter` subset of
//! table maps.
//!
//! Properties, for any UTF-8 input:
//! - `parse` never panics; an error covers bytes of the source (`offset..offset + len` on
//!   character boundaries), or sits at the end of the input with `len` 1;
//! - a parsed filter's column and literal positions point at their spelling in the source;
//! - printing is canonical: the printed form parses back to an equal tree (equality ignores
//!   positions, as in the crate's proptest) and prints the same again;
//! - the type check and the evaluator never panic, and give the same answers for the filter and
//!   its printed form.

#![no_main]

use std::collections::HashMap;

use dualsync::tablemap::filter::{self, Expr, FilterError, check_types};
use dualsync::value::{Value, ValueType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match filter::parse(src) {
        Err(e) => check_error_span(src, &e, "parse"),
        Ok(expr) => check_parsed(src, &expr),
    }
});

fn check_error_span(src: &str, e: &FilterError, stage: &str) {
    assert!(e.len >= 1, "{stage}: empty error span {e:?} for {src:?}");
    if e.offset == src.len() {
        assert_eq!(
            e.len, 1,
            "{stage}: error at the end of input must have len 1: {e:?} for {src:?}"
        );
    } else {
        assert!(
            src.get(e.offset..e.offset + e.len).is_some(),
            "{stage}: error span {}..{} is not a span of the source {src:?}: {e:?}",
            e.offset,
            e.offset + e.len
        );
    }
}

/// Every leaf of a filter, in source order.
fn leaves(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::And(l, r) | Expr::Or(l, r) => {
            let mut v = leaves(l);
            v.extend(leaves(r));
            v
        }
        Expr::Not(inner) => leaves(inner),
        leaf => vec![leaf],
    }
}

/// A column type derived from the column name only, so it is the same for a filter and its
/// printed form; some columns are untyped (`None`), as columns a map does not declare.
fn column_type(name: &str) -> Option<ValueType> {
    const TYPES: [ValueType; 7] = [
        ValueType::Bool,
        ValueType::Int,
        ValueType::Decimal,
        ValueType::Text,
        ValueType::Date,
        ValueType::DateTime,
        ValueType::Guid,
    ];
    let h = name
        .bytes()
        .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
    TYPES.get(h % 8).copied()
}

/// Rows to evaluate against: all columns null, each column holding a literal of the filter
/// (so comparisons can hold), and each column holding a string-function argument.
fn rows(expr: &Expr) -> Vec<HashMap<String, Value>> {
    let mut literals = Vec::new();
    let mut texts = Vec::new();
    for leaf in leaves(expr) {
        match leaf {
            Expr::Cmp { value, .. } => literals.push(value.value.clone()),
            Expr::In { values, .. } => literals.extend(values.iter().map(|l| l.value.clone())),
            Expr::Func { arg, .. } => texts.push(Value::Text(arg.clone())),
            _ => {}
        }
    }
    let columns: Vec<&str> = expr.columns().iter().map(|c| c.name.as_str()).collect();
    let fill = |pool: &[Value], shift: usize| -> HashMap<String, Value> {
        columns
            .iter()
            .enumerate()
            .filter(|_| !pool.is_empty())
            .map(|(i, c)| (c.to_string(), pool[(i + shift) % pool.len()].clone()))
            .collect()
    };
    vec![HashMap::new(), fill(&literals, 0), fill(&literals, 1), fill(&texts, 0)]
}

fn check_parsed(src: &str, expr: &Expr) {
    // Positions point into the source.
    for c in expr.columns() {
        assert_eq!(
            src.get(c.offset..c.offset + c.name.len()),
            Some(c.name.as_str()),
            "column {c:?} is not at its offset in {src:?}"
        );
    }
    for leaf in leaves(expr) {
        let lits = match leaf {
            Expr::Cmp { value, .. } => std::slice::from_ref(value),
            Expr::In { values, .. } => values.as_slice(),
            _ => &[],
        };
        for l in lits {
            assert!(
                l.len >= 1 && src.get(l.offset..l.offset + l.len).is_some(),
                "literal {l:?} is not a span of {src:?}"
            );
        }
    }

    // Printing is canonical.
    let shown = expr.to_string();
    let back = match filter::parse(&shown) {
        Ok(back) => back,
        Err(e) => panic!("the printed form {shown:?} of {src:?} does not parse: {e}"),
    };
    assert_eq!(
        &back, expr,
        "printing {src:?} as {shown:?} and parsing it gives another tree"
    );
    assert_eq!(back.to_string(), shown, "printing is not stable for {src:?}");

    // The type check: spans inside the source, same findings for both forms.
    let found = check_types(expr, &column_type);
    for e in &found {
        check_error_span(src, e, "check_types");
    }
    let found_back = check_types(&back, &column_type);
    let messages = |v: &[FilterError]| v.iter().map(|e| e.message.clone()).collect::<Vec<_>>();
    assert_eq!(
        messages(&found),
        messages(&found_back),
        "type check differs for {src:?} and {shown:?}"
    );

    // Evaluation: same answer for both forms on every row.
    for row in rows(expr) {
        assert_eq!(
            expr.eval(&row),
            back.eval(&row),
            "{src:?} and {shown:?} disagree on {row:?}"
        );
    }
}
