//! The engine's backend on the embedded cluster: a fixed assignment (the thread's share of
//! the tasks), fetches from each task's own positions, produced records appended at once,
//! stores restored synchronously (the changelogs are in memory).

use std::sync::{Arc, Mutex};

use crate::state::persistent::Written;
use std::time::Duration;

use super::engine::{
    lock, Backend, CommitOffset, Committed, FetchPositions, Producer, Restorer, TaskKey, Worker,
};
use super::plan::TaskSpec;
use super::thread::{Collecting, Input, ThreadCommon, FETCH};
use crate::cluster::{Cluster, ProduceBatch, Produced};
use crate::error::StreamsError;
use crate::graph::Changelog;
use crate::metrics::task::TaskMetrics;
use crate::ops::{Placement, RecordCollector};
use crate::record::{Headers, RawRecord};
use crate::state::StoreRegistry;

/// A stream thread on the embedded cluster, with a fixed set of tasks.
pub(crate) struct StreamThread {
    pub(crate) common: Arc<ThreadCommon>,
    pub(crate) cluster: Arc<dyn Cluster>,
}

impl StreamThread {
    pub(crate) fn run(self, specs: Vec<TaskSpec>) {
        let engine = super::engine::Engine::new(self.common.clone());
        let assignment: Vec<(String, u32)> =
            specs.iter().flat_map(|s| s.inputs.iter().map(|i| (i.clone(), s.partition))).collect();
        let specs: Arc<[TaskSpec]> = specs.into();
        self.common.run_reporting(|| loop {
            let backend = Embedded { cluster: self.cluster.clone(), assignment: assignment.clone() };
            let producer = ClusterProducer { written: Mutex::default(), cluster: self.cluster.clone() };
            let restorer = Restore {
                cluster: self.cluster.clone(),
                application_id: self.common.application_id.clone(),
                done: Vec::new(),
            };
            let worker = Mutex::new(Worker::new(self.common.clone(), specs.clone(), producer, restorer));
            {
                let mut w = lock(&worker);
                w.pending = Some(assignment.clone());
                w.assigned = true;
            }
            match engine.run(&backend, &worker)? {
                super::engine::Exit::Stopped => return Ok(()),
                super::engine::Exit::ResetClients => continue,
            }
        });
    }
}

/// The embedded cluster as the engine's backend.
struct Embedded {
    cluster: Arc<dyn Cluster>,
    assignment: Vec<(String, u32)>,
}

impl Backend for Embedded {
    type Record = RawRecord;
    type Producer = ClusterProducer;
    type Restorer = Restore;

    fn poll(&self, worker: &Mutex<Worker<Self>>, wait: Duration) -> Result<usize, StreamsError> {
        let mut fetched = 0;
        {
            let mut w = lock(worker);
            w.take_assignment(self)?;
            for t in w.tasks.values_mut() {
                for input in &mut t.inputs {
                    if input.buffer.is_empty() {
                        let from = input.position;
                        let records = self.cluster.fetch(&input.topic, input.partition, from, FETCH);
                        fetched += records.len();
                        input.buffer.extend(records);
                    }
                }
            }
        }
        if fetched == 0 && !wait.is_zero() {
            self.cluster.wait_for_data(wait.min(Duration::from_millis(5)));
        }
        Ok(fetched)
    }

    fn assignment(&self) -> Result<Vec<(String, u32)>, StreamsError> {
        Ok(self.assignment.clone())
    }

    // Inputs are fetched from their tasks' positions: nothing to pause or seek.
    fn pause(&self, _: &[Input<Self::Record>]) {}

    fn resume_at(&self, _: &[Input<Self::Record>]) -> Result<(), StreamsError> {
        Ok(())
    }

    fn fetch_positions(&self) -> FetchPositions {
        FetchPositions::new()
    }

    fn end_offset(&self, topic: &str, partition: u32) -> Option<u64> {
        Some(self.cluster.end_offset(topic, partition))
    }

    fn known_end_offset(&self, topic: &str, partition: u32) -> Option<u64> {
        Some(self.cluster.end_offset(topic, partition))
    }

    /// Produced records are appended already; the positions are committed.
    fn commit(&self, w: &mut Worker<Self>, positions: Vec<CommitOffset>) -> Result<(), StreamsError> {
        let offsets: Vec<_> = positions.into_iter().map(|(t, p, o, m)| (t.to_string(), p, o, m)).collect();
        self.cluster.commit_with_metadata(&w.common.application_id, &offsets);
        Ok(())
    }

    fn reset_output(&self, _: &mut Worker<Self>) -> Result<(), StreamsError> {
        Ok(())
    }

    fn serve(&self, time: Duration) {
        std::thread::sleep(time);
    }

    fn purge(&self, below: &[(Arc<str>, u32, u64)]) {
        for (topic, partition, offset) in below {
            self.cluster.delete_records(topic, *partition, *offset);
        }
    }
}

/// Appends produced records to the cluster.
struct ClusterProducer {
    cluster: Arc<dyn Cluster>,
    /// The last offset written to each changelog partition (persistent stores' checkpoints).
    written: Mutex<Written>,
}

impl Producer for ClusterProducer {
    fn collector(&self) -> impl Collecting + '_ {
        ClusterCollector {
            cluster: self.cluster.as_ref(),
            written: &self.written,
            pending: ProduceBatch::default(),
            error: None,
        }
    }

    fn written(&self, topic: &str, partition: u32) -> Option<u64> {
        self.written.lock().unwrap_or_else(|p| p.into_inner()).get(topic, partition)
    }
}

/// Sends produced records to the cluster, a batch at a time: they wait in `pending` until the
/// end of the batch of records processed (or the commit's flush) asks for the first failure,
/// and are then appended together, in the order sent, each partition's lock taken once per
/// batch and not once per record (another stream thread appends to the same partitions).
/// The first failure is kept.
struct ClusterCollector<'a> {
    cluster: &'a dyn Cluster,
    written: &'a Mutex<Written>,
    pending: ProduceBatch,
    error: Option<StreamsError>,
}

impl ClusterCollector<'_> {
    fn append_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        // Where changelog records landed, for the persistent stores' checkpoints.
        let topics: Vec<String> = batch.topics().to_vec();
        let of_topic: Vec<usize> = batch.topic_of_each().collect();
        match self.cluster.produce_batch(batch) {
            Ok(placed) => {
                let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
                for (t, (partition, offset)) in of_topic.into_iter().zip(placed) {
                    if topics[t].ends_with("-changelog") {
                        written.record(&topics[t], partition, offset);
                    }
                }
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }
}

impl Drop for ClusterCollector<'_> {
    /// A batch cut short by an error still appends what it sent, as a producer would have.
    fn drop(&mut self) {
        self.append_pending();
    }
}

impl Collecting for ClusterCollector<'_> {
    fn take_error(&mut self) -> Option<StreamsError> {
        self.append_pending();
        self.error.take()
    }
}

impl RecordCollector for ClusterCollector<'_> {
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
            placement.choose(key.as_deref(), || self.cluster.partitions(topic).ok_or(())).unwrap_or(None);
        self.pending.push(topic, Produced { partition, key, value, timestamp, headers: headers.clone() });
    }
}

/// Restores at once: every changelog is in memory. Inputs start at the group's committed
/// offsets, or at the start.
struct Restore {
    cluster: Arc<dyn Cluster>,
    application_id: String,
    done: Vec<(TaskKey, Result<Vec<Committed>, StreamsError>)>,
}

impl Restorer for Restore {
    fn add(
        &mut self,
        key: TaskKey,
        inputs: Vec<String>,
        stores: StoreRegistry,
        changelogs: Vec<Changelog>,
        metrics: Arc<TaskMetrics>,
    ) {
        let partition = key.1;
        for (store, changelog) in stores.iter().zip(changelogs) {
            let topic = changelog.topic;
            // A source topic as changelog: up to what the task has committed of it.
            let end = if changelog.is_source {
                self.cluster.committed(&self.application_id, &topic, partition).unwrap_or(0)
            } else {
                self.cluster.end_offset(&topic, partition)
            };
            // A persistent store reads after its checkpoint (wiped if outside the log).
            let disk = store.disk();
            let mut offset = disk.map_or(0, |d| d.restore_from(0, end));
            metrics.restore_started(end - offset);
            while offset < end {
                let mut batch = self.cluster.fetch(&topic, partition, offset, 10 * FETCH);
                if batch.is_empty() {
                    break;
                }
                // Not past the end (a source topic goes on past its committed offset).
                batch.truncate((end - offset) as usize);
                offset += batch.len() as u64;
                metrics.restored(batch.len() as u64);
                for r in batch {
                    store.restore(r.key.as_deref(), r.value.as_deref(), r.timestamp);
                }
                if let Some(d) = disk {
                    d.advance(offset - 1);
                }
            }
            if let Some(d) = disk {
                d.restored();
            }
            if end > 0 {
                tracing::info!(store = store.name(), partition, records = end, "restored");
            }
        }
        let positions = inputs
            .iter()
            .map(|topic| match self.cluster.committed(&self.application_id, topic, partition) {
                Some(offset) => {
                    (offset, self.cluster.committed_metadata(&self.application_id, topic, partition))
                }
                None => (0, None),
            })
            .collect();
        self.done.push((key, Ok(positions)));
    }

    fn cancel(&mut self, key: TaskKey) {
        self.done.retain(|(k, _)| *k != key);
    }

    fn cancel_all(&mut self) {
        self.done.clear();
    }

    fn is_idle(&self) -> bool {
        self.done.is_empty()
    }

    fn take_restored(&mut self) -> Vec<(TaskKey, Result<Vec<Committed>, StreamsError>)> {
        std::mem::take(&mut self.done)
    }
}
