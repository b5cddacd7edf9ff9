//! How one entity set is read and written, from the `$metadata`: its columns as maps name them
//! and the JSON property each one is on the wire. A lookup `x` is the read-only property
//! `_x_value` (a GUID) when read, and the navigation property whose referential constraint names
//! `_x_value` when written (`"<navigation>@odata.bind": "/<target set>(<id>)"`).

use std::collections::HashMap;

use crate::store::odata::Metadata;
use crate::store::{EntityDesc, ErrorKind, Result, StoreError};

/// How a lookup column is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// The single-valued navigation property (`msdyn_Project`).
    pub navigation: String,
    /// The entity set it leads to (`msdyn_projects`).
    pub target: String,
}

/// One entity set as the store reads and writes it.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The columns as maps name them (lookups without `_` and `_value`).
    pub desc: EntityDesc,
    /// Column name → the JSON property on the wire (`msdyn_project` → `_msdyn_project_value`).
    wire: HashMap<String, String>,
    /// Lookup column → how it is written.
    pub binds: HashMap<String, Bind>,
    /// The column that says when a record last changed (`modifiedon`), when the set has one.
    pub modified: Option<String>,
}

/// The lookup a read-only `_x_value` property stands for: `x`.
fn lookup_name(property: &str) -> Option<&str> {
    property
        .strip_prefix('_')?
        .strip_suffix("_value")
        .filter(|s| !s.is_empty())
}

impl Shape {
    pub fn of(metadata: &Metadata, entity: &str) -> Result<Shape> {
        let mut desc = metadata.describe(entity)?;
        let t = metadata.entity_type(entity)?;
        let mut wire = HashMap::new();
        let mut binds = HashMap::new();
        for c in &mut desc.columns {
            let property = c.name.clone();
            if let Some(name) = lookup_name(&property) {
                // A polymorphic lookup has a navigation property per target; the first is used.
                if let Some(nav) = t.navigation.iter().find(|n| n.property.as_deref() == Some(&property))
                    && let Some(target) = metadata.target_set(entity, nav)
                {
                    binds.insert(
                        name.to_string(),
                        Bind {
                            navigation: nav.name.clone(),
                            target,
                        },
                    );
                }
                c.name = name.to_string();
            }
            wire.insert(c.name.clone(), property);
        }
        let modified = desc.column("modifiedon").map(|c| c.name.clone());
        Ok(Shape {
            desc,
            wire,
            binds,
            modified,
        })
    }

    /// The JSON property of a column.
    pub fn wire<'a>(&'a self, column: &'a str) -> &'a str {
        self.wire.get(column).map(String::as_str).unwrap_or(column)
    }

    /// The wire properties of the key columns.
    pub fn key_wires(&self) -> Vec<&str> {
        self.desc.key_columns().map(|c| self.wire(&c.name)).collect()
    }

    /// `$select` for the columns of `desc` (a projection of this shape).
    pub fn select(&self, desc: &EntityDesc) -> String {
        let names: Vec<&str> = desc.columns.iter().map(|c| self.wire(&c.name)).collect();
        names.join(",")
    }

    /// The bind of a lookup column, or why it cannot be written.
    pub fn bind(&self, column: &str) -> Result<&Bind> {
        self.binds.get(column).ok_or_else(|| {
            StoreError::new(
                ErrorKind::Rejected,
                format!(
                    "`{}` of `{}` is a lookup without a navigation property in the $metadata; it cannot be written",
                    column, self.desc.name
                ),
            )
        })
    }

    /// Whether a column is a lookup (read from `_x_value`).
    pub fn is_lookup(&self, column: &str) -> bool {
        self.wire(column) != column && lookup_name(self.wire(column)).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_names_come_from_the_value_properties() {
        assert_eq!(lookup_name("_msdyn_project_value"), Some("msdyn_project"));
        assert_eq!(lookup_name("msdyn_project"), None);
        assert_eq!(lookup_name("__value"), None);
    }
}
