//! Checks the meaning of parsed maps, alone and as a set: fields, keys, value maps, literals,
//! filters and skip rules, fan-out, lookups, `requires` and its cycles, duplicate names.
//! Every problem is collected; nothing stops at the first one. A map with no problem comes out
//! in its checked form (`valid::ValidMap`): what the checks resolved is kept, not redone.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::diagnostic::{Diagnostic, SourceFile};
use super::filter::{self, Expr};
use super::model::{Direction, FanOutKind, Field, FieldType, Side, TableMap};
use super::parse::{Node, Seg};
use super::valid::{ValidField, ValidMap};
use crate::tm_path;
use crate::value::ValueType;

mod set;
mod values;
pub use set::{check_set, dependencies, lookup_key_column};
pub use values::literal_value;
use values::{check_value_map, type_name};

/// A map that parsed, with what is needed to point into its file.
pub struct Located<'a> {
    pub map: &'a TableMap,
    pub source: &'a SourceFile,
    pub tree: &'a Node,
}

impl Located<'_> {
    pub fn at(&self, path: Vec<Seg>, message: impl Into<String>) -> Diagnostic {
        self.source.error(self.tree.span_of(&path), message)
    }

    pub fn at_key(&self, path: Vec<Seg>, message: impl Into<String>) -> Diagnostic {
        let span = self.tree.key_span(&path).unwrap_or_else(|| self.tree.span_of(&path));
        self.source.error(span, message)
    }

    /// A span inside a string value: `offset` bytes into its contents. Falls back to the whole
    /// string when escapes make the written text differ from the value.
    pub fn inside_string(&self, path: &[Seg], offset: usize, len: usize) -> Range<usize> {
        let span = self.tree.span_of(path);
        let raw = &self.source.text[span.clone()];
        let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3
        } else {
            1
        };
        let value = self.tree.get(path).and_then(Node::as_str).unwrap_or("");
        let inner = raw.get(quote..raw.len().saturating_sub(quote)).unwrap_or("");
        if inner == value && offset <= value.len() {
            let start = span.start + quote + offset;
            start..(start + len.max(1)).min(span.end - quote).max(start + 1)
        } else {
            span
        }
    }
}

/// The value type of a column on one side of a map, as far as the map declares it.
pub fn column_type(map: &TableMap, side: Side, column: &str) -> Option<ValueType> {
    let entity = side_entity(map, side);
    if entity.company.as_deref() == Some(column) {
        return Some(ValueType::Text);
    }
    if side == Side::Accounting
        && let Some(fan) = &map.fan_out
        && fan.column.as_deref() == Some(column)
    {
        return Some(ValueType::Text);
    }
    map.fields
        .iter()
        .find(|f| f.column(side) == Some(column))
        .map(|f| f.field_type.value_type(side, f.values.is_some()))
}

fn side_entity(map: &TableMap, side: Side) -> &super::model::Entity {
    match side {
        Side::Operational => &map.operational,
        Side::Accounting => &map.accounting,
    }
}

/// Whether values flow both ways in this map (then its key fields must be two-way).
pub fn is_two_way(map: &TableMap) -> bool {
    let dirs: HashSet<Direction> = map.fields.iter().map(|f| f.direction_or(map.direction)).collect();
    dirs.contains(&Direction::Both)
        || (dirs.contains(&Direction::ToAccounting) && dirs.contains(&Direction::ToOperational))
}

/// Checks one map on its own. Returns its checked form when it has no problem; problems go
/// to `out`.
pub fn check_map(m: &Located<'_>, out: &mut Vec<Diagnostic>) -> Option<ValidMap> {
    let map = m.map;
    let before = out.len();
    if !map
        .name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || map.name.is_empty()
    {
        out.push(
            m.at(
                tm_path!["name"],
                format!("map name \"{}\" has characters other than a-z, 0-9 and -", map.name),
            )
            .with_hint("use a short lowercase name such as \"project-tasks\""),
        );
    }
    let mut filters = [None, None];
    for (k, side) in [Side::Operational, Side::Accounting].into_iter().enumerate() {
        let entity = side_entity(map, side);
        if entity.key.is_empty() {
            out.push(
                m.at(
                    tm_path![side.name(), "key"],
                    format!("the {} key is empty", side.name()),
                )
                .with_hint("list at least one key column"),
            );
        }
        if let Some(filter) = &entity.filter {
            // `None` only with a problem reported, and then the map is not valid.
            filters[k] = check_expression(m, side, filter, tm_path![side.name(), "filter"], out);
        }
    }
    let fields: Vec<Option<ValidField>> = map
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| check_field(m, i, field, out))
        .collect();
    check_written_columns(m, out);
    check_keys(m, out);
    let skip = check_skip_rules(m, out);
    check_fan_out(m, out);
    if out.len() > before {
        return None;
    }
    let [operational_filter, accounting_filter] = filters;
    Some(ValidMap {
        map: map.clone(),
        operational_filter,
        accounting_filter,
        fields: fields.into_iter().collect::<Option<Vec<_>>>()?,
        skip: skip.into_iter().collect::<Option<Vec<_>>>()?,
        dependencies: dependencies(map).into_iter().map(str::to_string).collect(),
    })
}

/// Checks a filter or skip predicate; its parsed form when it has no problem.
fn check_expression(
    m: &Located<'_>,
    side: Side,
    text: &str,
    path: Vec<Seg>,
    out: &mut Vec<Diagnostic>,
) -> Option<Expr> {
    match filter::parse(text) {
        Err(e) => {
            let span = m.inside_string(&path, e.offset, e.len);
            out.push(
                m.source
                    .error(span, format!("filter syntax: {}", e.message))
                    .with_hint_opt(e.hint.clone()),
            );
            None
        }
        Ok(expr) => {
            let lookup = |c: &str| column_type(m.map, side, c);
            let problems = filter::check_types(&expr, &lookup);
            let clean = problems.is_empty();
            for e in problems {
                let span = m.inside_string(&path, e.offset, e.len);
                out.push(m.source.error(span, e.message.clone()).with_hint_opt(e.hint.clone()));
            }
            clean.then_some(expr)
        }
    }
}

/// Checks one field; what it resolves to when it has no problem.
fn check_field(m: &Located<'_>, i: usize, f: &Field, out: &mut Vec<Diagnostic>) -> Option<ValidField> {
    let before = out.len();
    let here = |key: &str| tm_path!["fields", i, key];
    let entry = tm_path!["fields", i];
    let mut problem = |d: Diagnostic| {
        out.push(d);
        None
    };
    let direction = match (&f.operational, &f.accounting, &f.constant) {
        (None, None, _) => problem(
            m.at(entry.clone(), format!("field #{} names no column", i + 1))
                .with_hint("give `operational`, `accounting`, or one of them with a `constant`"),
        ),
        (Some(_), Some(_), Some(_)) => problem(
            m.at_key(
                here("constant"),
                "a constant has no source, but this field names columns on both sides",
            )
            .with_hint("keep only the target column (the side the constant is written to)"),
        ),
        (Some(_), None, None) | (None, Some(_), None) => problem(
            m.at(
                entry.clone(),
                format!("field #{} names a column on one side only and has no `constant`", i + 1),
            )
            .with_hint("map it to a column on the other side, or give a `constant` to write"),
        ),
        // A constant writes the one column it names.
        (Some(_), None, Some(_)) => Some(Direction::ToOperational),
        (None, Some(_), Some(_)) => Some(Direction::ToAccounting),
        (Some(_), Some(_), None) => Some(f.direction_or(m.map.direction)),
    };
    if f.constant.is_some() && f.direction.is_some() {
        out.push(
            m.at_key(
                here("direction"),
                "a constant field has no direction: it is written to the column it names",
            )
            .with_hint("remove `direction`"),
        );
    }
    if f.constant.is_some() && f.default.is_some() {
        out.push(
            m.at_key(here("default"), "a constant field cannot have a default")
                .with_hint("remove `default`"),
        );
    }

    // Types and their companions.
    let mut decimal = None;
    match f.field_type {
        FieldType::Decimal => match (f.precision, f.scale) {
            (Some(p), Some(s)) if (1..=28).contains(&p) && s <= p => decimal = Some((p, s)),
            (Some(p), Some(_)) if !(1..=28).contains(&p) => out.push(
                m.at(here("precision"), format!("decimal precision {p} is out of range"))
                    .with_hint("precision is 1 to 28 significant digits"),
            ),
            (Some(p), Some(s)) => out.push(
                m.at(
                    here("scale"),
                    format!("decimal scale {s} is larger than its precision {p}"),
                )
                .with_hint("scale counts the digits after the point, so it is at most the precision"),
            ),
            _ => out.push(
                m.at_key(here("type"), "a decimal field needs `precision` and `scale`")
                    .with_hint("add both, e.g. `precision = 28, scale = 6` for an amount (precision is at most 28)"),
            ),
        },
        _ => {
            for key in ["precision", "scale"] {
                if m.tree.get(&here(key)).is_some() {
                    out.push(
                        m.at_key(here(key), format!("`{key}` applies only to decimal fields"))
                            .with_hint(format!("remove `{key}` or change the type to \"decimal\"")),
                    );
                }
            }
        }
    }
    let value_maps = f
        .values
        .as_ref()
        .and_then(|values| check_value_map(m, i, f, values, out));
    if let Some(target) = &f.lookup
        && !matches!(f.field_type, FieldType::Guid | FieldType::Text)
    {
        out.push(
            m.at(
                here("type"),
                "a lookup holds a record key, so its type must be \"guid\" or \"text\"",
            )
            .with_hint(format!("change the type, or remove `lookup = \"{target}\"`")),
        );
    }
    let mut literals = [None, None];
    for (k, key) in ["default", "constant"].into_iter().enumerate() {
        let literal = if key == "default" { &f.default } else { &f.constant };
        if let Some(lit) = literal {
            match literal_value(f, lit) {
                Ok(value) => literals[k] = Some(value),
                Err(hint) => {
                    let message = format!("`{key}` does not fit the field's type {:?}", type_name(f.field_type));
                    out.push(m.at(here(key), message).with_hint(hint));
                }
            }
        }
    }
    if out.len() > before {
        return None;
    }
    let (to_accounting, to_operational) = value_maps.unzip();
    let [default, constant] = literals;
    Some(ValidField {
        direction: direction?,
        decimal,
        to_accounting,
        to_operational,
        default,
        constant,
    })
}

/// A column on one side written by two fields (or by a field and the engine).
fn check_written_columns(m: &Located<'_>, out: &mut Vec<Diagnostic>) {
    let map = m.map;
    for side in [Side::Operational, Side::Accounting] {
        let mut writers: HashMap<&str, usize> = HashMap::new();
        let entity = side_entity(map, side);
        for (i, f) in map.fields.iter().enumerate() {
            let Some(col) = f.column(side) else { continue };
            let writes = if f.constant.is_some() {
                true
            } else {
                f.direction_or(map.direction).flows_from(side.other())
            };
            if !writes {
                continue;
            }
            let path = tm_path!["fields", i, side.name()];
            if entity.company.as_deref() == Some(col) {
                out.push(
                    m.at(
                        path.clone(),
                        format!(
                            "column `{col}` is the {} company column, which the engine fills",
                            side.name()
                        ),
                    )
                    .with_hint("remove this field: the company is mapped from `company` on each side"),
                );
            }
            if side == Side::Accounting && map.fan_out.as_ref().and_then(|f| f.column.as_deref()) == Some(col) {
                out.push(
                    m.at(
                        path.clone(),
                        format!("column `{col}` is the fan-out column, which the engine fills"),
                    )
                    .with_hint("remove this field"),
                );
            }
            if let Some(first) = writers.insert(col, i) {
                out.push(
                    m.at(
                        path,
                        format!(
                            "{} column `{col}` is written by fields #{} and #{}",
                            side.name(),
                            first + 1,
                            i + 1
                        ),
                    )
                    .with_hint("each target column takes its value from one field; remove or rename one"),
                );
            }
        }
    }
}

fn check_keys(m: &Located<'_>, out: &mut Vec<Diagnostic>) {
    let map = m.map;
    let two_way = is_two_way(map);
    let mut reported: HashSet<usize> = HashSet::new();
    for side in [Side::Operational, Side::Accounting] {
        let entity = side_entity(map, side);
        for (k, key) in entity.key.iter().enumerate() {
            if entity.company.as_deref() == Some(key.as_str()) {
                continue;
            }
            if side == Side::Accounting && map.fan_out.as_ref().and_then(|f| f.column.as_deref()) == Some(key.as_str())
            {
                continue;
            }
            let path = tm_path![side.name(), "key", k];
            match map.fields.iter().position(|f| f.column(side) == Some(key.as_str())) {
                None => out.push(
                    m.at(
                        path,
                        format!("{} key column `{key}` is not mapped by any field", side.name()),
                    )
                    .with_hint("add a [[fields]] entry for it, so records can be matched across the two sides"),
                ),
                Some(i) => {
                    let f = &map.fields[i];
                    let dir = f.direction_or(map.direction);
                    if two_way && dir != Direction::Both && f.constant.is_none() && reported.insert(i) {
                        out.push(
                            m.at(
                                tm_path![
                                    "fields",
                                    i,
                                    if f.direction.is_some() {
                                        "direction"
                                    } else {
                                        side.name()
                                    }
                                ],
                                format!(
                                    "key column `{key}` is mapped one way ({}) in a map whose fields flow both ways",
                                    dir.symbol()
                                ),
                            )
                            .with_hint(
                                "a two-way map must map its key fields two-way: set `direction = \"=\"` on this field",
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// Checks the skip rules; each one's parsed predicate when it has no problem.
fn check_skip_rules(m: &Located<'_>, out: &mut Vec<Diagnostic>) -> Vec<Option<Expr>> {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut parsed = Vec::new();
    for (i, rule) in m.map.skip.iter().enumerate() {
        if let Some(first) = names.insert(rule.name.as_str(), i) {
            out.push(
                m.at(
                    tm_path!["skip", i, "name"],
                    format!(
                        "skip rules #{} and #{} are both named \"{}\"",
                        first + 1,
                        i + 1,
                        rule.name
                    ),
                )
                .with_hint("the name is recorded as the reason a record was skipped, so it must be unique"),
            );
        }
        parsed.push(check_expression(
            m,
            rule.side,
            &rule.when,
            tm_path!["skip", i, "when"],
            out,
        ));
    }
    parsed
}

fn check_fan_out(m: &Located<'_>, out: &mut Vec<Diagnostic>) {
    let map = m.map;
    let Some(fan) = &map.fan_out else { return };
    match fan.per {
        FanOutKind::Company => {
            match &map.accounting.company {
                None => out.push(
                    m.at(
                        tm_path!["fan_out", "per"],
                        "fan-out per company on a map that has no accounting company column",
                    )
                    .with_hint(
                        "set `company` in [accounting] (e.g. \"DataAreaId\") and include it in the accounting key",
                    ),
                ),
                Some(c) if !map.accounting.key.contains(c) => out.push(
                    m.at(
                        tm_path!["accounting", "key"],
                        format!("the accounting key must include the company column `{c}` for a fan-out per company"),
                    )
                    .with_hint(format!(
                        "add \"{c}\" to the key, or each company's record would overwrite the others"
                    )),
                ),
                Some(_) => {}
            }
            for key in ["column", "values"] {
                if m.tree.get(&[Seg::from("fan_out"), Seg::from(key)]).is_some() {
                    out.push(
                        m.at_key(
                            tm_path!["fan_out", key],
                            format!("`{key}` is used only with `per = \"value\"`"),
                        )
                        .with_hint("remove it; a fan-out per company writes the company column"),
                    );
                }
            }
        }
        FanOutKind::Value => {
            match &fan.column {
                None => out.push(
                    m.at(tm_path!["fan_out"], "a fan-out per value needs `column`")
                        .with_hint(
                            "name the accounting column that receives each value, e.g. `column = \"TransactionType\"`",
                        ),
                ),
                Some(c) if !map.accounting.key.contains(c) => out.push(
                    m.at(
                        tm_path!["fan_out", "column"],
                        format!("fan-out column `{c}` is not in the accounting key"),
                    )
                    .with_hint(format!(
                        "add \"{c}\" to the accounting key, or the records would overwrite each other"
                    )),
                ),
                Some(_) => {}
            }
            if fan.values.is_empty() {
                out.push(
                    m.at(
                        tm_path!["fan_out"],
                        "a fan-out per value needs a non-empty `values` list",
                    )
                    .with_hint("for example `values = [\"Hour\", \"Expense\", \"Item\", \"Fee\"]`"),
                );
            }
            let mut seen = HashSet::new();
            for (i, v) in fan.values.iter().enumerate() {
                if !seen.insert(v) {
                    out.push(
                        m.at(
                            tm_path!["fan_out", "values", i],
                            format!("fan-out value \"{v}\" is listed twice"),
                        )
                        .with_hint("each value makes one record; list it once"),
                    );
                }
            }
        }
    }
}
