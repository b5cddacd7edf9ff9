//! Compiled maps: a checked map (`tablemap::ValidMap`, where validation already parsed the
//! filters and skip rules, resolved directions, indexed value maps and read literals) turned
//! into the plain structures the engine runs, plus the columns the engine reads and writes on
//! each side, a checksum that tells an edit that changes what is synced, and the dependency
//! order of a set of maps. Compiling cannot fail. Pure code, no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::tablemap::ValidMap;
use crate::tablemap::filter::Expr;
use crate::tablemap::model::{ConflictPolicy, Direction, Entity, FanOut, FanOutKind, FieldType, Side, TableMap};
use crate::value::Value;

/// A map the engine can run.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledMap {
    pub name: String,
    pub title: Option<String>,
    /// Maps that must be synced first: `requires` plus the maps looked up (not this map itself).
    pub requires: Vec<String>,
    /// The side(s) on which records are created.
    pub records: Direction,
    /// Whether deletes are propagated (in the `records` direction).
    pub deletes: bool,
    pub conflict: ConflictPolicy,
    pub initial_sync_master: Side,
    pub operational: CompiledSide,
    pub accounting: CompiledSide,
    pub fields: Vec<CompiledField>,
    pub skip: Vec<CompiledSkip>,
    pub fan_out: Option<FanOut>,
    /// A stable hash of what the map syncs (`v2:` and 16 hex digits; see [`checksum`]), so the
    /// engine can tell a map edited in a way that changes records from the one it last ran.
    pub checksum: String,
    /// The checksum as releases before `v2` wrote it (the whole map, cosmetic keys included),
    /// to recognize an unedited map whose state still holds that format.
    pub legacy_checksum: String,
    /// `target_columns` of each side, computed once by `compile`: the transform names every
    /// value of every record it produces with one of these (a shared name, not a copy per
    /// record). A map whose fields are edited must be compiled again.
    pub written: Written,
}

/// The columns the engine writes on each side (`CompiledMap::target_columns`), as shared names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Written {
    pub operational: Vec<std::sync::Arc<str>>,
    pub accounting: Vec<std::sync::Arc<str>>,
}

/// One side of a compiled map.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledSide {
    pub entity: String,
    pub key: Vec<String>,
    pub company: Option<String>,
    pub filter: Option<Expr>,
}

/// One field mapping, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledField {
    pub operational: Option<String>,
    pub accounting: Option<String>,
    pub field_type: FieldType,
    /// The field's direction, resolved with the map default. For a constant: the side it writes.
    pub direction: Direction,
    /// Precision and scale of a decimal field.
    pub decimal: Option<(u32, u32)>,
    /// Option-set value map, operational code to accounting text.
    pub to_accounting: Option<HashMap<i64, String>>,
    /// The same value map backwards, accounting text to operational code.
    pub to_operational: Option<HashMap<String, i64>>,
    /// Written when the source value is null (as the map literal means it for this field).
    pub default: Option<Value>,
    /// Always written to the one column the field names.
    pub constant: Option<Value>,
    /// The map whose key links translate this column (a lookup).
    pub lookup: Option<String>,
}

/// A skip-sync rule, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledSkip {
    pub name: String,
    /// The side whose records the rule reads (and skips).
    pub side: Side,
    pub when: Expr,
}

impl CompiledField {
    /// The column on `side`, if any.
    pub fn column(&self, side: Side) -> Option<&str> {
        match side {
            Side::Operational => self.operational.as_deref(),
            Side::Accounting => self.accounting.as_deref(),
        }
    }

    /// Whether this field writes a value into `target` when records flow there: a constant
    /// writes to the side it names; any other field when its direction flows into `target`.
    pub fn writes(&self, target: Side) -> bool {
        if self.constant.is_some() {
            return self.column(target).is_some();
        }
        self.column(target).is_some()
            && self.column(target.other()).is_some()
            && self.direction.flows_from(target.other())
    }

    /// Whether this field is an option set with a value map (codes become text on the accounting side).
    pub fn has_value_map(&self) -> bool {
        self.to_accounting.is_some()
    }

    /// A text naming the field for messages, e.g. `msdyn_amount -> Amount`.
    pub fn describe(&self) -> String {
        let symbol = if self.constant.is_some() {
            "constant"
        } else {
            self.direction.symbol()
        };
        format!(
            "{} {symbol} {}",
            self.operational.as_deref().unwrap_or("(none)"),
            self.accounting.as_deref().unwrap_or("(none)")
        )
    }
}

impl CompiledMap {
    /// The entity, key, company and filter of one side.
    pub fn side(&self, side: Side) -> &CompiledSide {
        match side {
            Side::Operational => &self.operational,
            Side::Accounting => &self.accounting,
        }
    }

    /// The accounting column a fan-out per value fills, if the map has one.
    pub fn fan_out_column(&self) -> Option<&str> {
        match &self.fan_out {
            Some(FanOut {
                per: FanOutKind::Value,
                column,
                ..
            }) => column.as_deref(),
            _ => None,
        }
    }

    /// Whether the map fans one operational record out to one accounting record per company in scope.
    pub fn fans_out_per_company(&self) -> bool {
        matches!(&self.fan_out, Some(f) if f.per == FanOutKind::Company)
    }

    /// Every column the engine must read on `side` to run the map: the key columns first, then
    /// the company column, the fields' columns on that side (constants have no source and are
    /// left out), then the columns the side's filter and skip rules read. No repeats.
    pub fn columns(&self, side: Side) -> Vec<String> {
        let s = self.side(side);
        let mut out = Columns::default();
        out.extend(s.key.iter().map(String::as_str));
        out.extend(s.company.as_deref());
        out.extend(
            self.fields
                .iter()
                .filter(|f| f.constant.is_none())
                .filter_map(|f| f.column(side)),
        );
        if let Some(expr) = &s.filter {
            out.extend(expr.columns().into_iter().map(|c| c.name.as_str()));
        }
        for rule in self.skip.iter().filter(|r| r.side == side) {
            out.extend(rule.when.columns().into_iter().map(|c| c.name.as_str()));
        }
        out.0
    }

    /// Every column the engine writes on `side`: the key columns first, then the company
    /// column, the fan-out column (accounting side), then the columns of the fields that write
    /// to `side`. No repeats. Records produced by the transform list their values in this order.
    pub fn target_columns(&self, side: Side) -> Vec<String> {
        let s = self.side(side);
        let mut out = Columns::default();
        out.extend(s.key.iter().map(String::as_str));
        out.extend(s.company.as_deref());
        if side == Side::Accounting {
            out.extend(self.fan_out_column());
        }
        out.extend(
            self.fields
                .iter()
                .filter(|f| f.writes(side))
                .filter_map(|f| f.column(side)),
        );
        out.0
    }

    /// `target_columns(side)`, computed once when the map was compiled.
    pub fn written(&self, side: Side) -> &[std::sync::Arc<str>] {
        match side {
            Side::Operational => &self.written.operational,
            Side::Accounting => &self.written.accounting,
        }
    }

    /// The field that maps key column `column` of `side` (not the company or fan-out column).
    pub fn key_field(&self, side: Side, column: &str) -> Option<&CompiledField> {
        self.fields.iter().find(|f| f.column(side) == Some(column))
    }
}

/// An ordered list of column names without repeats.
#[derive(Default)]
struct Columns(Vec<String>);

impl<'a> Extend<&'a str> for Columns {
    fn extend<I: IntoIterator<Item = &'a str>>(&mut self, iter: I) {
        for c in iter {
            if !self.0.iter().any(|have| have == c) {
                self.0.push(c.to_string());
            }
        }
    }
}

/// Compiles one checked map. Validation resolved everything already (filters parsed, value
/// maps indexed, literals read, directions resolved), so this is a plain conversion that
/// cannot fail.
pub fn compile(valid: &ValidMap) -> CompiledMap {
    let map = valid.map();
    let side = |s: Side, entity: &Entity| CompiledSide {
        entity: entity.entity.clone(),
        key: entity.key.clone(),
        company: entity.company.clone(),
        filter: valid.filter(s).cloned(),
    };
    let fields = valid
        .fields()
        .map(|(f, v)| CompiledField {
            operational: f.operational.clone(),
            accounting: f.accounting.clone(),
            field_type: f.field_type,
            direction: v.direction,
            decimal: v.decimal,
            to_accounting: v.to_accounting.clone(),
            to_operational: v.to_operational.clone(),
            default: v.default.clone(),
            constant: v.constant.clone(),
            lookup: f.lookup.clone(),
        })
        .collect();
    let skip = valid
        .skip_rules()
        .map(|(rule, when)| CompiledSkip {
            name: rule.name.clone(),
            side: rule.side,
            when: when.clone(),
        })
        .collect();
    let mut compiled = CompiledMap {
        name: map.name.clone(),
        title: map.title.clone(),
        requires: valid.dependencies().to_vec(),
        records: map.records,
        deletes: map.deletes,
        conflict: map.conflict,
        initial_sync_master: map.initial_sync_master,
        operational: side(Side::Operational, &map.operational),
        accounting: side(Side::Accounting, &map.accounting),
        fields,
        skip,
        fan_out: map.fan_out.clone(),
        checksum: checksum(map),
        legacy_checksum: legacy_checksum(map),
        written: Written::default(),
    };
    compiled.written = Written {
        operational: names(compiled.target_columns(Side::Operational)),
        accounting: names(compiled.target_columns(Side::Accounting)),
    };
    compiled
}

fn names(columns: Vec<String>) -> Vec<std::sync::Arc<str>> {
    columns.into_iter().map(std::sync::Arc::from).collect()
}

/// FNV-1a, 64 bits: small, stable across platforms and releases, good enough to tell contents apart.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The prefix of the checksum format written today. A stored checksum without it is in the
/// format releases before it wrote ([`legacy_checksum`]).
pub const CHECKSUM_PREFIX: &str = "v2:";

/// The checksum of what a map syncs: `v2:` and FNV-1a 64 of the JSON serialization of the map
/// with its cosmetic keys left out (struct fields in declaration order, value maps sorted), as
/// 16 hex digits. Cosmetic are only the keys documented as having no effect on records: the
/// map's `title`, `description` and `version`, and the `description` of fields and skip rules.
/// Comments and layout of the file do not count either. Everything else counts, field order
/// included (it orders the values of the records written).
pub fn checksum(map: &TableMap) -> String {
    let mut synced = map.clone();
    synced.title = None;
    synced.description = None;
    synced.version = None;
    for f in &mut synced.fields {
        f.description = None;
    }
    for rule in &mut synced.skip {
        rule.description = None;
    }
    format!("{CHECKSUM_PREFIX}{:016x}", fnv1a64(json(&synced).as_bytes()))
}

/// The checksum releases before `v2` stored: FNV-1a 64 of the whole map's JSON, 16 hex digits.
pub fn legacy_checksum(map: &TableMap) -> String {
    format!("{:016x}", fnv1a64(json(map).as_bytes()))
}

fn json(map: &TableMap) -> String {
    // A map is strings, numbers, booleans, lists and string-keyed tables: always JSON.
    serde_json::to_string(map).expect("a table map always serializes to JSON")
}

impl CompiledMap {
    /// Whether `stored`, the checksum kept for the map last run, stands for this same definition:
    /// equal to [`checksum`], or in the pre-`v2` format and equal to [`legacy_checksum`] (then
    /// the map has not been edited at all since).
    pub fn same_definition_as(&self, stored: &str) -> bool {
        if stored.starts_with(CHECKSUM_PREFIX) {
            stored == self.checksum
        } else {
            stored == self.legacy_checksum
        }
    }
}

/// The names of `maps` in dependency order: every map after the maps it requires or looks up.
/// Maps are taken in rounds (first those without dependencies, then those whose dependencies
/// are all in earlier rounds, ...), each round by name. An error names a dependency cycle, an unknown dependency or a name
/// used twice.
pub fn order(maps: &[CompiledMap]) -> Result<Vec<String>, String> {
    let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for m in maps {
        if deps.contains_key(m.name.as_str()) {
            return Err(format!("map name \"{}\" is used twice", m.name));
        }
        deps.insert(m.name.as_str(), BTreeSet::new());
    }
    for m in maps {
        for r in m.requires.iter().filter(|r| **r != m.name) {
            if !deps.contains_key(r.as_str()) {
                return Err(format!(
                    "map \"{}\" requires \"{r}\", which is not among the maps",
                    m.name
                ));
            }
            if let Some(d) = deps.get_mut(m.name.as_str()) {
                d.insert(r.as_str());
            }
        }
    }
    let mut done: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(maps.len());
    while out.len() < deps.len() {
        // One round: every map whose dependencies are all done, by name.
        let ready: Vec<&str> = deps
            .iter()
            .filter(|(name, ds)| !done.contains(*name) && ds.iter().all(|d| done.contains(d)))
            .map(|(name, _)| *name)
            .collect();
        if ready.is_empty() {
            let left: BTreeMap<&str, &BTreeSet<&str>> = deps
                .iter()
                .filter(|(n, _)| !done.contains(*n))
                .map(|(n, d)| (*n, d))
                .collect();
            return Err(format!(
                "maps depend on each other in a cycle: {}",
                find_cycle(&left).join(" -> ")
            ));
        }
        for name in ready {
            done.insert(name);
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// The shortest dependency cycle among the maps left over (each has an unfinished
/// dependency, so there is one), starting at the first map by name that lies on it.
fn find_cycle<'a>(left: &BTreeMap<&'a str, &BTreeSet<&'a str>>) -> Vec<&'a str> {
    let mut best: Vec<&str> = Vec::new();
    for &start in left.keys() {
        // Breadth-first from `start` back to `start`, remembering where each map was reached from.
        let mut from: HashMap<&str, &str> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closed = false;
        while let Some(at) = queue.pop_front() {
            for &d in left.get(at).into_iter().flat_map(|ds| ds.iter()) {
                if d == start {
                    from.insert(start, at);
                    closed = true;
                    break;
                }
                if left.contains_key(d) && !from.contains_key(d) {
                    from.insert(d, at);
                    queue.push_back(d);
                }
            }
            if closed {
                break;
            }
        }
        if !closed {
            continue;
        }
        // Walk back from `start` to itself, then turn it into dependent -> dependency order.
        let mut cycle = vec![start];
        let mut at = from.get(start).copied().unwrap_or(start);
        while at != start && cycle.len() <= left.len() {
            cycle.push(at);
            at = from.get(at).copied().unwrap_or(start);
        }
        cycle.push(start);
        cycle.reverse();
        if best.is_empty() || cycle.len() < best.len() {
            best = cycle;
        }
    }
    best
}

#[cfg(test)]
#[path = "transform/compile_tests.rs"]
pub(crate) mod tests;
