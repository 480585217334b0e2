//! What every stream thread has, whatever its backend: its settings and shared flags, the
//! handling of what escapes its loop, and a task's processing of its buffered input.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Shared, ThreadResponse};
use crate::config::RecordPolicy;
use crate::error::StreamsError;
use crate::graph::Graph;
use crate::ops::RecordCollector;
use crate::record::RawRecord;
use crate::state::StoreRegistry;
use crate::task::Task;

use super::plan::TaskSpec;

pub(super) const FETCH: usize = 1_000;

/// One input partition of a task: the next offset to process and what is fetched past it.
pub(super) struct Input<R> {
    pub(super) topic: Arc<str>,
    pub(super) partition: u32,
    pub(super) position: u64,
    pub(super) buffer: VecDeque<R>,
}

/// Processes up to a batch of a task's buffered records, each time the one with the
/// smallest timestamp among the heads of its inputs. With `stop_when_one_empties`, the
/// batch ends as soon as an input that had records runs out (its next records may be older
/// than the other inputs' heads).
pub(super) fn process_buffered<R: std::borrow::Borrow<RawRecord>>(
    task: &mut Task,
    inputs: &mut [Input<R>],
    stop_when_one_empties: bool,
    policy: &RecordPolicy,
    collector: &mut dyn RecordCollector,
    shared: &Shared,
) -> Result<usize, StreamsError> {
    let had_records: Vec<bool> = inputs.iter().map(|i| !i.buffer.is_empty()).collect();
    let mut done = 0;
    let wall_clock = now_ms();
    let skipped_before = task.skipped();
    let result = loop {
        if done >= FETCH
            || (stop_when_one_empties
                && inputs.iter().zip(&had_records).any(|(i, had)| *had && i.buffer.is_empty()))
        {
            break Ok(());
        }
        let next = inputs
            .iter()
            .enumerate()
            .filter_map(|(i, input)| input.buffer.front().map(|r| (r.borrow().timestamp, i)))
            .min();
        let Some((_, i)) = next else { break Ok(()) };
        let input = &mut inputs[i];
        let raw = input.buffer.pop_front().expect("a head was found");
        let raw = raw.borrow();
        if let Err(e) = task.process(raw, wall_clock, policy, collector) {
            break Err(e);
        }
        input.position = raw.offset + 1;
        done += 1;
    };
    task.publish_metrics();
    shared.skipped.fetch_add(task.skipped() - skipped_before, Ordering::Relaxed);
    shared.processed.fetch_add(done as u64, Ordering::Relaxed);
    result.map(|()| done)
}

/// A record collector that keeps the first failure to send, for the commit to report.
pub(super) trait Collecting: RecordCollector {
    /// Ends a batch of sends (called after every batch of records processed, punctuation and
    /// commit flush): a collector that holds records back sends them now; then the first
    /// failure, if any.
    fn take_error(&mut self) -> Option<StreamsError>;
}

/// The first half of every commit, on either cluster: every task's record caches flushed
/// downstream, then every store's changes written to its changelog (after all flushes, which
/// may change stores), all through `collector`. Returns each input's position, to commit.
pub(super) fn flush_and_log<R>(
    tasks: &mut [(&mut Task, &[Input<R>])],
    application_id: &str,
    collector: &mut dyn Collecting,
) -> Result<Vec<super::engine::CommitOffset>, StreamsError> {
    let wall_clock = now_ms();
    for (task, _) in tasks.iter_mut() {
        task.flush(wall_clock, collector)?;
    }
    let mut positions = Vec::new();
    for (task, inputs) in tasks.iter() {
        task.write_changelogs(application_id, collector)?;
        positions.extend(
            inputs.iter().map(|i| (i.topic.clone(), i.partition, i.position, task.commit_metadata(&i.topic))),
        );
    }
    collector.take_error().map_or(Ok(positions), Err)
}

/// What every stream thread has, on either cluster.
pub(crate) struct ThreadCommon {
    pub(crate) id: usize,
    /// Its sensors (Kafka's `ThreadMetrics`).
    pub(crate) metrics: Arc<crate::metrics::ThreadMetrics>,
    pub(crate) graph: Arc<Graph>,
    pub(crate) application_id: String,
    pub(crate) policy: RecordPolicy,
    pub(crate) commit_interval: Duration,
    pub(crate) cache_capacity: usize,
    pub(crate) globals: Arc<crate::ops::global_table::GlobalStores>,
    /// `repartition.purge.interval.ms`.
    pub(crate) purge_interval: Duration,
    /// The repartition topics (their names on the cluster), purged below committed offsets.
    pub(crate) repartition_topics: Arc<std::collections::BTreeSet<String>>,
    /// Where the persistent stores live (`None`: every store is in memory).
    pub(crate) state: Option<Arc<crate::state::persistent::StateDirectory>>,
    /// Whether the processing guarantee is exactly-once (checkpoints only at a clean close).
    pub(crate) exactly_once: bool,
    /// The last flush epoch this thread committed for.
    pub(crate) flushed_epoch: Arc<AtomicU64>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) idle: Arc<AtomicBool>,
    /// Processed positions of the partitions this thread's tasks read.
    pub(crate) positions: super::Positions,
    /// Decides what a failed thread does next.
    pub(crate) uncaught: super::UncaughtExceptionHandler,
    /// Waiting for an assignment, restoring or rebuilding tasks (the application is
    /// `Rebalancing` while a thread is).
    pub(crate) rebalancing: Arc<AtomicBool>,
}

impl ThreadCommon {
    /// Marks this thread rebalancing (or settled). The application becomes `Rebalancing` at
    /// once, as Kafka's `StreamThread` state listener makes it, so a rebalance shorter than
    /// the supervisor's sampling is still seen; `Running` again is the supervisor's call,
    /// once no thread rebalances.
    pub(crate) fn set_rebalancing(&self, on: bool) {
        let was = self.rebalancing.swap(on, Ordering::SeqCst);
        if on && !was {
            self.shared.state.advance(super::State::Rebalancing);
        }
    }

    /// Runs the thread's loop. An error it returns, or a panic that escapes it, goes to the
    /// uncaught-exception handler: `ReplaceThread` runs the loop again from scratch (its tasks
    /// closed dirty, rebuilt from their changelogs and the committed offsets);
    /// `ShutdownClient` stops every thread and keeps the error for `KafkaStreams::run`.
    pub(super) fn run_reporting(&self, mut body: impl FnMut() -> Result<(), StreamsError>) {
        loop {
            let error = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut body)) {
                Ok(Ok(())) => break,
                Ok(Err(e)) => e,
                Err(panic) => StreamsError::ThreadPanicked {
                    thread: self.id + 1,
                    message: crate::error::panic_message(panic.as_ref()),
                },
            };
            let stopping = self.shared.shutdown.load(Ordering::SeqCst);
            let response = if stopping { ThreadResponse::ShutdownClient } else { (self.uncaught)(&error) };
            if response == ThreadResponse::ReplaceThread {
                self.set_rebalancing(true);
                tracing::error!(thread = self.id, %error, "stream thread failed; replacing it");
                self.shared.replaced_threads.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if response == ThreadResponse::ShutdownApplication {
                self.request_application_shutdown(&error);
            }
            tracing::error!(thread = self.id, %error, "stream thread stopped");
            self.shared.error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(error);
            self.shared.shutdown.store(true, Ordering::SeqCst);
            break;
        }
        self.idle.store(true, Ordering::SeqCst);
        self.metrics.alive.store(false, Ordering::SeqCst);
        self.metrics.log_time_spent();
    }

    /// Asks every instance of the application to stop (see `control.rs`).
    fn request_application_shutdown(&self, error: &StreamsError) {
        let requests = self.shared.shutdown_requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(requests) = requests else { return };
        tracing::error!(thread = self.id, %error, "requesting the application's shutdown");
        if let Err(e) = requests.request(&error.to_string()) {
            tracing::error!(thread = self.id, error = %e, "cannot request the application's shutdown; this instance stops");
        }
    }

    /// A new task of this thread (its stores still empty).
    pub(super) fn new_task(&self, spec: &TaskSpec) -> Task {
        Task::new(
            &self.graph,
            (spec.subtopology, spec.partition),
            &self.application_id,
            self.cache_capacity,
            &self.globals,
            &self.metrics.tasks,
            now_ms(),
            self.state.as_ref().map(|dir| {
                crate::state::persistent::TaskState::new(
                    dir,
                    (spec.subtopology, spec.partition),
                    self.exactly_once,
                    self.cache_capacity,
                )
            }),
        )
    }

    /// Lists a restored task's stores for interactive queries.
    pub(super) fn register_stores(&self, task: (usize, u32), stores: &StoreRegistry) {
        self.shared.stores.lock().unwrap_or_else(|p| p.into_inner()).insert(task, stores.clone());
    }
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
