//! The embedded in-process cluster: topics in memory, shared by every thread of the process.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::log::Log;
use super::Cluster;
use crate::error::StreamsError;
use crate::partitioner::choose_partition;
use crate::record::{Headers, RawRecord};

struct Topic {
    name: Arc<str>,
    partitions: Vec<Log>,
    next_null_key_partition: u32,
}

#[derive(Default)]
struct State {
    topics: FxHashMap<String, Topic>,
    /// Threads in `wait_for_data`: appends wake them only when there are some.
    waiters: usize,
    committed: HashMap<(String, String, u32), u64>,
    /// The metadata committed with them.
    committed_metadata: HashMap<(String, String, u32), String>,
    /// Global order of appends, to print output in the order it was written.
    seq: u64,
}

/// An in-memory cluster; cheap to clone (clones share the topics).
#[derive(Clone, Default)]
pub struct MemoryCluster {
    state: Arc<(Mutex<State>, Condvar)>,
    /// Topics written before they exist are created with this many partitions (a broker's
    /// `auto.create.topics.enable`); `None` refuses them.
    auto_create: Option<u32>,
}

impl MemoryCluster {
    /// An empty cluster that creates topics on first write with one partition.
    pub fn new() -> Self {
        Self::with_auto_create(Some(1))
    }

    /// An empty cluster creating unknown topics with `partitions` partitions on first write
    /// (`None`: writing an unknown topic is an error).
    pub fn with_auto_create(partitions: Option<u32>) -> Self {
        MemoryCluster { state: Arc::default(), auto_create: partitions }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every record of `topic`, in the order the cluster received them.
    pub fn records_in_order(&self, topic: &str) -> Vec<RawRecord> {
        let state = self.lock();
        let Some(t) = state.topics.get(topic) else { return Vec::new() };
        let mut all: Vec<(u64, RawRecord)> =
            t.partitions.iter().enumerate().flat_map(|(p, log)| log.read(&t.name, p as u32, 0)).collect();
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, r)| r).collect()
    }

    /// Records of several topics interleaved in the order the cluster received them.
    pub fn records_of_topics(&self, topics: &[String]) -> Vec<RawRecord> {
        self.records_of_topics_after(topics, None, usize::MAX).into_iter().map(|(_, r)| r).collect()
    }

    /// Up to `max` records of `topics` received after the one numbered `after` (from the
    /// first if `None`), each with its number in the cluster's order of appends (pass the
    /// last one back to read on from there).
    pub fn records_of_topics_after(
        &self,
        topics: &[String],
        after: Option<u64>,
        max: usize,
    ) -> Vec<(u64, RawRecord)> {
        let state = self.lock();
        // Each partition is in the order of appends: merge them, from where each passes `after`.
        let mut heads: Vec<(&Topic, u32, usize)> = topics
            .iter()
            .filter_map(|t| state.topics.get(t))
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .enumerate()
                    .map(move |(p, log)| (t, p as u32, after.map_or(0, |after| log.after_seq(after))))
            })
            .collect();
        let mut out = Vec::new();
        while out.len() < max {
            let next = heads
                .iter_mut()
                .filter_map(|head| Some((head.0.partitions[head.1 as usize].seq_at(head.2)?, head)))
                .min_by_key(|(seq, _)| *seq);
            let Some((seq, (topic, partition, position))) = next else { break };
            let record = topic.partitions[*partition as usize].record_at(&topic.name, *partition, *position);
            *position += 1;
            out.push((seq, record));
        }
        out
    }
}

fn create(state: &mut State, topic: &str, partitions: u32) -> Result<(), StreamsError> {
    if partitions == 0 {
        return Err(StreamsError::InvalidTopology(format!("topic `{topic}` needs at least one partition")));
    }
    state.topics.entry(topic.to_string()).or_insert_with(|| Topic {
        name: Arc::from(topic),
        partitions: (0..partitions).map(|_| Log::default()).collect(),
        next_null_key_partition: 0,
    });
    Ok(())
}

impl Cluster for MemoryCluster {
    fn create_topic(&self, topic: &str, partitions: u32) -> Result<(), StreamsError> {
        create(&mut self.lock(), topic, partitions)
    }

    fn partitions(&self, topic: &str) -> Option<u32> {
        self.lock().topics.get(topic).map(|t| t.partitions.len() as u32)
    }

    fn topics(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().topics.keys().cloned().collect();
        names.sort();
        names
    }

    fn produce(
        &self,
        topic: &str,
        partition: Option<u32>,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        headers: Headers,
    ) -> Result<(u32, u64), StreamsError> {
        let mut state = self.lock();
        if let (Some(n), false) = (self.auto_create, state.topics.contains_key(topic)) {
            create(&mut state, topic, n)?;
        }
        state.seq += 1;
        let seq = state.seq;
        let t = state.topics.get_mut(topic).ok_or_else(|| StreamsError::UnknownTopic(topic.to_string()))?;
        let n = t.partitions.len() as u32;
        let partition = match (partition, &key) {
            (Some(p), _) if p < n => p,
            (Some(p), _) => {
                return Err(StreamsError::InvalidTopology(format!("topic `{topic}` has no partition {p}")))
            }
            (None, key) => choose_partition(key.as_deref(), n, &mut t.next_null_key_partition),
        };
        let log = &mut t.partitions[partition as usize];
        let offset = log.append(seq, key.as_deref(), value.as_deref(), timestamp, &headers);
        let waiters = state.waiters;
        drop(state);
        if waiters > 0 {
            self.state.1.notify_all();
        }
        Ok((partition, offset))
    }

    fn fetch(&self, topic: &str, partition: u32, offset: u64, max: usize) -> Vec<RawRecord> {
        let state = self.lock();
        let Some(t) = state.topics.get(topic) else { return Vec::new() };
        let Some(log) = t.partitions.get(partition as usize) else { return Vec::new() };
        log.read_from(&t.name, partition, offset).take(max).collect()
    }

    fn end_offset(&self, topic: &str, partition: u32) -> u64 {
        let state = self.lock();
        state.topics.get(topic).and_then(|t| t.partitions.get(partition as usize)).map_or(0, Log::end)
    }

    fn delete_records(&self, topic: &str, partition: u32, offset: u64) {
        let mut state = self.lock();
        let Some(log) = state.topics.get_mut(topic).and_then(|t| t.partitions.get_mut(partition as usize))
        else {
            return;
        };
        log.delete_below(offset);
    }

    fn commit(&self, group: &str, offsets: &[(String, u32, u64)]) {
        let mut state = self.lock();
        for (topic, partition, offset) in offsets {
            state.committed.insert((group.to_string(), topic.clone(), *partition), *offset);
        }
    }

    fn committed(&self, group: &str, topic: &str, partition: u32) -> Option<u64> {
        self.lock().committed.get(&(group.to_string(), topic.to_string(), partition)).copied()
    }

    fn commit_with_metadata(&self, group: &str, offsets: &[(String, u32, u64, String)]) {
        let mut state = self.lock();
        for (topic, partition, offset, metadata) in offsets {
            let key = (group.to_string(), topic.clone(), *partition);
            state.committed.insert(key.clone(), *offset);
            state.committed_metadata.insert(key, metadata.clone());
        }
    }

    fn committed_metadata(&self, group: &str, topic: &str, partition: u32) -> Option<String> {
        self.lock().committed_metadata.get(&(group.to_string(), topic.to_string(), partition)).cloned()
    }

    fn wait_for_data(&self, timeout: Duration) {
        let mut guard = self.lock();
        guard.waiters += 1;
        let (mut guard, _) = self.state.1.wait_timeout(guard, timeout).unwrap_or_else(|p| p.into_inner());
        guard.waiters -= 1;
    }
}
