//! How one data entity is found and addressed, from the `$metadata` and the store's
//! configuration: the entity set behind the name the maps use (configured, else the set of that
//! name, else the set of the entity type of that name), its columns and composite key, which
//! columns are enumerations (written `Microsoft.Dynamics.DataEntities.<Enum>'<Member>'` in
//! filters and keys), the company column (`dataAreaId`) and the modified-timestamp column.

use std::collections::HashMap;

use crate::config::FinopsConfig;
use crate::store::odata::{Metadata, json, query};
use crate::store::{EntityDesc, ErrorKind, Result, StoreError};
use crate::value::Value;

/// One data entity as the store reads and writes it.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The columns, named as the maps name the entity (`desc.name` is the map's entity).
    pub desc: EntityDesc,
    /// The entity set (public collection name) on the wire.
    pub set: String,
    /// Enumeration columns → their qualified enum type.
    enums: HashMap<String, String>,
    /// The company column, when the entity is per company.
    pub company: Option<String>,
    /// The column that says when a record last changed, when the entity has it.
    pub modified: Option<String>,
    /// The column the configuration names for changes, also when the entity lacks it.
    pub modified_wanted: String,
}

/// The configured entry of `entity` (keys may come back in another case from the environment).
fn configured<'a>(config: &'a FinopsConfig, entity: &str) -> Option<&'a crate::config::FinopsEntity> {
    config
        .entities
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(entity))
        .map(|(_, v)| v)
}

/// The entity set of `entity`: configured, else a set of that name, else the one set whose
/// entity type has that name.
pub fn entity_set(metadata: &Metadata, config: &FinopsConfig, entity: &str) -> Result<String> {
    if let Some(set) = configured(config, entity).and_then(|e| e.set.clone()) {
        if metadata.entity_sets.contains_key(&set) {
            return Ok(set);
        }
        return Err(StoreError::new(
            ErrorKind::NotFound,
            format!("the entity set `{set}` configured for `{entity}` is not in the service's $metadata"),
        )
        .with_hint(did_you_mean(metadata, &set, entity)));
    }
    if metadata.entity_sets.contains_key(entity) {
        return Ok(entity.to_string());
    }
    let by_type: Vec<&String> = metadata
        .entity_sets
        .iter()
        .filter(|(_, ty)| ty.rsplit('.').next() == Some(entity))
        .map(|(set, _)| set)
        .collect();
    match by_type.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(StoreError::new(
            ErrorKind::NotFound,
            format!(
                "the service has no data entity `{entity}` (neither an entity set nor an entity type of that name)"
            ),
        )
        .with_hint(did_you_mean(metadata, entity, entity))),
    }
}

fn did_you_mean(metadata: &Metadata, name: &str, entity: &str) -> String {
    let known = metadata.entity_sets.keys().map(String::as_str);
    let guess = crate::tablemap::diagnostic::did_you_mean(name, known)
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    format!(
        "{guess}name its public collection name under `[accounting.finops.entities.{entity}] set = \"…\"`; \
         the entity must be public (IsPublic) to be reached over OData"
    )
}

impl Shape {
    pub fn of(metadata: &Metadata, config: &FinopsConfig, entity: &str) -> Result<Shape> {
        let set = entity_set(metadata, config, entity)?;
        let mut desc = metadata.describe(&set)?;
        desc.name = entity.to_string();
        let t = metadata.entity_type(&set)?;
        let enums = t
            .properties
            .iter()
            .filter(|p| metadata.enums.contains_key(&p.type_name))
            .map(|p| (p.name.clone(), p.type_name.clone()))
            .collect();
        let own = configured(config, entity);
        let key_names: Vec<&str> = desc.key_columns().map(|c| c.name.as_str()).collect();
        let company = match own.and_then(|e| e.company.clone()) {
            Some(c) => {
                if desc.column(&c).is_none() {
                    return Err(
                        StoreError::unknown_column(&set, &c, desc.columns.iter().map(|c| c.name.as_str()))
                            .with_hint(format!("fix `[accounting.finops.entities.{entity}] company`")),
                    );
                }
                Some(c)
            }
            None => key_names
                .iter()
                .find(|k| k.to_ascii_lowercase().ends_with("dataareaid"))
                .map(|k| k.to_string()),
        };
        let modified_wanted = own
            .and_then(|e| e.modified.clone())
            .unwrap_or_else(|| config.modified_column.clone());
        let modified = desc.column(&modified_wanted).map(|c| c.name.clone());
        Ok(Shape {
            desc,
            set,
            enums,
            company,
            modified,
            modified_wanted,
        })
    }

    /// A value of `column` as a literal of a `$filter` or a key: an enumeration as
    /// `Namespace.Enum'Member'`, the rest as plain OData literals.
    pub fn literal(&self, column: &str, v: &Value) -> Result<String> {
        match (self.enums.get(column), v) {
            (Some(ty), Value::Text(member)) => {
                if member.is_empty() || !member.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(StoreError::new(
                        ErrorKind::Rejected,
                        format!("`{member}` is not a member name of the enumeration {ty} (column `{column}`)"),
                    ));
                }
                Ok(format!("{ty}'{member}'"))
            }
            _ => query::literal(v),
        }
    }

    /// The `$filter` of the records after `after` in the order of `columns`, and whether it
    /// also lets through records at or before it. Only `eq` and `ne` work on enumerations, so
    /// where an enumeration would be compared with `gt`, the filter keeps every record of the
    /// same prefix (`CategoryId eq a` for the key `(CategoryId, TransactionType)`), and the
    /// caller drops those up to `after` itself.
    pub fn after_filter(&self, columns: &[&str], after: &[Value]) -> Result<(String, bool)> {
        let mut any = Vec::new();
        for i in 0..columns.len().min(after.len()) {
            let mut all = Vec::with_capacity(i + 1);
            for j in 0..i {
                all.push(format!("{} eq {}", columns[j], self.literal(columns[j], &after[j])?));
            }
            if self.enums.contains_key(columns[i]) {
                any.push(match all.is_empty() {
                    true => "true".to_string(),
                    false => format!("({})", all.join(" and ")),
                });
                return Ok((any.join(" or "), true));
            }
            all.push(format!("{} gt {}", columns[i], self.literal(columns[i], &after[i])?));
            any.push(format!("({})", all.join(" and ")));
        }
        Ok((any.join(" or "), false))
    }

    /// The key columns' names.
    pub fn key_names(&self) -> Vec<&str> {
        self.desc.key_columns().map(|c| c.name.as_str()).collect()
    }

    /// The literal of the i-th of `columns`.
    pub fn literal_of<'a>(&'a self, columns: &'a [&'a str]) -> impl Fn(usize, &Value) -> Result<String> + 'a {
        move |i, v| self.literal(columns[i], v)
    }

    /// The URL path of one record: `Set(K1='a',K2=00000000-…)`, every key field named.
    pub fn record_path(&self, key: &[Value]) -> Result<String> {
        let mut parts = Vec::with_capacity(key.len());
        for (c, v) in self.desc.key_columns().zip(key) {
            let lit = match (self.enums.contains_key(&c.name), v) {
                (true, _) => self.literal(&c.name, v)?,
                // Text is percent-encoded in a path.
                (false, _) => json::key_literal(v)
                    .map_err(|e| StoreError::new(ErrorKind::Rejected, format!("column `{}`: {e}", c.name)))?,
            };
            parts.push(format!("{}={lit}", c.name));
        }
        Ok(format!("{}({})", self.set, parts.join(",")))
    }
}
