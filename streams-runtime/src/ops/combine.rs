//! Pre-aggregation before a repartition topic (opt-in, [`KGroupedStream::pre_aggregated`]
//! (crate::KGroupedStream::pre_aggregated); Kafka Streams has none): each task folds the
//! records of a key into one partial aggregate until it commits (or the combiner holds as
//! many keys as the record cache would), then sends one record per key through the
//! repartition topic, where the aggregation merges the partials. The final table is the
//! same; the aggregation sees fewer, larger updates, and the broker carries fewer records.
//!
//! A partial's timestamp is the largest of its records', which is what the aggregation would
//! have stamped its result with anyway (the largest input timestamp of the key), and its
//! headers the latest record's. Records with a null key are dropped uncounted (the
//! repartition's filter would drop them), with a null value dropped and counted (the
//! aggregation would).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::cache::Flush;
use super::{Context, NullDrops, Processor};
use crate::record::{Data, Headers, Record};
use crate::state::StoreKey;

/// Folds a value into a key's partial aggregate (`None`: the key's first value since the
/// last flush).
pub(crate) type Fold<K, V, A> = Arc<dyn Fn(&K, V, Option<A>) -> A + Send + Sync>;

/// Whether a key, and a value, is Kafka's null (their codecs' `is_null`).
pub(crate) type NullChecks<K, V> = (fn(&K) -> bool, fn(&V) -> bool);

/// The partial aggregates of one task.
pub(crate) struct Combiner<K, V, A> {
    fold: Fold<K, V, A>,
    /// Keys held before a flush; 0: every record goes on at once (folded alone).
    capacity: usize,
    key_is_null: fn(&K) -> bool,
    value_is_null: fn(&V) -> bool,
    dropped: Arc<AtomicU64>,
    order: Vec<K>,
    partials: FxHashMap<K, (A, i64, Headers)>,
    next: Box<dyn Processor<K, A>>,
}

/// A combiner shared by its processor and the task, which flushes it at commit.
pub(crate) type SharedCombiner<K, V, A> = Arc<Mutex<Combiner<K, V, A>>>;

impl<K: StoreKey, V: Data, A: Data> Combiner<K, V, A> {
    pub(crate) fn new(
        fold: Fold<K, V, A>,
        capacity: usize,
        (key_is_null, value_is_null): NullChecks<K, V>,
        dropped: Arc<AtomicU64>,
        next: Box<dyn Processor<K, A>>,
    ) -> Self {
        Combiner {
            fold,
            capacity,
            key_is_null,
            value_is_null,
            dropped,
            order: Vec::new(),
            partials: FxHashMap::default(),
            next,
        }
    }

    fn add(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        if (self.key_is_null)(&key) {
            return;
        }
        if (self.value_is_null)(&value) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.capacity == 0 {
            let partial = (self.fold)(&key, value, None);
            return self.next.process(ctx, Record { key, value: partial, timestamp, headers });
        }
        let (partial, timestamp) = match self.partials.remove(&key) {
            Some((partial, ts, _)) => ((self.fold)(&key, value, Some(partial)), ts.max(timestamp)),
            None => {
                self.order.push(key.clone());
                ((self.fold)(&key, value, None), timestamp)
            }
        };
        self.partials.insert(key, (partial, timestamp, headers));
        if self.order.len() >= self.capacity {
            self.flush(ctx);
        }
    }
}

impl<K: StoreKey, V: Data, A: Data> Flush for Combiner<K, V, A> {
    /// Sends every partial on, in the order its key first came since the last flush.
    fn flush(&mut self, ctx: &mut Context<'_>) {
        for key in std::mem::take(&mut self.order) {
            if let Some((partial, timestamp, headers)) = self.partials.remove(&key) {
                self.next.process(ctx, Record { key, value: partial, timestamp, headers });
            }
        }
    }
}

impl<K: StoreKey, V: Data, A: Data> Flush for SharedCombiner<K, V, A> {
    fn flush(&mut self, ctx: &mut Context<'_>) {
        self.lock().unwrap_or_else(|p| p.into_inner()).flush(ctx);
    }
}

/// The processor in front of a combiner.
pub(crate) struct CombineProc<K, V, A>(pub(crate) SharedCombiner<K, V, A>);

impl<K: StoreKey, V: Data, A: Data> Processor<K, V> for CombineProc<K, V, A> {
    /// A null key goes uncounted (the repartition's filter), a null value counted (the
    /// aggregation after it).
    fn null_drops(&self) -> NullDrops {
        NullDrops { key: 0, value: 1, both: 0 }
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).add(ctx, record);
    }
}
