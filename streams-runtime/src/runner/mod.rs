//! `KafkaStreams`: runs a topology on a [`Cluster`] with `num.stream.threads` threads.
//!
//! Each task (one partition of one sub-topology) belongs to one thread. A thread fetches
//! its tasks' input partitions, processes records in timestamp order across a task's
//! inputs, and commits every `commit.interval.ms`: stores write their changelogs, then the
//! processed positions are committed for the group `application.id`. A task restores its
//! stores from their changelogs before it processes anything.

mod thread;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cluster::Cluster;
use crate::config::StreamsConfig;
use crate::dsl::Topology;
use crate::error::StreamsError;
use crate::graph::{changelog_topic, resolve_topic, Data, SourceTopics};
use crate::state::{KeyValueStore, StoreKey, StoreRegistry};
use crate::task::whole_match;
use thread::{StreamThread, TaskSpec};

/// How long [`KafkaStreams::run`] goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Until every input and internal topic is processed to its end.
    UntilDrained,
    /// Until Ctrl-C, SIGTERM or [`KafkaStreams::shutdown`].
    UntilShutdown,
}

/// What threads share with the instance.
pub(crate) struct Shared {
    pub(crate) shutdown: AtomicBool,
    /// Bumped to ask every thread to commit (flushing record caches) once more.
    pub(crate) flush_epoch: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) processed: AtomicU64,
    pub(crate) stores: Mutex<Vec<StoreRegistry>>,
    pub(crate) error: Mutex<Option<StreamsError>>,
}

/// A running application (Kafka's `KafkaStreams`).
pub struct KafkaStreams {
    topology: Topology,
    config: StreamsConfig,
    cluster: Arc<dyn Cluster>,
    shared: Arc<Shared>,
    /// Producers still writing input: `RunMode::UntilDrained` waits for them.
    open_inputs: Arc<AtomicU64>,
}

/// Keeps [`RunMode::UntilDrained`] running while a producer is still writing input; drop it
/// when the input is complete.
pub struct InputGuard(Arc<AtomicU64>);

impl Drop for InputGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl KafkaStreams {
    /// An application running `topology` on `cluster` with `config`.
    pub fn new(topology: Topology, config: StreamsConfig, cluster: Arc<dyn Cluster>) -> Self {
        let shared = Arc::new(Shared {
            shutdown: AtomicBool::new(false),
            flush_epoch: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            stores: Mutex::new(Vec::new()),
            error: Mutex::new(None),
        });
        KafkaStreams { topology, config, cluster, shared, open_inputs: Arc::new(AtomicU64::new(0)) }
    }

    /// Declares input still being written (a paced demo, a producer): the run does not end
    /// as drained before the guard is dropped.
    pub fn open_input(&self) -> InputGuard {
        self.open_inputs.fetch_add(1, Ordering::SeqCst);
        InputGuard(self.open_inputs.clone())
    }

    /// Asks every thread to commit and stop.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
    }

    /// Records skipped or dead-lettered because they could not be decoded.
    pub fn skipped_records(&self) -> u64 {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    /// Records processed so far.
    pub fn processed_records(&self) -> u64 {
        self.shared.processed.load(Ordering::Relaxed)
    }

    /// A read-only snapshot of a key-value store, merged over this instance's tasks
    /// (Kafka's interactive queries).
    pub fn key_value_store<K: StoreKey, V: Data>(&self, name: &str) -> Option<Vec<(K, V)>> {
        let registries = self.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
        let stores: Vec<_> = registries.iter().filter_map(|r| r.find::<KeyValueStore<K, V>>(name)).collect();
        (!stores.is_empty()).then(|| stores.iter().flat_map(|s| s.all()).collect())
    }

    /// The run-time source topics of each sub-topology (patterns matched against the
    /// cluster's topics).
    fn source_topics(&self, application_id: &str) -> Vec<Vec<String>> {
        let graph = &self.topology.graph;
        let existing = self.cluster.topics();
        (0..graph.subtopologies.len())
            .map(|sub| {
                let mut topics: Vec<String> = graph
                    .sources_of(sub)
                    .flat_map(|s| match graph.resolved_topics(s, application_id) {
                        SourceTopics::Names(names) => names,
                        SourceTopics::Pattern(p) => {
                            let re = whole_match(&p);
                            existing.iter().filter(|t| re.is_match(t)).cloned().collect()
                        }
                    })
                    .collect();
                topics.sort();
                topics.dedup();
                topics
            })
            .collect()
    }

    /// Creates internal topics as Kafka Streams does before processing: repartition topics
    /// with the partition count of the sub-topology writing them, changelogs with that of
    /// their sub-topology. Checks source topics exist and are co-partitioned. Returns the
    /// tasks.
    fn prepare(&self, application_id: &str) -> Result<Vec<TaskSpec>, StreamsError> {
        let graph = &self.topology.graph;
        let internal: Vec<String> = graph
            .internal_topics
            .iter()
            .map(|t| resolve_topic(&graph.internal_topics, t, application_id))
            .collect();
        let writers = graph.internal_topic_writers(application_id);
        let sources = self.source_topics(application_id);
        let mut partitions: BTreeMap<String, u32> = BTreeMap::new();
        for topics in &sources {
            for t in topics.iter().filter(|t| !internal.contains(t)) {
                let n =
                    self.cluster.partitions(t).ok_or_else(|| StreamsError::MissingSourceTopic(t.clone()))?;
                partitions.insert(t.clone(), n);
            }
        }
        // Repartition topics in order of their writers: a writer may itself read one.
        let mut pending = writers.clone();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|(topic, sub)| {
                let known: Option<Vec<u32>> =
                    sources[*sub].iter().map(|t| partitions.get(t).copied()).collect();
                match known {
                    Some(ns) => {
                        partitions.insert(topic.clone(), ns.into_iter().max().unwrap_or(1));
                        false
                    }
                    None => true,
                }
            });
            if pending.len() == before {
                return Err(StreamsError::InvalidTopology(
                    "repartition topics depend on each other in a cycle".into(),
                ));
            }
        }
        for (topic, _) in &writers {
            self.cluster.create_topic(topic, partitions[topic])?;
        }
        let mut tasks = Vec::new();
        for (sub, topics) in sources.iter().enumerate() {
            let mut counts = topics.iter().map(|t| (t, partitions[t]));
            let Some((first, n)) = counts.next() else { continue };
            if let Some((other, m)) = counts.find(|(_, m)| *m != n) {
                return Err(StreamsError::NotCopartitioned {
                    left: first.clone(),
                    left_partitions: n,
                    right: other.clone(),
                    right_partitions: m,
                });
            }
            for store in graph.stores_of(sub) {
                self.cluster.create_topic(&changelog_topic(application_id, &store), n)?;
            }
            for partition in 0..n {
                tasks.push(TaskSpec { subtopology: sub, partition, inputs: topics.clone() });
            }
        }
        Ok(tasks)
    }

    /// Runs until `mode` says to stop; the first fatal error (such as an undecodable
    /// record under the `Fail` policy) stops every thread and is returned.
    pub async fn run(&self, mode: RunMode) -> Result<(), StreamsError> {
        let application_id = self.config.application_id()?.to_string();
        let threads = self.config.num_stream_threads()?;
        let commit_interval = self.config.commit_interval()?;
        let policy = self.config.on_decode_error()?;
        let cache_capacity = self.config.cache_capacity()?;
        let tasks = self.prepare(&application_id)?;
        tracing::info!(application_id, tasks = tasks.len(), threads, "starting");
        // Global tables: every partition read before any task starts, then kept up to date.
        let globals = Arc::new(self.topology.graph.global_stores());
        let mut global_positions: Vec<(String, u32, u64)> = Vec::new();
        for g in &self.topology.graph.globals {
            let n = self
                .cluster
                .partitions(&g.topic)
                .ok_or_else(|| StreamsError::MissingSourceTopic(g.topic.clone()))?;
            global_positions.extend((0..n).map(|p| (g.topic.clone(), p, 0)));
        }
        let poll_globals = |positions: &mut Vec<(String, u32, u64)>| -> Result<(), StreamsError> {
            for (topic, partition, offset) in positions.iter_mut() {
                loop {
                    let batch = self.cluster.fetch(topic, *partition, *offset, 10_000);
                    if batch.is_empty() {
                        break;
                    }
                    for raw in &batch {
                        globals.apply(raw)?;
                    }
                    *offset += batch.len() as u64;
                }
            }
            Ok(())
        };
        poll_globals(&mut global_positions)?;
        let mut assignment: Vec<Vec<TaskSpec>> = vec![Vec::new(); threads];
        for (i, task) in tasks.into_iter().enumerate() {
            assignment[i % threads].push(task);
        }
        let mut handles = Vec::new();
        let mut idle = Vec::new();
        let mut flushed = Vec::new();
        let positions = Arc::new(Mutex::new(BTreeMap::new()));
        for (id, specs) in assignment.into_iter().enumerate() {
            let thread = StreamThread {
                id,
                graph: self.topology.graph.clone(),
                cluster: self.cluster.clone(),
                application_id: application_id.clone(),
                policy: policy.clone(),
                commit_interval,
                cache_capacity,
                globals: globals.clone(),
                flushed_epoch: Arc::new(AtomicU64::new(0)),
                shared: self.shared.clone(),
                idle: Arc::new(AtomicBool::new(false)),
                positions: positions.clone(),
            };
            idle.push(thread.idle.clone());
            flushed.push(thread.flushed_epoch.clone());
            handles.push(tokio::task::spawn_blocking(move || thread.run(specs)));
        }
        let stop =
            async {
                match mode {
                    RunMode::UntilDrained => loop {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        if self.shared.shutdown.load(Ordering::SeqCst) {
                            break;
                        }
                        let all_idle = idle.iter().all(|i| i.load(Ordering::SeqCst));
                        let drained = positions.lock().unwrap_or_else(|p| p.into_inner()).iter().all(
                            |((t, p), pos): (&(String, u32), &u64)| *pos >= self.cluster.end_offset(t, *p),
                        );
                        if !(all_idle && drained) || self.open_inputs.load(Ordering::SeqCst) > 0 {
                            continue;
                        }
                        // Everything is read: have every thread commit once more, which flushes
                        // record caches; if that wrote nothing the topology reads, it is done.
                        let epoch = self.shared.flush_epoch.fetch_add(1, Ordering::SeqCst) + 1;
                        while !flushed.iter().all(|f| f.load(Ordering::SeqCst) >= epoch)
                            && !self.shared.shutdown.load(Ordering::SeqCst)
                        {
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                        let still_drained = positions.lock().unwrap_or_else(|p| p.into_inner()).iter().all(
                            |((t, p), pos): (&(String, u32), &u64)| *pos >= self.cluster.end_offset(t, *p),
                        );
                        if still_drained {
                            break;
                        }
                    },
                    RunMode::UntilShutdown => {
                        tokio::select! {
                            _ = shutdown_signal() => tracing::info!("shutdown requested"),
                            _ = async { while !self.shared.shutdown.load(Ordering::SeqCst) {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            } } => {}
                        }
                    }
                }
                self.shutdown();
            };
        stop.await;
        for h in handles {
            h.await.map_err(|e| StreamsError::InvalidTopology(format!("a stream thread panicked: {e}")))?;
        }
        match self.shared.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
