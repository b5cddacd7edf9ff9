//! What the two OData stores (Dataverse Web API, finance-and-operations data entities) share
//! above the HTTP client: the service (sign-in, root, `$metadata`, pages, `$count`, `$batch`),
//! reading the `$metadata` (CSDL) into entity descriptions, multipart `$batch` requests and
//! responses, `$filter` pieces and decoding, and exact values between the JSON of the wire and
//! dualsync's `Value`s (entities, delta pages, request bodies, key segments of URLs).

pub mod batch;
pub mod json;
pub mod metadata;
pub mod query;
pub mod service;

pub use metadata::Metadata;
pub use service::Service;
