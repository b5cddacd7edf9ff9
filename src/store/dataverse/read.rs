//! Reading a Dataverse entity set: a scan in key order (`$orderby` the key, `$filter` after the
//! last key, `Prefer: odata.maxpagesize`, `@odata.nextLink` followed as sent), records by key in
//! chunks that fit a URL, and a count. Values are read from their JSON text exactly; a value
//! that cannot be read makes its record a `BadRow` naming the column and the raw value.

use super::DataverseStore;
use crate::store::odata::json;
use crate::store::odata::query;
use crate::store::{EntityDesc, Key, Page, Result, Rows};
use crate::value::Value;

/// Keys per read by key: an `or` of this many GUID comparisons is about 7 KB of URL, well under
/// what the Web API takes in a GET.
const KEYS_PER_READ: usize = 100;

/// Values of a Dataverse filter are plain literals (no enumerations).
fn plain(_: usize, v: &Value) -> Result<String> {
    query::literal(v)
}

impl DataverseStore {
    /// GETs one page of a collection (`url` absolute), asking for `page` records.
    pub(super) async fn get_page(&self, url: &url::Url, page: usize, track: bool) -> Result<json::Page> {
        let prefer = match track {
            true => format!("odata.track-changes,odata.maxpagesize={page}"),
            false => format!("odata.maxpagesize={page}"),
        };
        Ok(self.service.get_page(url, Some(&prefer)).await?.0)
    }

    pub(super) fn follow(&self, from: &url::Url, link: &str) -> Result<url::Url> {
        self.service.follow(from, link)
    }

    pub(super) async fn scan_page(&self, desc: &EntityDesc, after: Option<&Key>, limit: usize) -> Result<Page> {
        let shape = self.shape(&desc.name).await?;
        let wires = shape.key_wires();
        let mut url = self.url(&desc.name)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("$select", &shape.select(desc));
            let order: Vec<String> = wires.iter().map(|w| format!("{w} asc")).collect();
            q.append_pair("$orderby", &order.join(","));
            if let Some(after) = after {
                q.append_pair("$filter", &query::after(&wires, after, &plain)?);
            }
        }
        let entities = self.service.get_all(url, self.page_size(limit), limit.max(1)).await?;
        let mut page = Page::default();
        for e in entities.iter().take(limit.max(1)) {
            match query::decode(desc, e, |c| shape.wire(c)) {
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
        let wires = shape.key_wires();
        let mut out = Rows::default();
        for chunk in keys.chunks(KEYS_PER_READ) {
            let mut any = Vec::new();
            for k in chunk {
                any.push(format!("({})", query::equals(&wires, k, &plain)?));
            }
            let mut url = self.url(&desc.name)?;
            url.query_pairs_mut()
                .append_pair("$select", &shape.select(desc))
                .append_pair("$filter", &any.join(" or "));
            for e in self
                .service
                .get_all(url, self.page_size(usize::MAX), usize::MAX)
                .await?
            {
                match query::decode(desc, &e, |c| shape.wire(c)) {
                    Ok(row) => out.rows.push(row),
                    Err(bad) => out.bad.push(*bad),
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn count_of(&self, entity: &str) -> Result<u64> {
        self.shape(entity).await?;
        self.service.count(self.url(&format!("{entity}/$count"))?, entity).await
    }
}
