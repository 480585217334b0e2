//! The buffer of a stream-table join with a grace period (KIP-923): stream records wait
//! until stream time has passed their timestamp by the grace period, so that a versioned
//! table has its out-of-order updates before they are joined. Kafka's
//! `RocksDBTimeOrderedKeyValueBuffer`, kept in memory and changelogged.
//!
//! Records leave in the order of their store keys, Kafka's `TimeFirstWindowKeySchema`:
//! timestamp (8 bytes, big-endian), the key's bytes, a sequence number (4 bytes) — so by
//! timestamp, then by key bytes, then in arrival order. The changelog's keys are those; its
//! values are the value codec's bytes (not Kafka's `BufferValue`, which carries the record
//! context: a restored record has no headers).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::{ChangelogBatch, StateStore, StoreCodecs};
use crate::codec::Codec;
use crate::error::StreamsError;
use crate::record::{Data, Headers, Record};

/// A buffered record: key, value, headers.
type Entry<K, V> = (K, V, Headers);

struct Inner<K, V> {
    records: BTreeMap<Vec<u8>, Entry<K, V>>,
    /// The largest timestamp put (Kafka's store's `observedStreamTime`; -1 before any).
    stream_time: i64,
    /// Kafka's `seqnum`, one more per put.
    seq: u32,
    /// Store keys written (`true`) or removed (`false`) since the changelog was last taken.
    pending: Vec<(Vec<u8>, bool)>,
}

/// A time-ordered buffer of stream records (Kafka's `TimeOrderedKeyValueBuffer` of a
/// stream-table join).
pub(crate) struct TimeOrderedBuffer<K, V> {
    name: String,
    grace_ms: i64,
    inner: Mutex<Inner<K, V>>,
    codecs: StoreCodecs<K, V>,
}

impl<K: Data, V: Data> TimeOrderedBuffer<K, V> {
    pub(crate) fn new<KC: Codec<Value = K>, VC: Codec<Value = V>>(name: &str, grace_ms: i64) -> Self {
        TimeOrderedBuffer {
            name: name.to_string(),
            grace_ms,
            inner: Mutex::new(Inner {
                records: BTreeMap::new(),
                stream_time: -1,
                seq: 0,
                pending: Vec::new(),
            }),
            codecs: StoreCodecs::of::<KC, VC>(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Buffers a record, unless it is older than the buffer's stream time minus the grace
    /// period: then it is given back, for the caller to join at once (Kafka's `put`).
    pub(crate) fn put(&self, record: Record<K, V>) -> Result<Option<Record<K, V>>, StreamsError> {
        let mut inner = self.lock();
        if inner.stream_time.saturating_sub(self.grace_ms) > record.timestamp {
            return Ok(Some(record));
        }
        let Record { key, value, timestamp, headers } = record;
        inner.seq = inner.seq.wrapping_add(1) & 0x7FFF_FFFF;
        let store_key = store_key(timestamp, &self.codecs.key_bytes(&self.name, &key)?, inner.seq);
        inner.stream_time = inner.stream_time.max(timestamp);
        inner.pending.push((store_key.clone(), true));
        inner.records.insert(store_key, (key, value, headers));
        Ok(None)
    }

    /// Takes out, in order, every record whose timestamp is at most stream time minus the
    /// grace period (Kafka's `evictWhile`), with its timestamp.
    pub(crate) fn evict(&self) -> Vec<(Entry<K, V>, i64)> {
        let mut inner = self.lock();
        let until = inner.stream_time.saturating_sub(self.grace_ms);
        let mut out = Vec::new();
        while let Some(entry) = inner.records.first_entry() {
            let timestamp = timestamp_of(entry.key());
            if timestamp > until {
                break;
            }
            let (store_key, record) = entry.remove_entry();
            inner.pending.push((store_key, false));
            out.push((record, timestamp));
        }
        out
    }
}

/// `TimeFirstWindowKeySchema.toStoreKeyBinary`: timestamp, key, sequence number.
fn store_key(timestamp: i64, key: &[u8], seq: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + key.len());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

fn timestamp_of(store_key: &[u8]) -> i64 {
    store_key.first_chunk::<8>().map_or(i64::MIN, |b| i64::from_be_bytes(*b))
}

impl<K: Data, V: Data> StateStore for TimeOrderedBuffer<K, V> {
    fn name(&self) -> &str {
        &self.name
    }

    fn take_changelog(&self) -> Result<ChangelogBatch, StreamsError> {
        let mut inner = self.lock();
        let pending = std::mem::take(&mut inner.pending);
        let mut batch = ChangelogBatch::with_capacity(pending.len());
        for (store_key, written) in pending {
            let timestamp = timestamp_of(&store_key);
            // A record put and evicted since the last commit is logged as put, then removed.
            let value = match (written, inner.records.get(&store_key)) {
                (true, Some((_, value, _))) => self.codecs.value_bytes(&self.name, value)?,
                (true, None) => continue,
                (false, _) => None,
            };
            batch.push((Some(store_key), value, timestamp));
        }
        Ok(batch)
    }

    fn restore(&self, key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) {
        let Some(store_key) = key.filter(|k| k.len() >= 12) else { return };
        let mut inner = self.lock();
        inner.stream_time = inner.stream_time.max(timestamp_of(store_key));
        let Some(value) = value else {
            inner.records.remove(store_key);
            return;
        };
        let record_key = (self.codecs.decode_key)(Some(&store_key[8..store_key.len() - 4]));
        match (record_key, (self.codecs.decode_value)(Some(value))) {
            (Some(k), Some(v)) => {
                inner.records.insert(store_key.to_vec(), (k, v, Headers::new()));
            }
            _ => {
                tracing::warn!(store = %self.name, timestamp, "skipping a buffered record that cannot be decoded")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_wait_out_the_grace_period_and_leave_by_time_then_key() {
        let buffer = TimeOrderedBuffer::new::<String, i64>("b", 10);
        let put = |k: &str, v: i64, ts: i64| buffer.put(Record::new(k.to_string(), v, ts)).unwrap().is_none();
        assert!(put("b", 1, 100));
        assert!(put("a", 2, 100));
        assert!(put("c", 3, 95));
        assert!(buffer.evict().is_empty(), "stream time 100, grace 10: nothing at or before 90");
        assert!(put("d", 4, 106));
        let out: Vec<(String, i64)> = buffer.evict().into_iter().map(|((k, _, _), ts)| (k, ts)).collect();
        assert_eq!(out, [("c".to_string(), 95)]);
        assert!(!put("e", 5, 95), "older than stream time minus the grace: joined at once");
        assert!(put("f", 6, 96));
        assert!(put("g", 7, 120));
        let out: Vec<String> = buffer.evict().into_iter().map(|((k, _, _), _)| k).collect();
        assert_eq!(out, ["f", "a", "b", "d"]);
    }

    #[test]
    fn a_restored_buffer_holds_what_was_not_evicted() {
        let buffer = TimeOrderedBuffer::new::<String, i64>("b", 10);
        buffer.put(Record::new("a".to_string(), 1, 100)).unwrap();
        buffer.put(Record::new("b".to_string(), 2, 150)).unwrap();
        assert_eq!(buffer.evict().len(), 1);
        let restored = TimeOrderedBuffer::new::<String, i64>("b", 10);
        for (k, v, ts) in buffer.take_changelog().unwrap() {
            restored.restore(k.as_deref(), v.as_deref(), ts);
        }
        assert!(
            restored.put(Record::new("c".to_string(), 3, 130)).unwrap().is_some(),
            "stream time restored"
        );
        restored.put(Record::new("d".to_string(), 4, 170)).unwrap();
        let out: Vec<(String, i64)> = restored.evict().into_iter().map(|((k, v, _), _)| (k, v)).collect();
        assert_eq!(out, [("b".to_string(), 2)]);
    }
}
