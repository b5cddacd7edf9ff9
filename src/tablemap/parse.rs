//! Reading one map file: TOML with source positions, a structural check against the format's
//! JSON Schema (unknown keys, missing keys, wrong value types, all reported at once), then
//! deserialization into the `TableMap` model.

use std::ops::Range;

use serde_json::Value as Json;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, SourceFile, did_you_mean};
use super::lookalike;
use super::model::TableMap;

use super::parse_syntax as syntax;

/// One step of a path into a map file: a key of a table or an index into an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Builds a path from string keys and indexes: `path!["fields", 3, "type"]`.
#[macro_export]
macro_rules! tm_path {
    ($($seg:expr),* $(,)?) => { vec![$($crate::tablemap::parse::Seg::from($seg)),*] };
}

impl From<&str> for Seg {
    fn from(key: &str) -> Self {
        Seg::Key(key.to_string())
    }
}

impl From<usize> for Seg {
    fn from(index: usize) -> Self {
        Seg::Index(index)
    }
}

/// A TOML value with the byte range it was written at; table keys keep their own range.
#[derive(Debug, Clone)]
pub struct Node {
    pub span: Range<usize>,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    String(String),
    Integer(String),
    Float(String),
    Boolean(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(Vec<(String, Range<usize>, Node)>),
}

impl NodeKind {
    fn type_name(&self) -> &'static str {
        match self {
            NodeKind::String(_) => "a string",
            NodeKind::Integer(_) => "an integer",
            NodeKind::Float(_) => "a float",
            NodeKind::Boolean(_) => "a boolean",
            NodeKind::Datetime(_) => "a TOML datetime",
            NodeKind::Array(_) => "an array",
            NodeKind::Table(_) => "a table",
        }
    }
}

impl Node {
    fn from_de(value: &DeValue<'_>, span: Range<usize>) -> Node {
        let kind = match value {
            DeValue::String(s) => NodeKind::String(s.to_string()),
            DeValue::Integer(i) => NodeKind::Integer(i.to_string()),
            DeValue::Float(f) => NodeKind::Float(f.to_string()),
            DeValue::Boolean(b) => NodeKind::Boolean(*b),
            DeValue::Datetime(d) => NodeKind::Datetime(d.to_string()),
            DeValue::Array(items) => {
                NodeKind::Array(items.iter().map(|v| Node::from_de(v.get_ref(), v.span())).collect())
            }
            DeValue::Table(table) => NodeKind::Table(table_entries(table)),
        };
        Node { span, kind }
    }

    /// The node at `path`, if present.
    pub fn get(&self, path: &[Seg]) -> Option<&Node> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        match (first, &self.kind) {
            (Seg::Key(k), NodeKind::Table(entries)) => entries
                .iter()
                .find(|(name, _, _)| name == k)
                .and_then(|(_, _, n)| n.get(rest)),
            (Seg::Index(i), NodeKind::Array(items)) => items.get(*i).and_then(|n| n.get(rest)),
            _ => None,
        }
    }

    /// The span of the key at the end of `path` (its value's span for an array index).
    pub fn key_span(&self, path: &[Seg]) -> Option<Range<usize>> {
        let (last, parent) = path.split_last()?;
        match (last, &self.get(parent)?.kind) {
            (Seg::Key(k), NodeKind::Table(entries)) => entries
                .iter()
                .find(|(name, _, _)| name == k)
                .map(|(_, span, _)| span.clone()),
            _ => self.get(path).map(|n| n.span.clone()),
        }
    }

    /// The best span for a problem at `path`: the value if present, else the nearest
    /// enclosing node that exists.
    pub fn span_of(&self, path: &[Seg]) -> Range<usize> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.get(&path[..n]).map(|node| node.span.clone()))
            .unwrap_or(0..0)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::String(s) => Some(s),
            _ => None,
        }
    }
}

fn table_entries(table: &DeTable<'_>) -> Vec<(String, Range<usize>, Node)> {
    table
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), k.span(), Node::from_de(v.get_ref(), v.span())))
        .collect()
}

/// A map file read as far as its structure allows.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub source: SourceFile,
    /// The spanned tree, when the file is valid TOML.
    pub tree: Option<Node>,
    /// The model, when the structure is valid.
    pub map: Option<TableMap>,
}

impl ParsedFile {
    /// The names this file may give its map, for a file that did not parse: its `name` value,
    /// a `name = "..."` line read leniently (look-alike characters taken for what they imitate),
    /// and the file name without `.toml`.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(name) = self.tree.as_ref().and_then(|t| t.get(&[Seg::from("name")])?.as_str()) {
            names.push(name.to_string());
        }
        for line in self.source.text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                break;
            }
            if let Some((key, value)) = line.split_once('=')
                && lookalike::to_ascii(key.trim().trim_matches('"')) == "name"
            {
                names.push(value.trim().trim_matches(['"', '\'']).to_string());
            }
        }
        names.extend(self.source.path.file_stem().map(|s| s.to_string_lossy().to_string()));
        names
    }
}

/// Parses one map file; every TOML syntax and structural problem goes to `out`.
pub fn parse_file(source: SourceFile, schema: &Json, out: &mut Vec<Diagnostic>) -> ParsedFile {
    let (doc, errors) = DeTable::parse_recoverable(&source.text);
    if !errors.is_empty() {
        let errors: Vec<(Range<usize>, String)> = errors
            .iter()
            .map(|e| (e.span().unwrap_or(0..0), e.message().to_string()))
            .collect();
        out.extend(syntax::problems(&source, &errors));
        return ParsedFile {
            source,
            tree: None,
            map: None,
        };
    }
    let tree = Node {
        span: 0..0,
        kind: NodeKind::Table(table_entries(doc.get_ref())),
    };
    let before = out.len();
    check_node(&tree, schema, schema, &mut Vec::new(), &source, out);
    // Unknown keys do not stop deserialization (the schema check above reported them), so
    // a misspelt key does not hide the file's other problems.
    let map = match toml::from_str::<TableMap>(&source.text) {
        Ok(map) => Some(map),
        Err(e) => {
            if out.len() == before {
                out.push(source.error(e.span().unwrap_or(0..0), e.message().to_string()));
            }
            None
        }
    };
    ParsedFile {
        source,
        tree: Some(tree),
        map,
    }
}

/// Follows `$ref` into the root schema's `$defs`.
fn resolve<'a>(schema: &'a Json, root: &'a Json) -> &'a Json {
    match schema.get("$ref").and_then(Json::as_str) {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs")?.get(name))
            .unwrap_or(schema),
        None => schema,
    }
}

/// The string constants a schema allows, if it is an enumeration of strings.
fn string_choices(schema: &Json) -> Option<Vec<&str>> {
    if let Some(values) = schema.get("enum").and_then(Json::as_array) {
        return values.iter().map(Json::as_str).collect();
    }
    let branches = schema.get("oneOf").or_else(|| schema.get("anyOf"))?.as_array()?;
    let mut choices = Vec::new();
    for b in branches {
        if let Some(c) = b.get("const").and_then(Json::as_str) {
            choices.push(c);
        } else {
            for v in b.get("enum")?.as_array()? {
                choices.push(v.as_str()?);
            }
        }
    }
    Some(choices)
}

/// A readable name for the key `path` points at, for messages: "`type` in fields #3".
fn key_name(path: &[Seg]) -> String {
    match path.split_last() {
        Some((Seg::Key(k), parent)) if !parent.is_empty() => {
            format!("`{k}` in {}", describe(parent))
        }
        Some((Seg::Key(k), _)) => format!("`{k}`"),
        _ => describe(path),
    }
}

/// A readable name for the place `path` points at, for messages: `fields #3`, `operational`.
pub fn describe(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!(" #{}", i + 1)),
        }
    }
    if out.is_empty() {
        "the top level".to_string()
    } else {
        out
    }
}

fn type_matches(kind: &NodeKind, json_type: &str) -> bool {
    matches!(
        (kind, json_type),
        (NodeKind::String(_), "string")
            | (NodeKind::Integer(_), "integer" | "number")
            | (NodeKind::Float(_), "number")
            | (NodeKind::Boolean(_), "boolean")
            | (NodeKind::Array(_), "array")
            | (NodeKind::Table(_), "object")
    )
}

fn check_node(
    node: &Node,
    schema: &Json,
    root: &Json,
    path: &mut Vec<Seg>,
    src: &SourceFile,
    out: &mut Vec<Diagnostic>,
) {
    let schema = resolve(schema, root);
    let here = || key_name(path);

    if let Some(choices) = string_choices(schema) {
        match &node.kind {
            NodeKind::String(s) if choices.contains(&s.as_str()) => {}
            NodeKind::String(s) => {
                let listed = choices.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>();
                let hint = match syntax::direction_hint(s, &choices) {
                    Some(hint) => hint,
                    None => match did_you_mean(s, choices.iter().copied()) {
                        Some(c) => format!("did you mean \"{c}\"?"),
                        None => format!("use one of {}", listed.join(", ")),
                    },
                };
                out.push(
                    src.error(node.span.clone(), format!("{} cannot be \"{s}\"", here()))
                        .with_hint(hint),
                );
            }
            other => out.push(
                src.error(
                    node.span.clone(),
                    format!("{} must be a string, found {}", here(), other.type_name()),
                )
                .with_hint(format!("use one of {}", choices.join(", "))),
            ),
        }
        return;
    }

    // Options and untagged unions: accept the first branch whose type matches.
    if let Some(branches) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
        // A missing optional key never reaches here, so `null` branches are dropped.
        let branches: Vec<&Json> = branches
            .as_array()
            .map(|b| b.iter().map(|s| resolve(s, root)).collect())
            .unwrap_or_default();
        let branches: Vec<&Json> = branches.into_iter().filter(|b| json_types(b) != ["null"]).collect();
        if let [only] = branches[..] {
            return check_node(node, only, root, path, src, out);
        }
        let matching = branches
            .iter()
            .find(|b| json_types(b).iter().any(|t| type_matches(&node.kind, t)));
        match matching {
            Some(branch) => check_node(node, branch, root, path, src, out),
            None => {
                let wanted: Vec<&str> = branches
                    .iter()
                    .flat_map(|b| json_types(b))
                    .filter(|t| *t != "null")
                    .collect();
                out.push(wrong_type(src, node, &here(), &wanted));
            }
        }
        return;
    }

    let types = json_types(schema);
    if !types.is_empty() && !types.iter().any(|t| type_matches(&node.kind, t)) {
        let wanted: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
        out.push(wrong_type(src, node, &here(), &wanted));
        return;
    }

    match &node.kind {
        NodeKind::Integer(text) if schema.get("minimum").is_some() && text.starts_with('-') => {
            out.push(
                src.error(node.span.clone(), format!("{} cannot be negative", here()))
                    .with_hint("use a whole number of 0 or more"),
            );
        }
        NodeKind::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    check_node(item, item_schema, root, path, src, out);
                    path.pop();
                }
            }
        }
        NodeKind::Table(entries) => check_table(node, entries, schema, root, path, src, out),
        _ => {}
    }
}

fn check_table(
    node: &Node,
    entries: &[(String, Range<usize>, Node)],
    schema: &Json,
    root: &Json,
    path: &mut Vec<Seg>,
    src: &SourceFile,
    out: &mut Vec<Diagnostic>,
) {
    let empty = serde_json::Map::new();
    let properties = schema.get("properties").and_then(Json::as_object).unwrap_or(&empty);
    let additional = schema.get("additionalProperties");
    // Required keys an unknown key stands for (a typo of it): reported once, as the typo.
    let mut meant: Vec<&str> = Vec::new();
    for (key, key_span, value) in entries {
        let value_schema = match properties.get(key) {
            Some(s) => s,
            None => match additional {
                Some(s) if s.is_object() => s,
                _ => {
                    let (d, stands_for) = unknown_key(key, key_span, properties, root, path, src);
                    meant.extend(stands_for);
                    out.push(d);
                    continue;
                }
            },
        };
        path.push(Seg::Key(key.clone()));
        check_node(value, value_schema, root, path, src, out);
        path.pop();
    }
    for required in schema.get("required").and_then(Json::as_array).into_iter().flatten() {
        let Some(required) = required.as_str() else {
            continue;
        };
        if !entries.iter().any(|(k, _, _)| k == required) && !meant.contains(&required) {
            let place = if path.is_empty() {
                "the map".to_string()
            } else {
                describe(path)
            };
            out.push(
                src.error(
                    node.span.clone(),
                    format!("missing required key `{required}` in {place}"),
                )
                .with_hint(required_hint(required)),
            );
        }
    }
}

/// The problem of a key the schema does not know at `path`, and the known key it stands for
/// when it is a typo or a look-alike of one.
fn unknown_key<'s>(
    key: &str,
    key_span: &Range<usize>,
    properties: &'s serde_json::Map<String, Json>,
    root: &Json,
    path: &[Seg],
    src: &SourceFile,
) -> (Diagnostic, Option<&'s str>) {
    let known = || properties.keys().map(String::as_str);
    let place = describe(path);
    if let Some(what) = lookalike::describe(key) {
        let ascii = lookalike::to_ascii(key);
        let stands_for = known().find(|k| *k == ascii);
        let hint = match stands_for {
            Some(k) => format!("retype the key in plain ASCII: `{k}`"),
            None => "retype the key in plain ASCII letters, digits, `_` and `-`".to_string(),
        };
        let d = src.error(key_span.clone(), format!("unknown key `{key}` in {place}: {what}"));
        return (d.with_hint(hint), stands_for);
    }
    let d = src.error(key_span.clone(), format!("unknown key `{key}` in {place}"));
    let top_level = root.get("properties").and_then(Json::as_object);
    if !path.is_empty() && top_level.is_some_and(|t| t.contains_key(key)) {
        let header = syntax::table_header_before(src, key_span.start);
        let hint = match header {
            Some((line, text)) => format!(
                "`{key}` is a top-level key, but TOML puts every key after the `{text}` line (line {line}) \
                 into that table; move `{key}` above the first `[...]` line of the file"
            ),
            None => format!("`{key}` is a top-level key; move it above the first `[...]` line of the file"),
        };
        return (d.with_hint(hint), None);
    }
    match did_you_mean(key, known()) {
        Some(k) => (d.with_hint(format!("did you mean `{k}`?")), Some(k)),
        None => {
            let listed = known().collect::<Vec<_>>().join(", ");
            (d.with_hint(format!("known keys here: {listed}")), None)
        }
    }
}

fn required_hint(key: &str) -> String {
    match key {
        "name" => "add `name = \"my-map\"` at the top; names are unique across all maps".into(),
        "operational" | "accounting" => format!("add a `[{key}]` table with `entity` and `key`"),
        "entity" => "name the table, for example `entity = \"msdyn_actuals\"`".into(),
        "key" => "list the key column(s), for example `key = [\"msdyn_actualid\"]`".into(),
        "fields" => "add at least one `[[fields]]` entry".into(),
        "type" => "declare the field's type, for example `type = \"text\"`".into(),
        other => format!("add `{other} = ...`; see docs/table-maps.md"),
    }
}

fn json_types(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

fn wrong_type(src: &SourceFile, node: &Node, place: &str, wanted: &[&str]) -> Diagnostic {
    let wanted = wanted
        .iter()
        .map(|t| match *t {
            "object" => "a table",
            "array" => "an array",
            "string" => "a string",
            "integer" => "an integer",
            "boolean" => "a boolean",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let hint = match &node.kind {
        NodeKind::Datetime(_) | NodeKind::Float(_) => {
            "write dates, datetimes and decimals as quoted strings, e.g. \"2024-01-31\" or \"12.50\""
        }
        NodeKind::String(_) if wanted.contains("array") => "use a list, e.g. [\"msdyn_actualid\"]",
        _ => "see docs/table-maps.md for the shape of this key",
    };
    src.error(
        node.span.clone(),
        format!("{place} must be {wanted}, found {}", node.kind.type_name()),
    )
    .with_hint(hint)
}
