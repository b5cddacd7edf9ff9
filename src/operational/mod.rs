//! The operational system's own processes, for operational stores that are databases (the
//! reference store): approving expenses and project vendor invoices that arrived from the
//! accounting side into cost actuals (`approve`). Dataverse does this itself (its automated
//! approval, or the project manager's confirmation); then these stay off. The SQL is the
//! reference schema's own, through the accounting processes' `Db` (any SQL store).

pub mod approve;
pub mod journal;
