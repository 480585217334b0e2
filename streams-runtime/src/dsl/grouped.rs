//! Grouped streams and tables: the input of aggregations (`count`, `reduce`, `aggregate`).

use std::sync::Arc;

use super::ktable::{GetterFactory, Lineage};
use super::{CogroupedKStream, KStream, KTable, NeverDeletes};
use crate::codec::DefaultCodec;
use crate::graph::Data;
use crate::ops::aggregate::{reducer, Aggregator, StreamAggregateProc};
use crate::ops::repartition::ChangeCodec;
use crate::ops::table_aggregate::{Add, Fold, TableAggregateProc};
use crate::ops::{Nop, StageOf};
use crate::record::Change;
use crate::state::StoreKey;

/// A stream grouped by key (Kafka's `KGroupedStream`).
pub struct KGroupedStream<K, V, S = Nop<K, V>> {
    stream: KStream<K, V, S>,
    repartition_name: Option<String>,
    store_name: Option<String>,
    /// Fold records into partial aggregates before the repartition topic.
    pre_aggregated: bool,
}

impl<K, V, S> KGroupedStream<K, V, S> {
    pub(crate) fn new(stream: KStream<K, V, S>, repartition_name: Option<String>) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        KGroupedStream { stream, repartition_name, store_name: None, pre_aggregated: false }
    }

    /// Pre-aggregates before the repartition topic (opt-in; Kafka Streams has no such
    /// thing): when the key changed, `count`, `reduce` and
    /// [`aggregate_merging`](Self::aggregate_merging) first fold each key's records into
    /// one partial aggregate per task, held until the task commits (or until it holds as many
    /// keys as the record cache would), and send those partials through the repartition
    /// topic, where the aggregation merges them. The final table is the same, each update
    /// stamped with its key's largest timestamp as without; what differs is that the
    /// aggregation forwards fewer intermediate updates, and the broker carries fewer records.
    /// A `reduce` must then be associative (`f(f(a, b), c) == f(a, f(b, c))`), as a sum or a
    /// maximum is. The repartition topic carries partial aggregates (a `count`'s `i64`s), so
    /// it cannot be read by a Kafka Streams application expecting the original values; an
    /// aggregation whose key did not change is not affected. With the record cache off
    /// (`statestore.cache.max.bytes=0`) every record goes on alone.
    pub fn pre_aggregated(mut self) -> Self {
        self.pre_aggregated = true;
        self
    }

    /// Names the aggregation's store (Kafka's `Materialized.as`): its changelog topic is
    /// `<application.id>-<name>-changelog`, and the test driver reads it by this name.
    pub fn named(mut self, store: impl Into<String>) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.store_name = Some(store.into());
        self
    }

    /// Starts a cogrouping (Kafka's `cogroup(aggregator)`): this group's values folded into
    /// an aggregate of type `A` by `add(&key, value, aggregate)`; other grouped streams join
    /// it with [`CogroupedKStream::cogroup`], and [`CogroupedKStream::aggregate`] makes the
    /// table.
    pub fn cogroup<A, F>(self, add: F) -> CogroupedKStream<K, A>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        A: DefaultCodec,
        F: Fn(&K, V, A) -> A + Send + Sync + 'static,
    {
        CogroupedKStream::new(self, add)
    }

    pub(crate) fn builder(&self) -> &crate::dsl::StreamsBuilder
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.stream.builder()
    }

    /// Whether the grouped stream is repartitioned before an aggregation: `Some` with the
    /// name of its repartition topic, if named.
    pub(crate) fn repartition(&self) -> Option<Option<String>>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        self.stream.repartition_required().then(|| self.repartition_name.clone())
    }

    /// The grouped stream as the input of an aggregation over `store`: repartitioned first
    /// if its key changed (the topic named after the grouping's name, else the store).
    pub(crate) fn repartitioned_for(self, store: &str) -> KStream<K, V>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        if self.stream.repartition_required() {
            let base = self.repartition_name.unwrap_or_else(|| store.to_string());
            self.stream.repartition_through::<K::Codec, V::Codec>(&base, true)
        } else {
            self.stream.share()
        }
    }

    /// Adds an aggregation node with its store (named as Kafka names them, repartitioning
    /// first if the key changed); `make(task, store name, downstream)` builds its processor.
    pub(crate) fn aggregate_node<K2: Data, A: Data, P, M>(
        self,
        store_prefix: &str,
        processor_prefix: &str,
        make: M,
    ) -> KStream<K2, Change<A>>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        P: crate::ops::Processor<K, V> + 'static,
        M: Fn(&mut crate::graph::TaskBuild<'_>, &str, Box<dyn crate::ops::Processor<K2, Change<A>>>) -> P
            + Send
            + Sync
            + 'static,
    {
        let builder = self.stream.builder().clone();
        let (store, name) = {
            let mut g = builder.graph.borrow_mut();
            let store = g.given_or_new(self.store_name, store_prefix);
            (store.clone(), g.new_name(processor_prefix))
        };
        let store_name = store.clone();
        let make = move |tb: &mut crate::graph::TaskBuild<'_>, next| make(tb, &store_name, next);
        if self.stream.repartition_required() {
            let base = self.repartition_name.unwrap_or_else(|| store.clone());
            self.stream.repartition_through::<K::Codec, V::Codec>(&base, true).processor(
                name,
                vec![store],
                make,
            )
        } else {
            self.stream.processor(name, vec![store], make)
        }
    }

    fn aggregate_with<A: DefaultCodec>(
        self,
        store_prefix: &str,
        processor_prefix: &str,
        aggregator: Aggregator<K, V, A>,
    ) -> KTable<K, A, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        let lineage = Lineage::aggregation(self.stream.builder());
        let table = lineage.id();
        let stream = self.aggregate_node(store_prefix, processor_prefix, move |tb, store, next| {
            StreamAggregateProc::new::<K::Codec, V::Codec, A::Codec>(
                tb,
                store,
                aggregator.clone(),
                table,
                next,
            )
        });
        aggregated_table(stream, lineage)
    }

    /// The aggregation of `store_prefix`/`processor_prefix` fed with partial aggregates: a
    /// combiner folds the records with `fold` before the repartition topic, the aggregation
    /// merges the partials with `merge` (see [`Self::pre_aggregated`]).
    fn combined<A: DefaultCodec>(
        self,
        store_prefix: &str,
        processor_prefix: &str,
        fold: crate::ops::combine::Fold<K, V, A>,
        merge: Aggregator<K, A, A>,
    ) -> KTable<K, A, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        use crate::ops::combine::{CombineProc, Combiner};
        let builder = self.stream.builder().clone();
        // Named in the order `aggregate_node` names them: store, aggregation, repartition.
        let (store, name) = {
            let mut g = builder.graph.borrow_mut();
            let store = g.given_or_new(self.store_name, store_prefix);
            (store, g.new_name(processor_prefix))
        };
        let base = self.repartition_name.unwrap_or_else(|| store.clone());
        // Named after the repartition, drawing no number: the names Kafka would give every
        // other node, store and topic stay the same.
        let combine_name = format!("{base}-combine");
        let partials: KStream<K, A> = self
            .stream
            .processor(combine_name, vec![], move |tb, next| {
                let combiner = Combiner::new(
                    fold.clone(),
                    tb.cache_capacity().unwrap_or(0),
                    (<K::Codec as crate::codec::Codec>::is_null, <V::Codec as crate::codec::Codec>::is_null),
                    tb.dropped.clone(),
                    next,
                );
                let shared = Arc::new(std::sync::Mutex::new(combiner));
                tb.caches.push(Box::new(shared.clone()));
                CombineProc(shared)
            })
            .with_repartition_required(false);
        let lineage = Lineage::aggregation(&builder);
        let table = lineage.id();
        let store_name = store.clone();
        let stream = partials.repartition_unmerged::<K::Codec, A::Codec>(&base).processor(
            name,
            vec![store],
            move |tb, next| {
                StreamAggregateProc::new::<K::Codec, A::Codec, A::Codec>(
                    tb,
                    &store_name,
                    merge.clone(),
                    table,
                    next,
                )
            },
        );
        aggregated_table(stream, lineage)
    }

    /// The number of records per key.
    pub fn count(self) -> KTable<K, i64, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
    {
        if self.pre_aggregated && self.stream.repartition_required() {
            let fold: crate::ops::combine::Fold<K, V, i64> = Arc::new(|_, _, n| n.unwrap_or(0) + 1);
            let merge: Aggregator<K, i64, i64> = Arc::new(|_, partial, n| n.unwrap_or(0) + partial);
            return self.combined("KSTREAM-AGGREGATE-STATE-STORE-", "KSTREAM-AGGREGATE-", fold, merge);
        }
        self.aggregate_with(
            "KSTREAM-AGGREGATE-STATE-STORE-",
            "KSTREAM-AGGREGATE-",
            Arc::new(|_, _, n: Option<i64>| n.unwrap_or(0) + 1),
        )
    }

    /// Combines the values of each key with `f(aggregate, value)`; the first value is the
    /// first aggregate.
    pub fn reduce<F>(self, f: F) -> KTable<K, V, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        if self.pre_aggregated && self.stream.repartition_required() {
            let f = Arc::new(f);
            let g = f.clone();
            let fold: crate::ops::combine::Fold<K, V, V> = Arc::new(move |_, v, acc| match acc {
                Some(a) => f(a, v),
                None => v,
            });
            return self.combined(
                "KSTREAM-REDUCE-STATE-STORE-",
                "KSTREAM-REDUCE-",
                fold,
                reducer(move |a, v| g(a, v)),
            );
        }
        self.aggregate_with("KSTREAM-REDUCE-STATE-STORE-", "KSTREAM-REDUCE-", reducer(f))
    }

    /// Folds each key's values into an aggregate: `init()` starts it, `add(&key, value,
    /// aggregate)` folds each value in.
    pub fn aggregate<A, I, F>(self, init: I, add: F) -> KTable<K, A, NeverDeletes>
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

    /// [`aggregate`](Self::aggregate) with a function that merges two aggregates of a key,
    /// for [`pre_aggregated`](Self::pre_aggregated): each task folds a key's values into a
    /// partial aggregate started from `init()`, and the aggregation merges each partial into
    /// the key's aggregate with `merge(&key, aggregate, partial)` (a key's first partial is
    /// merged into `init()`). The table is the one `aggregate` gives when merging a partial
    /// gives what folding its values in one by one would, with `init()` changing nothing:
    /// a sum, a count, a maximum, a set (Spark's `aggregateByKey`). Without
    /// `pre_aggregated`, or when the key did not change, `merge` is not used. Kafka Streams
    /// has no such operation.
    pub fn aggregate_merging<A, I, F, M>(self, init: I, add: F, merge: M) -> KTable<K, A, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        S: StageOf<K, V>,
        A: DefaultCodec,
        I: Fn() -> A + Send + Sync + 'static,
        F: Fn(&K, V, A) -> A + Send + Sync + 'static,
        M: Fn(&K, A, A) -> A + Send + Sync + 'static,
    {
        if !(self.pre_aggregated && self.stream.repartition_required()) {
            return self.aggregate(init, add);
        }
        let init = Arc::new(init);
        let start = init.clone();
        let fold: crate::ops::combine::Fold<K, V, A> =
            Arc::new(move |k, v, acc| add(k, v, acc.unwrap_or_else(|| start())));
        let merge: Aggregator<K, A, A> =
            Arc::new(move |k, partial, agg| merge(k, agg.unwrap_or_else(|| init()), partial));
        self.combined("KSTREAM-AGGREGATE-STATE-STORE-", "KSTREAM-AGGREGATE-", fold, merge)
    }
}

/// The node of an aggregation and the name of its store (its first).
pub(crate) fn aggregation_store<K2: Data, A: Data>(stream: &KStream<K2, Change<A>>) -> (usize, String) {
    let node = stream.last();
    let g = stream.builder().graph.borrow();
    match &g.nodes[node].kind {
        crate::graph::NodeKind::Processor { stores } => (node, stores[0].clone()),
        _ => unreachable!("an aggregation node is a processor"),
    }
}

/// The table of a key-value aggregation: readable by key through its store.
fn aggregated_table<K: DefaultCodec + StoreKey, A: DefaultCodec>(
    stream: KStream<K, Change<A>>,
    lineage: Lineage,
) -> KTable<K, A, NeverDeletes> {
    let (node, store) = aggregation_store(&stream);
    let getter_store = store.clone();
    let getter: GetterFactory<K, A> = Arc::new(move |tb| {
        let store = tb.key_value_store::<K::Codec, A::Codec>(&getter_store);
        Box::new(move |k, _| store.get(k))
    });
    KTable::new(stream, lineage, lineage, Some((node, store))).with_getter(getter)
}

/// A table regrouped by a new key (Kafka's `KGroupedTable`).
pub struct KGroupedTable<K, V> {
    stream: KStream<K, Change<V>>,
    store_name: Option<String>,
}

impl<K, V> KGroupedTable<K, V> {
    pub(crate) fn new(stream: KStream<K, Change<V>>) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
    {
        KGroupedTable { stream, store_name: None }
    }

    /// Names the aggregation's store.
    pub fn named(mut self, store: impl Into<String>) -> Self
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
    {
        self.store_name = Some(store.into());
        self
    }

    fn aggregate_with<A: DefaultCodec>(
        self,
        prefix: &str,
        add: Add<K, V, A>,
        subtract: Fold<K, V, A>,
    ) -> KTable<K, A, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
    {
        let builder = self.stream.builder().clone();
        // Kafka names the store `KTABLE-AGGREGATE-STATE-STORE-` for `reduce` too
        // (`KGroupedTableImpl.reduce` materializes with `AGGREGATE_NAME`).
        let store = builder.graph.borrow_mut().given_or_new(self.store_name, "KTABLE-AGGREGATE-STATE-STORE-");
        let repartitioned = self.stream.repartition_through::<K::Codec, ChangeCodec<V::Codec>>(&store, false);
        let name = builder.graph.borrow_mut().new_name(prefix);
        let store_name = store.clone();
        let lineage = Lineage::aggregation(&builder);
        let table = lineage.id();
        let stream = repartitioned.processor(name, vec![store], move |tb, next| {
            let store = tb.key_value_store::<K::Codec, A::Codec>(&store_name);
            TableAggregateProc {
                store: store.clone(),
                add: add.clone(),
                subtract: subtract.clone(),
                send_old_values: tb.sends_old_values(table),
                emitter: tb.emitter(next),
            }
        });
        aggregated_table(stream, lineage)
    }

    /// The number of rows per group.
    pub fn count(self) -> KTable<K, i64, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
    {
        self.aggregate_with(
            "KTABLE-AGGREGATE-",
            Arc::new(|_, _, n| n.unwrap_or(0) + 1),
            Arc::new(|_, _, n| n - 1),
        )
    }

    /// Combines each group's values: the first value as it is, then `add(aggregate,
    /// new_value)`, and `subtract(aggregate, old_value)` when a row leaves the group or changes.
    pub fn reduce<F, G>(self, add: F, subtract: G) -> KTable<K, V, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        F: Fn(V, V) -> V + Send + Sync + 'static,
        G: Fn(V, V) -> V + Send + Sync + 'static,
    {
        self.aggregate_with(
            "KTABLE-REDUCE-",
            Arc::new(move |_, v, agg| match agg {
                Some(agg) => add(agg, v),
                None => v,
            }),
            Arc::new(move |_, v, agg| subtract(agg, v)),
        )
    }

    /// Folds each group's rows into an aggregate: `init()`, `add(&key, new_value, agg)` and
    /// `subtract(&key, old_value, agg)` when a row leaves the group or changes.
    pub fn aggregate<A, I, F, G>(self, init: I, add: F, subtract: G) -> KTable<K, A, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        A: DefaultCodec,
        I: Fn() -> A + Send + Sync + 'static,
        F: Fn(&K, V, A) -> A + Send + Sync + 'static,
        G: Fn(&K, V, A) -> A + Send + Sync + 'static,
    {
        self.aggregate_with(
            "KTABLE-AGGREGATE-",
            Arc::new(move |k, v, agg| add(k, v, agg.unwrap_or_else(&init))),
            Arc::new(subtract),
        )
    }
}
