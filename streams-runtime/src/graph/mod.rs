//! The untyped node graph: Kafka Streams' node names, edges for `describe()`, sub-topologies,
//! and the typed outlets from which each task builds its processors.

mod describe;
mod mermaid;
pub(crate) mod optimize;
pub(crate) mod tables;

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use describe::TopologyDescription;

use crate::codec::Codec;
use crate::ops::cache::{Emitter, Flush, SharedEmitter};
use crate::ops::global_table::GlobalStores;
use crate::ops::merge::MergeInput;
use crate::ops::source::RawProcessor;
use crate::ops::{Children, Discard, Processor};
use crate::state::session::SessionStore;
use crate::state::window::WindowStore;
use crate::state::{KeyValueStore, StoreKey, StoreRegistry};

pub use crate::record::Data;

/// What a node of the description is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Source(SourceTopics),
    Processor { stores: Vec<String> },
    Sink(SinkTopic),
}

/// The topics a source reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceTopics {
    Names(Vec<String>),
    Pattern(String),
}

/// The topic a sink writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SinkTopic {
    Name(String),
    Extractor(String),
}

/// One node as `describe()` shows it.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) kind: NodeKind,
    pub(crate) predecessors: Vec<usize>,
    pub(crate) successors: Vec<usize>,
    /// Taken out of the topology by an optimization (its index stays valid for the
    /// factories that captured it).
    pub(crate) removed: bool,
}

/// Index of an outlet: a point in the running graph that children attach to.
pub(crate) type OutletId = usize;

/// Builds one child's processor for a task.
pub(crate) type ChildFactory<K, V> =
    Arc<dyn Fn(&mut TaskBuild<'_>) -> Box<dyn Processor<K, V>> + Send + Sync>;

/// Builds a source's entry processor for a task.
pub(crate) type SourceFactory = Arc<dyn Fn(&mut TaskBuild<'_>) -> Box<dyn RawProcessor> + Send + Sync>;

/// Typed children of one point of the graph. A shared outlet (the output of `merge`) is
/// built once per task however many parents feed it.
pub(crate) struct Outlet<K, V> {
    shared: bool,
    /// Each child with the first node of the description it runs (`None`: a pass-through
    /// whose nodes are not known here).
    children: Vec<(Option<usize>, ChildFactory<K, V>)>,
}

/// A source node with its topics and factory.
#[derive(Clone)]
pub(crate) struct SourceSpec {
    pub(crate) node: usize,
    pub(crate) topics: SourceTopics,
    pub(crate) factory: SourceFactory,
}

/// A global table: its nodes, topic and store, and how an instance creates its store.
#[derive(Clone)]
pub(crate) struct GlobalSpec {
    pub(crate) source: usize,
    pub(crate) topic: String,
    pub(crate) install: Arc<dyn Fn(&mut GlobalStores) + Send + Sync>,
}

/// How the command line reads and prints a topic's records: its key and value codecs, as
/// functions between bytes and JSON.
#[derive(Clone, Copy)]
pub(crate) struct TopicFormat {
    pub(crate) key_to_json: fn(Option<&[u8]>) -> serde_json::Value,
    pub(crate) value_to_json: fn(Option<&[u8]>) -> serde_json::Value,
    pub(crate) key_from_json: fn(&serde_json::Value) -> Result<Option<Vec<u8>>, crate::error::CodecError>,
    pub(crate) value_from_json: fn(&serde_json::Value) -> Result<Option<Vec<u8>>, crate::error::CodecError>,
    /// For windowed keys whose bytes do not hold the window's end: the window size.
    pub(crate) window_size: Option<i64>,
}

impl TopicFormat {
    pub(crate) fn of<KC: Codec, VC: Codec>() -> Self {
        use crate::codec::{bytes_to_json, json_to_bytes};
        TopicFormat {
            key_to_json: bytes_to_json::<KC>,
            value_to_json: bytes_to_json::<VC>,
            key_from_json: json_to_bytes::<KC>,
            value_from_json: json_to_bytes::<VC>,
            window_size: None,
        }
    }

    /// The key as JSON; a windowed key gets its end from the window size when its bytes
    /// do not say.
    pub(crate) fn key_json(&self, bytes: Option<&[u8]>) -> serde_json::Value {
        let mut json = (self.key_to_json)(bytes);
        if let (Some(size), Some(obj)) = (self.window_size, json.as_object_mut()) {
            if let (Some(start), Some(serde_json::Value::Null)) =
                (obj.get("start").and_then(|s| s.as_i64()), obj.get("end"))
            {
                obj.insert("end".into(), serde_json::Value::from(start.saturating_add(size)));
            }
        }
        json
    }
}

pub(crate) use crate::state::ChangelogKind;

/// An internal topic name as the graph knows it (`KSTREAM-...-repartition`) becomes
/// `<application.id>-<name>` at run time; other topics keep their names.
pub(crate) fn resolve_topic(internal: &[String], name: &str, application_id: &str) -> String {
    if internal.iter().any(|t| t == name) {
        format!("{application_id}-{name}")
    } else {
        name.to_string()
    }
}

/// The changelog topic of a store.
pub(crate) fn changelog_topic(application_id: &str, store: &str) -> String {
    format!("{application_id}-{store}-changelog")
}

/// Where a store's changes are kept: its changelog topic, or the topic a table reads, which
/// under `reuse.ktable.source.topics` is its changelog (nothing is written to it; a restore
/// reads it up to the task's committed offset, as Kafka's `StoreChangelogReader` does for
/// source changelogs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Changelog {
    pub(crate) topic: String,
    pub(crate) is_source: bool,
}

/// The graph under construction, shared by every handle of one builder.
#[derive(Default)]
pub(crate) struct GraphBuilder {
    index: usize,
    pub(crate) nodes: Vec<Node>,
    outlets: Vec<Box<dyn Any + Send + Sync>>,
    /// The first nodes of each outlet's children (as in the typed outlets, readable
    /// without their types).
    outlet_firsts: Vec<Vec<Option<usize>>>,
    pub(crate) sources: Vec<SourceSpec>,
    /// Repartition topics, by the names the graph shows.
    pub(crate) internal_topics: Vec<String>,
    /// Repartition topics whose partition count is given (Kafka's `Repartitioned`).
    pub(crate) repartition_partitions: Vec<(String, u32)>,
    /// Internal topics with as many partitions as the other topics of the sub-topology
    /// reading them (Kafka's `copartitionSources`: a foreign-key join's subscription and
    /// response topics).
    pub(crate) copartitioned_topics: Vec<String>,
    /// Codecs of the topics sources read and sinks write, by topic.
    pub(crate) formats: Vec<(String, TopicFormat)>,
    /// Window sizes of windowed aggregation nodes, to print window ends.
    pub(crate) window_sizes: Vec<(usize, i64)>,
    pub(crate) globals: Vec<GlobalSpec>,
    /// Stores whose changelog is not a key-value store's, by name.
    pub(crate) changelog_kinds: Vec<(String, ChangelogKind)>,
    /// Stores added for processors of the Processor API, by name, and how a task makes each.
    pub(crate) user_stores: Vec<(String, crate::processor::store::StoreFactory)>,
    /// Whether one of them is persistent (`Stores::persistent_key_value`).
    pub(crate) persistent_user_stores: bool,
    /// Each stream repartition: its source node and its sink node.
    pub(crate) repartition_links: Vec<(usize, usize)>,
    /// What the passes decided that processors read when a task is built.
    pub(crate) decided: Decided,
    /// What the optimization passes read: key- and value-changing nodes, merge nodes and
    /// the repartitions they may merge.
    pub(crate) optimizable: optimize::Metadata,
    /// The nodes in the order Kafka would write them to its topology (the order they were
    /// added, but a merged repartition's right after the node it follows).
    pub(crate) build_order: Vec<usize>,
    /// The tables read from topics (`builder.table`): their store, their topic.
    pub(crate) table_sources: Vec<(String, String)>,
    /// The stores whose changelog is their table's source topic, with that topic.
    pub(crate) source_changelogs: Vec<(String, String)>,
    /// The tables, for the pass that decides old values and stores.
    pub(crate) tables: Vec<tables::Table>,
}

impl GraphBuilder {
    /// The window size of the nearest windowed aggregation upstream of `node`, if any.
    pub(crate) fn window_size_above(&self, node: usize) -> Option<i64> {
        let mut at = node;
        loop {
            if let Some((_, size)) = self.window_sizes.iter().find(|(n, _)| *n == at) {
                return Some(*size);
            }
            at = *self.nodes[at].predecessors.first()?;
        }
    }

    /// Lets null keys through every stream repartition upstream of `node`, across
    /// repartition topics: `node` feeds a left or outer join (Kafka's
    /// `NodesWithRelaxedNullKeyJoinDownstream`, which spares those repartitions the null-key
    /// filter `InternalStreamsBuilder.rewriteRepartitionNodes` gives the others).
    pub(crate) fn keep_null_keys_above(&mut self, node: usize) {
        let (mut stack, mut seen) = (vec![node], std::collections::HashSet::new());
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            if let Some(&(_, sink)) = self.repartition_links.iter().find(|(source, _)| *source == n) {
                if !self.decided.null_key_repartitions.contains(&sink) {
                    self.decided.null_key_repartitions.push(sink);
                }
                stack.push(sink);
            }
            stack.extend(self.nodes[n].predecessors.iter().copied());
        }
    }

    /// Notes that store `store`'s changelog is of `kind` (key-value unless said).
    pub(crate) fn set_changelog_kind(&mut self, store: &str, kind: ChangelogKind) {
        self.changelog_kinds.retain(|(s, _)| s != store);
        self.changelog_kinds.push((store.to_string(), kind));
    }

    /// How `store`'s changelog is configured (a key-value store's unless set).
    pub(crate) fn changelog_kind_of(&self, store: &str) -> ChangelogKind {
        self.changelog_kinds.iter().find(|(s, _)| s == store).map_or(ChangelogKind::KeyValue, |(_, k)| *k)
    }

    /// Remembers the codecs of a source or sink topic (the first one given wins).
    pub(crate) fn add_format(&mut self, topic: &str, format: TopicFormat) {
        if !self.formats.iter().any(|(t, _)| t == topic) {
            self.formats.push((topic.to_string(), format));
        }
    }

    /// Lists `store` among the stores of `node`.
    pub(crate) fn add_store(&mut self, node: usize, store: &str) {
        if let NodeKind::Processor { stores } = &mut self.nodes[node].kind {
            if !stores.iter().any(|s| s == store) {
                stores.push(store.to_string());
            }
        }
    }

    /// Kafka's `newProcessorName`: the prefix and a 10-digit counter shared by all names.
    pub(crate) fn new_name(&mut self, prefix: &str) -> String {
        let name = format!("{prefix}{:010}", self.index);
        self.index += 1;
        name
    }

    /// Consumes one counter value, as Kafka does for each branch of a split.
    pub(crate) fn skip_index(&mut self) {
        self.index += 1;
    }

    /// The given name, or a generated one; a counter value is drawn either way (Kafka's
    /// `NamedInternal.orElseGenerateWithPrefix`, which burns it "to keep topology backward
    /// compatibility"): for processors named with `Named`.
    pub(crate) fn name_or(&mut self, given: Option<String>, prefix: &str) -> String {
        let generated = self.new_name(prefix);
        given.unwrap_or(generated)
    }

    /// The given name, or a generated one, drawing a counter value only to generate (Kafka's
    /// `MaterializedInternal` store names, `Repartitioned` and `Suppressed` names).
    pub(crate) fn given_or_new(&mut self, given: Option<String>, prefix: &str) -> String {
        given.unwrap_or_else(|| self.new_name(prefix))
    }

    /// Adds a node under the given parents; returns its index.
    pub(crate) fn add_node(&mut self, name: String, kind: NodeKind, parents: &[usize]) -> usize {
        let id = self.nodes.len();
        self.build_order.push(id);
        self.nodes.push(Node {
            name,
            kind,
            predecessors: parents.to_vec(),
            successors: Vec::new(),
            removed: false,
        });
        for &p in parents {
            self.nodes[p].successors.push(id);
        }
        id
    }

    /// A new outlet for records of type `(K, V)`.
    pub(crate) fn new_outlet<K: Data, V: Data>(&mut self, shared: bool) -> OutletId {
        self.outlets.push(Box::new(Outlet::<K, V> { shared, children: Vec::new() }));
        self.outlet_firsts.push(Vec::new());
        self.outlets.len() - 1
    }

    /// Attaches a child to an outlet; `first` is the first node of the description it runs.
    pub(crate) fn attach<K: Data, V: Data>(
        &mut self,
        outlet: OutletId,
        first: Option<usize>,
        child: ChildFactory<K, V>,
    ) {
        self.outlet_mut::<K, V>(outlet).children.push((first, child));
        self.outlet_firsts[outlet].push(first);
    }

    fn outlet_mut<K: Data, V: Data>(&mut self, outlet: OutletId) -> &mut Outlet<K, V> {
        self.outlets[outlet]
            .downcast_mut::<Outlet<K, V>>()
            .expect("outlet types are fixed by the typed handles")
    }

    /// The first nodes of the children of `outlet`, whatever its types.
    pub(crate) fn children_firsts(&self, outlet: OutletId) -> Vec<Option<usize>> {
        self.outlet_firsts[outlet].clone()
    }

    /// Moves the children of `from` whose first node is in `firsts` to `to` (both outlets
    /// of `(K, V)`).
    pub(crate) fn move_children<K: Data, V: Data>(&mut self, from: OutletId, to: OutletId, firsts: &[usize]) {
        let taken = std::mem::take(&mut self.outlet_mut::<K, V>(from).children);
        let (moved, kept): (Vec<_>, Vec<_>) =
            taken.into_iter().partition(|(first, _)| first.is_some_and(|f| firsts.contains(&f)));
        self.outlet_firsts[from] = kept.iter().map(|(f, _)| *f).collect();
        self.outlet_firsts[to].extend(moved.iter().map(|(f, _)| *f));
        self.outlet_mut::<K, V>(from).children = kept;
        self.outlet_mut::<K, V>(to).children.extend(moved);
    }

    /// The newest node at index `since` or above that has `parent` among its predecessors:
    /// the node an operator just added after `parent`.
    pub(crate) fn newest_child(&self, parent: usize, since: usize) -> Option<usize> {
        (since..self.nodes.len()).rev().find(|&n| self.nodes[n].predecessors.contains(&parent))
    }

    /// Freezes the graph into a topology, after the optimization passes `optimizations`
    /// asks for.
    ///
    /// # Errors
    /// As Kafka's `InternalTopologyBuilder.validateCopartition`: a sub-topology reads only
    /// repartition topics of fixed partition counts, and the counts differ.
    pub(crate) fn finish(
        mut self,
        optimizations: optimize::Optimizations,
    ) -> Result<crate::dsl::Topology, crate::error::StreamsError> {
        optimize::run(&mut self, optimizations);
        let GraphBuilder {
            nodes,
            outlets,
            sources,
            internal_topics,
            repartition_partitions,
            copartitioned_topics,
            formats,
            globals,
            changelog_kinds,
            persistent_user_stores,
            build_order,
            source_changelogs,
            tables,
            decided,
            ..
        } = self;
        let tables = tables::decide(&tables);
        let mut source_nodes: Vec<usize> = sources.iter().map(|s| s.node).collect();
        source_nodes.extend(globals.iter().map(|g| g.source));
        let subtopologies = describe::subtopologies(&nodes, &source_nodes, &build_order);
        let global_groups: Vec<usize> = subtopologies
            .iter()
            .enumerate()
            .filter(|(_, members)| globals.iter().any(|g| members.contains(&g.source)))
            .map(|(i, _)| i)
            .collect();
        validate_copartition(&subtopologies, &sources, &repartition_partitions)?;
        Ok(crate::dsl::Topology::new(Arc::new(Graph {
            nodes,
            outlets,
            sources,
            subtopologies,
            global_groups,
            internal_topics,
            repartition_partitions,
            copartitioned_topics,
            formats,
            globals,
            changelog_kinds,
            persistent_user_stores,
            source_changelogs,
            optimizations,
            tables,
            decided,
        })))
    }
}

/// Kafka's `validateCopartition` at build time: a sub-topology whose inputs are all
/// repartition topics with a partition count fixed by the topology (`Repartitioned` with a
/// number of partitions) needs the same count on each, since its tasks read one partition of
/// each. (Other inputs are checked when the run is planned, against the cluster.)
fn validate_copartition(
    subtopologies: &[Vec<usize>],
    sources: &[SourceSpec],
    fixed: &[(String, u32)],
) -> Result<(), crate::error::StreamsError> {
    for members in subtopologies {
        let topics: Vec<&String> = sources
            .iter()
            .filter(|s| members.contains(&s.node))
            .flat_map(|s| match &s.topics {
                SourceTopics::Names(names) => names.iter().collect(),
                SourceTopics::Pattern(_) => Vec::new(),
            })
            .collect();
        let counts: std::collections::BTreeMap<&String, u32> = topics
            .iter()
            .filter_map(|t| fixed.iter().find(|(name, _)| name == *t).map(|(_, n)| (*t, *n)))
            .collect();
        let differ = counts.values().any(|n| Some(n) != counts.values().next());
        if topics.len() > 1 && counts.len() == topics.len() && differ {
            let listed: Vec<String> = counts.iter().map(|(t, n)| format!("{t}={n}")).collect();
            return Err(crate::error::StreamsError::InvalidTopology(format!(
                "Following topics do not have the same number of partitions: [{{{}}}]",
                listed.join(", ")
            )));
        }
    }
    Ok(())
}

/// A finished graph: the description and the factories of every task.
pub(crate) struct Graph {
    pub(crate) nodes: Vec<Node>,
    outlets: Vec<Box<dyn Any + Send + Sync>>,
    pub(crate) sources: Vec<SourceSpec>,
    /// Node indices of each sub-topology, in Kafka's numbering.
    pub(crate) subtopologies: Vec<Vec<usize>>,
    /// Which node groups are global stores (no tasks).
    pub(crate) global_groups: Vec<usize>,
    pub(crate) internal_topics: Vec<String>,
    pub(crate) repartition_partitions: Vec<(String, u32)>,
    pub(crate) copartitioned_topics: Vec<String>,
    pub(crate) formats: Vec<(String, TopicFormat)>,
    pub(crate) globals: Vec<GlobalSpec>,
    pub(crate) changelog_kinds: Vec<(String, ChangelogKind)>,
    pub(crate) source_changelogs: Vec<(String, String)>,
    /// Whether a processor's store is persistent (the instance needs its state directory).
    pub(crate) persistent_user_stores: bool,
    /// The optimizations it was built with.
    pub(crate) optimizations: optimize::Optimizations,
    /// Which tables send old values and keep their stores.
    pub(crate) tables: tables::Decided,
    /// The passes' other decisions.
    pub(crate) decided: Decided,
}

/// What the passes decide about nodes, read by their processors when a task is built.
#[derive(Default, Debug, Clone)]
pub(crate) struct Decided {
    /// Repartitions (by sink node) that let null keys through: a left or outer join is
    /// downstream.
    pub(crate) null_key_repartitions: Vec<usize>,
    /// Repartitions (by sink node) merged into another: their sink passes records on.
    pub(crate) merged_repartitions: Vec<usize>,
    /// Stream-stream joins (by merge node) rewritten as self-joins.
    pub(crate) self_joins: Vec<usize>,
}

impl Graph {
    /// Where store `store` keeps its changes.
    pub(crate) fn changelog(&self, application_id: &str, store: &str) -> Changelog {
        match self.source_changelogs.iter().find(|(s, _)| s == store) {
            Some((_, topic)) => Changelog { topic: topic.clone(), is_source: true },
            None => Changelog { topic: changelog_topic(application_id, store), is_source: false },
        }
    }

    /// Whether store `store` is restored from its table's source topic.
    pub(crate) fn is_source_changelog(&self, store: &str) -> bool {
        self.source_changelogs.iter().any(|(s, _)| s == store)
    }

    /// How the changelog of store `store` is configured.
    pub(crate) fn changelog_kind(&self, store: &str) -> ChangelogKind {
        self.changelog_kinds.iter().find(|(s, _)| s == store).map_or(ChangelogKind::KeyValue, |(_, k)| *k)
    }

    /// The instance-wide global stores, created empty.
    pub(crate) fn global_stores(&self) -> GlobalStores {
        let mut stores = GlobalStores::default();
        for g in &self.globals {
            (g.install)(&mut stores);
        }
        stores
    }

    /// The sources of sub-topology `id`.
    pub(crate) fn sources_of(&self, id: usize) -> impl Iterator<Item = &SourceSpec> {
        self.sources.iter().filter(move |s| self.subtopologies[id].contains(&s.node))
    }

    /// The sub-topology a node belongs to.
    pub(crate) fn subtopology_of(&self, node: usize) -> usize {
        self.subtopologies.iter().position(|members| members.contains(&node)).expect("every node is in one")
    }

    /// The topics (or pattern) a source reads, with internal names resolved.
    pub(crate) fn resolved_topics(&self, source: &SourceSpec, application_id: &str) -> SourceTopics {
        match &source.topics {
            SourceTopics::Names(names) => SourceTopics::Names(
                names.iter().map(|n| resolve_topic(&self.internal_topics, n, application_id)).collect(),
            ),
            pattern => pattern.clone(),
        }
    }

    /// For each resolved internal topic, the sub-topology that writes it.
    pub(crate) fn internal_topic_writers(&self, application_id: &str) -> Vec<(String, usize)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match &n.kind {
                NodeKind::Sink(SinkTopic::Name(t)) if !n.removed && self.internal_topics.contains(t) => {
                    Some((resolve_topic(&self.internal_topics, t, application_id), self.subtopology_of(i)))
                }
                _ => None,
            })
            .collect()
    }

    /// The codecs of `topic`, if a source or sink names it.
    pub(crate) fn format(&self, topic: &str) -> Option<TopicFormat> {
        self.formats.iter().find(|(t, _)| t == topic).map(|(_, f)| *f)
    }

    /// The topics sinks write, other than internal ones, in the order the graph has them.
    pub(crate) fn sink_topics(&self) -> Vec<String> {
        let mut topics = Vec::new();
        for node in self.nodes.iter().filter(|n| !n.removed) {
            if let NodeKind::Sink(SinkTopic::Name(t)) = &node.kind {
                if !self.internal_topics.contains(t) && !topics.contains(t) {
                    topics.push(t.clone());
                }
            }
        }
        topics
    }

    /// The stores of sub-topology `id` with a changelog topic of their own.
    pub(crate) fn logged_stores_of(&self, id: usize) -> Vec<String> {
        let mut stores = self.stores_of(id);
        stores.retain(|s| self.changelog_kind(s) != ChangelogKind::Disabled && !self.is_source_changelog(s));
        stores
    }

    /// The stores of sub-topology `id`, by name.
    pub(crate) fn stores_of(&self, id: usize) -> Vec<String> {
        let mut stores: Vec<String> = self.subtopologies[id]
            .iter()
            .flat_map(|&n| match &self.nodes[n].kind {
                NodeKind::Processor { stores } => stores.clone(),
                _ => Vec::new(),
            })
            .collect();
        stores.sort();
        stores.dedup();
        stores
    }
}

/// Builds the processors of one task, sharing merged downstreams and stores within it.
pub(crate) struct TaskBuild<'g> {
    graph: &'g Graph,
    shared: HashMap<OutletId, Box<dyn Any>>,
    application_id: &'g str,
    pub(crate) stores: StoreRegistry,
    globals: &'g GlobalStores,
    /// Record caches, flushed at every commit (upstream ones first).
    pub(crate) caches: Vec<Box<dyn Flush>>,
    /// Records dropped for arriving after their window closed.
    pub(crate) dropped: Arc<std::sync::atomic::AtomicU64>,
    /// Entries each record cache holds before it flushes by itself (0: no caching).
    cache_capacity: usize,
    /// State shared by several processors of the task (both sides of a join), by name.
    objects: HashMap<String, Box<dyn Any>>,
    /// The nodes that measure records' end-to-end latency (sources, then terminal nodes),
    /// by slot of the task's `TaskProbe`.
    pub(crate) e2e_nodes: Vec<String>,
    /// Processors with punctuation schedules (the Processor API's nodes).
    pub(crate) punctuators: Vec<Box<dyn crate::ops::process::Punctuate>>,
    /// The task's partition.
    pub(crate) partition: u32,
    /// Wall-clock time when the task is built (wall-clock punctuations start from it).
    pub(crate) wall_clock: i64,
    /// Where the DSL's key-value stores persist (`None`: in memory).
    state: Option<crate::state::persistent::TaskState>,
    /// The task's processor metadata, committed with its offsets.
    pub(crate) processor_metadata: Arc<crate::ops::ProcessorMetadata>,
}

impl<'g> TaskBuild<'g> {
    pub(crate) fn new(
        graph: &'g Graph,
        application_id: &'g str,
        cache_capacity: usize,
        globals: &'g GlobalStores,
        partition: u32,
        wall_clock: i64,
        state: Option<crate::state::persistent::TaskState>,
    ) -> Self {
        TaskBuild {
            graph,
            shared: HashMap::new(),
            application_id,
            stores: StoreRegistry::default(),
            globals,
            caches: Vec::new(),
            dropped: Arc::default(),
            cache_capacity,
            objects: HashMap::new(),
            e2e_nodes: Vec::new(),
            punctuators: Vec::new(),
            partition,
            wall_clock,
            state,
            processor_metadata: Arc::default(),
        }
    }

    /// The application's id.
    pub(crate) fn application_id(&self) -> &'g str {
        self.application_id
    }

    /// What the passes decided about nodes.
    pub(crate) fn decided(&self) -> &'g Decided {
        &self.graph.decided
    }

    /// Whether table `table`'s updates carry old values (see [`tables`]).
    pub(crate) fn sends_old_values(&self, table: usize) -> bool {
        self.graph.tables.old_values[table]
    }

    /// Whether table `table` is versioned (see [`tables`]).
    pub(crate) fn is_versioned(&self, table: usize) -> bool {
        self.graph.tables.versioned[table]
    }

    /// Whether table `table` keeps its store (see [`tables`]).
    pub(crate) fn keeps_store(&self, table: usize) -> bool {
        self.graph.tables.store_kept[table]
    }

    /// [`Self::e2e_slot`] of `node` if nothing is downstream of it.
    pub(crate) fn terminal_slot(&mut self, node: usize) -> Option<usize> {
        self.graph.nodes[node].successors.is_empty().then(|| self.e2e_slot(node))
    }

    /// The probe slot where node `node` records the end-to-end latency of the records that
    /// enter it (a source) or reach it (a terminal node: Kafka's `ProcessorContextImpl`
    /// records on forwarding to one).
    pub(crate) fn e2e_slot(&mut self, node: usize) -> usize {
        let name = &self.graph.nodes[node].name;
        match self.e2e_nodes.iter().position(|n| n == name) {
            Some(slot) => slot,
            None => {
                self.e2e_nodes.push(name.clone());
                self.e2e_nodes.len() - 1
            }
        }
    }

    /// The task's shared object `name`, made by `make` the first time.
    pub(crate) fn shared<T: Send + 'static>(
        &mut self,
        name: &str,
        make: impl FnOnce() -> T,
    ) -> Arc<Mutex<T>> {
        if let Some(existing) = self.objects.get(name).and_then(|o| o.downcast_ref::<Arc<Mutex<T>>>()) {
            return existing.clone();
        }
        let object = Arc::new(Mutex::new(make()));
        self.objects.insert(name.to_string(), Box::new(object.clone()));
        object
    }

    /// The instance's global store `name`.
    pub(crate) fn global_store<K: StoreKey, V: Data>(&self, name: &str) -> Arc<KeyValueStore<K, V>> {
        self.globals
            .stores
            .find::<KeyValueStore<K, V>>(name)
            .expect("global stores are installed before tasks")
    }

    /// The task's session store `name`.
    pub(crate) fn session_store<KC, VC>(&mut self, name: &str) -> Arc<SessionStore<KC::Value, VC::Value>>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let capacity = self.cache_capacity;
        self.stores.get_or_create(name, || {
            let store = SessionStore::new::<KC, VC>(name);
            // Kafka caches a session aggregation's store.
            if capacity > 0 {
                store.cached(capacity)
            } else {
                store
            }
        })
    }

    /// The task's versioned key-value store `name` (its history retention is the graph's),
    /// written to its changelog with `KC`/`VC`.
    pub(crate) fn versioned_store<KC, VC>(
        &mut self,
        name: &str,
    ) -> Arc<crate::state::versioned::VersionedKeyValueStore<KC::Value, VC::Value>>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let ChangelogKind::Versioned { history_retention_ms } = self.graph.changelog_kind(name) else {
            unreachable!("`{name}` was declared a versioned store")
        };
        // A source topic reused as its changelog holds its changes already.
        let logged = !self.graph.is_source_changelog(name);
        self.stores.get_or_create(name, || {
            let store =
                crate::state::versioned::VersionedKeyValueStore::new::<KC, VC>(name, history_retention_ms);
            if logged {
                store
            } else {
                store.unlogged()
            }
        })
    }

    /// The task's window store `name` of windows `size_ms` long.
    pub(crate) fn window_store<KC, VC>(
        &mut self,
        name: &str,
        size_ms: i64,
    ) -> Arc<WindowStore<KC::Value, VC::Value>>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        self.stores.get_or_create(name, || WindowStore::new::<KC, VC>(name, size_ms))
    }

    /// How many entries a record cache holds, if the cache is on.
    pub(crate) fn cache_capacity(&self) -> Option<usize> {
        (self.cache_capacity > 0).then_some(self.cache_capacity)
    }

    /// Whether the record cache is on (`statestore.cache.max.bytes` above 0).
    pub(crate) fn caching(&self) -> bool {
        self.cache_capacity > 0
    }

    /// The emitter of an aggregation, registered to be flushed at commit.
    pub(crate) fn emitter<K: StoreKey, A: Data>(
        &mut self,
        next: Box<dyn Processor<K, crate::record::Change<A>>>,
    ) -> SharedEmitter<K, A> {
        let emitter = Arc::new(Mutex::new(Emitter::new(next, self.cache_capacity)));
        self.caches.push(Box::new(emitter.clone()));
        emitter
    }

    /// The one emitter of an aggregation whose store several processors write (the
    /// aggregations of `cogroup`): made with `next` by the first, shared by the others (whose
    /// `next` is the same merge), so one record cache holds the store's pending updates.
    pub(crate) fn shared_emitter<K: StoreKey, A: Data>(
        &mut self,
        store_name: &str,
        next: impl FnOnce(&mut Self) -> Box<dyn Processor<K, crate::record::Change<A>>>,
    ) -> SharedEmitter<K, A> {
        let key = format!("emitter of {store_name}");
        if let Some(existing) = self.objects.get(&key).and_then(|o| o.downcast_ref::<SharedEmitter<K, A>>()) {
            return existing.clone();
        }
        let next = next(self);
        let emitter = self.emitter(next);
        self.objects.insert(key, Box::new(emitter.clone()));
        emitter
    }

    /// The run-time name of a topic the graph names (internal topics get the application id).
    pub(crate) fn topic(&self, name: &str) -> String {
        resolve_topic(&self.graph.internal_topics, name, self.application_id)
    }

    /// The task's key-value store `name`, written to its changelog with `KC`/`VC`.
    pub(crate) fn key_value_store<KC, VC>(&mut self, name: &str) -> Arc<KeyValueStore<KC::Value, VC::Value>>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let from_source = self.graph.is_source_changelog(name);
        if from_source {
            // Its source topic holds its changes already (kept in memory: its restore reads
            // the source up to the committed offset, which no checkpoint records).
            return self.stores.get_or_create(name, || KeyValueStore::new::<KC, VC>(name).unlogged());
        }
        self.persistent_key_value_store::<KC, VC>(name, true)
    }

    /// The task's key-value store `name`, on disk if the instance has a state directory
    /// (else in memory), changelogged if `logged`.
    pub(crate) fn persistent_key_value_store<KC, VC>(
        &mut self,
        name: &str,
        logged: bool,
    ) -> Arc<KeyValueStore<KC::Value, VC::Value>>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let (state, partition) = (&self.state, self.partition);
        let changelog = changelog_topic(self.application_id, name);
        self.stores.get_or_create(name, || {
            let store = KeyValueStore::new::<KC, VC>(name);
            let store = if logged { store } else { store.unlogged() };
            match state {
                Some(state) => store.persistent(state.store(name, changelog, partition, logged), state.cache),
                None => store,
            }
        })
    }

    /// The task's stream-table join buffer `name` of records waiting out `grace_ms`,
    /// changelogged with `KC`/`VC`.
    pub(crate) fn time_ordered_buffer<KC, VC>(
        &mut self,
        name: &str,
        grace_ms: i64,
    ) -> Arc<crate::state::time_ordered::TimeOrderedBuffer<KC::Value, VC::Value>>
    where
        KC: Codec,
        VC: Codec,
    {
        self.stores.get_or_create(name, || {
            crate::state::time_ordered::TimeOrderedBuffer::new::<KC, VC>(name, grace_ms)
        })
    }

    /// The task's suppression buffer `name`: in memory whatever `default.dsl.store` says, as
    /// Kafka's `InMemoryTimeOrderedKeyValueChangeBuffer`, changelogged with `KC`/`VC`.
    pub(crate) fn buffer_store<KC, VC>(&mut self, name: &str) -> Arc<KeyValueStore<KC::Value, VC::Value>>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        self.stores.get_or_create(name, || KeyValueStore::new::<KC, VC>(name))
    }

    /// The children of `outlet` (not a shared one), each built on its own and named after its
    /// first node: Kafka's child processors, which `forward(record, child)` addresses.
    pub(crate) fn children<K: Data, V: Data>(&mut self, outlet: OutletId) -> Children<K, V> {
        let graph = self.graph;
        let out = graph.outlets[outlet]
            .downcast_ref::<Outlet<K, V>>()
            .expect("outlet types are fixed by the typed handles");
        debug_assert!(!out.shared, "a processor's outlet is its own");
        let named = out
            .children
            .iter()
            .map(|(first, child)| (first.map(|n| graph.nodes[n].name.clone()), child(self)))
            .collect();
        Children { named }
    }

    /// Everything downstream of `outlet`, as one processor.
    pub(crate) fn downstream<K: Data, V: Data>(&mut self, outlet: OutletId) -> Box<dyn Processor<K, V>> {
        let graph = self.graph;
        let out = graph.outlets[outlet]
            .downcast_ref::<Outlet<K, V>>()
            .expect("outlet types are fixed by the typed handles");
        if out.shared {
            if let Some(shared) = self.shared.get(&outlet) {
                let shared = shared
                    .downcast_ref::<Arc<Mutex<Box<dyn Processor<K, V>>>>>()
                    .expect("same outlet, same types")
                    .clone();
                return Box::new(MergeInput { shared });
            }
        }
        let mut children: Vec<Box<dyn Processor<K, V>>> =
            out.children.iter().map(|(_, child)| child(self)).collect();
        let built: Box<dyn Processor<K, V>> = match children.len() {
            0 => Box::new(Discard),
            1 => children.pop().expect("one child"),
            _ => Box::new(Children { named: children.into_iter().map(|c| (None, c)).collect() }),
        };
        if !out.shared {
            return built;
        }
        let shared = Arc::new(Mutex::new(built));
        self.shared.insert(outlet, Box::new(shared.clone()));
        Box::new(MergeInput { shared })
    }
}
