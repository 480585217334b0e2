//! Where topics live. The runner is written once against [`Cluster`]; the embedded
//! in-process cluster is the zero-setup default.

#[cfg(feature = "kafka")]
pub(crate) mod group_describe;
/// The runner's librdkafka clients. Public for this workspace's tests and tools (they set up
/// topics and read back output with the same settings), not an API: hidden from the docs.
#[cfg(feature = "kafka")]
#[doc(hidden)]
pub mod kafka;
mod log;
pub mod memory;

use crate::error::StreamsError;
use crate::record::{Headers, RawRecord};

/// A record to append with [`Cluster::produce_batch`].
#[derive(Debug, Clone, PartialEq)]
pub struct Produced {
    /// Its partition (`None`: by key, as [`Cluster::produce`] places it).
    pub partition: Option<u32>,
    /// Its key's bytes.
    pub key: Option<Vec<u8>>,
    /// Its value's bytes.
    pub value: Option<Vec<u8>>,
    /// Its timestamp.
    pub timestamp: i64,
    /// Its headers.
    pub headers: Headers,
}

/// Records for several topics, in the order they were sent, for [`Cluster::produce_batch`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProduceBatch {
    topics: Vec<String>,
    records: Vec<(usize, Produced)>,
}

impl ProduceBatch {
    /// Adds a record for `topic` after the others.
    pub fn push(&mut self, topic: &str, record: Produced) {
        let at = match self.topics.iter().rposition(|t| t == topic) {
            Some(at) => at,
            None => {
                self.topics.push(topic.to_string());
                self.topics.len() - 1
            }
        };
        self.records.push((at, record));
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The topics written, each once, in the order first written.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Each record with its topic, in the order they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Produced)> {
        self.records.iter().map(|(t, r)| (self.topics[*t].as_str(), r))
    }

    /// Each record's topic as its place in [`ProduceBatch::topics`], in the order pushed.
    pub fn topic_of_each(&self) -> impl Iterator<Item = usize> + '_ {
        self.records.iter().map(|(t, _)| *t)
    }

    /// Each record with its topic's place in [`ProduceBatch::topics`], in the order pushed.
    pub fn into_records(self) -> impl Iterator<Item = (usize, Produced)> {
        self.records.into_iter()
    }
}

/// A Kafka-like cluster: partitioned topics, offsets, and committed positions per group.
pub trait Cluster: Send + Sync + 'static {
    /// Creates `topic` with `partitions` partitions; an existing topic is left as it is.
    fn create_topic(&self, topic: &str, partitions: u32) -> Result<(), StreamsError>;
    /// The partition count of `topic`, if it exists.
    fn partitions(&self, topic: &str) -> Option<u32>;
    /// Every topic.
    fn topics(&self) -> Vec<String>;
    /// Appends a record: to `partition`, or where the Java producer would put it (murmur2 of
    /// the key; round-robin for null keys). Returns its partition and offset.
    fn produce(
        &self,
        topic: &str,
        partition: Option<u32>,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        headers: Headers,
    ) -> Result<(u32, u64), StreamsError>;
    /// Appends a batch of records as [`Cluster::produce`] would one by one, in their order
    /// (which the default does, stopping at the first failure); returns each one's partition
    /// and offset, in the order given. The embedded cluster appends the whole batch under one
    /// lock per partition written, or nothing if a record has no topic or partition.
    fn produce_batch(&self, batch: ProduceBatch) -> Result<Vec<(u32, u64)>, StreamsError> {
        let topics = batch.topics.clone();
        batch
            .into_records()
            .map(|(t, r)| self.produce(&topics[t], r.partition, r.key, r.value, r.timestamp, r.headers))
            .collect()
    }
    /// Up to `max` records of a partition from `offset` on.
    fn fetch(&self, topic: &str, partition: u32, offset: u64, max: usize) -> Vec<RawRecord>;
    /// The offset the next record of the partition will get.
    fn end_offset(&self, topic: &str, partition: u32) -> u64;
    /// Records the positions a consumer group has processed up to.
    fn commit(&self, group: &str, offsets: &[(String, u32, u64)]);
    /// The committed position of a group on a partition.
    fn committed(&self, group: &str, topic: &str, partition: u32) -> Option<u64>;
    /// [`Cluster::commit`] with each position's metadata string (Kafka's
    /// `OffsetAndMetadata.metadata`). A cluster may drop the metadata.
    fn commit_with_metadata(&self, group: &str, offsets: &[(String, u32, u64, String)]) {
        let plain: Vec<_> = offsets.iter().map(|(t, p, o, _)| (t.clone(), *p, *o)).collect();
        self.commit(group, &plain);
    }
    /// The metadata committed with a group's position on a partition (`None`: none kept).
    fn committed_metadata(&self, _group: &str, _topic: &str, _partition: u32) -> Option<String> {
        None
    }
    /// Waits until a record is appended anywhere, or `timeout` passes.
    fn wait_for_data(&self, timeout: std::time::Duration);
    /// Deletes the records of a partition below `offset` (Kafka's `DeleteRecords`): its log
    /// start moves up, offsets stay as they were. A cluster may keep them.
    fn delete_records(&self, _topic: &str, _partition: u32, _offset: u64) {}
}
