//! `KStream<K, V>`: a record stream. Each method adds one operator node; stateless
//! operators are fused into one monomorphized processor until the stream ends, branches or
//! merges.

use std::marker::PhantomData;
use std::sync::Arc;

use super::{BranchedKStream, StreamsBuilder};
use crate::codec::{CodecFor, DefaultCodec};
use crate::graph::{ChildFactory, Data, NodeKind, OutletId, SinkTopic, TaskBuild};
use crate::ops::filter::Filter;
use crate::ops::flat_map::FlatMap;
use crate::ops::flat_map_values::FlatMapValues;
use crate::ops::foreach::ForeachProc;
use crate::ops::map::Map;
use crate::ops::map_values::MapValues;
use crate::ops::peek::Peek;
use crate::ops::select_key::SelectKey;
use crate::ops::sink::{SinkProc, SinkTarget};
use crate::ops::{Nop, Processor, Stage, Then};

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
    _types: PhantomData<fn() -> (K, V)>,
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
            _types: PhantomData,
        }
    }
}

impl<K: Data, V: Data> KStream<K, V> {
    pub(crate) fn new(builder: StreamsBuilder, outlet: OutletId, last: usize, stage: Nop<K, V>) -> Self {
        KStream { builder, outlet, last, stage, next_name: None, _types: PhantomData }
    }
}

impl<K, V, S> KStream<K, V, S>
where
    K: Data,
    V: Data,
    S: Stage<KOut = K, VOut = V>,
    S::KIn: Data,
    S::VIn: Data,
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

    fn then<T>(mut self, prefix: &str, stage: T) -> KStream<T::KOut, T::VOut, Then<S, T>>
    where
        T: Stage<KIn = K, VIn = V>,
    {
        let node = self.add_node(prefix, NodeKind::Processor { stores: vec![] }, &[self.last]);
        KStream {
            builder: self.builder,
            outlet: self.outlet,
            last: node,
            stage: Then(self.stage, stage),
            next_name: None,
            _types: PhantomData,
        }
    }

    /// Ends the chain in front of the processor `end` builds for each task.
    fn end_with<P, E>(self, end: E)
    where
        P: Processor<K, V> + 'static,
        E: Fn(&mut TaskBuild<'_>) -> P + Send + Sync + 'static,
    {
        let stage = self.stage;
        let child: ChildFactory<S::KIn, S::VIn> = Arc::new(move |tb| Box::new(stage.wrap(end(tb))));
        self.builder.graph.borrow_mut().attach(self.outlet, child);
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
        self.then("KSTREAM-FILTER-", Filter::new(predicate, false))
    }

    /// Drops the records for which `predicate(&key, &value)` is true.
    pub fn filter_not<P>(self, predicate: P) -> KStream<K, V, Then<S, Filter<K, V, P>>>
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        self.then("KSTREAM-FILTER-", Filter::new(predicate, true))
    }

    /// A new key and value for each record: `f(key, value) -> (key, value)`.
    pub fn map<K2: Data, V2: Data, F>(self, f: F) -> KStream<K2, V2, Then<S, Map<K, V, F>>>
    where
        F: Fn(K, V) -> (K2, V2) + Send + Sync + 'static,
    {
        self.then("KSTREAM-MAP-", Map::new(f))
    }

    /// A new value for each record, key unchanged: `f(value) -> value`.
    pub fn map_values<U: Data, F>(self, f: F) -> KStream<K, U, Then<S, MapValues<K, V, F>>>
    where
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        self.then("KSTREAM-MAPVALUES-", MapValues::new(f))
    }

    /// Zero or more records for each record: `f(key, value) -> iterator of (key, value)`.
    pub fn flat_map<K2: Data, V2: Data, I, F>(self, f: F) -> KStream<K2, V2, Then<S, FlatMap<K, V, F>>>
    where
        F: Fn(K, V) -> I + Send + Sync + 'static,
        I: IntoIterator<Item = (K2, V2)>,
    {
        self.then("KSTREAM-FLATMAP-", FlatMap::new(f))
    }

    /// Zero or more values for each record, each with its key: `f(value) -> iterator`.
    pub fn flat_map_values<U: Data, I, F>(self, f: F) -> KStream<K, U, Then<S, FlatMapValues<K, V, F>>>
    where
        F: Fn(V) -> I + Send + Sync + 'static,
        I: IntoIterator<Item = U>,
    {
        self.then("KSTREAM-FLATMAPVALUES-", FlatMapValues::new(f))
    }

    /// A new key for each record: `f(&key, &value) -> key`.
    pub fn select_key<K2: Data, F>(self, f: F) -> KStream<K2, V, Then<S, SelectKey<K, V, F>>>
    where
        F: Fn(&K, &V) -> K2 + Send + Sync + 'static,
    {
        self.then("KSTREAM-KEY-SELECT-", SelectKey::new(f))
    }

    /// Calls `f(&key, &value)` for each record and passes it on unchanged.
    pub fn peek<F>(self, f: F) -> KStream<K, V, Then<S, Peek<K, V, F>>>
    where
        F: Fn(&K, &V) + Send + Sync + 'static,
    {
        self.then("KSTREAM-PEEK-", Peek::new(f))
    }

    /// Calls `f(&key, &value)` for each record; the stream ends here.
    pub fn foreach<F>(mut self, f: F)
    where
        F: Fn(&K, &V) + Send + Sync + 'static,
    {
        self.add_node("KSTREAM-FOREACH-", NodeKind::Processor { stores: vec![] }, &[self.last]);
        let f = Arc::new(f);
        self.end_with(move |_| ForeachProc { f: f.clone() });
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
        let topic = match &target {
            SinkTarget::Topic(t) => SinkTopic::Name(t.clone()),
            SinkTarget::Extract(_) => SinkTopic::Extractor(std::any::type_name::<F>().to_string()),
        };
        self.add_node("KSTREAM-SINK-", NodeKind::Sink(topic), &[self.last]);
        self.end_with(move |_| SinkProc::<KC, VC, F> { target: target.clone(), _codecs: PhantomData });
    }

    /// One stream of the records of both streams.
    pub fn merge<S2>(mut self, other: KStream<K, V, S2>) -> KStream<K, V>
    where
        S2: Stage<KOut = K, VOut = V>,
        S2::KIn: Data,
        S2::VIn: Data,
    {
        let node =
            self.add_node("KSTREAM-MERGE-", NodeKind::Processor { stores: vec![] }, &[self.last, other.last]);
        let builder = self.builder.clone();
        let outlet = self.into_outlet(true, None);
        other.into_outlet(true, Some(outlet));
        KStream::new(builder, outlet, node, Nop::new())
    }

    /// Splits the stream into named branches: each record goes to the first branch whose
    /// predicate accepts it (Kafka's `split()`).
    pub fn split(mut self) -> BranchedKStream<K, V> {
        let name = self.next_name.take();
        let builder = self.builder.clone();
        let parent = self.last;
        let input = self.into_outlet(false, None);
        BranchedKStream::new(builder, input, parent, name)
    }

    /// This stream in the form every source returns, usable by several pipelines.
    pub fn share(self) -> KStream<K, V> {
        let builder = self.builder.clone();
        let last = self.last;
        let outlet = self.into_outlet(false, None);
        KStream::new(builder, outlet, last, Nop::new())
    }
}
