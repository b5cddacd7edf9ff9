//! The parser of the filter language. Every error names what was expected and what was
//! found, at the offending token's byte offset and length, usually with a hint that fixes it.
//!
//! Grammar (precedence not > and > or, left-associative):
//! `or := and ('or' and)*`, `and := unary ('and' unary)*`, `unary := 'not' unary | primary`,
//! `primary := '(' or ')' | col op lit | lit op col | col 'in' '(' lit (',' lit)* ')'
//!           | func '(' col ',' 'text' ')' (('eq'|'ne') ('true'|'false'))?`.

use std::fmt;

use super::lex::{KEYWORDS, Kw, Tok, Token, UNQUOTED_FORMS, lex};
use super::{CmpOp, Col, Expr, FilterError, Lit, StrFunc};
use crate::value::Value;

/// How deeply `not` and parentheses may nest.
const MAX_DEPTH: usize = 64;

const CONDITION_HINT: &str = "a condition looks like 'statecode eq 0', 'code in (1, 2)' or 'startswith(name, 'A')'";
const BOOL_RESULT_HINT: &str = "use it alone, or with eq true / eq false";

/// Parses a whole filter (the body of [`super::parse`]).
pub(super) fn parse(src: &str) -> Result<Expr, FilterError> {
    if src.trim().is_empty() {
        return Err(FilterError::new(0, src.len(), "the filter is empty")
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
        Tok::RParen => Err(
            FilterError::new(t.offset, t.len, "unbalanced parenthesis: this ')' has no matching '('")
                .hint("remove it, or add the missing '(' earlier"),
        ),
        _ => {
            let hint = keyword_case_hint(&t).unwrap_or_else(|| "join conditions with 'and' or 'or'".into());
            let msg = format!("unexpected {} after a complete condition", p.describe(&t));
            Err(FilterError::new(t.offset, t.len, msg).hint(hint))
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
        let msg = format!("{what}, found {}", self.describe(t));
        FilterError::new(t.offset, t.len, msg)
    }

    fn unclosed(open: usize) -> FilterError {
        FilterError::new(open, 1, "unbalanced parenthesis: this '(' is never closed").hint("add the missing ')'")
    }

    /// Goes one level deeper at `t` (a `not` or a `(`).
    fn enter(&mut self, t: &Token) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let msg = format!("the filter nests deeper than {MAX_DEPTH} levels");
            return Err(FilterError::new(t.offset, t.len, msg).hint("simplify the filter"));
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
        let t = self.peek()?.clone();
        self.enter(&t)?;
        self.bump();
        let inner = self.unary()?;
        self.depth -= 1;
        Ok(Expr::Not(Box::new(inner)))
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::LParen => {
                self.enter(&t)?;
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
                self.literal_first(lit(value.clone(), &t), &t)
            }
            _ => {
                let after = match self.pos.checked_sub(1) {
                    Some(prev) => format!(" after {}", self.describe(&self.toks[prev])),
                    None => String::new(),
                };
                let hint = match t.tok {
                    Tok::RParen if after == " after '('" => "empty parentheses; put a condition inside",
                    Tok::Kw(Kw::Op(_) | Kw::In) => "a comparison needs a column on its left, e.g. statecode eq 0",
                    _ => CONDITION_HINT,
                };
                Err(self.found(&t, format!("expected a condition{after}")).hint(hint))
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
                Err(self.found(&t, what).maybe_hint(operator_hint(&t, &column.name)))
            }
        }
    }

    /// A literal value where one is required; `context` reads like "after 'eq'".
    fn value(&mut self, context: &str, column: &Col) -> Result<Lit, FilterError> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::Lit(ref value) => {
                self.bump();
                Ok(lit(value.clone(), &t))
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
                Err(FilterError::new(t.offset, t.len, msg).hint(hint))
            }
            _ => {
                let hint = if matches!(t.tok, Tok::RParen) && context.starts_with("in the list") {
                    "remove the trailing comma".to_string()
                } else {
                    format!("values are null, true, false, 'text', or unquoted {UNQUOTED_FORMS}")
                };
                Err(self.found(&t, format!("expected a value {context}")).hint(hint))
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
        let close = self.peek()?.clone();
        if matches!(close.tok, Tok::RParen) {
            let hint = format!("list at least one value, e.g. {} in (1, 2)", column.name);
            let len = close.offset + close.len - open.offset;
            return Err(FilterError::new(open.offset, len, "empty list after 'in'").hint(hint));
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
        self.call_part(open, &comma, &usage, |t| matches!(t, Tok::Comma).then_some(()))?;
        let second = format!("the second argument of {func} must be quoted text");
        let (arg, _) = self.call_part(open, &second, &usage, |t| match t {
            Tok::Lit(Value::Text(s)) => Some(s.clone()),
            _ => None,
        })?;
        let close = format!("{func} takes two arguments; expected ')'");
        self.call_part(open, &close, &usage, |t| matches!(t, Tok::RParen).then_some(()))?;
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
            return Err(FilterError::new(t.offset, t.len, msg).hint(BOOL_RESULT_HINT));
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
                let e = FilterError::new(t.offset, t.len, "'in' needs a column on its left");
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
            Tok::Lit(_) => Err(
                FilterError::new(c.offset, c.len, format!("both sides of '{op}' are values"))
                    .hint("one side must be a column, e.g. statecode eq 0"),
            ),
            _ => Err(self
                .found(&c, format!("expected a column name after '{op}'"))
                .hint("compare a column with a value, e.g. statecode eq 0")),
        }
    }
}

/// A literal read from token `t`, with the token's position and length.
fn lit(value: Value, t: &Token) -> Lit {
    Lit {
        value,
        offset: t.offset,
        len: t.len,
    }
}

impl CmpOp {
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
            let op = ops.iter().find(|op| w.len() <= 3 && edit_distance(w, op) <= 1)?;
            format!("did you mean '{op}'?")
        }
    })
}

fn unknown_function(name: &str, offset: usize) -> FilterError {
    let err = FilterError::new(offset, name.len(), format!("unknown function '{name}'"));
    let lower = name.to_ascii_lowercase();
    if let Some(f) = StrFunc::ALL.iter().find(|f| f.name() == lower) {
        return err.hint(format!("function names are lowercase: write '{f}'"));
    }
    if lower == "substringof" {
        return err.hint("use contains(column, 'text')");
    }
    match StrFunc::ALL.iter().min_by_key(|f| edit_distance(&lower, f.name())) {
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
            let next = (diag + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
