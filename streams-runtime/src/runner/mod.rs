//! `KafkaStreams`: runs a topology on a [`Cluster`] with `num.stream.threads` threads.
//!
//! Each task (one partition of one sub-topology) belongs to one thread. A thread fetches
//! its tasks' input partitions, processes records in timestamp order across a task's
//! inputs, and commits every `commit.interval.ms`: stores write their changelogs, then the
//! processed positions are committed for the group `application.id`. A task restores its
//! stores from their changelogs before it processes anything.

mod control;
mod embedded;
mod engine;
mod global;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "kafka")]
mod kafka;
pub(crate) mod offset_metadata;
pub(crate) mod plan;
pub mod query;
mod state;
#[cfg(feature = "kafka")]
mod state_updater;
mod thread;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[cfg(feature = "kafka")]
use rdkafka::consumer::{BaseConsumer, Consumer as _};
#[cfg(feature = "kafka")]
use rdkafka::{Offset, TopicPartitionList};

#[cfg(feature = "kafka")]
use crate::cluster::kafka::{kafka_error, watermarks, KafkaClients};
use crate::cluster::Cluster;
#[cfg(feature = "kafka")]
use crate::config::OnDecodeError;
use crate::config::{ProcessingGuarantee, RecordPolicy, StreamsConfig};
use crate::dsl::Topology;
use crate::error::StreamsError;
use crate::graph::Data;
use crate::metrics::prometheus::MetricsServer;
use crate::metrics::{Metric, MetricName, MetricValue, ThreadMetrics, CLIENT_GROUP};
use crate::ops::global_table::GlobalStores;
use crate::state::{KeyValueStore, StoreKey, StoreRegistry};
use embedded::StreamThread;
use global::{GlobalInput, GlobalThread};
use plan::TaskSpec;
use thread::ThreadCommon;

pub use state::State;
use state::StateCell;

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
    /// Each running task's stores, by (sub-topology, partition).
    pub(crate) stores: Mutex<BTreeMap<(usize, u32), StoreRegistry>>,
    pub(crate) error: Mutex<Option<StreamsError>>,
    /// Stream threads replaced after a failure (`ThreadResponse::ReplaceThread`).
    pub(crate) replaced_threads: AtomicU64,
    pub(crate) state: StateCell,
    /// Where this application's shutdown requests go (`ThreadResponse::ShutdownApplication`).
    pub(crate) shutdown_requests: Mutex<Option<Arc<dyn control::ShutdownRequests>>>,
    /// Each stream thread's sensors, for [`KafkaStreams::metrics`].
    pub(crate) threads: Mutex<Vec<Arc<ThreadMetrics>>>,
    /// The global task's metrics, when the topology has global tables.
    pub(crate) global_task: Mutex<Option<crate::metrics::task::GlobalTaskMetrics>>,
    /// Per sub-topology: inputs, partitions and stores (interactive queries).
    pub(crate) layout: Mutex<Vec<query::Layout>>,
    /// On Kafka, who owns which partition (interactive queries).
    pub(crate) owners: Mutex<Option<Arc<dyn query::Owners>>>,
}

/// What a stream thread does after an error it could not handle: Kafka's
/// `StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThreadResponse {
    /// Close the thread's tasks dirty and start a new thread in its place: its tasks are
    /// rebuilt from their changelogs and go on from the last committed offsets.
    ReplaceThread,
    /// Stop every thread of this instance; `KafkaStreams::run` returns the error (the
    /// default, as in Kafka Streams).
    ShutdownClient,
    /// Stop every instance of the application (every `KafkaStreams` with this
    /// `application.id` on the cluster): this one returns the error, the others
    /// [`StreamsError::ApplicationShutdown`] with its text. The request travels in the topic
    /// `<application.id>-shutdown-requests`, which each instance watches.
    ShutdownApplication,
}

/// Kafka's `StreamsUncaughtExceptionHandler`: called with the error that stopped a stream
/// thread (a failed record under `LogAndFail…` handlers, a panic outside a record, a fatal
/// broker error).
pub(crate) type UncaughtExceptionHandler = Arc<dyn Fn(&StreamsError) -> ThreadResponse + Send + Sync>;

/// An offset per topic partition.
type PartitionOffsets = BTreeMap<(String, u32), u64>;

/// Processed positions of the partitions one thread's tasks read.
type Positions = Arc<Mutex<PartitionOffsets>>;

/// The end offset of a topic partition.
type EndOffset = Box<dyn Fn(&str, u32) -> u64 + Send + Sync>;

/// Where the application's topics live.
enum Backend {
    Embedded(Arc<dyn Cluster>),
    #[cfg(feature = "kafka")]
    Kafka(Arc<KafkaClients>),
}

/// What every stream thread is configured with.
struct ThreadSettings {
    policy: RecordPolicy,
    commit_interval: Duration,
    cache_capacity: usize,
    globals: Arc<GlobalStores>,
    purge_interval: Duration,
    recording_level: crate::metrics::RecordingLevel,
}

/// A running application (Kafka's `KafkaStreams`).
pub struct KafkaStreams {
    topology: Topology,
    config: StreamsConfig,
    backend: Backend,
    shared: Arc<Shared>,
    /// Producers still writing input: `RunMode::UntilDrained` waits for them.
    open_inputs: Arc<AtomicU64>,
    uncaught: UncaughtExceptionHandler,
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
        Self::with_backend(topology, config, Backend::Embedded(cluster))
    }

    /// An application running `topology` on the Kafka cluster of `bootstrap.servers`.
    #[cfg(feature = "kafka")]
    pub fn connect(topology: Topology, config: StreamsConfig) -> Result<Self, StreamsError> {
        let clients = Arc::new(KafkaClients::new(&config)?);
        Ok(Self::with_backend(topology, config, Backend::Kafka(clients)))
    }

    fn with_backend(topology: Topology, config: StreamsConfig, backend: Backend) -> Self {
        // As in Kafka, the optimizations are the builder's business; say so when the config
        // asks for some the topology was not built with.
        if let (Some(_), Ok(asked)) = (config.get("topology.optimization"), config.topology_optimization()) {
            if asked != topology.graph.optimizations {
                tracing::warn!(
                    "topology.optimization is applied when the topology is built: build it with `StreamsBuilder::build_with(&config)` (or `#![optimization = \"..\"]` in `topology!`)"
                );
            }
        }
        let shared = Arc::new(Shared {
            shutdown: AtomicBool::new(false),
            flush_epoch: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            stores: Mutex::new(BTreeMap::new()),
            error: Mutex::new(None),
            replaced_threads: AtomicU64::new(0),
            state: StateCell::default(),
            shutdown_requests: Mutex::new(None),
            threads: Mutex::new(Vec::new()),
            global_task: Mutex::new(None),
            layout: Mutex::new(Vec::new()),
            owners: Mutex::new(None),
        });
        KafkaStreams {
            topology,
            config,
            backend,
            shared,
            open_inputs: Arc::new(AtomicU64::new(0)),
            uncaught: Arc::new(|_| ThreadResponse::ShutdownClient),
        }
    }

    /// Decides what a stream thread does after an error it could not handle (Kafka's
    /// `setUncaughtExceptionHandler`); without one, the instance shuts down and `run`
    /// returns the error.
    pub fn set_uncaught_exception_handler(
        &mut self,
        handler: impl Fn(&StreamsError) -> ThreadResponse + Send + Sync + 'static,
    ) -> &mut Self {
        self.uncaught = Arc::new(handler);
        self
    }

    /// Stream threads replaced after a failure so far.
    pub fn replaced_threads(&self) -> u64 {
        self.shared.replaced_threads.load(Ordering::Relaxed)
    }

    /// Declares input still being written (a paced demo, a producer): the run does not end
    /// as drained before the guard is dropped.
    pub fn open_input(&self) -> InputGuard {
        self.open_inputs.fetch_add(1, Ordering::SeqCst);
        InputGuard(self.open_inputs.clone())
    }

    /// Asks every thread to commit and stop.
    pub fn shutdown(&self) {
        self.shared.state.advance(State::PendingShutdown);
        self.shared.shutdown.store(true, Ordering::SeqCst);
    }

    /// Where the application stands (Kafka's `KafkaStreams.state()`).
    pub fn state(&self) -> State {
        self.shared.state.get()
    }

    /// Calls `listener(new, old)` on every change of [`state`](Self::state) (Kafka's
    /// `setStateListener`), from whichever thread makes it.
    pub fn set_state_listener(
        &mut self,
        listener: impl Fn(State, State) + Send + Sync + 'static,
    ) -> &mut Self {
        self.shared.state.set_listener(Arc::new(listener));
        self
    }

    /// Records skipped or dead-lettered because they could not be decoded.
    pub fn skipped_records(&self) -> u64 {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    /// Records processed so far.
    pub fn processed_records(&self) -> u64 {
        self.shared.processed.load(Ordering::Relaxed)
    }

    /// The instance's metrics, with Kafka Streams' names, groups and tags: client-level
    /// (`stream-metrics`: `state`, `alive-stream-threads`, ...) and thread-level
    /// (`stream-thread-metrics`: `process-rate`, `poll-latency-avg`, `commit-total`, ...).
    /// See [`metrics`](crate::metrics).
    pub fn metrics(&self) -> Vec<Metric> {
        let application_id = self.config.application_id().unwrap_or_default().to_string();
        let client_id = self.config.get("client.id").map_or_else(|| application_id.clone(), str::to_string);
        client_metrics(&self.shared, &client_id, &application_id, &self.topology)
    }

    /// Serves [`metrics`](Self::metrics) in Prometheus' text format at
    /// `http://ADDR/metrics` until the returned server is dropped (`--metrics-addr`).
    pub fn serve_metrics(&self, addr: &str) -> std::io::Result<MetricsServer> {
        let (shared, topology) = (self.shared.clone(), self.topology.clone());
        let application_id = self.config.application_id().unwrap_or_default().to_string();
        let client_id = self.config.get("client.id").map_or_else(|| application_id.clone(), str::to_string);
        MetricsServer::start(addr, move || client_metrics(&shared, &client_id, &application_id, &topology))
    }

    /// A read-only snapshot of a key-value store, merged over this instance's tasks, or of a
    /// global table's store (Kafka's interactive queries).
    pub fn key_value_store<K: StoreKey, V: Data>(&self, name: &str) -> Option<Vec<(K, V)>> {
        let registries = self.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
        let stores: Vec<_> =
            registries.values().filter_map(|r| r.find::<KeyValueStore<K, V>>(name)).collect();
        (!stores.is_empty()).then(|| stores.iter().flat_map(|s| s.all()).collect())
    }

    /// Notes each sub-topology's inputs, partitions and stores, for interactive queries.
    fn set_layout(&self, tasks: &[TaskSpec]) {
        let mut layout: BTreeMap<usize, query::Layout> = BTreeMap::new();
        for t in tasks {
            let l = layout.entry(t.subtopology).or_insert_with(|| query::Layout {
                subtopology: t.subtopology,
                inputs: t.inputs.clone(),
                partitions: 0,
                stores: self.topology.graph.stores_of(t.subtopology),
            });
            l.partitions = l.partitions.max(t.partition + 1);
        }
        *self.shared.layout.lock().unwrap_or_else(|p| p.into_inner()) = layout.into_values().collect();
    }

    /// Creates internal topics as Kafka Streams does before processing and checks source
    /// topics exist and are co-partitioned. Returns the tasks.
    fn prepare(&self, cluster: &dyn Cluster, application_id: &str) -> Result<Vec<TaskSpec>, StreamsError> {
        let existing: BTreeMap<String, u32> =
            cluster.topics().into_iter().filter_map(|t| cluster.partitions(&t).map(|n| (t, n))).collect();
        let plan = plan::plan(&self.topology.graph, application_id, &existing)?;
        for topic in &plan.internal {
            cluster.create_topic(&topic.name, topic.partitions)?;
        }
        Ok(plan.tasks)
    }

    /// Runs until `mode` says to stop; the first fatal error (such as an undecodable
    /// record under the `Fail` policy) stops every thread and is returned.
    ///
    /// On Kafka, [`RunMode::UntilDrained`] means this instance has been assigned every input
    /// partition and processed each to its end: it is meant for one instance alone.
    pub async fn run(&self, mode: RunMode) -> Result<(), StreamsError> {
        if !self.shared.state.advance(State::Rebalancing) {
            return Err(StreamsError::Usage(format!(
                "this instance is {}: an instance runs once; create a new `KafkaStreams`",
                self.state()
            )));
        }
        let result = self.run_threads(mode).await;
        if result.is_err() {
            self.shared.state.advance(State::PendingError);
            self.shared.state.advance(State::Error);
        } else {
            self.shared.state.advance(State::PendingShutdown);
            self.shared.state.advance(State::NotRunning);
        }
        result
    }

    async fn run_threads(&self, mode: RunMode) -> Result<(), StreamsError> {
        let application_id = self.config.application_id()?.to_string();
        self.config.log_unknown_keys();
        let threads = self.config.num_stream_threads()?;
        let settings = ThreadSettings {
            policy: self.config.record_policy()?,
            commit_interval: self.config.commit_interval()?,
            cache_capacity: self.config.cache_capacity()?,
            globals: Arc::new(self.topology.graph.global_stores()),
            purge_interval: self.config.repartition_purge_interval()?,
            recording_level: self.config.metrics_recording_level()?,
        };
        let repartition_topics: Arc<BTreeSet<String>> = Arc::new(
            self.topology
                .graph
                .internal_topics
                .iter()
                .map(|t| {
                    crate::graph::resolve_topic(&self.topology.graph.internal_topics, t, &application_id)
                })
                .collect(),
        );
        if !settings.globals.updaters.is_empty() {
            let client_id = self.config.get("client.id").unwrap_or(&application_id);
            *self.shared.global_task.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(crate::metrics::task::GlobalTaskMetrics::new(
                    &format!("{client_id}-GlobalStreamThread"),
                    settings.recording_level,
                    settings.globals.dropped.clone(),
                ));
        }
        // Persistent stores: the application's state directory, locked while the threads run.
        let persistent = self.config.persistent_dsl_stores()? || self.topology.graph.persistent_user_stores;
        let mut state = match persistent {
            true => Some(crate::state::persistent::StateDirectory::open(
                &self.config.state_dir(),
                &application_id,
            )?),
            false => None,
        };
        let exactly_once = self.config.processing_guarantee()? == ProcessingGuarantee::ExactlyOnceV2;
        let mut positions: Vec<Positions> = Vec::new();
        let mut idle = Vec::new();
        let mut flushed = Vec::new();
        let mut rebalancing = Vec::new();
        let mut handles = Vec::new();
        let client_id = self.config.get("client.id").unwrap_or(&application_id).to_string();
        let mut new_common = |id: usize| {
            let metrics = Arc::new(ThreadMetrics::new(
                format!("{client_id}-StreamThread-{}", id + 1),
                thread::now_ms(),
                settings.recording_level,
            ));
            self.shared.threads.lock().unwrap_or_else(|p| p.into_inner()).push(metrics.clone());
            let common = ThreadCommon {
                metrics,
                id,
                graph: self.topology.graph.clone(),
                application_id: application_id.clone(),
                policy: settings.policy.clone(),
                commit_interval: settings.commit_interval,
                cache_capacity: settings.cache_capacity,
                globals: settings.globals.clone(),
                purge_interval: settings.purge_interval,
                repartition_topics: repartition_topics.clone(),
                flushed_epoch: Arc::new(AtomicU64::new(0)),
                shared: self.shared.clone(),
                idle: Arc::new(AtomicBool::new(false)),
                positions: Arc::default(),
                uncaught: self.uncaught.clone(),
                rebalancing: Arc::new(AtomicBool::new(true)),
                state: state.clone(),
                exactly_once,
            };
            rebalancing.push(common.rebalancing.clone());
            positions.push(common.positions.clone());
            idle.push(common.idle.clone());
            flushed.push(common.flushed_epoch.clone());
            Arc::new(common)
        };
        #[cfg_attr(not(feature = "kafka"), allow(unused_assignments))]
        let mut global = None;
        // Global stores answer interactive queries too (under a key no task has).
        self.shared
            .stores
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(query::GLOBAL_TASK, settings.globals.stores.clone());
        let (mut expected, end_offset): (Vec<(String, u32)>, EndOffset) = match &self.backend {
            Backend::Embedded(cluster) => {
                let tasks = self.prepare(cluster.as_ref(), &application_id)?;
                self.set_layout(&tasks);
                let expected = partitions_of(&tasks);
                tracing::info!(application_id, tasks = tasks.len(), threads, "starting");
                self.watch_shutdown_requests(Arc::new(control::EmbeddedRequests::new(
                    cluster.clone(),
                    &application_id,
                )?));
                let from = self.bootstrap_globals_embedded(cluster.as_ref(), &settings.globals)?;
                global = Some((GlobalInput::Embedded(cluster.clone()), from));
                let mut assignment: Vec<Vec<TaskSpec>> = vec![Vec::new(); threads];
                for (i, task) in tasks.into_iter().enumerate() {
                    assignment[i % threads].push(task);
                }
                for (id, specs) in assignment.into_iter().enumerate() {
                    let thread = StreamThread { common: new_common(id), cluster: cluster.clone() };
                    handles.push(tokio::task::spawn_blocking(move || thread.run(specs)));
                }
                let cluster = cluster.clone();
                (expected, Box::new(move |t: &str, p: u32| cluster.end_offset(t, p)))
            }
            #[cfg(feature = "kafka")]
            Backend::Kafka(clients) => {
                let plan = Arc::new(self.prepare_kafka(clients, &application_id).await?);
                self.set_layout(&plan.tasks);
                let owners: Arc<dyn query::Owners> =
                    Arc::new(kafka::GroupOwners::new(clients, &application_id)?);
                *self.shared.owners.lock().unwrap_or_else(|p| p.into_inner()) = Some(owners);
                tracing::info!(application_id, tasks = plan.tasks.len(), threads, "starting on Kafka");
                if !self.topology.graph.globals.is_empty() {
                    let (consumer, from) =
                        self.bootstrap_globals_kafka(clients, &settings.globals, &application_id)?;
                    global = Some((GlobalInput::Kafka(consumer), from));
                }
                self.watch_shutdown_requests(Arc::new(control::KafkaRequests::new(
                    clients.clone(),
                    &application_id,
                )?));
                for id in 0..threads {
                    let thread = kafka::KafkaThread {
                        common: new_common(id),
                        clients: clients.clone(),
                        plan: plan.clone(),
                        exactly_once,
                        application_server: self.config.get("application.server").map(str::to_string),
                    };
                    handles.push(tokio::task::spawn_blocking(move || thread.run()));
                }
                let ends = clients.plain_consumer(&format!("{application_id}-drain-check"))?;
                (
                    partitions_of(&plan.tasks),
                    Box::new(move |t: &str, p: u32| {
                        watermarks(&ends, t, p).map_or(u64::MAX, |(_, high)| high)
                    }),
                )
            }
        };
        if let Some((input, from)) = global.filter(|(_, from)| !from.is_empty()) {
            expected.extend(from.keys().cloned());
            let thread = GlobalThread {
                input,
                globals: settings.globals.clone(),
                shared: self.shared.clone(),
                idle: Arc::new(AtomicBool::new(false)),
                positions: Arc::new(Mutex::new(from)),
            };
            positions.push(thread.positions.clone());
            idle.push(thread.idle.clone());
            handles.push(tokio::task::spawn_blocking(move || thread.run()));
        }
        let drained = || {
            let mut all: BTreeMap<(String, u32), u64> = BTreeMap::new();
            for p in &positions {
                all.extend(p.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.clone(), *v)));
            }
            expected.iter().all(|k| all.contains_key(k))
                && all.iter().all(|((t, p), pos)| *pos >= end_offset(t, *p))
        };
        match mode {
            RunMode::UntilDrained => loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                if self.shared.shutdown.load(Ordering::SeqCst) {
                    break;
                }
                self.note_running(&rebalancing);
                let all_idle = idle.iter().all(|i| i.load(Ordering::SeqCst));
                if !all_idle || self.open_inputs.load(Ordering::SeqCst) > 0 || !drained() {
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
                if drained() {
                    // Every thread processed to the end: it was running, however briefly.
                    self.note_running(&rebalancing);
                    break;
                }
            },
            RunMode::UntilShutdown => {
                tokio::select! {
                    _ = shutdown_signal() => tracing::info!("shutdown requested"),
                    _ = async { while !self.shared.shutdown.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        self.note_running(&rebalancing);
                    } } => {}
                }
            }
        }
        if self.shared.error.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            self.shared.state.advance(State::PendingError);
        }
        self.shutdown();
        for h in handles {
            h.await.map_err(|e| StreamsError::InvalidTopology(format!("a stream thread panicked: {e}")))?;
        }
        // Persistent stores close with their threads, so the state directory is unlocked once
        // `run` returns (Kafka's `close()`: no queries after it); in-memory ones stay
        // queryable.
        if state.take().is_some() {
            let mut stores = self.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
            stores.retain(|task, _| *task == query::GLOBAL_TASK);
        }
        match self.shared.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Lets the threads request the application's shutdown, and stops this instance when
    /// another one does.
    fn watch_shutdown_requests(&self, requests: Arc<dyn control::ShutdownRequests>) {
        *self.shared.shutdown_requests.lock().unwrap_or_else(|p| p.into_inner()) = Some(requests.clone());
        control::watch(self.shared.clone(), requests);
    }

    /// `Running` once no stream thread is rebalancing (waiting for an assignment, restoring,
    /// rebuilding tasks), `Rebalancing` while one is.
    fn note_running(&self, rebalancing: &[Arc<AtomicBool>]) {
        let running = rebalancing.iter().all(|r| !r.load(Ordering::SeqCst));
        self.shared.state.advance(if running { State::Running } else { State::Rebalancing });
    }

    /// Global tables on the embedded cluster: every partition read before any task starts.
    /// Returns where the global thread goes on from.
    fn bootstrap_globals_embedded(
        &self,
        cluster: &dyn Cluster,
        globals: &GlobalStores,
    ) -> Result<PartitionOffsets, StreamsError> {
        let mut positions = BTreeMap::new();
        for g in &self.topology.graph.globals {
            let n = cluster
                .partitions(&g.topic)
                .ok_or_else(|| StreamsError::MissingSourceTopic(g.topic.clone()))?;
            for partition in 0..n {
                let mut offset = 0;
                loop {
                    let batch = cluster.fetch(&g.topic, partition, offset, 10_000);
                    if batch.is_empty() {
                        break;
                    }
                    for raw in &batch {
                        globals.apply(raw)?;
                    }
                    offset += batch.len() as u64;
                }
                positions.insert((g.topic.clone(), partition), offset);
            }
        }
        Ok(positions)
    }

    /// Global tables on Kafka: every partition read to its end before any task starts.
    /// Returns a consumer assigned every global partition from (at most) where the bootstrap
    /// stopped, and those offsets (a record read twice is applied again, in order, which
    /// leaves a table as it was).
    #[cfg(feature = "kafka")]
    fn bootstrap_globals_kafka(
        &self,
        clients: &KafkaClients,
        globals: &GlobalStores,
        application_id: &str,
    ) -> Result<(BaseConsumer, PartitionOffsets), StreamsError> {
        let existing = clients.topics()?;
        let consumer = clients.plain_consumer(&format!("{application_id}-global-consumer"))?;
        let mut positions = BTreeMap::new();
        for g in &self.topology.graph.globals {
            let n =
                existing.get(&g.topic).ok_or_else(|| StreamsError::MissingSourceTopic(g.topic.clone()))?;
            let partitions: Vec<u32> = (0..*n).collect();
            for &p in &partitions {
                positions.insert((g.topic.clone(), p), watermarks(&consumer, &g.topic, p)?.1);
            }
            let read =
                clients.read_to_end(&consumer, &g.topic, &partitions, |raw| globals.apply(&raw).map(drop))?;
            tracing::info!(topic = %g.topic, records = read, "global table loaded");
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), offset) in &positions {
            tpl.add_partition_offset(topic, *partition as i32, Offset::Offset(*offset as i64))
                .map_err(|e| kafka_error("cannot assign", e))?;
        }
        consumer.assign(&tpl).map_err(|e| kafka_error("cannot read the global topics", e))?;
        Ok((consumer, positions))
    }

    /// The Kafka layout: topics read from the cluster's metadata, sink and dead-letter
    /// topics checked, internal topics created through the admin client.
    #[cfg(feature = "kafka")]
    async fn prepare_kafka(
        &self,
        clients: &KafkaClients,
        application_id: &str,
    ) -> Result<plan::Plan, StreamsError> {
        let existing = clients.topics()?;
        let plan = plan::plan(&self.topology.graph, application_id, &existing)?;
        let mut outputs = self.topology.graph.sink_topics();
        if let OnDecodeError::DeadLetter(topic) = self.config.on_decode_error()? {
            outputs.push(topic);
        }
        if let Some(missing) = outputs.into_iter().find(|t| !existing.contains_key(t)) {
            return Err(StreamsError::MissingSinkTopic(missing));
        }
        let replication: i32 = match self.config.get("replication.factor") {
            None => -1,
            Some(v) => v.parse().map_err(|_| {
                StreamsError::Config(format!("`replication.factor` = `{v}` is not a valid number"))
            })?,
        };
        let additional = self.config.window_changelog_additional_retention()?;
        let mut topics: Vec<(String, u32, BTreeMap<String, String>)> = plan
            .internal
            .iter()
            .map(|t| (t.name.clone(), t.partitions, t.kind.configs(additional)))
            .collect();
        topics.push((
            control::requests_topic(application_id),
            1,
            crate::cluster::kafka::KafkaClients::kept_configs(),
        ));
        clients.create_topics(&topics, replication).await?;
        Ok(plan)
    }

    /// Deletes this application's local state, `state.dir/<application.id>` (Kafka's
    /// `KafkaStreams.cleanUp`): persistent stores and their checkpoints, so the next start
    /// restores everything from the changelogs. Refused while an instance uses the directory.
    pub fn clean_up(&self) -> Result<(), StreamsError> {
        let application_id = self.config.application_id()?;
        crate::state::persistent::StateDirectory::clean_up(&self.config.state_dir(), application_id)
    }

    /// The application reset tool (needs the `kafka` feature).
    #[cfg(not(feature = "kafka"))]
    pub async fn reset(&self) -> Result<(), StreamsError> {
        Err(StreamsError::Usage("`--reset` needs the Kafka backend: build with the `kafka` feature".into()))
    }
}

/// Every topic partition the tasks read.
fn partitions_of(tasks: &[TaskSpec]) -> Vec<(String, u32)> {
    let mut all: Vec<(String, u32)> =
        tasks.iter().flat_map(|t| t.inputs.iter().map(|i| (i.clone(), t.partition))).collect();
    all.sort();
    all.dedup();
    all
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

/// Kafka Streams' client-level metrics (`ClientMetrics`), then every thread's.
fn client_metrics(
    shared: &Shared,
    client_id: &str,
    application_id: &str,
    topology: &Topology,
) -> Vec<Metric> {
    let threads = shared.threads.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut out = Vec::new();
    let mut put = |name: &str, description: &str, value: MetricValue| {
        out.push(Metric {
            name: MetricName {
                group: CLIENT_GROUP,
                name: name.into(),
                tags: vec![("client-id", client_id.into())],
            },
            description: description.into(),
            value,
        })
    };
    put(
        "version",
        "The version of the Kafka Streams client",
        MetricValue::Text(env!("CARGO_PKG_VERSION").into()),
    );
    put(
        "application-id",
        "The application ID of the Kafka Streams client",
        MetricValue::Text(application_id.into()),
    );
    put(
        "topology-description",
        "The description of the topology executed in the Kafka Streams client",
        MetricValue::Text(topology.describe().to_string()),
    );
    put("state", "The state of the Kafka Streams client", MetricValue::Text(shared.state.get().to_string()));
    let alive = threads.iter().filter(|t| t.alive.load(Ordering::SeqCst)).count();
    put(
        "alive-stream-threads",
        "The current number of alive stream threads that are running or participating in rebalance",
        MetricValue::Number(alive as f64),
    );
    put(
        "failed-stream-threads",
        "The number of failed stream threads since the start of the Kafka Streams client",
        MetricValue::Number(shared.replaced_threads.load(Ordering::Relaxed) as f64),
    );
    for t in &threads {
        t.report(&mut out);
    }
    if let Some(global) = &*shared.global_task.lock().unwrap_or_else(|p| p.into_inner()) {
        global.report(&mut out);
    }
    out
}
