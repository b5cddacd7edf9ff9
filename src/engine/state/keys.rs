//! Record keys as the state store keeps them: canonical JSON text of the key values, so the
//! same key always gives the same text (and equal texts mean equal keys).
//!
//! The forms: null, `true`/`false`, integers and decimals as JSON numbers in plain notation
//! with no trailing zeros (`2.50` and `2.5` give `2.5`, a whole decimal gives the same text as
//! the integer), text as a JSON string, dates as `"YYYY-MM-DD"`, datetimes as RFC 3339 UTC
//! strings with as few fractional digits as needed (0, 3, 6 or 9), GUIDs as lowercase
//! hyphenated strings. No whitespace: `[5,"USPM"]`.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::value::{Value, ValueType};

/// The canonical text of a key.
pub fn key_text(key: &[Value]) -> String {
    let mut out = String::from("[");
    for (i, v) in key.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Decimal(d) => out.push_str(&canonical_decimal(d)),
            Value::Text(s) => push_json_string(&mut out, s),
            Value::Date(d) => push_json_string(&mut out, &d.format("%Y-%m-%d").to_string()),
            Value::DateTime(t) => push_json_string(&mut out, &t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Value::Guid(g) => push_json_string(&mut out, &g.hyphenated().to_string()),
        }
    }
    out.push(']');
    out
}

/// Reads a key text back as values of `types` (one per key column). `None` when the text is
/// not a JSON array of as many scalars, or a value does not fit its type. Accepts any JSON
/// spacing and number form, not only the canonical one.
pub fn parse_key_text(text: &str, types: &[ValueType]) -> Option<Vec<Value>> {
    let tokens = scalars(text)?;
    if tokens.len() != types.len() {
        return None;
    }
    tokens.into_iter().zip(types).map(|(t, ty)| typed(t, *ty)).collect()
}

/// Reads a key text saved from a store's own continuation key (`Page::next`): strings stay
/// text whatever the column's type (the store compares them as it keeps them, e.g. a GUID in
/// upper case); numbers, booleans and null are read as `types` say.
pub fn parse_stored_key_text(text: &str, types: &[ValueType]) -> Option<Vec<Value>> {
    let tokens = scalars(text)?;
    if tokens.len() != types.len() {
        return None;
    }
    tokens
        .into_iter()
        .zip(types)
        .map(|(t, ty)| match t {
            Token::Str(s) => Some(Value::Text(s)),
            other => typed(other, *ty),
        })
        .collect()
}

fn canonical_decimal(d: &Decimal) -> String {
    let n = d.normalize();
    if n.is_zero() { "0".to_string() } else { n.to_string() }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::String(s.to_string()).to_string());
}

/// One scalar of a JSON array.
enum Token<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    Str(String),
}

/// The scalars of a JSON array, or `None` when the text is anything else.
fn scalars(text: &str) -> Option<Vec<Token<'_>>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let bytes = inner.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let mut i = skip_ws(0);
    if i == bytes.len() {
        return Some(out);
    }
    loop {
        let (token, end) = if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            if j >= bytes.len() {
                return None;
            }
            (Token::Str(serde_json::from_str(&inner[i..=j]).ok()?), j + 1)
        } else {
            let mut j = i;
            while j < bytes.len() && bytes[j] != b',' && !bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let word = &inner[i..j];
            let token = match word {
                "null" => Token::Null,
                "true" => Token::Bool(true),
                "false" => Token::Bool(false),
                _ if is_json_number(word) => Token::Number(word),
                _ => return None,
            };
            (token, j)
        };
        out.push(token);
        i = skip_ws(end);
        if i == bytes.len() {
            return Some(out);
        }
        if bytes[i] != b',' {
            return None;
        }
        i = skip_ws(i + 1);
        if i == bytes.len() {
            return None; // a trailing comma
        }
    }
}

fn is_json_number(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && serde_json::from_str::<serde_json::Number>(word).is_ok()
}

fn typed(token: Token<'_>, ty: ValueType) -> Option<Value> {
    Some(match (token, ty) {
        (Token::Null, _) => Value::Null,
        (Token::Bool(b), ValueType::Bool) => Value::Bool(b),
        (Token::Number(n), ValueType::Int) => Value::Int(n.parse().ok()?),
        (Token::Number(n), ValueType::Decimal) => {
            Value::Decimal(Decimal::from_str(n).or_else(|_| Decimal::from_scientific(n)).ok()?)
        }
        (Token::Str(s), ValueType::Text) => Value::Text(s),
        (Token::Str(s), ValueType::Date) => Value::Date(NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()?),
        (Token::Str(s), ValueType::DateTime) => {
            Value::DateTime(DateTime::parse_from_rfc3339(&s).ok()?.with_timezone(&Utc))
        }
        (Token::Str(s), ValueType::Guid) => Value::Guid(Uuid::parse_str(&s).ok()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_with_escapes_and_commas_split_right() {
        let key = vec![Value::Text("a,\"b\"\\ ]".into()), Value::Int(-3)];
        let text = key_text(&key);
        assert_eq!(parse_key_text(&text, &[ValueType::Text, ValueType::Int]), Some(key));
    }

    #[test]
    fn stored_keys_keep_their_strings_as_stored() {
        let text = r#"["7E3B0000-0000-0000-0000-00000000ABCD",5]"#;
        assert_eq!(
            parse_stored_key_text(text, &[ValueType::Guid, ValueType::Int]),
            Some(vec![
                Value::Text("7E3B0000-0000-0000-0000-00000000ABCD".into()),
                Value::Int(5)
            ])
        );
        assert_eq!(parse_stored_key_text("[1,2]", &[ValueType::Int]), None);
    }

    #[test]
    fn malformed_texts_are_refused() {
        for t in [
            "", "[", "[1,]", "[,1]", "[1 2]", "[\"a]", "[01x]", "{}", "[[1]]", "[nul]",
        ] {
            assert_eq!(parse_key_text(t, &[ValueType::Int]), None, "{t}");
        }
        assert_eq!(parse_key_text("[]", &[]), Some(vec![]));
        assert_eq!(
            parse_key_text(" [ 1 , null ] ", &[ValueType::Int, ValueType::Text]),
            Some(vec![Value::Int(1), Value::Null])
        );
    }
}
