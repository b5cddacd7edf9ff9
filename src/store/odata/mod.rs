//! What the two OData stores (Dataverse Web API, finance-and-operations data entities) share
//! above the HTTP client: reading the service's `$metadata` (CSDL) into entity descriptions,
//! multipart `$batch` requests and responses, and exact values between the JSON of the wire
//! and dualsync's `Value`s (entities, delta pages, request bodies, key segments of URLs).
//! (The stores themselves follow in issues 13 and 14.)

pub mod batch;
pub mod json;
pub mod metadata;

pub use metadata::Metadata;
