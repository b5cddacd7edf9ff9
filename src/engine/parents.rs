//! The parents' links that every batch of a child map translates its lookups through (the
//! projects, tasks, roles and contracts of a batch of actuals), kept in memory: they are few
//! and hot, and reading them cost a state-store query per lookup field and batch. An entry is
//! used only while its parent map's links are unchanged (`StateStore::link_changes`, counted
//! after every commit through this process) and for at most `TTL`, which bounds how long a
//! change made by another process (an operator's command) can go unseen. Only links found are
//! kept: a parent that is missing is asked for again next time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::tablemap::model::Side;
use crate::value::Value;

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
    pub fn get(&self, parent: &str, from: Side, changes: u64, texts: Vec<String>) -> (Vec<(String, Value)>, Vec<String>) {
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
        cache.put("projects", Side::Operational, 3, &[("a".into(), Value::Text("A".into()))]);
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
