//! `KStream<K, V>`: a record stream. Each method adds one operator node; stateless
//! operators are fused into one monomorphized processor until the stream ends, branches or
//! merges.

use std::marker::PhantomData;
use std::sync::Arc;

use super::{
    BranchedKStream, GlobalKTable, KGroupedStream, KTable, NeverDeletes, StreamsBuilder, Tombstones,
};
use crate::codec::{Codec, CodecFor, DefaultCodec};
use crate::graph::optimize;
use crate::graph::{
    ChildFactory, Data, GraphBuilder, NodeKind, OutletId, SinkTopic, SourceSpec, SourceTopics, TaskBuild,
};
use crate::ops::filter::Filter;
use crate::ops::flat_map::FlatMap;
use crate::ops::flat_map_values::FlatMapValues;
use crate::ops::foreach::ForeachProc;
use crate::ops::global_table::GlobalJoinProc;
use crate::ops::map::Map;
use crate::ops::map_values::MapValues;
use crate::ops::peek::Peek;
use crate::ops::repartition::RepartitionSinkProc;
use crate::ops::select_key::SelectKey;
use crate::ops::sink::{SinkProc, SinkTarget};
use crate::ops::source::SourceProc;
use crate::ops::stream_stream_join::{
    JoinBufferStore, JoinSideProc, JoinState, JoinWindows, Joiner, LeftInput, RightInput, SelfJoinInput, Side,
};
use crate::ops::stream_table_join::{LookupNulls, StreamTableJoinProc};
use crate::ops::table_source::{TableSourceProc, UpsertProc};
use crate::ops::{Nop, Processor, Stage, StageOf, TerminalProbe, Then};
use crate::state::{StoreCodecs, StoreKey};

/// A stream of records with keys `K` and values `V` (Kafka's `KStream`).
///
/// `S` is the chain of stateless operators added since the stream last branched: it is part
/// of the type so that the chain compiles into one processor. Code that names a stream's type
/// writes `KStream<K, V>`, the form every source returns; [`KStream::share`] turns any stream
/// into that form.
pub struct KStream<K, V, S = Nop<K, V>> {
    builder: StreamsBuilder,
    /// Where the chain `S` takes its input from.
    outlet: OutletId,
    /// The last node added, parent of the next.
    last: usize,
    stage: S,
    next_name: Option<String>,
    /// Whether the key may have changed since the source: a stateful operator downstream
    /// then repartitions first.
    repartition_required: bool,
    /// The first node the chain `S` added (what the optimization passes move with it).
    first: Option<usize>,
    /// How many nodes the graph had when the chain started.
    since: usize,
    _types: PhantomData<fn() -> (K, V)>,
}

/// What an operator changes of the records, as Kafka's graph nodes say
/// (`keyChangingOperation`, `setValueChangingOperation`): the repartition merging pass reads it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Changes {
    Nothing,
    Key,
    Value,
}

/// How [`KStream::repartition_with`] writes its internal topic (Kafka's `Repartitioned`).
#[derive(Debug, Clone, Default)]
pub struct Repartitioned {
    name: Option<String>,
    partitions: Option<u32>,
}

impl Repartitioned {
    /// A generated name; as many partitions as the sub-topology writing it reads.
    pub fn new() -> Self {
        Self::default()
    }

    /// The topic `<application.id>-<name>-repartition`, its nodes `<name>-repartition-sink`,
    /// `-filter` and `-source` (Kafka's `Repartitioned.as`).
    pub fn named(name: impl Into<String>) -> Self {
        Repartitioned { name: Some(name.into()), partitions: None }
    }

    /// The topic has `n` partitions, so the sub-topology reading it has `n` tasks (Kafka's
    /// `withNumberOfPartitions`).
    pub fn with_number_of_partitions(mut self, n: u32) -> Self {
        assert!(n > 0, "a repartition topic has at least one partition");
        self.partitions = Some(n);
        self
    }
}

/// Whether `name` is one the builder generated (Kafka's `KSTREAM.*-[0-9]{10}`).
fn is_generated_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= "KSTREAM-".len() + 10
        && b.starts_with(b"KSTREAM")
        && b[b.len() - 11] == b'-'
        && b[b.len() - 10..].iter().all(u8::is_ascii_digit)
}

/// A stream that [`KStream::merge`] can take into a stream of `K` keys and `V` values: a
/// stream of the same types. (A trait rather than a parameter type so that a stream of other
/// types is reported in those terms.)
#[diagnostic::on_unimplemented(
    message = "`merge` takes a stream of the same key and value types: `{K}` keys and `{V}` values here",
    label = "a stream of other types; map it first (`map_values`, `select_key`) to `{K}` keys and `{V}` values"
)]
pub trait MergeableWith<K, V>: sealed::Merge {
    #[doc(hidden)]
    fn last_node(&self) -> usize;
    #[doc(hidden)]
    fn repartition_required(&self) -> bool;
    #[doc(hidden)]
    fn into_merge(self, outlet: OutletId);
}

mod sealed {
    pub trait Merge {}
}

impl<K, V, S> sealed::Merge for KStream<K, V, S> {}

// Not recommended in errors: the message above says what to write.
#[diagnostic::do_not_recommend]
impl<K: Data, V: Data, S: StageOf<K, V>> MergeableWith<K, V> for KStream<K, V, S> {
    fn last_node(&self) -> usize {
        self.last
    }

    fn repartition_required(&self) -> bool {
        self.repartition_required
    }

    fn into_merge(self, outlet: OutletId) {
        self.into_outlet(true, Some(outlet));
    }
}

/// A stream without pending operators can be used by several pipelines (fan-out).
impl<K, V> Clone for KStream<K, V, Nop<K, V>> {
    fn clone(&self) -> Self {
        KStream {
            builder: self.builder.clone(),
            outlet: self.outlet,
            last: self.last,
            stage: Nop::new(),
            next_name: self.next_name.clone(),
            repartition_required: self.repartition_required,
            first: None,
            since: self.since,
            _types: PhantomData,
        }
    }
}

impl<K: Data, V: Data> KStream<K, V> {
    pub(crate) fn new(builder: StreamsBuilder, outlet: OutletId, last: usize, stage: Nop<K, V>) -> Self {
        // Under a borrow (never the case today) the chain's first node stays unknown, which
        // only keeps the optimization passes from moving it.
        let since = builder.graph.try_borrow().map_or(usize::MAX, |g| g.nodes.len());
        KStream {
            builder,
            outlet,
            last,
            stage,
            next_name: None,
            repartition_required: false,
            first: None,
            since,
            _types: PhantomData,
        }
    }

    pub(crate) fn with_repartition_required(mut self, required: bool) -> Self {
        self.repartition_required = required;
        self
    }

    /// Notes that the node this stream comes out of changes keys (`process`): the
    /// repartition merging pass may put a repartition right after it.
    pub(crate) fn after_key_change(self) -> Self {
        self.builder.graph.borrow_mut().optimizable.key_changed::<K, V>(self.last, self.outlet, false);
        self.with_repartition_required(true)
    }

    /// Notes that the node this stream comes out of changes values (`process_values`):
    /// repartitions below it are not merged with those above.
    pub(crate) fn after_value_change(self) -> Self {
        self.builder.graph.borrow_mut().optimizable.value_changing.push(self.last);
        self
    }
}

impl<K, V, S> KStream<K, V, S>
where
    K: Data,
    V: Data,
    S: StageOf<K, V>,
{
    /// Names the next operator added to this stream (Kafka's `Named.as`), instead of a
    /// generated `KSTREAM-…-0000000007` name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.next_name = Some(name.into());
        self
    }

    fn add_node(&mut self, prefix: &str, kind: NodeKind, parents: &[usize]) -> usize {
        let mut g = self.builder.graph.borrow_mut();
        let name = g.name_or(self.next_name.take(), prefix);
        g.add_node(name, kind, parents)
    }

    pub(crate) fn last_node(&self) -> usize {
        self.last
    }

    pub(crate) fn last(&self) -> usize {
        self.last
    }

    /// The name of the stream's last node (Kafka's `KStreamImpl.name`).
    fn node_name(&self) -> String {
        self.builder.graph.borrow().nodes[self.last].name.clone()
    }

    pub(crate) fn builder(&self) -> &StreamsBuilder {
        &self.builder
    }

    pub(crate) fn take_name(&mut self) -> Option<String> {
        self.next_name.take()
    }

    pub(crate) fn repartition_required(&self) -> bool {
        self.repartition_required
    }

    fn then<T>(mut self, prefix: &str, stage: T, changes: Changes) -> KStream<T::KOut, T::VOut, Then<S, T>>
    where
        T: Stage<KIn = K, VIn = V>,
    {
        let node = self.add_node(prefix, NodeKind::Processor { stores: vec![] }, &[self.last]);
        if changes == Changes::Value {
            self.builder.graph.borrow_mut().optimizable.value_changing.push(node);
        }
        KStream {
            builder: self.builder,
            outlet: self.outlet,
            last: node,
            stage: Then(self.stage, stage),
            next_name: None,
            repartition_required: self.repartition_required || changes == Changes::Key,
            first: self.first.or(Some(node)),
            since: self.since,
            _types: PhantomData,
        }
    }

    /// [`Self::then`] for an operator that changes keys: the chain ends after it, in an
    /// outlet the repartition merging pass can move its children from.
    fn then_key_changing<T>(self, prefix: &str, stage: T) -> KStream<T::KOut, T::VOut>
    where
        T: Stage<KIn = K, VIn = V>,
        T::KOut: Data,
        T::VOut: Data,
    {
        let changed = self.then(prefix, stage, Changes::Key);
        let (builder, node) = (changed.builder.clone(), changed.last);
        let outlet = changed.into_outlet(false, None);
        builder.graph.borrow_mut().optimizable.key_changed::<T::KOut, T::VOut>(node, outlet, false);
        KStream::new(builder, outlet, node, Nop::new()).with_repartition_required(true)
    }

    /// Adds a processor node `name` (with `stores`) whose running form `make` builds in front
    /// of the downstream of a new outlet; returns the stream of that outlet.
    pub(crate) fn processor<K2: Data, V2: Data, P, M>(
        self,
        name: String,
        stores: Vec<String>,
        make: M,
    ) -> KStream<K2, V2>
    where
        P: Processor<K, V> + 'static,
        M: Fn(&mut TaskBuild<'_>, Box<dyn Processor<K2, V2>>) -> P + Send + Sync + 'static,
    {
        self.processor_of_children(name, stores, move |tb, outlet| {
            let next = tb.downstream::<K2, V2>(outlet);
            make(tb, next)
        })
    }

    /// [`Self::processor`], whose running form `make` builds from the outlet itself (to
    /// reach its children one by one: the Processor API's `forward(record, child)`).
    pub(crate) fn processor_of_children<K2: Data, V2: Data, P, M>(
        self,
        name: String,
        stores: Vec<String>,
        make: M,
    ) -> KStream<K2, V2>
    where
        P: Processor<K, V> + 'static,
        M: Fn(&mut TaskBuild<'_>, OutletId) -> P + Send + Sync + 'static,
    {
        let builder = self.builder.clone();
        let (node, outlet) = {
            let mut g = builder.graph.borrow_mut();
            let node = g.add_node(name, NodeKind::Processor { stores }, &[self.last]);
            (node, g.new_outlet::<K2, V2>(false))
        };
        self.end_with(move |tb| TerminalProbe { slot: tb.terminal_slot(node), inner: make(tb, outlet) });
        KStream::new(builder, outlet, node, Nop::new())
    }

    /// Writes the stream to the internal topic `<base>-repartition` and reads it back in a
    /// new sub-topology, as Kafka Streams does before a stateful operator when the key
    /// changed. `of_stream`: a stream's repartition (Kafka's `KStreamImpl.createRepartitionedSource`,
    /// with its null-key filter node and, for a base the user named, nodes named after it),
    /// not a table's (`KGroupedTableImpl`'s, without either).
    pub(crate) fn repartition_through<KC, VC>(self, base: &str, of_stream: bool) -> KStream<K, V>
    where
        KC: Codec<Value = K>,
        VC: Codec<Value = V>,
    {
        self.repartition_topic::<KC, VC>(base, of_stream, None, of_stream)
    }

    /// [`Self::repartition_through`] that the merging pass leaves alone (its records are not
    /// the stream's: partial aggregates, see [`KGroupedStream::pre_aggregated`]).
    pub(crate) fn repartition_unmerged<KC, VC>(self, base: &str) -> KStream<K, V>
    where
        KC: Codec<Value = K>,
        VC: Codec<Value = V>,
    {
        self.repartition_topic::<KC, VC>(base, true, None, false)
    }

    /// The repartition itself; `partitions` fixes the topic's partition count (else it has
    /// that of the sub-topology writing it). `optimizable`: the merging pass may merge it
    /// with the other repartitions of the same key change (Kafka's
    /// `OptimizableRepartitionNode`: those before aggregations, joins and `toTable`).
    fn repartition_topic<KC, VC>(
        self,
        base: &str,
        of_stream: bool,
        partitions: Option<u32>,
        optimizable: bool,
    ) -> KStream<K, V>
    where
        KC: Codec<Value = K>,
        VC: Codec<Value = V>,
    {
        let builder = self.builder.clone();
        let topic =
            if base.ends_with("-repartition") { base.to_string() } else { format!("{base}-repartition") };
        let parts = {
            let mut g = builder.graph.borrow_mut();
            // The generated names are drawn (burning their counter values) whatever the base.
            let (mut sink_name, mut filter_name, mut source_name) = (
                g.new_name("KSTREAM-SINK-"),
                of_stream.then(|| g.new_name("KSTREAM-FILTER-")),
                g.new_name("KSTREAM-SOURCE-"),
            );
            if of_stream && !is_generated_name(base) {
                sink_name = format!("{topic}-sink");
                filter_name = Some(format!("{topic}-filter"));
                source_name = format!("{topic}-source");
            }
            add_repartition::<KC, VC>(
                &mut g,
                self.last,
                &topic,
                (sink_name, filter_name, source_name),
                partitions,
            )
        };
        let sink = repartition_sink::<KC, VC>(&topic, &parts);
        let (outlet, source) = (parts.outlet, parts.source);
        if optimizable {
            let sink_node = parts.sink;
            builder.graph.borrow_mut().optimizable.repartitions.push(optimize::Repartition {
                first: parts.first,
                sink: sink_node,
                source,
                topic: topic.clone(),
                types: std::any::TypeId::of::<(K, V)>(),
                lower: Arc::new(merged_repartition::<KC, VC>),
            });
            // Merged into one repartition upstream, this one is a pass-through.
            self.end_with(move |tb| -> Box<dyn Processor<K, V>> {
                if tb.decided().merged_repartitions.contains(&sink_node) {
                    tb.downstream::<K, V>(outlet)
                } else {
                    Box::new(sink(tb))
                }
            });
        } else {
            self.end_with(sink);
        }
        KStream::new(builder, outlet, source, Nop::new())
    }

    /// Writes the stream through a new internal topic and reads it back (Kafka's
    /// `repartition()`): `<application.id>-KSTREAM-REPARTITION-0000000007-repartition`, with
    /// as many partitions as the input of its sub-topology. Records are placed by their key
    /// (records without one are dropped, as Kafka's repartitions drop them); the key no longer
    /// counts as changed downstream.
    pub fn repartition(self) -> KStream<K, V>
    where
        K: DefaultCodec,
        V: DefaultCodec,
    {
        self.repartition_with(Repartitioned::new())
    }

    /// [`Self::repartition`] as `how` says: the topic's name and partition count (Kafka's
    /// `repartition(Repartitioned)`).
    pub fn repartition_with(mut self, how: Repartitioned) -> KStream<K, V>
    where
        K: DefaultCodec,
        V: DefaultCodec,
    {
        let given = how.name.or_else(|| self.next_name.take());
        let base = self.builder.graph.borrow_mut().given_or_new(given, "KSTREAM-REPARTITION-");
        self.repartition_topic::<K::Codec, V::Codec>(&base, true, how.partitions, false)
    }

    /// Groups the records by their key, for an aggregation (Kafka's `groupByKey`). If the
    /// key may have changed upstream, the aggregation repartitions first.
    pub fn group_by_key(mut self) -> KGroupedStream<K, V, S>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
    {
        let repartition_name = self.next_name.take();
        KGroupedStream::new(self, repartition_name)
    }

    /// Groups the records by a new key `f(&key, &value)` (Kafka's `groupBy`): always
    /// repartitions before the aggregation. A name given with [`Self::named`] names both the
    /// key selection and the repartition topic (Kafka's `Grouped.as`).
    pub fn group_by<K2, F>(self, f: F) -> KGroupedStream<K2, V>
    where
        K2: DefaultCodec + StoreKey,
        V: DefaultCodec,
        F: Fn(&K, &V) -> K2 + Send + Sync + 'static,
    {
        let name = self.next_name.clone();
        let mut selected = self.select_key(f);
        selected.next_name = name;
        selected.group_by_key()
    }

    /// The stream as a table: each record upserts its key (Kafka's `toTable`).
    pub fn to_table(mut self) -> KTable<K, V, NeverDeletes>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
    {
        let (name, store) = {
            let mut g = self.builder.graph.borrow_mut();
            let name = g.name_or(self.next_name.take(), "KSTREAM-TOTABLE-");
            (name, g.new_name("KSTREAM-TOTABLE-STATE-STORE-"))
        };
        let stream: KStream<K, V> = if self.repartition_required {
            // Kafka's `KStreamImpl.toTable`: the topic is named after the processor.
            self.repartition_through::<K::Codec, V::Codec>(&name, true)
        } else {
            self.share()
        };
        let lineage = crate::dsl::ktable::Lineage::source(stream.builder());
        let id = lineage.id();
        let store_name = store.clone();
        let table = stream.processor(name, vec![], move |tb, next| {
            UpsertProc(TableSourceProc::new::<K::Codec, V::Codec>(tb, id, &store_name, next))
        });
        let node = table.last_node();
        let store_name = store.clone();
        let getter: crate::dsl::ktable::GetterFactory<K, V> = Arc::new(move |tb| {
            let store = tb.key_value_store::<K::Codec, V::Codec>(&store_name);
            Box::new(move |k, _| store.get(k))
        });
        KTable::new(table, lineage, lineage, Some((node, store))).with_getter(getter)
    }

    /// Ends the chain in front of the processor `end` builds for each task.
    pub(crate) fn end_with<P, E>(self, end: E)
    where
        P: Processor<K, V> + 'static,
        E: Fn(&mut TaskBuild<'_>) -> P + Send + Sync + 'static,
    {
        let stage = self.stage;
        let child: ChildFactory<S::KIn, S::VIn> = Arc::new(move |tb| Box::new(stage.wrap(end(tb))));
        let mut g = self.builder.graph.borrow_mut();
        // The chain's first node: the first its stateless operators added, else the one the
        // operator ending it just added (after the chain started).
        let first = self.first.or_else(|| g.newest_child(self.last, self.since));
        g.attach(self.outlet, first, child);
    }

    /// Ends the chain in a new outlet of type `(K, V)` that later operators attach to.
    fn into_outlet(self, shared: bool, outlet: Option<OutletId>) -> OutletId {
        let outlet = outlet.unwrap_or_else(|| self.builder.graph.borrow_mut().new_outlet::<K, V>(shared));
        self.end_with(move |tb| tb.downstream::<K, V>(outlet));
        outlet
    }

    /// Keeps the records for which `predicate(&key, &value)` is true.
    ///
    /// ```
    /// # use streams_runtime::prelude::*;
    /// let b = StreamsBuilder::new();
    /// b.stream::<String, i64>("in").filter(|_, v| *v > 0).to("out");
    /// let mut driver = TestDriver::new(b.build());
    /// let input = driver.input::<String, i64>("in");
    /// input.pipe("a".to_string(), -1, 0);
    /// input.pipe("b".to_string(), 2, 0);
    /// let mut out = driver.output::<String, i64>("out");
    /// assert_eq!(out.read_key_values(), vec![("b".to_string(), 2)]);
    /// ```
    pub fn filter<P>(self, predicate: P) -> KStream<K, V, Then<S, Filter<K, V, P>>>
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        self.then("KSTREAM-FILTER-", Filter::new(predicate, false), Changes::Nothing)
    }

    /// Drops the records for which `predicate(&key, &value)` is true.
    pub fn filter_not<P>(self, predicate: P) -> KStream<K, V, Then<S, Filter<K, V, P>>>
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        self.then("KSTREAM-FILTER-", Filter::new(predicate, true), Changes::Nothing)
    }

    /// A new key and value for each record: `f(key, value) -> (key, value)`.
    pub fn map<K2: Data, V2: Data, F>(self, f: F) -> KStream<K2, V2>
    where
        F: Fn(K, V) -> (K2, V2) + Send + Sync + 'static,
    {
        self.then_key_changing("KSTREAM-MAP-", Map::new(f))
    }

    /// A new value for each record, key unchanged: `f(value) -> value`.
    pub fn map_values<U: Data, F>(self, f: F) -> KStream<K, U, Then<S, MapValues<K, V, F>>>
    where
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        self.then("KSTREAM-MAPVALUES-", MapValues::new(f), Changes::Value)
    }

    /// Zero or more records for each record: `f(key, value) -> iterator of (key, value)`.
    pub fn flat_map<K2: Data, V2: Data, I, F>(self, f: F) -> KStream<K2, V2>
    where
        F: Fn(K, V) -> I + Send + Sync + 'static,
        I: IntoIterator<Item = (K2, V2)>,
    {
        self.then_key_changing("KSTREAM-FLATMAP-", FlatMap::new(f))
    }

    /// Zero or more values for each record, each with its key: `f(value) -> iterator`.
    pub fn flat_map_values<U: Data, I, F>(self, f: F) -> KStream<K, U, Then<S, FlatMapValues<K, V, F>>>
    where
        F: Fn(V) -> I + Send + Sync + 'static,
        I: IntoIterator<Item = U>,
    {
        self.then("KSTREAM-FLATMAPVALUES-", FlatMapValues::new(f), Changes::Value)
    }

    /// A new key for each record: `f(&key, &value) -> key`.
    pub fn select_key<K2: Data, F>(self, f: F) -> KStream<K2, V>
    where
        F: Fn(&K, &V) -> K2 + Send + Sync + 'static,
    {
        self.then_key_changing("KSTREAM-KEY-SELECT-", SelectKey::new(f))
    }

    /// Calls `f(&key, &value)` for each record and passes it on unchanged.
    pub fn peek<F>(self, f: F) -> KStream<K, V, Then<S, Peek<K, V, F>>>
    where
        F: Fn(&K, &V) + Send + Sync + 'static,
    {
        self.then("KSTREAM-PEEK-", Peek::new(f), Changes::Nothing)
    }

    /// Calls `f(&key, &value)` for each record; the stream ends here.
    pub fn foreach<F>(mut self, f: F)
    where
        F: Fn(&K, &V) + Send + Sync + 'static,
    {
        let node = self.add_node("KSTREAM-FOREACH-", NodeKind::Processor { stores: vec![] }, &[self.last]);
        let f = Arc::new(f);
        self.end_with(move |tb| ForeachProc { f: f.clone(), e2e_slot: tb.e2e_slot(node) });
    }

    /// Writes the stream to `topic` with the default codecs of `K` and `V`.
    pub fn to(self, topic: &str)
    where
        K: DefaultCodec,
        V: DefaultCodec,
    {
        self.to_with::<K::Codec, V::Codec>(topic)
    }

    /// Writes the stream to `topic` with key codec `KC` and value codec `VC`.
    pub fn to_with<KC: CodecFor<K>, VC: CodecFor<V>>(self, topic: &str) {
        self.sink::<KC, VC, fn(&K, &V) -> String>(SinkTarget::Topic(topic.to_string()))
    }

    /// Writes each record to the topic `f(&key, &value)` names, with the default codecs.
    pub fn to_dynamic<F>(self, f: F)
    where
        K: DefaultCodec,
        V: DefaultCodec,
        F: Fn(&K, &V) -> String + Send + Sync + 'static,
    {
        self.to_dynamic_with::<K::Codec, V::Codec, F>(f)
    }

    /// Writes each record to the topic `f(&key, &value)` names, with codecs `KC` and `VC`.
    pub fn to_dynamic_with<KC: CodecFor<K>, VC: CodecFor<V>, F>(self, f: F)
    where
        F: Fn(&K, &V) -> String + Send + Sync + 'static,
    {
        self.sink::<KC, VC, F>(SinkTarget::Extract(Arc::new(f)))
    }

    fn sink<KC: CodecFor<K>, VC: CodecFor<V>, F>(mut self, target: SinkTarget<F>)
    where
        F: Fn(&K, &V) -> String + Send + Sync + 'static,
    {
        if let SinkTarget::Topic(t) = &target {
            let mut g = self.builder.graph.borrow_mut();
            let mut format = crate::graph::TopicFormat::of::<KC, VC>();
            format.window_size = g.window_size_above(self.last);
            g.add_format(t, format);
        }
        let topic = match &target {
            SinkTarget::Topic(t) => SinkTopic::Name(t.clone()),
            SinkTarget::Extract(_) => SinkTopic::Extractor(std::any::type_name::<F>().to_string()),
        };
        let node = self.add_node("KSTREAM-SINK-", NodeKind::Sink(topic), &[self.last]);
        self.end_with(move |tb| SinkProc::<KC, VC, F> {
            target: target.clone(),
            e2e_slot: tb.e2e_slot(node),
            _codecs: PhantomData,
        });
    }

    /// One stream of the records of both streams (of the same key and value types).
    pub fn merge<O: MergeableWith<K, V>>(mut self, other: O) -> KStream<K, V> {
        let node = self.add_node(
            "KSTREAM-MERGE-",
            NodeKind::Processor { stores: vec![] },
            &[self.last, other.last_node()],
        );
        let builder = self.builder.clone();
        let required = self.repartition_required || other.repartition_required();
        let outlet = self.into_outlet(true, None);
        other.into_merge(outlet);
        builder.graph.borrow_mut().optimizable.key_changed::<K, V>(node, outlet, true);
        KStream::new(builder, outlet, node, Nop::new()).with_repartition_required(required)
    }

    /// Splits the stream into named branches: each record goes to the first branch whose
    /// predicate accepts it (Kafka's `split()`).
    pub fn split(mut self) -> BranchedKStream<K, V> {
        let name = self.next_name.take();
        let builder = self.builder.clone();
        let parent = self.last;
        let required = self.repartition_required;
        // The splitter node first, so that the chain ending here starts with it.
        let input = builder.graph.borrow_mut().new_outlet::<K, V>(false);
        let branched = BranchedKStream::new(builder, input, parent, name, required);
        self.into_outlet(false, Some(input));
        branched
    }

    /// This stream, repartitioned if its key changed (for a join); the base name of the
    /// repartition topic is `name`. `relaxed`: the join is a left or outer one, which keeps
    /// null keys, so every repartition upstream lets them through (Kafka's
    /// `NULL_KEY_RELAXED_JOIN` label).
    fn co_partitioned(self, name: &str, relaxed: bool) -> KStream<K, V>
    where
        K: DefaultCodec,
        V: DefaultCodec,
    {
        let stream = if self.repartition_required {
            self.repartition_through::<K::Codec, V::Codec>(name, true)
        } else {
            self.share()
        };
        if relaxed {
            stream.builder.graph.borrow_mut().keep_null_keys_above(stream.last);
        }
        stream
    }

    fn join_table<VT: Data, R: Data, T: Tombstones>(
        mut self,
        table: KTable<K, VT, T>,
        (prefix, left): (&str, bool),
        grace: Option<std::time::Duration>,
        joiner: Arc<dyn Fn(V, Option<VT>) -> Option<R> + Send + Sync>,
    ) -> KStream<K, R>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
    {
        // Kafka's `StreamTableJoinNode`: a grace period needs a versioned table keeping at
        // least that much history.
        let grace_ms = grace.map(|g| i64::try_from(g.as_millis()).unwrap_or(i64::MAX));
        if let Some(grace_ms) = grace_ms {
            let history = table.history_retention_ms();
            assert!(
                history.is_some(),
                "KTable must be versioned to use a grace period in a stream table join."
            );
            assert!(
                history >= Some(grace_ms),
                "History retention must be at least grace period (the table keeps {} ms, the grace is {grace_ms} ms).",
                history.unwrap_or_default()
            );
        }
        // As `KStreamImpl.join(KTable)`: a re-keyed stream is repartitioned first, through a
        // topic named after the join's given name or else after the stream's last node.
        let given = self.next_name.take();
        let repartition = given.clone().unwrap_or_else(|| self.node_name());
        let builder = self.builder.clone();
        let stream = self.co_partitioned(&repartition, left);
        let name = builder.graph.borrow_mut().name_or(given, prefix);
        let (store, getter) = table.materialize();
        let buffer = grace_ms.map(|grace_ms| (format!("{name}-Buffer"), grace_ms));
        // The buffer first: Kafka's `KStreamKTableJoin` supplies it with the processor (its
        // `stores()`), then the join is connected to the table's store (describe's order).
        let stores = buffer.iter().map(|(b, _)| b.clone()).chain(std::iter::once(store)).collect();
        stream.processor(name, stores, move |tb, next| StreamTableJoinProc {
            buffer: buffer
                .as_ref()
                .map(|(name, grace_ms)| tb.time_ordered_buffer::<K::Codec, V::Codec>(name, *grace_ms)),
            table: getter(tb),
            nulls: LookupNulls {
                key: <K::Codec as Codec>::is_null,
                value: <V::Codec as Codec>::is_null,
                join_key: <K::Codec as Codec>::is_null,
                left,
                dropped: tb.dropped.clone(),
            },
            joiner: joiner.clone(),
            next,
        })
    }

    /// Joins each record with the table's current value of its key; records without one are
    /// dropped (Kafka's stream-table `join`).
    pub fn join<VT: Data, R: Data, T: Tombstones, F>(
        self,
        table: KTable<K, VT, T>,
        joiner: F,
    ) -> KStream<K, R>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        F: Fn(V, VT) -> R + Send + Sync + 'static,
    {
        self.join_table(table, ("KSTREAM-JOIN-", false), None, Arc::new(move |v, t| t.map(|t| joiner(v, t))))
    }

    /// [`Self::join`] with a grace period (Kafka's `Joined.withGracePeriod`, KIP-923): each
    /// record waits until stream time has passed its timestamp by `grace`, then joins the
    /// versioned table's row *as of its timestamp*, so out-of-order table updates within the
    /// grace are seen. Records leave in timestamp order; one later than the grace joins at
    /// once. The waiting records are a store of their own (`<join>-Buffer`), changelogged.
    ///
    /// # Panics
    /// If the table is not versioned ([`StreamsBuilder::versioned_table`](crate::StreamsBuilder::versioned_table)),
    /// or keeps less history than `grace`, as Kafka refuses both.
    pub fn join_with_grace<VT: Data, R: Data, T: Tombstones, F>(
        self,
        table: KTable<K, VT, T>,
        grace: std::time::Duration,
        joiner: F,
    ) -> KStream<K, R>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        F: Fn(V, VT) -> R + Send + Sync + 'static,
    {
        let joiner = Arc::new(move |v, t: Option<VT>| t.map(|t| joiner(v, t)));
        self.join_table(table, ("KSTREAM-JOIN-", false), Some(grace), joiner)
    }

    /// [`Self::left_join`] with a grace period, as [`Self::join_with_grace`].
    ///
    /// # Panics
    /// As [`Self::join_with_grace`].
    pub fn left_join_with_grace<VT: Data, R: Data, T: Tombstones, F>(
        self,
        table: KTable<K, VT, T>,
        grace: std::time::Duration,
        joiner: F,
    ) -> KStream<K, R>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        F: Fn(V, Option<VT>) -> R + Send + Sync + 'static,
    {
        self.join_table(
            table,
            ("KSTREAM-LEFTJOIN-", true),
            Some(grace),
            Arc::new(move |v, t| Some(joiner(v, t))),
        )
    }

    /// Joins each record with the table's current value of its key, or `None` (Kafka's
    /// stream-table `leftJoin`).
    pub fn left_join<VT: Data, R: Data, T: Tombstones, F>(
        self,
        table: KTable<K, VT, T>,
        joiner: F,
    ) -> KStream<K, R>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        F: Fn(V, Option<VT>) -> R + Send + Sync + 'static,
    {
        self.join_table(table, ("KSTREAM-LEFTJOIN-", true), None, Arc::new(move |v, t| Some(joiner(v, t))))
    }

    fn join_global_with<GK: StoreKey, GV: Data, R: Data>(
        mut self,
        global: GlobalKTable<GK, GV>,
        (prefix, left): (&str, bool),
        key_of: Arc<dyn Fn(&K, &V) -> GK + Send + Sync>,
        joiner: Arc<dyn Fn(V, Option<GV>) -> Option<R> + Send + Sync>,
    ) -> KStream<K, R>
    where
        K: DefaultCodec,
        V: DefaultCodec,
    {
        let name = {
            let given = self.next_name.take();
            let mut g = self.builder.graph.borrow_mut();
            // A left join keeps null keys (Kafka labels it `NULL_KEY_RELAXED_JOIN` too).
            if left {
                g.keep_null_keys_above(self.last);
            }
            g.name_or(given, prefix)
        };
        let (store, join_key_is_null) = (global.store, global.key_is_null);
        self.processor(name, vec![], move |tb, next| GlobalJoinProc {
            store: tb.global_store::<GK, GV>(&store),
            nulls: LookupNulls {
                key: <K::Codec as Codec>::is_null,
                value: <V::Codec as Codec>::is_null,
                join_key: join_key_is_null,
                left,
                dropped: tb.dropped.clone(),
            },
            key_of: key_of.clone(),
            joiner: joiner.clone(),
            next,
        })
    }

    /// Joins each record with the global table's value under `key_of(&key, &value)`;
    /// records without one are dropped. No co-partitioning is needed.
    pub fn join_global<GK: StoreKey, GV: Data, R: Data, KF, F>(
        self,
        global: GlobalKTable<GK, GV>,
        key_of: KF,
        joiner: F,
    ) -> KStream<K, R>
    where
        K: DefaultCodec,
        V: DefaultCodec,
        KF: Fn(&K, &V) -> GK + Send + Sync + 'static,
        F: Fn(V, GV) -> R + Send + Sync + 'static,
    {
        // Kafka names global-table joins `KSTREAM-LEFTJOIN-` whether inner or left.
        self.join_global_with(
            global,
            ("KSTREAM-LEFTJOIN-", false),
            Arc::new(key_of),
            Arc::new(move |v, g| g.map(|g| joiner(v, g))),
        )
    }

    /// As [`Self::join_global`], with `None` where the global table has no value.
    pub fn left_join_global<GK: StoreKey, GV: Data, R: Data, KF, F>(
        self,
        global: GlobalKTable<GK, GV>,
        key_of: KF,
        joiner: F,
    ) -> KStream<K, R>
    where
        K: DefaultCodec,
        V: DefaultCodec,
        KF: Fn(&K, &V) -> GK + Send + Sync + 'static,
        F: Fn(V, Option<GV>) -> R + Send + Sync + 'static,
    {
        self.join_global_with(
            global,
            ("KSTREAM-LEFTJOIN-", true),
            Arc::new(key_of),
            Arc::new(move |v, g| Some(joiner(v, g))),
        )
    }

    fn join_stream<VO: Data, S2, R: Data>(
        self,
        other: KStream<K, VO, S2>,
        windows: JoinWindows,
        (this_prefix, other_prefix): (&str, &str),
        (emit_left, emit_right): (bool, bool),
        joiner: Joiner<V, VO, R>,
    ) -> KStream<K, R>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        VO: DefaultCodec,
        S2: StageOf<K, VO>,
    {
        let builder = self.builder.clone();
        // As `KStreamImpl.doJoin`: re-keyed sides are repartitioned first, through topics
        // named after each side's last node.
        let (this_repartition, other_repartition) = (self.node_name(), other.node_name());
        let relaxed = emit_left || emit_right;
        let left = self.co_partitioned(&this_repartition, relaxed);
        let right = other.co_partitioned(&other_repartition, relaxed);
        let (this_windowed, other_windowed, this_name, other_name, merge_name) = {
            let mut g = builder.graph.borrow_mut();
            (
                g.new_name("KSTREAM-WINDOWED-"),
                g.new_name("KSTREAM-WINDOWED-"),
                g.new_name(this_prefix),
                g.new_name(other_prefix),
                g.new_name("KSTREAM-MERGE-"),
            )
        };
        let (this_store, other_store) = (format!("{this_name}-store"), format!("{other_name}-store"));
        let (merge_node, outlet) = {
            let mut g = builder.graph.borrow_mut();
            let buffer =
                crate::graph::ChangelogKind::WindowedDuplicates { retention_ms: windows.retention_ms() };
            g.set_changelog_kind(&this_store, buffer);
            g.set_changelog_kind(&other_store, buffer);
            let p = |stores: &str| NodeKind::Processor { stores: vec![stores.to_string()] };
            // Left and outer joins list Kafka's shared outer store too, named after the left
            // join node (`KSTREAM-OUTERSHARED-<n>-store`); here its records wait in the two
            // buffers, flagged in their changelogs.
            let shared = emit_left.then(|| {
                let digits = this_name.rsplit('-').next().unwrap_or_default();
                format!("KSTREAM-OUTERSHARED-{digits}-store")
            });
            let joining = |store: &str| NodeKind::Processor {
                stores: std::iter::once(store.to_string()).chain(shared.clone()).collect(),
            };
            let lw = g.add_node(this_windowed, p(&this_store), &[left.last]);
            let rw = g.add_node(other_windowed, p(&other_store), &[right.last]);
            let lj = g.add_node(this_name.clone(), joining(&other_store), &[lw]);
            let rj = g.add_node(other_name, joining(&this_store), &[rw]);
            let merge = g.add_node(merge_name, NodeKind::Processor { stores: vec![] }, &[lj, rj]);
            (merge, g.new_outlet::<K, R>(true))
        };
        let state_name = this_name;
        let self_joined =
            self_join_factory::<K, V, VO, R>(&joiner, windows, &this_store, &state_name, outlet);
        let side_state = state_name.clone();
        let side = move |side: Side, store: String| {
            let state_name = side_state.clone();
            let (joiner, state_name) = (joiner.clone(), state_name.clone());
            move |tb: &mut TaskBuild<'_>| {
                let dropped = tb.dropped.clone();
                let codecs =
                    (StoreCodecs::of::<K::Codec, V::Codec>(), StoreCodecs::of::<K::Codec, VO::Codec>());
                let state = tb.shared(&state_name, || {
                    JoinState::new(windows, (emit_left, emit_right), dropped, codecs)
                });
                let buffer = state.clone();
                tb.stores.get_or_create(&store, || JoinBufferStore {
                    name: store.clone(),
                    side,
                    state: buffer,
                });
                JoinSideProc { side, state, joiner: joiner.clone(), next: tb.downstream::<K, R>(outlet) }
            }
        };
        let (make_left, make_right) = (side(Side::Left, this_store.clone()), side(Side::Right, other_store));
        // One stream on both sides: under `single.store.self.join` the optimization pass sets
        // `flag`, and the first side runs Kafka's self-join while the second does nothing.
        match self_joined.filter(|_| left.last == right.last) {
            Some(self_join) => {
                let nodes = builder.graph.borrow().nodes[merge_node].predecessors.clone();
                let windowed: Vec<usize> =
                    nodes.iter().map(|&n| builder.graph.borrow().nodes[n].predecessors[0]).collect();
                builder.graph.borrow_mut().optimizable.self_joins.push(optimize::SelfJoin {
                    windowed: [windowed[0], windowed[1]],
                    sides: [nodes[0], nodes[1]],
                    merge: merge_node,
                    store: this_store,
                });
                left.end_with(move |tb| -> Box<dyn Processor<K, V>> {
                    if tb.decided().self_joins.contains(&merge_node) {
                        self_join(tb)
                    } else {
                        Box::new(LeftInput(make_left(tb)))
                    }
                });
                right.end_with(move |tb| -> Box<dyn Processor<K, VO>> {
                    if tb.decided().self_joins.contains(&merge_node) {
                        Box::new(crate::ops::Discard)
                    } else {
                        Box::new(RightInput(make_right(tb)))
                    }
                });
            }
            None => {
                left.end_with(move |tb| LeftInput(make_left(tb)));
                right.end_with(move |tb| RightInput(make_right(tb)));
            }
        }
        KStream::new(builder, outlet, merge_node, Nop::new())
    }

    /// Joins records of both streams with the same key within `windows` (Kafka's windowed
    /// `join`).
    pub fn join_windowed<VO: Data, S2, R: Data, F>(
        self,
        other: KStream<K, VO, S2>,
        windows: JoinWindows,
        joiner: F,
    ) -> KStream<K, R>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        VO: DefaultCodec,
        S2: StageOf<K, VO>,
        F: Fn(V, VO) -> R + Send + Sync + 'static,
    {
        let joiner: Joiner<V, VO, R> = Arc::new(move |l, r| match (l, r) {
            (Some(l), Some(r)) => joiner(l, r),
            _ => unreachable!("an inner join emits matched pairs only"),
        });
        self.join_stream(other, windows, ("KSTREAM-JOINTHIS-", "KSTREAM-JOINOTHER-"), (false, false), joiner)
    }

    /// As [`Self::join_windowed`], and each left record without a partner is joined with
    /// `None` once its window has closed (Kafka's windowed `leftJoin`, KIP-633).
    pub fn left_join_windowed<VO: Data, S2, R: Data, F>(
        self,
        other: KStream<K, VO, S2>,
        windows: JoinWindows,
        joiner: F,
    ) -> KStream<K, R>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        VO: DefaultCodec,
        S2: StageOf<K, VO>,
        F: Fn(V, Option<VO>) -> R + Send + Sync + 'static,
    {
        let joiner: Joiner<V, VO, R> =
            Arc::new(move |l, r| joiner(l.expect("a left join emits left records"), r));
        self.join_stream(other, windows, ("KSTREAM-JOINTHIS-", "KSTREAM-OUTEROTHER-"), (true, false), joiner)
    }

    /// As [`Self::join_windowed`], and records of either side without a partner are joined
    /// with `None` once their window has closed (Kafka's windowed `outerJoin`).
    pub fn outer_join_windowed<VO: Data, S2, R: Data, F>(
        self,
        other: KStream<K, VO, S2>,
        windows: JoinWindows,
        joiner: F,
    ) -> KStream<K, R>
    where
        K: DefaultCodec + StoreKey,
        V: DefaultCodec,
        VO: DefaultCodec,
        S2: StageOf<K, VO>,
        F: Fn(Option<V>, Option<VO>) -> R + Send + Sync + 'static,
    {
        let joiner: Joiner<V, VO, R> = Arc::new(joiner);
        self.join_stream(other, windows, ("KSTREAM-OUTERTHIS-", "KSTREAM-OUTEROTHER-"), (true, true), joiner)
    }

    /// This stream in the form every source returns, usable by several pipelines.
    pub fn share(self) -> KStream<K, V> {
        if std::any::TypeId::of::<S>() == std::any::TypeId::of::<Nop<K, V>>() {
            // Nothing to end: the same outlet, without a pass-through child in it.
            return KStream {
                builder: self.builder,
                outlet: self.outlet,
                last: self.last,
                stage: Nop::new(),
                next_name: self.next_name,
                repartition_required: self.repartition_required,
                first: None,
                since: self.since,
                _types: PhantomData,
            };
        }
        let builder = self.builder.clone();
        let last = self.last;
        let required = self.repartition_required;
        let outlet = self.into_outlet(false, None);
        KStream::new(builder, outlet, last, Nop::new()).with_repartition_required(required)
    }
}

/// The nodes and run-time pieces of one stream repartition.
struct RepartitionParts {
    /// Its first node: the null-key filter, or the sink (a table's repartition).
    first: usize,
    sink: usize,
    source: usize,
    /// Where the source's downstream attaches.
    outlet: OutletId,
}

/// Adds a repartition through `topic` after node `parent`: its nodes (a filter if named),
/// the source reading the topic back, the topic among the internal ones.
fn add_repartition<KC: Codec, VC: Codec>(
    g: &mut GraphBuilder,
    parent: usize,
    topic: &str,
    (sink_name, filter_name, source_name): (String, Option<String>, String),
    partitions: Option<u32>,
) -> RepartitionParts
where
    KC::Value: Data,
    VC::Value: Data,
{
    let first = match filter_name {
        Some(f) => g.add_node(f, NodeKind::Processor { stores: vec![] }, &[parent]),
        None => parent,
    };
    let sink = g.add_node(sink_name, NodeKind::Sink(SinkTopic::Name(topic.to_string())), &[first]);
    let first = if first == parent { sink } else { first };
    let topics = SourceTopics::Names(vec![topic.to_string()]);
    let source = g.add_node(source_name, NodeKind::Source(topics.clone()), &[]);
    let outlet = g.new_outlet::<KC::Value, VC::Value>(false);
    let factory: crate::graph::SourceFactory =
        Arc::new(move |tb| Box::new(SourceProc::<KC, VC>::new(tb.downstream(outlet), tb.dropped.clone())));
    g.sources.push(SourceSpec { node: source, topics, factory });
    g.internal_topics.push(topic.to_string());
    if let Some(n) = partitions {
        g.repartition_partitions.push((topic.to_string(), n));
    }
    // Null keys are dropped unless a left or outer join downstream keeps them.
    g.repartition_links.push((source, sink));
    RepartitionParts { first, sink, source, outlet }
}

/// How a task builds the sink of a repartition.
fn repartition_sink<KC: Codec, VC: Codec>(
    topic: &str,
    parts: &RepartitionParts,
) -> impl Fn(&mut TaskBuild<'_>) -> RepartitionSinkProc<KC, VC> + Send + Sync + 'static {
    let (topic, sink) = (topic.to_string(), parts.sink);
    move |tb| RepartitionSinkProc::<KC, VC> {
        topic: tb.topic(&topic),
        keep_null_keys: tb.decided().null_key_repartitions.contains(&sink),
        e2e_slot: tb.e2e_slot(sink),
        _codecs: PhantomData,
    }
}

/// The one repartition that replaces those of a key change (Kafka's
/// `InternalStreamsBuilder.createRepartitionNode`): through the first one's topic, with the
/// codecs of that one, after the key-changing node; the chains that led to each repartition
/// move behind it.
fn merged_repartition<KC: Codec, VC: Codec>(g: &mut GraphBuilder, m: &optimize::Merged) -> [usize; 3]
where
    KC::Value: Data,
    VC::Value: Data,
{
    // Kafka draws generated names, then names the nodes after the topic, which never looks
    // generated (it ends in `-repartition`).
    for _sink_filter_source in 0..3 {
        g.skip_index();
    }
    let t = &m.topic;
    let names = (format!("{t}-sink"), Some(format!("{t}-filter")), format!("{t}-source"));
    let parts = add_repartition::<KC, VC>(g, m.parent, t, names, None);
    if m.keep_null_keys {
        g.decided.null_key_repartitions.push(parts.sink);
    }
    g.move_children::<KC::Value, VC::Value>(m.outlet, parts.outlet, &m.moved);
    let sink = repartition_sink::<KC, VC>(t, &parts);
    let child: ChildFactory<KC::Value, VC::Value> = Arc::new(move |tb| Box::new(sink(tb)));
    g.attach(m.outlet, Some(parts.first), child);
    [parts.first, parts.sink, parts.source]
}

/// Builds, for a task, the input processor of a self-join.
type SelfJoinFactory<K, V> = Arc<dyn Fn(&mut TaskBuild<'_>) -> Box<dyn Processor<K, V>> + Send + Sync>;

/// How a task builds Kafka's self-join (`KStreamKStreamSelfJoin`) of a join whose sides have
/// the same value type: over the first side's buffer, under the join's state name. `None`
/// when the types differ (then the sides cannot be one stream).
fn self_join_factory<K, V, VO, R>(
    joiner: &Joiner<V, VO, R>,
    windows: JoinWindows,
    store: &str,
    state_name: &str,
    outlet: OutletId,
) -> Option<SelfJoinFactory<K, V>>
where
    K: DefaultCodec + StoreKey,
    V: DefaultCodec,
    VO: Data,
    R: Data,
{
    let joiner: Joiner<V, V, R> = (joiner as &dyn std::any::Any).downcast_ref::<Joiner<V, V, R>>()?.clone();
    let (store, state_name) = (store.to_string(), format!("{state_name} (self-join)"));
    Some(Arc::new(move |tb| {
        let dropped = tb.dropped.clone();
        let codecs = (StoreCodecs::of::<K::Codec, V::Codec>(), StoreCodecs::of::<K::Codec, V::Codec>());
        let state = tb.shared(&state_name, || JoinState::new(windows, (false, false), dropped, codecs));
        let buffer = state.clone();
        tb.stores.get_or_create(&store, || JoinBufferStore {
            name: store.clone(),
            side: Side::Left,
            state: buffer,
        });
        let next = tb.downstream::<K, R>(outlet);
        Box::new(SelfJoinInput(JoinSideProc { side: Side::Left, state, joiner: joiner.clone(), next }))
    }))
}
