//! A service's `$metadata` document (OData CSDL, XML) read with a real XML parser
//! (`roxmltree`) into what dualsync needs: the entity sets, each entity type's key and
//! properties (with those of its base types), its navigation properties (how a Dataverse lookup
//! is written: `<navigation>@odata.bind`), and the enumeration types (finance and operations).
//! `describe` turns an entity set into an `EntityDesc` with dualsync's value types.

use std::collections::HashMap;

use crate::store::{Column, EntityDesc, ErrorKind, Result, StoreError};
use crate::value::ValueType;

const EDM: &str = "http://docs.oasis-open.org/odata/ns/edm";

/// One structural property of an entity type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    /// The qualified type as written (`Edm.Decimal`, `Microsoft.Dynamics.DataEntities.NoYes`).
    pub type_name: String,
    pub nullable: bool,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
}

/// A navigation property: a lookup's way to its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Navigation {
    pub name: String,
    /// The target entity type, qualified.
    pub target: String,
    pub partner: Option<String>,
    /// The property holding the target's key (Dataverse: `_x_value` for the lookup `x`), from
    /// the `ReferentialConstraint`.
    pub property: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityType {
    pub base: Option<String>,
    pub key: Vec<String>,
    pub properties: Vec<Property>,
    pub navigation: Vec<Navigation>,
}

/// The parts of a service's metadata dualsync uses.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// Entity set name → its entity type (qualified).
    pub entity_sets: HashMap<String, String>,
    /// Entity types by qualified name (namespace and alias forms both present).
    pub types: HashMap<String, EntityType>,
    /// Enumeration types by qualified name, with their member names.
    pub enums: HashMap<String, Vec<String>>,
    /// (entity set, navigation property) → the entity set it leads to
    /// (`NavigationPropertyBinding`).
    pub bindings: HashMap<(String, String), String>,
    /// Entity sets whose `Org.OData.Capabilities.V1.ChangeTracking` annotation says whether they
    /// track changes (absent: the service did not say).
    pub change_tracking: HashMap<String, bool>,
}

impl Metadata {
    /// Reads a CSDL document; `source` names it in messages (the service's URL).
    pub fn parse(xml: &str, source: &str) -> Result<Metadata> {
        let doc = roxmltree::Document::parse(xml).map_err(|e| {
            StoreError::new(
                ErrorKind::Permanent,
                format!("the $metadata of {source} is not XML: {e}"),
            )
            .with_hint("check that the URL is the service root (…/api/data/v9.2 or …/data)")
        })?;
        let mut out = Metadata::default();
        for schema in doc.descendants().filter(|n| n.has_tag_name((EDM, "Schema"))) {
            let namespace = schema.attribute("Namespace").unwrap_or_default();
            let alias = schema.attribute("Alias");
            let names = |local: &str| {
                let mut v = vec![format!("{namespace}.{local}")];
                if let Some(a) = alias {
                    v.push(format!("{a}.{local}"));
                }
                v
            };
            for node in schema.children().filter(|n| n.is_element()) {
                let Some(local) = node.attribute("Name") else { continue };
                match node.tag_name().name() {
                    "EntityType" => {
                        let t = entity_type(&node);
                        for n in names(local) {
                            out.types.insert(n, t.clone());
                        }
                    }
                    "EnumType" => {
                        let members: Vec<String> = node
                            .children()
                            .filter(|m| m.has_tag_name((EDM, "Member")))
                            .filter_map(|m| m.attribute("Name").map(str::to_string))
                            .collect();
                        for n in names(local) {
                            out.enums.insert(n, members.clone());
                        }
                    }
                    "EntityContainer" => {
                        for set in node.children().filter(|s| s.has_tag_name((EDM, "EntitySet"))) {
                            let (Some(name), Some(ty)) = (set.attribute("Name"), set.attribute("EntityType")) else {
                                continue;
                            };
                            out.entity_sets.insert(name.to_string(), ty.to_string());
                            for child in set.children().filter(|n| n.is_element()) {
                                match child.tag_name().name() {
                                    "NavigationPropertyBinding" => {
                                        if let (Some(path), Some(target)) =
                                            (child.attribute("Path"), child.attribute("Target"))
                                        {
                                            out.bindings
                                                .insert((name.to_string(), path.to_string()), target.to_string());
                                        }
                                    }
                                    "Annotation"
                                        if child.attribute("Term")
                                            == Some("Org.OData.Capabilities.V1.ChangeTracking") =>
                                    {
                                        out.change_tracking.insert(name.to_string(), supported(&child));
                                    }
                                    _ => {}
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// The entity type of `entity_set` with the key and properties of its base types merged in
    /// (the nearest definition of a key wins).
    pub fn entity_type(&self, entity_set: &str) -> Result<EntityType> {
        let Some(type_name) = self.entity_sets.get(entity_set) else {
            let known = self.entity_sets.keys().map(String::as_str);
            let err = StoreError::new(
                ErrorKind::NotFound,
                format!("the service has no entity set `{entity_set}`"),
            );
            return Err(match crate::tablemap::diagnostic::did_you_mean(entity_set, known) {
                Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                None => err.with_hint("entity sets are plural logical names, e.g. msdyn_actuals"),
            });
        };
        let mut merged = EntityType::default();
        let mut next = Some(type_name.clone());
        let mut seen = 0;
        while let Some(name) = next {
            seen += 1;
            let t = self.types.get(&name).filter(|_| seen < 32).ok_or_else(|| {
                StoreError::new(
                    ErrorKind::Permanent,
                    format!("the $metadata names the entity type `{name}` but does not define it"),
                )
            })?;
            if merged.key.is_empty() {
                merged.key = t.key.clone();
            }
            for p in &t.properties {
                if !merged.properties.iter().any(|q| q.name == p.name) {
                    merged.properties.push(p.clone());
                }
            }
            merged.navigation.extend(t.navigation.iter().cloned());
            next = t.base.clone();
        }
        Ok(merged)
    }

    /// The entity set as dualsync describes entities: columns with value types, and the key.
    /// Properties of a type dualsync cannot hold (streams, collections, complex types) are left
    /// out.
    pub fn describe(&self, entity_set: &str) -> Result<EntityDesc> {
        let t = self.entity_type(entity_set)?;
        let mut columns = Vec::new();
        for p in &t.properties {
            let Some(value_type) = self.value_type(&p.type_name) else {
                continue;
            };
            columns.push(Column {
                name: p.name.clone(),
                value_type,
                nullable: p.nullable,
                decimal: match (value_type, p.precision) {
                    (ValueType::Decimal, Some(precision)) => Some((precision, p.scale.unwrap_or(0))),
                    _ => None,
                },
            });
        }
        let mut key = Vec::new();
        for k in &t.key {
            let i = columns.iter().position(|c| &c.name == k).ok_or_else(|| {
                StoreError::new(
                    ErrorKind::Permanent,
                    format!("the key `{k}` of `{entity_set}` is not one of its properties"),
                )
            })?;
            key.push(i);
        }
        Ok(EntityDesc {
            name: entity_set.to_string(),
            columns,
            key,
        })
    }

    /// dualsync's type for an Edm (or enumeration) type; `None` for what it cannot hold.
    pub fn value_type(&self, type_name: &str) -> Option<ValueType> {
        Some(match type_name {
            "Edm.Guid" => ValueType::Guid,
            "Edm.String" => ValueType::Text,
            "Edm.Boolean" => ValueType::Bool,
            "Edm.Byte" | "Edm.SByte" | "Edm.Int16" | "Edm.Int32" | "Edm.Int64" => ValueType::Int,
            // Doubles are read from their JSON text as exact decimals, never through f64.
            "Edm.Decimal" | "Edm.Double" | "Edm.Single" => ValueType::Decimal,
            "Edm.Date" => ValueType::Date,
            "Edm.DateTimeOffset" => ValueType::DateTime,
            other if self.enums.contains_key(other) => ValueType::Text,
            _ => return None,
        })
    }
}

fn entity_type(node: &roxmltree::Node) -> EntityType {
    let mut t = EntityType {
        base: node.attribute("BaseType").map(str::to_string),
        ..EntityType::default()
    };
    for child in node.children().filter(|n| n.is_element()) {
        match child.tag_name().name() {
            "Key" => {
                t.key = child
                    .children()
                    .filter(|r| r.has_tag_name((EDM, "PropertyRef")))
                    .filter_map(|r| r.attribute("Name").map(str::to_string))
                    .collect();
            }
            "Property" => {
                let number = |a: &str| child.attribute(a).and_then(|v| v.parse::<u32>().ok());
                if let (Some(name), Some(ty)) = (child.attribute("Name"), child.attribute("Type")) {
                    t.properties.push(Property {
                        name: name.to_string(),
                        type_name: ty.to_string(),
                        nullable: child.attribute("Nullable") != Some("false"),
                        precision: number("Precision"),
                        scale: number("Scale"),
                    });
                }
            }
            "NavigationProperty" => {
                if let (Some(name), Some(ty)) = (child.attribute("Name"), child.attribute("Type")) {
                    t.navigation.push(Navigation {
                        name: name.to_string(),
                        target: ty.to_string(),
                        partner: child.attribute("Partner").map(str::to_string),
                        property: child
                            .children()
                            .find(|c| c.has_tag_name((EDM, "ReferentialConstraint")))
                            .and_then(|c| c.attribute("Property"))
                            .map(str::to_string),
                    });
                }
            }
            _ => {}
        }
    }
    t
}

/// Whether a `ChangeTracking` annotation says `Supported` (its record's `Supported` property,
/// as an attribute or an element; a bare annotation counts as supported).
fn supported(annotation: &roxmltree::Node) -> bool {
    let Some(value) = annotation
        .descendants()
        .find(|n| n.has_tag_name((EDM, "PropertyValue")) && n.attribute("Property") == Some("Supported"))
    else {
        return true;
    };
    match value.attribute("Bool") {
        Some(b) => b == "true",
        None => value
            .children()
            .find(|c| c.has_tag_name((EDM, "Bool")))
            .and_then(|c| c.text())
            .is_none_or(|t| t.trim() == "true"),
    }
}

impl Metadata {
    /// The entity set a navigation property of `entity_set` leads to: its binding, else the one
    /// entity set of the target type.
    pub fn target_set(&self, entity_set: &str, nav: &Navigation) -> Option<String> {
        if let Some(t) = self.bindings.get(&(entity_set.to_string(), nav.name.clone())) {
            return Some(t.clone());
        }
        let local = nav.target.rsplit('.').next().unwrap_or(&nav.target);
        self.entity_sets
            .iter()
            .filter(|(_, ty)| ty.rsplit('.').next() == Some(local))
            .map(|(set, _)| set.clone())
            .min()
    }
}

#[cfg(test)]
mod tests;
