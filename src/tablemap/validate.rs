//! Checks the meaning of parsed maps, alone and as a set: fields, keys, value maps, literals,
//! filters and skip rules, fan-out, lookups, `requires` and its cycles, duplicate names.
//! Every problem is collected; nothing stops at the first one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::str::FromStr;

use super::diagnostic::{Diagnostic, SourceFile, did_you_mean};
use super::filter;
use super::model::{Direction, FanOutKind, Field, FieldType, Literal, Side, TableMap};
use super::parse::{Node, Seg};
use crate::tm_path;
use crate::value::{Value, ValueType};

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

/// Checks one map on its own.
pub fn check_map(m: &Located<'_>, out: &mut Vec<Diagnostic>) {
    let map = m.map;
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
    for side in [Side::Operational, Side::Accounting] {
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
            check_expression(m, side, filter, tm_path![side.name(), "filter"], out);
        }
    }
    for (i, field) in map.fields.iter().enumerate() {
        check_field(m, i, field, out);
    }
    check_written_columns(m, out);
    check_keys(m, out);
    check_skip_rules(m, out);
    check_fan_out(m, out);
}

fn check_expression(m: &Located<'_>, side: Side, text: &str, path: Vec<Seg>, out: &mut Vec<Diagnostic>) {
    match filter::parse(text) {
        Err(e) => {
            let span = m.inside_string(&path, e.offset, e.len);
            out.push(
                m.source
                    .error(span, format!("filter syntax: {}", e.message))
                    .with_hint_opt(e.hint.clone()),
            );
        }
        Ok(expr) => {
            let lookup = |c: &str| column_type(m.map, side, c);
            for e in filter::check_types(&expr, &lookup) {
                let span = m.inside_string(&path, e.offset, e.len);
                out.push(m.source.error(span, e.message.clone()).with_hint_opt(e.hint.clone()));
            }
        }
    }
}

fn check_field(m: &Located<'_>, i: usize, f: &Field, out: &mut Vec<Diagnostic>) {
    let here = |key: &str| tm_path!["fields", i, key];
    let entry = tm_path!["fields", i];
    match (&f.operational, &f.accounting, &f.constant) {
        (None, None, _) => out.push(
            m.at(entry.clone(), format!("field #{} names no column", i + 1))
                .with_hint("give `operational`, `accounting`, or one of them with a `constant`"),
        ),
        (Some(_), Some(_), Some(_)) => out.push(
            m.at_key(
                here("constant"),
                "a constant has no source, but this field names columns on both sides",
            )
            .with_hint("keep only the target column (the side the constant is written to)"),
        ),
        (Some(_), None, None) | (None, Some(_), None) => out.push(
            m.at(
                entry.clone(),
                format!("field #{} names a column on one side only and has no `constant`", i + 1),
            )
            .with_hint("map it to a column on the other side, or give a `constant` to write"),
        ),
        _ => {}
    }
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
    match f.field_type {
        FieldType::Decimal => match (f.precision, f.scale) {
            (Some(p), Some(s)) if (1..=28).contains(&p) && s <= p => {}
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
    if let Some(values) = &f.values {
        check_value_map(m, i, f, values, out);
    }
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
    for key in ["default", "constant"] {
        let literal = if key == "default" { &f.default } else { &f.constant };
        if let Some(lit) = literal
            && let Err(hint) = literal_value(f, lit)
        {
            let message = format!("`{key}` does not fit the field's type {:?}", type_name(f.field_type));
            out.push(m.at(here(key), message).with_hint(hint));
        }
    }
}

fn type_name(t: FieldType) -> String {
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

fn check_value_map(m: &Located<'_>, i: usize, f: &Field, values: &BTreeMap<String, String>, out: &mut Vec<Diagnostic>) {
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
        kind: super::parse::NodeKind::Table(entries),
        ..
    }) = m.tree.get(&path)
    else {
        return;
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

fn check_skip_rules(m: &Located<'_>, out: &mut Vec<Diagnostic>) {
    let mut names: HashMap<&str, usize> = HashMap::new();
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
        check_expression(m, rule.side, &rule.when, tm_path!["skip", i, "when"], out);
    }
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

/// Checks what only the whole set of maps can tell. `broken` holds the names of map files
/// that did not parse (as far as they can be told): naming one of them in `requires` or
/// `lookup` is not reported, since the file's own problem already is.
pub fn check_set(maps: &[Located<'_>], broken: &[String], out: &mut Vec<Diagnostic>) {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, m) in maps.iter().enumerate() {
        if let Some(&first) = by_name.get(m.map.name.as_str()) {
            let f = &maps[first];
            let (line, _) = f.source.line_col(f.tree.span_of(&[Seg::from("name")]).start);
            out.push(
                m.at(
                    tm_path!["name"],
                    format!(
                        "map name \"{}\" is already used by {}:{line}",
                        m.map.name,
                        f.source.path.display()
                    ),
                )
                .with_hint("map names are unique; rename one of the maps"),
            );
        } else {
            by_name.insert(m.map.name.as_str(), i);
        }
    }
    let names: Vec<&str> = by_name.keys().copied().collect();
    let unknown = |name: &str| match did_you_mean(name, names.iter().copied()) {
        Some(s) => format!("did you mean \"{s}\"?"),
        None => format!("known maps: {}", sorted(&names).join(", ")),
    };
    for m in maps {
        for (i, req) in m.map.requires.iter().enumerate() {
            if !by_name.contains_key(req.as_str()) && !broken.contains(req) {
                out.push(
                    m.at(
                        tm_path!["requires", i],
                        format!("`requires` names an unknown map \"{req}\""),
                    )
                    .with_hint(unknown(req)),
                );
            }
        }
        for (i, f) in m.map.fields.iter().enumerate() {
            let Some(target) = &f.lookup else { continue };
            let path = tm_path!["fields", i, "lookup"];
            let Some(&t) = by_name.get(target.as_str()) else {
                if broken.contains(target) {
                    continue;
                }
                out.push(
                    m.at(path, format!("lookup into an unknown map \"{target}\""))
                        .with_hint(unknown(target)),
                );
                continue;
            };
            check_lookup_target(m, f, &maps[t], path, out);
        }
    }
    check_cycles(maps, &by_name, out);
}

/// The one key column a lookup into `target` writes on `side`, if the key has exactly one
/// column besides the company.
pub fn lookup_key_column(target: &TableMap, side: Side) -> Result<&str, Vec<&str>> {
    let entity = side_entity(target, side);
    let cols: Vec<&str> = entity
        .key
        .iter()
        .map(String::as_str)
        .filter(|c| Some(*c) != entity.company.as_deref())
        .collect();
    if cols.len() == 1 { Ok(cols[0]) } else { Err(cols) }
}

fn check_lookup_target(m: &Located<'_>, f: &Field, target: &Located<'_>, path: Vec<Seg>, out: &mut Vec<Diagnostic>) {
    let dir = f.direction_or(m.map.direction);
    for side in [Side::Operational, Side::Accounting] {
        if f.column(side).is_none() || !dir.flows_from(side.other()) {
            continue;
        }
        if let Err(cols) = lookup_key_column(target.map, side) {
            out.push(
                m.at(
                    path.clone(),
                    format!(
                        "lookup into \"{}\" is ambiguous: its {} key has columns {} besides the company",
                        target.map.name,
                        side.name(),
                        cols.join(", ")
                    ),
                )
                .with_hint("a lookup writes one key column; map this column as a plain value instead"),
            );
        }
    }
}

fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut v = names.to_vec();
    v.sort();
    v
}

/// Maps this one depends on: `requires` plus the maps its lookups point into (not itself).
pub fn dependencies(map: &TableMap) -> Vec<&str> {
    let mut deps: Vec<&str> = map.requires.iter().map(String::as_str).collect();
    for f in &map.fields {
        if let Some(t) = f.lookup.as_deref()
            && t != map.name
            && !deps.contains(&t)
        {
            deps.push(t);
        }
    }
    deps
}

/// Where `map` names its dependency `dep`: the `requires` entry, else the first lookup of it.
fn dependency_path(map: &TableMap, dep: &str) -> Vec<Seg> {
    match map.requires.iter().position(|r| r == dep) {
        Some(k) => tm_path!["requires", k],
        None => {
            let k = map
                .fields
                .iter()
                .position(|f| f.lookup.as_deref() == Some(dep))
                .unwrap_or(0);
            tm_path!["fields", k, "lookup"]
        }
    }
}

fn check_cycles(maps: &[Located<'_>], by_name: &HashMap<&str, usize>, out: &mut Vec<Diagnostic>) {
    // Depth-first search; each cycle is reported once, at the map where it is found closing.
    let mut state = vec![0u8; maps.len()]; // 0 new, 1 on the stack, 2 done
    let mut stack: Vec<usize> = Vec::new();
    fn visit(
        i: usize,
        maps: &[Located<'_>],
        by_name: &HashMap<&str, usize>,
        state: &mut [u8],
        stack: &mut Vec<usize>,
        out: &mut Vec<Diagnostic>,
    ) {
        state[i] = 1;
        stack.push(i);
        for dep in dependencies(maps[i].map) {
            let Some(&j) = by_name.get(dep) else { continue };
            if state[j] == 1 {
                let from = stack.iter().position(|&s| s == j).unwrap_or(0);
                let mut chain: Vec<&str> = stack[from..].iter().map(|&s| maps[s].map.name.as_str()).collect();
                chain.push(maps[j].map.name.as_str());
                let m = &maps[i];
                let mut d = m
                    .at(
                        dependency_path(m.map, dep),
                        format!("maps depend on each other in a cycle: {}", chain.join(" -> ")),
                    )
                    .with_hint("one of these maps must not require (or look up) the other; break the cycle");
                // Every edge, where it is written, so each can be found and one removed.
                for &s in &stack[from..] {
                    let at = &maps[s];
                    let next = stack
                        .iter()
                        .skip_while(|&&x| x != s)
                        .nth(1)
                        .map_or(maps[j].map.name.as_str(), |&x| maps[x].map.name.as_str());
                    let path = dependency_path(at.map, next);
                    let (line, col) = at.source.line_col(at.tree.span_of(&path).start);
                    let how = match path.first() {
                        Some(Seg::Key(k)) if k == "requires" => "requires",
                        _ => "looks up",
                    };
                    d = d.with_note(format!(
                        "{}:{line}:{col}: \"{}\" {how} \"{next}\"",
                        at.source.path.display(),
                        at.map.name
                    ));
                }
                out.push(d);
            } else if state[j] == 0 {
                visit(j, maps, by_name, state, stack, out);
            }
        }
        stack.pop();
        state[i] = 2;
    }
    for i in 0..maps.len() {
        if state[i] == 0 && by_name.get(maps[i].map.name.as_str()) == Some(&i) {
            visit(i, maps, by_name, &mut state, &mut stack, out);
        }
    }
}
