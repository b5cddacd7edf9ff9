//! The HTTP foundation of the OData stores (Dataverse Web API, finance and operations): one
//! client that every request goes through. It authenticates with OAuth 2.0 client credentials
//! (`auth`), sends the OData version headers, keeps under the service-protection limits
//! (a request rate and a number of requests in flight, `client`), honours `Retry-After` on 429
//! and 503 and backs off otherwise, refreshes the token once on a 401, and turns a failure into
//! a `StoreError` of the right kind with the service's error code and message kept (`error`).

pub mod auth;
pub mod client;
pub mod error;

pub use auth::{ClientCredentials, TokenCache};
pub use client::{HttpClient, Limits};
