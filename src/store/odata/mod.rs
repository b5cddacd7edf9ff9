//! What the two OData stores (Dataverse Web API, finance-and-operations data entities) share
//! above the HTTP client: reading the service's `$metadata` (CSDL) into entity descriptions.
//! (The stores themselves follow in issues 13 and 14.)

pub mod metadata;

pub use metadata::Metadata;
