//! Reading a data entity: every request asks `cross-company=true` (otherwise only the user's
//! default company answers) and, where the entity is per company, filters to the companies in
//! scope (`dataAreaId eq 'usmf' or …`; `in` is not supported). A scan runs in key order
//! (`$orderby` the key, `$filter` after the last key, `$top`, server pages of up to 10,000
//! followed through `@odata.nextLink`); records are read by composite key in chunks that fit a
//! URL; `$count` counts with the same filter.

use super::FinopsStore;
use super::shape::Shape;
use crate::store::odata::{json, query};
use crate::store::{EntityDesc, Key, Page, Result, Rows};
use crate::value::Value;

/// Records asked for beyond a page when the filter lets those of the last key's prefix through
/// again (an enumeration in the key; four transaction types per category in the shipped maps).
const WIDER: usize = 16;

/// Keys per read by key: an `or` of this many composite-key comparisons stays under 16 KB of URL.
const KEYS_PER_READ: usize = 80;

impl FinopsStore {
    /// `col eq 'A' or col eq 'B'` for the companies in scope, when the entity is per company.
    pub(super) fn company_filter(&self, shape: &Shape) -> Result<Option<String>> {
        let Some(column) = &shape.company else {
            return Ok(None);
        };
        if self.companies.is_empty() {
            return Ok(None);
        }
        let any: Vec<String> = self
            .companies
            .iter()
            .map(|c| {
                Ok(format!(
                    "{column} eq {}",
                    shape.literal(column, &Value::Text(c.clone()))?
                ))
            })
            .collect::<Result<_>>()?;
        Ok(Some(any.join(" or ")))
    }

    /// The URL of the entity set with `cross-company=true`, `$select` and the `$filter` of
    /// `filters` (each parenthesized, joined by `and`).
    pub(super) fn query_url(
        &self,
        shape: &Shape,
        select: &str,
        filters: &[String],
        extra: &[(&str, String)],
    ) -> Result<url::Url> {
        let mut url = self.service.url(&shape.set)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("cross-company", "true");
            if !select.is_empty() {
                q.append_pair("$select", select);
            }
            if !filters.is_empty() {
                let all: Vec<String> = filters.iter().map(|f| format!("({f})")).collect();
                q.append_pair("$filter", &all.join(" and "));
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    pub(super) async fn scan_page(&self, desc: &EntityDesc, after: Option<&Key>, limit: usize) -> Result<Page> {
        let shape = self.shape(&desc.name).await?;
        let keys = shape.key_names();
        let mut filters = Vec::new();
        let mut inexact = false;
        if let Some(after) = after {
            let (filter, wider) = shape.after_filter(&keys, after)?;
            filters.push(filter);
            inexact = wider;
        }
        filters.extend(self.company_filter(&shape)?);
        let order: Vec<String> = keys.iter().map(|k| format!("{k} asc")).collect();
        let limit = limit.max(1);
        // A wider filter returns the records of `after`'s prefix again: ask for a few more.
        let asked = if inexact { limit + WIDER } else { limit };
        let url = self.query_url(
            &shape,
            &select(desc),
            &filters,
            &[("$orderby", order.join(",")), ("$top", asked.to_string())],
        )?;
        let mut entities = self.service.get_all(url, self.page_size(asked), asked).await?;
        if let (true, Some(after)) = (inexact, after) {
            // Drop the records up to `after` (when it is still there; else none is dropped:
            // reading a record again is harmless).
            let key_of = |e: &json::Entity| -> Option<Key> {
                desc.key_columns()
                    .map(|c| e.value(&c.name, c.value_type).ok())
                    .collect()
            };
            if let Some(i) = entities.iter().position(|e| key_of(e).as_ref() == Some(after)) {
                entities.drain(..=i);
            }
        }
        entities.truncate(limit);
        Ok(query::page_of(desc, &entities, |c| c))
    }

    pub(super) async fn read_keys(&self, desc: &EntityDesc, keys: &[Key]) -> Result<Rows> {
        let shape = self.shape(&desc.name).await?;
        let names = shape.key_names();
        let literal = shape.literal_of(&names);
        let mut out = Rows::default();
        for chunk in keys.chunks(KEYS_PER_READ) {
            let mut any = Vec::new();
            for k in chunk {
                any.push(format!("({})", query::equals(&names, k, &literal)?));
            }
            let url = self.query_url(&shape, &select(desc), &[any.join(" or ")], &[])?;
            for e in self
                .service
                .get_all(url, self.page_size(usize::MAX), usize::MAX)
                .await?
            {
                match query::decode(desc, &e, |c| c) {
                    Ok(row) => out.rows.push(row),
                    Err(bad) => out.bad.push(*bad),
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn count_of(&self, entity: &str) -> Result<u64> {
        let shape = self.shape(entity).await?;
        let filters: Vec<String> = self.company_filter(&shape)?.into_iter().collect();
        let mut url = self.query_url(&shape, "", &filters, &[])?;
        url.set_path(&format!("{}/$count", url.path()));
        self.service.count(url, entity).await
    }
}

/// `$select` of the columns of `desc`.
pub(super) fn select(desc: &EntityDesc) -> String {
    desc.columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
