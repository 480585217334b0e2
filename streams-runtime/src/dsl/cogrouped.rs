//! Several grouped streams aggregated into one table (Kafka's `CogroupedKStream`): each
//! group folds its own values into the shared aggregate with its own aggregator, and one
//! merge node passes every update on. Named and laid out as Kafka's
//! `CogroupedStreamAggregateBuilder`: the store first, then every group's repartition (for
//! groups whose key changed), then the groups' `COGROUPKSTREAM-AGGREGATE-` nodes, then the
//! `COGROUPKSTREAM-MERGE-` node.

use std::sync::Arc;

use super::ktable::{GetterFactory, Lineage};
use super::{KGroupedStream, KStream, KTable, NeverDeletes, StreamsBuilder};
use crate::codec::DefaultCodec;
use crate::graph::{Data, NodeKind, OutletId};
use crate::ops::aggregate::{Aggregator, Nulls, StreamAggregateProc};
use crate::ops::{Nop, StageOf};
use crate::record::Change;
use crate::state::StoreKey;

/// What the second phase of a group's lowering needs: the shared store, the merge's outlet,
/// the table (whose old values it may send), and the initializer.
struct Shared<K, A> {
    store: String,
    merge: OutletId,
    table: usize,
    init: Arc<dyn Fn() -> A + Send + Sync>,
    _k: std::marker::PhantomData<fn() -> K>,
}

/// A group's aggregation node, added once the store and the merge are known; returns it.
type AddNode<K, A> = Box<dyn FnOnce(&Shared<K, A>) -> usize>;

/// A group, lowered in two phases: its repartition (if its key changed) when the store is
/// named, its aggregation node after every group's repartition.
type Group<K, A> = Box<dyn FnOnce(&str) -> AddNode<K, A>>;

/// Grouped streams of one key type aggregated into one table (Kafka's `CogroupedKStream`).
pub struct CogroupedKStream<K, A> {
    builder: StreamsBuilder,
    groups: Vec<Group<K, A>>,
    /// Per group that repartitions, the name it gives its repartition topic (if any).
    repartitions: Vec<Option<String>>,
    store_name: Option<String>,
}

impl<K, A> CogroupedKStream<K, A>
where
    K: DefaultCodec + StoreKey,
    A: DefaultCodec,
{
    pub(crate) fn new<V, S, F>(group: KGroupedStream<K, V, S>, add: F) -> Self
    where
        V: DefaultCodec,
        S: StageOf<K, V>,
        F: Fn(&K, V, A) -> A + Send + Sync + 'static,
    {
        let builder = group.builder().clone();
        CogroupedKStream { builder, groups: Vec::new(), repartitions: Vec::new(), store_name: None }
            .cogroup(group, add)
    }

    /// Adds another grouped stream of the same key type, whose values `add(&key, value,
    /// aggregate)` folds into the same aggregate (Kafka's `cogroup(groupedStream, aggregator)`).
    /// Its key must be partitioned as the others' (a changed key is repartitioned first).
    pub fn cogroup<V, S, F>(mut self, group: KGroupedStream<K, V, S>, add: F) -> Self
    where
        V: DefaultCodec,
        S: StageOf<K, V>,
        F: Fn(&K, V, A) -> A + Send + Sync + 'static,
    {
        let add = Arc::new(add);
        if let Some(name) = group.repartition() {
            self.repartitions.push(name);
        }
        self.groups.push(Box::new(move |store: &str| -> AddNode<K, A> {
            let stream: KStream<K, V> = group.repartitioned_for(store);
            Box::new(move |shared: &Shared<K, A>| {
                let builder = stream.builder().clone();
                let node = {
                    let mut g = builder.graph.borrow_mut();
                    let name = g.new_name("COGROUPKSTREAM-AGGREGATE-");
                    g.add_node(
                        name,
                        NodeKind::Processor { stores: vec![shared.store.clone()] },
                        &[stream.last()],
                    )
                };
                let (store, merge, table) = (shared.store.clone(), shared.merge, shared.table);
                let init = shared.init.clone();
                let aggregator: Aggregator<K, V, A> =
                    Arc::new(move |k, v, agg: Option<A>| add(k, v, agg.unwrap_or_else(|| init())));
                stream.end_with(move |tb| {
                    let kv = tb.key_value_store::<K::Codec, A::Codec>(&store);
                    StreamAggregateProc {
                        nulls: Nulls::of::<K::Codec, V::Codec>(tb.dropped.clone()),
                        store: kv.clone(),
                        aggregator: aggregator.clone(),
                        send_old_values: tb.sends_old_values(table),
                        emitter: tb.shared_emitter(&store, |tb| tb.downstream(merge)),
                    }
                });
                node
            })
        }));
        self
    }

    /// Names the aggregation's store (Kafka's `Materialized.as`).
    pub fn named(mut self, store: impl Into<String>) -> Self {
        self.store_name = Some(store.into());
        self
    }

    /// The table of every key's aggregate, started by `init()` (Kafka's `aggregate(initializer)`).
    pub fn aggregate<I>(self, init: I) -> KTable<K, A, NeverDeletes>
    where
        I: Fn() -> A + Send + Sync + 'static,
    {
        // Kafka's `CogroupedStreamAggregateBuilder` names a repartition topic after the store
        // unless the grouping is named, so two unnamed ones collide; Kafka refuses the
        // topology ("Processor ...-repartition-filter is already added"), and so does this.
        let mut bases: Vec<&Option<String>> = self.repartitions.iter().collect();
        bases.sort();
        if let Some(twice) = bases.windows(2).find(|w| w[0] == w[1]) {
            let which = match twice[0] {
                Some(name) => format!("named `{name}`"),
                None => "unnamed".to_string(),
            };
            panic!(
                "cogroup: two of the grouped streams are repartitioned ({which}), into the same topic; \
                 give each a name of its own with `.named(\"..\")` before its `group_by` or `group_by_key` \
                 (Kafka's `Grouped.as`)"
            );
        }
        let builder = self.builder;
        let store =
            builder.graph.borrow_mut().given_or_new(self.store_name, "COGROUPKSTREAM-AGGREGATE-STATE-STORE-");
        let add_nodes: Vec<AddNode<K, A>> = self.groups.into_iter().map(|group| group(&store)).collect();
        let merge = builder.graph.borrow_mut().new_outlet::<K, Change<A>>(true);
        let lineage = Lineage::aggregation(&builder);
        let shared = Shared {
            store: store.clone(),
            merge,
            table: lineage.id(),
            init: Arc::new(init),
            _k: Default::default(),
        };
        let nodes: Vec<usize> = add_nodes.into_iter().map(|add| add(&shared)).collect();
        let merge_node = {
            let mut g = builder.graph.borrow_mut();
            let name = g.new_name("COGROUPKSTREAM-MERGE-");
            g.add_node(name, NodeKind::Processor { stores: vec![] }, &nodes)
        };
        let stream: KStream<K, Change<A>> = KStream::new(builder, merge, merge_node, Nop::new());
        let getter_store = store.clone();
        let getter: GetterFactory<K, A> = Arc::new(move |tb| {
            let store = tb.key_value_store::<K::Codec, A::Codec>(&getter_store);
            Box::new(move |k, _| store.get(k))
        });
        KTable::new(stream, lineage, lineage, Some((nodes[0], store))).with_getter(getter)
    }
}

impl<K: Data, A: Data> std::fmt::Debug for CogroupedKStream<K, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CogroupedKStream").field("groups", &self.groups.len()).finish()
    }
}
