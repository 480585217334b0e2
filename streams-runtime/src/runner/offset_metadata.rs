//! What a task commits with each input offset besides the offset, in Kafka Streams' format
//! (`TopicPartitionMetadata`, the offset commit's metadata string): the partition's time and
//! the processors' metadata (`ProcessorMetadata`: for each emit-on-close windowed
//! aggregation, by store name, the close time of the last windows it emitted). A new owner
//! of the task, here or in Kafka Streams, starts from them: stream time does not go back,
//! and windows emitted before a restart are not emitted again.
//!
//! Format: base64 of magic byte `2`, the partition time (8 bytes, big-endian), then, if any
//! processor metadata, its entry count (4 bytes) and per entry the key's length (4 bytes),
//! its UTF-8 bytes and the value (8 bytes). Magic `1` (Kafka 2.x) holds the time only.

use std::collections::BTreeMap;

use base64::Engine as _;

/// Kafka's `RecordQueue.UNKNOWN`: a partition time of no record yet.
pub(crate) const UNKNOWN_TIME: i64 = -1;

/// One input partition's committed metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OffsetMetadata {
    /// The partition's time (largest timestamp read), or [`UNKNOWN_TIME`].
    pub(crate) partition_time: i64,
    /// The processors' metadata, by key.
    pub(crate) processors: BTreeMap<String, i64>,
}

impl OffsetMetadata {
    /// The metadata string of an offset commit.
    pub(crate) fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(9);
        bytes.push(2u8);
        bytes.extend_from_slice(&self.partition_time.to_be_bytes());
        if !self.processors.is_empty() {
            bytes.extend_from_slice(&(self.processors.len() as i32).to_be_bytes());
            for (key, value) in &self.processors {
                bytes.extend_from_slice(&(key.len() as i32).to_be_bytes());
                bytes.extend_from_slice(key.as_bytes());
                bytes.extend_from_slice(&value.to_be_bytes());
            }
        }
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads a commit's metadata string, as Kafka's `TopicPartitionMetadata.decode`: empty,
    /// unreadable or of an unknown version, it gives an unknown time and no processor
    /// metadata (logged).
    pub(crate) fn decode(text: &str) -> OffsetMetadata {
        let unknown = OffsetMetadata { partition_time: UNKNOWN_TIME, processors: BTreeMap::new() };
        if text.is_empty() {
            return unknown;
        }
        let parsed = base64::engine::general_purpose::STANDARD.decode(text).ok().and_then(|bytes| {
            let mut r = Reader(&bytes);
            match r.take::<1>()?[0] {
                1 => Some(OffsetMetadata { partition_time: r.i64()?, processors: BTreeMap::new() }),
                2 => {
                    let partition_time = r.i64()?;
                    let mut processors = BTreeMap::new();
                    if !r.0.is_empty() {
                        for _ in 0..r.i32()? {
                            let len = usize::try_from(r.i32()?).ok()?;
                            let key = String::from_utf8(r.bytes(len)?.to_vec()).ok()?;
                            processors.insert(key, r.i64()?);
                        }
                    }
                    Some(OffsetMetadata { partition_time, processors })
                }
                _ => None,
            }
        });
        parsed.unwrap_or_else(|| {
            tracing::warn!(metadata = text, "unsupported offset metadata; ignoring it");
            unknown
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N)?.try_into().ok()
    }

    fn i64(&mut self) -> Option<i64> {
        self.take::<8>().map(i64::from_be_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.take::<4>().map(i32::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes_in_kafka_s_bytes() {
        let plain = OffsetMetadata { partition_time: 1_000, processors: BTreeMap::new() };
        // Kafka 4.4.0's `new TopicPartitionMetadata(1000L, new ProcessorMetadata()).encode()`.
        assert_eq!(plain.encode(), "AgAAAAAAAAPo");
        assert_eq!(OffsetMetadata::decode("AgAAAAAAAAPo"), plain);
        let mut processors = BTreeMap::new();
        processors.insert("store".to_string(), 5_000);
        let with = OffsetMetadata { partition_time: 7, processors };
        // Kafka 4.4.0's `new TopicPartitionMetadata(7L, new ProcessorMetadata(Map.of("store",
        // 5000L))).encode()`, run against the jar.
        assert_eq!(with.encode(), "AgAAAAAAAAAHAAAAAQAAAAVzdG9yZQAAAAAAABOI");
        assert_eq!(OffsetMetadata::decode(&with.encode()), with);
        // Version 1 (time only), empty, garbage: as Kafka reads them.
        let v1 =
            base64::engine::general_purpose::STANDARD.encode([&[1u8][..], &42i64.to_be_bytes()].concat());
        assert_eq!(OffsetMetadata::decode(&v1).partition_time, 42);
        assert_eq!(OffsetMetadata::decode("").partition_time, UNKNOWN_TIME);
        assert_eq!(OffsetMetadata::decode("not base64!").partition_time, UNKNOWN_TIME);
    }
}
