//! The accounting system's own processes, for accounting stores that are databases (the
//! reference store): staging tables become forecasts (`forecasts`), actuals become integration
//! journal lines (`import`), and journals are posted to the project subledger and the general
//! ledger (`post`), which writes the posted attributes back onto the staging rows. Each run is
//! recorded in the job log (`joblog`). A real ERP does this itself; then these stay off.

pub mod check;
pub mod classes;
pub mod db;
pub mod forecasts;
pub mod import;
pub mod invoice;
pub mod joblog;
mod ledger;
mod milestones;
pub mod numbers;
pub mod payables;
pub mod post;
pub mod recover;
mod relations;
pub mod schedule;
pub mod setup;
mod staged;
pub mod tax;
