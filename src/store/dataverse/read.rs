//! Reading a Dataverse entity set: a scan in key order (`$orderby` the key, `$filter` after the
//! last key, `Prefer: odata.maxpagesize`, `@odata.nextLink` followed as sent), records by key in
//! chunks that fit a URL, and a count. Values are read from their JSON text exactly; a value
//! that cannot be read makes its record a `BadRow` naming the column and the raw value.

use std::fmt::Write as _;

use super::DataverseStore;
use super::shape::Shape;
use crate::store::odata::json::{self, Entity};
use crate::store::{BadRow, EntityDesc, ErrorKind, Key, Page, Result, Row, Rows, StoreError};
use crate::value::Value;

/// Keys per read by key: an `or` of this many GUID comparisons is about 7 KB of URL, well under
/// what the Web API takes in a GET.
const KEYS_PER_READ: usize = 100;

impl DataverseStore {
    /// GETs one page of a collection (`url` absolute), asking for `page` records.
    pub(super) async fn get_page(&self, url: &url::Url, page: usize, track: bool) -> Result<json::Page> {
        let prefer = match track {
            true => format!("odata.track-changes,odata.maxpagesize={page}"),
            false => format!("odata.maxpagesize={page}"),
        };
        let response = self
            .client
            .send(|http| http.get(url.clone()).header("Prefer", prefer.as_str()))
            .await?;
        let text = self.text(response).await?;
        json::parse_entities(&text)
    }

    /// A link the service sent (absolute from Dataverse; relative ones resolved against the
    /// URL it answered), used as sent: a `$skiptoken` is never re-encoded.
    pub(super) fn follow(&self, from: &url::Url, link: &str) -> Result<url::Url> {
        from.join(link).map_err(|e| {
            StoreError::new(
                ErrorKind::Permanent,
                format!("{} sent a link that is not a URL ({e}): {link}", self.name),
            )
        })
    }

    /// Every page of `url` until `limit` records or the last page; the entities in order.
    async fn get_all(&self, mut url: url::Url, limit: usize) -> Result<Vec<Entity>> {
        let mut out = Vec::new();
        loop {
            let page = self
                .get_page(&url, self.page_size(limit - out.len().min(limit)), false)
                .await?;
            out.extend(page.entities().cloned());
            match page.next_link {
                Some(next) if out.len() < limit => url = self.follow(&url, &next)?,
                _ => return Ok(out),
            }
        }
    }

    pub(super) async fn scan_page(&self, desc: &EntityDesc, after: Option<&Key>, limit: usize) -> Result<Page> {
        let shape = self.shape(&desc.name).await?;
        let key = shape.key_wire();
        let mut url = self.url(&desc.name)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("$select", &shape.select(desc));
            let order: Vec<String> = key.iter().map(|(_, w)| format!("{w} asc")).collect();
            q.append_pair("$orderby", &order.join(","));
            if let Some(after) = after {
                q.append_pair("$filter", &after_filter(&key, after)?);
            }
        }
        let entities = self.get_all(url, limit.max(1)).await?;
        let mut page = Page::default();
        for e in entities.iter().take(limit.max(1)) {
            match decode(&shape, desc, e) {
                Ok(row) => {
                    page.next = Some(desc.key_of(&row));
                    page.rows.push(row);
                }
                Err(bad) => {
                    page.next = bad.key.clone().or(page.next.take());
                    page.bad.push(*bad);
                }
            }
        }
        Ok(page)
    }

    pub(super) async fn read_keys(&self, desc: &EntityDesc, keys: &[Key]) -> Result<Rows> {
        let shape = self.shape(&desc.name).await?;
        let key = shape.key_wire();
        let mut out = Rows::default();
        for chunk in keys.chunks(KEYS_PER_READ) {
            let mut any = Vec::new();
            for k in chunk {
                any.push(format!("({})", equals(&key, k)?));
            }
            let mut url = self.url(&desc.name)?;
            url.query_pairs_mut()
                .append_pair("$select", &shape.select(desc))
                .append_pair("$filter", &any.join(" or "));
            for e in self.get_all(url, usize::MAX).await? {
                match decode(&shape, desc, &e) {
                    Ok(row) => out.rows.push(row),
                    Err(bad) => out.bad.push(*bad),
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn count_of(&self, entity: &str) -> Result<u64> {
        self.shape(entity).await?;
        let url = self.url(&format!("{entity}/$count"))?;
        let response = self
            .client
            .send(|http| http.get(url.clone()).header(reqwest::header::ACCEPT, "text/plain"))
            .await?;
        let text = self.text(response).await?;
        // The text may start with a byte-order mark.
        text.trim_start_matches('\u{feff}').trim().parse().map_err(|_| {
            StoreError::new(
                ErrorKind::Permanent,
                format!("{} answered $count of `{entity}` with {text:?}", self.name),
            )
        })
    }
}

/// `k eq v` (and … for a composite key).
fn equals(key: &[(&str, &str)], values: &Key) -> Result<String> {
    let parts: Vec<String> = key
        .iter()
        .zip(values)
        .map(|((_, wire), v)| Ok(format!("{wire} eq {}", literal(v)?)))
        .collect::<Result<_>>()?;
    Ok(parts.join(" and "))
}

/// The records after `after` in key order: `k1 gt a or (k1 eq a and k2 gt b) or …`.
fn after_filter(key: &[(&str, &str)], after: &Key) -> Result<String> {
    let mut any = Vec::new();
    for i in 0..key.len().min(after.len()) {
        let mut all = String::new();
        for j in 0..i {
            write!(all, "{} eq {} and ", key[j].1, literal(&after[j])?).expect("a string");
        }
        write!(all, "{} gt {}", key[i].1, literal(&after[i])?).expect("a string");
        any.push(format!("({all})"));
    }
    Ok(any.join(" or "))
}

/// A value as a literal of a `$filter` (text quoted, GUIDs, numbers and dates bare).
fn literal(v: &Value) -> Result<String> {
    match v {
        Value::Text(t) => Ok(format!("'{}'", t.replace('\'', "''"))),
        // Only text is percent-encoded by `key_literal`; the query string encodes the rest.
        other => json::key_literal(other).map_err(|e| StoreError::new(ErrorKind::Permanent, e)),
    }
}

/// One entity of a response as a row of `desc`, or the record as unreadable.
fn decode(shape: &Shape, desc: &EntityDesc, e: &Entity) -> std::result::Result<Row, Box<BadRow>> {
    let key: Vec<std::result::Result<Value, String>> = desc
        .key_columns()
        .map(|c| e.value(shape.wire(&c.name), c.value_type))
        .collect();
    let raw_key = serde_json::to_string(
        &desc
            .key_columns()
            .map(|c| {
                e.raw(shape.wire(&c.name))
                    .unwrap_or("null")
                    .trim_matches('"')
                    .to_string()
            })
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let good_key: Option<Key> = key.iter().cloned().collect::<std::result::Result<_, _>>().ok();
    let mut row = Vec::with_capacity(desc.columns.len());
    for c in &desc.columns {
        let wire = shape.wire(&c.name);
        let value = match e.raw(wire) {
            // Dataverse leaves out nothing it was asked for; a missing property is empty.
            None => Ok(Value::Null),
            Some(raw) => json::value_of(raw, c.value_type, &c.name),
        };
        match value {
            Ok(v) => row.push(v),
            Err(message) => {
                return Err(Box::new(BadRow {
                    key: good_key,
                    raw_key,
                    column: c.name.clone(),
                    raw: e.raw(wire).map(str::to_string),
                    message,
                    duplicate_key: false,
                }));
            }
        }
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_after_a_composite_key_and_quote_text() {
        let key = [("a", "a"), ("b", "_b_value")];
        let after = vec![Value::Text("O'Neil".into()), Value::Int(3)];
        assert_eq!(
            after_filter(&key, &after).unwrap(),
            "(a gt 'O''Neil') or (a eq 'O''Neil' and _b_value gt 3)"
        );
        assert_eq!(equals(&key, &after).unwrap(), "a eq 'O''Neil' and _b_value eq 3");
    }
}
