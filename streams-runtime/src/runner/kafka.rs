//! A stream thread on Apache Kafka: one consumer in the group `application.id`, one producer.
//!
//! The consumer subscribes to every source and repartition topic with the `range` assignor,
//! which gives one member the same partition number of every topic with that many partitions,
//! so co-partitioned inputs of a task land together. Assigned partitions become tasks: a new
//! task goes to the thread's state updater (`state_updater.rs`), which reads the group's
//! committed offsets and restores its stores from their changelogs while the other tasks run
//! (its partitions paused meanwhile), then starts at those offsets; on revocation every task commits (caches flushed, changelogs
//! and output acknowledged, then offsets) and the revoked ones are suspended, resumed without
//! a restore if the next assignment gives them back. The classic protocol revokes everything
//! (eager); with `consumer.group.protocol=consumer` (KIP-848) revocations are incremental and
//! the tasks that stay go on where they are. A failure closes the tasks dirty and rebuilds
//! them (see `recover`); a thread that cannot rebuild them recreates its clients.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use super::plan::{Plan, TaskSpec};
use super::state_updater::{RestoreClients, StateUpdater};
use super::thread::{flush_and_log, now_ms, process_buffered, Collecting, Input, ThreadCommon, FETCH};
use crate::cluster::kafka::{
    kafka_error, raw_record, watermarks, KafkaClients, KafkaProducer, REQUEST_TIMEOUT,
};
use crate::error::StreamsError;
use crate::graph::changelog_topic;
use crate::ops::{Placement, RecordCollector};
use crate::record::{Headers, RawRecord};
use crate::task::Task;

/// How long a partition's end, read from the broker, is trusted when deciding whether a task
/// waits for one of its inputs.
const END_FRESH: Duration = Duration::from_millis(100);

struct KafkaTask {
    task: Task,
    inputs: Vec<Input<RawRecord>>,
    /// Per input: its end as last read from the broker, and when.
    ends: Vec<Option<(Instant, u64)>>,
}

/// What the loop and the rebalance callbacks share.
struct Worker {
    tasks: BTreeMap<(usize, u32), KafkaTask>,
    /// Revoked tasks, kept in case the next assignment gives them back.
    suspended: BTreeMap<(usize, u32), KafkaTask>,
    /// New tasks whose stores the state updater is restoring; their partitions are paused.
    restoring: BTreeMap<(usize, u32), KafkaTask>,
    updater: StateUpdater,
    /// Partitions assigned by the last rebalance, not yet turned into tasks.
    pending: Option<Vec<(String, u32)>>,
    producer: KafkaProducer,
    application_id: String,
    /// `exactly_once_v2`: output, changelogs and input offsets commit in one transaction.
    exactly_once: bool,
    error: Option<StreamsError>,
    /// The tasks are being rebuilt: a revocation meanwhile commits nothing.
    recovering: bool,
    /// Whether the group has given this thread an assignment yet.
    assigned: bool,
    /// The thread's flag: waiting for an assignment, restoring or rebuilding tasks.
    rebalancing: Arc<std::sync::atomic::AtomicBool>,
}

/// Sends produced records through the thread's producer; the first failure is kept.
struct ProducerCollector<'a> {
    producer: &'a KafkaProducer,
    error: Option<StreamsError>,
}

impl Collecting for ProducerCollector<'_> {
    fn take_error(&mut self) -> Option<StreamsError> {
        self.error.take()
    }
}

impl RecordCollector for ProducerCollector<'_> {
    fn send_placed(
        &mut self,
        topic: &str,
        placement: Placement,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        headers: &Headers,
    ) {
        let partition = placement.choose(key.as_deref(), || self.producer.partitions(topic));
        let sent = partition
            .and_then(|p| self.producer.send(topic, p, key.as_deref(), value.as_deref(), timestamp, headers));
        if let Err(e) = sent {
            self.error.get_or_insert(e);
        }
    }
}

impl Worker {
    /// Caches flushed downstream and changelogs written; then, at-least-once, every record
    /// acknowledged and the processed positions committed for the group; exactly-once, the
    /// positions added to the producer's transaction and the transaction committed.
    fn commit<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Result<(), StreamsError> {
        let mut collector = ProducerCollector { producer: &self.producer, error: None };
        let mut parts: Vec<_> = self.tasks.values_mut().map(|t| (&mut t.task, t.inputs.as_slice())).collect();
        let positions = flush_and_log(&mut parts, &self.application_id, &mut collector)?;
        let mut offsets = TopicPartitionList::new();
        for (topic, partition, position) in positions {
            offsets
                .add_partition_offset(&topic, partition as i32, Offset::Offset(position as i64))
                .map_err(|e| kafka_error("cannot commit", e))?;
        }
        if self.exactly_once {
            let group = consumer
                .group_metadata()
                .ok_or_else(|| StreamsError::Kafka("the consumer has no group metadata".into()))?;
            return self.producer.commit_transaction(&offsets, &group);
        }
        self.producer.flush()?;
        if offsets.count() > 0 {
            if let Err(e) = consumer.commit(&offsets, CommitMode::Sync) {
                // The group moved on (a rebalance): the next owner reprocesses from the last
                // committed offsets, which at-least-once allows.
                tracing::warn!(error = %e, "offset commit failed; records since the last commit will be processed again");
            }
        }
        Ok(())
    }
}

fn lock(worker: &Mutex<Worker>) -> MutexGuard<'_, Worker> {
    worker.lock().unwrap_or_else(|p| p.into_inner())
}

/// Commits and suspends every task when partitions are revoked; records new assignments.
struct RebalanceHandler {
    worker: Arc<Mutex<Worker>>,
    thread: usize,
}

impl ClientContext for RebalanceHandler {}

impl ConsumerContext for RebalanceHandler {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let mut w = lock(&self.worker);
            if w.recovering {
                return;
            }
            w.rebalancing.store(true, Ordering::SeqCst);
            tracing::info!(thread = self.thread, partitions = tpl.count(), "partitions revoked; committing");
            if let Err(e) = w.commit(consumer) {
                w.error.get_or_insert(e);
            }
            // Eager (`range`): every partition is revoked. Cooperative (`group.protocol =
            // consumer`): only those moving; the other tasks go on as they are.
            let revoked: BTreeSet<(String, u32)> =
                tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition() as u32)).collect();
            for key in reading_any(&w.tasks, &revoked) {
                let mut t = w.tasks.remove(&key).expect("listed above");
                for i in &mut t.inputs {
                    i.buffer.clear();
                }
                w.suspended.insert(key, t);
            }
            // A restoring task has processed nothing: it is dropped, restored anew if it
            // comes back.
            for key in reading_any(&w.restoring, &revoked) {
                w.restoring.remove(&key);
                w.updater.cancel(key);
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                // The whole assignment: an incremental (cooperative) one lists only what it adds.
                let all = consumer.assignment().unwrap_or_else(|_| TopicPartitionList::clone(tpl));
                let assigned =
                    all.elements().iter().map(|e| (e.topic().to_string(), e.partition() as u32)).collect();
                let mut w = lock(&self.worker);
                w.pending = Some(assigned);
                w.assigned = true;
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::warn!(thread = self.thread, error = %e, "rebalance error"),
        }
    }
}

/// The tasks among `tasks` that read any of the `revoked` partitions.
fn reading_any(
    tasks: &BTreeMap<(usize, u32), KafkaTask>,
    revoked: &BTreeSet<(String, u32)>,
) -> Vec<(usize, u32)> {
    tasks
        .iter()
        .filter(|(_, t)| t.inputs.iter().any(|i| revoked.contains(&(i.topic.to_string(), i.partition))))
        .map(|(k, _)| *k)
        .collect()
}

/// A stream thread on Kafka: its tasks come and go with the group's assignments.
pub(crate) struct KafkaThread {
    pub(crate) common: ThreadCommon,
    pub(crate) clients: Arc<KafkaClients>,
    pub(crate) plan: Arc<Plan>,
    pub(crate) exactly_once: bool,
    /// Since when the tasks have been broken, across recreated clients (cleared by the next
    /// successful commit).
    pub(crate) broken_since: std::cell::Cell<Option<Instant>>,
}

impl KafkaThread {
    pub(crate) fn run(self) {
        // Kafka Streams' EOS v2 name: application, process, thread. A replacement thread
        // keeps it, so its producer fences the failed one's and aborts what it left open.
        let process = format!("{:x}{:x}", std::process::id(), now_ms());
        let transactional_id = format!("{}-{process}-{}", self.common.application_id, self.common.id + 1);
        self.common.run_reporting(|| loop {
            match self.run_tasks(&transactional_id)? {
                Exit::Stopped => return Ok(()),
                // Every client of the thread is new: a fresh group member, a producer that
                // fences the old one (same transactional id) and aborts what it left open.
                Exit::ResetClients => tracing::warn!(
                    thread = self.common.id,
                    "the tasks could not be rebuilt for {}s; recreating the thread's Kafka clients",
                    CLIENT_RESET_AFTER.as_secs()
                ),
            }
        });
    }

    fn client_id(&self, role: &str) -> String {
        format!("{}-StreamThread-{}-{role}", self.common.application_id, self.common.id + 1)
    }

    /// The thread's producer; exactly-once, transactional with Kafka Streams' EOS v2 id
    /// (application, process, thread), the same for a replacement, which fences the old one.
    fn new_producer(&self, transactional_id: &str) -> Result<KafkaProducer, StreamsError> {
        if self.exactly_once {
            self.clients.transactional_producer(&self.client_id("producer"), transactional_id)
        } else {
            self.clients.producer(&self.client_id("producer"))
        }
    }

    /// After a failed commit, poll or assignment (the broker away, a transaction that timed
    /// out, a fenced producer), as Kafka Streams answers `TaskCorruptedException` and
    /// `TaskMigratedException`: the open transaction is aborted (or the producer replaced,
    /// which aborts it), every task is closed dirty and built again from its changelogs, and
    /// the consumer goes back to the committed offsets. At-least-once, what the failed
    /// commit may have lost is processed again.
    fn recover<C: ConsumerContext>(
        &self,
        w: &mut Worker,
        consumer: &BaseConsumer<C>,
        transactional_id: &str,
    ) -> Result<(), StreamsError> {
        if self.exactly_once {
            let aborted = w.producer.abort_transaction().and_then(|()| w.producer.begin_transaction());
            if let Err(e) = aborted {
                tracing::warn!(thread = self.common.id, error = %e, "cannot abort; replacing the producer");
                // The old producer is closed (its messages purged) before the new one fences
                // it: a write of the old one landing after the abort markers would leave a
                // transaction open on its partition for good (a hanging transaction).
                let fresh = self
                    .clients
                    .uninitialized_transactional_producer(&self.client_id("producer"), transactional_id)?;
                drop(std::mem::replace(&mut w.producer, fresh));
                w.producer.init_transactions()?;
            }
        }
        // Delivery reports of what was sent before are stale now (purged by the abort, or
        // sent again from the committed offsets).
        w.producer.poll();
        w.producer.clear_delivery_error();
        w.tasks.clear();
        w.suspended.clear();
        w.restoring.clear();
        w.updater.cancel_all();
        w.error = None;
        let assignment = consumer.assignment().map_err(|e| kafka_error("cannot read the assignment", e))?;
        w.pending = Some(
            assignment.elements().iter().map(|e| (e.topic().to_string(), e.partition() as u32)).collect(),
        );
        self.take_assignment(w, consumer)?;
        w.recovering = false;
        tracing::info!(
            thread = self.common.id,
            tasks = w.restoring.len(),
            "tasks closed dirty; rebuilding them from their changelogs"
        );
        Ok(())
    }

    fn run_tasks(&self, transactional_id: &str) -> Result<Exit, StreamsError> {
        let producer = self.new_producer(transactional_id)?;
        let isolation = if self.exactly_once { "read_committed" } else { "read_uncommitted" };
        let updater = self.start_updater(isolation)?;
        let worker = Arc::new(Mutex::new(Worker {
            tasks: BTreeMap::new(),
            suspended: BTreeMap::new(),
            restoring: BTreeMap::new(),
            updater,
            pending: None,
            producer,
            application_id: self.common.application_id.clone(),
            exactly_once: self.exactly_once,
            error: None,
            recovering: false,
            assigned: false,
            rebalancing: self.common.rebalancing.clone(),
        }));
        let handler = RebalanceHandler { worker: worker.clone(), thread: self.common.id };
        // The classic protocol with the eager `range` assignor by default; with
        // `consumer.group.protocol=consumer` (KIP-848, brokers 4.0+) the broker's sticky
        // `range` assignor, which rebalances incrementally: only moving tasks pause.
        let assignor = match self.clients.setting("consumer", "group.protocol") {
            Some("consumer") => ("group.remote.assignor", "range"),
            _ => ("partition.assignment.strategy", "range"),
        };
        let consumer = self.clients.consumer_with(
            &self.client_id("consumer"),
            &[("group.id", &self.common.application_id), assignor, ("isolation.level", isolation)],
            handler,
        )?;
        let mut topics: Vec<&str> = self.plan.sources.iter().flatten().map(String::as_str).collect();
        topics.sort_unstable();
        topics.dedup();
        consumer.subscribe(&topics).map_err(|e| kafka_error("cannot subscribe", e))?;
        // Topic → (sub-topology, index among the task's inputs).
        let route: HashMap<&str, (usize, usize)> = self
            .plan
            .sources
            .iter()
            .enumerate()
            .flat_map(|(sub, ts)| ts.iter().enumerate().map(move |(i, t)| (t.as_str(), (sub, i))))
            .collect();
        let mut last_commit = Instant::now();
        let mut last_status = Instant::now();
        // Why the tasks need rebuilding (see `recover`; since when: `broken_since`).
        let mut broken: Option<StreamsError> = None;
        // Since when the tasks on these clients have been broken or rebuilding (cleared by a
        // commit with every task running).
        let mut failing_here: Option<Instant> = None;
        let result = loop {
            if let Some(error) = broken.take() {
                if self.broken_since.get().is_some_and(|since| since.elapsed() > TASK_TIMEOUT) {
                    break Err(error);
                }
                if self.common.shared.shutdown.load(Ordering::SeqCst) {
                    // Nothing since the last commit is committed: the next owner redoes it.
                    tracing::warn!(thread = self.common.id, error = %error, "stopping with the tasks closed dirty");
                    if self.exactly_once {
                        let _ = lock(&worker).producer.abort_transaction();
                    }
                    break Ok(Exit::Stopped);
                }
                if failing_here.get_or_insert_with(Instant::now).elapsed() > CLIENT_RESET_AFTER {
                    tracing::warn!(thread = self.common.id, error = %error, "cannot rebuild the tasks");
                    if self.exactly_once {
                        let _ = lock(&worker).producer.abort_transaction();
                    }
                    break Ok(Exit::ResetClients);
                }
                // Keep the consumer served (group membership, coordinator, rebalances);
                // what it hands out now is read again from the committed offsets.
                lock(&worker).recovering = true;
                self.common.rebalancing.store(true, Ordering::SeqCst);
                for _ in 0..10 {
                    if let Some(Err(e)) = consumer.poll(Duration::from_millis(50)) {
                        tracing::debug!(thread = self.common.id, error = %e, "consumer error while recovering");
                    }
                }
                let mut w = lock(&worker);
                match self.recover(&mut w, &consumer, transactional_id) {
                    Ok(()) => last_commit = Instant::now(),
                    Err(e) => {
                        tracing::warn!(thread = self.common.id, error = %e, "cannot rebuild the tasks yet; retrying");
                        drop(w);
                        std::thread::sleep(Duration::from_secs(1));
                        broken = Some(error);
                    }
                }
                continue;
            }
            if self.common.shared.shutdown.load(Ordering::SeqCst) {
                break lock(&worker).commit(&consumer).map(|()| Exit::Stopped);
            }
            let polled = match self.poll_records(&worker, &consumer, &route) {
                Ok(n) => n,
                Err(e) => {
                    broken = Some(self.broken(e));
                    continue;
                }
            };
            let mut w = lock(&worker);
            if let Some(e) = w.error.take() {
                broken = Some(self.broken(e));
                continue;
            }
            if let Err(e) =
                self.take_assignment(&mut w, &consumer).and_then(|()| self.finish_restores(&mut w, &consumer))
            {
                broken = Some(self.broken(e));
                continue;
            }
            let settled = w.assigned && w.pending.is_none() && w.restoring.is_empty();
            self.common.rebalancing.store(!settled, Ordering::SeqCst);
            w.producer.poll();
            let processed = match self.process_ready(&mut w, &consumer) {
                Ok(n) => n,
                // Commit what was processed before the failing record, nothing past it.
                Err(e) => break w.commit(&consumer).and(Err(e)),
            };
            self.publish_positions(&w, consumer.position().ok().as_ref());
            let epoch = self.common.shared.flush_epoch.load(Ordering::SeqCst);
            if last_commit.elapsed() >= self.common.commit_interval
                || epoch > self.common.flushed_epoch.load(Ordering::SeqCst)
            {
                if let Err(e) = w.commit(&consumer) {
                    broken = Some(self.broken(e));
                    continue;
                }
                last_commit = Instant::now();
                self.broken_since.set(None);
                if w.restoring.is_empty() {
                    failing_here = None;
                }
                self.common.flushed_epoch.store(epoch, Ordering::SeqCst);
            }
            let idle = polled == 0 && processed == 0 && w.updater.is_idle();
            self.common.idle.store(idle, Ordering::SeqCst);
            if last_status.elapsed() >= STATUS_INTERVAL && tracing::enabled!(tracing::Level::DEBUG) {
                last_status = Instant::now();
                self.log_status(&w, &consumer);
            }
        };
        if !matches!(result, Ok(Exit::Stopped)) {
            // Failed, or to run again on new clients: the tasks close dirty, and the revocation
            // that leaving the group brings commits nothing.
            let mut w = lock(&worker);
            w.recovering = true;
            if result.is_err() && self.exactly_once {
                // Whatever the failed commit left open must not become visible.
                if let Err(e) = w.producer.abort_transaction() {
                    tracing::warn!(thread = self.common.id, error = %e, "abort failed");
                }
            }
            w.tasks.clear();
            w.suspended.clear();
            w.restoring.clear();
            w.updater.cancel_all();
        }
        // Leave the group now, so the partitions move at once (a clean stop's revocation
        // commits again).
        consumer.unsubscribe();
        self.common.positions.lock().unwrap_or_else(|p| p.into_inner()).clear();
        result
    }

    /// Where every input of every task stands, against the consumer's fetch position.
    fn log_status<C: ConsumerContext>(&self, w: &Worker, consumer: &BaseConsumer<C>) {
        let fetching = consumer.position().ok();
        for (key, t) in &w.tasks {
            for i in &t.inputs {
                let fetch = fetching
                    .as_ref()
                    .and_then(|p| p.find_partition(&i.topic, i.partition as i32))
                    .map(|e| format!("{:?}", e.offset()));
                tracing::debug!(
                    thread = self.common.id,
                    task = ?key,
                    topic = %i.topic,
                    partition = i.partition,
                    position = i.position,
                    buffered = i.buffer.len(),
                    fetch = ?fetch,
                    "status"
                );
            }
        }
    }

    /// Notes a failure the tasks are to be rebuilt after (and since when they are broken,
    /// if they were not already).
    fn broken(&self, error: StreamsError) -> StreamsError {
        if self.broken_since.get().is_none() {
            self.broken_since.set(Some(Instant::now()));
        }
        tracing::warn!(
            thread = self.common.id,
            error = %error,
            "closing the tasks dirty; they will be rebuilt from their changelogs"
        );
        self.common.idle.store(false, Ordering::SeqCst);
        error
    }

    /// Moves up to a batch of fetched records into their tasks' input buffers (waiting a
    /// little if no task has any). Rebalances happen inside `poll`; an assignment is taken
    /// before the next record is placed.
    fn poll_records<C: ConsumerContext>(
        &self,
        worker: &Mutex<Worker>,
        consumer: &BaseConsumer<C>,
        route: &HashMap<&str, (usize, usize)>,
    ) -> Result<usize, StreamsError> {
        let buffered = lock(worker).tasks.values().any(|t| t.inputs.iter().any(|i| !i.buffer.is_empty()));
        let mut wait = if buffered { Duration::ZERO } else { Duration::from_millis(10) };
        let mut polled = 0;
        while polled < FETCH {
            let Some(message) = consumer.poll(wait) else { break };
            wait = Duration::ZERO;
            let m = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(thread = self.common.id, error = %e, "consumer error");
                    continue;
                }
            };
            let mut w = lock(worker);
            self.take_assignment(&mut w, consumer)?;
            let Some(&(sub, input)) = route.get(m.topic()) else { continue };
            let w = &mut *w;
            match w.tasks.get_mut(&(sub, m.partition() as u32)) {
                Some(t) => {
                    let i = &mut t.inputs[input];
                    // Records before the position were processed already (a resumed task).
                    if m.offset() as u64 >= i.position {
                        i.buffer.push_back(raw_record(&m, i.topic.clone()));
                    }
                }
                // Fetched before its partition was paused: read again once restored.
                None if w.restoring.contains_key(&(sub, m.partition() as u32)) => {}
                None => tracing::warn!(
                    thread = self.common.id,
                    topic = m.topic(),
                    partition = m.partition(),
                    offset = m.offset(),
                    "dropped a record of a partition without a task"
                ),
            }
            polled += 1;
        }
        Ok(polled)
    }

    /// Processes a batch of every task that is ready; returns how many records.
    fn process_ready<C: ConsumerContext>(
        &self,
        w: &mut Worker,
        consumer: &BaseConsumer<C>,
    ) -> Result<usize, StreamsError> {
        let mut processed = 0;
        let Worker { tasks, producer, .. } = w;
        for t in tasks.values_mut() {
            if !ready(t, consumer) {
                continue;
            }
            let mut collector = ProducerCollector { producer, error: None };
            let stop_when_one_empties = t.inputs.len() > 1;
            processed += process_buffered(
                &mut t.task,
                &mut t.inputs,
                stop_when_one_empties,
                &self.common.policy,
                &mut collector,
                &self.common.shared,
            )?;
            if let Some(e) = collector.error {
                return Err(e);
            }
        }
        Ok(processed)
    }

    /// Publishes how far each input is processed. An input with nothing buffered counts as
    /// far as the consumer's position, which moves past transaction markers.
    fn publish_positions(&self, w: &Worker, consumer_positions: Option<&TopicPartitionList>) {
        let mut positions = self.common.positions.lock().unwrap_or_else(|p| p.into_inner());
        positions.clear();
        for t in w.tasks.values() {
            for i in &t.inputs {
                let fetched = consumer_positions
                    .filter(|_| i.buffer.is_empty())
                    .and_then(|tpl| tpl.find_partition(&i.topic, i.partition as i32))
                    .and_then(|e| match e.offset() {
                        Offset::Offset(o) => Some(o as u64),
                        _ => None,
                    });
                positions.insert((i.topic.to_string(), i.partition), i.position.max(fetched.unwrap_or(0)));
            }
        }
    }

    /// Turns the last assignment into tasks: suspended tasks given back resume, others
    /// close; new tasks restore their stores. Every task starts at the committed offsets.
    fn take_assignment<C: ConsumerContext>(
        &self,
        w: &mut Worker,
        consumer: &BaseConsumer<C>,
    ) -> Result<(), StreamsError> {
        let Some(assigned) = w.pending.take() else { return Ok(()) };
        let assigned: BTreeSet<(String, u32)> = assigned.into_iter().collect();
        let specs: Vec<TaskSpec> = self
            .plan
            .tasks
            .iter()
            .filter(|t| t.inputs.iter().all(|i| assigned.contains(&(i.clone(), t.partition))))
            .cloned()
            .collect();
        let covered: BTreeSet<(String, u32)> =
            specs.iter().flat_map(|t| t.inputs.iter().map(|i| (i.clone(), t.partition))).collect();
        for (topic, partition) in assigned.difference(&covered) {
            tracing::warn!(
                thread = self.common.id,
                topic,
                partition,
                "assigned a partition without the rest of its task"
            );
        }
        let keep: BTreeSet<(usize, u32)> = specs.iter().map(|s| (s.subtopology, s.partition)).collect();
        // Tasks still active but no longer assigned (not revoked first) are suspended too.
        let gone: Vec<(usize, u32)> = w.tasks.keys().filter(|k| !keep.contains(k)).copied().collect();
        for key in gone {
            let t = w.tasks.remove(&key).expect("listed above");
            w.suspended.insert(key, t);
        }
        let dropped: Vec<(usize, u32)> = w.restoring.keys().filter(|k| !keep.contains(k)).copied().collect();
        for key in dropped {
            w.restoring.remove(&key);
            w.updater.cancel(key);
        }
        let mut stores = self.common.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
        for key in w.suspended.keys().filter(|k| !keep.contains(k)) {
            tracing::info!(thread = self.common.id, subtopology = key.0, partition = key.1, "closing task");
            stores.remove(key);
        }
        w.suspended.retain(|k, _| keep.contains(k));
        drop(stores);
        // Tasks that stay active go on where they are; suspended ones given back resume at
        // their positions (what they committed when revoked). New ones go to the state
        // updater, their partitions paused until it hands them back.
        let mut resumed = Vec::new();
        let mut paused = TopicPartitionList::new();
        for spec in specs {
            let key = (spec.subtopology, spec.partition);
            if w.tasks.contains_key(&key) || w.restoring.contains_key(&key) {
                continue;
            }
            if let Some(t) = w.suspended.remove(&key) {
                w.tasks.insert(key, t);
                resumed.push(key);
                continue;
            }
            let task = self.new_kafka_task(&spec);
            for topic in &spec.inputs {
                paused.add_partition(topic, spec.partition as i32);
            }
            w.updater.add(key, spec.inputs.clone(), task.task.stores().clone());
            w.restoring.insert(key, task);
        }
        if paused.count() > 0 {
            if let Err(e) = consumer.pause(&paused) {
                tracing::warn!(thread = self.common.id, error = %e, "cannot pause restoring partitions");
            }
        }
        // The consumer fetches from each resumed task's position: records it handed out
        // before (dropped while no task had the partition) come again.
        for key in &resumed {
            seek_inputs(&w.tasks[key], consumer, self.common.id);
        }
        tracing::info!(
            thread = self.common.id,
            tasks = w.tasks.len() + w.restoring.len(),
            resumed = resumed.len(),
            restoring = w.restoring.len(),
            "assignment taken"
        );
        self.publish_positions(w, None);
        Ok(())
    }

    /// Moves the tasks the state updater has restored to the active ones, at the committed
    /// offsets it read, and lets their partitions be fetched again.
    fn finish_restores<C: ConsumerContext>(
        &self,
        w: &mut Worker,
        consumer: &BaseConsumer<C>,
    ) -> Result<(), StreamsError> {
        for (key, outcome) in w.updater.take_restored() {
            let positions = outcome?;
            let Some(mut t) = w.restoring.remove(&key) else { continue };
            let mut partitions = TopicPartitionList::new();
            for (i, position) in t.inputs.iter_mut().zip(positions) {
                i.position = position;
                partitions.add_partition(&i.topic, i.partition as i32);
            }
            seek_inputs(&t, consumer, self.common.id);
            if let Err(e) = consumer.resume(&partitions) {
                tracing::warn!(thread = self.common.id, error = %e, "cannot resume restored partitions");
            }
            self.common.register_stores(key, t.task.stores());
            w.tasks.insert(key, t);
            tracing::info!(
                thread = self.common.id,
                subtopology = key.0,
                partition = key.1,
                restoring = w.restoring.len(),
                "task restored; running"
            );
        }
        Ok(())
    }

    /// The thread's state updater, with restore clients of its own.
    fn start_updater(&self, isolation: &str) -> Result<StateUpdater, StreamsError> {
        let restore_id = self.client_id("restore-consumer");
        let readers = RestoreClients {
            changelogs: self.clients.consumer_with(
                &restore_id,
                &[("group.id", &restore_id), ("isolation.level", isolation)],
                rdkafka::consumer::DefaultConsumerContext,
            )?,
            // librdkafka's default is `read_committed`, whose end is the last stable offset.
            uncommitted_ends: match self.exactly_once {
                true => Some(self.clients.consumer_with(
                    &format!("{restore_id}-ends"),
                    &[("group.id", &format!("{restore_id}-ends")), ("isolation.level", "read_uncommitted")],
                    rdkafka::consumer::DefaultConsumerContext,
                )?),
                false => None,
            },
            // Reads the group's committed offsets; exactly-once, `read_committed` makes the
            // read wait for pending ones (KIP-447's `require_stable`).
            offsets: self.clients.consumer_with(
                &self.client_id("offsets-reader"),
                &[("group.id", &self.common.application_id), ("isolation.level", isolation)],
                rdkafka::consumer::DefaultConsumerContext,
            )?,
        };
        StateUpdater::start(self.clients.clone(), self.common.application_id.clone(), readers, self.common.id)
    }

    /// A new task, its stores still empty.
    fn new_kafka_task(&self, spec: &TaskSpec) -> KafkaTask {
        let task = self.common.new_task(spec);
        let inputs: Vec<Input<RawRecord>> = spec
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
        KafkaTask { task, inputs, ends }
    }
}

/// How often the thread logs where its tasks stand (at debug level).
const STATUS_INTERVAL: Duration = Duration::from_secs(5);

/// How a stream thread's run on its Kafka clients ended.
enum Exit {
    /// Shut down, as asked.
    Stopped,
    /// The tasks could not be rebuilt for [`CLIENT_RESET_AFTER`]: run again on new clients.
    ResetClients,
}

/// How long the thread tries to rebuild its tasks on the same clients before it recreates
/// them (a consumer whose group membership or coordinator is stuck after a broker restart).
const CLIENT_RESET_AFTER: Duration = Duration::from_secs(30);

/// How long the tasks may stay broken (the broker away) before the thread gives up: Kafka
/// Streams' `task.timeout.ms` default.
const TASK_TIMEOUT: Duration = Duration::from_secs(300);

/// Points the consumer at a task's positions: records fetched before (dropped while no task
/// had the partition, or read past during a recovery) come again.
fn seek_inputs<C: ConsumerContext>(t: &KafkaTask, consumer: &BaseConsumer<C>, thread: usize) {
    for i in &t.inputs {
        let at = Offset::Offset(i.position as i64);
        if let Err(e) = consumer.seek(&i.topic, i.partition as i32, at, REQUEST_TIMEOUT) {
            tracing::warn!(thread, topic = %i.topic, partition = i.partition, error = %e, "cannot seek");
        }
    }
}

/// Whether a task may process now: it has records, and each input without records has
/// none waiting on the broker either (else its next record may be older than the others':
/// Kafka Streams' `max.task.idle.ms` = 0).
fn ready<C: ConsumerContext>(t: &mut KafkaTask, consumer: &BaseConsumer<C>) -> bool {
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
        // Where the consumer will fetch next: past control records and compacted gaps.
        let fetching = fetch_positions
            .get_or_insert_with(|| consumer.position().ok())
            .as_ref()
            .and_then(|p| p.find_partition(&i.topic, i.partition as i32))
            .and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o as u64),
                _ => None,
            })
            .unwrap_or(0);
        let fresh = end.filter(|(at, _)| at.elapsed() < END_FRESH);
        let high = match fresh {
            Some((_, high)) => high,
            None => match watermarks(consumer, &i.topic, i.partition) {
                Ok((_, high)) => {
                    *end = Some((Instant::now(), high));
                    high
                }
                Err(_) => return false,
            },
        };
        if i.position.max(fetching) < high {
            return false;
        }
    }
    true
}

impl super::KafkaStreams {
    /// The application reset tool: deletes the internal topics (repartition topics and
    /// changelogs) and the group's committed offsets, so the next run reprocesses its input
    /// from the start. Every instance must be stopped first.
    pub async fn reset(&self) -> Result<(), StreamsError> {
        let super::Backend::Kafka(clients) = &self.backend else {
            return Err(StreamsError::Usage(
                "`--reset` needs a Kafka cluster (`--bootstrap-servers`)".into(),
            ));
        };
        let application_id = self.config.application_id()?;
        let graph = &self.topology.graph;
        let mut topics: Vec<String> =
            graph.internal_topic_writers(application_id).into_iter().map(|(t, _)| t).collect();
        for sub in 0..graph.subtopologies.len() {
            topics.extend(graph.stores_of(sub).iter().map(|s| changelog_topic(application_id, s)));
        }
        clients.delete_group(application_id).await?;
        clients.delete_topics(&topics).await?;
        tracing::info!(application_id, topics = topics.len(), "application reset");
        Ok(())
    }
}
