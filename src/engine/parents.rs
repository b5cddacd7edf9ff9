//! The parents' links that every batch of a child map translates its lookups through (the
//! projects, tasks, roles and contracts of a batch of actuals), kept in memory: they are few
//! and hot, and reading them cost a state-store query per lookup field and batch. An entry is
//! used only while its parent map's links are unchanged (`StateStore::link_changes`, counted
//! after every commit through this process) and for at most `TTL`, which bounds how long a
//! change made by another process (an operator's command) can go unseen. Only links found are
//! kept: a parent that is missing is asked for again next time. `Engine::prefetch` gathers a
//! batch's translations from here and the state store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Engine;
use super::compile::CompiledMap;
use super::state::{key_text, parse_key_text};
use super::transform;
use crate::store::{EntityDesc, Result, Row};
use crate::tablemap::model::Side;
use crate::value::{Value, ValueType};

/// How long cached links are trusted at most.
pub const TTL: Duration = Duration::from_secs(30);

/// Cached translations per parent map and direction, at most this many (then it starts over):
/// a lookup to a large map (transaction connections to actuals) must not grow without bound.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub(crate) struct ParentLinks(Mutex<HashMap<(String, Side), Cached>>);

struct Cached {
    /// `StateStore::link_changes` of the parent when the entries were read.
    changes: u64,
    born: Instant,
    /// Source-side key text -> the other side's key value.
    values: HashMap<String, Value>,
}

impl ParentLinks {
    /// The cached translations of `texts` through `parent` from side `from`, given the parent's
    /// current change count; the texts not cached are returned apart.
    pub fn get(
        &self,
        parent: &str,
        from: Side,
        changes: u64,
        texts: Vec<String>,
    ) -> (Vec<(String, Value)>, Vec<String>) {
        let mut all = self.0.lock().expect("parent links");
        let key = (parent.to_string(), from);
        if all
            .get(&key)
            .is_some_and(|c| c.changes != changes || c.born.elapsed() > TTL)
        {
            all.remove(&key);
        }
        let Some(cached) = all.get(&key) else {
            return (Vec::new(), texts);
        };
        let (mut hits, mut misses) = (Vec::new(), Vec::new());
        for text in texts {
            match cached.values.get(&text) {
                Some(v) => hits.push((text, v.clone())),
                None => misses.push(text),
            }
        }
        (hits, misses)
    }

    /// Keeps translations read from the state store when the parent's change count was
    /// `changes` (taken before the read).
    pub fn put(&self, parent: &str, from: Side, changes: u64, found: &[(String, Value)]) {
        if found.is_empty() {
            return;
        }
        let mut all = self.0.lock().expect("parent links");
        let cached = all.entry((parent.to_string(), from)).or_insert_with(|| Cached {
            changes,
            born: Instant::now(),
            values: HashMap::new(),
        });
        if cached.changes != changes || cached.values.len() + found.len() > MAX_ENTRIES {
            *cached = Cached {
                changes,
                born: Instant::now(),
                values: HashMap::new(),
            };
        }
        cached.values.extend(found.iter().cloned());
    }
}

/// Lookup translations for one batch, fetched in one query per referenced map.
pub(super) struct Prefetched {
    /// (map, source-side key text) -> the other side's single key value.
    values: HashMap<(String, String), Value>,
}

impl transform::Links for Prefetched {
    fn translate(&self, map: &str, _from: Side, key: &Value) -> Option<Value> {
        self.values
            .get(&(map.to_string(), key_text(std::slice::from_ref(key))))
            .cloned()
    }
}

/// The value types of a map's key on one side (the company column is text).
fn key_types(map: &CompiledMap, side: Side) -> Vec<ValueType> {
    let s = map.side(side);
    s.key
        .iter()
        .map(|col| {
            if s.company.as_deref() == Some(col) || (side == Side::Accounting && map.fan_out_column() == Some(col)) {
                ValueType::Text
            } else {
                map.key_field(side, col)
                    .map(|f| f.field_type.value_type(side, f.has_value_map()))
                    .unwrap_or(ValueType::Text)
            }
        })
        .collect()
}

impl Engine {
    /// The translations a batch's lookups need, from the cache or one query per parent map.
    pub(super) async fn prefetch(
        &self,
        map: &CompiledMap,
        from: Side,
        desc: &EntityDesc,
        rows: &[Row],
    ) -> Result<Prefetched> {
        let target = from.other();
        let mut values = HashMap::new();
        for field in map.fields.iter().filter(|f| f.lookup.is_some() && f.writes(target)) {
            let (Some(parent_name), Some(col)) = (field.lookup.as_deref(), field.column(from)) else {
                continue;
            };
            let Some(idx) = desc.index_of(col) else { continue };
            let Some(parent) = self.map(parent_name) else { continue };
            let mut texts: Vec<String> = rows
                .iter()
                .filter(|r| !r[idx].is_null())
                .map(|r| key_text(std::slice::from_ref(&r[idx])))
                .collect();
            texts.sort();
            texts.dedup();
            if texts.is_empty() {
                continue;
            }
            // The parents' links come from memory while they are unchanged (`parents`).
            let changes = self.state.link_changes(parent_name);
            let (hits, texts) = self.parent_links.get(parent_name, from, changes, texts);
            for (text, value) in hits {
                values.insert((parent_name.to_string(), text), value);
            }
            if texts.is_empty() {
                continue;
            }
            let links = match from {
                Side::Operational => self.state.links_by_operational(parent_name, &texts).await?,
                Side::Accounting => self.state.links_by_accounting(parent_name, &texts).await?,
            };
            // The single key column of the parent on the target side, besides its company.
            let target_side = parent.side(target);
            let Some(pos) = target_side
                .key
                .iter()
                .position(|c| Some(c) != target_side.company.as_ref())
            else {
                continue;
            };
            let types = key_types(parent, target);
            let mut found = Vec::new();
            for link in links {
                let (source_text, target_text) = match from {
                    Side::Operational => (link.operational_key, link.accounting_key),
                    Side::Accounting => (link.accounting_key, link.operational_key),
                };
                if let Some(key) = parse_key_text(&target_text, &types) {
                    found.push((source_text, key[pos].clone()));
                }
            }
            self.parent_links.put(parent_name, from, changes, &found);
            for (text, value) in found {
                values.insert((parent_name.to_string(), text), value);
            }
        }
        Ok(Prefetched { values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_cached_link_is_used_until_the_parents_links_change() {
        let cache = ParentLinks::default();
        let (hits, misses) = cache.get("projects", Side::Operational, 3, texts(&["a", "b"]));
        assert!(hits.is_empty());
        assert_eq!(misses, texts(&["a", "b"]));
        cache.put(
            "projects",
            Side::Operational,
            3,
            &[("a".into(), Value::Text("A".into()))],
        );
        let (hits, misses) = cache.get("projects", Side::Operational, 3, texts(&["a", "b"]));
        assert_eq!(hits, vec![("a".to_string(), Value::Text("A".into()))]);
        assert_eq!(misses, texts(&["b"]));
        // The other direction and other maps are apart.
        assert!(cache.get("projects", Side::Accounting, 3, texts(&["a"])).0.is_empty());
        assert!(cache.get("tasks", Side::Operational, 3, texts(&["a"])).0.is_empty());
        // A commit of the parent's links discards what was cached.
        let (hits, misses) = cache.get("projects", Side::Operational, 4, texts(&["a"]));
        assert!(hits.is_empty());
        assert_eq!(misses, texts(&["a"]));
    }

    #[test]
    fn entries_read_under_an_older_count_are_not_mixed_with_newer_ones() {
        let cache = ParentLinks::default();
        cache.put("projects", Side::Operational, 1, &[("a".into(), Value::Int(1))]);
        cache.put("projects", Side::Operational, 2, &[("b".into(), Value::Int(2))]);
        let (hits, misses) = cache.get("projects", Side::Operational, 2, texts(&["a", "b"]));
        assert_eq!(hits, vec![("b".to_string(), Value::Int(2))]);
        assert_eq!(misses, texts(&["a"]));
    }
}
