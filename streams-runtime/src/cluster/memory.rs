//! The embedded in-process cluster: topics in memory, shared by every thread of the process.
//!
//! Each partition has a lock of its own, as each of a broker's partitions has its own log:
//! threads writing different partitions (two stream threads, each producing to the
//! repartition, changelog and output partitions of its tasks) never wait for each other. The
//! topic map is behind a read-write lock that only topic creation writes; committed offsets
//! have a lock of their own.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use super::log::Log;
use super::{Cluster, ProduceBatch};
use crate::error::StreamsError;
use crate::partitioner::choose_partition;
use crate::record::{Headers, RawRecord};

struct Topic {
    name: Arc<str>,
    partitions: Vec<Mutex<Log>>,
    next_null_key_partition: AtomicU32,
}

impl Topic {
    /// The partition a record goes to: the one asked for, or the Java producer's choice
    /// (murmur2 of the key; round-robin for null keys).
    fn choose(&self, partition: Option<u32>, key: Option<&[u8]>) -> Result<u32, StreamsError> {
        let n = self.partitions.len() as u32;
        match (partition, key) {
            (Some(p), _) if p < n => Ok(p),
            (Some(p), _) => {
                Err(StreamsError::InvalidTopology(format!("topic `{}` has no partition {p}", self.name)))
            }
            (None, Some(key)) => Ok(choose_partition(Some(key), n, &mut 0)),
            (None, None) => {
                let mut chosen = 0;
                let _ = self.next_null_key_partition.fetch_update(
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                    |mut next| {
                        chosen = choose_partition(None, n, &mut next);
                        Some(next)
                    },
                );
                Ok(chosen)
            }
        }
    }

    fn partition(&self, partition: u32) -> Option<MutexGuard<'_, Log>> {
        self.partitions.get(partition as usize).map(|log| log.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[derive(Default)]
struct Offsets {
    committed: HashMap<(String, String, u32), u64>,
    /// The metadata committed with them.
    metadata: HashMap<(String, String, u32), String>,
}

#[derive(Default)]
struct State {
    topics: RwLock<FxHashMap<String, Arc<Topic>>>,
    offsets: Mutex<Offsets>,
    /// Global order of appends, to print output in the order it was written. A record takes
    /// its number under its partition's lock, so each partition's numbers increase.
    seq: AtomicU64,
    /// Threads in `wait_for_data`: appends wake them only when there are some.
    waiters: AtomicUsize,
    wake: (Mutex<()>, Condvar),
}

/// An in-memory cluster; cheap to clone (clones share the topics).
#[derive(Clone, Default)]
pub struct MemoryCluster {
    state: Arc<State>,
    /// Topics written before they exist are created with this many partitions (a broker's
    /// `auto.create.topics.enable`); `None` refuses them.
    auto_create: Option<u32>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
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

    fn topic(&self, topic: &str) -> Option<Arc<Topic>> {
        self.state.topics.read().unwrap_or_else(|p| p.into_inner()).get(topic).cloned()
    }

    fn offsets(&self) -> MutexGuard<'_, Offsets> {
        lock(&self.state.offsets)
    }

    /// Every record of `topic`, in the order the cluster received them.
    pub fn records_in_order(&self, topic: &str) -> Vec<RawRecord> {
        self.records_of_topics(&[topic.to_string()])
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
        // Every partition read is locked at once, so that no record numbered below one read
        // can still be appended to another; locks are taken in the order of topic names (and
        // only producers, which take one lock, run beside this). The topic map stays read-locked
        // too: a topic created meanwhile would hold records numbered below some read here.
        let mut names: Vec<&String> = topics.iter().collect();
        names.sort();
        names.dedup();
        let all = self.state.topics.read().unwrap_or_else(|p| p.into_inner());
        let logs: Vec<(&Topic, u32, MutexGuard<'_, Log>)> = names
            .into_iter()
            .filter_map(|t| all.get(t))
            .flat_map(|t| (0..t.partitions.len() as u32).map(move |p| (&**t, p)))
            .filter_map(|(t, p)| Some((t, p, t.partition(p)?)))
            .collect();
        // Each partition is in the order of appends: merge them, from where each passes `after`.
        let mut heads: Vec<usize> =
            logs.iter().map(|(_, _, log)| after.map_or(0, |a| log.after_seq(a))).collect();
        let mut out = Vec::new();
        while out.len() < max {
            let next = heads
                .iter()
                .enumerate()
                .filter_map(|(i, &position)| Some((logs[i].2.seq_at(position)?, i)))
                .min_by_key(|(seq, _)| *seq);
            let Some((seq, i)) = next else { break };
            let (topic, partition, log) = &logs[i];
            out.push((seq, log.record_at(&topic.name, *partition, heads[i])));
            heads[i] += 1;
        }
        out
    }

    fn wake_waiters(&self) {
        if self.state.waiters.load(Ordering::SeqCst) > 0 {
            let _wake = lock(&self.state.wake.0);
            self.state.wake.1.notify_all();
        }
    }

    /// The topic, created first if it does not exist and the cluster creates topics on write.
    fn topic_for_write(&self, topic: &str) -> Result<Arc<Topic>, StreamsError> {
        if let Some(t) = self.topic(topic) {
            return Ok(t);
        }
        if let Some(n) = self.auto_create {
            self.create_topic(topic, n)?;
        }
        self.topic(topic).ok_or_else(|| StreamsError::UnknownTopic(topic.to_string()))
    }
}

impl Cluster for MemoryCluster {
    fn create_topic(&self, topic: &str, partitions: u32) -> Result<(), StreamsError> {
        if partitions == 0 {
            return Err(StreamsError::InvalidTopology(format!(
                "topic `{topic}` needs at least one partition"
            )));
        }
        let mut topics = self.state.topics.write().unwrap_or_else(|p| p.into_inner());
        topics.entry(topic.to_string()).or_insert_with(|| {
            Arc::new(Topic {
                name: Arc::from(topic),
                partitions: (0..partitions).map(|_| Mutex::default()).collect(),
                next_null_key_partition: AtomicU32::new(0),
            })
        });
        Ok(())
    }

    fn partitions(&self, topic: &str) -> Option<u32> {
        self.topic(topic).map(|t| t.partitions.len() as u32)
    }

    fn topics(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.state.topics.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
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
        let t = self.topic_for_write(topic)?;
        let partition = t.choose(partition, key.as_deref())?;
        let offset = {
            let mut log = t.partition(partition).expect("the partition was chosen");
            let seq = self.state.seq.fetch_add(1, Ordering::Relaxed) + 1;
            log.append(seq, key.as_deref(), value.as_deref(), timestamp, &headers)
        };
        self.wake_waiters();
        Ok((partition, offset))
    }

    fn produce_batch(&self, batch: ProduceBatch) -> Result<Vec<(u32, u64)>, StreamsError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let topics: Vec<Arc<Topic>> =
            batch.topics().iter().map(|t| self.topic_for_write(t)).collect::<Result<_, _>>()?;
        let partitions: Vec<u32> = batch
            .iter()
            .zip(batch.records.iter().map(|(t, _)| &topics[*t]))
            .map(|((_, r), topic)| topic.choose(r.partition, r.key.as_deref()))
            .collect::<Result<_, _>>()?;
        // Every partition written is locked for the whole batch, in the order readers lock them
        // (topic name, then partition), so that the batch's numbers follow the order of sends
        // across partitions and no reader sees a later one before an earlier one.
        let mut written: Vec<(usize, u32)> =
            batch.records.iter().zip(&partitions).map(|((t, _), p)| (*t, *p)).collect();
        written.sort_unstable();
        written.dedup();
        written.sort_by(|a, b| (topics[a.0].name.as_ref(), a.1).cmp(&(topics[b.0].name.as_ref(), b.1)));
        let mut logs: Vec<MutexGuard<'_, Log>> =
            written.iter().map(|&(t, p)| topics[t].partition(p).expect("the partition was chosen")).collect();
        let guard_of: FxHashMap<(usize, u32), usize> =
            written.iter().enumerate().map(|(i, w)| (*w, i)).collect();
        let first = self.state.seq.fetch_add(batch.len() as u64, Ordering::Relaxed) + 1;
        let mut placed = Vec::with_capacity(batch.len());
        for ((seq, (t, r)), partition) in (first..).zip(batch.into_records()).zip(partitions) {
            let log = &mut logs[guard_of[&(t, partition)]];
            placed.push((
                partition,
                log.append(seq, r.key.as_deref(), r.value.as_deref(), r.timestamp, &r.headers),
            ));
        }
        drop(logs);
        self.wake_waiters();
        Ok(placed)
    }

    fn fetch(&self, topic: &str, partition: u32, offset: u64, max: usize) -> Vec<RawRecord> {
        let Some(t) = self.topic(topic) else { return Vec::new() };
        let Some(log) = t.partition(partition) else { return Vec::new() };
        log.read_from(&t.name, partition, offset).take(max).collect()
    }

    fn end_offset(&self, topic: &str, partition: u32) -> u64 {
        self.topic(topic).and_then(|t| t.partition(partition).map(|log| log.end())).unwrap_or(0)
    }

    fn delete_records(&self, topic: &str, partition: u32, offset: u64) {
        if let Some(mut log) = self.topic(topic).as_deref().and_then(|t| t.partition(partition)) {
            log.delete_below(offset);
        }
    }

    fn commit(&self, group: &str, offsets: &[(String, u32, u64)]) {
        let mut state = self.offsets();
        for (topic, partition, offset) in offsets {
            state.committed.insert((group.to_string(), topic.clone(), *partition), *offset);
        }
    }

    fn committed(&self, group: &str, topic: &str, partition: u32) -> Option<u64> {
        self.offsets().committed.get(&(group.to_string(), topic.to_string(), partition)).copied()
    }

    fn commit_with_metadata(&self, group: &str, offsets: &[(String, u32, u64, String)]) {
        let mut state = self.offsets();
        for (topic, partition, offset, metadata) in offsets {
            let key = (group.to_string(), topic.clone(), *partition);
            state.committed.insert(key.clone(), *offset);
            state.metadata.insert(key, metadata.clone());
        }
    }

    fn committed_metadata(&self, group: &str, topic: &str, partition: u32) -> Option<String> {
        self.offsets().metadata.get(&(group.to_string(), topic.to_string(), partition)).cloned()
    }

    fn wait_for_data(&self, timeout: Duration) {
        let guard = lock(&self.state.wake.0);
        self.state.waiters.fetch_add(1, Ordering::SeqCst);
        let _ = self.state.wake.1.wait_timeout(guard, timeout).unwrap_or_else(|p| p.into_inner());
        self.state.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Produced;

    /// Two writers on two topics and a reader following both from the last number it saw:
    /// the reader sees every record exactly once, each partition in offset order.
    #[test]
    fn a_reader_following_concurrent_writers_misses_nothing() {
        let cluster = MemoryCluster::with_auto_create(Some(3));
        let topics = ["a".to_string(), "b".to_string()];
        let n = 20_000u32;
        let writers: Vec<_> = topics
            .iter()
            .map(|topic| {
                let (cluster, topic) = (cluster.clone(), topic.clone());
                std::thread::spawn(move || {
                    for i in 0..n {
                        cluster
                            .produce(&topic, None, Some(i.to_be_bytes().to_vec()), None, 0, Headers::new())
                            .unwrap();
                    }
                })
            })
            .collect();
        let mut seen: Vec<(u64, RawRecord)> = Vec::new();
        loop {
            let done = writers.iter().all(|w| w.is_finished());
            let read = cluster.records_of_topics_after(&topics, seen.last().map(|(seq, _)| *seq), 1_000);
            if read.is_empty() && done {
                break;
            }
            seen.extend(read);
        }
        writers.into_iter().for_each(|w| w.join().unwrap());
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "numbers increase");
        for topic in &topics {
            let mut keys: Vec<u32> = seen
                .iter()
                .filter(|(_, r)| &*r.topic == topic)
                .map(|(_, r)| u32::from_be_bytes(r.key.as_deref().unwrap().try_into().unwrap()))
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, (0..n).collect::<Vec<_>>(), "every record of `{topic}` once");
        }
    }

    #[test]
    fn null_keys_go_round_robin_and_a_missing_partition_is_refused() {
        let cluster = MemoryCluster::with_auto_create(None);
        assert!(cluster.produce("t", None, None, None, 0, Headers::new()).is_err());
        cluster.create_topic("t", 3).unwrap();
        let partitions: Vec<u32> =
            (0..5).map(|_| cluster.produce("t", None, None, None, 0, Headers::new()).unwrap().0).collect();
        assert_eq!(partitions, [0, 1, 2, 0, 1]);
        assert!(cluster.produce("t", Some(3), None, None, 0, Headers::new()).is_err());
        assert_eq!((cluster.end_offset("t", 0), cluster.end_offset("t", 2)), (2, 1));
    }

    #[test]
    fn a_batch_is_appended_in_the_order_sent_or_not_at_all() {
        let cluster = MemoryCluster::with_auto_create(Some(2));
        let record = |key: &str, partition| Produced {
            partition,
            key: Some(key.as_bytes().to_vec()),
            value: None,
            timestamp: 7,
            headers: Headers::new(),
        };
        let mut batch = ProduceBatch::default();
        batch.push("b", record("1", Some(1)));
        batch.push("a", record("2", Some(0)));
        batch.push("b", record("3", Some(0)));
        batch.push("b", record("4", Some(1)));
        let placed = cluster.produce_batch(batch).unwrap();
        assert_eq!(placed, [(1, 0), (0, 0), (0, 0), (1, 1)]);
        let keys = |records: Vec<RawRecord>| -> Vec<String> {
            records.into_iter().map(|r| String::from_utf8(r.key.unwrap()).unwrap()).collect()
        };
        assert_eq!(keys(cluster.records_of_topics(&["a".into(), "b".into()])), ["1", "2", "3", "4"]);

        let mut bad = ProduceBatch::default();
        bad.push("a", record("5", None));
        bad.push("b", record("6", Some(2)));
        assert!(cluster.produce_batch(bad).is_err());
        assert_eq!((cluster.end_offset("a", 0) + cluster.end_offset("a", 1)), 1, "nothing of it appended");
    }
}
