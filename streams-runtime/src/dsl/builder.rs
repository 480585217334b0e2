//! `StreamsBuilder` (sources) and `Topology` (the finished, shareable graph).

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use super::ktable::{GetterFactory, Lineage};
use super::{KStream, KTable, MayDelete};
use crate::codec::Codec;
use crate::graph::optimize::Optimizations;
use crate::graph::GlobalSpec;
use crate::graph::{
    Graph, GraphBuilder, NodeKind, SourceSpec, SourceTopics, TopicFormat, TopologyDescription,
};
use crate::ops::global_table::{GlobalStores, GlobalTableUpdater};
use crate::ops::source::SourceProc;
use crate::ops::table_source::TableSourceProc;
use crate::ops::Nop;
use crate::state::KeyValueStore;
use crate::state::StoreKey;

/// Starts topologies: each source method adds a source node and returns its stream.
///
/// ```
/// use streams_runtime::prelude::*;
///
/// let builder = StreamsBuilder::new();
/// builder
///     .stream::<String, String>("input")
///     .filter(|_, v| !v.is_empty())
///     .to("output");
/// let topology = builder.build();
/// assert_eq!(topology.describe().subtopology_count(), 1);
/// ```
#[derive(Clone, Default)]
pub struct StreamsBuilder {
    pub(crate) graph: Rc<RefCell<GraphBuilder>>,
}

impl StreamsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stream read from `topic`, decoded with key codec `KC` and value codec `VC`.
    pub fn stream<KC: Codec, VC: Codec>(&self, topic: &str) -> KStream<KC::Value, VC::Value> {
        self.source::<KC, VC>(SourceTopics::Names(vec![topic.to_string()]), SourceName::Generated)
    }

    /// A stream read from several topics with the same codecs.
    pub fn stream_topics<KC: Codec, VC: Codec>(&self, topics: &[&str]) -> KStream<KC::Value, VC::Value> {
        let topics = topics.iter().map(|t| t.to_string()).collect();
        self.source::<KC, VC>(SourceTopics::Names(topics), SourceName::Generated)
    }

    /// A stream read from every topic whose whole name matches the regular expression
    /// `pattern` (Kafka's `Pattern` subscription).
    ///
    /// # Panics
    /// If `pattern` is not a valid regular expression.
    pub fn stream_pattern<KC: Codec, VC: Codec>(&self, pattern: &str) -> KStream<KC::Value, VC::Value> {
        Self::check_pattern(pattern);
        self.source::<KC, VC>(SourceTopics::Pattern(pattern.to_string()), SourceName::Generated)
    }

    /// The next source is named `name` instead of `KSTREAM-SOURCE-…` (Kafka's
    /// `Consumed.as(name)`): `builder.named("read-trades").stream::<K, V>("trades")`.
    pub fn named(&self, name: &str) -> NamedSource<'_> {
        NamedSource { builder: self, name: name.to_string() }
    }

    /// A table read from `topic`: each record upserts its key, a null value deletes it
    /// (Kafka's `builder.table`).
    pub fn table<KC, VC>(&self, topic: &str) -> KTable<KC::Value, VC::Value, MayDelete>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let (store, source_name, table_name) = {
            let mut g = self.graph.borrow_mut();
            let store = g.new_name(&format!("{topic}-STATE-STORE-"));
            g.table_sources.push((store.clone(), topic.to_string()));
            (store, g.new_name("KSTREAM-SOURCE-"), g.new_name("KTABLE-SOURCE-"))
        };
        let topics = SourceTopics::Names(vec![topic.to_string()]);
        let stream = self.source::<KC, Option<VC>>(topics, SourceName::Drawn(source_name));
        let lineage = Lineage::source(self);
        let id = lineage.id();
        let store_name = store.clone();
        let table = stream.processor(table_name, vec![], move |tb, next| {
            TableSourceProc::new::<KC, VC>(tb, id, &store_name, next)
        });
        let node = table.last_node();
        let store_name = store.clone();
        let getter: GetterFactory<KC::Value, VC::Value> = Arc::new(move |tb| {
            let store = tb.key_value_store::<KC, VC>(&store_name);
            Box::new(move |k, _| store.get(k))
        });
        KTable::new(table, lineage, lineage, Some((node, store))).with_getter(getter)
    }

    /// A table read from `topic` into the versioned store `store`, which keeps each key's
    /// values over the last `history_retention` of stream time (Kafka's `builder.table(topic,
    /// Materialized.as(Stores.persistentVersionedKeyValueStore(store, historyRetention)))`,
    /// KIP-889 and KIP-914):
    /// - an update older than the store's stream time minus the history retention is dropped;
    /// - one older than its key's latest value is stored in the history and flows on marked
    ///   not the latest ([`Change::is_latest`](crate::record::Change)): `to_stream`, filters
    ///   and mappings pass it on; table-table joins, foreign-key joins and `group_by` skip it
    ///   (joins count it as dropped);
    /// - a stream-table join looks the table up *as of the stream record's timestamp*;
    /// - the store is never cached, and its changelog holds every version (compacted no
    ///   sooner than the history retention plus a day).
    ///
    /// The store is kept in memory and restored from its changelog.
    pub fn versioned_table<KC, VC>(
        &self,
        topic: &str,
        store: &str,
        history_retention: std::time::Duration,
    ) -> KTable<KC::Value, VC::Value, MayDelete>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let history_retention_ms = i64::try_from(history_retention.as_millis()).unwrap_or(i64::MAX);
        let (source_name, table_name) = {
            let mut g = self.graph.borrow_mut();
            // A named store takes no number (Kafka's `MaterializedInternal`).
            g.table_sources.push((store.to_string(), topic.to_string()));
            g.set_changelog_kind(store, crate::graph::ChangelogKind::Versioned { history_retention_ms });
            (g.new_name("KSTREAM-SOURCE-"), g.new_name("KTABLE-SOURCE-"))
        };
        let topics = SourceTopics::Names(vec![topic.to_string()]);
        let stream = self.source::<KC, Option<VC>>(topics, SourceName::Drawn(source_name));
        let lineage = Lineage::versioned_source(self);
        let id = lineage.id();
        let store_name = store.to_string();
        let table = stream.processor(table_name, vec![store.to_string()], move |tb, next| {
            TableSourceProc::new::<KC, VC>(tb, id, &store_name, next)
        });
        let node = table.last_node();
        let store_name = store.to_string();
        // Kafka's `KTableSourceValueGetterSupplier` over a versioned store: as of a time when
        // asked (a stream-table join), else the latest.
        let getter: GetterFactory<KC::Value, VC::Value> = Arc::new(move |tb| {
            let store = tb.versioned_store::<KC, VC>(&store_name);
            Box::new(move |k, at| match at {
                Some(at) => store.get_as_of(k, at),
                None => store.get(k),
            })
        });
        KTable::new(table, lineage, lineage, Some((node, store.to_string()))).with_getter(getter)
    }

    /// A global table read from every partition of `topic`, shared by all tasks and joined
    /// from streams through a key-extracting function (Kafka's `globalTable`).
    pub fn global_table<KC, VC>(&self, topic: &str) -> GlobalKTable<KC::Value, VC::Value>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let mut g = self.graph.borrow_mut();
        let store = g.new_name(&format!("{topic}-STATE-STORE-"));
        let (source_name, table_name) = (g.new_name("KSTREAM-SOURCE-"), g.new_name("KTABLE-SOURCE-"));
        g.add_format(topic, TopicFormat::of::<KC, Option<VC>>());
        let source =
            g.add_node(source_name, NodeKind::Source(SourceTopics::Names(vec![topic.to_string()])), &[]);
        g.add_node(table_name, NodeKind::Processor { stores: vec![store.clone()] }, &[source]);
        let (topic_name, store_name) = (topic.to_string(), store.clone());
        let install: Arc<dyn Fn(&mut GlobalStores) + Send + Sync> = Arc::new(move |globals| {
            globals.add(
                &topic_name,
                &store_name,
                || KeyValueStore::new::<KC, VC>(&store_name),
                |store| Arc::new(GlobalTableUpdater::<KC, VC> { store, _codecs: PhantomData }),
            )
        });
        g.globals.push(GlobalSpec { source, topic: topic.to_string(), install });
        GlobalKTable { store, key_is_null: KC::is_null, _types: PhantomData }
    }

    fn check_pattern(pattern: &str) {
        if let Err(e) = regex::Regex::new(pattern) {
            panic!("`stream_pattern`: invalid pattern `{pattern}`: {e}");
        }
    }

    fn source<KC: Codec, VC: Codec>(
        &self,
        topics: SourceTopics,
        name: SourceName,
    ) -> KStream<KC::Value, VC::Value> {
        let mut g = self.graph.borrow_mut();
        if let SourceTopics::Names(names) = &topics {
            for t in names {
                g.add_format(t, TopicFormat::of::<KC, VC>());
            }
        }
        let name = match name {
            SourceName::Generated => g.new_name("KSTREAM-SOURCE-"),
            SourceName::Drawn(name) => name,
            // Kafka's `NamedInternal.orElseGenerateWithPrefix`: a counter value is drawn anyway.
            SourceName::Given(name) => g.name_or(Some(name), "KSTREAM-SOURCE-"),
        };
        let node = g.add_node(name, NodeKind::Source(topics.clone()), &[]);
        let outlet = g.new_outlet::<KC::Value, VC::Value>(false);
        let factory: crate::graph::SourceFactory = Arc::new(move |tb| {
            Box::new(SourceProc::<KC, VC>::new(tb.downstream(outlet), tb.dropped.clone()))
        });
        g.sources.push(SourceSpec { node, topics, factory });
        drop(g);
        KStream::new(self.clone(), outlet, node, Nop::new())
    }

    /// Finishes the topology. Handles still alive afterwards no longer affect it.
    ///
    /// # Panics
    /// If the topology is not valid (see [`Self::build_with`]).
    pub fn build(self) -> Topology {
        self.build_optimized(Optimizations::NONE)
    }

    /// The topology, optimized as `config`'s `topology.optimization` says (Kafka's
    /// `StreamsBuilder.build(Properties)`): `all` merges the repartition topics after each key
    /// change into one and restores tables from their source topics.
    ///
    /// ```
    /// use streams_runtime::prelude::*;
    /// use streams_runtime::StreamsConfig;
    ///
    /// let builder = StreamsBuilder::new();
    /// let rekeyed = builder.stream::<String, i64>("in").select_key(|_, v| v % 3);
    /// rekeyed.clone().group_by_key().count().to_stream().to("counts");
    /// rekeyed.group_by_key().reduce(|a, b| a.max(b)).to_stream().to("maxima");
    /// let mut config = StreamsConfig::new("app");
    /// config.set("topology.optimization", "all");
    /// let topology = builder.build_with(&config).unwrap();
    /// // One repartition topic instead of two: two sub-topologies instead of three.
    /// assert_eq!(topology.describe().subtopology_count(), 2);
    /// ```
    ///
    /// # Errors
    /// If `topology.optimization` is not a value Kafka accepts, or the topology is not valid
    /// (as Kafka's `build` throws a `TopologyException`: a sub-topology reading repartition
    /// topics of different fixed partition counts).
    pub fn build_with(
        self,
        config: &crate::config::StreamsConfig,
    ) -> Result<Topology, crate::error::StreamsError> {
        let optimizations = config.topology_optimization()?;
        let graph = std::mem::take(&mut *self.graph.borrow_mut());
        graph.finish(optimizations)
    }

    /// The topology with the optimizations `optimizations`.
    ///
    /// # Panics
    /// If the topology is not valid (see [`Self::build_with`]).
    pub fn build_optimized(self, optimizations: Optimizations) -> Topology {
        let graph = std::mem::take(&mut *self.graph.borrow_mut());
        graph.finish(optimizations).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A global table (Kafka's `GlobalKTable`): join it from a stream with
/// [`KStream::join_global`] or [`KStream::left_join_global`].
pub struct GlobalKTable<K, V> {
    pub(crate) store: String,
    /// Whether a join key is null (from the table's key codec).
    pub(crate) key_is_null: fn(&K) -> bool,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for GlobalKTable<K, V> {
    fn clone(&self) -> Self {
        GlobalKTable { store: self.store.clone(), key_is_null: self.key_is_null, _types: PhantomData }
    }
}

/// A source about to be added under a given name; see [`StreamsBuilder::named`].
pub struct NamedSource<'a> {
    builder: &'a StreamsBuilder,
    name: String,
}

impl NamedSource<'_> {
    /// As [`StreamsBuilder::stream`].
    pub fn stream<KC: Codec, VC: Codec>(self, topic: &str) -> KStream<KC::Value, VC::Value> {
        self.builder
            .source::<KC, VC>(SourceTopics::Names(vec![topic.to_string()]), SourceName::Given(self.name))
    }

    /// As [`StreamsBuilder::stream_topics`].
    pub fn stream_topics<KC: Codec, VC: Codec>(self, topics: &[&str]) -> KStream<KC::Value, VC::Value> {
        let topics = topics.iter().map(|t| t.to_string()).collect();
        self.builder.source::<KC, VC>(SourceTopics::Names(topics), SourceName::Given(self.name))
    }

    /// As [`StreamsBuilder::stream_pattern`].
    pub fn stream_pattern<KC: Codec, VC: Codec>(self, pattern: &str) -> KStream<KC::Value, VC::Value> {
        StreamsBuilder::check_pattern(pattern);
        self.builder
            .source::<KC, VC>(SourceTopics::Pattern(pattern.to_string()), SourceName::Given(self.name))
    }
}

/// A finished topology: cheap to clone, shareable across threads, runnable by the
/// [`TestDriver`](crate::testing::TestDriver) and the runners.
#[derive(Clone)]
pub struct Topology {
    pub(crate) graph: Arc<Graph>,
}

impl Topology {
    pub(crate) fn new(graph: Arc<Graph>) -> Self {
        Topology { graph }
    }

    /// The structure, printed by `Display` exactly as Kafka Streams' `describe()`.
    pub fn describe(&self) -> TopologyDescription {
        TopologyDescription {
            nodes: self.graph.nodes.clone(),
            subtopologies: self.graph.subtopologies.clone(),
            global_groups: self.graph.global_groups.clone(),
        }
    }

    /// The internal topics Kafka Streams would create for this topology under
    /// `application_id` (repartition topics, then changelogs), each with the configs it is
    /// created with (`windowstore.changelog.additional.retention.ms` at its default), as
    /// Kafka's `InternalTopicConfig.properties`: checked against Kafka in the differential
    /// test.
    #[doc(hidden)]
    pub fn internal_topic_configs(
        &self,
        application_id: &str,
    ) -> Vec<(String, std::collections::BTreeMap<String, String>)> {
        crate::runner::plan::internal_topics(&self.graph, application_id)
            .into_iter()
            .map(|(name, kind)| (name, kind.configs(86_400_000)))
            .collect()
    }

    /// The repartition topics whose partition count the topology fixes (Kafka's
    /// `Repartitioned.withNumberOfPartitions`), by name at run time.
    #[doc(hidden)]
    pub fn internal_topic_partitions(&self, application_id: &str) -> std::collections::BTreeMap<String, u32> {
        self.graph
            .repartition_partitions
            .iter()
            .map(|(t, n)| (crate::graph::resolve_topic(&self.graph.internal_topics, t, application_id), *n))
            .collect()
    }

    /// Every topic named by a source (patterns excluded).
    pub fn source_topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self
            .graph
            .sources
            .iter()
            .flat_map(|s| match &s.topics {
                SourceTopics::Names(t) => t.clone(),
                SourceTopics::Pattern(_) => Vec::new(),
            })
            .collect();
        topics.sort();
        topics.dedup();
        topics
    }
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.describe())
    }
}

/// How a source node is named.
enum SourceName {
    /// Generated here.
    Generated,
    /// Generated already by the caller (a table's, drawn in Kafka's order).
    Drawn(String),
    /// Given by the user (Kafka's `Consumed.as`).
    Given(String),
}
