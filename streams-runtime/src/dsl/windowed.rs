//! `TimeWindowedKStream`: a grouped stream cut into time windows, for windowed
//! aggregations (Kafka's `windowedBy(TimeWindows...)`).

use std::sync::{Arc, Mutex};

use super::grouped::aggregation_store;
use super::ktable::GetterFactory;
use super::{KGroupedStream, KTable, MayDelete, NeverDeletes};
use crate::codec::DefaultCodec;
use crate::ops::aggregate::{reducer, Aggregator, Nulls};
use crate::ops::cache::Emitter;
use crate::ops::session_aggregate::{forward_if, Merger, SessionAdd, SessionAggregateProc, SessionInit};
use crate::ops::sliding_aggregate::SlidingAggregateProc;
use crate::ops::window_aggregate::{Emit, WindowAggregateProc};
use crate::ops::{Processor, StageOf};
use crate::state::StoreKey;
use crate::windows::{SessionWindow, SessionWindows, SlidingWindows, TimeWindows, Windowed};

/// Time or sliding windows: both give keys `Windowed<K>` of fixed-size windows.
#[derive(Clone, Copy)]
pub(crate) enum FixedWindows {
    Time(TimeWindows),
    Sliding(SlidingWindows),
}

// The windowing of a grouped stream lives here, with the windowed streams it makes.
impl<K, V, S> KGroupedStream<K, V, S> {
    /// Cuts the groups into time windows (Kafka's `windowedBy(TimeWindows)`).
    pub fn window(self, windows: TimeWindows) -> TimeWindowedKStream<K, V, S>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        TimeWindowedKStream::new(self, FixedWindows::Time(windows))
    }

    /// Cuts the groups into sliding windows (Kafka's `windowedBy(SlidingWindows)`).
    pub fn sliding(self, windows: SlidingWindows) -> SlidingWindowedKStream<K, V, S>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        SlidingWindowedKStream(TimeWindowedKStream::new(self, FixedWindows::Sliding(windows)))
    }

    /// Cuts the groups into sessions (Kafka's `windowedBy(SessionWindows)`).
    pub fn session(self, windows: SessionWindows) -> SessionWindowedKStream<K, V, S>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        SessionWindowedKStream::new(self, windows)
    }
}

impl FixedWindows {
    fn size_ms(&self) -> i64 {
        match self {
            FixedWindows::Time(w) => w.size_ms(),
            FixedWindows::Sliding(w) => w.difference_ms(),
        }
    }
}

/// A grouped stream cut into time or sliding windows (Kafka's `TimeWindowedKStream`).
pub struct TimeWindowedKStream<K, V, S> {
    grouped: KGroupedStream<K, V, S>,
    windows: FixedWindows,
    emit: Emit,
}

impl<K, V, S> TimeWindowedKStream<K, V, S> {
    pub(crate) fn new(grouped: KGroupedStream<K, V, S>, windows: FixedWindows) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        TimeWindowedKStream { grouped, windows, emit: Emit::EveryUpdate }
    }

    /// Names the window store.
    pub fn named(mut self, store: impl Into<String>) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.grouped = self.grouped.named(store);
        self
    }

    /// Emits each window's result once, when it closes (stream time reaches its end plus
    /// grace), instead of on every update: Kafka's `EmitStrategy.onWindowClose()`. As in
    /// Kafka, a window that stream time jumps past by more than size + grace in one step is
    /// never emitted; [`Self::suppress_until_close`] emits every window. (Sliding windows,
    /// a [`SlidingWindowedKStream`], emit every update and have no such method.)
    pub fn emit_on_close(self) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.emitting(Emit::OnWindowClose)
    }

    /// Emits each window's final result once, when it closes: Kafka's
    /// `suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))` on the windowed
    /// table. Every window is emitted, ordered by window end, then key.
    pub fn suppress_until_close(self) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.emitting(Emit::Suppressed)
    }

    fn emitting(mut self, emit: Emit) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        // Only `window(..)` makes this type public-facing; sliding windows are wrapped.
        debug_assert!(matches!(self.windows, FixedWindows::Time(_)));
        self.emit = emit;
        self
    }

    fn aggregate_with<A: DefaultCodec>(
        self,
        store_prefix: &str,
        processor_prefix: &str,
        aggregator: Aggregator<K, V, A>,
    ) -> KTable<Windowed<K>, A, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        let windows = self.windows;
        let emit = self.emit;
        let size = windows.size_ms();
        let stream = self.grouped.aggregate_node(store_prefix, processor_prefix, move |tb, store, next| {
            let store_name = store.to_string();
            let store = tb.window_store::<K::Codec, A::Codec>(store, size);
            let processor: Box<dyn Processor<K, V>> = match windows {
                FixedWindows::Time(windows) => {
                    // Kafka caches a windowed aggregation's store; results emitted on close
                    // are forwarded directly, not through the cache.
                    let next = match emit {
                        Emit::EveryUpdate => tb.emitter(next),
                        _ => Arc::new(Mutex::new(Emitter::new(next, 0))),
                    };
                    let expire_at_flush = Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN));
                    let (pending, expiring) = (expire_at_flush.clone(), store.clone());
                    let mut emitter = next.lock().unwrap_or_else(|p| p.into_inner());
                    emitter.after_flush(move || {
                        expiring.expire_before(pending.load(std::sync::atomic::Ordering::Relaxed))
                    });
                    let cached = emitter.caches();
                    drop(emitter);
                    Box::new(WindowAggregateProc {
                        windows,
                        store,
                        aggregator: aggregator.clone(),
                        emit,
                        observed: i64::MIN,
                        emitted_before: i64::MIN,
                        progress: (emit != Emit::EveryUpdate)
                            .then(|| (tb.processor_metadata.clone(), store_name.clone(), false)),
                        largest_start: i64::MIN,
                        dropped: tb.dropped.clone(),
                        next,
                        expire_at_flush,
                        cached,
                        store_cached: tb.caching(),
                    })
                }
                FixedWindows::Sliding(windows) => Box::new(SlidingAggregateProc {
                    windows,
                    store: {
                        // Kafka caches a sliding window aggregation's store.
                        if let Some(capacity) = tb.cache_capacity() {
                            store.cache(capacity);
                        }
                        store
                    },
                    aggregator: aggregator.clone(),
                    nulls: Nulls::of::<K::Codec, V::Codec>(tb.dropped.clone()),
                    observed: i64::MIN,
                    largest_start: i64::MIN,
                    dropped: tb.dropped.clone(),
                    next: tb.emitter(next),
                    cached: tb.caching(),
                }),
            };
            processor
        });
        let (node, store) = aggregation_store(&stream);
        let retention_ms = match windows {
            FixedWindows::Time(w) => w.retention_ms(),
            FixedWindows::Sliding(w) => w.retention_ms(),
        };
        let mut g = stream.builder().graph.borrow_mut();
        g.window_sizes.push((node, size));
        g.set_changelog_kind(&store, crate::graph::ChangelogKind::Windowed { retention_ms });
        drop(g);
        // Kafka's `KStreamWindowAggregateValueGetter`: a windowed row by key and window start,
        // so a windowed table can be joined.
        let getter_store = store.clone();
        let getter: GetterFactory<Windowed<K>, A> = Arc::new(move |tb| {
            let store = tb.window_store::<K::Codec, A::Codec>(&getter_store, size);
            Box::new(move |w: &Windowed<K>, _| store.get(&w.key, w.window.start))
        });
        let table = KTable::aggregated(stream, Some((node, store))).with_getter(getter);
        if emit == Emit::Suppressed {
            // Kafka's `KTable.suppress` is a node of its own with a buffer store; here the
            // aggregation holds the results back, and this node passes them on.
            return table.suppress_node();
        }
        table
    }

    /// The number of records per key and window.
    pub fn count(self) -> KTable<Windowed<K>, i64, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.aggregate_with(
            "KSTREAM-AGGREGATE-STATE-STORE-",
            "KSTREAM-AGGREGATE-",
            Arc::new(|_, _, n: Option<i64>| n.unwrap_or(0) + 1),
        )
    }

    /// Combines each key's values per window with `f(aggregate, value)`.
    pub fn reduce<F>(self, f: F) -> KTable<Windowed<K>, V, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        self.aggregate_with("KSTREAM-REDUCE-STATE-STORE-", "KSTREAM-REDUCE-", reducer(f))
    }

    /// Folds each key's values per window: `init()`, then `add(&key, value, aggregate)`.
    pub fn aggregate<A, I, F>(self, init: I, add: F) -> KTable<Windowed<K>, A, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        A: DefaultCodec,
        I: Fn() -> A + Send + Sync + 'static,
        F: Fn(&K, V, A) -> A + Send + Sync + 'static,
    {
        let aggregator: Aggregator<K, V, A> = Arc::new(move |k, v, agg| add(k, v, agg.unwrap_or_else(&init)));
        self.aggregate_with("KSTREAM-AGGREGATE-STATE-STORE-", "KSTREAM-AGGREGATE-", aggregator)
    }
}

/// A grouped stream cut into sliding windows (Kafka's `TimeWindowedKStream` over
/// `SlidingWindows`): aggregated as time windows are, but every update is emitted, so there is
/// no `emit_on_close` or `suppress_until_close` to call (the type refuses them at compile time):
///
/// ```compile_fail
/// use streams_runtime::prelude::*;
///
/// let b = StreamsBuilder::new();
/// let windows = SlidingWindows::with_difference(std::time::Duration::from_secs(5));
/// b.stream::<String, i64>("in").group_by_key().sliding(windows).emit_on_close().count();
/// ```
///
/// ```
/// use streams_runtime::prelude::*;
///
/// let b = StreamsBuilder::new();
/// let windows = SlidingWindows::with_difference(std::time::Duration::from_secs(5));
/// b.stream::<String, i64>("in").group_by_key().sliding(windows).count().to_stream().to("counts");
/// assert_eq!(b.build().describe().subtopology_count(), 1);
/// ```
pub struct SlidingWindowedKStream<K, V, S>(TimeWindowedKStream<K, V, S>);

/// Implemented by nothing: the bound of `emit_on_close` on sliding windows, so that calling it
/// is a compile error that says why (not "no method named ..").
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`emit_on_close` is for time windows (`window(TimeWindows)`); sliding windows emit every update",
    label = "not on sliding windows",
    note = "to emit each window once, when it closes, use hopping time windows: `.window(TimeWindows::of(size).advance_by(..)).emit_on_close()`"
)]
pub trait EmitOnCloseNeedsTimeWindows {}

/// As [`EmitOnCloseNeedsTimeWindows`], for `suppress_until_close`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`suppress_until_close` is for time windows (`window(TimeWindows)`); sliding windows emit every update",
    label = "not on sliding windows",
    note = "to emit each window once, when it closes, use hopping time windows: `.window(TimeWindows::of(size).advance_by(..))`"
)]
pub trait SuppressUntilCloseNeedsTimeWindows {}

impl<K, V, S> SlidingWindowedKStream<K, V, S> {
    /// Refused: sliding windows have no `emit_on_close`; the method exists so that the
    /// compiler says why.
    #[doc(hidden)]
    pub fn emit_on_close(self) -> Self
    where
        K: EmitOnCloseNeedsTimeWindows,
    {
        self
    }

    /// Refused, as `emit_on_close`.
    #[doc(hidden)]
    pub fn suppress_until_close(self) -> Self
    where
        K: SuppressUntilCloseNeedsTimeWindows,
    {
        self
    }

    /// Names the window store.
    pub fn named(self, store: impl Into<String>) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        SlidingWindowedKStream(self.0.named(store))
    }

    /// The number of records per key and window.
    pub fn count(self) -> KTable<Windowed<K>, i64, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.0.count()
    }

    /// Combines each key's values per window with `f(aggregate, value)`.
    pub fn reduce<F>(self, f: F) -> KTable<Windowed<K>, V, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        self.0.reduce(f)
    }

    /// Folds each key's values per window: `init()`, then `add(&key, value, aggregate)`.
    pub fn aggregate<A, I, F>(self, init: I, add: F) -> KTable<Windowed<K>, A, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        A: DefaultCodec,
        I: Fn() -> A + Send + Sync + 'static,
        F: Fn(&K, V, A) -> A + Send + Sync + 'static,
    {
        self.0.aggregate(init, add)
    }
}

/// A grouped stream cut into sessions (Kafka's `SessionWindowedKStream`). Merging sessions
/// deletes the merged-away ones downstream, so the result is a table that can delete.
pub struct SessionWindowedKStream<K, V, S> {
    grouped: KGroupedStream<K, V, S>,
    windows: SessionWindows,
}

impl<K, V, S> SessionWindowedKStream<K, V, S> {
    pub(crate) fn new(grouped: KGroupedStream<K, V, S>, windows: SessionWindows) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        SessionWindowedKStream { grouped, windows }
    }

    /// Names the session store.
    pub fn named(mut self, store: impl Into<String>) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.grouped = self.grouped.named(store);
        self
    }

    /// Folds each session's records: `init()`, `add(&key, value, aggregate)`, and
    /// `merge(&key, left, right)` when a record bridges two sessions.
    pub fn aggregate<A, I, F, M>(
        self,
        init: I,
        add: F,
        merge: M,
    ) -> KTable<Windowed<K, SessionWindow>, A, MayDelete>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        A: DefaultCodec,
        I: Fn() -> A + Send + Sync + 'static,
        F: Fn(&K, V, A) -> A + Send + Sync + 'static,
        M: Fn(&K, A, A) -> A + Send + Sync + 'static,
    {
        let init = Arc::new(init);
        let start: SessionInit<A> = Arc::new(move || Some(init()));
        let (init, add_init) = (start.clone(), start);
        let add: SessionAdd<K, V, A> =
            Arc::new(move |k, v, a| add(k, v, a.or_else(|| add_init()).expect("aggregate starts from init")));
        let merge: Merger<K, A> = Arc::new(move |k, a, b| match a {
            Some(a) => merge(k, a, b),
            None => b,
        });
        self.aggregate_with(("KSTREAM-AGGREGATE-STATE-STORE-", "KSTREAM-AGGREGATE-"), init, add, merge)
    }

    fn aggregate_with<A: DefaultCodec>(
        self,
        (store_prefix, processor_prefix): (&str, &str),
        init: SessionInit<A>,
        add: SessionAdd<K, V, A>,
        merge: Merger<K, A>,
    ) -> KTable<Windowed<K, SessionWindow>, A, MayDelete>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        let windows = self.windows;
        let stream = self.grouped.aggregate_node(store_prefix, processor_prefix, move |tb, store, next| {
            SessionAggregateProc {
                windows,
                store: tb.session_store::<K::Codec, A::Codec>(store),
                init: init.clone(),
                add: add.clone(),
                merge: merge.clone(),
                observed: i64::MIN,
                dropped: tb.dropped.clone(),
                next: {
                    let emitter = tb.emitter(next);
                    let retention = windows.gap_ms().saturating_add(windows.grace_ms());
                    emitter.lock().unwrap_or_else(|p| p.into_inner()).forward_if(forward_if(retention));
                    emitter
                },
            }
        });
        // Kafka's `KTableSessionWindowValueGetter`: a session by key and window.
        let (node, store) = aggregation_store(&stream);
        let retention_ms = windows.retention_ms();
        stream
            .builder()
            .graph
            .borrow_mut()
            .set_changelog_kind(&store, crate::graph::ChangelogKind::Windowed { retention_ms });
        let getter_store = store.clone();
        let getter: GetterFactory<Windowed<K, SessionWindow>, A> = Arc::new(move |tb| {
            let store = tb.session_store::<K::Codec, A::Codec>(&getter_store);
            Box::new(move |w: &Windowed<K, SessionWindow>, _| store.fetch_session(&w.key, w.window))
        });
        KTable::aggregated(stream, Some((node, store))).with_getter(getter)
    }

    /// The number of records per session.
    pub fn count(self) -> KTable<Windowed<K, SessionWindow>, i64, MayDelete>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.aggregate(|| 0, |_, _, n| n + 1, |_, a, b| a + b)
    }

    /// Combines each session's values with `f(aggregate, value)`, starting from the first
    /// value (also to merge sessions: `f(merged, session)`, as Kafka's reduce merger).
    pub fn reduce<F>(self, f: F) -> KTable<Windowed<K, SessionWindow>, V, MayDelete>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        let add: SessionAdd<K, V, V> = Arc::new(move |_, v, a| match a {
            Some(a) => f(a, v),
            None => v,
        });
        let merge: Merger<K, V> = Arc::new(move |_, a, b| match a {
            Some(a) => g(a, b),
            None => b,
        });
        self.aggregate_with(("KSTREAM-REDUCE-STATE-STORE-", "KSTREAM-REDUCE-"), Arc::new(|| None), add, merge)
    }
}
