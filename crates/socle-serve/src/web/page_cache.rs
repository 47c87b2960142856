//! The results a dashboard page shows, kept per account scope and per publication: the data
//! only changes when a night publishes, so twenty people looking at the same dashboard need not
//! each plan and run its queries again. Only results are kept: each request is still checked
//! against its account's scope first and audited as if it had been computed.
//!
//! The key holds the publication stamp; entries of an older publication are dropped at the
//! first lookup that sees a new stamp. The cache is bounded by a count of entries (a page holds
//! at most `PAGE_ROWS` rows plus its filters' values, a few tens of kilobytes), the oldest
//! dropped first.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;

use crate::scope::Scope;

/// Pages kept at most (all scopes together).
pub const MAX_CACHED_PAGES: usize = 2048;

/// What identifies one page's results.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub scope: Scope,
    pub mart: String,
    pub filters: BTreeMap<String, String>,
    pub page: usize,
}

/// The results of one page: the count of matching rows, the page's rows and each filter's
/// drop-down values.
#[derive(Debug)]
pub struct PageData {
    pub total: usize,
    pub batches: Vec<RecordBatch>,
    pub options: Vec<(String, Vec<String>)>,
}

#[derive(Default)]
struct Entries {
    stamp: String,
    map: HashMap<PageKey, Arc<PageData>>,
    order: VecDeque<PageKey>,
}

/// See the module's documentation.
pub struct PageCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::new(MAX_CACHED_PAGES)
    }
}

impl PageCache {
    pub fn new(capacity: usize) -> Self {
        PageCache {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The page's results computed for publication `stamp`, if kept.
    pub fn get(&self, stamp: &str, key: &PageKey) -> Option<Arc<PageData>> {
        let e = self.entries.lock().ok()?;
        if e.stamp != stamp {
            return None;
        }
        e.map.get(key).cloned()
    }

    /// Keeps `data` for `key` under publication `stamp`, forgetting every page of another
    /// publication and the oldest pages beyond the capacity.
    pub fn put(&self, stamp: &str, key: PageKey, data: Arc<PageData>) {
        let Ok(mut e) = self.entries.lock() else {
            return;
        };
        if e.stamp != stamp {
            *e = Entries {
                stamp: stamp.to_string(),
                ..Entries::default()
            };
        }
        if e.map.insert(key.clone(), data).is_none() {
            e.order.push_back(key);
        }
        while e.map.len() > self.capacity {
            let Some(oldest) = e.order.pop_front() else { break };
            e.map.remove(&oldest);
        }
    }

    /// Pages kept now.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.map.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    fn key(mart: &str, page: usize) -> PageKey {
        PageKey {
            scope: Scope {
                role: Role::Css,
                css: Some("762000".into()),
                etablissements: Default::default(),
                nominatif: false,
            },
            mart: mart.into(),
            filters: BTreeMap::new(),
            page,
        }
    }

    fn data(total: usize) -> Arc<PageData> {
        Arc::new(PageData {
            total,
            batches: vec![],
            options: vec![],
        })
    }

    #[test]
    fn a_page_is_found_under_its_publication_only() {
        let c = PageCache::new(10);
        c.put("night-1", key("taux_reussite", 1), data(7));
        assert_eq!(c.get("night-1", &key("taux_reussite", 1)).map(|d| d.total), Some(7));
        assert!(c.get("night-1", &key("taux_reussite", 2)).is_none());
        assert!(c.get("night-2", &key("taux_reussite", 1)).is_none());
        // A page of the new publication drops the old ones.
        c.put("night-2", key("effectif", 1), data(3));
        assert_eq!(c.len(), 1);
        assert!(c.get("night-1", &key("taux_reussite", 1)).is_none());
    }

    #[test]
    fn another_scope_never_sees_a_page_kept_for_one() {
        let c = PageCache::new(10);
        c.put("n", key("taux_reussite", 1), data(7));
        let mut other = key("taux_reussite", 1);
        other.scope.css = Some("711000".into());
        assert!(c.get("n", &other).is_none());
    }

    #[test]
    fn the_oldest_pages_go_first_beyond_the_capacity() {
        let c = PageCache::new(2);
        for p in 1..=3 {
            c.put("n", key("m", p), data(p));
        }
        assert_eq!(c.len(), 2);
        assert!(c.get("n", &key("m", 1)).is_none());
        assert!(c.get("n", &key("m", 3)).is_some());
    }
}
