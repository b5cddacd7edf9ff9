//! The lexer of the filter language: turns filter source into tokens with byte offsets and
//! lengths. Literals (numbers, dates, datetimes, GUIDs, quoted text) are read whole here, so
//! a malformed one is reported with its full extent and a hint about the accepted forms.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{CmpOp, FilterError};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kw {
    And,
    Or,
    Not,
    In,
    Op(CmpOp),
}

/// Reserved words; they are lowercase, so `AND` or `Eq` are names.
pub(super) const KEYWORDS: [&str; 13] = [
    "and", "or", "not", "in", "eq", "ne", "gt", "ge", "lt", "le", "null", "true", "false",
];

#[derive(Debug, Clone)]
pub(super) enum Tok {
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
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) offset: usize,
    pub(super) len: usize,
}

pub(super) const UNQUOTED_FORMS: &str = "numbers like -12.50, dates like 2024-01-31, \
     datetimes like 2024-01-31T10:00:00Z, or GUIDs like 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c";
const DATETIME_HINT: &str = "write datetimes like 2024-02-01T10:00:00Z or 2024-02-01T10:00:00+01:00";

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Bytes that may not directly follow a literal (they would make it a different, malformed one).
fn glues_to_literal(b: u8) -> bool {
    is_word_byte(b) || matches!(b, b'-' | b'+' | b'.' | b':')
}

/// The tokens of `src`, ending with `End`, or with `Error` at the first lexing error.
pub(super) fn lex(src: &str) -> Vec<Token> {
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
                let (offset, len) = (e.offset, e.len);
                out.push(Token {
                    tok: Tok::Error(e),
                    offset,
                    len,
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
                self.quoted_end(start, b'"') - start,
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
        let err = FilterError::new(start, c.len_utf8(), format!("unexpected character '{c}'"));
        match c {
            '{' => err.hint("write GUIDs bare, without braces: 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c"),
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
        FilterError::new(start, sym.len(), format!("'{sym}' is not a filter operator")).hint(hint)
    }

    /// Where text opened by the quote at `open` ends: just past its closing quote (a doubled
    /// quote is part of the text), or at the end of the input if it is never closed.
    fn quoted_end(&self, open: usize, quote: u8) -> usize {
        let mut i = open + 1;
        while let Some(b) = self.byte(i) {
            i += 1;
            if b == quote {
                if self.byte(i) != Some(quote) {
                    return i;
                }
                i += 1;
            }
        }
        self.src.len()
    }

    fn string(&mut self, start: usize) -> Result<Token, FilterError> {
        let mut text = String::new();
        let mut i = start + 1;
        loop {
            let Some(rel) = self.src[i..].find('\'') else {
                return Err(FilterError::new(
                    start,
                    self.src.len() - start,
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
        let run = self.run_from(start);
        FilterError::new(start, run.len(), format!("malformed value '{run}'"))
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
            FilterError::new(start, text.len(), format!("'{text}' is not a valid date"))
                .hint("write dates as YYYY-MM-DD, e.g. 2024-01-31")
        })?;
        self.literal(Value::Date(date), start, start + 10)
    }

    fn datetime(&mut self, start: usize) -> Result<Token, FilterError> {
        let malformed = || {
            let run = self.run_from(start);
            FilterError::new(start, run.len(), format!("malformed datetime '{run}'")).hint(DATETIME_HINT)
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
                if self.digits_at(i + 1, 2) && self.byte(i + 3) == Some(b':') && self.digits_at(i + 4, 2) =>
            {
                i += 6
            }
            Some(b) if glues_to_literal(b) => return Err(malformed()),
            _ => {
                let text = &self.src[start..i];
                return Err(
                    FilterError::new(start, text.len(), format!("datetime '{text}' has no time zone"))
                        .hint(format!("add Z for UTC ({text}Z) or an offset like +01:00")),
                );
            }
        }
        let text = &self.src[start..i];
        let parsed = DateTime::parse_from_rfc3339(text).map_err(|_| {
            FilterError::new(start, text.len(), format!("'{text}' is not a valid datetime")).hint(DATETIME_HINT)
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
                FilterError::new(start, text.len(), format!("decimal {text} has too many digits"))
                    .hint("decimals hold at most 28 significant digits")
            })?
        } else {
            text.parse::<i64>().map(Value::Int).map_err(|_| {
                FilterError::new(start, text.len(), format!("integer {text} is out of range"))
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
                if self.byte(end) == Some(b'\'') && typed.contains(&word.to_ascii_lowercase().as_str()) {
                    let len = self.quoted_end(end, b'\'') - start;
                    return Err(FilterError::new(start, len, format!("{word}'...' is OData v2 syntax"))
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

#[cfg(test)]
mod tests;
