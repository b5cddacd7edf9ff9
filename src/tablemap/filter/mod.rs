//! The filter language of table maps: a small subset of OData `$filter` that selects which
//! records a map syncs, e.g. `msdyn_skipsync eq false and startswith(name, 'A')`.
//!
//! This file holds the syntax tree and the error type; the work is split by stage:
//! `lex` (tokens), `parser` (precise errors with byte offsets, token lengths and hints),
//! `print` (canonical `Display`, which parses back to the same tree), `eval` (matching a
//! row) and `check` (literals against known column types). Numbers are exact
//! (`rust_decimal`).
//!
//! Null follows OData: `x eq null` is true only when `x` is null, and `ne` is always exactly
//! `not eq`, so `x ne 5` is true when `x` is null or holds a value of another type. Ordering
//! comparisons (`gt ge lt le`) with a null side, or between types that do not compare, are
//! false.

mod check;
mod eval;
mod lex;
mod parser;
mod print;
#[cfg(test)]
mod test_util;

use std::fmt;
use std::str::FromStr;

use crate::value::Value;

pub use check::check_types;
pub use eval::Row;

/// A column reference and its byte offset in the filter source.
/// Equality compares the name only: offsets are positions, not meaning.
#[derive(Debug, Clone, Eq)]
pub struct Col {
    pub name: String,
    pub offset: usize,
}

impl Col {
    pub fn new(name: impl Into<String>, offset: usize) -> Self {
        Col {
            name: name.into(),
            offset,
        }
    }
}

impl PartialEq for Col {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A literal value, its byte offset in the filter source and its length there in bytes
/// (`007` is 3 bytes though it prints as `7`). Equality compares the value only.
/// `Display` prints it in filter syntax.
#[derive(Debug, Clone, Eq)]
pub struct Lit {
    pub value: Value,
    pub offset: usize,
    pub len: usize,
}

impl Lit {
    /// A literal spelled canonically (as `Display` prints it) at `offset`.
    pub fn new(value: Value, offset: usize) -> Self {
        let mut lit = Lit { value, offset, len: 0 };
        lit.len = lit.to_string().len();
        lit
    }
}

impl PartialEq for Lit {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrFunc {
    StartsWith,
    EndsWith,
    Contains,
}

impl StrFunc {
    const ALL: [StrFunc; 3] = [StrFunc::StartsWith, StrFunc::EndsWith, StrFunc::Contains];

    pub fn name(self) -> &'static str {
        match self {
            StrFunc::StartsWith => "startswith",
            StrFunc::EndsWith => "endswith",
            StrFunc::Contains => "contains",
        }
    }
}

/// A parsed filter. Equality ignores source offsets; `Display` prints canonical source that
/// parses back to an equal tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `column op literal`
    Cmp {
        column: Col,
        op: CmpOp,
        value: Lit,
    },
    /// `column in (lit, ...)`, never empty when parsed
    In {
        column: Col,
        values: Vec<Lit>,
    },
    /// `func(column, 'arg')`
    Func {
        func: StrFunc,
        column: Col,
        arg: String,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    /// Every column referenced, in source order (repeats included).
    pub fn columns(&self) -> Vec<&Col> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a Col>) {
        match self {
            Expr::Cmp { column, .. } | Expr::In { column, .. } | Expr::Func { column, .. } => out.push(column),
            Expr::And(l, r) | Expr::Or(l, r) => {
                l.collect_columns(out);
                r.collect_columns(out);
            }
            Expr::Not(e) => e.collect_columns(out),
        }
    }
}

/// A filter problem: `len` bytes (at least 1) of the filter source starting at byte `offset`.
/// An error at the end of the input has `offset` equal to the source length and `len` 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl FilterError {
    fn new(offset: usize, len: usize, message: impl Into<String>) -> Self {
        FilterError {
            offset,
            len: len.max(1),
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn maybe_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)?;
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FilterError {}

/// Parses a filter; `parser.rs` documents the grammar. The error points at the first problem
/// in the source.
pub fn parse(src: &str) -> Result<Expr, FilterError> {
    parser::parse(src)
}

impl FromStr for Expr {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    #[test]
    fn columns_are_listed_in_source_order_with_repeats() {
        let e = p("a eq 1 or (not b in (1) and startswith(a, 'x'))");
        let names: Vec<&str> = e.columns().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "a"]);
    }

    #[test]
    fn equality_ignores_positions() {
        assert_eq!(Col::new("a", 0), Col::new("a", 7));
        let mut spelled = Lit::new(Value::Int(7), 3);
        spelled.len = 3; // written as 007
        assert_eq!(spelled, Lit::new(Value::Int(7), 0));
        assert_eq!(Lit::new(text("it's"), 0).len, "'it''s'".len());
        assert_eq!("a  eq  1".parse::<Expr>(), Ok(cmp("a", CmpOp::Eq, Value::Int(1))));
    }

    #[test]
    fn errors_display_with_offset_and_hint() {
        assert_eq!(
            err("a == 1").to_string(),
            "'==' is not a filter operator (at byte 2); hint: OData spells equality 'eq'"
        );
        assert_eq!(
            err("a eq 1)").to_string(),
            "unbalanced parenthesis: this ')' has no matching '(' (at byte 6); hint: remove it, or add the missing '(' earlier"
        );
        let no_hint = FilterError::new(3, 0, "m");
        assert_eq!(no_hint.to_string(), "m (at byte 3)");
        assert_eq!(no_hint.len, 1, "an error covers at least one byte");
    }
}
