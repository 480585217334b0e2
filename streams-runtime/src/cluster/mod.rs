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
