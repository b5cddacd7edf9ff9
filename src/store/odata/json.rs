//! Exact values between the OData JSON of the wire (Dataverse Web API, finance and operations)
//! and dualsync's `Value`s.
//!
//! Reading keeps every property as its raw JSON text (`serde_json::value::RawValue`), so a
//! decimal such as `123.4500` becomes `Decimal` 123.4500 with every digit, never through `f64`
//! (serde_json's `arbitrary_precision` stays off: it would change every serde_json user).
//! `parse_entities` reads a page (`value`, `@odata.nextLink`, `@odata.deltaLink`, deletions of
//! a delta page in the 4.0 `$deletedEntity` and the 4.01 `@removed` shapes); `value_of` turns
//! one raw property into a typed value. Writing: `entity_body` (a row and its `@odata.bind`
//! lookups as a JSON object) and `key_segment` (the `(…)` key of a URL).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::store::{ErrorKind, Result, StoreError};
use crate::value::{Value, ValueType};

/// One entity of a response: property (and annotation) name → raw JSON text.
#[derive(Debug, Clone, Default)]
pub struct Entity {
    fields: HashMap<String, Box<RawValue>>,
}

impl Entity {
    /// The raw JSON text of a property (`123.4500`, `"text"`, `null`).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|r| r.get())
    }

    /// Every property and annotation name the service sent.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// The `@odata.etag` (`W/"915244"`), if sent.
    pub fn etag(&self) -> Option<String> {
        self.string("@odata.etag")
    }

    /// A property as a typed value. A property the service did not send is an error (it was
    /// not selected, or the name is wrong); one sent as `null` is `Value::Null`.
    pub fn value(&self, column: &str, ty: ValueType) -> std::result::Result<Value, String> {
        match self.raw(column) {
            Some(raw) => value_of(raw, ty, column),
            None => Err(format!("column `{column}`: the service did not send it")),
        }
    }

    fn string(&self, name: &str) -> Option<String> {
        serde_json::from_str(self.raw(name)?).ok()
    }
}

/// A deletion in a delta page.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// The `id` (4.0) or `@id` (4.01) as sent: a bare GUID from Dataverse, an entity URL
    /// (`https://x/api/data/v9.2/accounts(2e45…)`) from other services.
    pub id: Option<String>,
    /// `deleted` or `changed` (out of the tracked set), if sent.
    pub reason: Option<String>,
    /// The other properties sent with it (a 4.01 deletion may carry its key properties).
    pub fields: Entity,
}

impl Deleted {
    /// The key values of the deleted record for the key columns `key` (name, type): from key
    /// properties sent with it, else from its id (a bare key or the `(…)` of an entity URL).
    pub fn key_values(&self, key: &[(&str, ValueType)]) -> std::result::Result<Vec<Value>, String> {
        if key.iter().all(|(c, _)| self.fields.raw(c).is_some()) {
            return key.iter().map(|(c, t)| self.fields.value(c, *t)).collect();
        }
        let id = self.id.as_deref().ok_or("a deletion without an id or key properties")?;
        let pairs = parse_key_predicate(key_predicate_of(id))?;
        match (key, pairs.as_slice()) {
            ([(column, ty)], [(None, literal)]) => Ok(vec![literal_value(literal, *ty, column)?]),
            _ => key
                .iter()
                .map(|(column, ty)| {
                    let literal = pairs
                        .iter()
                        .find(|(n, _)| n.as_deref() == Some(*column))
                        .map(|(_, l)| l)
                        .ok_or_else(|| format!("column `{column}`: not in the deleted id `{id}`"))?;
                    literal_value(literal, *ty, column)
                })
                .collect(),
        }
    }
}

/// An entry of a page, in the order sent.
#[derive(Debug, Clone)]
pub enum Entry {
    Entity(Entity),
    Deleted(Deleted),
}

/// A page of a collection or delta response.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub context: Option<String>,
    /// The next page, as sent (absolute from Dataverse; may be relative elsewhere).
    pub next_link: Option<String>,
    /// On the last page of a change-tracking read: where the next changes are.
    pub delta_link: Option<String>,
    pub entries: Vec<Entry>,
}

impl Page {
    pub fn entities(&self) -> impl Iterator<Item = &Entity> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Entity(x) => Some(x),
            Entry::Deleted(_) => None,
        })
    }

    pub fn deleted(&self) -> impl Iterator<Item = &Deleted> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Deleted(d) => Some(d),
            Entry::Entity(_) => None,
        })
    }
}

fn malformed(what: impl std::fmt::Display) -> StoreError {
    StoreError::new(ErrorKind::Permanent, format!("malformed OData JSON: {what}"))
}

type Object = HashMap<String, Box<RawValue>>;

fn object(text: &str, what: &str) -> Result<Object> {
    serde_json::from_str(text)
        .map_err(|e| malformed(format!("{what} is not a JSON object ({e}); it begins: {}", shown(text))))
}

fn link(top: &Object, name: &str) -> Result<Option<String>> {
    match top.get(name).map(|r| r.get()) {
        None | Some("null") => Ok(None),
        Some(raw) => serde_json::from_str(raw)
            .map(Some)
            .map_err(|_| malformed(format!("`{name}` is not a string: {}", shown(raw)))),
    }
}

/// Reads a collection page (`{"@odata.context":…,"value":[…],"@odata.nextLink":…}`).
pub fn parse_entities(body: &str) -> Result<Page> {
    let top = object(body, "the page")?;
    let value = top
        .get("value")
        .ok_or_else(|| malformed(format!("the page has no `value` array; it begins: {}", shown(body))))?;
    let items: Vec<Box<RawValue>> = serde_json::from_str(value.get())
        .map_err(|_| malformed(format!("`value` is not an array: {}", shown(value.get()))))?;
    let mut entries = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let fields = object(item.get(), &format!("entry {} of `value`", i + 1))?;
        entries.push(entry(fields)?);
    }
    Ok(Page {
        context: link(&top, "@odata.context")?,
        next_link: link(&top, "@odata.nextLink")?,
        delta_link: link(&top, "@odata.deltaLink")?,
        entries,
    })
}

/// Reads a single entity (a GET by key, or a write with `Prefer: return=representation`).
pub fn parse_entity(body: &str) -> Result<Entity> {
    Ok(Entity {
        fields: object(body, "the entity")?,
    })
}

/// An entity, or a deletion in the 4.0 (`@odata.context` …`/$deletedEntity`, `id`,
/// `reason`) or 4.01 (`@removed` / `@odata.removed`, `@id` / `@odata.id`) shape.
fn entry(fields: Object) -> Result<Entry> {
    let entity = Entity { fields };
    let deleted_4_0 = entity
        .string("@odata.context")
        .is_some_and(|c| c.ends_with("/$deletedEntity"));
    if deleted_4_0 {
        let id = entity.string("id");
        let reason = entity.string("reason");
        return Ok(Entry::Deleted(Deleted {
            id,
            reason,
            fields: entity,
        }));
    }
    let removed = entity.raw("@removed").or_else(|| entity.raw("@odata.removed"));
    if let Some(removed) = removed {
        let reason = object(removed, "`@removed`")?
            .get("reason")
            .and_then(|r| serde_json::from_str(r.get()).ok());
        let id = entity.string("@id").or_else(|| entity.string("@odata.id"));
        return Ok(Entry::Deleted(Deleted {
            id,
            reason,
            fields: entity,
        }));
    }
    Ok(Entry::Entity(entity))
}

/// The key part of an entity id: `https://x/accounts(2e45…)` → `2e45…`,
/// `accounts(a='x',b=1)` → `a='x',b=1`; an id without parentheses (Dataverse's bare GUID)
/// is returned as it is.
pub fn key_predicate_of(id: &str) -> &str {
    let id = id.trim();
    let Some(inner) = id.strip_suffix(')') else { return id };
    // The last `(` outside a quoted literal opens the key.
    let mut open = None;
    let mut quoted = false;
    for (i, c) in inner.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => open = Some(i),
            _ => {}
        }
    }
    match open {
        Some(i) => &inner[i + 1..],
        None => id,
    }
}

/// A key predicate split into (name, literal) pairs, percent-decoded, with string literals
/// still quoted: `a='x%20y',b=1` → `[(a, 'x y'), (b, 1)]`; `2e45…` → `[(None, 2e45…)]`.
pub fn parse_key_predicate(predicate: &str) -> std::result::Result<Vec<(Option<String>, String)>, String> {
    let decoded = percent_decode_str(predicate)
        .decode_utf8()
        .map_err(|_| format!("the key `{predicate}` is not UTF-8 once decoded"))?;
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in decoded.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if quoted {
        return Err(format!("the key `{predicate}` has an unclosed quote"));
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| {
            let eq = p.find('=').filter(|&i| !p[..i].contains('\''));
            let (name, literal) = match eq {
                Some(i) => (Some(p[..i].trim().to_string()), p[i + 1..].trim().to_string()),
                None => (None, p.trim().to_string()),
            };
            if literal.is_empty() || name.as_deref() == Some("") {
                return Err(format!("the key `{predicate}` has an empty part"));
            }
            Ok((name, literal))
        })
        .collect()
}

/// A key literal as written in a URL (`'it''s'`, `12`, a bare GUID) as a typed value.
fn literal_value(literal: &str, ty: ValueType, column: &str) -> std::result::Result<Value, String> {
    if let Some(inner) = literal.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')) {
        let text = inner.replace("''", "'");
        return match ty {
            ValueType::Text => Ok(Value::Text(text)),
            _ => typed_from_text(&text, ty).map_err(|why| bad(column, literal, ty, why)),
        };
    }
    match ty {
        ValueType::Text => Err(bad(column, literal, ty, "a text key is quoted")),
        ValueType::Bool => match literal {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad(column, literal, ty, "")),
        },
        _ => typed_from_text(literal, ty).map_err(|why| bad(column, literal, ty, why)),
    }
}

/// The message of a value that does not read as its column's type.
fn bad(column: &str, raw: &str, ty: ValueType, why: &str) -> String {
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(" ({why})")
    };
    format!("column `{column}`: {} is not a valid {ty}{why}", shown(raw))
}

/// At most 80 characters of a raw value, for a message.
fn shown(raw: &str) -> String {
    let raw = raw.trim();
    if raw.chars().count() > 80 {
        format!("`{}…`", raw.chars().take(80).collect::<String>())
    } else {
        format!("`{raw}`")
    }
}

/// One raw JSON property as a value of type `ty`; the error names the column and the value.
/// Numbers may come as JSON numbers or, with `IEEE754Compatible=true`, as strings.
pub fn value_of(raw: &str, ty: ValueType, column: &str) -> std::result::Result<Value, String> {
    let raw = raw.trim();
    if raw == "null" {
        return Ok(Value::Null);
    }
    let text: Option<String> = if raw.starts_with('"') {
        Some(serde_json::from_str(raw).map_err(|_| bad(column, raw, ty, "broken JSON string"))?)
    } else {
        None
    };
    let result = match (ty, &text) {
        (ValueType::Text, Some(t)) => Ok(Value::Text(t.clone())),
        (ValueType::Text, None) => Err("not a JSON string"),
        (ValueType::Bool, None) if raw == "true" => Ok(Value::Bool(true)),
        (ValueType::Bool, None) if raw == "false" => Ok(Value::Bool(false)),
        (ValueType::Bool, _) => Err("not true or false"),
        (ValueType::Int | ValueType::Decimal, None) => typed_from_text(raw, ty),
        (ValueType::Int | ValueType::Decimal, Some(t)) => typed_from_text(t, ty),
        (_, Some(t)) => typed_from_text(t, ty),
        (_, None) => Err("not a JSON string"),
    };
    result.map_err(|why| bad(column, raw, ty, why))
}

/// A number, date, date-time or GUID from its text (the inside of a JSON string, a JSON
/// number, or a URL literal).
fn typed_from_text(text: &str, ty: ValueType) -> std::result::Result<Value, &'static str> {
    match ty {
        ValueType::Int => parse_int(text).map(Value::Int),
        ValueType::Decimal => parse_decimal(text).map(Value::Decimal),
        ValueType::Date => parse_date(text).map(Value::Date),
        ValueType::DateTime => parse_datetime(text).map(Value::DateTime),
        ValueType::Guid => parse_guid(text).map(Value::Guid),
        ValueType::Text => Ok(Value::Text(text.to_string())),
        ValueType::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("not true or false"),
        },
    }
}

/// A JSON number split into sign, integer digits, fraction digits and exponent.
fn number_parts(text: &str) -> Option<(bool, &str, &str, &str)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let int_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let (int, rest) = rest.split_at(int_end);
    if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    let (frac, rest) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            r.split_at(end)
        }
        None => ("", rest),
    };
    let exp = match rest.strip_prefix(['e', 'E']) {
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            e
        }
        None if rest.is_empty() => "",
        None => return None,
    };
    Some((negative, int, frac, exp))
}

fn parse_int(text: &str) -> std::result::Result<i64, &'static str> {
    match number_parts(text) {
        Some((_, _, "", "")) => text.parse().map_err(|_| "out of range"),
        Some(_) => Err("not an integer"),
        None => Err("not a number"),
    }
}

/// A decimal with exactly the digits written: `123.4500` has scale 4, `1.5E+2` is 150,
/// `1E-3` is 0.001. More than 28 decimal places (after dropping trailing zeros) or more
/// digits than a 96-bit mantissa holds is an error, never a rounding.
fn parse_decimal(text: &str) -> std::result::Result<Decimal, &'static str> {
    let (negative, int, frac, exp) = number_parts(text).ok_or("not a number")?;
    let mut mantissa: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(b - b'0')))
            .ok_or("too many digits")?;
    }
    let exp: i64 = if exp.is_empty() {
        0
    } else {
        exp.parse().map_err(|_| "exponent out of range")?
    };
    let mut scale = (frac.len() as i64).checked_sub(exp).ok_or("exponent out of range")?;
    if mantissa == 0 {
        scale = scale.clamp(0, i64::from(Decimal::MAX_SCALE));
    }
    while scale < 0 {
        mantissa = mantissa.checked_mul(10).ok_or("out of range")?;
        scale += 1;
    }
    while scale > i64::from(Decimal::MAX_SCALE) && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    if scale > i64::from(Decimal::MAX_SCALE) {
        return Err("more than 28 decimal places");
    }
    if negative {
        mantissa = -mantissa;
    }
    Decimal::try_from_i128_with_scale(mantissa, scale as u32).map_err(|_| "out of range")
}

/// Edm.Date: `2024-01-31`.
fn parse_date(text: &str) -> std::result::Result<NaiveDate, &'static str> {
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape {
        return Err("expected YYYY-MM-DD");
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "no such date")
}

/// Edm.DateTimeOffset: `2024-01-31T10:00:00Z`, with an offset, fractions, or no seconds.
fn parse_datetime(text: &str) -> std::result::Result<DateTime<Utc>, &'static str> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    // `2024-01-31T10:00Z`: seconds are optional in OData's ABNF.
    let b = text.as_bytes();
    if b.len() > 16 && b[13] == b':' && matches!(b[16], b'Z' | b'z' | b'+' | b'-') {
        let with_seconds = format!("{}:00{}", &text[..16], &text[16..]);
        if let Ok(t) = DateTime::parse_from_rfc3339(&with_seconds) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    Err("expected a date and time with an offset, such as 2024-01-31T10:00:00Z")
}

fn parse_guid(text: &str) -> std::result::Result<Uuid, &'static str> {
    if text.len() != 36 {
        return Err("expected 8-4-4-4-12 hexadecimal digits");
    }
    Uuid::try_parse(text).map_err(|_| "expected 8-4-4-4-12 hexadecimal digits")
}

/// A value as a JSON literal: decimals with their exact digits, GUIDs, dates and date-times
/// as strings in the Edm formats.
pub fn json_literal(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Text(t) => json_string(t),
        Value::Date(d) => format!("\"{}\"", d.format("%Y-%m-%d")),
        Value::DateTime(t) => format!("\"{}\"", datetime_text(t)),
        Value::Guid(g) => format!("\"{}\"", g.hyphenated()),
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

fn datetime_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A row as a JSON object for a POST or PATCH body, with lookups as
/// `"<navigation>@odata.bind": "<entity-set path>"` (`("msdyn_Project", "/msdyn_projects(…)")`).
pub fn entity_body(fields: &[(&str, &Value)], binds: &[(&str, &str)]) -> String {
    let mut members: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("{}:{}", json_string(name), json_literal(value)))
        .collect();
    members.extend(
        binds
            .iter()
            .map(|(nav, path)| format!("{}:{}", json_string(&format!("{nav}@odata.bind")), json_string(path))),
    );
    format!("{{{}}}", members.join(","))
}

/// What a string literal in a URL path must have percent-encoded (besides non-ASCII): the
/// characters that end or change a path segment, `%` itself, and `+` (read as a space by some).
const LITERAL: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A value as a key literal in a URL: text quoted with `'` doubled and percent-encoded,
/// numbers, booleans, dates, date-times and GUIDs bare. A null has no literal.
pub fn key_literal(value: &Value) -> std::result::Result<String, String> {
    Ok(match value {
        Value::Null => return Err("a key value is null".into()),
        Value::Text(t) => format!("'{}'", utf8_percent_encode(&t.replace('\'', "''"), LITERAL)),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        Value::DateTime(t) => datetime_text(t),
        Value::Guid(g) => g.hyphenated().to_string(),
        Value::Bool(_) | Value::Int(_) | Value::Decimal(_) => value.to_string(),
    })
}

/// The key segment of an entity's URL: `(00000000-…)` or `('text')` for a single key,
/// `(a='x',b=1)` for a composite one. A null or missing key is an error.
pub fn key_segment(key: &[(&str, &Value)]) -> std::result::Result<String, String> {
    match key {
        [] => Err("no key values".into()),
        [(column, value)] => Ok(format!(
            "({})",
            key_literal(value).map_err(|e| format!("column `{column}`: {e}"))?
        )),
        _ => alternate_key_segment(key),
    }
}

/// A key segment with every name written (`(accountnumber='A1')`): how an alternate key is
/// addressed even when it has a single column.
pub fn alternate_key_segment(key: &[(&str, &Value)]) -> std::result::Result<String, String> {
    if key.is_empty() {
        return Err("no key values".into());
    }
    let parts = key
        .iter()
        .map(|(column, value)| {
            key_literal(value)
                .map(|l| format!("{column}={l}"))
                .map_err(|e| format!("column `{column}`: {e}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(format!("({})", parts.join(",")))
}

/// The path of a record for `@odata.bind`: `/msdyn_projects(…)`.
pub fn bind_path(entity_set: &str, key: &[(&str, &Value)]) -> std::result::Result<String, String> {
    Ok(format!("/{entity_set}{}", key_segment(key)?))
}

#[cfg(test)]
mod tests;
