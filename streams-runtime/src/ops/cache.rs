//! The record cache of aggregations (Kafka's `statestore.cache.max.bytes`): updates of the
//! same key between two commits are coalesced, and each dirty key is forwarded once at the
//! commit (or when the cache is full), in the order keys first became dirty. With a
//! capacity of 0 every update is forwarded at once (the test driver, which commits after
//! every record, behaves the same either way).

use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::{Context, Processor};
use crate::record::Data;
use crate::record::{Change, Headers, Record};
use crate::state::{KeyValueStore, StoreKey};

/// What a task flushes at commit.
pub(crate) trait Flush: Send {
    fn flush(&mut self, ctx: &mut Context<'_>);
}

/// Forwards an aggregation's results downstream, directly or through the cache.
pub(crate) struct Emitter<K, A> {
    store: Arc<KeyValueStore<K, A>>,
    next: Box<dyn Processor<K, Change<A>>>,
    capacity: usize,
    order: Vec<K>,
    /// Per dirty key: the value last forwarded (the `old` of the coalesced change), the
    /// latest timestamp and headers.
    dirty: FxHashMap<K, (Option<A>, i64, Headers)>,
}

impl<K: StoreKey, A: Data> Emitter<K, A> {
    pub(crate) fn new(
        store: Arc<KeyValueStore<K, A>>,
        next: Box<dyn Processor<K, Change<A>>>,
        capacity: usize,
    ) -> Self {
        Emitter { store, next, capacity, order: Vec::new(), dirty: FxHashMap::default() }
    }

    /// The aggregate of `key` changed from `old` to `new` (already in the store).
    pub(crate) fn emit(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<A>>) {
        if self.capacity == 0 {
            self.next.process(ctx, record);
            return;
        }
        let Record { key, value: Change { old, .. }, timestamp, headers } = record;
        match self.dirty.get_mut(&key) {
            Some(entry) => {
                entry.1 = entry.1.max(timestamp);
                entry.2 = headers;
            }
            None => {
                self.order.push(key.clone());
                self.dirty.insert(key, (old, timestamp, headers));
            }
        }
        if self.order.len() >= self.capacity {
            self.flush(ctx);
        }
    }
}

impl<K: StoreKey, A: Data> Flush for Emitter<K, A> {
    fn flush(&mut self, ctx: &mut Context<'_>) {
        for key in std::mem::take(&mut self.order) {
            let Some((old, timestamp, headers)) = self.dirty.remove(&key) else { continue };
            let new = self.store.flushed_value(&key);
            self.next.process(ctx, Record { key, value: Change { new, old }, timestamp, headers });
        }
    }
}

/// A shared emitter: the aggregation forwards through it, the task flushes it.
pub(crate) type SharedEmitter<K, A> = Arc<Mutex<Emitter<K, A>>>;

impl<K: StoreKey, A: Data> Flush for SharedEmitter<K, A> {
    fn flush(&mut self, ctx: &mut Context<'_>) {
        self.lock().unwrap_or_else(|p| p.into_inner()).flush(ctx);
    }
}
