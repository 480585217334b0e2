//! The stream thread's engine, written once for every cluster: a task manager (active,
//! suspended and restoring tasks, as Kafka Streams' `TaskManager`), one processing loop and
//! one failure model (Kafka Streams' `StreamThread.runLoop` with its answers to
//! `TaskCorruptedException` / `TaskMigratedException`). Where records come from, where
//! produced records and committed positions go, and how stores are restored is the
//! [`Backend`]'s: the embedded cluster (`embedded.rs`) and Kafka (`kafka.rs`).

use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::plan::TaskSpec;
use super::thread::{flush_and_log, process_buffered, Collecting, Input, ThreadCommon};
use crate::error::StreamsError;
use crate::graph::Changelog;
use crate::metrics::task::TaskMetrics;
use crate::metrics::LoopTurn;
use crate::record::RawRecord;
use crate::state::StoreRegistry;
use crate::task::Task;

/// A task: (sub-topology, partition).
pub(super) type TaskKey = (usize, u32);

/// Where the consumer fetches next, per input partition (past transaction markers and
/// compacted gaps); empty where the backend fetches from the tasks' own positions.
pub(super) type FetchPositions = HashMap<(Arc<str>, u32), u64>;

/// What a stream thread runs on: a consumer's side (assignment, fetching, pausing), a
/// producer's side ([`Backend::Producer`]) and a restorer.
pub(super) trait Backend: Sized {
    /// An input record as the backend hands it out.
    type Record: Borrow<RawRecord>;
    /// Where produced records go. It lives with the tasks: a rebalance commits through it.
    type Producer: Producer;
    /// Restores new tasks' stores and reads where they start.
    type Restorer: Restorer;

    /// Moves fetched records into the active tasks' input buffers, waiting up to `wait` when
    /// none is there; returns how many. New assignments are noted in `Worker::pending` and
    /// taken (`Worker::take_assignment`) before the next record is placed.
    fn poll(&self, worker: &Mutex<Worker<Self>>, wait: Duration) -> Result<usize, StreamsError>;
    /// The partitions assigned to this thread now.
    fn assignment(&self) -> Result<Vec<(String, u32)>, StreamsError>;
    /// Stops fetching the partitions of a task being restored.
    fn pause(&self, inputs: &[Input<Self::Record>]);
    /// Fetches a task's inputs from their positions (again): after a restore, or for a
    /// suspended task given back (records handed out meanwhile were dropped).
    fn resume_at(&self, inputs: &[Input<Self::Record>]) -> Result<(), StreamsError>;
    /// See [`FetchPositions`].
    fn fetch_positions(&self) -> FetchPositions;
    /// The offset the next record of a partition will get, if it can be read now.
    fn end_offset(&self, topic: &str, partition: u32) -> Option<u64>;
    /// A partition's end as the consumer last saw it, without asking the cluster (for the
    /// consumer lag metric); `None` if it has not seen one.
    fn known_end_offset(&self, topic: &str, partition: u32) -> Option<u64>;
    /// The second half of a commit, after caches are flushed and changelogs written: the
    /// produced records and the positions made durable (a transaction committed, or records
    /// acknowledged and offsets committed).
    fn commit(&self, worker: &mut Worker<Self>, positions: Vec<CommitOffset>) -> Result<(), StreamsError>;
    /// After a failure: ends what the producer left open (or replaces the producer) and
    /// forgets the delivery reports of what it sent before.
    fn reset_output(&self, worker: &mut Worker<Self>) -> Result<(), StreamsError>;
    /// Keeps the consumer served for `time` (group membership, coordinator, rebalances)
    /// while the tasks are broken; what it hands out meanwhile is dropped (the rebuilt tasks
    /// read it again from the committed offsets).
    fn serve(&self, time: Duration);
    /// Leaves the group (the thread stops or recreates its clients).
    fn leave(&self) {}
    /// Deletes the records of repartition topic partitions below the given offsets, which
    /// are committed (Kafka Streams' `TaskManager.maybePurgeCommittedRecords`); best effort,
    /// without waiting.
    fn purge(&self, _below: &[(Arc<str>, u32, u64)]) {}
}

/// Where a restored task starts on one input: the group's committed offset (or the earliest),
/// and the metadata committed with it.
pub(super) type Committed = (u64, Option<String>);

/// An input partition's position to commit, with its metadata (Kafka's
/// `TopicPartitionMetadata`, encoded): topic, partition, offset, metadata.
pub(super) type CommitOffset = (Arc<str>, u32, u64, String);

/// The producer's side of a [`Backend`].
pub(super) trait Producer: Send {
    /// A collector sending through this producer.
    fn collector(&self) -> impl Collecting + '_;
    /// Serves delivery reports.
    fn poll(&self) {}
    /// Aborts the open transaction, if there is one.
    fn abort(&self) -> Result<(), StreamsError> {
        Ok(())
    }
    /// The offset of the last record acknowledged on a changelog partition, if known.
    fn written(&self, _topic: &str, _partition: u32) -> Option<u64> {
        None
    }
}

/// Kafka Streams' state updater as the engine sees it: new tasks' stores are restored (in the
/// background or at once) and handed back with each input's position to start at.
pub(super) trait Restorer: Send {
    /// Restores `stores` of task `key`, which reads `inputs`, from `changelogs` (one per
    /// store, in order), counting in `metrics`.
    fn add(
        &mut self,
        key: TaskKey,
        inputs: Vec<String>,
        stores: StoreRegistry,
        changelogs: Vec<Changelog>,
        metrics: Arc<TaskMetrics>,
    );
    /// Drops task `key`'s restoration, if it has one.
    fn cancel(&mut self, key: TaskKey);
    fn cancel_all(&mut self);
    /// Whether no task is being restored.
    fn is_idle(&self) -> bool;
    /// The tasks restored since the last call, with each input's position.
    fn take_restored(&mut self) -> Vec<(TaskKey, Result<Vec<Committed>, StreamsError>)>;
}

/// How long a partition's end, read from the cluster, is trusted when deciding whether a task
/// waits for one of its inputs.
const END_FRESH: Duration = Duration::from_millis(100);

/// How often the thread samples its consumer's lag (`records-lag-max`).
const LAG_INTERVAL: Duration = Duration::from_millis(100);

/// How often the thread logs where its tasks stand (at debug level).
const STATUS_INTERVAL: Duration = Duration::from_secs(5);

/// How long the thread tries to rebuild its tasks on the same clients before it recreates
/// them (a consumer whose group membership or coordinator is stuck after a broker restart).
pub(super) const CLIENT_RESET_AFTER: Duration = Duration::from_secs(30);

/// How long the tasks may stay broken (the broker away) before the thread gives up: Kafka
/// Streams' `task.timeout.ms` default.
const TASK_TIMEOUT: Duration = Duration::from_secs(300);

/// A task with its inputs.
pub(super) struct RunningTask<R> {
    pub(super) task: Task,
    pub(super) inputs: Vec<Input<R>>,
    /// Per input: its end as last read from the cluster, and when.
    ends: Vec<Option<(Instant, u64)>>,
}

/// The thread's tasks, as Kafka Streams' `TaskManager`; shared by the loop and the
/// backend's rebalance callbacks.
pub(super) struct Worker<B: Backend> {
    pub(super) common: Arc<ThreadCommon>,
    /// Every task of the application; an assignment selects some.
    specs: Arc<[TaskSpec]>,
    pub(super) tasks: BTreeMap<TaskKey, RunningTask<B::Record>>,
    /// Revoked tasks, kept in case the next assignment gives them back.
    suspended: BTreeMap<TaskKey, RunningTask<B::Record>>,
    /// New tasks whose stores are being restored; their partitions are paused.
    restoring: BTreeMap<TaskKey, RunningTask<B::Record>>,
    restorer: B::Restorer,
    /// Partitions assigned by the last rebalance, not yet turned into tasks.
    pub(super) pending: Option<Vec<(String, u32)>>,
    pub(super) producer: B::Producer,
    /// A failure met in a rebalance callback, for the loop to answer.
    pub(super) error: Option<StreamsError>,
    /// The tasks are being rebuilt: a revocation meanwhile commits nothing.
    pub(super) recovering: bool,
    /// Whether the group has given this thread an assignment yet.
    pub(super) assigned: bool,
}

pub(super) fn lock<B: Backend>(worker: &Mutex<Worker<B>>) -> MutexGuard<'_, Worker<B>> {
    worker.lock().unwrap_or_else(|p| p.into_inner())
}

impl<B: Backend> Worker<B> {
    pub(super) fn new(
        common: Arc<ThreadCommon>,
        specs: Arc<[TaskSpec]>,
        producer: B::Producer,
        restorer: B::Restorer,
    ) -> Self {
        Worker {
            common,
            specs,
            tasks: BTreeMap::new(),
            suspended: BTreeMap::new(),
            restoring: BTreeMap::new(),
            restorer,
            pending: None,
            producer,
            error: None,
            recovering: false,
            assigned: false,
        }
    }

    fn thread(&self) -> usize {
        self.common.id
    }

    /// Whether any active task has records buffered.
    pub(super) fn buffered(&self) -> bool {
        self.tasks.values().any(|t| t.inputs.iter().any(|i| !i.buffer.is_empty()))
    }

    /// Whether a task is being restored for this partition.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(super) fn is_restoring(&self, key: TaskKey) -> bool {
        self.restoring.contains_key(&key)
    }

    /// Right after a commit: the positions of the running tasks' repartition topic inputs,
    /// which are committed offsets now.
    fn purgeable(&self) -> Vec<(Arc<str>, u32, u64)> {
        let repartition = &self.common.repartition_topics;
        self.tasks
            .values()
            .flat_map(|t| &t.inputs)
            .filter(|i| i.position > 0 && repartition.contains(&*i.topic))
            .map(|i| (i.topic.clone(), i.partition, i.position))
            .collect()
    }

    /// The whole commit: caches flushed downstream and changelogs written (through the
    /// producer), then the backend's half.
    pub(super) fn commit(&mut self, backend: &B) -> Result<(), StreamsError> {
        self.commit_with(|w, positions| backend.commit(w, positions))
    }

    /// A commit whose second half is `durable` (a rebalance callback has the consumer, not
    /// the backend).
    pub(super) fn commit_with(
        &mut self,
        durable: impl FnOnce(&mut Self, Vec<CommitOffset>) -> Result<(), StreamsError>,
    ) -> Result<(), StreamsError> {
        let mut collector = self.producer.collector();
        let mut parts: Vec<_> = self.tasks.values_mut().map(|t| (&mut t.task, t.inputs.as_slice())).collect();
        let positions = flush_and_log(&mut parts, &self.common.application_id, &mut collector)?;
        drop(collector);
        durable(self, positions)?;
        // At-least-once, what a commit made durable is checkpointed (exactly-once only when a
        // task is suspended or the instance stops: a crash must leave no checkpoint behind).
        if !self.common.exactly_once {
            self.checkpoint(self.tasks.iter());
        }
        Ok(())
    }

    /// Writes the checkpoint files of `tasks`' persistent stores (Kafka's
    /// `ProcessorStateManager.checkpoint`); a failure is logged (the next restore reads more).
    pub(super) fn checkpoint<'a>(
        &self,
        tasks: impl Iterator<Item = (&'a TaskKey, &'a RunningTask<B::Record>)>,
    ) where
        B: 'a,
    {
        let Some(dir) = &self.common.state else { return };
        for (key, t) in tasks {
            let Some(checkpoint) = t.task.checkpoint(|topic, p| self.producer.written(topic, p)) else {
                continue;
            };
            if let Err(e) = dir.write_checkpoint(*key, &checkpoint) {
                tracing::warn!(thread = self.thread(), error = %e, "cannot write a checkpoint");
            }
        }
    }

    /// Partitions revoked: the tasks reading any of them are suspended (their buffers
    /// emptied: the consumer fetches them again if they come back), restoring ones dropped.
    /// Eager rebalancing revokes everything; cooperative, only what moves.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(super) fn revoke(&mut self, revoked: &BTreeSet<(String, u32)>) {
        let suspending = reading_any(&self.tasks, revoked);
        for &key in &suspending {
            let mut t = self.tasks.remove(&key).expect("listed above");
            for i in &mut t.inputs {
                i.buffer.clear();
            }
            self.suspended.insert(key, t);
        }
        // Committed (unless the commit before this failed): checkpointed now, whatever the
        // guarantee (Kafka's `postCommit` of a suspended task), so that the thread or instance
        // taking a task over starts from its checkpoint, and no checkpoint is written later
        // for a store another owner has gone on writing.
        if self.error.is_none() && !self.recovering {
            self.checkpoint(self.suspended.iter().filter(|(k, _)| suspending.contains(k)));
        }
        // A restoring task has processed nothing: it is restored anew if it comes back.
        for key in reading_any(&self.restoring, revoked) {
            self.restoring.remove(&key);
            self.restorer.cancel(key);
        }
    }

    /// The tasks reading any of `lost` closed dirty (Kafka's `TaskManager.handleLostAll`, and
    /// its handling of a `CommitFailedException` on revocation): the group went on without
    /// this member, so another may have processed them since; their state is dropped (a
    /// persistent store's checkpoint too) and rebuilt from the changelogs if they come back,
    /// rather than resumed where this member left them.
    pub(super) fn lose(&mut self, lost: &BTreeSet<(String, u32)>) {
        let mut closing = reading_any(&self.tasks, lost);
        closing.extend(reading_any(&self.suspended, lost));
        let mut stores = self.common.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
        for key in &closing {
            tracing::info!(
                thread = self.thread(),
                subtopology = key.0,
                partition = key.1,
                "closing a lost task dirty"
            );
            self.tasks.remove(key);
            self.suspended.remove(key);
            stores.remove(key);
            if let Some(dir) = &self.common.state {
                dir.take_checkpoint(*key, true);
            }
        }
        drop(stores);
        self.common.metrics.tasks_closed(closing.len());
        for key in reading_any(&self.restoring, lost) {
            self.restoring.remove(&key);
            self.restorer.cancel(key);
        }
    }

    /// Every task closed dirty: nothing is committed, their state is dropped.
    pub(super) fn close_dirty(&mut self) {
        self.common.metrics.tasks_closed(self.tasks.len() + self.suspended.len() + self.restoring.len());
        // Their stores answer no more queries.
        let mut stores = self.common.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
        for key in self.tasks.keys().chain(self.suspended.keys()) {
            stores.remove(key);
        }
        drop(stores);
        self.tasks.clear();
        self.suspended.clear();
        self.restoring.clear();
        self.restorer.cancel_all();
    }

    /// Turns the last assignment into tasks: suspended tasks given back resume, others
    /// close; new tasks go to the restorer. Every task starts at the committed offsets.
    pub(super) fn take_assignment(&mut self, backend: &B) -> Result<(), StreamsError> {
        let Some(assigned) = self.pending.take() else { return Ok(()) };
        let thread = self.thread();
        let assigned: BTreeSet<(String, u32)> = assigned.into_iter().collect();
        let specs: Vec<TaskSpec> = self
            .specs
            .iter()
            .filter(|t| t.inputs.iter().all(|i| assigned.contains(&(i.clone(), t.partition))))
            .cloned()
            .collect();
        let covered: BTreeSet<(String, u32)> =
            specs.iter().flat_map(|t| t.inputs.iter().map(|i| (i.clone(), t.partition))).collect();
        for (topic, partition) in assigned.difference(&covered) {
            tracing::warn!(thread, topic, partition, "assigned a partition without the rest of its task");
        }
        let keep: BTreeSet<TaskKey> = specs.iter().map(|s| (s.subtopology, s.partition)).collect();
        // Tasks still active but no longer assigned (not revoked first) are suspended too.
        let gone: Vec<TaskKey> = self.tasks.keys().filter(|k| !keep.contains(k)).copied().collect();
        for key in gone {
            let t = self.tasks.remove(&key).expect("listed above");
            self.suspended.insert(key, t);
        }
        let dropped: Vec<TaskKey> = self.restoring.keys().filter(|k| !keep.contains(k)).copied().collect();
        for key in dropped {
            self.restoring.remove(&key);
            self.restorer.cancel(key);
        }
        let mut stores = self.common.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
        let mut closed = 0;
        for key in self.suspended.keys().filter(|k| !keep.contains(k)) {
            tracing::info!(thread, subtopology = key.0, partition = key.1, "closing task");
            stores.remove(key);
            closed += 1;
        }
        self.common.metrics.tasks_closed(closed);
        self.suspended.retain(|k, _| keep.contains(k));
        drop(stores);
        // Tasks that stay active go on where they are; suspended ones given back resume at
        // their positions (what they committed when revoked). New ones go to the restorer,
        // their partitions paused until it hands them back.
        let mut resumed = Vec::new();
        for spec in specs {
            let key = (spec.subtopology, spec.partition);
            if self.tasks.contains_key(&key) || self.restoring.contains_key(&key) {
                continue;
            }
            if let Some(t) = self.suspended.remove(&key) {
                // Exactly-once, a running task has no checkpoint (a crash must not trust its
                // stores): the one written when it was suspended goes.
                if let (Some(dir), true) = (&self.common.state, self.common.exactly_once) {
                    dir.take_checkpoint(key, true);
                }
                self.tasks.insert(key, t);
                resumed.push(key);
                continue;
            }
            let task = self.new_task(&spec);
            self.common.metrics.tasks_created(1);
            backend.pause(&task.inputs);
            let graph = &self.common.graph;
            let stores = task.task.stores().restorable(|s| graph.is_source_changelog(s));
            let changelogs =
                stores.iter().map(|s| graph.changelog(&self.common.application_id, s.name())).collect();
            self.restorer.add(key, spec.inputs.clone(), stores, changelogs, task.task.metrics_handle());
            self.restoring.insert(key, task);
        }
        for key in &resumed {
            backend.resume_at(&self.tasks[key].inputs)?;
        }
        tracing::info!(
            thread,
            tasks = self.tasks.len() + self.restoring.len(),
            resumed = resumed.len(),
            restoring = self.restoring.len(),
            "assignment taken"
        );
        self.publish_positions(&FetchPositions::new());
        Ok(())
    }

    /// Moves the tasks the restorer has restored to the active ones, at the positions it
    /// read, and lets their partitions be fetched again.
    fn finish_restores(&mut self, backend: &B) -> Result<(), StreamsError> {
        for (key, outcome) in self.restorer.take_restored() {
            let positions = outcome?;
            let Some(t) = self.restoring.get_mut(&key) else { continue };
            let mut metadata = Vec::new();
            for (i, (position, committed)) in t.inputs.iter_mut().zip(positions) {
                i.position = position;
                metadata.extend(committed.map(|m| (i.topic.clone(), m)));
            }
            t.task.initialize(metadata);
            // Failing, it stays restoring: every task is rebuilt (`recover`).
            backend.resume_at(&t.inputs)?;
            let t = self.restoring.remove(&key).expect("found above");
            self.common.register_stores(key, t.task.stores());
            self.tasks.insert(key, t);
            tracing::info!(
                thread = self.thread(),
                subtopology = key.0,
                partition = key.1,
                restoring = self.restoring.len(),
                "task restored; running"
            );
        }
        Ok(())
    }

    /// Processes a batch of every task that is ready; returns how many records.
    fn process_ready(&mut self, backend: &B) -> Result<usize, StreamsError> {
        let mut processed = 0;
        let Worker { tasks, producer, common, .. } = self;
        let mut spent = Vec::with_capacity(tasks.len());
        let wall_clock = super::thread::now_ms();
        for t in tasks.values_mut() {
            if t.task.has_punctuators() {
                // Kafka's `maybePunctuateSystemTime`, on every loop, ready or not.
                let mut collector = producer.collector();
                t.task.punctuate_wall_clock(wall_clock, &common.policy, &mut collector)?;
                if let Some(e) = collector.take_error() {
                    return Err(e);
                }
            }
            if !ready(t, backend) {
                spent.push(Duration::ZERO);
                continue;
            }
            let started = Instant::now();
            let mut collector = producer.collector();
            // With several inputs, a batch ends when one that had records runs out: its next
            // records may be older than the other inputs' heads.
            let stop_when_one_empties = t.inputs.len() > 1;
            processed += process_buffered(
                &mut t.task,
                &mut t.inputs,
                stop_when_one_empties,
                &common.policy,
                &mut collector,
                &common.shared,
            )?;
            if let Some(e) = collector.take_error() {
                return Err(e);
            }
            spent.push(started.elapsed());
        }
        // Kafka's `recordTaskProcessRatio`: each task's share of this turn's processing.
        let all: Duration = spent.iter().sum();
        if !all.is_zero() {
            for (t, spent) in tasks.values().zip(spent) {
                let buffered = t.inputs.iter().map(|i| i.buffer.len()).sum();
                t.task.metrics().record_turn(spent.as_secs_f64() / all.as_secs_f64(), buffered);
            }
        }
        Ok(processed)
    }

    /// Publishes how far each input is processed. An input with nothing buffered counts as
    /// far as the consumer's fetch position, which moves past transaction markers.
    fn publish_positions(&self, fetching: &FetchPositions) {
        let mut positions = self.common.positions.lock().unwrap_or_else(|p| p.into_inner());
        positions.clear();
        for t in self.tasks.values() {
            for i in &t.inputs {
                let fetched = match i.buffer.is_empty() {
                    true => fetching.get(&(i.topic.clone(), i.partition)).copied().unwrap_or(0),
                    false => 0,
                };
                positions.insert((i.topic.to_string(), i.partition), i.position.max(fetched));
            }
        }
    }

    /// The consumer's largest lag over the active tasks' inputs: a partition's end as last
    /// seen minus where the consumer fetches next (records fetched but not yet processed are
    /// not lag, as in Kafka's `records-lag-max`); `None` without any.
    fn records_lag(&self, backend: &B, fetching: &FetchPositions) -> Option<u64> {
        self.tasks
            .values()
            .flat_map(|t| &t.inputs)
            .filter_map(|i| {
                let end = backend.known_end_offset(&i.topic, i.partition)?;
                let fetch = fetching
                    .get(&(i.topic.clone(), i.partition))
                    .copied()
                    .unwrap_or(i.position + i.buffer.len() as u64);
                Some(end.saturating_sub(fetch))
            })
            .max()
    }

    /// A new task, its stores still empty and its positions unknown.
    fn new_task(&self, spec: &TaskSpec) -> RunningTask<B::Record> {
        let task = self.common.new_task(spec);
        let inputs: Vec<Input<B::Record>> = spec
            .inputs
            .iter()
            .map(|topic| Input {
                topic: Arc::from(topic.as_str()),
                partition: spec.partition,
                position: 0,
                buffer: VecDeque::new(),
            })
            .collect();
        let ends = vec![None; inputs.len()];
        RunningTask { task, inputs, ends }
    }

    /// Where every input of every task stands, against the consumer's fetch position.
    fn log_status(&self, fetching: &FetchPositions) {
        if !self.restoring.is_empty() || !self.suspended.is_empty() {
            tracing::debug!(
                thread = self.thread(),
                restoring = ?self.restoring.keys().collect::<Vec<_>>(),
                suspended = ?self.suspended.keys().collect::<Vec<_>>(),
                "status"
            );
        }
        for (key, t) in &self.tasks {
            for i in &t.inputs {
                tracing::debug!(
                    thread = self.thread(),
                    task = ?key,
                    topic = %i.topic,
                    partition = i.partition,
                    position = i.position,
                    buffered = i.buffer.len(),
                    fetch = ?fetching.get(&(i.topic.clone(), i.partition)),
                    "status"
                );
            }
        }
    }
}

/// The tasks among `tasks` that read any of the `revoked` partitions.
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
fn reading_any<R>(
    tasks: &BTreeMap<TaskKey, RunningTask<R>>,
    revoked: &BTreeSet<(String, u32)>,
) -> Vec<TaskKey> {
    tasks
        .iter()
        .filter(|(_, t)| t.inputs.iter().any(|i| revoked.contains(&(i.topic.to_string(), i.partition))))
        .map(|(k, _)| *k)
        .collect()
}

/// Whether a task may process now: it has records, and each input without records has
/// none waiting in the cluster either (else its next record may be older than the others':
/// Kafka Streams' `max.task.idle.ms` = 0).
fn ready<B: Backend>(t: &mut RunningTask<B::Record>, backend: &B) -> bool {
    if t.inputs.iter().all(|i| i.buffer.is_empty()) {
        return false;
    }
    if t.inputs.len() == 1 {
        return true;
    }
    let mut fetch_positions = None;
    for (i, end) in t.inputs.iter().zip(&mut t.ends) {
        if !i.buffer.is_empty() {
            continue;
        }
        let fetching = fetch_positions
            .get_or_insert_with(|| backend.fetch_positions())
            .get(&(i.topic.clone(), i.partition))
            .copied()
            .unwrap_or(0);
        let high = match end.filter(|(at, _)| at.elapsed() < END_FRESH) {
            Some((_, high)) => high,
            None => match backend.end_offset(&i.topic, i.partition) {
                Some(high) => {
                    *end = Some((Instant::now(), high));
                    high
                }
                None => return false,
            },
        };
        if i.position.max(fetching) < high {
            return false;
        }
    }
    true
}

/// How a stream thread's run on its clients ended.
pub(super) enum Exit {
    /// Shut down, as asked.
    Stopped,
    /// The tasks could not be rebuilt for [`CLIENT_RESET_AFTER`]: run again on new clients.
    ResetClients,
}

/// One stream thread's loop over its backend.
pub(super) struct Engine {
    pub(super) common: Arc<ThreadCommon>,
    /// Since when the tasks have been broken, across recreated clients (cleared by the next
    /// successful commit).
    broken_since: Cell<Option<Instant>>,
}

impl Engine {
    pub(super) fn new(common: Arc<ThreadCommon>) -> Self {
        Engine { common, broken_since: Cell::new(None) }
    }

    fn thread(&self) -> usize {
        self.common.id
    }

    /// Polls, restores, processes and commits until shut down. A failure of a commit, a poll
    /// or an assignment (the broker away, a transaction that timed out, a fenced producer)
    /// closes every task dirty and rebuilds it (`recover`); a failure of processing (a bad
    /// record, a panicking closure) commits what came before it and goes to the thread's
    /// uncaught-exception handler.
    pub(super) fn run<B: Backend>(
        &self,
        backend: &B,
        worker: &Mutex<Worker<B>>,
    ) -> Result<Exit, StreamsError> {
        let common = &self.common;
        let thread = self.thread();
        let mut last_commit = Instant::now();
        let mut last_purge = Instant::now();
        let mut last_status = Instant::now();
        let mut last_lag = Instant::now();
        // Why the tasks need rebuilding (since when: `broken_since`).
        let mut broken: Option<StreamsError> = None;
        // Since when the tasks on these clients have been broken or rebuilding (cleared by a
        // commit with every task running).
        let mut failing_here: Option<Instant> = None;
        let result = loop {
            if let Some(error) = broken.take() {
                if self.broken_since.get().is_some_and(|since| since.elapsed() > TASK_TIMEOUT) {
                    break Err(error);
                }
                if common.shared.shutdown.load(Ordering::SeqCst) {
                    // Nothing since the last commit is committed: the next owner redoes it.
                    tracing::warn!(thread, error = %error, "stopping with the tasks closed dirty");
                    let _ = lock(worker).producer.abort();
                    break Ok(Exit::Stopped);
                }
                if failing_here.get_or_insert_with(Instant::now).elapsed() > CLIENT_RESET_AFTER {
                    tracing::warn!(thread, error = %error, "cannot rebuild the tasks");
                    let _ = lock(worker).producer.abort();
                    break Ok(Exit::ResetClients);
                }
                // Keep the consumer served (group membership, coordinator, rebalances); what
                // it hands out now is read again from the committed offsets.
                lock(worker).recovering = true;
                common.set_rebalancing(true);
                backend.serve(Duration::from_millis(500));
                let mut w = lock(worker);
                match self.recover(&mut w, backend) {
                    Ok(()) => last_commit = Instant::now(),
                    Err(e) => {
                        tracing::warn!(thread, error = %e, "cannot rebuild the tasks yet; retrying");
                        drop(w);
                        std::thread::sleep(Duration::from_secs(1));
                        broken = Some(error);
                    }
                }
                continue;
            }
            if common.shared.shutdown.load(Ordering::SeqCst) {
                let mut w = lock(worker);
                let stopped = w.commit(backend).map(|()| Exit::Stopped);
                // A clean stop: the running tasks' stores are checkpointed, whatever the
                // guarantee (suspended ones were when they were suspended).
                if stopped.is_ok() {
                    w.checkpoint(w.tasks.iter());
                }
                break stopped;
            }
            let wait = if lock(worker).buffered() { Duration::ZERO } else { Duration::from_millis(10) };
            // Where this turn's time goes (Kafka's `StreamThread.runOnce` sensors).
            let (turn_started, mut turn) = (Instant::now(), LoopTurn::default());
            let polled = match backend.poll(worker, wait) {
                Ok(n) => n,
                Err(e) => {
                    broken = Some(self.broken(e));
                    continue;
                }
            };
            (turn.poll, turn.polled) = (turn_started.elapsed(), polled);
            let mut w = lock(worker);
            if let Some(e) = w.error.take() {
                broken = Some(self.broken(e));
                continue;
            }
            if let Err(e) = w.take_assignment(backend).and_then(|()| w.finish_restores(backend)) {
                broken = Some(self.broken(e));
                continue;
            }
            let settled = w.assigned && w.pending.is_none() && w.restoring.is_empty();
            common.set_rebalancing(!settled);
            w.producer.poll();
            let processing = Instant::now();
            let processed = match w.process_ready(backend) {
                Ok(n) => n,
                // Commit what was processed before the failing record, nothing past it.
                Err(e) => break w.commit(backend).and(Err(e)),
            };
            (turn.process, turn.processed) = (processing.elapsed(), processed);
            for t in w.tasks.values_mut() {
                let (calls, took) = t.task.take_punctuated();
                (turn.punctuated, turn.punctuate) = (turn.punctuated + calls, turn.punctuate + took);
            }
            let fetching = backend.fetch_positions();
            w.publish_positions(&fetching);
            if last_lag.elapsed() >= LAG_INTERVAL {
                last_lag = Instant::now();
                if let Some(lag) = w.records_lag(backend, &fetching) {
                    common.metrics.record_lag(lag);
                }
            }
            let epoch = common.shared.flush_epoch.load(Ordering::SeqCst);
            if last_commit.elapsed() >= common.commit_interval
                || epoch > common.flushed_epoch.load(Ordering::SeqCst)
            {
                let committing = Instant::now();
                if let Err(e) = w.commit(backend) {
                    broken = Some(self.broken(e));
                    continue;
                }
                turn.commit = Some(committing.elapsed());
                last_commit = Instant::now();
                self.broken_since.set(None);
                if w.restoring.is_empty() {
                    failing_here = None;
                }
                common.flushed_epoch.store(epoch, Ordering::SeqCst);
                if last_purge.elapsed() >= common.purge_interval {
                    last_purge = Instant::now();
                    let below = w.purgeable();
                    if !below.is_empty() {
                        backend.purge(&below);
                    }
                }
            }
            common.metrics.record_turn(&turn, turn_started.elapsed());
            let idle = polled == 0 && processed == 0 && w.restorer.is_idle();
            common.idle.store(idle, Ordering::SeqCst);
            if last_status.elapsed() >= STATUS_INTERVAL && tracing::enabled!(tracing::Level::DEBUG) {
                last_status = Instant::now();
                w.log_status(&backend.fetch_positions());
            }
        };
        if !matches!(result, Ok(Exit::Stopped)) {
            // Failed, or to run again on new clients: the tasks close dirty, and the revocation
            // that leaving the group brings commits nothing.
            let mut w = lock(worker);
            w.recovering = true;
            if result.is_err() {
                // Whatever the failed commit left open must not become visible.
                if let Err(e) = w.producer.abort() {
                    tracing::warn!(thread, error = %e, "abort failed");
                }
            }
            w.close_dirty();
        }
        // Leave the group now, so the partitions move at once (a clean stop's revocation
        // commits again).
        backend.leave();
        common.positions.lock().unwrap_or_else(|p| p.into_inner()).clear();
        result
    }

    /// After a failed commit, poll or assignment, as Kafka Streams answers
    /// `TaskCorruptedException` and `TaskMigratedException`: the open transaction is aborted
    /// (or the producer replaced, which aborts it), every task is closed dirty and built
    /// again from its changelogs, at the committed offsets. At-least-once, what the failed
    /// commit may have lost is processed again.
    fn recover<B: Backend>(&self, w: &mut Worker<B>, backend: &B) -> Result<(), StreamsError> {
        backend.reset_output(w)?;
        w.close_dirty();
        w.error = None;
        w.pending = Some(backend.assignment()?);
        w.take_assignment(backend)?;
        w.recovering = false;
        tracing::info!(
            thread = self.thread(),
            tasks = w.restoring.len(),
            "tasks closed dirty; rebuilding them from their changelogs"
        );
        Ok(())
    }

    /// Whether to try again after a failure outside the loop (new clients that cannot be made
    /// while the broker is away): yes while the tasks have been broken for less than
    /// [`TASK_TIMEOUT`] and the instance is not stopping.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(super) fn retry_after(&self, error: &StreamsError) -> bool {
        if self.broken_since.get().is_none() {
            self.broken_since.set(Some(Instant::now()));
        }
        let expired = self.broken_since.get().is_some_and(|since| since.elapsed() > TASK_TIMEOUT);
        let stopping = stopping(&self.common);
        if expired || stopping {
            tracing::warn!(thread = self.thread(), error = %error, expired, stopping, "giving up");
        }
        !expired && !stopping
    }

    /// Notes a failure the tasks are to be rebuilt after (and since when they are broken,
    /// if they were not already).
    fn broken(&self, error: StreamsError) -> StreamsError {
        if self.broken_since.get().is_none() {
            self.broken_since.set(Some(Instant::now()));
        }
        tracing::warn!(
            thread = self.thread(),
            error = %error,
            "closing the tasks dirty; they will be rebuilt from their changelogs"
        );
        self.common.idle.store(false, Ordering::SeqCst);
        error
    }
}

/// Whether the instance is shutting down.
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub(super) fn stopping(common: &ThreadCommon) -> bool {
    common.shared.shutdown.load(Ordering::SeqCst)
}
