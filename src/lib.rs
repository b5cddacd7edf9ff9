//! dualsync keeps an operational system and an accounting system in sync, driven by
//! declarative table-map files. This crate holds the table-map language (`tablemap`), the
//! shared value type (`value`), the stores dualsync reads and writes (`store`), the
//! deterministic demo data loaded into them (`demo`), the check of maps against store catalogs
//! (`catalog_check`), the command-line surface (`cli`), the logging of the daemon paths
//! (`logging`) and the benchmark (`bench`).

pub mod accounting;
pub mod admin;
pub mod bench;
pub mod catalog_check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod engine;
pub mod error;
pub mod logging;
pub mod operational;
pub mod store;
pub mod tablemap;
pub mod value;
