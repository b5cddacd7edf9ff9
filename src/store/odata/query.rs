//! The parts of an OData query both stores build the same way: `$filter` comparisons of a key
//! (`k1 eq a and k2 eq b`), the records after a key in key order (`k1 gt a or (k1 eq a and
//! k2 gt b)`), literals, and one entity of a response decoded into a row of an entity
//! description, or the record as unreadable naming the column and the raw value. Each store
//! says how a column is named on the wire and how a value of a column is written (an
//! enumeration in finance and operations is `Namespace.Enum'Member'`).

use std::fmt::Write as _;

use super::json::{self, Entity};
use crate::store::{BadRow, EntityDesc, ErrorKind, Page, Result, Row, StoreError};
use crate::value::Value;

/// How the i-th compared column's value is written in a `$filter`.
pub type Literal<'a> = &'a dyn Fn(usize, &Value) -> Result<String>;

/// A value as a plain literal of a `$filter` (text quoted with `'` doubled; GUIDs, numbers
/// and dates bare). Only text is percent-encoded by `key_literal`; the query string encodes
/// the rest, so text is written here unencoded.
pub fn literal(v: &Value) -> Result<String> {
    match v {
        Value::Text(t) => Ok(format!("'{}'", t.replace('\'', "''"))),
        other => json::key_literal(other).map_err(|e| StoreError::new(ErrorKind::Permanent, e)),
    }
}

/// `k eq v` (and … for a composite key); `wires` are the compared properties.
pub fn equals(wires: &[&str], values: &[Value], literal: Literal) -> Result<String> {
    let parts: Vec<String> = wires
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (wire, v))| Ok(format!("{wire} eq {}", literal(i, v)?)))
        .collect::<Result<_>>()?;
    Ok(parts.join(" and "))
}

/// The records after `after` in the order of `wires`: `k1 gt a or (k1 eq a and k2 gt b) or …`.
pub fn after(wires: &[&str], after: &[Value], literal: Literal) -> Result<String> {
    let mut any = Vec::new();
    for i in 0..wires.len().min(after.len()) {
        let mut all = String::new();
        for j in 0..i {
            write!(all, "{} eq {} and ", wires[j], literal(j, &after[j])?).expect("a string");
        }
        write!(all, "{} gt {}", wires[i], literal(i, &after[i])?).expect("a string");
        any.push(format!("({all})"));
    }
    Ok(any.join(" or "))
}

/// One entity of a response as a row of `desc` (`wire` names each column's JSON property), or
/// the record as unreadable. A property the service left out is empty.
pub fn decode<'a>(
    desc: &'a EntityDesc,
    e: &Entity,
    wire: impl Fn(&'a str) -> &'a str,
) -> std::result::Result<Row, Box<BadRow>> {
    let key: Vec<std::result::Result<Value, String>> = desc
        .key_columns()
        .map(|c| e.value(wire(&c.name), c.value_type))
        .collect();
    let raw_key = serde_json::to_string(
        &desc
            .key_columns()
            .map(|c| e.raw(wire(&c.name)).unwrap_or("null").trim_matches('"').to_string())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let good_key: Option<Vec<Value>> = key.iter().cloned().collect::<std::result::Result<_, _>>().ok();
    let mut row = Vec::with_capacity(desc.columns.len());
    for c in &desc.columns {
        let property = wire(&c.name);
        let value = match e.raw(property) {
            None => Ok(Value::Null),
            Some(raw) => json::value_of(raw, c.value_type, &c.name),
        };
        match value {
            Ok(v) => row.push(v),
            Err(message) => {
                return Err(Box::new(BadRow {
                    key: good_key,
                    raw_key,
                    column: c.name.clone(),
                    raw: e.raw(property).map(str::to_string),
                    message,
                    duplicate_key: false,
                }));
            }
        }
    }
    Ok(row)
}

/// A page of a scan from the entities of a response in key order: the rows, the records that
/// cannot be read, and the key to go on after.
pub fn page_of<'a>(desc: &'a EntityDesc, entities: &[Entity], wire: impl Fn(&'a str) -> &'a str + Copy) -> Page {
    let mut page = Page::default();
    for e in entities {
        match decode(desc, e, wire) {
            Ok(row) => {
                page.next = Some(desc.key_of(&row));
                page.rows.push(row);
            }
            Err(bad) => {
                page.next = bad.key.clone().or(page.next.take());
                page.bad.push(*bad);
            }
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_after_a_composite_key_and_quote_text() {
        let wires = ["a", "_b_value"];
        let after_key = vec![Value::Text("O'Neil".into()), Value::Int(3)];
        let plain = |_: usize, v: &Value| literal(v);
        assert_eq!(
            after(&wires, &after_key, &plain).unwrap(),
            "(a gt 'O''Neil') or (a eq 'O''Neil' and _b_value gt 3)"
        );
        assert_eq!(
            equals(&wires, &after_key, &plain).unwrap(),
            "a eq 'O''Neil' and _b_value eq 3"
        );
    }
}
