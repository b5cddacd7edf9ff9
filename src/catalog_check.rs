//! Checking table maps against the stores they run on: every entity and column a map names
//! (keys, company, fan-out column, fields, filter and skip-rule columns) must exist in that
//! side's catalog, with a type that fits the field's declared type. Problems are reported at
//! the place in the map file that names the column, like every other validation problem.

use std::collections::HashMap;

use crate::store::{EntityDesc, ErrorKind, Store, StoreError};
use crate::tablemap::diagnostic::{Diagnostic, did_you_mean};
use crate::tablemap::model::{FieldType, Side};
use crate::tablemap::parse::Seg;
use crate::tablemap::validate::{Located, column_type};
use crate::tablemap::{Loaded, filter};
use crate::tm_path;

/// Checks every parsed map against the stores given for its sides. Store failures other than
/// a missing entity (a store that is down) are returned as errors, not as map problems.
pub async fn check(loaded: &Loaded, stores: &[(Side, &dyn Store)]) -> Result<Vec<Diagnostic>, StoreError> {
    let mut out = Vec::new();
    let mut cache: HashMap<(Side, String), Option<EntityDesc>> = HashMap::new();
    for file in &loaded.files {
        let (Some(map), Some(tree)) = (&file.map, &file.tree) else {
            continue;
        };
        let m = Located {
            map,
            source: &file.source,
            tree,
        };
        for (side, store) in stores {
            let entity = match side {
                Side::Operational => &map.operational.entity,
                Side::Accounting => &map.accounting.entity,
            };
            let key = (*side, entity.clone());
            if !cache.contains_key(&key) {
                let desc = match store.describe(entity).await {
                    Ok(d) => Some(d),
                    Err(e) if e.kind == ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                };
                cache.insert(key.clone(), desc);
            }
            match &cache[&key] {
                Some(desc) => check_side(&m, *side, desc, &mut out),
                None => {
                    let known = store.entities().await?;
                    let mut d = m.at(
                        tm_path![side.name(), "entity"],
                        format!("the {} store ({}) has no entity `{entity}`", side.name(), store.name()),
                    );
                    d = match did_you_mean(entity, known.iter().map(String::as_str)) {
                        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                        None => {
                            d.with_hint("check the entity name, or initialize the store with `dualsync store init`")
                        }
                    };
                    out.push(d);
                }
            }
        }
    }
    Ok(out)
}

fn check_side(m: &Located<'_>, side: Side, desc: &EntityDesc, out: &mut Vec<Diagnostic>) {
    let map = m.map;
    let entity = match side {
        Side::Operational => &map.operational,
        Side::Accounting => &map.accounting,
    };
    let missing = |m: &Located<'_>, column: &str, path: Vec<Seg>| {
        let known = desc.columns.iter().map(|c| c.name.as_str());
        let d = m.at(
            path,
            format!("`{}` has no column `{column}` in the {} store", desc.name, side.name()),
        );
        match did_you_mean(column, known) {
            Some(s) => d.with_hint(format!("did you mean `{s}`?")),
            None => d.with_hint("check the column name against the store's schema (migrations/)"),
        }
    };
    for (i, k) in entity.key.iter().enumerate() {
        if desc.column(k).is_none() {
            out.push(missing(m, k, tm_path![side.name(), "key", i]));
        }
    }
    if let Some(c) = &entity.company
        && desc.column(c).is_none()
    {
        out.push(missing(m, c, tm_path![side.name(), "company"]));
    }
    if side == Side::Accounting
        && let Some(c) = map.fan_out.as_ref().and_then(|f| f.column.as_ref())
        && desc.column(c).is_none()
    {
        out.push(missing(m, c, tm_path!["fan_out", "column"]));
    }
    for (i, f) in map.fields.iter().enumerate() {
        let Some(name) = f.column(side) else { continue };
        let path = tm_path!["fields", i, side.name()];
        let Some(col) = desc.column(name) else {
            out.push(missing(m, name, path));
            continue;
        };
        let want = f.field_type.value_type(side, f.values.is_some());
        if col.value_type != want {
            out.push(
                m.at(
                    path,
                    format!(
                        "column `{name}` is {} in the {} store, but the field is {want}",
                        col.value_type,
                        side.name()
                    ),
                )
                .with_hint("change the field's `type` to match the column, or map another column"),
            );
        } else if f.field_type == FieldType::Decimal
            && let (Some(p), Some(s), Some((cp, cs))) = (f.precision, f.scale, col.decimal)
            && (s > cs || p - s > cp - cs)
        {
            out.push(
                m.at(
                    tm_path!["fields", i, "precision"],
                    format!("the field allows decimal({p},{s}) but column `{name}` holds decimal({cp},{cs})"),
                )
                .with_hint(format!(
                    "declare `precision = {cp}, scale = {cs}` or less, so no value is refused"
                )),
            );
        }
    }
    let mut expressions: Vec<(String, Vec<Seg>)> = Vec::new();
    if let Some(f) = &entity.filter {
        expressions.push((f.clone(), tm_path![side.name(), "filter"]));
    }
    for (i, rule) in map.skip.iter().enumerate().filter(|(_, r)| r.side == side) {
        expressions.push((rule.when.clone(), tm_path!["skip", i, "when"]));
    }
    for (text, path) in expressions {
        let Ok(expr) = filter::parse(&text) else { continue }; // syntax is reported by validate
        // Literal types of columns the map does not declare (validate checked the others).
        let catalog_type = |c: &str| match column_type(map, side, c) {
            Some(_) => None,
            None => desc.column(c).map(|c| c.value_type),
        };
        for e in filter::check_types(&expr, &catalog_type) {
            let span = m.inside_string(&path, e.offset, e.len);
            out.push(m.source.error(span, e.message.clone()).with_hint_opt(e.hint.clone()));
        }
        for col in expr.columns() {
            if desc.column(&col.name).is_none() {
                let span = m.inside_string(&path, col.offset, col.name.len());
                let known = desc.columns.iter().map(|c| c.name.as_str());
                let d = m.source.error(
                    span,
                    format!(
                        "`{}` has no column `{}` in the {} store",
                        desc.name,
                        col.name,
                        side.name()
                    ),
                );
                out.push(match did_you_mean(&col.name, known) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d.with_hint("check the column name against the store's schema (migrations/)"),
                });
            }
        }
    }
}
