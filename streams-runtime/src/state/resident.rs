//! What Kafka's record cache still holds of a caching window or session store.
//!
//! Kafka's cache keeps every entry written through it, flushed or not, until it evicts the
//! least recently written one for room; and a caching store's reads merge the cache with the
//! store beneath. So an entry the store beneath has already expired (its time is more than
//! the retention behind stream time) is still found while the cache holds it: a session
//! aggregation merges such a session, a sliding window aggregation updates such a window, a
//! window aggregation emitting on close emits such a window (`CachingSessionStore`,
//! `CachingWindowStore`). A store with a [`Resident`] set keeps its expired entries while
//! they are resident, and drops them when they are evicted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;

/// The entries a store's cache holds, least recently written first, up to a capacity.
pub(crate) struct Resident<T> {
    capacity: usize,
    next: u64,
    order: BTreeMap<u64, T>,
    at: HashMap<T, u64>,
    /// Resident entries the store has expired, kept only for as long as they are resident.
    expired: HashSet<T>,
}

impl<T: Hash + Eq + Clone> Resident<T> {
    /// A cache holding up to `capacity` entries of the store.
    pub(crate) fn new(capacity: usize) -> Self {
        Resident {
            capacity: capacity.max(1),
            next: 0,
            order: BTreeMap::new(),
            at: HashMap::new(),
            expired: HashSet::new(),
        }
    }

    /// `entry` was written: it is the most recent. Returns the expired entries evicted for
    /// room, which the store drops now.
    #[must_use]
    pub(crate) fn written(&mut self, entry: &T) -> Vec<T> {
        if let Some(seq) = self.at.get(entry) {
            self.order.remove(seq);
        }
        self.at.insert(entry.clone(), self.next);
        self.order.insert(self.next, entry.clone());
        self.next += 1;
        let mut dropped = Vec::new();
        while self.at.len() > self.capacity {
            let Some((_, evicted)) = self.order.pop_first() else { break };
            self.at.remove(&evicted);
            if self.expired.remove(&evicted) {
                dropped.push(evicted);
            }
        }
        dropped
    }

    /// `entry` was deleted: Kafka's cache drops a deleted entry once it is flushed.
    pub(crate) fn deleted(&mut self, entry: &T) {
        if let Some(seq) = self.at.remove(entry) {
            self.order.remove(&seq);
        }
        self.expired.remove(entry);
    }

    /// The store expires `entry`: whether to keep it (it is resident; it is dropped when
    /// evicted).
    pub(crate) fn keeps_expired(&mut self, entry: &T) -> bool {
        let resident = self.at.contains_key(entry);
        if resident {
            self.expired.insert(entry.clone());
        }
        resident
    }
}

#[cfg(test)]
mod tests {
    use super::Resident;

    #[test]
    fn keeps_expired_entries_until_evicted_least_recently_written_first() {
        let mut r = Resident::new(2);
        assert!(r.written(&"a").is_empty());
        assert!(r.written(&"b").is_empty());
        assert!(r.keeps_expired(&"a"));
        assert!(!r.keeps_expired(&"z"), "never written: not resident");
        // "a" written again is the most recent: "b" goes first, and it was not expired.
        assert!(r.written(&"a").is_empty());
        assert!(r.written(&"c").is_empty());
        assert!(r.keeps_expired(&"c"));
        // "a" (expired, least recent now) is evicted and dropped.
        assert_eq!(r.written(&"d"), vec!["a"]);
        // A deleted entry is no longer resident.
        r.deleted(&"c");
        assert!(!r.keeps_expired(&"c"));
    }
}
