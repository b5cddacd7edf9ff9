//! How a command's report is printed: as text for people (the default) or, with `--output
//! json`, as the JSON document the admin API serves for the same question (one shape, one
//! schema: `/api/openapi.json`). Each report type says how it reads as text.

use serde::Serialize;

/// `--output`: text for people, JSON for programs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    #[default]
    Text,
    Json,
}

/// A command's report: serialized as it is for JSON, rendered by `text` for people.
pub trait Report: Serialize {
    fn text(&self) -> String;
}

impl Output {
    /// The report as this output prints it.
    pub fn render<R: Report>(self, report: &R) -> String {
        match self {
            Output::Text => report.text(),
            Output::Json => serde_json::to_string_pretty(report).expect("reports serialize"),
        }
    }
}

/// "1 record error", "2 record errors".
pub fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}
