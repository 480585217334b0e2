//! `TimeWindowedKStream`: a grouped stream cut into time windows, for windowed
//! aggregations (Kafka's `windowedBy(TimeWindows...)`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{KGroupedStream, KTable, NeverDeletes};
use crate::codec::DefaultCodec;
use crate::graph::Data;
use crate::ops::aggregate::Aggregator;
use crate::ops::window_aggregate::WindowAggregateProc;
use crate::ops::Stage;
use crate::state::StoreKey;
use crate::windows::{TimeWindows, Windowed};

/// A windowed grouped stream.
pub struct TimeWindowedKStream<K, V, S> {
    grouped: KGroupedStream<K, V, S>,
    windows: TimeWindows,
    emit_on_close: Arc<AtomicBool>,
}

impl<K, V, S> TimeWindowedKStream<K, V, S>
where
    K: DefaultCodec + StoreKey,
    V: DefaultCodec,
    S: Stage<KOut = K, VOut = V>,
    S::KIn: Data,
    S::VIn: Data,
{
    pub(crate) fn new(grouped: KGroupedStream<K, V, S>, windows: TimeWindows) -> Self {
        TimeWindowedKStream { grouped, windows, emit_on_close: Arc::new(AtomicBool::new(false)) }
    }

    /// Names the window store.
    pub fn named(mut self, store: impl Into<String>) -> Self {
        self.grouped = self.grouped.named(store);
        self
    }

    /// Emits each window's result once, when it closes (stream time reaches its end plus
    /// grace), instead of on every update: Kafka's `suppress(untilWindowCloses)` and
    /// `EmitStrategy.onWindowClose()`.
    pub fn emit_on_close(self) -> Self {
        self.emit_on_close.store(true, Ordering::Relaxed);
        self
    }

    fn aggregate_with<A: DefaultCodec>(
        self,
        store_prefix: &str,
        processor_prefix: &str,
        aggregator: Aggregator<K, V, A>,
    ) -> KTable<Windowed<K>, A, NeverDeletes> {
        let windows = self.windows;
        let emit_on_close = self.emit_on_close.load(Ordering::Relaxed);
        let stream = self.grouped.aggregate_node(store_prefix, processor_prefix, move |tb, store, next| {
            WindowAggregateProc {
                windows,
                store: tb.window_store::<K::Codec, A::Codec>(store, windows.size_ms()),
                aggregator: aggregator.clone(),
                emit_on_close,
                observed: i64::MIN,
                emitted_before: i64::MIN,
                dropped: tb.dropped.clone(),
                next,
            }
        });
        let node = stream.last();
        stream.builder().graph.borrow_mut().window_sizes.push((node, windows.size_ms()));
        KTable::new(stream, Arc::new(AtomicBool::new(true)), None)
    }

    /// The number of records per key and window.
    pub fn count(self) -> KTable<Windowed<K>, i64, NeverDeletes> {
        self.aggregate_with(
            "KSTREAM-AGGREGATE-STATE-STORE-",
            "KSTREAM-AGGREGATE-",
            Arc::new(|_, _, n: Option<i64>| n.unwrap_or(0) + 1),
        )
    }

    /// Combines each key's values per window with `f(aggregate, value)`.
    pub fn reduce<F>(self, f: F) -> KTable<Windowed<K>, V, NeverDeletes>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let aggregator: Aggregator<K, V, V> = Arc::new(move |_, v, agg| match agg {
            Some(agg) => f(agg, v),
            None => v,
        });
        self.aggregate_with("KSTREAM-REDUCE-STATE-STORE-", "KSTREAM-REDUCE-", aggregator)
    }

    /// Folds each key's values per window: `init()`, then `add(&key, value, aggregate)`.
    pub fn aggregate<A, I, F>(self, init: I, add: F) -> KTable<Windowed<K>, A, NeverDeletes>
    where
        A: DefaultCodec,
        I: Fn() -> A + Send + Sync + 'static,
        F: Fn(&K, V, A) -> A + Send + Sync + 'static,
    {
        let aggregator: Aggregator<K, V, A> = Arc::new(move |k, v, agg| add(k, v, agg.unwrap_or_else(&init)));
        self.aggregate_with("KSTREAM-AGGREGATE-STATE-STORE-", "KSTREAM-AGGREGATE-", aggregator)
    }
}
