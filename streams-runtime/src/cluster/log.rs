//! A partition's log as the embedded cluster keeps it: records packed one after the other in
//! segments of bytes, as a broker's log segments, with a small index entry per record.
//!
//! A partition may hold millions of records until a commit lets them be purged (one 20 MB
//! input line split into words fills a repartition topic at once). Kept as a [`RawRecord`]
//! behind an `Arc` each, a short word's record cost ~210 bytes and three allocations (a
//! 128-byte shared chunk, a chunk each for key and value, the log's slot); packed, it costs
//! its bytes plus a 24-byte index entry, and a segment allocation now and then. Readers get
//! a [`RawRecord`] built from the bytes, as a Kafka consumer builds one from what it fetched.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::record::{Headers, RawRecord};

/// A segment grows to this size before the next one starts (a larger record gets a segment
/// of its own). Deleted records free memory a segment at a time.
const SEGMENT_BYTES: usize = 1 << 20;

const KEY: u8 = 1;
const VALUE: u8 = 2;
const HEADERS: u8 = 4;

/// Where a record sits, and what is not in its bytes.
struct Entry {
    /// Its place in the cluster's order of appends.
    seq: u64,
    timestamp: i64,
    /// The segment's number (counted from the log's first segment ever).
    segment: u32,
    /// Where its bytes start in the segment.
    at: u32,
}

/// A partition's records: the one at offset `start + i` is entry `i`. Records below `start`
/// were deleted.
#[derive(Default)]
pub(super) struct Log {
    start: u64,
    entries: VecDeque<Entry>,
    segments: VecDeque<Vec<u8>>,
    /// The number of `segments[0]`.
    first_segment: u32,
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Reads what `put_varint`/`put_bytes` wrote; the bytes are the cluster's own, so a short
/// read is a bug, not bad input.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> usize {
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let b = self.0[0];
            self.0 = &self.0[1..];
            n |= usize::from(b & 0x7f) << shift;
            if b < 0x80 {
                return n;
            }
            shift += 7;
        }
    }

    fn bytes(&mut self) -> &'a [u8] {
        let len = self.varint();
        let (head, tail) = self.0.split_at(len);
        self.0 = tail;
        head
    }

    fn byte(&mut self) -> u8 {
        let b = self.0[0];
        self.0 = &self.0[1..];
        b
    }
}

impl Log {
    /// The offset the next record gets.
    pub(super) fn end(&self) -> u64 {
        self.start + self.entries.len() as u64
    }

    /// Appends a record numbered `seq` in the cluster's order of appends; returns its offset.
    pub(super) fn append(
        &mut self,
        seq: u64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: i64,
        headers: &Headers,
    ) -> u64 {
        let part = |b: Option<&[u8]>| b.map_or(0, |b| varint_len(b.len()) + b.len());
        let size = 1 + part(key) + part(value);
        let fits = self.segments.back().is_some_and(|s| s.len() + size <= SEGMENT_BYTES);
        if !fits {
            self.segments.push_back(Vec::new());
        }
        let segment = self.first_segment + self.segments.len() as u32 - 1;
        let out = self.segments.back_mut().expect("a segment was just pushed");
        let at = out.len() as u32;
        let flags = if key.is_some() { KEY } else { 0 }
            | if value.is_some() { VALUE } else { 0 }
            | if headers.is_empty() { 0 } else { HEADERS };
        out.push(flags);
        if let Some(key) = key {
            put_bytes(out, key);
        }
        if let Some(value) = value {
            put_bytes(out, value);
        }
        if !headers.is_empty() {
            put_varint(out, headers.iter().count());
            for (k, v) in headers.iter() {
                put_bytes(out, k.as_bytes());
                out.push(u8::from(v.is_some()));
                if let Some(v) = v {
                    put_bytes(out, v);
                }
            }
        }
        self.entries.push_back(Entry { seq, timestamp, segment, at });
        self.end() - 1
    }

    /// The position (from the log start) of the first record appended after the one
    /// numbered `seq`.
    pub(super) fn after_seq(&self, seq: u64) -> usize {
        self.entries.partition_point(|e| e.seq <= seq)
    }

    /// The number in the cluster's order of appends of the record at `position` (counted
    /// from the log start), if there is one.
    pub(super) fn seq_at(&self, position: usize) -> Option<u64> {
        self.entries.get(position).map(|e| e.seq)
    }

    /// The record at `position` (counted from the log start; `< end() - start`).
    pub(super) fn record_at(&self, topic: &Arc<str>, partition: u32, position: usize) -> RawRecord {
        let e = &self.entries[position];
        let bytes = &self.segments[(e.segment - self.first_segment) as usize][e.at as usize..];
        unpack(bytes, topic, partition, self.start + position as u64, e.timestamp)
    }

    /// The records from position `from` (counted from the log start) on, each with its
    /// number in the cluster's order of appends.
    pub(super) fn read<'a>(
        &'a self,
        topic: &'a Arc<str>,
        partition: u32,
        from: usize,
    ) -> impl Iterator<Item = (u64, RawRecord)> + 'a {
        (from.min(self.entries.len())..self.entries.len())
            .map(move |position| (self.entries[position].seq, self.record_at(topic, partition, position)))
    }

    /// The records from `offset` on (from the log start if it is below it: a consumer's
    /// `auto.offset.reset`).
    pub(super) fn read_from<'a>(
        &'a self,
        topic: &'a Arc<str>,
        partition: u32,
        offset: u64,
    ) -> impl Iterator<Item = RawRecord> + 'a {
        let from = offset.saturating_sub(self.start).min(self.entries.len() as u64) as usize;
        self.read(topic, partition, from).map(|(_, r)| r)
    }

    /// Deletes the records below `offset`, freeing the segments no record kept is in.
    pub(super) fn delete_below(&mut self, offset: u64) {
        let deleted = offset.min(self.end()).saturating_sub(self.start);
        self.entries.drain(..deleted as usize);
        self.start += deleted;
        let keep_from =
            self.entries.front().map_or(self.first_segment + self.segments.len() as u32, |e| e.segment);
        while self.first_segment < keep_from {
            self.segments.pop_front();
            self.first_segment += 1;
        }
    }
}

fn unpack(bytes: &[u8], topic: &Arc<str>, partition: u32, offset: u64, timestamp: i64) -> RawRecord {
    let mut r = Reader(bytes);
    let flags = r.byte();
    let key = (flags & KEY != 0).then(|| r.bytes().to_vec());
    let value = (flags & VALUE != 0).then(|| r.bytes().to_vec());
    let mut headers = Headers::new();
    if flags & HEADERS != 0 {
        for _ in 0..r.varint() {
            let k = String::from_utf8_lossy(r.bytes()).into_owned();
            let v = (r.byte() != 0).then(|| r.bytes().to_vec());
            headers.add(k, v);
        }
    }
    RawRecord { topic: topic.clone(), partition, offset, key, value, timestamp, headers }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_written_and_deleted_segments_are_freed() {
        let topic: Arc<str> = Arc::from("t");
        let mut headers = Headers::new();
        headers.add("a", Some(vec![1; 300])).add("b", None).add("a", Some(Vec::new()));
        let long = vec![7u8; SEGMENT_BYTES + 10];
        let cases = [
            (None, None, Headers::new()),
            (Some(&b""[..]), Some(&b"v"[..]), Headers::new()),
            (Some(&b"word"[..]), None, headers.clone()),
            (None, Some(&long[..]), headers),
            (Some(&b"k"[..]), Some(&b"after a large one"[..]), Headers::new()),
        ];
        let mut log = Log::default();
        for (seq, (key, value, headers)) in cases.iter().enumerate() {
            assert_eq!(log.append(10 + seq as u64, *key, *value, -5 + seq as i64, headers), seq as u64);
        }
        assert_eq!(log.segments.len(), 3, "a record larger than a segment starts one of its own");
        let expected = |offset: usize| {
            let (key, value, headers) = &cases[offset];
            RawRecord {
                topic: topic.clone(),
                partition: 2,
                offset: offset as u64,
                key: key.map(<[u8]>::to_vec),
                value: value.map(<[u8]>::to_vec),
                timestamp: -5 + offset as i64,
                headers: headers.clone(),
            }
        };
        let all: Vec<(u64, RawRecord)> = log.read(&topic, 2, 0).collect();
        assert_eq!(all, (0..5).map(|o| (10 + o as u64, expected(o))).collect::<Vec<_>>());
        assert_eq!(log.after_seq(11), 2);

        log.delete_below(3);
        assert_eq!(log.segments.len(), 2, "the first segment held only deleted records");
        assert_eq!(log.read_from(&topic, 2, 0).collect::<Vec<_>>(), [expected(3), expected(4)]);
        assert_eq!(log.read_from(&topic, 2, 4).collect::<Vec<_>>(), [expected(4)]);
        log.delete_below(99);
        assert_eq!((log.end(), log.segments.len()), (5, 0));
        assert_eq!(log.append(20, None, None, 0, &Headers::new()), 5);
        assert_eq!(log.read_from(&topic, 2, 0).map(|r| r.offset).collect::<Vec<_>>(), [5]);
    }

    #[test]
    fn a_short_record_costs_its_bytes_and_an_index_entry() {
        // A word count's changelog record: a short word and an 8-byte count.
        let mut log = Log::default();
        let n = 200_000;
        for i in 0..n {
            log.append(i, Some(format!("w{i}").as_bytes()), Some(&i.to_be_bytes()), 0, &Headers::new());
        }
        let held = log.entries.capacity() * std::mem::size_of::<Entry>()
            + log.segments.iter().map(Vec::capacity).sum::<usize>();
        let per_record = held as f64 / n as f64;
        // 24 (entry) + 1 (flags) + 1 + 7 (key) + 1 + 8 (value), with the growth slack of both.
        assert!(per_record < 64.0, "{per_record:.1} bytes per record held");
    }
}
