//! Stream aggregations (`count`, `reduce`, `aggregate` on a grouped stream): fold each record
//! into the key's aggregate in a store and emit the new aggregate. The result's timestamp is
//! the largest input timestamp of the key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::cache::SharedEmitter;
use super::{Context, Processor};
use crate::codec::Codec;
use crate::record::Data;
use crate::record::{Change, Record};
use crate::state::{KeyValueStore, StoreKey};

/// Folds `value` into the key's aggregate (`None` before the key's first record).
pub(crate) type Aggregator<K, V, A> = Arc<dyn Fn(&K, V, Option<A>) -> A + Send + Sync>;

pub(crate) struct StreamAggregateProc<K, V, A> {
    /// Whether a key or a value is null: such records are dropped and counted, as Kafka's
    /// `KStreamAggregate` and `KStreamReduce` drop them.
    pub(crate) nulls: Nulls<K, V>,
    pub(crate) store: Arc<KeyValueStore<K, A>>,
    pub(crate) aggregator: Aggregator<K, V, A>,
    pub(crate) send_old_values: bool,
    pub(crate) emitter: SharedEmitter<K, A>,
}

impl<K: StoreKey, V: Data, A: Data> StreamAggregateProc<K, V, A> {
    /// The aggregation of table `table` into the task's store `store` (codecs `KC`, `AC`),
    /// forwarding to `next` through the task's record cache.
    pub(crate) fn new<KC, VC, AC>(
        tb: &mut crate::graph::TaskBuild<'_>,
        store: &str,
        aggregator: Aggregator<K, V, A>,
        table: usize,
        next: Box<dyn Processor<K, Change<A>>>,
    ) -> Self
    where
        KC: Codec<Value = K>,
        VC: Codec<Value = V>,
        AC: Codec<Value = A>,
    {
        StreamAggregateProc {
            nulls: Nulls::of::<KC, VC>(tb.dropped.clone()),
            store: tb.key_value_store::<KC, AC>(store),
            aggregator,
            send_old_values: tb.sends_old_values(table),
            emitter: tb.emitter(next),
        }
    }
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, V> for StreamAggregateProc<K, V, A> {
    /// Kafka's `KStreamAggregate`/`KStreamReduce`: a null key or value.
    fn null_drops(&self) -> super::NullDrops {
        super::NullDrops::counted(true)
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        if self.nulls.drops(ctx, &record.key, Some(&record.value)) {
            return;
        }
        let Record { key, value, timestamp, headers } = record;
        let mut old_out = None;
        let (new, timestamp) = self.store.update(&key, |old| {
            let (old, old_ts) = match old {
                Some((a, ts)) => (Some(a), ts),
                None => (None, i64::MIN),
            };
            if self.send_old_values {
                old_out = old.clone();
            }
            ((self.aggregator)(&key, value, old), timestamp.max(old_ts))
        });
        let change = Change::new(Some(new), old_out);
        let mut emitter = self.emitter.lock().unwrap_or_else(|p| p.into_inner());
        emitter.emit(ctx, Record { key, value: change, timestamp, headers });
    }
}

/// Which keys and values are Kafka's null, from their codecs, and the count of records
/// dropped for holding one.
pub(crate) struct Nulls<K, V> {
    pub(crate) key: fn(&K) -> bool,
    pub(crate) value: fn(&V) -> bool,
    pub(crate) dropped: Arc<AtomicU64>,
}

impl<K, V> Nulls<K, V> {
    pub(crate) fn of<KC: Codec<Value = K>, VC: Codec<Value = V>>(dropped: Arc<AtomicU64>) -> Self {
        Nulls { key: KC::is_null, value: VC::is_null, dropped }
    }

    /// Whether to drop a record with this key (and value, if given): true, and counted, if
    /// either is null.
    pub(crate) fn drops(&self, ctx: &Context<'_>, key: &K, value: Option<&V>) -> bool {
        let null = (self.key)(key) || value.is_some_and(|v| (self.value)(v));
        if null {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                topic = ctx.topic(),
                partition = ctx.partition(),
                offset = ctx.offset(),
                "skipping a record with a null key or value"
            );
        }
        null
    }
}

/// `reduce(f)` as an aggregator: the first value is the first aggregate.
pub(crate) fn reducer<K, V: 'static>(f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Aggregator<K, V, V> {
    Arc::new(move |_, v, agg| match agg {
        Some(agg) => f(agg, v),
        None => v,
    })
}
