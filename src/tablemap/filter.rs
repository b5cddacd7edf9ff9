//! The filter language of table maps: a small subset of OData `$filter` that selects which
//! records a map syncs, e.g. `msdyn_skipsync eq false and startswith(name, 'A')`.
//!
//! Sections: the AST, the lexer, the parser (precise errors with byte offsets and hints), the
//! canonical printer (`Display`, which parses back to the same tree), the evaluator over a row,
//! and the type check against known column types. Numbers are exact (`rust_decimal`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::value::{Value, ValueType};

// ---------------------------------------------------------------------------------------------
// AST
// ---------------------------------------------------------------------------------------------

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

/// A literal value and its byte offset in the filter source.
/// Equality compares the value only. `Display` prints it in filter syntax.
#[derive(Debug, Clone, Eq)]
pub struct Lit {
    pub value: Value,
    pub offset: usize,
}

impl Lit {
    pub fn new(value: Value, offset: usize) -> Self {
        Lit { value, offset }
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

    /// The operator that means the same with its operands swapped (`5 lt x` is `x gt 5`).
    fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            same => same,
        }
    }

    fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord.is_eq(),
            CmpOp::Ne => ord.is_ne(),
            CmpOp::Gt => ord.is_gt(),
            CmpOp::Ge => ord.is_ge(),
            CmpOp::Lt => ord.is_lt(),
            CmpOp::Le => ord.is_le(),
        }
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    /// Ordinal (case-sensitive) text test.
    fn apply(self, text: &str, arg: &str) -> bool {
        match self {
            StrFunc::StartsWith => text.starts_with(arg),
            StrFunc::EndsWith => text.ends_with(arg),
            StrFunc::Contains => text.contains(arg),
        }
    }
}

impl fmt::Display for StrFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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

/// A filter problem at a byte offset of the filter source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub offset: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl FilterError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        FilterError {
            offset,
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

impl Expr {
    /// Every column referenced, in source order (repeats included).
    pub fn columns(&self) -> Vec<&Col> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a Col>) {
        match self {
            Expr::Cmp { column, .. } | Expr::In { column, .. } | Expr::Func { column, .. } => {
                out.push(column)
            }
            Expr::And(l, r) | Expr::Or(l, r) => {
                l.collect_columns(out);
                r.collect_columns(out);
            }
            Expr::Not(e) => e.collect_columns(out),
        }
    }
}

impl FromStr for Expr {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    And,
    Or,
    Not,
    In,
    Op(CmpOp),
}

const KEYWORDS: [&str; 13] = [
    "and", "or", "not", "in", "eq", "ne", "gt", "ge", "lt", "le", "null", "true", "false",
];

#[derive(Debug, Clone)]
enum Tok {
    Ident(String),
    Kw(Kw),
    Lit(Value),
    LParen,
    RParen,
    Comma,
    End,
    /// A lexing error; always the last token, so errors surface in source order.
    Error(FilterError),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    offset: usize,
    len: usize,
}

const UNQUOTED_FORMS: &str = "numbers like -12.50, dates like 2024-01-31, \
     datetimes like 2024-01-31T10:00:00Z, or GUIDs like 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c";
const DATETIME_HINT: &str =
    "write datetimes like 2024-02-01T10:00:00Z or 2024-02-01T10:00:00+01:00";

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Bytes that may not directly follow a literal (they would make it a different, malformed one).
fn glues_to_literal(b: u8) -> bool {
    is_word_byte(b) || matches!(b, b'-' | b'+' | b'.' | b':')
}

fn lex(src: &str) -> Vec<Token> {
    let mut lexer = Lexer { src, pos: 0 };
    let mut out = Vec::new();
    loop {
        match lexer.next_token() {
            Ok(token) => {
                let end = matches!(token.tok, Tok::End);
                out.push(token);
                if end {
                    return out;
                }
            }
            Err(e) => {
                let offset = e.offset;
                out.push(Token {
                    tok: Tok::Error(e),
                    offset,
                    len: 0,
                });
                return out;
            }
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.src.as_bytes().get(i).copied()
    }

    fn digits_at(&self, i: usize, n: usize) -> bool {
        (i..i + n).all(|j| self.byte(j).is_some_and(|b| b.is_ascii_digit()))
    }

    fn token(&mut self, tok: Tok, start: usize, end: usize) -> Token {
        self.pos = end;
        Token {
            tok,
            offset: start,
            len: end - start,
        }
    }

    fn next_token(&mut self) -> Result<Token, FilterError> {
        while self.byte(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(b) = self.byte(start) else {
            return Ok(self.token(Tok::End, start, start));
        };
        match b {
            b'(' => Ok(self.token(Tok::LParen, start, start + 1)),
            b')' => Ok(self.token(Tok::RParen, start, start + 1)),
            b',' => Ok(self.token(Tok::Comma, start, start + 1)),
            b'\'' => self.string(start),
            b'"' => Err(FilterError::new(
                start,
                "text must be in single quotes, not double quotes",
            )
            .hint("write 'Contoso' (and '' for a quote inside text, as in 'O''Brien')")),
            b'-' if self.digits_at(start + 1, 1) => self.number(start),
            b'0'..=b'9' => self.digit_literal(start),
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => self.word(start),
            b'=' | b'!' | b'<' | b'>' | b'&' | b'|' => Err(self.symbol(start)),
            _ => Err(self.unexpected(start)),
        }
    }

    fn unexpected(&self, start: usize) -> FilterError {
        let c = self.src[start..].chars().next().unwrap_or(' ');
        let err = FilterError::new(start, format!("unexpected character '{c}'"));
        match c {
            '{' => {
                err.hint("write GUIDs bare, without braces: 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c")
            }
            '.' => err.hint("write decimals with a leading digit, e.g. 0.5"),
            '-' => err.hint("a minus sign must be followed directly by digits, e.g. -0.5"),
            _ => err,
        }
    }

    /// `==`, `&&` and friends from other languages.
    fn symbol(&self, start: usize) -> FilterError {
        let two = self.src.get(start..start + 2).unwrap_or("");
        let (sym, word) = match two {
            "==" => ("==", "eq"),
            "!=" => ("!=", "ne"),
            "<>" => ("<>", "ne"),
            "<=" => ("<=", "le"),
            ">=" => (">=", "ge"),
            "&&" => ("&&", "and"),
            "||" => ("||", "or"),
            _ => match self.byte(start) {
                Some(b'=') => ("=", "eq"),
                Some(b'<') => ("<", "lt"),
                Some(b'>') => (">", "gt"),
                Some(b'&') => ("&", "and"),
                Some(b'|') => ("|", "or"),
                _ => ("!", "not"),
            },
        };
        let hint = if word == "eq" {
            "OData spells equality 'eq'".to_string()
        } else {
            format!("write '{word}' instead")
        };
        FilterError::new(start, format!("'{sym}' is not a filter operator")).hint(hint)
    }

    fn string(&mut self, start: usize) -> Result<Token, FilterError> {
        let mut text = String::new();
        let mut i = start + 1;
        loop {
            let Some(rel) = self.src[i..].find('\'') else {
                return Err(FilterError::new(
                    start,
                    "unterminated text: this quote is never closed",
                )
                .hint("end the text with ' (write '' for a quote inside text)"));
            };
            text.push_str(&self.src[i..i + rel]);
            i += rel + 1;
            if self.byte(i) == Some(b'\'') {
                text.push('\'');
                i += 1;
            } else {
                return Ok(self.token(Tok::Lit(Value::Text(text)), start, i));
            }
        }
    }

    fn malformed(&self, start: usize) -> FilterError {
        let mut end = start + 1;
        while self.byte(end).is_some_and(glues_to_literal) {
            end += 1;
        }
        FilterError::new(
            start,
            format!("malformed value '{}'", &self.src[start..end]),
        )
        .hint(format!("values are {UNQUOTED_FORMS}"))
    }

    /// Finishes a literal token at `end`, rejecting anything glued to it (`12abc`, `2024-01`).
    fn literal(&mut self, value: Value, start: usize, end: usize) -> Result<Token, FilterError> {
        if self.byte(end).is_some_and(glues_to_literal) {
            return Err(self.malformed(start));
        }
        Ok(self.token(Tok::Lit(value), start, end))
    }

    /// A bare GUID `8-4-4-4-12` at `start`, if there is one.
    fn guid(&self, start: usize) -> Option<Uuid> {
        let bytes = self.src.as_bytes().get(start..start + 36)?;
        let shaped = bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
        if !shaped || self.byte(start + 36).is_some_and(glues_to_literal) {
            return None;
        }
        Uuid::parse_str(&self.src[start..start + 36]).ok()
    }

    /// A literal starting with a digit: GUID, then datetime, then date, then number.
    fn digit_literal(&mut self, start: usize) -> Result<Token, FilterError> {
        if let Some(g) = self.guid(start) {
            return self.literal(Value::Guid(g), start, start + 36);
        }
        let date_shaped = self.digits_at(start, 4)
            && self.byte(start + 4) == Some(b'-')
            && self.digits_at(start + 5, 2)
            && self.byte(start + 7) == Some(b'-')
            && self.digits_at(start + 8, 2);
        if !date_shaped {
            return self.number(start);
        }
        if self.byte(start + 10) == Some(b'T') {
            return self.datetime(start);
        }
        let text = &self.src[start..start + 10];
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            FilterError::new(start, format!("'{text}' is not a valid date"))
                .hint("write dates as YYYY-MM-DD, e.g. 2024-01-31")
        })?;
        self.literal(Value::Date(date), start, start + 10)
    }

    fn datetime(&mut self, start: usize) -> Result<Token, FilterError> {
        let malformed = || {
            FilterError::new(
                start,
                format!("malformed datetime '{}'", self.run_from(start)),
            )
            .hint(DATETIME_HINT)
        };
        // YYYY-MM-DDThh:mm:ss
        let mut i = start + 11;
        let time_shaped = self.digits_at(i, 2)
            && self.byte(i + 2) == Some(b':')
            && self.digits_at(i + 3, 2)
            && self.byte(i + 5) == Some(b':')
            && self.digits_at(i + 6, 2);
        if !time_shaped {
            return Err(malformed());
        }
        i += 8;
        if self.byte(i) == Some(b'.') {
            let mut n = 0;
            while self.digits_at(i + 1 + n, 1) {
                n += 1;
            }
            if n == 0 || n > 9 {
                return Err(malformed());
            }
            i += 1 + n;
        }
        match self.byte(i) {
            Some(b'Z') => i += 1,
            Some(b'+' | b'-')
                if self.digits_at(i + 1, 2)
                    && self.byte(i + 3) == Some(b':')
                    && self.digits_at(i + 4, 2) =>
            {
                i += 6
            }
            Some(b) if glues_to_literal(b) => return Err(malformed()),
            _ => {
                let text = &self.src[start..i];
                return Err(
                    FilterError::new(start, format!("datetime '{text}' has no time zone"))
                        .hint(format!("add Z for UTC ({text}Z) or an offset like +01:00")),
                );
            }
        }
        let text = &self.src[start..i];
        let parsed = DateTime::parse_from_rfc3339(text).map_err(|_| {
            FilterError::new(start, format!("'{text}' is not a valid datetime")).hint(DATETIME_HINT)
        })?;
        self.literal(Value::DateTime(parsed.with_timezone(&Utc)), start, i)
    }

    /// The run of literal-ish characters from `start`, for messages.
    fn run_from(&self, start: usize) -> &str {
        let mut end = start + 1;
        while self.byte(end).is_some_and(glues_to_literal) {
            end += 1;
        }
        &self.src[start..end.min(self.src.len())]
    }

    /// `-?digits(.digits)?`: an i64 without a point, an exact decimal with one.
    fn number(&mut self, start: usize) -> Result<Token, FilterError> {
        let mut i = start;
        if self.byte(i) == Some(b'-') {
            i += 1;
        }
        while self.digits_at(i, 1) {
            i += 1;
        }
        let is_decimal = self.byte(i) == Some(b'.');
        if is_decimal {
            if !self.digits_at(i + 1, 1) {
                return Err(self.malformed(start));
            }
            i += 1;
            while self.digits_at(i, 1) {
                i += 1;
            }
        }
        let text = &self.src[start..i];
        let value = if is_decimal {
            // Trailing fractional zeros do not change the value; dropping them lets a 29-digit
            // whole decimal printed as `….0` read back.
            let trimmed = text.trim_end_matches('0').trim_end_matches('.');
            let exact = Decimal::from_str_exact(text).or_else(|_| Decimal::from_str_exact(trimmed));
            exact.map(Value::Decimal).map_err(|_| {
                FilterError::new(start, format!("decimal {text} has too many digits"))
                    .hint("decimals hold at most 28 significant digits")
            })?
        } else {
            text.parse::<i64>().map(Value::Int).map_err(|_| {
                FilterError::new(start, format!("integer {text} is out of range"))
                    .hint("integers must fit in 64 bits; write a larger number as a decimal, e.g. 1e20 as 100000000000000000000.0")
            })?
        };
        self.literal(value, start, i)
    }

    /// Identifier, keyword, `null`/`true`/`false`, or a GUID starting with a hex letter.
    fn word(&mut self, start: usize) -> Result<Token, FilterError> {
        if let Some(g) = self.guid(start) {
            return self.literal(Value::Guid(g), start, start + 36);
        }
        let mut end = start;
        while self.byte(end).is_some_and(is_word_byte) {
            end += 1;
        }
        let word = &self.src[start..end];
        let tok = match word {
            "and" => Tok::Kw(Kw::And),
            "or" => Tok::Kw(Kw::Or),
            "not" => Tok::Kw(Kw::Not),
            "in" => Tok::Kw(Kw::In),
            "eq" => Tok::Kw(Kw::Op(CmpOp::Eq)),
            "ne" => Tok::Kw(Kw::Op(CmpOp::Ne)),
            "gt" => Tok::Kw(Kw::Op(CmpOp::Gt)),
            "ge" => Tok::Kw(Kw::Op(CmpOp::Ge)),
            "lt" => Tok::Kw(Kw::Op(CmpOp::Lt)),
            "le" => Tok::Kw(Kw::Op(CmpOp::Le)),
            "null" => Tok::Lit(Value::Null),
            "true" => Tok::Lit(Value::Bool(true)),
            "false" => Tok::Lit(Value::Bool(false)),
            _ => {
                let typed = ["guid", "datetime", "datetimeoffset", "date", "time"];
                if self.byte(end) == Some(b'\'')
                    && typed.contains(&word.to_ascii_lowercase().as_str())
                {
                    return Err(FilterError::new(start, format!("{word}'...' is OData v2 syntax"))
                        .hint("write the value bare, e.g. 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c or 2024-01-31"));
                }
                if self.byte(end) == Some(b'-') && word.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(self.malformed(start));
                }
                Tok::Ident(word.to_string())
            }
        };
        Ok(self.token(tok, start, end))
    }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/// How deeply `not` and parentheses may nest.
const MAX_DEPTH: usize = 64;

const CONDITION_HINT: &str =
    "a condition looks like 'statecode eq 0', 'code in (1, 2)' or 'startswith(name, 'A')'";
const BOOL_RESULT_HINT: &str = "use it alone, or with eq true / eq false";

/// Parses a filter. Grammar (precedence not > and > or, left-associative):
/// `or := and ('or' and)*`, `and := unary ('and' unary)*`, `unary := 'not' unary | primary`,
/// `primary := '(' or ')' | col op lit | lit op col | col 'in' '(' lit (',' lit)* ')'
///           | func '(' col ',' 'text' ')' (('eq'|'ne') ('true'|'false'))?`.
pub fn parse(src: &str) -> Result<Expr, FilterError> {
    if src.trim().is_empty() {
        return Err(FilterError::new(0, "the filter is empty")
            .hint("write a condition such as statecode eq 0, or leave the filter out"));
    }
    let mut p = Parser {
        src,
        toks: lex(src),
        pos: 0,
        depth: 0,
    };
    let expr = p.or_expr()?;
    let t = p.peek()?.clone();
    match t.tok {
        Tok::End => Ok(expr),
        Tok::RParen => Err(FilterError::new(
            t.offset,
            "unbalanced parenthesis: this ')' has no matching '('",
        )
        .hint("remove it, or add the missing '(' earlier")),
        _ => {
            let hint = keyword_case_hint(&t)
                .unwrap_or_else(|| "join conditions with 'and' or 'or'".into());
            let msg = format!("unexpected {} after a complete condition", p.describe(&t));
            Err(FilterError::new(t.offset, msg).hint(hint))
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    /// Never empty; the last token is `End` or `Error`, and `pos` never moves past it.
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Result<&Token, FilterError> {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> Result<&Token, FilterError> {
        let last = self.toks.len() - 1;
        let t = &self.toks[(self.pos + ahead).min(last)];
        match &t.tok {
            Tok::Error(e) => Err(e.clone()),
            _ => Ok(t),
        }
    }

    fn bump(&mut self) {
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
    }

    fn at_kw(&self, kw: Kw) -> Result<bool, FilterError> {
        Ok(matches!(self.peek()?.tok, Tok::Kw(k) if k == kw))
    }

    /// How a token is named in messages: `'equals'`, `'it''s'`, `end of input`.
    fn describe(&self, t: &Token) -> String {
        match t.tok {
            Tok::End => "end of input".into(),
            Tok::Lit(Value::Text(_)) => self.src[t.offset..t.offset + t.len].to_string(),
            _ => format!("'{}'", &self.src[t.offset..t.offset + t.len]),
        }
    }

    /// An error at `t` reading "{what}, found {t}".
    fn found(&self, t: &Token, what: impl fmt::Display) -> FilterError {
        FilterError::new(t.offset, format!("{what}, found {}", self.describe(t)))
    }

    fn unclosed(open: usize) -> FilterError {
        FilterError::new(open, "unbalanced parenthesis: this '(' is never closed")
            .hint("add the missing ')'")
    }

    fn enter(&mut self, offset: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let msg = format!("the filter nests deeper than {MAX_DEPTH} levels");
            return Err(FilterError::new(offset, msg).hint("simplify the filter"));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and_expr()?;
        while self.at_kw(Kw::Or)? {
            self.bump();
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.at_kw(Kw::And)? {
            self.bump();
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if !self.at_kw(Kw::Not)? {
            return self.primary();
        }
        let offset = self.peek()?.offset;
        self.enter(offset)?;
        self.bump();
        let inner = self.unary()?;
        self.depth -= 1;
        Ok(Expr::Not(Box::new(inner)))
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::LParen => {
                self.enter(t.offset)?;
                self.bump();
                let inner = self.or_expr()?;
                let close = self.peek()?.clone();
                match close.tok {
                    Tok::RParen => self.bump(),
                    Tok::End => return Err(Self::unclosed(t.offset)),
                    _ => {
                        let e = self.found(&close, "expected ')', 'and' or 'or'");
                        return Err(e.maybe_hint(keyword_case_hint(&close)));
                    }
                }
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Ident(name) => {
                self.bump();
                if matches!(self.peek()?.tok, Tok::LParen) {
                    self.function(&name, t.offset)
                } else {
                    self.column_predicate(Col::new(name, t.offset))
                }
            }
            Tok::Lit(ref value) => {
                self.bump();
                self.literal_first(Lit::new(value.clone(), t.offset), &t)
            }
            _ => {
                let after = match self.pos.checked_sub(1) {
                    Some(prev) => format!(" after {}", self.describe(&self.toks[prev])),
                    None => String::new(),
                };
                let hint = match t.tok {
                    Tok::RParen if after == " after '('" => {
                        "empty parentheses; put a condition inside"
                    }
                    Tok::Kw(Kw::Op(_) | Kw::In) => {
                        "a comparison needs a column on its left, e.g. statecode eq 0"
                    }
                    _ => CONDITION_HINT,
                };
                Err(self
                    .found(&t, format!("expected a condition{after}"))
                    .hint(hint))
            }
        }
    }

    fn column_predicate(&mut self, column: Col) -> Result<Expr, FilterError> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::Kw(Kw::Op(op)) => {
                self.bump();
                let value = self.value(&format!("after '{op}'"), &column)?;
                Ok(Expr::Cmp { column, op, value })
            }
            Tok::Kw(Kw::In) => {
                self.bump();
                self.in_list(column)
            }
            _ => {
                let what = format!(
                    "expected a comparison operator (eq, ne, gt, ge, lt, le) after column '{}'",
                    column.name
                );
                Err(self
                    .found(&t, what)
                    .maybe_hint(operator_hint(&t, &column.name)))
            }
        }
    }

    /// A literal value where one is required; `context` reads like "after 'eq'".
    fn value(&mut self, context: &str, column: &Col) -> Result<Lit, FilterError> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::Lit(value) => {
                self.bump();
                Ok(Lit::new(value, t.offset))
            }
            Tok::Ident(ref word) => {
                let msg = format!("expected a value {context}, found the name '{word}'");
                let hint = keyword_case_hint(&t).unwrap_or_else(|| {
                    format!(
                        "comparing column '{}' with another column is not supported; \
                         if '{word}' is text, quote it: '{word}'",
                        column.name
                    )
                });
                Err(FilterError::new(t.offset, msg).hint(hint))
            }
            _ => {
                let hint = if matches!(t.tok, Tok::RParen) && context.starts_with("in the list") {
                    "remove the trailing comma".to_string()
                } else {
                    format!("values are null, true, false, 'text', or unquoted {UNQUOTED_FORMS}")
                };
                Err(self
                    .found(&t, format!("expected a value {context}"))
                    .hint(hint))
            }
        }
    }

    fn in_list(&mut self, column: Col) -> Result<Expr, FilterError> {
        let open = self.peek()?.clone();
        if !matches!(open.tok, Tok::LParen) {
            let hint = format!("write a list, e.g. {} in (1, 2, 3)", column.name);
            return Err(self.found(&open, "expected '(' after 'in'").hint(hint));
        }
        self.bump();
        if matches!(self.peek()?.tok, Tok::RParen) {
            let hint = format!("list at least one value, e.g. {} in (1, 2)", column.name);
            return Err(FilterError::new(open.offset, "empty list after 'in'").hint(hint));
        }
        let mut values = Vec::new();
        loop {
            values.push(self.value("in the list after 'in'", &column)?);
            let t = self.peek()?.clone();
            match t.tok {
                Tok::Comma => self.bump(),
                Tok::RParen => {
                    self.bump();
                    return Ok(Expr::In { column, values });
                }
                Tok::End => return Err(Self::unclosed(open.offset)),
                _ => {
                    let e = self.found(&t, "expected ',' or ')' in the list after 'in'");
                    return Err(e.hint("separate values with commas"));
                }
            }
        }
    }

    /// One part of a function call: `accept` takes the next token or the call is malformed
    /// (reported as an unclosed `(` at `open` if the input ends).
    fn call_part<T>(
        &mut self,
        open: usize,
        what: &str,
        usage: &str,
        accept: impl Fn(&Tok) -> Option<T>,
    ) -> Result<(T, usize), FilterError> {
        let t = self.peek()?.clone();
        match (accept(&t.tok), &t.tok) {
            (Some(part), _) => {
                self.bump();
                Ok((part, t.offset))
            }
            (None, Tok::End) => Err(Self::unclosed(open)),
            (None, _) => Err(self.found(&t, what).hint(usage)),
        }
    }

    /// `func(column, 'text')`, optionally followed by `eq true` / `eq false` / `ne ...`.
    fn function(&mut self, name: &str, offset: usize) -> Result<Expr, FilterError> {
        let Some(func) = StrFunc::ALL.into_iter().find(|f| f.name() == name) else {
            return Err(unknown_function(name, offset));
        };
        let open = self.peek()?.offset;
        self.bump();
        let usage = format!("write {func}(column, 'text')");
        let first = format!("the first argument of {func} must be a column name");
        let (col, col_offset) = self.call_part(open, &first, &usage, |t| match t {
            Tok::Ident(name) => Some(name.clone()),
            _ => None,
        })?;
        let comma = format!("expected ',' after the column in {func}(...)");
        self.call_part(open, &comma, &usage, |t| {
            matches!(t, Tok::Comma).then_some(())
        })?;
        let second = format!("the second argument of {func} must be quoted text");
        let (arg, _) = self.call_part(open, &second, &usage, |t| match t {
            Tok::Lit(Value::Text(s)) => Some(s.clone()),
            _ => None,
        })?;
        let close = format!("{func} takes two arguments; expected ')'");
        self.call_part(open, &close, &usage, |t| {
            matches!(t, Tok::RParen).then_some(())
        })?;
        let call = Expr::Func {
            func,
            column: Col::new(col, col_offset),
            arg,
        };

        // Optional `eq true` and friends.
        let t = self.peek()?.clone();
        let Tok::Kw(Kw::Op(op)) = t.tok else {
            return Ok(call);
        };
        if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            let msg = format!("{func}(...) is true or false and cannot be compared with '{op}'");
            return Err(FilterError::new(t.offset, msg).hint(BOOL_RESULT_HINT));
        }
        self.bump();
        let b = self.peek()?.clone();
        let Tok::Lit(Value::Bool(want)) = b.tok else {
            let what = format!("{func}(...) can only be compared with true or false");
            return Err(self.found(&b, what).hint(BOOL_RESULT_HINT));
        };
        self.bump();
        Ok(if (op == CmpOp::Eq) == want {
            call
        } else {
            Expr::Not(Box::new(call))
        })
    }

    /// `literal op column`, turned around into `column op' literal`.
    fn literal_first(&mut self, value: Lit, lit_tok: &Token) -> Result<Expr, FilterError> {
        let t = self.peek()?.clone();
        let op = match t.tok {
            Tok::Kw(Kw::Op(op)) => op,
            Tok::Kw(Kw::In) => {
                let e = FilterError::new(t.offset, "'in' needs a column on its left");
                return Err(e.hint("write column in (1, 2, 3)"));
            }
            _ => {
                let what = format!(
                    "expected a comparison operator (eq, ne, gt, ge, lt, le) after the value {}",
                    self.describe(lit_tok)
                );
                return Err(self.found(&t, what).hint(CONDITION_HINT));
            }
        };
        self.bump();
        let c = self.peek()?.clone();
        match c.tok {
            Tok::Ident(name) if !matches!(self.peek_at(1)?.tok, Tok::LParen) => {
                self.bump();
                Ok(Expr::Cmp {
                    column: Col::new(name, c.offset),
                    op: op.flipped(),
                    value,
                })
            }
            Tok::Lit(_) => Err(FilterError::new(
                c.offset,
                format!("both sides of '{op}' are values"),
            )
            .hint("one side must be a column, e.g. statecode eq 0")),
            _ => Err(self
                .found(&c, format!("expected a column name after '{op}'"))
                .hint("compare a column with a value, e.g. statecode eq 0")),
        }
    }
}

/// `'AND'` → "keywords are lowercase: write 'and'".
fn keyword_case_hint(t: &Token) -> Option<String> {
    let Tok::Ident(word) = &t.tok else {
        return None;
    };
    let lower = word.to_ascii_lowercase();
    KEYWORDS
        .contains(&lower.as_str())
        .then(|| format!("keywords are lowercase: write '{lower}'"))
}

/// Hints for what stands where a comparison operator should be.
fn operator_hint(t: &Token, column: &str) -> Option<String> {
    let word = match &t.tok {
        Tok::Ident(w) => w.to_ascii_lowercase(),
        Tok::End => {
            return Some(format!(
                "a column alone is not a condition; compare it, e.g. {column} eq true"
            ));
        }
        Tok::Lit(_) => {
            return Some(format!(
                "put an operator between the column and the value, e.g. {column} eq ..."
            ));
        }
        _ => return None,
    };
    let ops = ["eq", "ne", "gt", "ge", "lt", "le", "in"];
    Some(match word.as_str() {
        "equals" | "equal" | "is" => "OData spells equality 'eq'".into(),
        "like" => format!("use contains({column}, 'text'), startswith or endswith"),
        "between" => format!("use {column} ge low and {column} le high"),
        w if ops.contains(&w) => format!("operators are lowercase: write '{w}'"),
        w => {
            let op = ops
                .iter()
                .find(|op| w.len() <= 3 && edit_distance(w, op) <= 1)?;
            format!("did you mean '{op}'?")
        }
    })
}

fn unknown_function(name: &str, offset: usize) -> FilterError {
    let err = FilterError::new(offset, format!("unknown function '{name}'"));
    let lower = name.to_ascii_lowercase();
    if let Some(f) = StrFunc::ALL.iter().find(|f| f.name() == lower) {
        return err.hint(format!("function names are lowercase: write '{f}'"));
    }
    if lower == "substringof" {
        return err.hint("use contains(column, 'text')");
    }
    match StrFunc::ALL
        .iter()
        .min_by_key(|f| edit_distance(&lower, f.name()))
    {
        Some(f) if edit_distance(&lower, f.name()) <= 2 => err.hint(format!("did you mean '{f}'?")),
        _ => err.hint("the supported functions are startswith, endswith and contains"),
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Printer
// ---------------------------------------------------------------------------------------------

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "'{}'", s.replace('\'', "''"))
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Decimal(d) => {
                // A decimal with no point would read back as an integer.
                let s = d.to_string();
                if s.contains('.') {
                    f.write_str(&s)
                } else {
                    write!(f, "{s}.0")
                }
            }
            Value::Text(s) => write_quoted(f, s),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::DateTime(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Value::Guid(g) => write!(f, "{}", g.hyphenated()),
        }
    }
}

/// Binding strength for parenthesizing: or < and < everything else.
fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Or(..) => 1,
        Expr::And(..) => 2,
        _ => 3,
    }
}

/// Writes an operand of a left-associative binary operator of precedence `parent`.
fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr, parent: u8, right: bool) -> fmt::Result {
    let p = precedence(e);
    if p < parent || (right && p == parent) {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cmp { column, op, value } => write!(f, "{} {op} {value}", column.name),
            Expr::In { column, values } => {
                write!(f, "{} in (", column.name)?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Expr::Func { func, column, arg } => {
                write!(f, "{func}({}, ", column.name)?;
                write_quoted(f, arg)?;
                f.write_str(")")
            }
            Expr::And(l, r) | Expr::Or(l, r) => {
                let (p, word) = if matches!(self, Expr::And(..)) {
                    (2, " and ")
                } else {
                    (1, " or ")
                };
                write_operand(f, l, p, false)?;
                f.write_str(word)?;
                write_operand(f, r, p, true)
            }
            Expr::Not(e) => write!(f, "not ({e})"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluator
// ---------------------------------------------------------------------------------------------

/// A record to evaluate a filter against. A missing column reads as null.
pub trait Row {
    fn get(&self, column: &str) -> Option<&Value>;
}

impl<S: BuildHasher> Row for HashMap<String, Value, S> {
    fn get(&self, column: &str) -> Option<&Value> {
        HashMap::get(self, column)
    }
}

impl Row for BTreeMap<String, Value> {
    fn get(&self, column: &str) -> Option<&Value> {
        BTreeMap::get(self, column)
    }
}

static NULL: Value = Value::Null;

/// `eq null` / `ne null` test for null; any other comparison with null, or between types that
/// do not compare, is false. Integers and decimals compare exactly.
fn compare(v: &Value, op: CmpOp, lit: &Value) -> bool {
    match (v, lit) {
        (_, Value::Null) => match op {
            CmpOp::Eq => v.is_null(),
            CmpOp::Ne => !v.is_null(),
            _ => false,
        },
        (Value::Null, _) => false,
        _ => v.compare(lit).is_some_and(|ord| op.holds(ord)),
    }
}

impl Expr {
    /// Whether `row` matches this filter.
    pub fn eval(&self, row: &dyn Row) -> bool {
        let lookup = |c: &Col| row.get(&c.name).unwrap_or(&NULL);
        match self {
            Expr::Cmp { column, op, value } => compare(lookup(column), *op, &value.value),
            Expr::In { column, values } => {
                let v = lookup(column);
                values.iter().any(|l| compare(v, CmpOp::Eq, &l.value))
            }
            Expr::Func { func, column, arg } => {
                matches!(lookup(column), Value::Text(s) if func.apply(s, arg))
            }
            Expr::And(l, r) => l.eval(row) && r.eval(row),
            Expr::Or(l, r) => l.eval(row) || r.eval(row),
            Expr::Not(e) => !e.eval(row),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Type check
// ---------------------------------------------------------------------------------------------

fn literal_hint(column_type: ValueType) -> &'static str {
    match column_type {
        ValueType::Bool => "write true or false without quotes",
        ValueType::Int => "write a whole number without quotes, e.g. 42",
        ValueType::Decimal => "write a number without quotes, e.g. 100.50",
        ValueType::Text => "quote text in single quotes, e.g. 'Contoso'",
        ValueType::Date => "write a date without quotes, e.g. 2024-01-31",
        ValueType::DateTime => "write a datetime without quotes, e.g. 2024-01-31T10:00:00Z",
        ValueType::Guid => {
            "write a GUID without quotes or braces, e.g. 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c"
        }
    }
}

/// Reports every literal that cannot be compared with its column's type, and every string
/// function applied to a non-text column. Columns for which `column_type` returns `None` are
/// not type-checked; an ordering comparison with `null` (never true) is reported regardless.
pub fn check_types(
    expr: &Expr,
    column_type: &dyn Fn(&str) -> Option<ValueType>,
) -> Vec<FilterError> {
    let mut errors = Vec::new();
    check_into(expr, column_type, &mut errors);
    errors
}

fn check_literal(
    column: &Col,
    op: CmpOp,
    lit: &Lit,
    ty: Option<ValueType>,
    errors: &mut Vec<FilterError>,
) {
    let Some(lit_type) = lit.value.value_type() else {
        if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            let msg = format!(
                "column '{}' is compared with null using '{op}', which is never true",
                column.name
            );
            errors.push(FilterError::new(lit.offset, msg).hint(format!(
                "null only works with eq and ne, e.g. {} ne null",
                column.name
            )));
        }
        return;
    };
    if let Some(ty) = ty.filter(|ty| !ty.comparable_with(lit_type)) {
        let msg = format!(
            "column '{}' is {ty} but is compared with {lit_type} {lit}",
            column.name
        );
        errors.push(FilterError::new(lit.offset, msg).hint(literal_hint(ty)));
    }
}

fn check_into(
    expr: &Expr,
    column_type: &dyn Fn(&str) -> Option<ValueType>,
    errors: &mut Vec<FilterError>,
) {
    match expr {
        Expr::Cmp { column, op, value } => {
            check_literal(column, *op, value, column_type(&column.name), errors)
        }
        Expr::In { column, values } => {
            let ty = column_type(&column.name);
            for v in values {
                check_literal(column, CmpOp::Eq, v, ty, errors);
            }
        }
        Expr::Func { func, column, .. } => {
            if let Some(ty) = column_type(&column.name).filter(|ty| *ty != ValueType::Text) {
                let msg = format!(
                    "column '{}' is {ty} but {func} needs a text column",
                    column.name
                );
                errors.push(FilterError::new(column.offset, msg).hint(format!(
                    "startswith, endswith and contains only apply to text; compare a {ty} column with eq, gt, ..."
                )));
            }
        }
        Expr::And(l, r) | Expr::Or(l, r) => {
            check_into(l, column_type, errors);
            check_into(r, column_type, errors);
        }
        Expr::Not(e) => check_into(e, column_type, errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(src: &str) -> Expr {
        parse(src).unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
    }

    fn err(src: &str) -> FilterError {
        match parse(src) {
            Ok(e) => panic!("{src:?} should not parse, got {e:?}"),
            Err(e) => e,
        }
    }

    /// Asserts the error for `src`, shown as "message (at byte N); hint: ...".
    fn assert_err(src: &str, expected: &str) {
        assert_eq!(err(src).to_string(), expected, "{src:?}");
    }

    fn cmp(column: &str, op: CmpOp, value: Value) -> Expr {
        Expr::Cmp {
            column: Col::new(column, 0),
            op,
            value: Lit::new(value, 0),
        }
    }

    fn func(func: StrFunc, column: &str, arg: &str) -> Expr {
        Expr::Func {
            func,
            column: Col::new(column, 0),
            arg: arg.into(),
        }
    }

    fn and(l: Expr, r: Expr) -> Expr {
        Expr::And(Box::new(l), Box::new(r))
    }

    fn or(l: Expr, r: Expr) -> Expr {
        Expr::Or(Box::new(l), Box::new(r))
    }

    fn not(e: Expr) -> Expr {
        Expr::Not(Box::new(e))
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(Decimal::from_str_exact(s).unwrap())
    }

    fn date(s: &str) -> Value {
        Value::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    fn datetime(s: &str) -> Value {
        Value::DateTime(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    fn guid(s: &str) -> Value {
        Value::Guid(Uuid::parse_str(s).unwrap())
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    const G: &str = "5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c";

    // --- parsing ---------------------------------------------------------------------------

    #[test]
    fn parses_the_documented_examples() {
        use CmpOp::*;
        assert_eq!(
            p("msdyn_skipsync eq false and startswith(name,'A')"),
            and(
                cmp("msdyn_skipsync", Eq, Value::Bool(false)),
                func(StrFunc::StartsWith, "name", "A")
            )
        );
        assert_eq!(
            p("msdyn_transactiontypecode in (192350000, 192350005) and msdyn_amount lt -0.5"),
            and(
                Expr::In {
                    column: Col::new("msdyn_transactiontypecode", 0),
                    values: vec![
                        Lit::new(Value::Int(192350000), 0),
                        Lit::new(Value::Int(192350005), 0)
                    ],
                },
                cmp("msdyn_amount", Lt, dec("-0.5"))
            )
        );
        assert_eq!(
            p("not (statecode eq 1) or msdyn_documentdate ge 2024-01-31"),
            or(
                not(cmp("statecode", Eq, Value::Int(1))),
                cmp("msdyn_documentdate", Ge, date("2024-01-31"))
            )
        );
        assert_eq!(
            p(&format!("msdyn_projectid eq {G}")),
            cmp("msdyn_projectid", Eq, guid(G))
        );
        assert_eq!(
            p("modifiedon lt 2024-02-01T10:00:00Z"),
            cmp("modifiedon", Lt, datetime("2024-02-01T10:00:00Z"))
        );
        assert_eq!(p("parent eq null"), cmp("parent", Eq, Value::Null));
        assert_eq!(p("a ne 1"), cmp("a", Ne, Value::Int(1)));
        assert_eq!(p("a gt 1"), cmp("a", Gt, Value::Int(1)));
        assert_eq!(p("a le 1"), cmp("a", Le, Value::Int(1)));
        assert_eq!(p("endswith(a,'x')"), func(StrFunc::EndsWith, "a", "x"));
        assert_eq!(
            p(" contains ( a , 'x' ) "),
            func(StrFunc::Contains, "a", "x")
        );
    }

    #[test]
    fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
        let (a, b, c) = (
            cmp("a", CmpOp::Eq, Value::Int(1)),
            cmp("b", CmpOp::Eq, Value::Int(2)),
            cmp("c", CmpOp::Eq, Value::Int(3)),
        );
        assert_eq!(
            p("a eq 1 or b eq 2 and c eq 3"),
            or(a.clone(), and(b.clone(), c.clone()))
        );
        assert_eq!(
            p("a eq 1 and b eq 2 or c eq 3"),
            or(and(a.clone(), b.clone()), c.clone())
        );
        assert_eq!(p("not a eq 1 and b eq 2"), and(not(a.clone()), b.clone()));
        assert_eq!(p("not not a eq 1"), not(not(a.clone())));
        assert_eq!(
            p("(a eq 1 or b eq 2) and c eq 3"),
            and(or(a.clone(), b.clone()), c.clone())
        );
        // left-associative
        assert_eq!(
            p("a eq 1 or b eq 2 or c eq 3"),
            or(or(a.clone(), b.clone()), c.clone())
        );
        assert_eq!(p("a eq 1 and (b eq 2 and c eq 3)"), and(a, and(b, c)));
    }

    #[test]
    fn columns_and_literals_carry_their_offsets() {
        let src = "  amount gt 10 and code in (1, 'x') or startswith(name, 'A')";
        let e = p(src);
        let cols: Vec<(&str, usize)> = e
            .columns()
            .iter()
            .map(|c| (c.name.as_str(), c.offset))
            .collect();
        assert_eq!(cols, vec![("amount", 2), ("code", 19), ("name", 50)]);
        let Expr::Or(l, _) = &e else { panic!() };
        let Expr::And(cmp, list) = &**l else { panic!() };
        let Expr::Cmp { value, .. } = &**cmp else {
            panic!()
        };
        assert_eq!(value.offset, 12);
        let Expr::In { values, .. } = &**list else {
            panic!()
        };
        assert_eq!(
            values.iter().map(|v| v.offset).collect::<Vec<_>>(),
            vec![28, 31]
        );
        // The same column twice is listed twice.
        assert_eq!(p("a eq 1 or a eq 2").columns().len(), 2);
    }

    #[test]
    fn literals_of_every_type() {
        let lit = |src: &str| match p(&format!("c eq {src}")) {
            Expr::Cmp { value, .. } => value.value,
            other => panic!("{other:?}"),
        };
        assert_eq!(lit("null"), Value::Null);
        assert_eq!(lit("true"), Value::Bool(true));
        assert_eq!(lit("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(lit("007"), Value::Int(7));
        let Value::Decimal(d) = lit("-12.50") else {
            panic!()
        };
        assert_eq!((d.to_string(), d.scale()), ("-12.50".to_string(), 2));
        assert_eq!(
            lit("0.0000000000000000000000000001"),
            dec("0.0000000000000000000000000001")
        );
        assert_eq!(lit("'it''s'"), text("it's"));
        assert_eq!(lit("''''"), text("'"));
        assert_eq!(lit("''"), text(""));
        assert_eq!(lit("'Ünïcödé ✓'"), text("Ünïcödé ✓"));
        assert_eq!(lit("2024-02-29"), date("2024-02-29"));
        assert_eq!(
            lit("2024-02-01T12:30:00+02:00"),
            datetime("2024-02-01T10:30:00Z")
        );
        assert_eq!(
            lit("2024-02-01T10:00:00.123456789Z"),
            datetime("2024-02-01T10:00:00.123456789Z")
        );
        assert_eq!(
            lit("2024-01-01T00:30:00-01:00"),
            datetime("2024-01-01T01:30:00Z")
        );
        // GUIDs: case-insensitive, and ones that start like a date or with a hex letter.
        assert_eq!(lit(&G.to_uppercase()), guid(G));
        assert_eq!(
            lit("20240101-0000-4e1a-9c3b-2d4e6f8a0b1c"),
            guid("20240101-0000-4e1a-9c3b-2d4e6f8a0b1c")
        );
        assert_eq!(
            lit("abcdef12-8b7d-4e1a-9c3b-2d4e6f8a0b1c"),
            guid("abcdef12-8b7d-4e1a-9c3b-2d4e6f8a0b1c")
        );
        assert_eq!(p(&format!("c in ({G},{G})")).columns()[0].name, "c");
    }

    #[test]
    fn literal_on_the_left_is_turned_around() {
        assert_eq!(p("5 lt amount"), cmp("amount", CmpOp::Gt, Value::Int(5)));
        assert_eq!(p("5 ge amount"), cmp("amount", CmpOp::Le, Value::Int(5)));
        assert_eq!(p("null eq parent"), cmp("parent", CmpOp::Eq, Value::Null));
        assert_eq!(p("5 lt amount").columns()[0].offset, 5);
    }

    #[test]
    fn function_compared_with_a_boolean() {
        let f = func(StrFunc::StartsWith, "name", "x");
        assert_eq!(p("startswith(name,'x') eq true"), f);
        assert_eq!(p("startswith(name,'x') ne false"), f);
        assert_eq!(p("startswith(name,'x') eq false"), not(f.clone()));
        assert_eq!(
            p("startswith(name,'x') ne true and a eq 1"),
            and(not(f), cmp("a", CmpOp::Eq, Value::Int(1)))
        );
        assert_err(
            "startswith(name,'x') gt true",
            "startswith(...) is true or false and cannot be compared with 'gt' (at byte 21); hint: use it alone, or with eq true / eq false",
        );
        assert_err(
            "startswith(name,'x') eq 1",
            "startswith(...) can only be compared with true or false, found '1' (at byte 24); hint: use it alone, or with eq true / eq false",
        );
    }

    #[test]
    fn keywords_are_lowercase_and_reserved() {
        assert_eq!(p("Eq eq 1"), cmp("Eq", CmpOp::Eq, Value::Int(1)));
        assert_eq!(
            p("contains eq 1"),
            cmp("contains", CmpOp::Eq, Value::Int(1))
        );
        assert_err(
            "a eq 1 AND b eq 2",
            "unexpected 'AND' after a complete condition (at byte 7); hint: keywords are lowercase: write 'and'",
        );
        assert_err(
            "a EQ 1",
            "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'a', found 'EQ' (at byte 2); hint: operators are lowercase: write 'eq'",
        );
        assert_err(
            "a eq True",
            "expected a value after 'eq', found the name 'True' (at byte 5); hint: keywords are lowercase: write 'true'",
        );
        assert_err(
            "null eq 1",
            "both sides of 'eq' are values (at byte 8); hint: one side must be a column, e.g. statecode eq 0",
        );
        assert_err(
            "and eq 1",
            &format!("expected a condition, found 'and' (at byte 0); hint: {CONDITION_HINT}"),
        );
    }

    // --- errors ------------------------------------------------------------------------------

    #[test]
    fn wrong_operator_word() {
        assert_err(
            "msdyn_amount equals 5",
            "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'msdyn_amount', found 'equals' (at byte 13); hint: OData spells equality 'eq'",
        );
        assert_eq!(err("a eqq 5").hint.as_deref(), Some("did you mean 'eq'?"));
        assert_eq!(
            err("a like 'x'").hint.as_deref(),
            Some("use contains(a, 'text'), startswith or endswith")
        );
        assert_eq!(err("a frobnicates 5").hint, None);
        assert_err(
            "a",
            "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'a', found end of input (at byte 1); hint: a column alone is not a condition; compare it, e.g. a eq true",
        );
        assert_eq!(
            err("a 'x'").message,
            "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'a', found 'x'"
        );
    }

    #[test]
    fn operators_from_other_languages() {
        let eq = "OData spells equality 'eq'";
        for (src, at, sym, hint) in [
            ("a == 1", 2, "==", eq),
            ("a = 1", 2, "=", eq),
            ("a eq 1 && b eq 2", 7, "&&", "write 'and' instead"),
            ("a eq 1 || b eq 2", 7, "||", "write 'or' instead"),
            ("a != 1", 2, "!=", "write 'ne' instead"),
            ("a <> 1", 2, "<>", "write 'ne' instead"),
            ("a >= 1", 2, ">=", "write 'ge' instead"),
            ("a < 1", 2, "<", "write 'lt' instead"),
            ("!(a eq 1)", 0, "!", "write 'not' instead"),
        ] {
            assert_err(
                src,
                &format!("'{sym}' is not a filter operator (at byte {at}); hint: {hint}"),
            );
        }
    }

    #[test]
    fn unterminated_text_points_at_the_opening_quote() {
        assert_err(
            "name eq 'abc",
            "unterminated text: this quote is never closed (at byte 8); hint: end the text with ' (write '' for a quote inside text)",
        );
        assert_eq!(err("name eq 'it''s").offset, 8);
        assert_eq!(err("startswith(name, 'x) and a eq 1").offset, 17);
    }

    #[test]
    fn unbalanced_parentheses() {
        assert_err(
            "(a eq 1 or (b eq 2)",
            "unbalanced parenthesis: this '(' is never closed (at byte 0); hint: add the missing ')'",
        );
        assert_err(
            "a eq 1)",
            "unbalanced parenthesis: this ')' has no matching '(' (at byte 6); hint: remove it, or add the missing '(' earlier",
        );
        assert_err(
            "(a eq 1 b eq 2)",
            "expected ')', 'and' or 'or', found 'b' (at byte 8)",
        );
        assert_err(
            "()",
            "expected a condition after '(', found ')' (at byte 1); hint: empty parentheses; put a condition inside",
        );
        assert_err(
            "a in (1, 2",
            "unbalanced parenthesis: this '(' is never closed (at byte 5); hint: add the missing ')'",
        );
        assert_err(
            "startswith(name, 'x'",
            "unbalanced parenthesis: this '(' is never closed (at byte 10); hint: add the missing ')'",
        );
    }

    #[test]
    fn in_list_errors() {
        assert_err(
            "code in ()",
            "empty list after 'in' (at byte 8); hint: list at least one value, e.g. code in (1, 2)",
        );
        assert_err(
            "code in (1,)",
            "expected a value in the list after 'in', found ')' (at byte 11); hint: remove the trailing comma",
        );
        assert_err(
            "code in (1 2)",
            "expected ',' or ')' in the list after 'in', found '2' (at byte 11); hint: separate values with commas",
        );
        assert_err(
            "code in 1",
            "expected '(' after 'in', found '1' (at byte 8); hint: write a list, e.g. code in (1, 2, 3)",
        );
        assert_err(
            "1 in (1)",
            "'in' needs a column on its left (at byte 2); hint: write column in (1, 2, 3)",
        );
    }

    #[test]
    fn unknown_functions() {
        assert_err(
            "startwith(name,'A')",
            "unknown function 'startwith' (at byte 0); hint: did you mean 'startswith'?",
        );
        assert_eq!(err("a eq 1 and endwith(name,'A')").offset, 11);
        assert_eq!(
            err("StartsWith(name,'A')").hint.as_deref(),
            Some("function names are lowercase: write 'startswith'")
        );
        assert_eq!(
            err("substringof('A',name)").hint.as_deref(),
            Some("use contains(column, 'text')")
        );
        assert_eq!(
            err("tolower(name) eq 'a'").hint.as_deref(),
            Some("the supported functions are startswith, endswith and contains")
        );
    }

    #[test]
    fn function_argument_errors() {
        let usage = "write startswith(column, 'text')";
        assert_err(
            "startswith('A', name)",
            &format!(
                "the first argument of startswith must be a column name, found 'A' (at byte 11); hint: {usage}"
            ),
        );
        assert_err(
            "startswith(name 'A')",
            &format!(
                "expected ',' after the column in startswith(...), found 'A' (at byte 16); hint: {usage}"
            ),
        );
        assert_err(
            "startswith(name, 5)",
            &format!(
                "the second argument of startswith must be quoted text, found '5' (at byte 17); hint: {usage}"
            ),
        );
        assert_err(
            "startswith(name, 'A', 'B')",
            &format!(
                "startswith takes two arguments; expected ')', found ',' (at byte 20); hint: {usage}"
            ),
        );
    }

    #[test]
    fn misplaced_or_missing_conditions() {
        assert_err(
            "",
            "the filter is empty (at byte 0); hint: write a condition such as statecode eq 0, or leave the filter out",
        );
        assert_err(
            "   ",
            "the filter is empty (at byte 0); hint: write a condition such as statecode eq 0, or leave the filter out",
        );
        assert_err(
            "a eq 1 and",
            &format!(
                "expected a condition after 'and', found end of input (at byte 10); hint: {CONDITION_HINT}"
            ),
        );
        assert_err(
            "not",
            &format!(
                "expected a condition after 'not', found end of input (at byte 3); hint: {CONDITION_HINT}"
            ),
        );
        assert_err(
            "eq 1",
            "expected a condition, found 'eq' (at byte 0); hint: a comparison needs a column on its left, e.g. statecode eq 0",
        );
        assert_err(
            "a eq 1 b eq 2",
            "unexpected 'b' after a complete condition (at byte 7); hint: join conditions with 'and' or 'or'",
        );
        assert_err(
            "a eq",
            &format!(
                "expected a value after 'eq', found end of input (at byte 4); hint: values are null, true, false, 'text', or unquoted {UNQUOTED_FORMS}"
            ),
        );
        assert_err(
            "a eq b",
            "expected a value after 'eq', found the name 'b' (at byte 5); hint: comparing column 'a' with another column is not supported; if 'b' is text, quote it: 'b'",
        );
        assert_err(
            "a eq 2 and x",
            "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'x', found end of input (at byte 12); hint: a column alone is not a condition; compare it, e.g. x eq true",
        );
        assert_err(
            "name eq \"abc\"",
            "text must be in single quotes, not double quotes (at byte 8); hint: write 'Contoso' (and '' for a quote inside text, as in 'O''Brien')",
        );
        assert_err(
            "id eq {5f3a1c2e}",
            "unexpected character '{' (at byte 6); hint: write GUIDs bare, without braces: 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c",
        );
        assert_err("a eq 1 § b", "unexpected character '§' (at byte 7)");
    }

    #[test]
    fn malformed_literals() {
        let forms = format!("values are {UNQUOTED_FORMS}");
        assert_err(
            "d eq 2024-02-30",
            "'2024-02-30' is not a valid date (at byte 5); hint: write dates as YYYY-MM-DD, e.g. 2024-01-31",
        );
        assert_err(
            "d eq 2024-02-01T10:00:00",
            "datetime '2024-02-01T10:00:00' has no time zone (at byte 5); hint: add Z for UTC (2024-02-01T10:00:00Z) or an offset like +01:00",
        );
        assert_err(
            "d eq 2024-02-01T10:00Z",
            &format!("malformed datetime '2024-02-01T10:00Z' (at byte 5); hint: {DATETIME_HINT}"),
        );
        assert_err(
            "d eq 2024-02-01T25:00:00Z",
            &format!(
                "'2024-02-01T25:00:00Z' is not a valid datetime (at byte 5); hint: {DATETIME_HINT}"
            ),
        );
        assert_err(
            "d eq 2024-01",
            &format!("malformed value '2024-01' (at byte 5); hint: {forms}"),
        );
        assert_err(
            "a eq 12abc",
            &format!("malformed value '12abc' (at byte 5); hint: {forms}"),
        );
        assert_err(
            "a eq 1.",
            &format!("malformed value '1.' (at byte 5); hint: {forms}"),
        );
        assert_err(
            "a eq 1.2.3",
            &format!("malformed value '1.2.3' (at byte 5); hint: {forms}"),
        );
        assert_err(
            "id eq 5f3a1c2e-8b7d-4e1a-9c3b",
            &format!("malformed value '5f3a1c2e-8b7d-4e1a-9c3b' (at byte 6); hint: {forms}"),
        );
        assert_err(
            "id eq abcdef12-8b7d",
            &format!("malformed value 'abcdef12-8b7d' (at byte 6); hint: {forms}"),
        );
        assert_eq!(
            err("a eq 9223372036854775808").message,
            "integer 9223372036854775808 is out of range"
        );
        assert_eq!(
            err("a eq 1.00000000000000000000000000001").message,
            "decimal 1.00000000000000000000000000001 has too many digits"
        );
        assert_err(
            &format!("id eq guid'{G}'"),
            "guid'...' is OData v2 syntax (at byte 6); hint: write the value bare, e.g. 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c or 2024-01-31",
        );
        assert_err(
            "a eq - 1",
            "unexpected character '-' (at byte 5); hint: a minus sign must be followed directly by digits, e.g. -0.5",
        );
    }

    #[test]
    fn the_first_error_in_the_source_wins() {
        // A parse error before a lexing error is the one reported.
        assert_eq!(err("a equals 1 and b eq 'x").offset, 2);
        assert_eq!(err("a eq 'x").offset, 5);
    }

    #[test]
    fn nesting_is_limited() {
        let deep = format!(
            "{}a eq 1{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            err(&deep).message,
            format!("the filter nests deeper than {MAX_DEPTH} levels")
        );
        let ok = format!("{}a eq 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(p(&ok), cmp("a", CmpOp::Eq, Value::Int(1)));
        let nots = format!("{}a eq 1", "not ".repeat(MAX_DEPTH + 1));
        assert_eq!(err(&nots).offset, 4 * MAX_DEPTH);
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
        let no_hint = FilterError::new(3, "m");
        assert_eq!(no_hint.to_string(), "m (at byte 3)");
    }

    // --- printing ----------------------------------------------------------------------------

    #[test]
    fn display_is_canonical() {
        let cases = [
            (
                "msdyn_skipsync eq false and startswith(name,'A')",
                "msdyn_skipsync eq false and startswith(name, 'A')",
            ),
            (
                "not(statecode eq 1)or d ge 2024-01-31",
                "not (statecode eq 1) or d ge 2024-01-31",
            ),
            (
                "a eq 1 and (b eq 2 or c eq 3)",
                "a eq 1 and (b eq 2 or c eq 3)",
            ),
            (
                "(a eq 1 and b eq 2) or c eq 3",
                "a eq 1 and b eq 2 or c eq 3",
            ),
            (
                "a eq 1 or (b eq 2 or c eq 3)",
                "a eq 1 or (b eq 2 or c eq 3)",
            ),
            ("name eq 'O''Brien'", "name eq 'O''Brien'"),
            ("contains(name, '''')", "contains(name, '''')"),
            (
                "t lt 2024-02-01T12:00:00.5+02:00",
                "t lt 2024-02-01T10:00:00.500Z",
            ),
            ("amount in (-12.50, 3, null)", "amount in (-12.50, 3, null)"),
            ("5 gt amount", "amount lt 5"),
            ("startswith(n,'x') eq false", "not (startswith(n, 'x'))"),
        ];
        for (src, shown) in cases {
            assert_eq!(p(src).to_string(), shown, "{src}");
            assert_eq!(p(shown), p(src), "{shown}");
        }
        let upper = p(&format!("id eq {}", G.to_uppercase()));
        assert_eq!(upper.to_string(), format!("id eq {G}"));
    }

    #[test]
    fn whole_decimals_keep_a_point() {
        let e = cmp("a", CmpOp::Eq, Value::Decimal(Decimal::new(5, 0)));
        assert_eq!(e.to_string(), "a eq 5.0");
        assert_eq!(p(&e.to_string()), e);
        // 29 digits: "….0" does not fit a Decimal, but the zero can be dropped exactly.
        let big = cmp("a", CmpOp::Eq, dec("24791557232693970705545782892"));
        assert_eq!(big.to_string(), "a eq 24791557232693970705545782892.0");
        assert_eq!(p(&big.to_string()), big);
        let Expr::Cmp { value, .. } = p("a eq 5.0") else {
            panic!()
        };
        assert!(matches!(value.value, Value::Decimal(_)));
    }

    fn column_name() -> impl Strategy<Value = String> {
        "[A-Za-z_][A-Za-z0-9_]{0,12}"
            .prop_filter("not a keyword", |s| !KEYWORDS.contains(&s.as_str()))
    }

    fn text_value() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z' ]{0,8}", any::<String>()]
    }

    fn value() -> impl Strategy<Value = Value> {
        const MAX_96_BITS: i128 = (1 << 96) - 1;
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Value::Decimal(Decimal::new(m, s))),
            (-MAX_96_BITS..=MAX_96_BITS, 0u32..=28)
                .prop_map(|(m, s)| Value::Decimal(Decimal::from_i128_with_scale(m, s))),
            text_value().prop_map(Value::Text),
            (1i32..=3_652_059)
                .prop_map(|d| Value::Date(NaiveDate::from_num_days_from_ce_opt(d).unwrap())),
            (-62_135_596_800i64..=253_402_300_799, 0u32..1_000_000_000)
                .prop_map(|(s, n)| Value::DateTime(DateTime::from_timestamp(s, n).unwrap())),
            any::<u128>().prop_map(|g| Value::Guid(Uuid::from_u128(g))),
        ]
    }

    fn op() -> impl Strategy<Value = CmpOp> {
        prop_oneof![
            Just(CmpOp::Eq),
            Just(CmpOp::Ne),
            Just(CmpOp::Gt),
            Just(CmpOp::Ge),
            Just(CmpOp::Lt),
            Just(CmpOp::Le)
        ]
    }

    fn leaf() -> impl Strategy<Value = Expr> {
        let lit = || value().prop_map(|v| Lit::new(v, 0));
        let func = prop_oneof![
            Just(StrFunc::StartsWith),
            Just(StrFunc::EndsWith),
            Just(StrFunc::Contains)
        ];
        prop_oneof![
            (column_name(), op(), lit()).prop_map(|(c, op, value)| Expr::Cmp {
                column: Col::new(c, 0),
                op,
                value
            }),
            (column_name(), prop::collection::vec(lit(), 1..4)).prop_map(|(c, values)| Expr::In {
                column: Col::new(c, 0),
                values
            }),
            (func, column_name(), text_value()).prop_map(|(func, c, arg)| Expr::Func {
                func,
                column: Col::new(c, 0),
                arg
            }),
        ]
    }

    fn expr() -> impl Strategy<Value = Expr> {
        leaf().prop_recursive(5, 32, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(l, r)| and(l, r)),
                (inner.clone(), inner.clone()).prop_map(|(l, r)| or(l, r)),
                inner.prop_map(not),
            ]
        })
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same_tree(e in expr()) {
            let shown = e.to_string();
            let back = parse(&shown).map_err(|err| TestCaseError::fail(format!("{shown}: {err}")))?;
            prop_assert_eq!(&back, &e, "{}", shown);
            prop_assert_eq!(back.to_string(), shown);
        }

        #[test]
        fn parsing_arbitrary_input_never_panics(src in prop_oneof![
            "[ -~]{0,40}",
            any::<String>(),
            prop::collection::vec(prop::sample::select(vec![
                "a", "eq", "gt", "in", "not", "and", "or", "(", ")", ",", "'x", "''", "'é'", "null",
                "-", "1", "-0.5", "2024-01-31", "2024-01-31T", "T10:00:00", "Z", "+01:00", "startswith",
                "5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c", "==", "&", " ",
            ]), 0..12).prop_map(|parts| parts.concat()),
        ]) {
            if let Err(e) = parse(&src) {
                prop_assert!(e.offset <= src.len() && src.is_char_boundary(e.offset), "{:?}: {:?}", src, e);
            }
        }
    }

    // --- evaluation --------------------------------------------------------------------------

    fn row(pairs: &[(&str, Value)]) -> HashMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn holds(src: &str, r: &dyn Row) -> bool {
        p(src).eval(r)
    }

    #[test]
    fn null_and_missing_columns() {
        let r = row(&[("parent", Value::Null), ("n", Value::Int(1))]);
        assert!(holds("parent eq null", &r));
        assert!(holds("missing eq null", &r));
        assert!(!holds("parent ne null", &r));
        assert!(holds("n ne null", &r));
        assert!(!holds("n eq null", &r));
        // any other comparison with a null side is false, including ne
        for src in [
            "parent eq 1",
            "parent ne 1",
            "parent lt 1",
            "missing gt 0",
            "n gt null",
            "n le null",
        ] {
            assert!(!holds(src, &r), "{src}");
        }
        assert!(holds("not (missing eq 1)", &r));
        assert!(holds("missing in (1, null)", &r));
        assert!(!holds("missing in (1, 2)", &r));
        assert!(!holds("startswith(missing, '')", &r));
    }

    #[test]
    fn numbers_compare_exactly() {
        let sum = Decimal::from_str_exact("0.1").unwrap() + Decimal::from_str_exact("0.2").unwrap();
        let r = row(&[
            ("amount", Value::Decimal(sum)),
            ("neg", dec("-0.5")),
            ("qty", Value::Int(2)),
        ]);
        assert!(holds("amount eq 0.3", &r));
        assert!(holds("amount eq 0.30000", &r));
        assert!(!holds("amount gt 0.3", &r));
        assert!(holds("neg lt 0", &r));
        assert!(holds("neg lt -0.49999999999999999999", &r));
        assert!(holds("qty eq 2.00", &r));
        assert!(holds("qty gt 1.99", &r));
        assert!(holds("qty in (1.5, 2.0)", &r));
        assert!(holds("3 gt qty", &r));
        assert!(!holds("qty eq '2'", &r), "text never equals a number");
        assert!(!holds("qty ne '2'", &r), "incompatible types compare false");
    }

    #[test]
    fn dates_datetimes_guids_text_and_booleans() {
        let r = BTreeMap::from([
            ("d".to_string(), date("2024-01-31")),
            ("t".to_string(), datetime("2024-02-01T10:00:00Z")),
            ("id".to_string(), guid(G)),
            ("name".to_string(), text("Alpha O'Brien")),
            ("skip".to_string(), Value::Bool(false)),
        ]);
        assert!(holds("d ge 2024-01-31 and d lt 2024-02-01", &r));
        assert!(
            !holds("d eq 2024-01-31T00:00:00Z", &r),
            "a date is not a datetime"
        );
        assert!(holds("t eq 2024-02-01T11:00:00+01:00", &r));
        assert!(holds("t lt 2024-02-01T10:00:00.001Z", &r));
        assert!(holds(&format!("id eq {}", G.to_uppercase()), &r));
        assert!(holds("id ne 00000000-0000-0000-0000-000000000000", &r));
        assert!(!holds("id eq 'x'", &r));
        assert!(holds("name eq 'Alpha O''Brien'", &r));
        assert!(
            !holds("name eq 'alpha o''brien'", &r),
            "text is case-sensitive"
        );
        assert!(holds("name gt 'Alp' and name lt 'B'", &r));
        assert!(
            holds("name lt 'a'", &r),
            "ordinal: uppercase sorts before lowercase"
        );
        assert!(holds(
            "startswith(name, 'Al') and endswith(name, 'ien') and contains(name, 'O''B')",
            &r
        ));
        assert!(!holds("startswith(name, 'al')", &r));
        assert!(
            !holds("contains(skip, 'f')", &r),
            "string functions are false on non-text"
        );
        assert!(holds("skip eq false and not (skip eq true)", &r));
        assert!(holds("skip lt true", &r));
        assert!(holds("name in ('x', 'Alpha O''Brien')", &r));
        assert!(!holds("name in ('x', 'y')", &r));
        assert!(holds("skip eq true or d eq 2024-01-31", &r));
        assert!(!holds("skip eq true and d eq 2024-01-31", &r));
    }

    // --- type check --------------------------------------------------------------------------

    fn types(column: &str) -> Option<ValueType> {
        Some(match column {
            "msdyn_amount" => ValueType::Decimal,
            "qty" => ValueType::Int,
            "name" => ValueType::Text,
            "d" => ValueType::Date,
            "t" => ValueType::DateTime,
            "id" => ValueType::Guid,
            "flag" => ValueType::Bool,
            _ => return None,
        })
    }

    fn type_errors(src: &str) -> Vec<(usize, String, Option<String>)> {
        check_types(&p(src), &types)
            .into_iter()
            .map(|e| (e.offset, e.message, e.hint))
            .collect()
    }

    #[test]
    fn literals_must_match_the_column_type() {
        assert_eq!(
            type_errors("msdyn_amount eq 'abc'"),
            vec![(
                16,
                "column 'msdyn_amount' is decimal but is compared with text 'abc'".into(),
                Some("write a number without quotes, e.g. 100.50".into())
            )]
        );
        assert_eq!(
            type_errors("flag eq 1 or name gt 5 and d lt 2024-01-31T00:00:00Z"),
            vec![
                (
                    8,
                    "column 'flag' is boolean but is compared with integer 1".into(),
                    Some("write true or false without quotes".into())
                ),
                (
                    21,
                    "column 'name' is text but is compared with integer 5".into(),
                    Some("quote text in single quotes, e.g. 'Contoso'".into())
                ),
                (
                    32,
                    "column 'd' is date but is compared with datetime 2024-01-31T00:00:00Z".into(),
                    Some("write a date without quotes, e.g. 2024-01-31".into())
                ),
            ]
        );
        let e =
            type_errors("qty in (1, 'two', 3.5) and id eq '5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c'");
        assert_eq!(e.iter().map(|e| e.0).collect::<Vec<_>>(), vec![11, 33]);
        assert_eq!(
            e[1].2.as_deref(),
            Some(
                "write a GUID without quotes or braces, e.g. 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c"
            )
        );
        assert_eq!(
            type_errors("t gt 2024-01-31")[0].1,
            "column 't' is datetime but is compared with date 2024-01-31"
        );
    }

    #[test]
    fn compatible_unknown_and_null_comparisons() {
        assert!(
            type_errors("msdyn_amount gt 100 and qty le 2.5 and name eq null and not (id ne null)")
                .is_empty()
        );
        assert!(
            type_errors("unknown eq 'x' and unknown gt 5 and startswith(unknown, 'a')").is_empty()
        );
        assert!(type_errors("qty in (null, 1)").is_empty());
        assert_eq!(
            type_errors("qty gt null"),
            vec![(
                7,
                "column 'qty' is compared with null using 'gt', which is never true".into(),
                Some("null only works with eq and ne, e.g. qty ne null".into())
            )]
        );
        assert_eq!(
            type_errors("unknown le null").len(),
            1,
            "never true, whatever the type"
        );
    }

    #[test]
    fn string_functions_need_text_columns() {
        assert!(type_errors("startswith(name, 'A') and contains(unknown, 'x')").is_empty());
        assert_eq!(
            type_errors("a eq 1 or endswith(msdyn_amount, '5')"),
            vec![(
                19,
                "column 'msdyn_amount' is decimal but endswith needs a text column".into(),
                Some("startswith, endswith and contains only apply to text; compare a decimal column with eq, gt, ...".into())
            )]
        );
    }
}
