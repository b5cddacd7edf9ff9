//! The sync engine: executes compiled table maps between the operational and the accounting
//! store — initial sync, live sync in both directions, links, retries and record errors.

pub mod compile;
pub mod retry;
pub mod state;
pub mod transform;
