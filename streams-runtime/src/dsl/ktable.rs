//! `KTable<K, V>`: a changelog stream seen as a table, one current value per key.
//!
//! Updates flow as [`Change`]s. Whether a table can delete keys is part of its type: a table
//! read from a topic or filtered can (`MayDelete`, and `to_stream` gives `Option<V>`); an
//! aggregation never does (`NeverDeletes`, and `to_stream` gives `V`).

use std::marker::PhantomData;
use std::sync::Arc;

use super::{KGroupedTable, KStream, Suppressed};
use crate::codec::DefaultCodec;
use crate::graph::{Data, NodeKind, TaskBuild};
use crate::ops::stream_table_join::Getter;
use crate::ops::table_filter::TableFilterProc;
use crate::ops::table_map_values::TableMapValuesProc;
use crate::ops::table_select::TableSelectProc;
use crate::ops::table_suppress::{BufferedCodec, SuppressProc};
use crate::ops::table_table_join::{JoinSide, TableJoinSideProc};
use crate::ops::table_transform_values::TableTransformValuesProc;
use crate::ops::to_stream::ToStreamProc;
use crate::record::Change;
use crate::state::StoreKey;

/// Whether a table can delete keys, and so what `to_stream` gives.
pub trait Tombstones: 'static {
    /// The value type of the table's stream.
    type Value<V: Data>: Data;
    /// The stream value for a table's new value, or nothing.
    fn emit<V: Data>(new: Option<V>) -> Option<Self::Value<V>>;
}

/// A table that can delete keys: its stream carries `Option<V>`, `None` for a deletion.
pub struct MayDelete;

impl Tombstones for MayDelete {
    type Value<V: Data> = Option<V>;
    fn emit<V: Data>(new: Option<V>) -> Option<Option<V>> {
        Some(new)
    }
}

/// A table that never deletes (an aggregation): its stream carries `V`.
pub struct NeverDeletes;

impl Tombstones for NeverDeletes {
    type Value<V: Data> = V;
    fn emit<V: Data>(new: Option<V>) -> Option<V> {
        new
    }
}

/// Builds, for a task, a function reading the table's current value of a key.
pub(crate) type GetterFactory<K, V> = Arc<dyn Fn(&mut TaskBuild<'_>) -> Getter<K, V> + Send + Sync>;

/// A table (Kafka's `KTable`).
pub struct KTable<K, V, T = MayDelete> {
    pub(super) stream: KStream<K, Change<V>>,
    /// The table whose store answers this one's lookups (its source): asking it to keep the
    /// store is how a join materializes this table.
    pub(super) store_of: Lineage,
    /// The node and store name of the source, listed in `describe()` once materialized.
    pub(super) source_store: Option<(usize, String)>,
    /// Reads current values (through filters and mappings down from the source's store).
    getter: Option<GetterFactory<K, V>>,
    /// This table among the topology's tables, for old values.
    pub(super) lineage: Lineage,
    _t: PhantomData<fn(T)>,
}

/// A table among the topology's tables (`graph::tables`): whether its updates carry their
/// old values (Kafka's `sendOldValues`) is off unless something downstream asks (a
/// `group_by`, the outer side of a join); the tables pass then turns it on for this table and
/// every table it derives from, up to the source, which keeps a store (Kafka's
/// `KTableImpl.enableSendingOldValues`). Processors read the decision when a task is built.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lineage {
    id: usize,
}

impl Lineage {
    fn declare(builder: &crate::dsl::StreamsBuilder, table: crate::graph::tables::Table) -> Lineage {
        Self::declare_in(&mut builder.graph.borrow_mut(), table)
    }

    fn declare_in(g: &mut crate::graph::GraphBuilder, table: crate::graph::tables::Table) -> Lineage {
        g.tables.push(table);
        Lineage { id: g.tables.len() - 1 }
    }

    /// An aggregation's table: its store is always kept, it derives from no table.
    pub(crate) fn aggregation(builder: &crate::dsl::StreamsBuilder) -> Lineage {
        Self::declare(builder, crate::graph::tables::Table { always_kept: true, ..Default::default() })
    }

    /// A source table: sending old values needs its store.
    pub(crate) fn source(builder: &crate::dsl::StreamsBuilder) -> Lineage {
        Self::source_in(&mut builder.graph.borrow_mut())
    }

    /// [`Self::source`], with the graph at hand.
    pub(crate) fn source_in(g: &mut crate::graph::GraphBuilder) -> Lineage {
        Self::declare_in(g, crate::graph::tables::Table { source: true, ..Default::default() })
    }

    /// A source table materialized in a versioned store: kept, whatever is asked.
    pub(crate) fn versioned_source(builder: &crate::dsl::StreamsBuilder) -> Lineage {
        let table = crate::graph::tables::Table {
            source: true,
            always_kept: true,
            versioned: true,
            ..Default::default()
        };
        Self::declare(builder, table)
    }

    /// A table derived from `parents` by a filter or a mapping: versioned if they all are
    /// (Kafka's `InternalStreamsBuilder.isVersionedUpstream`).
    fn derived(builder: &crate::dsl::StreamsBuilder, parents: &[Lineage]) -> Lineage {
        let versioned = {
            let g = builder.graph.borrow();
            parents.iter().all(|p| g.tables[p.id].versioned)
        };
        let parents = parents.iter().map(|p| p.id).collect();
        Self::declare(builder, crate::graph::tables::Table { parents, versioned, ..Default::default() })
    }

    /// A join's result table: not versioned, whatever its sides are (Kafka's
    /// `KTableKTableJoinNode` is versioned only when materialized in a versioned store).
    fn joined(builder: &crate::dsl::StreamsBuilder, parents: &[Lineage]) -> Lineage {
        let parents = parents.iter().map(|p| p.id).collect();
        Self::declare(builder, crate::graph::tables::Table { parents, ..Default::default() })
    }

    /// Whether the table's rows are versioned.
    pub(crate) fn is_versioned(&self, builder: &crate::dsl::StreamsBuilder) -> bool {
        builder.graph.borrow().tables[self.id].versioned
    }

    /// Asks for this table's old values.
    pub(crate) fn enable(&self, builder: &crate::dsl::StreamsBuilder) {
        builder.graph.borrow_mut().tables[self.id].old_values_asked = true;
    }

    /// Asks this table to keep its store.
    fn keep_store(&self, builder: &crate::dsl::StreamsBuilder) {
        builder.graph.borrow_mut().tables[self.id].store_asked = true;
    }

    /// Its index, which processors read the decisions by ([`TaskBuild::sends_old_values`],
    /// [`TaskBuild::keeps_store`]).
    pub(crate) fn id(&self) -> usize {
        self.id
    }
}

/// Which table-table join (Kafka's `KTableKTableInnerJoin`, `…LeftJoin`, `…OuterJoin`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum TableJoin {
    Inner,
    Left,
    Outer,
}

impl<K: Data, V: Data, T: Tombstones> KTable<K, V, T> {
    /// A table whose lookups read `store_of`'s store and whose old values are `lineage`'s.
    pub(crate) fn new(
        stream: KStream<K, Change<V>>,
        store_of: Lineage,
        lineage: Lineage,
        source_store: Option<(usize, String)>,
    ) -> Self {
        KTable { stream, store_of, source_store, getter: None, lineage, _t: PhantomData }
    }

    /// An aggregation's table: it keeps its store and reads its own.
    pub(crate) fn aggregated(stream: KStream<K, Change<V>>, source_store: Option<(usize, String)>) -> Self {
        let lineage = Lineage::aggregation(stream.builder());
        Self::new(stream, lineage, lineage, source_store)
    }

    /// The history its rows keep, if the table is versioned (its source's store's).
    pub(crate) fn history_retention_ms(&self) -> Option<i64> {
        let builder = self.stream.builder();
        if !self.lineage.is_versioned(builder) {
            return None;
        }
        let (_, store) = self.source_store.as_ref()?;
        match builder.graph.borrow().changelog_kind_of(store) {
            crate::graph::ChangelogKind::Versioned { history_retention_ms } => Some(history_retention_ms),
            _ => None,
        }
    }

    pub(crate) fn with_getter(mut self, getter: GetterFactory<K, V>) -> Self {
        self.getter = Some(getter);
        self
    }

    /// Makes the table answer lookups (for joins): its source keeps a store, which
    /// `describe()` lists. Returns the store name and a getter factory.
    pub(crate) fn materialize(&self) -> (String, GetterFactory<K, V>) {
        self.store_of.keep_store(self.stream.builder());
        let (node, store) = self.source_store.clone().expect("tables built by this crate know their store");
        self.stream.builder().graph.borrow_mut().add_store(node, &store);
        (store, self.getter.clone().expect("tables built by this crate have a getter"))
    }

    fn join_with<VO: Data, T2: Tombstones, R: Data>(
        self,
        other: KTable<K, VO, T2>,
        kind: TableJoin,
        joiner: Arc<dyn Fn(Option<V>, Option<VO>) -> R + Send + Sync>,
    ) -> KTable<K, R, MayDelete> {
        let builder = self.stream.builder().clone();
        let (this_store, this_getter) = self.materialize();
        let (other_store, other_getter) = other.materialize();
        // Kafka's `KTableImpl.doJoin`: the outer sides send old values.
        if kind != TableJoin::Inner {
            self.lineage.enable(&builder);
        }
        if kind == TableJoin::Outer {
            other.lineage.enable(&builder);
        }
        let lineage = Lineage::joined(&builder, &[self.lineage, other.lineage]);
        let (merge, outlet) = {
            let mut g = builder.graph.borrow_mut();
            // Kafka's `KTableImpl.doJoin` names the merge first, and its sides `KTABLE-JOINTHIS-`
            // and `KTABLE-JOINOTHER-` whatever the join.
            let merge_name = g.new_name("KTABLE-MERGE-");
            let (this_name, other_name) = (g.new_name("KTABLE-JOINTHIS-"), g.new_name("KTABLE-JOINOTHER-"));
            let p = |store: &str| NodeKind::Processor { stores: vec![store.to_string()] };
            let lj = g.add_node(this_name, p(&other_store), &[self.stream.last()]);
            let rj = g.add_node(other_name, p(&this_store), &[other.stream.last()]);
            let merge = g.add_node(merge_name, NodeKind::Processor { stores: vec![] }, &[lj, rj]);
            (merge, g.new_outlet::<K, Change<R>>(true))
        };
        // The left table's processor, and the right table's with the joiner reversed.
        let (this_side, other_side) = match kind {
            TableJoin::Inner => (JoinSide::Inner, JoinSide::Inner),
            TableJoin::Left => (JoinSide::Left, JoinSide::Right),
            TableJoin::Outer => (JoinSide::Outer, JoinSide::Outer),
        };
        let (j, og, table) = (joiner.clone(), other_getter.clone(), lineage.id());
        self.stream.clone().end_with(move |tb| TableJoinSideProc {
            other: og(tb),
            joiner: j.clone(),
            side: this_side,
            send_old_values: tb.sends_old_values(table),
            dropped: tb.dropped.clone(),
            next: tb.downstream(outlet),
        });
        let (j, tg) = (joiner.clone(), this_getter.clone());
        other.stream.clone().end_with(move |tb| TableJoinSideProc {
            other: tg(tb),
            joiner: {
                let j = j.clone();
                Arc::new(move |right: Option<VO>, left: Option<V>| j(left, right))
            },
            side: other_side,
            send_old_values: tb.sends_old_values(table),
            dropped: tb.dropped.clone(),
            next: tb.downstream(outlet),
        });
        // Kafka's `KTableKTable*JoinValueGetter`: the joined row with the larger timestamp.
        let getter: GetterFactory<K, R> = Arc::new(move |tb| {
            let (l, r, j) = (this_getter(tb), other_getter(tb), joiner.clone());
            // A join's result is not versioned: its sides answer their latest values.
            Box::new(move |k, _| {
                let (left, right) = (l(k, None), r(k, None));
                let ts = left.as_ref().map_or(-1, |(_, t)| *t).max(right.as_ref().map_or(-1, |(_, t)| *t));
                let present = match kind {
                    TableJoin::Inner => left.is_some() && right.is_some(),
                    TableJoin::Left => left.is_some(),
                    TableJoin::Outer => left.is_some() || right.is_some(),
                };
                present.then(|| (j(left.map(|(v, _)| v), right.map(|(v, _)| v)), ts))
            })
        });
        let stream = KStream::new(builder, outlet, merge, crate::ops::Nop::new());
        let mut table = KTable::new(stream, self.store_of, lineage, self.source_store.clone());
        table.getter = Some(getter);
        table
    }

    /// Joins two tables on their keys: a row exists where both have one (Kafka's
    /// table-table `join`).
    pub fn join<VO: Data, T2: Tombstones, R: Data, F>(
        self,
        other: KTable<K, VO, T2>,
        joiner: F,
    ) -> KTable<K, R, MayDelete>
    where
        F: Fn(V, VO) -> R + Send + Sync + 'static,
    {
        let joiner = Arc::new(move |l: Option<V>, r: Option<VO>| match (l, r) {
            (Some(l), Some(r)) => joiner(l, r),
            _ => unreachable!("an inner join joins two rows"),
        });
        self.join_with(other, TableJoin::Inner, joiner)
    }

    /// A row for every row of this table, with the other's value or `None`.
    pub fn left_join<VO: Data, T2: Tombstones, R: Data, F>(
        self,
        other: KTable<K, VO, T2>,
        joiner: F,
    ) -> KTable<K, R, MayDelete>
    where
        F: Fn(V, Option<VO>) -> R + Send + Sync + 'static,
    {
        let joiner =
            Arc::new(move |l: Option<V>, r: Option<VO>| joiner(l.expect("a left join has a left row"), r));
        self.join_with(other, TableJoin::Left, joiner)
    }

    /// A row for every key either table has.
    pub fn outer_join<VO: Data, T2: Tombstones, R: Data, F>(
        self,
        other: KTable<K, VO, T2>,
        joiner: F,
    ) -> KTable<K, R, MayDelete>
    where
        F: Fn(Option<V>, Option<VO>) -> R + Send + Sync + 'static,
    {
        self.join_with(other, TableJoin::Outer, Arc::new(joiner))
    }

    /// The table's values mapped by a transformer of your own, which may keep state and
    /// read `stores` (added with [`StreamsBuilder::add_state_store`](crate::StreamsBuilder::add_state_store))
    /// (Kafka's `KTable.transformValues`). Each update's new value goes through it, then its
    /// old value when something downstream needs old values; a lookup (a join) goes through
    /// an instance of its own.
    ///
    /// # Panics
    /// If a store named was not added to the builder.
    pub fn transform_values<P, F>(mut self, supplier: F, stores: &[&str]) -> KTable<K, P::VOut, MayDelete>
    where
        P: crate::processor::ValueTransformerWithKey<K, V>,
        F: Fn() -> P + Send + Sync + 'static,
    {
        let name = self.next_name("KTABLE-TRANSFORMVALUES-");
        let creates = super::process::user_store_factories(
            &self.stream.builder().graph.borrow(),
            stores,
            "transform_values",
        );
        let store_names: Vec<String> = stores.iter().map(|s| s.to_string()).collect();
        let supplier = Arc::new(supplier);
        // A transformer for a task (the records' or the lookups'), initialized.
        let make = {
            let (supplier, node, store_names) = (supplier.clone(), name.clone(), store_names.clone());
            Arc::new(move |tb: &mut TaskBuild<'_>, now: &Arc<std::sync::atomic::AtomicI64>| -> P {
                for create in &creates {
                    create(tb);
                }
                let mut schedules = crate::processor::Schedules::default();
                let mut transformer = supplier();
                transformer.init(&mut crate::processor::InitContext {
                    registry: &tb.stores,
                    wall_clock: tb.wall_clock,
                    partition: tb.partition,
                    application_id: tb.application_id(),
                    node: &node,
                    stores: &store_names,
                    schedules: &mut schedules,
                    now,
                    dropped: &tb.dropped,
                });
                assert!(
                    schedules.is_empty(),
                    "`{node}`: a table's value transformer cannot schedule punctuations here; \
                     use `process_values` on the table's stream (`to_stream`) for that"
                );
                transformer
            })
        };
        let lineage = Lineage::derived(self.stream.builder(), &[self.lineage]);
        let table = lineage.id();
        let records = make.clone();
        let stream = self.stream.clone().processor(name, store_names, move |tb, next| {
            let now = Arc::new(std::sync::atomic::AtomicI64::new(0));
            TableTransformValuesProc {
                transformer: records(tb, &now),
                send_old_values: tb.sends_old_values(table),
                now,
                next,
                _types: PhantomData,
            }
        });
        let getter = self.getter.clone().map(|parent| -> GetterFactory<K, P::VOut> {
            Arc::new(move |tb| {
                let now = Arc::new(std::sync::atomic::AtomicI64::new(0));
                let transformer = std::sync::Mutex::new(make(tb, &now));
                let parent = parent(tb);
                // Kafka's `KTableTransformValuesGetter`: a missing value is transformed too
                // (its timestamp then unknown, -1).
                Box::new(move |k, at| {
                    let (value, timestamp) = match parent(k, at) {
                        Some((v, ts)) => (Some(v), ts),
                        None => (None, -1),
                    };
                    let mut t = transformer.lock().unwrap_or_else(|p| p.into_inner());
                    t.transform(k, value.as_ref()).map(|v| (v, timestamp))
                })
            })
        });
        self.derived(stream, getter, lineage)
    }

    /// As [`Self::transform_values`], with the stores themselves: each is added to the
    /// builder unless a store of its name is (what `topology!`'s `transform_values(supplier,
    /// stores = [..])` writes).
    pub fn transform_values_with_stores<P, F>(
        self,
        supplier: F,
        stores: &[&dyn crate::processor::StoreSpec],
    ) -> KTable<K, P::VOut, MayDelete>
    where
        P: crate::processor::ValueTransformerWithKey<K, V>,
        F: Fn() -> P + Send + Sync + 'static,
    {
        for store in stores {
            self.stream.builder().add_store_once(*store);
        }
        let names: Vec<&str> = stores.iter().map(|s| s.store_name()).collect();
        self.transform_values(supplier, &names)
    }

    /// The table's updates held back as `suppressed` says, each key's latest emitted when its
    /// time is up (Kafka's `KTable.suppress(Suppressed.untilTimeLimit(..))`): a rate limit on
    /// a table's changes. The buffer is a store of its own, restored from its changelog.
    /// Looking a key up (a join) sees what was last emitted.
    ///
    /// # Panics
    /// If the table is versioned (read with [`StreamsBuilder::versioned_table`](crate::StreamsBuilder::versioned_table),
    /// or derived from one by filters and mappings), as Kafka's `TopologyException`.
    pub fn suppress(mut self, suppressed: Suppressed) -> KTable<K, V, T>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
    {
        assert!(
            !self.lineage.is_versioned(self.stream.builder()),
            "suppress() is only supported for non-versioned KTables \
             (note that version semantics might be inherited from upstream)"
        );
        // Kafka's `KTableSuppressProcessorSupplier` asks its parent for old values, which
        // materializes a source table.
        self.store_of.keep_store(self.stream.builder());
        if let Some((node, store)) = &self.source_store {
            self.stream.builder().graph.borrow_mut().add_store(*node, store);
        }
        self.lineage.enable(self.stream.builder());
        let Suppressed { time_limit, buffer, name } = suppressed;
        // `named(..)` names it as `with_name` does.
        let (name, store) = match name.or_else(|| self.stream.take_name()) {
            Some(name) => (name.clone(), format!("{name}-store")),
            None => {
                let name = self.next_name("KTABLE-SUPPRESS-");
                (name, self.stream.builder().graph.borrow_mut().new_name("KTABLE-SUPPRESS-STATE-STORE-"))
            }
        };
        let time_limit_ms = i64::try_from(time_limit.as_millis()).unwrap_or(i64::MAX);
        let (node, buffer_store) = (name.clone(), store.clone());
        let stream =
            self.stream.clone().processor(name, vec![store.clone()], move |tb, next| SuppressProc::<
                K::Codec,
                V::Codec,
            > {
                node: node.clone(),
                store: tb.buffer_store::<K::Codec, BufferedCodec<V::Codec>>(&buffer_store),
                time_limit_ms,
                max_records: buffer.max_records,
                when_full: buffer.when_full,
                observed: -1,
                index: None,
                next,
            });
        // Kafka's `KTableSuppressProcessorSupplier.view`: a held key reads as its prior value.
        let getter = self.getter.clone().map(|parent| -> GetterFactory<K, V> {
            Arc::new(move |tb| {
                let held = tb.buffer_store::<K::Codec, BufferedCodec<V::Codec>>(&store);
                let parent = parent(tb);
                Box::new(move |k, at| match held.get(k) {
                    Some((b, _)) => b.prior.map(|v| (v, b.timestamp)),
                    None => parent(k, at),
                })
            })
        });
        let lineage = Lineage::derived(self.stream.builder(), &[self.lineage]);
        self.derived(stream, getter, lineage)
    }

    /// A `KTABLE-SUPPRESS-` node with its `KTABLE-SUPPRESS-STATE-STORE-` (named in Kafka's
    /// order) that passes updates on: the suppression itself happens upstream.
    pub(crate) fn suppress_node(mut self) -> Self {
        let name = self.next_name("KTABLE-SUPPRESS-");
        let store = self.stream.builder().graph.borrow_mut().new_name("KTABLE-SUPPRESS-STATE-STORE-");
        self.stream =
            self.stream.clone().processor(name, vec![store], |_, next| crate::ops::PassThrough { next });
        self
    }

    /// Names the next operator (Kafka's `Named.as`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.stream = self.stream.named(name);
        self
    }

    fn next_name(&mut self, prefix: &str) -> String {
        let given = self.stream.take_name();
        self.stream.builder().graph.borrow_mut().name_or(given, prefix)
    }

    fn derived<V2: Data, T2: Tombstones>(
        &self,
        stream: KStream<K, Change<V2>>,
        getter: Option<GetterFactory<K, V2>>,
        lineage: Lineage,
    ) -> KTable<K, V2, T2> {
        let mut table = KTable::new(stream, self.store_of, lineage, self.source_store.clone());
        table.getter = getter;
        table
    }

    fn filter_with<P>(mut self, predicate: P, negate: bool) -> KTable<K, V, MayDelete>
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        let name = self.next_name("KTABLE-FILTER-");
        let predicate: Arc<dyn Fn(&K, &V) -> bool + Send + Sync> = Arc::new(predicate);
        let lineage = Lineage::derived(self.stream.builder(), &[self.lineage]);
        let table = lineage.id();
        let p = predicate.clone();
        let stream = self.stream.clone().processor(name, vec![], move |tb, next| TableFilterProc {
            predicate: p.clone(),
            negate,
            send_old_values: tb.sends_old_values(table),
            versioned: tb.is_versioned(table),
            next,
        });
        let getter = self.getter.clone().map(|parent| -> GetterFactory<K, V> {
            Arc::new(move |tb| {
                let (parent, predicate) = (parent(tb), predicate.clone());
                Box::new(move |k, at| parent(k, at).filter(|(v, _)| predicate(k, v) != negate))
            })
        });
        self.derived(stream, getter, lineage)
    }

    /// Keeps the rows `predicate` accepts; a rejected update deletes its key downstream.
    pub fn filter<P>(self, predicate: P) -> KTable<K, V, MayDelete>
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        self.filter_with(predicate, false)
    }

    /// Drops the rows `predicate` accepts.
    pub fn filter_not<P>(self, predicate: P) -> KTable<K, V, MayDelete>
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        self.filter_with(predicate, true)
    }

    /// A new value for each row.
    pub fn map_values<U: Data, F>(mut self, f: F) -> KTable<K, U, T>
    where
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        let name = self.next_name("KTABLE-MAPVALUES-");
        let f: Arc<dyn Fn(V) -> U + Send + Sync> = Arc::new(f);
        let g = f.clone();
        let lineage = Lineage::derived(self.stream.builder(), &[self.lineage]);
        let table = lineage.id();
        let stream = self.stream.clone().processor(name, vec![], move |tb, next| TableMapValuesProc {
            f: g.clone(),
            send_old_values: tb.sends_old_values(table),
            next,
        });
        let getter = self.getter.clone().map(|parent| -> GetterFactory<K, U> {
            Arc::new(move |tb| {
                let (parent, f) = (parent(tb), f.clone());
                Box::new(move |k, at| parent(k, at).map(|(v, ts)| (f(v), ts)))
            })
        });
        self.derived(stream, getter, lineage)
    }

    /// The table's updates as a stream of new values.
    pub fn to_stream(mut self) -> KStream<K, T::Value<V>> {
        let name = self.next_name("KTABLE-TOSTREAM-");
        self.stream.processor(name, vec![], |_, next| ToStreamProc::<K, V, T> { next, _t: PhantomData })
    }

    /// Regroups the rows by `f(&key, &value) -> (new_key, new_value)` for an aggregation
    /// with an adder and a subtractor (Kafka's `KTable.groupBy`).
    pub fn group_by<K2, V2, F>(mut self, f: F) -> KGroupedTable<K2, V2>
    where
        K2: DefaultCodec + StoreKey,
        V2: DefaultCodec,
        F: Fn(&K, &V) -> (K2, V2) + Send + Sync + 'static,
    {
        self.store_of.keep_store(self.stream.builder());
        if let Some((node, store)) = &self.source_store {
            self.stream.builder().graph.borrow_mut().add_store(*node, store);
        }
        self.lineage.enable(self.stream.builder());
        let name = self.next_name("KTABLE-SELECT-");
        let f: Arc<dyn Fn(&K, &V) -> (K2, V2) + Send + Sync> = Arc::new(f);
        let stream = self.stream.processor(name, vec![], move |tb, next| TableSelectProc {
            f: f.clone(),
            key_is_null: <K2::Codec as crate::codec::Codec>::is_null,
            value_is_null: <V2::Codec as crate::codec::Codec>::is_null,
            dropped: tb.dropped.clone(),
            next,
        });
        KGroupedTable::new(stream)
    }
}

impl<K: Data, V: Data, T: Tombstones> Clone for KTable<K, V, T> {
    fn clone(&self) -> Self {
        let mut table =
            KTable::new(self.stream.clone(), self.store_of, self.lineage, self.source_store.clone());
        table.getter = self.getter.clone();
        table
    }
}
