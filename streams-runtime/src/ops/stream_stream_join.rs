//! Stream-stream windowed joins, as Kafka's `KStreamKStreamJoin` (with `KStreamJoinWindow`
//! and the `KSTREAM-OUTERSHARED` store of left and outer joins), step by step:
//!
//! - a left record at `t` joins the right records of its key in `[t - before, t + after]`, a
//!   right record at `t` the left records in `[t - after, t + before]`, in the partners'
//!   timestamp order; results carry the larger timestamp of the two;
//! - each side's records are kept in a window buffer; as in Kafka's window store, a fetch
//!   sees only records newer than (the side's newest timestamp) − (before + after + grace),
//!   and a late record is still written, and still probes the other side;
//! - stream time is shared by both sides and moves on every record, null key or not;
//! - a left (or, in an outer join, right) record that finds no partner is emitted with `None`
//!   at once if its own window has already closed (`t + after < stream time`), else it waits
//!   in the outer store, ordered by timestamp, side (right first) and key bytes; a record with
//!   that stream time as its timestamp emits the waiting records whose window has closed
//!   (KIP-633). A partner arriving later removes every waiting record of that key, side and
//!   timestamp (Kafka deletes the whole list);
//! - a null key on the outer side is joined with `None` at once (KIP-962); other records with
//!   a null key or value are dropped and counted.
//!
//! Each side's buffer is a store with a changelog (`KSTREAM-JOINTHIS-…-store` for the left,
//! `KSTREAM-JOINOTHER-…`/`OUTEROTHER-…-store` for the right), so a restarted or moved task
//! keeps the records waiting for a partner. A changelog key is the record's key, timestamp
//! and sequence number (8 bytes each, big-endian); the value is a flag byte (1: the record
//! waits in the outer store) followed by the value's bytes; an expired record is a tombstone.
//! (Kafka keeps the same records in window stores with 4-byte sequence numbers, and the
//! waiting ones in a separate `KSTREAM-OUTERSHARED` store.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::{Context, Processor};
use crate::error::StreamsError;
use crate::record::Data;
use crate::record::{Headers, Record};
use crate::state::{ChangelogBatch, StateStore, StoreCodecs, StoreKey};

/// The join window (Kafka's `JoinWindows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindows {
    pub(crate) before: i64,
    pub(crate) after: i64,
    pub(crate) grace: i64,
}

impl JoinWindows {
    /// How long a side's buffer keeps records: the window (before + after) plus grace
    /// (Kafka's `KStreamImplJoin` join stores).
    pub(crate) fn retention_ms(&self) -> i64 {
        self.before.saturating_add(self.after).saturating_add(self.grace)
    }

    /// Records at most `difference` apart, either way, with no grace period.
    pub fn within(difference: std::time::Duration) -> Self {
        let d = i64::try_from(difference.as_millis()).unwrap_or(i64::MAX);
        JoinWindows { before: d, after: d, grace: 0 }
    }

    /// How far back from a left record right records may be.
    pub fn before(mut self, before: std::time::Duration) -> Self {
        self.before = i64::try_from(before.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// How far ahead of a left record right records may be.
    pub fn after(mut self, after: std::time::Duration) -> Self {
        self.after = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// How long after a window closes late records are still joined.
    pub fn grace(mut self, grace: std::time::Duration) -> Self {
        self.grace = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// How long the window buffers keep a record: Kafka's join window store retention.
    fn retention(&self) -> i64 {
        self.before.saturating_add(self.after).saturating_add(self.grace)
    }
}

/// Which side a record came from.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Side {
    Left,
    Right,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

struct Buffered<V> {
    timestamp: i64,
    seq: u64,
    value: V,
    /// Whether the record waits in the outer store.
    waiting: bool,
}

/// One side's window buffer: per key, records by (timestamp, sequence number).
struct Buffer<K, V> {
    records: FxHashMap<K, Vec<Buffered<V>>>,
    /// The newest timestamp written (the window store's clock).
    observed: i64,
}

impl<K: StoreKey, V: Data> Buffer<K, V> {
    fn new() -> Self {
        Buffer { records: Default::default(), observed: i64::MIN }
    }

    fn insert(&mut self, key: K, entry: Buffered<V>) {
        self.observed = self.observed.max(entry.timestamp);
        let list = self.records.entry(key).or_default();
        let at = list.partition_point(|b| (b.timestamp, b.seq) <= (entry.timestamp, entry.seq));
        list.insert(at, entry);
    }

    /// The records of `key` in `[from, to]` a fetch sees, oldest first.
    fn fetch(&self, key: &K, from: i64, to: i64, retention: i64) -> impl Iterator<Item = &Buffered<V>> {
        let visible = self.observed.saturating_sub(retention).saturating_add(1);
        let from = from.max(visible);
        self.records.get(key).into_iter().flatten().filter(move |b| b.timestamp >= from && b.timestamp <= to)
    }

    fn get_mut(&mut self, key: &K, seq: u64) -> Option<&mut Buffered<V>> {
        self.records.get_mut(key)?.iter_mut().find(|b| b.seq == seq)
    }

    /// Forgets records no fetch can see that do not wait in the outer store.
    fn expire(&mut self, retention: i64, changed: &mut Vec<(K, i64, u64)>) {
        let visible = self.observed.saturating_sub(retention).saturating_add(1);
        for (key, list) in self.records.iter_mut() {
            list.retain(|b| {
                let kept = b.timestamp >= visible || b.waiting;
                if !kept {
                    changed.push((key.clone(), b.timestamp, b.seq));
                }
                kept
            });
        }
        self.records.retain(|_, l| !l.is_empty());
    }
}

/// A key of the outer store in Kafka's byte order (`TimestampedKeyAndJoinSideSerializer`):
/// timestamp (big-endian, so compared unsigned), side (right 0, left 1), key bytes.
type OuterKey = (u64, u8, Vec<u8>);

fn outer_key(timestamp: i64, side: Side, key: Option<Vec<u8>>) -> OuterKey {
    (timestamp as u64, u8::from(side == Side::Left), key.unwrap_or_default())
}

/// Both sides' buffers, the outer store and the time they share (Kafka's `TimeTracker`).
pub(crate) struct JoinState<K, L, R> {
    windows: JoinWindows,
    left: Buffer<K, L>,
    right: Buffer<K, R>,
    /// The records waiting to be emitted without a partner (left and outer joins only).
    outer: BTreeMap<OuterKey, Vec<(K, u64)>>,
    stream_time: i64,
    /// A lower bound of the outer store's timestamps (Kafka's `TimeTracker.minTime`).
    min_time: i64,
    seq: u64,
    /// Which sides emit records without a partner: (left, right).
    outer_sides: (bool, bool),
    dropped: Arc<AtomicU64>,
    left_codecs: StoreCodecs<K, L>,
    right_codecs: StoreCodecs<K, R>,
    /// Per side (left, right): buffered records whose changelog entry must be written.
    changed: [Vec<(K, i64, u64)>; 2],
    /// Records since the buffers were last swept for expired records.
    since_sweep: u32,
}

impl<K: StoreKey, L: Data, R: Data> JoinState<K, L, R> {
    pub(crate) fn new(
        windows: JoinWindows,
        outer_sides: (bool, bool),
        dropped: Arc<AtomicU64>,
        (left_codecs, right_codecs): (StoreCodecs<K, L>, StoreCodecs<K, R>),
    ) -> Self {
        JoinState {
            windows,
            left: Buffer::new(),
            right: Buffer::new(),
            outer: BTreeMap::new(),
            // Kafka's `ConsumerRecord.NO_TIMESTAMP`; not restored after a restart, as in Kafka.
            stream_time: -1,
            min_time: i64::MAX,
            seq: 0,
            outer_sides,
            dropped,
            left_codecs,
            right_codecs,
            changed: [Vec::new(), Vec::new()],
            since_sweep: 0,
        }
    }

    fn has_outer_store(&self) -> bool {
        self.outer_sides.0 || self.outer_sides.1
    }

    /// The key's bytes, which order the outer store.
    fn encode_key(&self, key: &K) -> Option<Vec<u8>> {
        self.left_codecs.key_order(key)
    }

    /// Marks the buffered record waiting or not, for its changelog entry.
    fn set_waiting(&mut self, side: Side, key: &K, seq: u64, waiting: bool) {
        let entry = match side {
            Side::Left => self.left.get_mut(key, seq).map(|b| (b.timestamp, &mut b.waiting)),
            Side::Right => self.right.get_mut(key, seq).map(|b| (b.timestamp, &mut b.waiting)),
        };
        if let Some((timestamp, flag)) = entry {
            *flag = waiting;
            self.changed[side as usize].push((key.clone(), timestamp, seq));
        }
    }

    /// Removes a whole list of the outer store (Kafka's `put(key, null)` on a list store).
    fn remove_outer(&mut self, key: &OuterKey) {
        let side = if key.1 == 1 { Side::Left } else { Side::Right };
        for (k, seq) in self.outer.remove(key).unwrap_or_default() {
            self.set_waiting(side, &k, seq, false);
        }
    }

    /// The joined value of a waiting record: `joiner(left, None)` or `joiner(None, right)`.
    fn waiting_value(&self, side: Side, key: &K, seq: u64) -> Option<(Option<L>, Option<R>)> {
        fn find<K: StoreKey, V: Data>(buffer: &Buffer<K, V>, key: &K, seq: u64) -> Option<V> {
            buffer.records.get(key)?.iter().find(|b| b.seq == seq).map(|b| b.value.clone())
        }
        match side {
            Side::Left => find(&self.left, key, seq).map(|l| (Some(l), None)),
            Side::Right => find(&self.right, key, seq).map(|r| (None, Some(r))),
        }
    }
}

/// The changelog entry of one buffered record: its current value, or a tombstone if it
/// expired.
fn changelog_value<K, V>(
    list: Option<&Vec<Buffered<V>>>,
    seq: u64,
    store: &str,
    codecs: &StoreCodecs<K, V>,
) -> Result<Option<Vec<u8>>, StreamsError> {
    let Some(b) = list.and_then(|l| l.iter().find(|b| b.seq == seq)) else { return Ok(None) };
    let mut bytes = vec![u8::from(b.waiting)];
    bytes.extend(codecs.value_bytes(store, &b.value)?.unwrap_or_default());
    Ok(Some(bytes))
}

/// Applies a changelog entry to one side's buffer; returns whether the record is there and
/// waiting in the outer store.
fn restore_entry<K: StoreKey, V: Data>(
    buffer: &mut Buffer<K, V>,
    key: &K,
    (timestamp, seq): (i64, u64),
    value: Option<&[u8]>,
    decode: fn(Option<&[u8]>) -> Option<V>,
) -> Option<bool> {
    if let Some(list) = buffer.records.get_mut(key) {
        list.retain(|b| b.seq != seq);
    }
    let entry = value.and_then(|bytes| {
        let (flag, rest) = bytes.split_first()?;
        let value = decode((!rest.is_empty()).then_some(rest))?;
        Some(Buffered { timestamp, seq, value, waiting: *flag == 1 })
    });
    let waiting = entry.as_ref().map(|b| b.waiting);
    if let Some(entry) = entry {
        buffer.insert(key.clone(), entry);
    }
    if buffer.records.get(key).is_some_and(Vec::is_empty) {
        buffer.records.remove(key);
    }
    waiting
}

/// One side's buffer of a join as a store with a changelog.
pub(crate) struct JoinBufferStore<K, L, R> {
    pub(crate) name: String,
    pub(crate) side: Side,
    pub(crate) state: Arc<Mutex<JoinState<K, L, R>>>,
}

impl<K: StoreKey, L: Data, R: Data> StateStore for JoinBufferStore<K, L, R> {
    fn name(&self) -> &str {
        &self.name
    }

    fn take_changelog(&self) -> Result<ChangelogBatch, StreamsError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let changed = std::mem::take(&mut state.changed[self.side as usize]);
        let name = self.name.as_str();
        changed
            .into_iter()
            .map(|(key, timestamp, seq)| {
                let mut k = state.left_codecs.key_bytes(name, &key)?;
                k.extend(timestamp.to_be_bytes());
                k.extend(seq.to_be_bytes());
                let value = match self.side {
                    Side::Left => {
                        changelog_value(state.left.records.get(&key), seq, name, &state.left_codecs)?
                    }
                    Side::Right => {
                        changelog_value(state.right.records.get(&key), seq, name, &state.right_codecs)?
                    }
                };
                Ok((Some(k), value, timestamp))
            })
            .collect()
    }

    fn restore(&self, key: Option<&[u8]>, value: Option<&[u8]>, _: i64) {
        let Some((k, suffix)) = key.filter(|k| k.len() >= 16).map(|k| k.split_at(k.len() - 16)) else {
            return tracing::warn!(store = %self.name, "skipping a changelog record without a join key");
        };
        let timestamp = i64::from_be_bytes(suffix[..8].try_into().expect("8 bytes"));
        let seq = u64::from_be_bytes(suffix[8..].try_into().expect("8 bytes"));
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(k) = (state.left_codecs.decode_key)((!k.is_empty()).then_some(k)) else {
            return tracing::warn!(store = %self.name, "skipping a changelog record that cannot be decoded");
        };
        let waiting = match self.side {
            Side::Left => {
                let decode = state.left_codecs.decode_value;
                restore_entry(&mut state.left, &k, (timestamp, seq), value, decode)
            }
            Side::Right => {
                let decode = state.right_codecs.decode_value;
                restore_entry(&mut state.right, &k, (timestamp, seq), value, decode)
            }
        };
        state.seq = state.seq.max(seq);
        let outer = outer_key(timestamp, self.side, state.encode_key(&k));
        let list = state.outer.entry(outer.clone()).or_default();
        list.retain(|(_, s)| *s != seq);
        if waiting == Some(true) {
            list.push((k, seq));
            state.min_time = state.min_time.min(timestamp);
        }
        if state.outer.get(&outer).is_some_and(Vec::is_empty) {
            state.outer.remove(&outer);
        }
    }
}

/// Kafka's `StreamStreamJoinUtil.skipRecord`: a record with a null key or value is dropped
/// and counted.
fn skip_null(ctx: &Context<'_>, dropped: &AtomicU64) {
    dropped.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        topic = ctx.topic(),
        partition = ctx.partition(),
        offset = ctx.offset(),
        "skipping a join record with a null key or value"
    );
}

/// The joiner of both sides; `None` on a side that found no partner.
pub(crate) type Joiner<L, R, O> = Arc<dyn Fn(Option<L>, Option<R>) -> O + Send + Sync>;

/// One side's input of a join.
pub(crate) struct JoinSideProc<K, L, R, O> {
    pub(crate) side: Side,
    pub(crate) state: Arc<Mutex<JoinState<K, L, R>>>,
    pub(crate) joiner: Joiner<L, R, O>,
    pub(crate) next: Box<dyn Processor<K, O>>,
}

/// A record of either side, as the shared steps see it.
enum Either<L, R> {
    Left(L),
    Right(R),
}

impl<K: StoreKey, L: Data, R: Data, O: Data> JoinSideProc<K, L, R, O> {
    /// Kafka's `KStreamKStreamJoinProcessor.process`, then `KStreamJoinWindow`'s put.
    fn on_record(
        &mut self,
        ctx: &mut Context<'_>,
        state: &mut JoinState<K, L, R>,
        record: Record<K, Either<L, R>>,
    ) {
        let Record { key, value, timestamp: t, headers } = record;
        let side = self.side;
        let w = state.windows;
        // This side's window: how far back and ahead its partners may be.
        let (back, ahead) = match side {
            Side::Left => (w.before, w.after),
            Side::Right => (w.after, w.before),
        };
        let outer_here = match side {
            Side::Left => state.outer_sides.0,
            Side::Right => state.outer_sides.1,
        };
        state.stream_time = state.stream_time.max(t);
        let null_key = (state.left_codecs.key_is_null)(&key);
        let null_value = match &value {
            Either::Left(v) => (state.left_codecs.value_is_null)(v),
            Either::Right(v) => (state.right_codecs.value_is_null)(v),
        };
        if outer_here && null_key && !null_value {
            let out = match value {
                Either::Left(l) => (self.joiner)(Some(l), None),
                Either::Right(r) => (self.joiner)(None, Some(r)),
            };
            return self.next.process(ctx, Record { key, value: out, timestamp: t, headers });
        }
        if null_key || null_value {
            return skip_null(ctx, &state.dropped);
        }
        if t == state.stream_time && state.has_outer_store() {
            self.emit_closed(ctx, state, ahead, &headers);
        }
        let (from, to) = (t.saturating_sub(back).max(0), t.saturating_add(ahead).max(0));
        let retention = w.retention();
        let partners: Vec<(i64, Either<L, R>)> = match side {
            Side::Left => state
                .right
                .fetch(&key, from, to, retention)
                .map(|b| (b.timestamp, Either::Right(b.value.clone())))
                .collect(),
            Side::Right => state
                .left
                .fetch(&key, from, to, retention)
                .map(|b| (b.timestamp, Either::Left(b.value.clone())))
                .collect(),
        };
        let unmatched = outer_here && partners.is_empty();
        // The outer store's key, only where there is one (left and outer joins).
        let key_bytes = if state.has_outer_store() { state.encode_key(&key) } else { None };
        for (partner_ts, partner) in partners {
            if state.has_outer_store() {
                state.remove_outer(&outer_key(partner_ts, side.other(), key_bytes.clone()));
            }
            let out = match (&value, partner) {
                (Either::Left(l), Either::Right(r)) => (self.joiner)(Some(l.clone()), Some(r)),
                (Either::Right(r), Either::Left(l)) => (self.joiner)(Some(l), Some(r.clone())),
                _ => unreachable!("partners come from the other side"),
            };
            let record = Record {
                key: key.clone(),
                value: out,
                timestamp: t.max(partner_ts),
                headers: headers.clone(),
            };
            self.next.process(ctx, record);
        }
        state.seq += 1;
        let seq = state.seq;
        let mut waiting = false;
        if unmatched {
            if to < state.stream_time {
                let out = match &value {
                    Either::Left(l) => (self.joiner)(Some(l.clone()), None),
                    Either::Right(r) => (self.joiner)(None, Some(r.clone())),
                };
                self.next.process(ctx, Record { key: key.clone(), value: out, timestamp: t, headers });
            } else {
                state.min_time = state.min_time.min(t);
                state.outer.entry(outer_key(t, side, key_bytes)).or_default().push((key.clone(), seq));
                waiting = true;
            }
        }
        state.changed[side as usize].push((key.clone(), t, seq));
        match value {
            Either::Left(value) => state.left.insert(key, Buffered { timestamp: t, seq, value, waiting }),
            Either::Right(value) => state.right.insert(key, Buffered { timestamp: t, seq, value, waiting }),
        }
        state.since_sweep += 1;
        if state.since_sweep >= 256 {
            state.since_sweep = 0;
            let JoinState { left, right, changed, .. } = state;
            left.expire(retention, &mut changed[Side::Left as usize]);
            right.expire(retention, &mut changed[Side::Right as usize]);
        }
    }

    /// Kafka's `emitNonJoinedOuterRecords`: the waiting records whose window has closed, in
    /// the outer store's order. `ahead` is this side's look-ahead, as Kafka's shortcut uses it.
    fn emit_closed(
        &mut self,
        ctx: &mut Context<'_>,
        state: &mut JoinState<K, L, R>,
        ahead: i64,
        headers: &Headers,
    ) {
        let (w, now) = (state.windows, state.stream_time);
        if state.min_time.saturating_add(ahead).saturating_add(w.grace) >= now {
            return;
        }
        state.min_time = i64::MAX;
        let (mut left_open, mut right_open) = (false, false);
        let mut emitted: Vec<OuterKey> = Vec::new();
        let entries: Vec<(OuterKey, K, u64)> = state
            .outer
            .iter()
            .flat_map(|(ok, list)| list.iter().map(move |(k, seq)| (ok.clone(), k.clone(), *seq)))
            .collect();
        for (ok, key, seq) in entries {
            let timestamp = ok.0 as i64;
            state.min_time = timestamp;
            if left_open && right_open {
                break;
            }
            let is_left = ok.1 == 1;
            let look = if is_left { w.after } else { w.before };
            if timestamp.saturating_add(look).saturating_add(w.grace) >= now {
                if is_left {
                    left_open = true;
                } else {
                    right_open = true;
                }
                continue;
            }
            let side = if is_left { Side::Left } else { Side::Right };
            if let Some((l, r)) = state.waiting_value(side, &key, seq) {
                let out = (self.joiner)(l, r);
                self.next.process(ctx, Record { key, value: out, timestamp, headers: headers.clone() });
            }
            if emitted.last() != Some(&ok) {
                emitted.push(ok);
            }
        }
        for ok in emitted {
            state.remove_outer(&ok);
        }
    }
}

/// The left input.
pub(crate) struct LeftInput<K, L, R, O>(pub(crate) JoinSideProc<K, L, R, O>);
/// The right input.
pub(crate) struct RightInput<K, L, R, O>(pub(crate) JoinSideProc<K, L, R, O>);

impl<K: StoreKey, L: Data, R: Data, O: Data> Processor<K, L> for LeftInput<K, L, R, O> {
    /// Kafka's `StreamStreamJoinUtil.skipRecord`: a null key or value.
    fn null_drops(&self) -> super::NullDrops {
        super::NullDrops::counted(true)
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, L>) {
        let state = self.0.state.clone();
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let record = Record {
            key: record.key,
            value: Either::Left(record.value),
            timestamp: record.timestamp,
            headers: record.headers,
        };
        self.0.on_record(ctx, &mut state, record);
    }
}

impl<K: StoreKey, L: Data, R: Data, O: Data> Processor<K, R> for RightInput<K, L, R, O> {
    /// Kafka's `StreamStreamJoinUtil.skipRecord`: a null key or value.
    fn null_drops(&self) -> super::NullDrops {
        super::NullDrops::counted(true)
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, R>) {
        let state = self.0.state.clone();
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let record = Record {
            key: record.key,
            value: Either::Right(record.value),
            timestamp: record.timestamp,
            headers: record.headers,
        };
        self.0.on_record(ctx, &mut state, record);
    }
}

/// A stream joined with itself under `single.store.self.join` (Kafka's
/// `KStreamKStreamSelfJoin`): one buffer (the left one), each record joined with the
/// buffered records of its key in the window both ways, and with itself.
pub(crate) struct SelfJoinInput<K, V, O>(pub(crate) JoinSideProc<K, V, V, O>);

impl<K: StoreKey, V: Data, O: Data> Processor<K, V> for SelfJoinInput<K, V, O> {
    /// `StreamStreamJoinUtil.skipRecord`: a null key or value.
    fn null_drops(&self) -> super::NullDrops {
        super::NullDrops::counted(true)
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let state = self.0.state.clone();
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let Record { key, value, timestamp: t, headers } = record;
        if (state.left_codecs.key_is_null)(&key) || (state.left_codecs.value_is_null)(&value) {
            return skip_null(ctx, &state.dropped);
        }
        let w = state.windows;
        let retention = w.retention();
        state.stream_time = state.stream_time.max(t);
        // Kafka emits the record joined with itself only if the store would still keep it.
        let emit_self = t > state.stream_time.saturating_sub(retention).saturating_add(1);
        let self_joined = |joiner: &Joiner<V, V, O>| (joiner)(Some(value.clone()), Some(value.clone()));
        let window = |back: i64, ahead: i64| (t.saturating_sub(back).max(0), t.saturating_add(ahead).max(0));
        // This record with the others, as the left side of the join...
        let (from, to) = window(w.before, w.after);
        let others: Vec<(i64, V)> =
            state.left.fetch(&key, from, to, retention).map(|b| (b.timestamp, b.value.clone())).collect();
        for (other_ts, other) in others {
            let out = (self.0.joiner)(Some(value.clone()), Some(other));
            let record =
                Record { key: key.clone(), value: out, timestamp: t.max(other_ts), headers: headers.clone() };
            self.0.next.process(ctx, record);
        }
        // ...then as the right side, with itself in timestamp order among them.
        let (from, to) = window(w.after, w.before);
        let others: Vec<(i64, V)> =
            state.left.fetch(&key, from, to, retention).map(|b| (b.timestamp, b.value.clone())).collect();
        let mut emitted_self = false;
        for (other_ts, other) in others {
            let latest = t.max(other_ts);
            if t < latest && !emitted_self && emit_self {
                emitted_self = true;
                let out = self_joined(&self.0.joiner);
                self.0.next.process(
                    ctx,
                    Record { key: key.clone(), value: out, timestamp: t, headers: headers.clone() },
                );
            }
            let out = (self.0.joiner)(Some(other), Some(value.clone()));
            let record = Record { key: key.clone(), value: out, timestamp: latest, headers: headers.clone() };
            self.0.next.process(ctx, record);
        }
        if !emitted_self && emit_self {
            let out = self_joined(&self.0.joiner);
            self.0.next.process(
                ctx,
                Record { key: key.clone(), value: out, timestamp: t, headers: headers.clone() },
            );
        }
        // `KStreamJoinWindow` puts the record after forwarding it.
        state.seq += 1;
        let seq = state.seq;
        state.changed[Side::Left as usize].push((key.clone(), t, seq));
        state.left.insert(key, Buffered { timestamp: t, seq, value, waiting: false });
        state.since_sweep += 1;
        if state.since_sweep >= 256 {
            state.since_sweep = 0;
            let JoinState { left, changed, .. } = &mut *state;
            left.expire(retention, &mut changed[Side::Left as usize]);
        }
    }
}
