//! The engine's backend on Apache Kafka: one consumer in the group `application.id`, one
//! producer, and a state updater (`state_updater.rs`) per stream thread.
//!
//! The consumer subscribes to every source and repartition topic with the `range` assignor,
//! which gives one member the same partition number of every topic with that many partitions,
//! so co-partitioned inputs of a task land together. Assigned partitions become tasks (see
//! `engine.rs`): a new task goes to the state updater, which reads the group's committed
//! offsets and restores its stores from their changelogs while the other tasks run (its
//! partitions paused meanwhile), then starts at those offsets; on revocation every task
//! commits (caches flushed, changelogs and output acknowledged, then offsets) and the revoked
//! ones are suspended, resumed without a restore if the next assignment gives them back. Lost
//! partitions (the group went on without this member, or refused its offsets) close their
//! tasks dirty, rebuilt from the changelogs if they come back (Kafka's `handleLostAll`). The
//! classic protocol revokes everything (eager); with `consumer.group.protocol=consumer`
//! (KIP-848) revocations are incremental and the tasks that stay go on where they are. A
//! thread that cannot rebuild its tasks recreates its clients.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use super::engine::{
    lock, Backend, CommitOffset, Engine, Exit, FetchPositions, Producer, Worker, CLIENT_RESET_AFTER,
};
use super::plan::Plan;
use super::state_updater::{RestoreClients, StateUpdater};
use super::thread::{now_ms, Collecting, Input, ThreadCommon, FETCH};
use crate::cluster::group_describe::{self, Member};
use crate::cluster::kafka::{
    kafka_error, raw_record, watermarks, KafkaClients, KafkaProducer, REQUEST_TIMEOUT,
};
use crate::error::StreamsError;
use crate::graph::changelog_topic;
use crate::ops::{Placement, RecordCollector};
use crate::record::{Headers, RawRecord};

/// A stream thread on Kafka: its tasks come and go with the group's assignments.
pub(crate) struct KafkaThread {
    pub(crate) common: Arc<ThreadCommon>,
    pub(crate) clients: Arc<KafkaClients>,
    pub(crate) plan: Arc<Plan>,
    pub(crate) exactly_once: bool,
    /// `application.server`, announced to the other instances in the consumer's `client.id`.
    pub(crate) application_server: Option<String>,
}

impl KafkaThread {
    pub(crate) fn run(self) {
        // Kafka Streams' EOS v2 name: application, process, thread. A replacement thread
        // keeps it, so its producer fences the failed one's and aborts what it left open.
        let process = format!("{:x}{:x}", std::process::id(), now_ms());
        let transactional_id = format!("{}-{process}-{}", self.common.application_id, self.common.id + 1);
        let engine = Engine::new(self.common.clone());
        let specs: Arc<[_]> = self.plan.tasks.clone().into();
        self.common.run_reporting(|| {
            let mut reset = false;
            loop {
                let (worker, backend) = match self.connect(&specs, &transactional_id) {
                    Ok(clients) => clients,
                    // Stopping meanwhile: the tasks were closed dirty already.
                    Err(_) if reset && super::engine::stopping(&self.common) => return Ok(()),
                    // New clients after a reset, the broker still away (a transactional
                    // producer's `init_transactions` times out): tried again while the tasks
                    // may stay broken, not a reason to stop.
                    Err(e) if reset && engine.retry_after(&e) => {
                        tracing::warn!(thread = self.common.id, error = %e, "cannot create the thread's Kafka clients yet; retrying");
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                match engine.run(&backend, &worker)? {
                    Exit::Stopped => return Ok(()),
                    Exit::ResetClients => tracing::warn!(
                        thread = self.common.id,
                        "the tasks could not be rebuilt for {}s; recreating the thread's Kafka clients",
                        CLIENT_RESET_AFTER.as_secs()
                    ),
                }
                reset = true;
            }
        });
    }

    /// Every client of the thread, new: a fresh group member, a producer that fences the old
    /// one (same transactional id) and aborts what it left open, a state updater.
    fn connect(
        &self,
        specs: &Arc<[super::plan::TaskSpec]>,
        transactional_id: &str,
    ) -> Result<(Arc<Mutex<Worker<Kafka>>>, Kafka), StreamsError> {
        let producer = self.new_producer(transactional_id)?;
        let isolation = if self.exactly_once { "read_committed" } else { "read_uncommitted" };
        let restorer = self.start_updater(isolation)?;
        let worker =
            Arc::new(Mutex::new(Worker::new(self.common.clone(), specs.clone(), producer, restorer)));
        let backend = self.backend(worker.clone(), transactional_id, isolation)?;
        Ok((worker, backend))
    }

    fn client_id(&self, role: &str) -> String {
        format!("{}-StreamThread-{}-{role}", self.common.application_id, self.common.id + 1)
    }

    /// The thread's producer; exactly-once, transactional with Kafka Streams' EOS v2 id
    /// (application, process, thread), the same for a replacement, which fences the old one.
    fn new_producer(&self, transactional_id: &str) -> Result<TaskProducer, StreamsError> {
        let producer = if self.exactly_once {
            self.clients.transactional_producer(&self.client_id("producer"), transactional_id)?
        } else {
            self.clients.producer(&self.client_id("producer"))?
        };
        Ok(TaskProducer { producer, exactly_once: self.exactly_once })
    }

    /// The consumer, subscribed, with the rebalance callbacks that reach `worker`.
    fn backend(
        &self,
        worker: Arc<Mutex<Worker<Kafka>>>,
        transactional_id: &str,
        isolation: &str,
    ) -> Result<Kafka, StreamsError> {
        let known_ends = KnownEnds::default();
        let handler = RebalanceHandler {
            worker,
            thread: self.common.id,
            known_ends: known_ends.clone(),
            read_committed: isolation == "read_committed",
        };
        // The classic protocol with the eager `range` assignor by default; with
        // `consumer.group.protocol=consumer` (KIP-848, brokers 4.0+) the broker's sticky
        // `range` assignor, which rebalances incrementally: only moving tasks pause.
        let assignor = match self.clients.setting("consumer", "group.protocol") {
            Some("consumer") => ("group.remote.assignor", "range"),
            _ => ("partition.assignment.strategy", "range"),
        };
        // The group's members learn where each other answers queries from their client ids
        // (see `GroupOwners`); Kafka Streams puts it in the subscription's user data, which
        // librdkafka's assignors do not let us write.
        let client_id = match &self.application_server {
            Some(server) => format!("{}{SERVER_MARK}{server}", self.client_id("consumer")),
            None => self.client_id("consumer"),
        };
        let consumer = self.clients.consumer_with(
            &client_id,
            &[
                ("group.id", &self.common.application_id),
                assignor,
                ("isolation.level", isolation),
                // Its statistics carry each partition's end as last fetched (`records-lag-max`).
                ("statistics.interval.ms", "1000"),
            ],
            handler,
        )?;
        let mut topics: Vec<&str> = self.plan.sources.iter().flatten().map(String::as_str).collect();
        topics.sort_unstable();
        topics.dedup();
        consumer.subscribe(&topics).map_err(|e| kafka_error("cannot subscribe", e))?;
        // Topic → (sub-topology, index among the task's inputs).
        let route = self
            .plan
            .sources
            .iter()
            .enumerate()
            .flat_map(|(sub, ts)| ts.iter().enumerate().map(move |(i, t)| (t.clone(), (sub, i))))
            .collect();
        Ok(Kafka {
            consumer,
            route,
            clients: self.clients.clone(),
            producer_id: self.client_id("producer"),
            transactional_id: transactional_id.to_string(),
            exactly_once: self.exactly_once,
            thread: self.common.id,
            purging: Mutex::default(),
            committed: std::sync::atomic::AtomicBool::new(false),
            known_ends,
            pending_seeks: Mutex::default(),
        })
    }

    /// The thread's state updater, with restore clients of its own.
    fn start_updater(&self, isolation: &str) -> Result<StateUpdater, StreamsError> {
        let restore_id = self.client_id("restore-consumer");
        let (clients, reader_id) = (self.clients.clone(), self.client_id("offsets-reader"));
        let (group, isolation_level) = (self.common.application_id.clone(), isolation.to_string());
        let new_offsets_reader = move || {
            clients.consumer_with(
                &reader_id,
                &[("group.id", &group), ("isolation.level", &isolation_level)],
                rdkafka::consumer::DefaultConsumerContext,
            )
        };
        let (clients, exactly_once, isolation_level) =
            (self.clients.clone(), self.exactly_once, isolation.to_string());
        let new_changelog_readers = move || {
            let changelogs = clients.consumer_with(
                &restore_id,
                &[("group.id", &restore_id), ("isolation.level", &isolation_level)],
                rdkafka::consumer::DefaultConsumerContext,
            )?;
            // librdkafka's default is `read_committed`, whose end is the last stable offset.
            let ends = match exactly_once {
                true => Some(clients.consumer_with(
                    &format!("{restore_id}-ends"),
                    &[("group.id", &format!("{restore_id}-ends")), ("isolation.level", "read_uncommitted")],
                    rdkafka::consumer::DefaultConsumerContext,
                )?),
                false => None,
            };
            Ok((changelogs, ends))
        };
        let (changelogs, ends) = new_changelog_readers()?;
        let readers = RestoreClients {
            changelogs: std::cell::RefCell::new(changelogs),
            uncommitted_ends: std::cell::RefCell::new(ends),
            new_changelog_readers: Box::new(new_changelog_readers),
            // Reads the group's committed offsets; exactly-once, `read_committed` makes the
            // read wait for pending ones (KIP-447's `require_stable`).
            offsets: std::cell::RefCell::new(new_offsets_reader()?),
            new_offsets_reader: Box::new(new_offsets_reader),
        };
        StateUpdater::start(self.clients.clone(), self.common.application_id.clone(), readers, self.common.id)
    }
}

/// A stream thread's Kafka clients, as the engine's backend.
pub(super) struct Kafka {
    consumer: BaseConsumer<RebalanceHandler>,
    /// Topic → (sub-topology, index among the task's inputs).
    route: HashMap<String, (usize, usize)>,
    clients: Arc<KafkaClients>,
    producer_id: String,
    transactional_id: String,
    /// `exactly_once_v2`: output, changelogs and input offsets commit in one transaction.
    exactly_once: bool,
    thread: usize,
    /// The admin client deleting committed repartition records, and its request in flight.
    purging: Mutex<(Option<AdminClient<DefaultClientContext>>, Option<PendingDelete>)>,
    /// Whether the last commit committed the positions (at-least-once, a failed offset
    /// commit is only logged): repartition records are deleted only below committed offsets.
    committed: std::sync::atomic::AtomicBool,
    /// Each partition's end as the consumer last fetched it, from its statistics.
    known_ends: KnownEnds,
    /// Partitions to resume once the consumer can be pointed at their task's position.
    pending_seeks: Mutex<Vec<PendingSeek>>,
}

/// A partition kept paused until the consumer accepts a seek to `offset` (librdkafka answers
/// "Erroneous state" while the partition's fetch state is being set up, or queried again
/// after an error). Its position is never taken from librdkafka instead: after a failure the
/// consumer may stand past records the broken tasks dropped, which would then be lost.
struct PendingSeek {
    topic: String,
    partition: i32,
    offset: i64,
    since: std::time::Instant,
}

/// How long a partition may wait for its seek before the tasks are rebuilt.
const SEEK_TIMEOUT: Duration = Duration::from_secs(60);

/// Per partition, its end (the last stable offset when reading committed records, else the
/// high watermark) as librdkafka's statistics last reported it.
type KnownEnds = Arc<Mutex<HashMap<(Arc<str>, u32), u64>>>;

/// A `DeleteRecords` request in flight.
type PendingDelete =
    std::pin::Pin<Box<dyn std::future::Future<Output = KafkaResult<TopicPartitionList>> + Send>>;

impl Kafka {
    /// Points the consumer at `at`; `false` if librdkafka cannot take a seek yet.
    fn seek(&self, at: &PendingSeek) -> Result<bool, StreamsError> {
        match self.consumer.seek(&at.topic, at.partition, Offset::Offset(at.offset), REQUEST_TIMEOUT) {
            Ok(()) => Ok(true),
            Err(e) if e.to_string().contains("Erroneous state") => {
                tracing::debug!(thread = self.thread, topic = %at.topic, partition = at.partition, "the consumer cannot seek yet; the partition stays paused");
                Ok(false)
            }
            Err(e) => {
                let what = format!(
                    "cannot point the consumer at {}-{} offset {}",
                    at.topic, at.partition, at.offset
                );
                Err(kafka_error(&what, e))
            }
        }
    }

    /// Tries the pending seeks again; resumes the partitions that took theirs. One no longer
    /// assigned is forgotten; one that cannot seek for [`SEEK_TIMEOUT`] fails the tasks.
    fn retry_pending_seeks(&self) -> Result<(), StreamsError> {
        let mut pending = self.pending_seeks.lock().unwrap_or_else(|p| p.into_inner());
        if pending.is_empty() {
            return Ok(());
        }
        let assigned = self.consumer.assignment().map(|a| partitions(&a)).unwrap_or_default();
        let mut ready = TopicPartitionList::new();
        let mut failed = None;
        pending.retain(|p| {
            if failed.is_some() || !assigned.iter().any(|(t, n)| *t == p.topic && *n as i32 == p.partition) {
                return failed.is_some();
            }
            match self.seek(p) {
                Ok(true) => {
                    ready.add_partition(&p.topic, p.partition);
                    false
                }
                Ok(false) if p.since.elapsed() < SEEK_TIMEOUT => true,
                Ok(false) => {
                    failed = Some(StreamsError::Kafka(format!(
                        "cannot point the consumer at {}-{} offset {} for {}s",
                        p.topic,
                        p.partition,
                        p.offset,
                        SEEK_TIMEOUT.as_secs()
                    )));
                    false
                }
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        });
        if let Some(e) = failed {
            pending.clear();
            return Err(e);
        }
        if ready.count() > 0 {
            self.consumer.resume(&ready).map_err(|e| kafka_error("cannot resume partitions", e))?;
        }
        Ok(())
    }

    /// Whether a partition waits for its seek (what it hands out meanwhile is stale).
    fn seek_pending(&self, topic: &str, partition: i32) -> bool {
        let pending = self.pending_seeks.lock().unwrap_or_else(|p| p.into_inner());
        pending.iter().any(|p| p.topic == topic && p.partition == partition)
    }
}

impl Backend for Kafka {
    type Record = RawRecord;
    type Producer = TaskProducer;
    type Restorer = StateUpdater;

    /// Rebalances happen inside `poll`; an assignment is taken before the next record is
    /// placed.
    fn poll(&self, worker: &Mutex<Worker<Self>>, wait: Duration) -> Result<usize, StreamsError> {
        self.retry_pending_seeks()?;
        let mut wait = wait;
        let mut polled = 0;
        while polled < FETCH {
            let Some(message) = self.consumer.poll(wait) else { break };
            wait = Duration::ZERO;
            let m = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(thread = self.thread, error = %e, "consumer error");
                    continue;
                }
            };
            let mut w = lock(worker);
            w.take_assignment(self)?;
            let Some(&(sub, input)) = self.route.get(m.topic()) else { continue };
            if self.seek_pending(m.topic(), m.partition()) {
                continue;
            }
            let key = (sub, m.partition() as u32);
            let restoring = w.is_restoring(key);
            match w.tasks.get_mut(&key) {
                Some(t) => {
                    let i = &mut t.inputs[input];
                    // Records before the position were processed already (a resumed task).
                    if m.offset() as u64 >= i.position {
                        i.buffer.push_back(raw_record(&m, i.topic.clone()));
                    }
                }
                // Fetched before its partition was paused: read again once restored.
                None if restoring => {}
                None => tracing::warn!(
                    thread = self.thread,
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

    fn assignment(&self) -> Result<Vec<(String, u32)>, StreamsError> {
        let assignment =
            self.consumer.assignment().map_err(|e| kafka_error("cannot read the assignment", e))?;
        Ok(partitions(&assignment))
    }

    fn pause(&self, inputs: &[Input<RawRecord>]) {
        // A seek left from before is for tasks closed since.
        let mut pending = self.pending_seeks.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|p| {
            !inputs.iter().any(|i| i.topic.as_ref() == p.topic && i.partition as i32 == p.partition)
        });
        drop(pending);
        if let Err(e) = self.consumer.pause(&partition_list(inputs)) {
            tracing::warn!(thread = self.thread, error = %e, "cannot pause restoring partitions");
        }
    }

    /// A partition is resumed once the consumer is pointed at the task's position (what it
    /// committed when revoked, or what the state updater read); one that cannot be yet stays
    /// paused and is tried again at every poll ([`PendingSeek`]).
    fn resume_at(&self, inputs: &[Input<RawRecord>]) -> Result<(), StreamsError> {
        let mut pending = self.pending_seeks.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|p| {
            !inputs.iter().any(|i| i.topic.as_ref() == p.topic && i.partition as i32 == p.partition)
        });
        let mut ready = TopicPartitionList::new();
        for i in inputs {
            let seek = PendingSeek {
                topic: i.topic.to_string(),
                partition: i.partition as i32,
                offset: i.position as i64,
                since: std::time::Instant::now(),
            };
            if self.seek(&seek)? {
                ready.add_partition(&i.topic, i.partition as i32);
            } else {
                pending.push(seek);
            }
        }
        self.consumer.resume(&ready).map_err(|e| kafka_error("cannot resume partitions", e))
    }

    fn fetch_positions(&self) -> FetchPositions {
        let Ok(positions) = self.consumer.position() else { return FetchPositions::new() };
        positions
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(((Arc::from(e.topic()), e.partition() as u32), o as u64)),
                _ => None,
            })
            .collect()
    }

    fn end_offset(&self, topic: &str, partition: u32) -> Option<u64> {
        watermarks(&self.consumer, topic, partition).ok().map(|(_, high)| high)
    }

    fn known_end_offset(&self, topic: &str, partition: u32) -> Option<u64> {
        let ends = self.known_ends.lock().unwrap_or_else(|p| p.into_inner());
        ends.get(&(Arc::<str>::from(topic), partition)).copied()
    }

    fn commit(&self, w: &mut Worker<Self>, positions: Vec<CommitOffset>) -> Result<(), StreamsError> {
        let committed = commit(&w.producer, &self.consumer, positions)?;
        self.committed.store(committed, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// As Kafka Streams: a new request only once the last one is answered; failures are
    /// logged at debug level (the next purge deletes as much).
    fn purge(&self, below: &[(Arc<str>, u32, u64)]) {
        // Positions the group did not commit may be read again by the next owner of their
        // task (seen: a commit refused with `UnknownMemberId` after a broker restart, records
        // deleted up to the uncommitted positions, and the next owner's committed offset out
        // of range).
        if !self.committed.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let mut purging = self.purging.lock().unwrap_or_else(|p| p.into_inner());
        let (admin, pending) = &mut *purging;
        if let Some(request) = pending {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match request.as_mut().poll(&mut cx) {
                std::task::Poll::Pending => return,
                std::task::Poll::Ready(Err(e)) => {
                    tracing::debug!(thread = self.thread, error = %e, "deleting repartition records failed")
                }
                std::task::Poll::Ready(Ok(_)) => {}
            }
            *pending = None;
        }
        if admin.is_none() {
            match self.clients.admin() {
                Ok(a) => *admin = Some(a),
                Err(e) => {
                    tracing::debug!(thread = self.thread, error = %e, "no admin client to delete repartition records");
                    return;
                }
            }
        }
        let mut offsets = TopicPartitionList::new();
        for (topic, partition, offset) in below {
            if offsets.add_partition_offset(topic, *partition as i32, Offset::Offset(*offset as i64)).is_err()
            {
                return;
            }
        }
        let options = AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT));
        let admin = admin.as_ref().expect("created above");
        *pending = Some(Box::pin(admin.delete_records(&offsets, &options)));
    }

    /// Exactly-once, the open transaction is aborted, or the producer replaced if it cannot
    /// abort (which fences the old one and aborts for it).
    fn reset_output(&self, w: &mut Worker<Self>) -> Result<(), StreamsError> {
        let producer = &mut w.producer.producer;
        if self.exactly_once {
            let aborted = producer.abort_transaction().and_then(|()| producer.begin_transaction());
            if let Err(e) = aborted {
                tracing::warn!(thread = self.thread, error = %e, "cannot abort; replacing the producer");
                // The old producer is closed (its messages purged) before the new one fences
                // it: a write of the old one landing after the abort markers would leave a
                // transaction open on its partition for good (a hanging transaction).
                let fresh = self
                    .clients
                    .uninitialized_transactional_producer(&self.producer_id, &self.transactional_id)?;
                drop(std::mem::replace(producer, fresh));
                producer.init_transactions()?;
            }
        }
        // Delivery reports of what was sent before are stale now (purged by the abort, or
        // sent again from the committed offsets).
        producer.poll();
        producer.clear_delivery_error();
        Ok(())
    }

    fn serve(&self, time: Duration) {
        let until = std::time::Instant::now() + time;
        while std::time::Instant::now() < until {
            if let Some(Err(e)) = self.consumer.poll(Duration::from_millis(50)) {
                tracing::debug!(thread = self.thread, error = %e, "consumer error while recovering");
            }
        }
    }

    fn leave(&self) {
        self.consumer.unsubscribe();
    }
}

/// At-least-once, every record acknowledged and the processed positions committed for the
/// group; exactly-once, the positions added to the producer's transaction and the
/// transaction committed. Returns whether the positions were committed (at-least-once, an
/// offset commit the group refuses is logged, not an error).
fn commit<C: ConsumerContext>(
    producer: &TaskProducer,
    consumer: &BaseConsumer<C>,
    positions: Vec<CommitOffset>,
) -> Result<bool, StreamsError> {
    let mut offsets = TopicPartitionList::new();
    for (topic, partition, position, metadata) in positions {
        let mut elem = offsets.add_partition(&topic, partition as i32);
        elem.set_offset(Offset::Offset(position as i64)).map_err(|e| kafka_error("cannot commit", e))?;
        elem.set_metadata(metadata);
    }
    if producer.exactly_once {
        let group = consumer
            .group_metadata()
            .ok_or_else(|| StreamsError::Kafka("the consumer has no group metadata".into()))?;
        return producer.producer.commit_transaction(offsets, group).map(|()| true);
    }
    producer.producer.flush()?;
    if offsets.count() > 0 {
        if let Err(e) = consumer.commit(&offsets, CommitMode::Sync) {
            // The group moved on (a rebalance): the next owner reprocesses from the last
            // committed offsets, which at-least-once allows.
            tracing::warn!(error = %e, "offset commit failed; records since the last commit will be processed again");
            return Ok(false);
        }
    }
    Ok(true)
}

fn partitions(tpl: &TopicPartitionList) -> Vec<(String, u32)> {
    tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition() as u32)).collect()
}

fn partition_list<R>(inputs: &[Input<R>]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for i in inputs {
        tpl.add_partition(&i.topic, i.partition as i32);
    }
    tpl
}

/// The thread's producer, transactional under exactly-once.
pub(super) struct TaskProducer {
    producer: KafkaProducer,
    exactly_once: bool,
}

impl Producer for TaskProducer {
    fn collector(&self) -> impl Collecting + '_ {
        ProducerCollector { producer: &self.producer, error: None }
    }

    fn poll(&self) {
        self.producer.poll();
    }

    fn abort(&self) -> Result<(), StreamsError> {
        match self.exactly_once {
            true => self.producer.abort_transaction(),
            false => Ok(()),
        }
    }

    fn written(&self, topic: &str, partition: u32) -> Option<u64> {
        self.producer.written(topic, partition)
    }
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

/// Commits and suspends the revoked partitions' tasks; records new assignments.
struct RebalanceHandler {
    worker: Arc<Mutex<Worker<Kafka>>>,
    thread: usize,
    known_ends: KnownEnds,
    /// Whether the consumer reads committed records only (its lag counts to the last
    /// stable offset, as Kafka's `FetchCollector`).
    read_committed: bool,
}

impl ClientContext for RebalanceHandler {
    fn stats(&self, statistics: rdkafka::Statistics) {
        let mut ends = self.known_ends.lock().unwrap_or_else(|p| p.into_inner());
        for (name, topic) in statistics.topics {
            let name: Arc<str> = Arc::from(name.as_str());
            for p in topic.partitions.values().filter(|p| p.partition >= 0) {
                let end = if self.read_committed { p.ls_offset } else { p.hi_offset };
                if end >= 0 {
                    ends.insert((name.clone(), p.partition as u32), end as u64);
                }
            }
        }
    }
}

impl ConsumerContext for RebalanceHandler {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let mut w = lock(&self.worker);
            if w.recovering {
                return;
            }
            w.common.set_rebalancing(true);
            let revoked: BTreeSet<(String, u32)> = partitions(tpl).into_iter().collect();
            // Lost, not revoked: the group went on without this member (its session expired
            // while the broker was away). Nothing can be committed, and another member may
            // have processed these partitions since.
            if consumer.assignment_lost() && !w.common.exactly_once {
                tracing::warn!(
                    thread = self.thread,
                    partitions = tpl.count(),
                    "partitions lost; closing their tasks"
                );
                w.lose(&revoked);
                return;
            }
            tracing::info!(thread = self.thread, partitions = tpl.count(), "partitions revoked; committing");
            // Every task commits; eager (`range`): every partition is revoked; cooperative
            // (`group.protocol = consumer`): only those moving, the other tasks go on.
            let mut refused = false;
            let committed = w
                .commit_with(|w, positions| commit(&w.producer, consumer, positions).map(|ok| refused = !ok));
            if let Err(e) = committed {
                w.error.get_or_insert(e);
            }
            // The group refused the offsets (`UnknownMemberId`: it went on without this member):
            // as lost (Kafka's `TaskMigratedException` on a failed commit).
            if refused {
                tracing::warn!(
                    thread = self.thread,
                    "offsets refused on revocation; closing the revoked tasks"
                );
                w.lose(&revoked);
                return;
            }
            w.revoke(&revoked);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                // The whole assignment: an incremental (cooperative) one lists only what it adds.
                let all = consumer.assignment().unwrap_or_else(|_| TopicPartitionList::clone(tpl));
                let mut w = lock(&self.worker);
                w.pending = Some(partitions(&all));
                w.assigned = true;
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::warn!(thread = self.thread, error = %e, "rebalance error"),
        }
    }
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
            // Not a table's source topic serving as its changelog: an input.
            topics.extend(
                graph
                    .stores_of(sub)
                    .iter()
                    .filter(|s| !graph.is_source_changelog(s))
                    .map(|s| changelog_topic(application_id, s)),
            );
        }
        topics.push(super::control::requests_topic(application_id));
        clients.delete_group(application_id).await?;
        clients.delete_topics(&topics).await?;
        // And this instance's local state, as Kafka's docs pair the reset tool with `cleanUp()`.
        self.clean_up()?;
        tracing::info!(application_id, topics = topics.len(), "application reset");
        Ok(())
    }
}

/// What separates a member's client id from the `application.server` it announces.
const SERVER_MARK: &str = "@";

/// How the group is described.
enum Describe {
    /// A classic group: librdkafka's `DescribeGroups`.
    Classic,
    /// A group of the consumer protocol (KIP-848): `ConsumerGroupDescribe`, which librdkafka
    /// does not send, asked of these brokers.
    Consumer { bootstrap: String },
    /// The same over TLS or SASL, which that request is not sent over: owners unknown.
    ConsumerNotPlaintext,
}

/// Who owns which input partition, read from the consumer group's description (its members'
/// assignments and client ids); read at most once a second.
pub(crate) struct GroupOwners {
    reader: Mutex<BaseConsumer>,
    group: String,
    describe: Describe,
    last: Mutex<Option<(std::time::Instant, super::query::OwnerMap)>>,
}

impl GroupOwners {
    pub(crate) fn new(clients: &KafkaClients, group: &str) -> Result<GroupOwners, StreamsError> {
        let reader = clients.plain_consumer(&format!("{group}-query-metadata"))?;
        let describe = match (clients.setting("consumer", "group.protocol"), clients.plaintext_bootstrap()) {
            (Some("consumer"), Some(bootstrap)) => Describe::Consumer { bootstrap: bootstrap.to_string() },
            (Some("consumer"), None) => Describe::ConsumerNotPlaintext,
            _ => Describe::Classic,
        };
        Ok(GroupOwners {
            reader: Mutex::new(reader),
            group: group.to_string(),
            describe,
            last: Mutex::new(None),
        })
    }

    fn read(&self) -> Option<super::query::OwnerMap> {
        let members = match &self.describe {
            Describe::Classic => self.read_classic(),
            Describe::Consumer { bootstrap } => {
                group_describe::describe(bootstrap, &self.group, Duration::from_secs(5))
            }
            Describe::ConsumerNotPlaintext => {
                Err("describing a group of the consumer protocol needs a plaintext listener".into())
            }
        };
        let members = match members {
            Ok(members) => members,
            Err(e) => {
                tracing::debug!(error = %e, "cannot describe the group for interactive queries");
                return None;
            }
        };
        let mut owners = super::query::OwnerMap::new();
        for Member { client_id, partitions } in members {
            let host = client_id
                .rsplit_once(SERVER_MARK)
                .and_then(|(_, server)| super::query::HostInfo::parse(server).ok());
            for tp in partitions {
                owners.insert(tp, host.clone());
            }
        }
        Some(owners)
    }

    /// The members of a classic group: client ids and assignments, through librdkafka.
    fn read_classic(&self) -> Result<Vec<Member>, String> {
        let groups = self
            .reader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fetch_group_list(Some(&self.group), Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        let members = groups
            .groups()
            .iter()
            .filter(|g| g.name() == self.group)
            .flat_map(|g| g.members())
            .map(|m| Member {
                client_id: m.client_id().to_string(),
                partitions: m.assignment().map(assigned_partitions).unwrap_or_default(),
            })
            .collect();
        Ok(members)
    }
}

impl super::query::Owners for GroupOwners {
    fn owners(&self) -> Option<super::query::OwnerMap> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, owners)) = &*last {
            if at.elapsed() < Duration::from_secs(1) {
                return Some(owners.clone());
            }
        }
        let owners = self.read()?;
        *last = Some((std::time::Instant::now(), owners.clone()));
        Some(owners)
    }
}

/// The partitions of a classic consumer group member's assignment
/// (`ConsumerProtocolAssignment`: version, then topics with their partitions, then user data).
fn assigned_partitions(bytes: &[u8]) -> Vec<(String, u32)> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = tail;
        Some(head)
    }
    fn int(bytes: &mut &[u8], n: usize) -> Option<i64> {
        let b = take(bytes, n)?;
        Some(b.iter().fold(0i64, |acc, &x| (acc << 8) | i64::from(x)))
    }
    let read = || -> Option<Vec<(String, u32)>> {
        let mut b = bytes;
        int(&mut b, 2)?; // version
        let mut out = Vec::new();
        for _ in 0..int(&mut b, 4)? {
            let len = int(&mut b, 2)? as usize;
            let topic = String::from_utf8(take(&mut b, len)?.to_vec()).ok()?;
            for _ in 0..int(&mut b, 4)? {
                out.push((topic.clone(), int(&mut b, 4)? as u32));
            }
        }
        Some(out)
    };
    read().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::assigned_partitions;

    #[test]
    fn a_consumer_protocol_assignment_is_read() {
        // Version 3; topic "in" with partitions 0 and 2; no user data.
        let mut bytes = vec![0, 3, 0, 0, 0, 1, 0, 2, b'i', b'n', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2];
        bytes.extend([0xff, 0xff, 0xff, 0xff]);
        assert_eq!(assigned_partitions(&bytes), [("in".to_string(), 0), ("in".to_string(), 2)]);
        assert!(assigned_partitions(&[0, 3, 0]).is_empty());
    }
}
