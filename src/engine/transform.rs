//! The record transform: one source record of a compiled map, read on one side, becomes the
//! record(s) to write on the other side — or the reason it is not written (out of scope,
//! skipped by a rule, waiting for a parent's link, rejected with a hint). Applies, in order,
//! the side's filter, company scoping, skip rules, then the field transforms (direction, value
//! maps, defaults and constants, type fitting, lookups through key links) and the fan-out.
//! Also the hash of written values the engine keeps per link. Pure code, no I/O.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::compile::{CompiledField, CompiledMap};
use crate::store::coerce::fit;
use crate::store::{Column, EntityDesc, Row};
use crate::tablemap::filter;
use crate::tablemap::model::{FanOutKind, FieldType, Side};
use crate::value::{Value, text};

/// A source record as the engine read it, seen by column name (a missing column reads as null).
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    pub desc: &'a EntityDesc,
    pub row: &'a Row,
}

impl<'a> RowView<'a> {
    pub fn new(desc: &'a EntityDesc, row: &'a Row) -> Self {
        RowView { desc, row }
    }

    /// The value of `column`, or None when the record was read without it.
    pub fn get(&self, column: &str) -> Option<&'a Value> {
        self.desc.index_of(column).and_then(|i| self.row.get(i))
    }
}

impl filter::Row for RowView<'_> {
    fn get(&self, column: &str) -> Option<&Value> {
        RowView::get(self, column)
    }
}

/// What becomes of one source record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// One or more target records (several with fan-out): (column, value) lists in
    /// `target_columns` order, each with its target key values and its company (if any).
    Records(Vec<TargetRecord>),
    /// The source record is outside the map's scope (the side's filter does not match, or its
    /// company is not in scope).
    OutOfScope,
    /// A skip rule matched: the rule's name.
    Skipped(String),
    /// A lookup's parent has no link yet: (map name of the parent, the source-side key value it waits for).
    WaitingForParent { map: String, key: Value },
    /// A permanent problem with this record: an unmapped option-set value, a value that can't
    /// be converted, a key column that is null. The message names the column and the value;
    /// the hint says what to do.
    Rejected { message: String, hint: String },
}

/// One record to write on the target side.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRecord {
    /// The values of the target's key columns, in key order.
    pub key: Vec<Value>,
    /// The legal entity of the record: the value written to the target's company column, or,
    /// when the target side has no company column, the source record's company.
    pub company: Option<String>,
    /// Every written column and its value, in `CompiledMap::target_columns` order.
    pub values: Vec<(Arc<str>, Value)>,
}

impl TargetRecord {
    /// The value written to `column`, if the record writes it.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.values.iter().find(|(c, _)| &**c == column).map(|(_, v)| v)
    }
}

/// The key links lookups translate through (the engine's link table).
pub trait Links {
    /// The other side's single key value of the record of map `map` whose `from`-side key is
    /// `key` (the lookup translation), or None when not linked yet.
    fn translate(&self, map: &str, from: Side, key: &Value) -> Option<Value>;
}

/// Which records the daemon syncs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// Companies (legal entities) in scope; empty = all.
    pub companies: &'a [String],
}

/// Why one field produced no value.
enum Problem {
    Rejected { message: String, hint: String },
    Waiting { map: String, key: Value },
}

/// Transforms one record read on side `from` into the record(s) to write on the other side.
///
/// Checks, in order: the side's filter (no match: `OutOfScope`); company scoping (a company
/// not in `scope`: `OutOfScope`); the skip rules of side `from`, first match wins
/// (`Skipped`); then every field that writes into the other side. A field that cannot be
/// converted rejects the record; if none does, a lookup whose parent is not linked yet makes
/// it wait for that parent. Key columns always get a value (records are matched by them), and
/// a null key value rejects the record. With a fan-out (operational to accounting only) one
/// record is produced per company in scope or per listed value.
pub fn transform(map: &CompiledMap, from: Side, source: &RowView, links: &dyn Links, scope: &Scope) -> Outcome {
    let target = from.other();
    let side = map.side(from);
    if let Some(f) = &side.filter
        && !f.eval(source)
    {
        return Outcome::OutOfScope;
    }

    let fan_out_companies = from == Side::Operational && map.fans_out_per_company() && side.company.is_none();
    // The source's own company, when it has a company column.
    let source_company: Option<Option<String>> = side
        .company
        .as_deref()
        .map(|c| company_text(source.get(c).unwrap_or(&Value::Null)));
    if let Some(company) = &source_company
        && !scope.companies.is_empty()
        && !company.as_ref().is_some_and(|c| scope.companies.contains(c))
    {
        return Outcome::OutOfScope;
    }

    if let Some(rule) = map.skip.iter().find(|r| r.side == from && r.when.eval(source)) {
        return Outcome::Skipped(rule.name.clone());
    }

    // The companies to write: each in scope for a fan-out per company, else the source's.
    let companies: Vec<Option<String>> = if fan_out_companies {
        if scope.companies.is_empty() {
            return Outcome::Rejected {
                message: format!(
                    "map \"{}\" fans each {} record out to every company in scope, but no companies are configured",
                    map.name,
                    map.side(from).entity
                ),
                hint: "list the companies (legal entities) in scope in the daemon's configuration, then retry".into(),
            };
        }
        scope.companies.iter().cloned().map(Some).collect()
    } else {
        vec![source_company.clone().flatten()]
    };

    // Field values, computed once for every fanned-out record.
    let key_columns = &map.side(target).key;
    let mut values: FxHashMap<&str, Value> = FxHashMap::default();
    let mut waiting: Option<Problem> = None;
    for field in &map.fields {
        let Some(column) = field.column(target) else { continue };
        if !(field.writes(target) || key_columns.iter().any(|k| k == column)) {
            continue;
        }
        match field_value(map, field, from, source, links) {
            Ok(v) => {
                values.insert(column, v);
            }
            Err(Problem::Rejected { message, hint }) => return Outcome::Rejected { message, hint },
            Err(w @ Problem::Waiting { .. }) => {
                if waiting.is_none() {
                    waiting = Some(w);
                }
            }
        }
    }
    if let Some(Problem::Waiting { map, key }) = waiting {
        return Outcome::WaitingForParent { map, key };
    }

    let columns = map.written(target);
    let target_company = map.side(target).company.as_deref();
    let fanned: Vec<(Option<String>, Option<&str>)> = match (&map.fan_out, from) {
        (Some(f), Side::Operational) if f.per == FanOutKind::Value => f
            .values
            .iter()
            .flat_map(|v| companies.iter().map(move |c| (c.clone(), Some(v.as_str()))))
            .collect(),
        _ => companies.into_iter().map(|c| (c, None)).collect(),
    };
    let fan_column = if from == Side::Operational {
        map.fan_out_column()
    } else {
        None
    };
    let mut records = Vec::with_capacity(fanned.len());
    for (company, fan_value) in fanned {
        let mut written = Vec::with_capacity(columns.len());
        for column in columns {
            let value = if Some(&**column) == target_company {
                company.clone().map_or(Value::Null, Value::Text)
            } else if Some(&**column) == fan_column {
                fan_value.map_or(Value::Null, |v| Value::Text(v.to_string()))
            } else {
                values.get(&**column).cloned().unwrap_or(Value::Null)
            };
            written.push((column.clone(), value));
        }
        let mut key = Vec::with_capacity(key_columns.len());
        for k in key_columns {
            let value = written
                .iter()
                .find(|(c, _)| **c == **k)
                .map_or(Value::Null, |(_, v)| v.clone());
            if value.is_null() {
                return null_key(map, target, k, source);
            }
            key.push(value);
        }
        records.push(TargetRecord {
            key,
            company,
            values: written,
        });
    }
    Outcome::Records(records)
}

/// A rejection for a target key column left without a value.
fn null_key(map: &CompiledMap, target: Side, column: &str, source: &RowView) -> Outcome {
    let from = target.other();
    let side = map.side(from);
    let is_company = map.side(target).company.as_deref() == Some(column);
    let source_column = if is_company {
        side.company.as_deref()
    } else {
        map.key_field(target, column).and_then(|f| f.column(from))
    };
    let message = match source_column {
        Some(sc) => format!(
            "{} key column `{column}` of {} would be null: {} column `{sc}` of {} {} is null",
            target.name(),
            map.side(target).entity,
            from.name(),
            side.entity,
            describe_key(map, from, source)
        ),
        None => format!(
            "{} key column `{column}` of {} would be null for {} {}",
            target.name(),
            map.side(target).entity,
            side.entity,
            describe_key(map, from, source)
        ),
    };
    let hint = match source_column {
        Some(sc) if is_company => format!(
            "records are matched by their key, which includes the company: fill `{sc}` in the {} record, then retry",
            from.name()
        ),
        Some(sc) => format!(
            "records are matched by their key, so it cannot be empty: fill `{sc}` in the {} record (or give the field a `default` in map \"{}\"), then retry",
            from.name(),
            map.name
        ),
        None => format!(
            "map \"{}\" gives the {} key column `{column}` no source: map it from a {} column, or set the {} `company` column",
            map.name,
            target.name(),
            from.name(),
            from.name()
        ),
    };
    Outcome::Rejected { message, hint }
}

/// `key a, b` of the source record, for messages.
fn describe_key(map: &CompiledMap, from: Side, source: &RowView) -> String {
    let parts: Vec<String> = map
        .side(from)
        .key
        .iter()
        .map(|k| match source.get(k) {
            Some(v) => format!("{k}={v}"),
            None => format!("{k}=null"),
        })
        .collect();
    format!("with key {}", parts.join(", "))
}

/// The company a column value names; null names none.
fn company_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The column a field writes on `side`, with the type the map declares for it there.
fn column_of(field: &CompiledField, side: Side) -> Column {
    Column {
        name: field.column(side).unwrap_or_default().to_string(),
        value_type: field.field_type.value_type(side, field.has_value_map()),
        nullable: true,
        decimal: field.decimal,
    }
}

/// The value `field` writes into the other side of `from`.
fn field_value(
    map: &CompiledMap,
    field: &CompiledField,
    from: Side,
    source: &RowView,
    links: &dyn Links,
) -> Result<Value, Problem> {
    let target = from.other();
    if let Some(constant) = &field.constant {
        return to_target(map, field, target, constant, "constant");
    }
    let Some(source_column) = field.column(from) else {
        return Ok(Value::Null);
    };
    let raw = source.get(source_column).unwrap_or(&Value::Null);
    if raw.is_null() {
        return match &field.default {
            Some(default) => to_target(map, field, target, default, "default"),
            None => Ok(Value::Null),
        };
    }
    let Some(parent) = &field.lookup else {
        return to_target(map, field, target, raw, "value");
    };
    // A lookup: the parent's key on this side becomes its key on the other side.
    let key = fit(raw, &column_of(field, from)).map_err(|why| reject_conversion(map, field, from, raw, &why))?;
    match links.translate(parent, from, &key) {
        Some(translated) => to_target(map, field, target, &translated, "translated value"),
        None => Err(Problem::Waiting {
            map: parent.clone(),
            key,
        }),
    }
}

/// `value` in the target's representation: option-set codes through the value map, then
/// fitted to the target column's type (and decimal precision and scale).
fn to_target(
    map: &CompiledMap,
    field: &CompiledField,
    target: Side,
    value: &Value,
    what: &str,
) -> Result<Value, Problem> {
    let from = target.other();
    let mapped = match (field.field_type, &field.to_accounting, &field.to_operational) {
        (FieldType::OptionSet, Some(forth), Some(back)) if !value.is_null() => {
            option_set(map, field, target, value, forth, back, what)?
        }
        _ => value.clone(),
    };
    let column = column_of(field, target);
    fit(&mapped, &column).map_err(|why| match what {
        "value" => reject_conversion(map, field, from, value, &why),
        _ => Problem::Rejected {
            message: format!(
                "the {what} {value} of field {} in map \"{}\" does not fit {} column `{}`: {why}",
                field.describe(),
                map.name,
                target.name(),
                column.name
            ),
            hint: format!(
                "correct the field in map \"{}\" (or its parent's key link), then retry the record",
                map.name
            ),
        },
    })
}

/// A source value that cannot be written to the target column.
fn reject_conversion(map: &CompiledMap, field: &CompiledField, from: Side, value: &Value, why: &str) -> Problem {
    let target = from.other();
    Problem::Rejected {
        message: format!(
            "{} column `{}` holds {value}, which cannot be written to {} column `{}`: {why}",
            from.name(),
            field.column(from).unwrap_or_default(),
            target.name(),
            field.column(target).unwrap_or_default(),
        ),
        hint: match field.decimal {
            Some((p, s)) => format!(
                "correct the value in the {} record, or widen the field in map \"{}\" (now precision {p}, scale {s}) and the column it writes",
                from.name(),
                map.name
            ),
            None => format!(
                "correct the value in the {} record, or the field's type in map \"{}\"",
                from.name(),
                map.name
            ),
        },
    }
}

/// An option-set value through the field's value map: code to text into accounting, text to
/// code into operational. A value already in the target's form (a default or constant written
/// that way) passes; anything unmapped is rejected with the known values.
fn option_set(
    map: &CompiledMap,
    field: &CompiledField,
    target: Side,
    value: &Value,
    forth: &HashMap<i64, String>,
    back: &HashMap<String, i64>,
    what: &str,
) -> Result<Value, Problem> {
    let code = match value {
        Value::Int(n) => Some(*n),
        Value::Decimal(d) if d.fract().is_zero() => i64::try_from(d.trunc()).ok(),
        Value::Text(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let found = match target {
        Side::Accounting => match value {
            Value::Text(s) if back.contains_key(s) => Some(value.clone()),
            _ => code.and_then(|c| forth.get(&c)).map(|t| Value::Text(t.clone())),
        },
        Side::Operational => match value {
            Value::Text(s) if back.contains_key(s) => back.get(s).map(|c| Value::Int(*c)),
            _ => code.filter(|c| forth.contains_key(c)).map(Value::Int),
        },
    };
    if let Some(v) = found {
        return Ok(v);
    }
    let from = target.other();
    let mut known: Vec<(&i64, &String)> = forth.iter().collect();
    known.sort();
    let listed: Vec<String> = known.iter().map(|(c, t)| format!("{c} {t}")).collect();
    let (noun, entry) = match (value, code) {
        (Value::Text(_), _) | (_, None) => ("value", format!("\"<code>\" = \"{value}\"")),
        (_, Some(c)) => ("code", format!("\"{c}\" = \"<accounting text>\"")),
    };
    let source = if what == "value" {
        format!("{} column `{}`", from.name(), field.column(from).unwrap_or_default())
    } else {
        format!(
            "the {what} of {} column `{}`",
            target.name(),
            field.column(target).unwrap_or_default()
        )
    };
    Err(Problem::Rejected {
        message: format!(
            "{source} holds option-set {noun} {value}, which the value map of map \"{}\" does not know; known codes: {}",
            map.name,
            listed.join(", ")
        ),
        hint: format!(
            "add {entry} to `values` of field {} in map \"{}\" (or correct the record), then retry the record",
            field.describe(),
            map.name
        ),
    })
}

/// A stable hash of written values, 16 hex digits: FNV-1a 64 over a canonical text of the
/// (column, value) pairs sorted by column. Decimals are normalized (12.5 and 12.5000 hash
/// equal, as do an integer and a decimal of the same number), GUIDs are lowercase hyphenated,
/// datetimes are UTC with nanoseconds. The engine keeps it per link to suppress echoes and no-ops.
pub fn hash_values<C: AsRef<str>>(values: &[(C, Value)]) -> String {
    let mut sorted: Vec<(&str, &Value)> = values.iter().map(|(c, v)| (c.as_ref(), v)).collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    // Streamed into the hash (it runs once per record and batch): the bytes are those of
    // `column-length:column=tag body-length:body;` per column, as they always were, so stored
    // hashes stay valid (`hashes_are_stable_across_releases`). Written without `fmt`.
    let mut hash = Fnv::default();
    let mut body = String::new();
    for (column, value) in sorted {
        hash.number(column.len() as u64);
        hash.bytes(b":");
        hash.bytes(column.as_bytes());
        hash.bytes(b"=");
        body.clear();
        let tag = match value {
            Value::Null => b'0',
            Value::Bool(b) => {
                body.push_str(if *b { "true" } else { "false" });
                b'b'
            }
            Value::Int(i) => {
                if *i < 0 {
                    body.push('-');
                }
                text::push_padded(&mut body, i.unsigned_abs(), 1);
                b'n'
            }
            Value::Decimal(d) if d.is_zero() => {
                body.push('0');
                b'n'
            }
            Value::Decimal(d) => {
                let _ = write!(body, "{}", d.normalize());
                b'n'
            }
            Value::Text(s) => {
                hash.bytes(b"s");
                hash.number(s.len() as u64);
                hash.bytes(b":");
                hash.bytes(s.as_bytes());
                hash.bytes(b";");
                continue;
            }
            Value::Date(d) => {
                text::push_date(&mut body, *d);
                b'd'
            }
            Value::DateTime(t) => {
                text::push_date_time(&mut body, t, 9);
                b't'
            }
            Value::Guid(g) => {
                body.push_str(g.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
                b'g'
            }
        };
        hash.bytes(&[tag]);
        hash.number(body.len() as u64);
        hash.bytes(b":");
        hash.bytes(body.as_bytes());
        hash.bytes(b";");
    }
    format!("{:016x}", hash.0)
}

/// FNV-1a 64 (`compile::fnv1a64`) fed as text is written to it.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// `n` in decimal digits.
    fn number(&mut self, n: u64) {
        self.bytes(text::digits(n, &mut [0u8; 20]));
    }
}

#[cfg(test)]
#[path = "transform/tests.rs"]
mod tests;
