//! `TestDriver`: Kafka's `TopologyTestDriver`, synchronous and deterministic, with several
//! partitions per topic (murmur2, as the Java producer) and a wall clock a test advances.
//!
//! ```
//! use streams_runtime::prelude::*;
//!
//! let b = StreamsBuilder::new();
//! b.stream::<(), String>("lines").map_values(|l| l.to_uppercase()).to("upper");
//! let mut driver = TestDriver::new(b.build());
//! driver.input::<(), String>("lines").pipe((), "hello".to_string(), 42);
//! let out = driver.output::<(), String>("upper").read_all();
//! assert_eq!(out, vec![((), "HELLO".to_string(), 42)]);
//! ```

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use rustc_hash::FxHashMap;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::codec::Codec;
use crate::config::{OnDecodeError, RecordPolicy};
use crate::dsl::Topology;
use crate::error::{RecordPart, StreamsError};
use crate::graph::{resolve_topic, Data, Graph, SourceTopics};
use crate::state::{KeyValueStore, StoreKey};

/// The `application.id` of a driver unless set otherwise.
pub const DEFAULT_APPLICATION_ID: &str = "test";
use crate::ops::{Placement, RecordCollector};
use crate::partitioner::choose_partition;
use crate::record::{Headers, RawRecord, Record};
use crate::task::{reads, Task};

/// A topic of the driver: partitions of records, each record with its global sequence
/// number (the order in which the driver wrote it).
struct TopicLog {
    name: Arc<str>,
    partitions: Vec<Vec<(u64, Arc<RawRecord>)>>,
    next_null_key_partition: u32,
    /// Sub-topologies that read this topic.
    readers: Vec<usize>,
}

/// The driver's topics, and the queue of records still to process.
struct Topics {
    graph: Arc<Graph>,
    application_id: String,
    default_partitions: u32,
    partitions: HashMap<String, u32>,
    logs: FxHashMap<Arc<str>, TopicLog>,
    seq: u64,
    pending: VecDeque<Arc<RawRecord>>,
}

impl Topics {
    /// Set explicitly; else, for a repartition topic, the most partitions among the
    /// topics the sub-topology writing it reads (as Kafka Streams sizes them); else the
    /// default.
    fn partition_count(&self, topic: &str) -> u32 {
        if let Some(n) = self.partitions.get(topic) {
            return *n;
        }
        let graph = self.graph.clone();
        let copartitioned = |t: &str| {
            graph
                .copartitioned_topics
                .iter()
                .any(|c| resolve_topic(&graph.internal_topics, c, &self.application_id) == t)
        };
        if copartitioned(topic) {
            // As many as the other topics of the sub-topology reading it.
            let reader =
                (0..graph.subtopologies.len()).find(|&s| reads(&graph, s, topic, &self.application_id));
            return reader
                .map_or(self.default_partitions, |sub| self.subtopology_partitions(sub, &copartitioned));
        }
        let writers = graph.internal_topic_writers(&self.application_id);
        match writers.iter().find(|(t, _)| t == topic) {
            Some((_, sub)) => self.subtopology_partitions(*sub, &|_| false),
            None => self.default_partitions,
        }
    }

    /// The number of tasks of a sub-topology: the most partitions among its input topics
    /// (those `skip` says excepted).
    fn subtopology_partitions(&self, sub: usize, skip: &dyn Fn(&str) -> bool) -> u32 {
        let graph = self.graph.clone();
        graph
            .sources_of(sub)
            .flat_map(|s| match graph.resolved_topics(s, &self.application_id) {
                SourceTopics::Names(names) => names,
                SourceTopics::Pattern(_) => Vec::new(),
            })
            .filter(|t| !skip(t))
            .map(|t| self.partition_count(&t))
            .max()
            .unwrap_or(self.default_partitions)
    }

    /// Whether a sub-topology reads `topic` (a pattern source included).
    fn is_read(&self, topic: &str) -> bool {
        match self.logs.get(topic) {
            Some(log) => !log.readers.is_empty(),
            None => (0..self.graph.subtopologies.len())
                .any(|s| reads(&self.graph, s, topic, &self.application_id)),
        }
    }

    fn log(&mut self, topic: &str) -> &mut TopicLog {
        // Looked up twice only the first time a topic is seen (the borrow checker cannot yet
        // return the first lookup's borrow).
        if !self.logs.contains_key(topic) {
            let name: Arc<str> = Arc::from(topic);
            let n = self.partition_count(topic) as usize;
            let readers = (0..self.graph.subtopologies.len())
                .filter(|&s| reads(&self.graph, s, topic, &self.application_id))
                .collect();
            let log = TopicLog {
                name: name.clone(),
                partitions: vec![Vec::new(); n],
                next_null_key_partition: 0,
                readers,
            };
            self.logs.insert(name, log);
        }
        self.logs.get_mut(topic).expect("inserted above")
    }

    /// Appends a record the way a producer would (murmur2 of the key bytes picks the
    /// partition; null keys go round-robin) and queues it if the topology reads the topic.
    fn append(
        &mut self,
        topic: &str,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        headers: Headers,
    ) {
        self.append_to(topic, None, key, value, timestamp, headers)
    }

    /// Appends to `partition`, or to the one the producer would pick.
    fn append_to(
        &mut self,
        topic: &str,
        partition: Option<u32>,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        headers: Headers,
    ) {
        self.seq += 1;
        let seq = self.seq;
        let log = self.log(topic);
        let n = log.partitions.len() as u32;
        let partition = match (partition, &key) {
            (Some(p), _) => p.min(n - 1),
            (None, key) => choose_partition(key.as_deref(), n, &mut log.next_null_key_partition),
        };
        let records = &mut log.partitions[partition as usize];
        let offset = records.len() as u64;
        let topic = log.name.clone();
        let raw = Arc::new(RawRecord { topic, partition, offset, key, value, timestamp, headers });
        records.push((seq, raw.clone()));
        if !log.readers.is_empty() {
            self.pending.push_back(raw);
        }
    }
}

impl RecordCollector for Topics {
    fn send_placed(
        &mut self,
        topic: &str,
        placement: Placement,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        headers: &Headers,
    ) {
        let partition =
            placement.choose(key.as_deref(), || Ok::<_, ()>(self.partition_count(topic))).unwrap_or(None);
        self.append_to(topic, partition, key, value, timestamp, headers.clone());
    }
}

struct State {
    topology: Topology,
    globals: crate::ops::global_table::GlobalStores,
    application_id: String,
    topics: Topics,
    tasks: FxHashMap<(usize, u32), Task>,
    policy: RecordPolicy,
    wall_clock: i64,
    /// The tasks' metrics.
    task_metrics: crate::metrics::task::TaskRegistry,
    /// The global task's, if the topology has global tables.
    global_metrics: Option<crate::metrics::task::GlobalTaskMetrics>,
    /// Keys each aggregation's record cache holds (0: every update forwarded at once).
    cache_capacity: usize,
}

impl State {
    /// Checks that the sources of a sub-topology are co-partitioned.
    fn check_copartitioned(&self, subtopology: usize) -> Result<(), StreamsError> {
        let graph = &self.topology.graph;
        let mut first: Option<(String, u32)> = None;
        for topic in self.topology.source_topics() {
            let topic = crate::graph::resolve_topic(&graph.internal_topics, &topic, &self.application_id);
            if !reads(graph, subtopology, &topic, &self.application_id) {
                continue;
            }
            let n = self.topics.partition_count(&topic);
            match &first {
                None => first = Some((topic, n)),
                Some((t, m)) if *m != n => {
                    return Err(StreamsError::NotCopartitioned {
                        left: t.clone(),
                        left_partitions: *m,
                        right: topic,
                        right_partitions: n,
                    })
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Processes the queued records, and everything they cause, first in first out.
    fn run(&mut self) -> Result<(), StreamsError> {
        while let Some(raw) = self.topics.pending.pop_front() {
            let readers = self.topics.logs[&raw.topic].readers.len();
            for r in 0..readers {
                let sub = self.topics.logs[&raw.topic].readers[r];
                let key = (sub, raw.partition);
                if let Err(e) = self.ensure_task(key) {
                    self.topics.pending.clear();
                    return Err(e);
                }
                let task = self.tasks.get_mut(&key).expect("inserted above");
                // Kafka's driver commits after every record, so its caches only coalesce
                // the updates that one record makes.
                let processed = task
                    .process(&raw, self.wall_clock, &self.policy, &mut self.topics)
                    .and_then(|()| task.flush(self.wall_clock, &mut self.topics));
                if let Err(e) = processed {
                    self.topics.pending.clear();
                    return Err(e);
                }
            }
        }
        self.commit()
    }

    /// Task `partition` of sub-topology `sub`, created if new (its sources checked for
    /// co-partitioning first).
    fn ensure_task(&mut self, (sub, partition): (usize, u32)) -> Result<(), StreamsError> {
        if self.tasks.contains_key(&(sub, partition)) {
            return Ok(());
        }
        self.check_copartitioned(sub)?;
        let task = Task::new(
            &self.topology.graph,
            (sub, partition),
            &self.application_id,
            self.cache_capacity,
            &self.globals,
            &self.task_metrics,
            self.wall_clock,
            None,
        );
        self.tasks.insert((sub, partition), task);
        Ok(())
    }

    /// Moves the wall clock by `by`: every task exists first (as Kafka's driver has its task
    /// from the start, wall-clock punctuations count from before the move), then the
    /// punctuations due run, task by task, and what they caused is processed.
    fn advance_wall_clock(&mut self, by: Duration) -> Result<(), StreamsError> {
        let graph = self.topology.graph.clone();
        for sub in (0..graph.subtopologies.len()).filter(|s| !graph.global_groups.contains(s)) {
            for partition in 0..self.topics.subtopology_partitions(sub, &|_| false) {
                self.ensure_task((sub, partition))?;
            }
        }
        self.wall_clock = self.wall_clock.saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
        let mut keys: Vec<_> = self.tasks.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let task = self.tasks.get_mut(&key).expect("listed above");
            task.punctuate_wall_clock(self.wall_clock, &self.policy, &mut self.topics)?;
            task.flush(self.wall_clock, &mut self.topics)?;
        }
        self.run()
    }

    /// Kafka's test driver commits after every input record: stores write their changes to
    /// their changelog topics, in the task's partition.
    fn commit(&mut self) -> Result<(), StreamsError> {
        for task in self.tasks.values() {
            task.write_changelogs(&self.application_id, &mut self.topics)?;
        }
        Ok(())
    }
}

/// The driver's task metrics, tagged with the current thread's name as Kafka's
/// `TopologyTestDriver` does.
fn driver_task_metrics(level: crate::metrics::RecordingLevel) -> crate::metrics::task::TaskRegistry {
    let thread = std::thread::current();
    crate::metrics::task::TaskRegistry::new(thread.name().unwrap_or("main"), level)
}

/// Runs a topology synchronously on in-memory topics.
///
/// Every record piped in is processed at once, with everything it causes, before `pipe`
/// returns. Output topics hold bytes, as Kafka would, and are read back with codecs.
pub struct TestDriver {
    state: Rc<RefCell<State>>,
}

impl TestDriver {
    /// A driver where every topic has one partition and undecodable records stop it.
    pub fn new(topology: Topology) -> Self {
        TestDriver {
            state: Rc::new(RefCell::new(State {
                globals: topology.graph.global_stores(),
                application_id: DEFAULT_APPLICATION_ID.to_string(),
                topics: Topics {
                    graph: topology.graph.clone(),
                    application_id: DEFAULT_APPLICATION_ID.to_string(),
                    default_partitions: 1,
                    partitions: HashMap::new(),
                    logs: FxHashMap::default(),
                    seq: 0,
                    pending: VecDeque::new(),
                },
                topology,
                tasks: FxHashMap::default(),
                policy: RecordPolicy::default(),
                wall_clock: 0,
                task_metrics: driver_task_metrics(crate::metrics::RecordingLevel::Info),
                global_metrics: None,
                cache_capacity: crate::config::cache_capacity_of(crate::config::DEFAULT_CACHE_MAX_BYTES),
            })),
        }
    }

    /// Gives every topic `n` partitions unless set otherwise with [`Self::with_topic_partitions`].
    pub fn with_partitions(self, n: u32) -> Self {
        assert!(n > 0, "a topic needs at least one partition");
        self.state.borrow_mut().topics.default_partitions = n;
        self
    }

    /// Gives `topic` `n` partitions.
    pub fn with_topic_partitions(self, topic: &str, n: u32) -> Self {
        assert!(n > 0, "a topic needs at least one partition");
        self.state.borrow_mut().topics.partitions.insert(topic.to_string(), n);
        self
    }

    /// The `application.id`, which prefixes internal topics (default `test`).
    pub fn with_application_id(self, id: &str) -> Self {
        {
            let mut state = self.state.borrow_mut();
            state.application_id = id.to_string();
            state.topics.application_id = id.to_string();
        }
        self
    }

    /// Kafka's `statestore.cache.max.bytes` (default 10 MiB, as in Kafka's `TopologyTestDriver`):
    /// aggregations and materialized tables coalesce the updates of a key that one input record
    /// makes (a line with a word twice counts it once, with 2), since the driver commits (and so
    /// flushes its caches) after every record, as Kafka's does. 0 forwards every update.
    pub fn with_cache_max_bytes(self, bytes: usize) -> Self {
        self.state.borrow_mut().cache_capacity = crate::config::cache_capacity_of(bytes);
        self
    }

    /// A key-value store by name, merged over every task (partition) that has it; `None`
    /// if no task has a store of that name holding `K` and `V` (yet).
    pub fn key_value_store<K: StoreKey, V: Data>(&self, name: &str) -> Option<Vec<(K, V)>> {
        let state = self.state.borrow();
        let stores: Vec<_> =
            state.tasks.values().filter_map(|t| t.stores().find::<KeyValueStore<K, V>>(name)).collect();
        if stores.is_empty() {
            return None;
        }
        Some(stores.iter().flat_map(|s| s.all()).collect())
    }

    /// A versioned key-value store by name (Kafka's `getVersionedKeyValueStore`), over every
    /// task that has it; `None` if no task has a versioned store of that name holding `K`
    /// and `V` (yet).
    pub fn versioned_store<K: StoreKey, V: Data>(&self, name: &str) -> Option<VersionedStoreView<K, V>> {
        let state = self.state.borrow();
        let stores: Vec<_> = state
            .tasks
            .values()
            .filter_map(|t| t.stores().find::<crate::state::versioned::VersionedKeyValueStore<K, V>>(name))
            .collect();
        (!stores.is_empty()).then_some(VersionedStoreView { stores })
    }

    /// A window store by name, merged over every task that has it: each key with its
    /// window and value.
    pub fn window_store<K: StoreKey, V: Data>(
        &self,
        name: &str,
    ) -> Option<Vec<(crate::windows::Windowed<K>, V)>> {
        let state = self.state.borrow();
        let stores: Vec<_> = state
            .tasks
            .values()
            .filter_map(|t| t.stores().find::<crate::state::window::WindowStore<K, V>>(name))
            .collect();
        (!stores.is_empty()).then(|| stores.iter().flat_map(|s| s.all()).collect())
    }

    /// A session store by name, merged over every task that has it.
    pub fn session_store<K: StoreKey, V: Data>(
        &self,
        name: &str,
    ) -> Option<Vec<(crate::windows::Windowed<K, crate::windows::SessionWindow>, V)>> {
        let state = self.state.borrow();
        let stores: Vec<_> = state
            .tasks
            .values()
            .filter_map(|t| t.stores().find::<crate::state::session::SessionStore<K, V>>(name))
            .collect();
        (!stores.is_empty()).then(|| stores.iter().flat_map(|s| s.all()).collect())
    }

    /// Which sensors record (`metrics.recording.level`; default `Info`). Set it before
    /// piping anything: tasks take it when they are created.
    pub fn with_recording_level(self, level: crate::metrics::RecordingLevel) -> Self {
        self.state.borrow_mut().task_metrics = driver_task_metrics(level);
        self.state.borrow_mut().global_metrics = None;
        self
    }

    /// The tasks' and processor nodes' metrics, with Kafka Streams' names (as Kafka's
    /// `TopologyTestDriver.metrics()`): `dropped-records-total`, `record-e2e-latency-*`
    /// measured against the driver's wall clock ([`Self::advance_wall_clock`]), ... Tagged
    /// with the name of the thread that created the driver, as Kafka's.
    pub fn metrics(&self) -> Vec<crate::Metric> {
        let mut state = self.state.borrow_mut();
        state.tasks.values_mut().for_each(Task::publish_metrics);
        let mut out = Vec::new();
        state.task_metrics.report(&mut out);
        if !state.globals.updaters.is_empty() {
            let State { global_metrics, globals, task_metrics, .. } = &mut *state;
            global_metrics
                .get_or_insert_with(|| task_metrics.global_task(globals.dropped.clone()))
                .report(&mut out);
        }
        out
    }

    /// Records windowed operators dropped for arriving after their window closed.
    pub fn dropped_records(&self) -> u64 {
        self.state.borrow().tasks.values().map(Task::dropped).sum()
    }

    /// What to do with records that cannot be decoded.
    pub fn on_decode_error(self, policy: OnDecodeError) -> Self {
        self.state.borrow_mut().policy.decode = policy;
        self
    }

    /// What to do with records whose timestamp is negative (Kafka's
    /// `default.timestamp.extractor`; fail, by default).
    pub fn on_invalid_timestamp(self, policy: crate::config::OnInvalidTimestamp) -> Self {
        self.state.borrow_mut().policy.timestamps = policy;
        self
    }

    /// What to do when processing a record panics (Kafka's `processing.exception.handler`;
    /// fail, by default: `pipe` panics with the error, `try_pipe_record` returns it).
    pub fn on_processing_error(self, policy: crate::config::OnProcessingError) -> Self {
        self.state.borrow_mut().policy.processing = policy;
        self
    }

    /// What to do when a produced record cannot be serialized (Kafka's
    /// `production.exception.handler`; fail, by default, whatever the processing-error policy).
    pub fn on_production_error(self, policy: crate::config::OnProductionError) -> Self {
        self.state.borrow_mut().policy.production = policy;
        self
    }

    /// A typed handle to write into `topic` with codecs `KC` and `VC`.
    pub fn input<KC: Codec, VC: Codec>(&self, topic: &str) -> TestInputTopic<KC, VC> {
        TestInputTopic { state: self.state.clone(), topic: topic.to_string(), _codecs: PhantomData }
    }

    /// A typed handle to read `topic` with codecs `KC` and `VC`, from its start.
    pub fn output<KC: Codec, VC: Codec>(&self, topic: &str) -> TestOutputTopic<KC, VC> {
        TestOutputTopic {
            state: self.state.clone(),
            topic: topic.to_string(),
            after: 0,
            _codecs: PhantomData,
        }
    }

    /// Moves wall-clock time forward, running the wall-clock punctuations that fall due
    /// (Kafka's `advanceWallClockTime`).
    ///
    /// # Panics
    /// If a punctuation fails and the processing-error policy says to stop; see
    /// [`Self::try_advance_wall_clock`].
    pub fn advance_wall_clock(&self, by: Duration) {
        if let Err(e) = self.try_advance_wall_clock(by) {
            panic!("{e}");
        }
    }

    /// As [`Self::advance_wall_clock`], returning what stopped processing, if anything.
    pub fn try_advance_wall_clock(&self, by: Duration) -> Result<(), StreamsError> {
        self.state.borrow_mut().advance_wall_clock(by)
    }

    /// Current wall-clock time (ms), starting at 0.
    pub fn wall_clock(&self) -> i64 {
        self.state.borrow().wall_clock
    }

    /// Records skipped or dead-lettered because they could not be decoded.
    pub fn skipped_records(&self) -> u64 {
        self.state.borrow().tasks.values().map(Task::skipped).sum()
    }

    /// Names of the topics that hold records.
    pub fn topics(&self) -> Vec<String> {
        let mut names: Vec<String> = self.state.borrow().topics.logs.keys().map(|t| t.to_string()).collect();
        names.sort();
        names
    }

    /// The partition count of `topic`.
    pub fn partition_count(&self, topic: &str) -> u32 {
        self.state.borrow().topics.partition_count(topic)
    }
}

/// Writes typed records into a topic of a [`TestDriver`].
pub struct TestInputTopic<KC, VC> {
    state: Rc<RefCell<State>>,
    topic: String,
    _codecs: PhantomData<fn(KC, VC)>,
}

impl<KC: Codec, VC: Codec> TestInputTopic<KC, VC> {
    /// Pipes one record with timestamp `timestamp` (ms).
    ///
    /// # Panics
    /// If processing fails (with the decode-error policy `Fail`); the message names the
    /// topic, partition and offset. If the topology does not read the topic (as Kafka's
    /// `TopologyTestDriver`, "Unknown topic"). [`Self::try_pipe_record`] returns the error
    /// instead.
    pub fn pipe(&self, key: KC::Value, value: VC::Value, timestamp: i64) {
        self.pipe_record(Record::new(key, value, timestamp))
    }

    /// Pipes `(key, value, timestamp)` triples in order.
    pub fn pipe_all(&self, records: impl IntoIterator<Item = (KC::Value, VC::Value, i64)>) {
        for (k, v, ts) in records {
            self.pipe(k, v, ts);
        }
    }

    /// Pipes a record with headers.
    ///
    /// # Panics
    /// As [`Self::pipe`].
    pub fn pipe_record(&self, record: Record<KC::Value, VC::Value>) {
        if let Err(e) = self.try_pipe_record(record) {
            panic!("{e}");
        }
    }

    /// Pipes a record, returning what stopped processing, if anything.
    pub fn try_pipe_record(&self, record: Record<KC::Value, VC::Value>) -> Result<(), StreamsError> {
        let fail = |part, codec, source| StreamsError::Serialization {
            target: format!("topic `{}`", self.topic),
            part,
            codec,
            source,
        };
        let key = KC::encode(&record.key).map_err(|e| fail(RecordPart::Key, KC::name(), e))?;
        let value = VC::encode(&record.value).map_err(|e| fail(RecordPart::Value, VC::name(), e))?;
        self.try_pipe_raw(key, value, record.timestamp, record.headers)
    }

    /// Pipes bytes as they are, bypassing the codecs (to test bad input).
    pub fn try_pipe_raw(
        &self,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        headers: Headers,
    ) -> Result<(), StreamsError> {
        let mut state = self.state.borrow_mut();
        // As Kafka's `TopologyTestDriver.pipeRecord` ("Unknown topic: …"): a record piped
        // into a topic nothing reads is a mistake in the test (a misspelt name, an output
        // topic), not a record to keep silently.
        let global = state.globals.updaters.iter().any(|(t, _)| *t == self.topic);
        if !global && !state.topics.is_read(&self.topic) {
            let mut read: Vec<String> =
                state.topology.source_topics().iter().map(|t| format!("`{t}`")).collect();
            read.extend(state.globals.updaters.iter().map(|(t, _)| format!("`{t}`")));
            read.extend(state.topology.graph.sources.iter().filter_map(|s| match &s.topics {
                SourceTopics::Pattern(p) => Some(format!("the pattern `{p}`")),
                SourceTopics::Names(_) => None,
            }));
            return Err(StreamsError::Usage(format!(
                "unknown topic `{}`: the topology reads {}",
                self.topic,
                read.join(", ")
            )));
        }
        state.topics.append(&self.topic, key, value, timestamp, headers);
        // A global table's topic updates its store at once, before any task reads it.
        if state.globals.updaters.iter().any(|(t, _)| *t == self.topic) {
            let log = &state.topics.logs[self.topic.as_str()];
            let last = log.partitions.iter().flatten().max_by_key(|(seq, _)| *seq).map(|(_, r)| r.clone());
            if let Some(raw) = last {
                state.globals.apply(&raw)?;
            }
        }
        state.run()
    }
}

/// Reads typed records from a topic of a [`TestDriver`]; each read consumes what it returns.
pub struct TestOutputTopic<KC, VC> {
    state: Rc<RefCell<State>>,
    topic: String,
    /// Records with a sequence number up to this one were read.
    after: u64,
    _codecs: PhantomData<fn(KC, VC)>,
}

impl<KC: Codec, VC: Codec> TestOutputTopic<KC, VC> {
    fn take(&mut self, partition: Option<u32>) -> Vec<RawRecord> {
        let state = self.state.borrow();
        let Some(log) = state.topics.logs.get(self.topic.as_str()) else { return Vec::new() };
        let mut unread: Vec<&(u64, Arc<RawRecord>)> = log
            .partitions
            .iter()
            .enumerate()
            .filter(|(p, _)| partition.is_none_or(|want| want as usize == *p))
            .flat_map(|(_, records)| records.iter())
            .filter(|(seq, _)| *seq > self.after)
            .collect();
        unread.sort_by_key(|(seq, _)| *seq);
        if partition.is_none() {
            if let Some((seq, _)) = unread.last() {
                self.after = *seq;
            }
        }
        unread.into_iter().map(|(_, r)| RawRecord::clone(r)).collect()
    }

    fn decode(raw: RawRecord) -> Record<KC::Value, VC::Value> {
        let where_ = format!("{}-{} offset {}", raw.topic, raw.partition, raw.offset);
        let key = KC::decode(raw.key.as_deref())
            .unwrap_or_else(|e| panic!("cannot read the key at {where_} with `{}`: {e}", KC::name()));
        let value = VC::decode(raw.value.as_deref())
            .unwrap_or_else(|e| panic!("cannot read the value at {where_} with `{}`: {e}", VC::name()));
        Record { key, value, timestamp: raw.timestamp, headers: raw.headers }
    }

    /// Unread records, in the order they were written.
    pub fn read_records(&mut self) -> Vec<Record<KC::Value, VC::Value>> {
        self.take(None).into_iter().map(Self::decode).collect()
    }

    /// Unread `(key, value, timestamp)` triples, in the order they were written.
    pub fn read_all(&mut self) -> Vec<(KC::Value, VC::Value, i64)> {
        self.read_records().into_iter().map(|r| (r.key, r.value, r.timestamp)).collect()
    }

    /// Unread `(key, value)` pairs, in the order they were written.
    pub fn read_key_values(&mut self) -> Vec<(KC::Value, VC::Value)> {
        self.read_records().into_iter().map(|r| (r.key, r.value)).collect()
    }

    /// Every record of one partition, in offset order (does not consume).
    pub fn partition(&mut self, partition: u32) -> Vec<Record<KC::Value, VC::Value>> {
        let saved = self.after;
        self.after = 0;
        let records = self.take(Some(partition));
        self.after = saved;
        records.into_iter().map(Self::decode).collect()
    }

    /// Every record as bytes, with partition and offset (does not consume).
    pub fn raw(&self) -> Vec<RawRecord> {
        let state = self.state.borrow();
        let Some(log) = state.topics.logs.get(self.topic.as_str()) else { return Vec::new() };
        let mut all: Vec<&(u64, Arc<RawRecord>)> = log.partitions.iter().flatten().collect();
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, r)| RawRecord::clone(r)).collect()
    }

    /// Whether everything written has been read.
    pub fn is_empty(&mut self) -> bool {
        let after = self.after;
        let state = self.state.borrow();
        state
            .topics
            .logs
            .get(self.topic.as_str())
            .is_none_or(|log| log.partitions.iter().flatten().all(|(seq, _)| *seq <= after))
    }
}

/// A versioned store of a [`TestDriver`], over its tasks (a key lives in one of them).
pub struct VersionedStoreView<K, V> {
    stores: Vec<Arc<crate::state::versioned::VersionedKeyValueStore<K, V>>>,
}

impl<K: StoreKey, V: Data> VersionedStoreView<K, V> {
    /// The key's latest value and its timestamp.
    pub fn get(&self, key: &K) -> Option<(V, i64)> {
        self.stores.iter().find_map(|s| s.get(key))
    }

    /// The key's value as of `as_of` (Kafka's `get(key, asOfTimestamp)`).
    pub fn get_as_of(&self, key: &K, as_of: i64) -> Option<(V, i64)> {
        self.stores.iter().find_map(|s| s.get_as_of(key, as_of))
    }
}
