//! Restoration on a thread of its own, as Kafka Streams' `DefaultStateUpdater`: a stream
//! thread hands over each new task's stores and goes on processing its other tasks; the
//! updater reads the group's committed offsets for the task's inputs, then replays each
//! store's changelog, and hands the task back with the positions it starts at. A task that
//! is revoked or closed dirty meanwhile is cancelled, and its result never used.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::engine::{Committed, Restorer, TaskKey};
use crate::cluster::kafka::{watermarks, KafkaClients};
use crate::error::StreamsError;
use crate::graph::Changelog;
use crate::metrics::task::TaskMetrics;
use crate::state::StoreRegistry;

/// One task to restore.
struct Job {
    key: TaskKey,
    id: u64,
    inputs: Vec<String>,
    stores: StoreRegistry,
    /// Where each store is restored from, in order.
    changelogs: Vec<Changelog>,
    metrics: Arc<TaskMetrics>,
    cancelled: Arc<AtomicBool>,
}

/// What a finished job hands back: per input, the offset to start at.
struct Done {
    key: TaskKey,
    id: u64,
    outcome: Result<Vec<Committed>, StreamsError>,
}

/// The clients the updater reads with, all its own.
pub(super) struct RestoreClients {
    /// Reads changelogs (`read_committed` under exactly-once, which skips aborted writes).
    pub(super) changelogs: std::cell::RefCell<BaseConsumer>,
    /// Exactly-once: reads partition ends including open transactions.
    pub(super) uncommitted_ends: std::cell::RefCell<Option<BaseConsumer>>,
    /// Makes new changelog readers (`changelogs`, `uncommitted_ends`) for ones that failed a
    /// restoration: after a broker restart librdkafka can keep answering `UnknownPartition`
    /// for a changelog partition from its metadata cache for minutes (seen in the broker
    /// restart scenario of `tests/faults.rs`); the task is rebuilt by new clients.
    pub(super) new_changelog_readers: Box<dyn Fn() -> ChangelogReaders + Send>,
    /// Reads the group's committed offsets (a member of no group: it never subscribes).
    pub(super) offsets: std::cell::RefCell<BaseConsumer>,
    /// Makes a new offsets reader, for one whose reads have failed for
    /// [`OFFSETS_READER_RESET`]: after broker restarts librdkafka's look-up of the group
    /// coordinator can stay stuck (confluentinc/librdkafka#5511), which a new client does not
    /// share; offsets held pending by a transaction wait on any client.
    pub(super) new_offsets_reader: Box<dyn Fn() -> Result<BaseConsumer, StreamsError> + Send>,
}

/// New changelog readers: the `read_committed` one and, exactly-once, the one reading ends.
pub(super) type ChangelogReaders = Result<(BaseConsumer, Option<BaseConsumer>), StreamsError>;

/// The stream thread's handle on its updater thread.
pub(super) struct StateUpdater {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    /// The job each restoring task waits for, and how to cancel it.
    waiting: HashMap<TaskKey, (u64, Arc<AtomicBool>)>,
    next_id: u64,
    worker: Option<JoinHandle<()>>,
}

impl StateUpdater {
    pub(super) fn start(
        clients: Arc<KafkaClients>,
        application_id: String,
        readers: RestoreClients,
        thread: usize,
    ) -> Result<StateUpdater, StreamsError> {
        let (jobs, incoming) = mpsc::channel::<Job>();
        let (finished, done) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name(format!("{application_id}-StateUpdater-{}", thread + 1))
            .spawn(move || {
                let offsets_failing = std::cell::Cell::new(None);
                Updater { clients, readers, offsets_failing, jobs: incoming, finished }.run()
            })
            .map_err(|e| StreamsError::Kafka(format!("cannot start the state updater: {e}")))?;
        Ok(StateUpdater { jobs: Some(jobs), done, waiting: HashMap::new(), next_id: 0, worker: Some(worker) })
    }
}

impl Restorer for StateUpdater {
    /// Restores `stores` of task `key` reading `inputs`, in the background.
    fn add(
        &mut self,
        key: TaskKey,
        inputs: Vec<String>,
        stores: StoreRegistry,
        changelogs: Vec<Changelog>,
        metrics: Arc<TaskMetrics>,
    ) {
        self.cancel(key);
        self.next_id += 1;
        let cancelled = Arc::new(AtomicBool::new(false));
        self.waiting.insert(key, (self.next_id, cancelled.clone()));
        let job = Job { key, id: self.next_id, inputs, stores, changelogs, metrics, cancelled };
        if let Some(jobs) = &self.jobs {
            // The worker only stops when this handle is dropped.
            let _ = jobs.send(job);
        }
    }

    /// Drops task `key`'s restoration, if it has one.
    fn cancel(&mut self, key: TaskKey) {
        if let Some((_, cancelled)) = self.waiting.remove(&key) {
            cancelled.store(true, Ordering::SeqCst);
        }
    }

    fn cancel_all(&mut self) {
        for (_, (_, cancelled)) in self.waiting.drain() {
            cancelled.store(true, Ordering::SeqCst);
        }
    }

    /// Whether no task is being restored.
    fn is_idle(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The tasks restored since the last call, with the position of each input; results of
    /// cancelled jobs are dropped.
    fn take_restored(&mut self) -> Vec<(TaskKey, Result<Vec<Committed>, StreamsError>)> {
        let mut restored = Vec::new();
        while let Ok(done) = self.done.try_recv() {
            if self.waiting.get(&done.key).is_some_and(|(id, _)| *id == done.id) {
                self.waiting.remove(&done.key);
                restored.push((done.key, done.outcome));
            }
        }
        restored
    }
}

impl Drop for StateUpdater {
    fn drop(&mut self) {
        self.cancel_all();
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The updater thread: its jobs advance in turns, so a task that waits (an open transaction
/// on its changelog, pending offsets of its inputs) does not hold up the others.
struct Updater {
    clients: Arc<KafkaClients>,
    readers: RestoreClients,
    /// Since when every read of committed offsets has failed.
    offsets_failing: std::cell::Cell<Option<Instant>>,
    jobs: Receiver<Job>,
    finished: Sender<Done>,
}

/// Where a job stands.
enum Step {
    /// Reading the group's committed offsets of the task's inputs.
    Offsets,
    /// Waiting until no transaction is open on store `store`'s changelog partition (which
    /// ends at `end`, open transactions included).
    Stable { store: usize, end: Option<u64> },
    /// Replaying store `store`'s changelog.
    Read { store: usize },
}

struct Restoring {
    job: Job,
    step: Step,
    positions: Vec<Committed>,
    /// Since when the job has waited at its current step, and when it last said so.
    waiting: Option<(Instant, Instant)>,
    /// Whether a hanging transaction on its changelog was reported (once per job).
    hanging_reported: bool,
}

/// What one turn did to a job.
enum Turn {
    Advanced,
    Waiting,
    Finished(Result<Vec<Committed>, StreamsError>),
}

impl Updater {
    fn run(self) {
        let mut queue: VecDeque<Restoring> = VecDeque::new();
        loop {
            // Idle: block for the next job; stop when the stream thread lets go.
            if queue.is_empty() {
                match self.jobs.recv() {
                    Ok(job) => queue.push_back(Restoring::new(job)),
                    Err(_) => return,
                }
            }
            queue.extend(self.jobs.try_iter().map(Restoring::new));
            queue.retain(|r| !r.job.cancelled.load(Ordering::SeqCst));
            let mut advanced = false;
            for _ in 0..queue.len() {
                let mut r = queue.pop_front().expect("counted");
                // A panic (a codec decoding a changelog record) fails this task's restoration,
                // which the stream thread answers as any failure: the updater goes on.
                let turn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.turn(&mut r)))
                    .unwrap_or_else(|panic| {
                        let _ = self.readers.changelogs.borrow().unassign();
                        Turn::Finished(Err(StreamsError::Kafka(format!(
                            "restoring task {:?} panicked: {}",
                            r.job.key,
                            crate::error::panic_message(panic.as_ref())
                        ))))
                    });
                match turn {
                    Turn::Advanced => {
                        advanced = true;
                        r.waiting = None;
                        queue.push_back(r);
                    }
                    Turn::Waiting => {
                        r.note_waiting();
                        queue.push_back(r);
                    }
                    Turn::Finished(outcome) => {
                        advanced = true;
                        if outcome.is_err() {
                            self.replace_changelog_readers();
                        }
                        let done = Done { key: r.job.key, id: r.job.id, outcome };
                        if self.finished.send(done).is_err() {
                            return;
                        }
                    }
                }
            }
            if !advanced {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Replaces the offsets reader once its reads have failed for [`OFFSETS_READER_RESET`].
    fn replace_offsets_reader_if_stuck(&self) {
        let since = match self.offsets_failing.get() {
            Some(since) => since,
            None => {
                self.offsets_failing.set(Some(Instant::now()));
                return;
            }
        };
        if since.elapsed() < OFFSETS_READER_RESET {
            return;
        }
        self.offsets_failing.set(Some(Instant::now()));
        match (self.readers.new_offsets_reader)() {
            Ok(fresh) => {
                tracing::warn!(
                    failing_s = since.elapsed().as_secs(),
                    "committed offsets unreadable; replacing the offsets reader"
                );
                *self.readers.offsets.borrow_mut() = fresh;
            }
            Err(e) => tracing::warn!(error = %e, "cannot make a new offsets reader"),
        }
    }

    /// Replaces the changelog readers after a failed restoration (see
    /// [`RestoreClients::new_changelog_readers`]); the old ones are kept if no new ones can be
    /// made.
    fn replace_changelog_readers(&self) {
        match (self.readers.new_changelog_readers)() {
            Ok((changelogs, ends)) => {
                tracing::warn!("a restoration failed; replacing the changelog readers");
                *self.readers.changelogs.borrow_mut() = changelogs;
                *self.readers.uncommitted_ends.borrow_mut() = ends;
            }
            Err(e) => tracing::warn!(error = %e, "cannot make new changelog readers"),
        }
    }

    /// Moves a job one step on, if it can.
    fn turn(&self, r: &mut Restoring) -> Turn {
        let partition = r.job.key.1;
        match r.step {
            // First the offsets: exactly-once, the read waits while a previous owner's
            // transaction holds offsets pending (KIP-447), so the changelogs are read after
            // that transaction ended.
            Step::Offsets => {
                let mut tpl = TopicPartitionList::new();
                for topic in &r.job.inputs {
                    tpl.add_partition(topic, partition as i32);
                }
                let read = self.readers.offsets.borrow().committed_offsets(tpl, OFFSETS_TURN);
                let committed = match read {
                    Ok(committed) => {
                        self.offsets_failing.set(None);
                        committed
                    }
                    Err(e) => {
                        tracing::debug!(partition, error = %e, "committed offsets not readable yet");
                        self.replace_offsets_reader_if_stuck();
                        let inputs = r.job.inputs.join(", ");
                        r.report_hanging(
                            &format!("the group's committed offsets of {inputs} (partition {partition})"),
                            "kafka-transactions.sh --bootstrap-server HOST:PORT find-hanging --broker-id ID, then `abort --topic T --partition P --start-offset O` for each partition it lists",
                        );
                        r.report_wait(|| format!(
                            "the committed offsets of {inputs} (partition {partition}) cannot be read yet ({e}); the task waits to restore"
                        ));
                        return Turn::Waiting;
                    }
                };
                for topic in &r.job.inputs {
                    let elem = committed.find_partition(topic, partition as i32);
                    let offset = elem.as_ref().and_then(|e| match e.offset() {
                        Offset::Offset(o) => Some(o as u64),
                        _ => None,
                    });
                    let metadata = elem.filter(|_| offset.is_some()).map(|e| e.metadata().to_string());
                    // Nothing committed: the earliest offset (`auto.offset.reset=earliest`).
                    let position = match offset {
                        Some(o) => o,
                        None => match watermarks(&self.readers.offsets.borrow(), topic, partition) {
                            Ok((low, _)) => low,
                            Err(e) => return Turn::Finished(Err(e)),
                        },
                    };
                    r.positions.push((position, metadata));
                }
                r.step = r.after_store(None);
                Turn::Advanced
            }
            Step::Stable { store, end } => {
                let ends = self.readers.uncommitted_ends.borrow();
                // A source topic as changelog is read up to a committed offset: nothing open
                // below it.
                let (Some(uncommitted), Some(changelog)) =
                    (ends.as_ref(), r.job.changelogs.get(store).filter(|c| !c.is_source))
                else {
                    r.step = Step::Read { store };
                    return Turn::Advanced;
                };
                let topic = &changelog.topic.clone();
                // Its end when the job started waiting: transactions opened later are the
                // next owner's business.
                let end = match end {
                    Some(end) => end,
                    None => match watermarks(uncommitted, &topic, partition) {
                        Ok((_, high)) => {
                            r.step = Step::Stable { store, end: Some(high) };
                            high
                        }
                        Err(e) => return Turn::Finished(Err(e)),
                    },
                };
                match watermarks(&self.readers.changelogs.borrow(), &topic, partition) {
                    Ok((_, stable)) if stable >= end => {
                        r.step = Step::Read { store };
                        Turn::Advanced
                    }
                    Ok((_, stable)) => {
                        r.report_hanging(
                            &format!("{topic}-{partition}"),
                            &format!("kafka-transactions.sh --bootstrap-server HOST:PORT abort --topic {topic} --partition {partition} --start-offset {stable}"),
                        );
                        r.report_wait(|| format!(
                            "{topic}-{partition}: a transaction is open (last stable offset {stable}, end {end}); the task waits to restore until it ends"
                        ));
                        Turn::Waiting
                    }
                    Err(e) => Turn::Finished(Err(e)),
                }
            }
            Step::Read { store } => {
                let Some(s) = r.job.stores.iter().nth(store) else {
                    return Turn::Finished(Ok(std::mem::take(&mut r.positions)));
                };
                let changelog = &r.job.changelogs[store];
                let topic = changelog.topic.clone();
                // A source topic: up to the task's committed offset of it.
                let until = changelog
                    .is_source
                    .then(|| r.job.inputs.iter().position(|t| *t == topic).map(|i| r.positions[i].0 as i64))
                    .map(|p| p.unwrap_or(0));
                let started = Instant::now();
                let cancel = &r.job.cancelled;
                let metrics = &r.job.metrics;
                let mut applied = 0u64;
                // A persistent store reads after its checkpoint (wiped if outside the log).
                let disk = s.disk();
                let start = |low, high: u64| {
                    let from = disk.map_or(low, |d| d.restore_from(low, high));
                    metrics.restore_started(high.saturating_sub(from));
                    from
                };
                let records = self.clients.read_until(
                    &self.readers.changelogs.borrow(),
                    &topic,
                    &[partition],
                    until,
                    &start,
                    |rec| {
                        if let Some(d) = disk {
                            d.advance(rec.offset);
                        }
                        applied += 1;
                        if applied.is_multiple_of(1_000) {
                            metrics.restored(1_000);
                            if cancel.load(Ordering::SeqCst) {
                                return Err(cancelled());
                            }
                        }
                        s.restore(rec.key.as_deref(), rec.value.as_deref(), rec.timestamp);
                        Ok(())
                    },
                );
                metrics.restored(applied % 1_000);
                if let Some(d) = disk {
                    d.restored();
                }
                match records {
                    Ok(records) => {
                        if records > 0 {
                            tracing::info!(
                                store = s.name(),
                                partition,
                                records,
                                ms = started.elapsed().as_millis() as u64,
                                "restored from changelog"
                            );
                        }
                        r.step = r.after_store(Some(store));
                        Turn::Advanced
                    }
                    Err(e) => {
                        // Leave the consumer free for the next job.
                        let _ = self.readers.changelogs.borrow().unassign();
                        Turn::Finished(Err(e))
                    }
                }
            }
        }
    }
}

impl Restoring {
    fn new(job: Job) -> Restoring {
        Restoring { job, step: Step::Offsets, positions: Vec::new(), waiting: None, hanging_reported: false }
    }

    /// The step after store `done` (or after the offsets): the next store's, or the end.
    fn after_store(&self, done: Option<usize>) -> Step {
        let store = done.map_or(0, |s| s + 1);
        Step::Stable { store, end: None }
    }

    fn note_waiting(&mut self) {
        let now = Instant::now();
        self.waiting.get_or_insert((now, now));
    }

    /// Says why the job waits, when it has waited long and at most every [`WAIT_REPORT`].
    /// How long the job has waited at its current step.
    fn waited(&self) -> Duration {
        self.waiting.map_or(Duration::ZERO, |(since, _)| since.elapsed())
    }

    /// Once the job has waited [`HANGING_AFTER`] for `what` (a changelog partition, or
    /// committed offsets held pending), says the transaction holding it hangs and how to end it.
    fn report_hanging(&mut self, what: &str, remedy: &str) {
        if self.hanging_reported || self.waited() < HANGING_AFTER {
            return;
        }
        self.hanging_reported = true;
        tracing::error!(
            waited_s = self.waited().as_secs(),
            "{what}: held by a transaction open for longer than six times the application's `transaction.timeout.ms`: a hanging transaction (one whose markers the broker lost: Kafka 4.x skips the markers of a partition without a leader, as when its last replica shuts down), or one of a producer with a longer timeout. The task restores once it ends; to abort it: {remedy}"
        );
    }

    fn report_wait(&mut self, why: impl FnOnce() -> String) {
        let now = Instant::now();
        let (since, reported) = self.waiting.get_or_insert((now, now));
        if now.duration_since(*since) >= WAIT_REPORT && now.duration_since(*reported) >= WAIT_REPORT {
            *reported = now;
            tracing::warn!(waited_s = since.elapsed().as_secs(), "{}", why());
        }
    }
}

/// How long one turn may wait for the group's committed offsets (the read waits while a
/// transaction holds offsets pending) before the other jobs get theirs.
const OFFSETS_TURN: Duration = Duration::from_millis(500);

/// How long reads of committed offsets may fail before the reader is replaced.
const OFFSETS_READER_RESET: Duration = Duration::from_secs(30);

/// How long a changelog's transaction may stay open before it is called hanging: six times
/// the `transaction.timeout.ms` of the application's producers (10 s), after which the
/// transaction coordinator has aborted any transaction it knows of.
const HANGING_AFTER: Duration = Duration::from_secs(60);

/// How often a job that waits says why.
const WAIT_REPORT: Duration = Duration::from_secs(15);

/// A job stopped because its task was revoked or closed.
fn cancelled() -> StreamsError {
    StreamsError::Kafka("restoration cancelled".into())
}
