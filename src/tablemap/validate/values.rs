//! The values a map writes in: literals (`default`, `constant`) read by the field's type, and
//! option-set value maps checked and indexed both ways.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use super::super::diagnostic::Diagnostic;
use super::super::model::{Field, FieldType, Literal};
use super::super::parse::{Node, NodeKind, Seg};
use super::Located;
use crate::tm_path;
use crate::value::Value;

pub(super) fn type_name(t: FieldType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The value a map literal means for this field, or a hint saying how to write it.
pub fn literal_value(f: &Field, lit: &Literal) -> Result<Value, String> {
    let text_or = |expected: &str| match lit {
        Literal::Text(s) => Ok(s.clone()),
        _ => Err(format!("write it as a quoted string, e.g. {expected}")),
    };
    match f.field_type {
        FieldType::Text => text_or("\"USPM\"").map(Value::Text),
        FieldType::Boolean => match lit {
            Literal::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err("write true or false, without quotes".into()),
        },
        FieldType::Integer => match lit {
            Literal::Integer(n) => Ok(Value::Int(*n)),
            _ => Err("write a whole number without quotes, e.g. 0".into()),
        },
        FieldType::OptionSet => match lit {
            Literal::Integer(n) => Ok(Value::Int(*n)),
            Literal::Text(s) if f.values.as_ref().is_some_and(|v| v.values().any(|t| t == s)) => {
                Ok(Value::Text(s.clone()))
            }
            _ => Err("write the option-set code as a whole number, e.g. 192350000".into()),
        },
        FieldType::Decimal => {
            let s = match lit {
                Literal::Integer(n) => n.to_string(),
                Literal::Text(s) => s.clone(),
                Literal::Bool(_) => {
                    return Err("write a decimal as a quoted string, e.g. \"0.00\"".into());
                }
            };
            rust_decimal::Decimal::from_str(&s)
                .map(Value::Decimal)
                .map_err(|_| format!("\"{s}\" is not a decimal number; write e.g. \"0.00\""))
        }
        FieldType::Date => {
            let s = text_or("\"2024-01-31\"")?;
            chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map(Value::Date)
                .map_err(|_| format!("\"{s}\" is not a date; write YYYY-MM-DD, e.g. \"2024-01-31\""))
        }
        FieldType::Datetime => {
            let s = text_or("\"2024-01-31T08:00:00Z\"")?;
            chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| Value::DateTime(t.with_timezone(&chrono::Utc)))
                .map_err(|_| format!("\"{s}\" is not an RFC 3339 datetime; write e.g. \"2024-01-31T08:00:00Z\""))
        }
        FieldType::Guid => {
            let s = text_or("\"5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c\"")?;
            uuid::Uuid::parse_str(&s)
                .map(Value::Guid)
                .map_err(|_| format!("\"{s}\" is not a GUID; write 8-4-4-4-12 hex digits"))
        }
    }
}

/// Checks an option set's value map; indexed both ways (code to text, text to code) when it
/// has no problem.
pub(super) fn check_value_map(
    m: &Located<'_>,
    i: usize,
    f: &Field,
    values: &BTreeMap<String, String>,
    out: &mut Vec<Diagnostic>,
) -> Option<ValueMaps> {
    let before = out.len();
    let path = tm_path!["fields", i, "values"];
    if f.field_type != FieldType::OptionSet {
        out.push(
            m.at_key(path.clone(), "a value map applies only to option-set fields")
                .with_hint("change the type to \"option-set\" or remove `values`"),
        );
    }
    let mut seen: HashMap<&str, &str> = HashMap::new();
    // Walk in file order so the second occurrence is the one reported.
    let Some(Node {
        kind: NodeKind::Table(entries),
        ..
    }) = m.tree.get(&path)
    else {
        return None;
    };
    for (code, _, _) in entries {
        let Some(target) = values.get(code) else {
            continue;
        };
        let mut entry = path.clone();
        entry.push(Seg::Key(code.clone()));
        if code.parse::<i64>().is_err() {
            out.push(
                m.at_key(
                    entry.clone(),
                    format!("option-set code \"{code}\" is not a whole number"),
                )
                .with_hint("keys of `values` are the operational integer codes, e.g. \"192350000\""),
            );
        }
        if let Some(first) = seen.insert(target, code) {
            out.push(
                m.at(
                    entry,
                    format!("codes \"{first}\" and \"{code}\" both map to \"{target}\""),
                )
                .with_hint("each accounting value must come from one code, or the way back is ambiguous"),
            );
        }
    }
    if out.len() > before {
        return None;
    }
    let mut forth = HashMap::new();
    let mut back = HashMap::new();
    for (code, text) in values {
        let n: i64 = code.parse().ok()?;
        forth.insert(n, text.clone());
        back.insert(text.clone(), n);
    }
    Some((forth, back))
}

/// An option set's value map: code to text, and text to code.
type ValueMaps = (HashMap<i64, String>, HashMap<String, i64>);
