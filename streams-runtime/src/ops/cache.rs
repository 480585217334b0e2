//! The record cache of aggregations (Kafka's `statestore.cache.max.bytes`): updates of the
//! same key (of the same window, for windowed aggregations) between two commits are
//! coalesced, and each dirty key is forwarded once at the commit (or when the cache is full),
//! in the order of their latest updates (Kafka's `NamedCache.put` moves a key it updates to
//! the end of its dirty keys), with its latest value — kept here, as Kafka's cache
//! keeps its entry, so a window that closed and expired since still gets its last update
//! out. With a capacity of 0 every update is forwarded at once (the test driver, which
//! commits after every record, behaves the same either way).

use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::{Context, Processor};
use crate::record::Data;
use crate::record::{Change, Headers, Record};
use crate::state::StoreKey;

/// What a task flushes at commit.
pub(crate) trait Flush: Send {
    fn flush(&mut self, ctx: &mut Context<'_>);
}

/// Forwards an aggregation's results downstream, directly or through the cache.
pub(crate) struct Emitter<K, A> {
    next: Box<dyn Processor<K, Change<A>>>,
    capacity: usize,
    /// Dirty keys, each with the number of the update that put it here; a key updated again
    /// is here again with a later number, and its earlier places are skipped at the flush.
    order: Vec<(u64, K)>,
    /// The number of the next update.
    updates: u64,
    /// Per dirty key: the coalesced change (`old`: the value last forwarded; `new`: the
    /// latest), the latest update's timestamp and headers, and whether the key had a value
    /// when the cache last flushed.
    dirty: FxHashMap<K, Pending<A>>,
    /// Run after each flush (a windowed aggregation expires its windows then).
    after_flush: Option<Box<dyn FnMut() + Send>>,
    /// Decides at the flush whether an entry is forwarded (see [`Emitter::forward_if`]).
    forward_if: Option<ForwardIf<K>>,
}

/// Given a flushed entry's key, whether it has a new value, and whether its key had one
/// when the cache last flushed: whether to forward it.
pub(crate) type ForwardIf<K> = Box<dyn FnMut(&K, bool, bool) -> bool + Send>;

struct Pending<A> {
    /// The number of its latest update: its place in the order of the flush.
    update: u64,
    change: Change<A>,
    timestamp: i64,
    headers: Headers,
    existed: bool,
}

impl<K: StoreKey, A: Data> Emitter<K, A> {
    pub(crate) fn new(next: Box<dyn Processor<K, Change<A>>>, capacity: usize) -> Self {
        Emitter {
            next,
            capacity,
            order: Vec::new(),
            updates: 0,
            dirty: FxHashMap::default(),
            after_flush: None,
            forward_if: None,
        }
    }

    /// Whether updates are held until a flush (a capacity above 0).
    pub(crate) fn caches(&self) -> bool {
        self.capacity > 0
    }

    /// Runs `f` after every flush.
    pub(crate) fn after_flush(&mut self, f: impl FnMut() + Send + 'static) {
        self.after_flush = Some(Box::new(f));
    }

    /// Decides at each flush which entries are forwarded, in their order, instead of the
    /// default rule (every entry, but a deletion of a key that had no value): for a store
    /// beneath the cache that expires entries, whether it still has a deleted one then.
    pub(crate) fn forward_if(&mut self, f: ForwardIf<K>) {
        self.forward_if = Some(f);
    }

    /// The aggregate of `key` changed from `old` to `new` (already in the store).
    pub(crate) fn emit(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<A>>) {
        self.emit_update(ctx, record, true);
    }

    /// `key` changed (already in the store); `existed`: whether it had a value before. A
    /// key deleted that had no value when the cache last flushed is not forwarded at all
    /// (Kafka's `CachingKeyValueStore.putAndMaybeForward` skips an entry whose new value and
    /// stored value are both null), though it is without the cache.
    pub(crate) fn emit_update(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<A>>, existed: bool) {
        if self.capacity == 0 {
            self.next.process(ctx, record);
            return;
        }
        let Record { key, value: change, timestamp, headers } = record;
        let update = self.updates;
        self.updates += 1;
        match self.dirty.get_mut(&key) {
            Some(entry) => {
                entry.change.new = change.new;
                // The cache entry keeps the context of its latest update.
                entry.timestamp = timestamp;
                entry.headers = headers;
                entry.update = update;
                self.order.push((update, key));
                // Places left behind by keys updated again: dropped once they are half.
                if self.order.len() > 2 * self.dirty.len() + 16 {
                    let dirty = &self.dirty;
                    self.order.retain(|(update, key)| dirty.get(key).is_some_and(|e| e.update == *update));
                }
            }
            None => {
                self.order.push((update, key.clone()));
                self.dirty.insert(key, Pending { update, change, timestamp, headers, existed });
            }
        }
        if self.dirty.len() >= self.capacity {
            self.flush(ctx);
        }
    }
}

impl<K: StoreKey, A: Data> Flush for Emitter<K, A> {
    fn flush(&mut self, ctx: &mut Context<'_>) {
        for (update, key) in std::mem::take(&mut self.order) {
            if self.dirty.get(&key).is_none_or(|e| e.update != update) {
                continue;
            }
            let Some(Pending { change, timestamp, headers, existed, .. }) = self.dirty.remove(&key) else {
                continue;
            };
            let forward = match &mut self.forward_if {
                Some(f) => f(&key, change.new.is_some(), existed),
                None => change.new.is_some() || existed,
            };
            if !forward {
                continue;
            }
            self.next.process(ctx, Record { key, value: change, timestamp, headers });
        }
        if let Some(f) = &mut self.after_flush {
            f();
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
