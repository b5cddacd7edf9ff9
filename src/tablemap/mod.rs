//! The table-map language admins write: the file model, parsing with source positions,
//! validation that reports every problem at once, and the filter language.

pub mod model;

pub use model::TableMap;

/// The JSON Schema of the table-map format, generated from the Rust types.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(TableMap)).expect("a schema is always JSON")
}
