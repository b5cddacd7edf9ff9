//! The checks only the whole set of maps can tell: duplicate names, `requires` and `lookup`
//! naming maps that exist (a map whose file did not parse is not reported again), lookups that
//! write exactly one key column, and dependency cycles with every edge named.

use std::collections::HashMap;

use super::super::diagnostic::{Diagnostic, did_you_mean};
use super::super::model::{Field, Side, TableMap};
use super::super::parse::Seg;
use super::{Located, side_entity};
use crate::tm_path;

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
