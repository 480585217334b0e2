//! Stream-stream windowed joins: a left record at `t` joins the right records of its key in
//! `[t - before, t + after]`, and a right record at `t` the left records in
//! `[t - after, t + before]`. Results carry the larger timestamp of the two. For left and
//! outer joins, a record that found no partner is emitted with `None` only once its window
//! has closed (KIP-633), never eagerly. Buffers keep `before + after + grace` of records.
//!
//! Each side's buffer is a store with a changelog (`KSTREAM-JOINTHIS-…-store` for the left,
//! `KSTREAM-JOINOTHER-…`/`OUTEROTHER-…-store` for the right), so a restarted or moved task
//! keeps the records waiting for a partner. A changelog key is the record's key, timestamp
//! and sequence number (8 bytes each, big-endian); the value is a flag byte (1: the record
//! has found a partner) followed by the value's bytes; an expired record is a tombstone.
//! (Kafka keeps the same records in window stores with 4-byte sequence numbers, and the
//! unmatched ones in a separate `KSTREAM-OUTERSHARED` store.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::{Context, Processor};
use crate::graph::Data;
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
}

/// Which side a record came from.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Side {
    Left,
    Right,
}

struct Buffered<V> {
    timestamp: i64,
    seq: u64,
    value: V,
    matched: bool,
}

/// Both sides' buffers and the unmatched records waiting for their window to close.
pub(crate) struct JoinState<K, L, R> {
    windows: JoinWindows,
    left: FxHashMap<K, Vec<Buffered<L>>>,
    right: FxHashMap<K, Vec<Buffered<R>>>,
    /// Unmatched records of the sides that emit them (left and outer joins), by the time
    /// their window closes.
    pending: BTreeMap<(i64, u64), (K, Side, Headers)>,
    observed: i64,
    seq: u64,
    emit_left: bool,
    emit_right: bool,
    dropped: Arc<AtomicU64>,
    left_codecs: StoreCodecs<K, L>,
    right_codecs: StoreCodecs<K, R>,
    /// Per side (left, right): buffered records whose changelog entry must be written
    /// (added, found a partner, or expired).
    changed: [Vec<(K, i64, u64)>; 2],
}

impl<K: StoreKey, L: Data, R: Data> JoinState<K, L, R> {
    pub(crate) fn new(
        windows: JoinWindows,
        (emit_left, emit_right): (bool, bool),
        dropped: Arc<AtomicU64>,
        (left_codecs, right_codecs): (StoreCodecs<K, L>, StoreCodecs<K, R>),
    ) -> Self {
        JoinState {
            windows,
            left: Default::default(),
            right: Default::default(),
            pending: BTreeMap::new(),
            observed: i64::MIN,
            seq: 0,
            emit_left,
            emit_right,
            dropped,
            left_codecs,
            right_codecs,
            changed: [Vec::new(), Vec::new()],
        }
    }

    /// When a record of `side` at `t` waits no longer for a partner.
    fn closes(&self, side: Side, t: i64) -> i64 {
        let ahead = match side {
            Side::Left => self.windows.after,
            Side::Right => self.windows.before,
        };
        t.saturating_add(ahead).saturating_add(self.windows.grace)
    }

    fn emits(&self, side: Side) -> bool {
        match side {
            Side::Left => self.emit_left,
            Side::Right => self.emit_right,
        }
    }
}

/// The changelog entry of one buffered record: its current value, or a tombstone if it
/// expired.
fn changelog_value<V>(
    list: Option<&Vec<Buffered<V>>>,
    seq: u64,
    encode: fn(&V) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let b = list?.iter().find(|b| b.seq == seq)?;
    let mut bytes = vec![u8::from(b.matched)];
    bytes.extend(encode(&b.value).unwrap_or_default());
    Some(bytes)
}

/// Applies a changelog entry to one side's buffer; returns whether the record is there and
/// still without a partner.
fn restore_entry<K: StoreKey, V>(
    buffer: &mut FxHashMap<K, Vec<Buffered<V>>>,
    key: &K,
    (timestamp, seq): (i64, u64),
    value: Option<&[u8]>,
    decode: fn(Option<&[u8]>) -> Option<V>,
) -> Option<bool> {
    let list = buffer.entry(key.clone()).or_default();
    list.retain(|b| b.seq != seq);
    let entry = value.and_then(|bytes| {
        let (flag, rest) = bytes.split_first()?;
        let value = decode((!rest.is_empty()).then_some(rest))?;
        Some(Buffered { timestamp, seq, value, matched: *flag == 1 })
    });
    let unmatched = entry.as_ref().map(|b| !b.matched);
    list.extend(entry);
    if list.is_empty() {
        buffer.remove(key);
    }
    unmatched
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

    fn take_changelog(&self) -> ChangelogBatch {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let changed = std::mem::take(&mut state.changed[self.side as usize]);
        changed
            .into_iter()
            .map(|(key, timestamp, seq)| {
                let mut k = (state.left_codecs.encode_key)(&key).unwrap_or_default();
                k.extend(timestamp.to_be_bytes());
                k.extend(seq.to_be_bytes());
                let value = match self.side {
                    Side::Left => changelog_value(state.left.get(&key), seq, state.left_codecs.encode_value),
                    Side::Right => {
                        changelog_value(state.right.get(&key), seq, state.right_codecs.encode_value)
                    }
                };
                (Some(k), value, timestamp)
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
        let unmatched = match self.side {
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
        let closes = state.closes(self.side, timestamp);
        if unmatched == Some(true) && state.emits(self.side) {
            state.pending.insert((closes, seq), (k, self.side, Headers::new()));
        } else {
            state.pending.remove(&(closes, seq));
        }
        if unmatched.is_some() {
            state.observed = state.observed.max(timestamp);
        }
    }
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

impl<K: StoreKey, L: Data, R: Data, O: Data> JoinSideProc<K, L, R, O> {
    fn on_record<This: Data, Other: Data>(
        &mut self,
        ctx: &mut Context<'_>,
        record: Record<K, This>,
        state: &mut JoinState<K, L, R>,
        buffers: impl Fn(
            &mut JoinState<K, L, R>,
        )
            -> (&mut FxHashMap<K, Vec<Buffered<This>>>, &mut FxHashMap<K, Vec<Buffered<Other>>>),
        join: impl Fn(&Self, This, Other) -> O,
        (back, ahead): (i64, i64),
        emits_unmatched: bool,
    ) {
        let Record { key, value, timestamp: t, headers } = record;
        state.observed = state.observed.max(t);
        let grace = state.windows.grace;
        if t.saturating_add(ahead).saturating_add(grace) < state.observed {
            state.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                topic = ctx.topic(),
                partition = ctx.partition(),
                offset = ctx.offset(),
                timestamp = t,
                "dropping a record late for its join window"
            );
            return;
        }
        state.seq += 1;
        let seq = state.seq;
        let mut matched = false;
        let mut partners_matched: Vec<(i64, u64)> = Vec::new();
        {
            let (_, others) = buffers(state);
            if let Some(list) = others.get_mut(&key) {
                for other in list.iter_mut().filter(|o| o.timestamp >= t - back && o.timestamp <= t + ahead) {
                    matched = true;
                    if !other.matched {
                        other.matched = true;
                        partners_matched.push((other.timestamp, other.seq));
                    }
                    let out = join(self, value.clone(), other.value.clone());
                    let ts = t.max(other.timestamp);
                    self.next.process(
                        ctx,
                        Record { key: key.clone(), value: out, timestamp: ts, headers: headers.clone() },
                    );
                }
            }
        }
        // Partners that now matched no longer wait to be emitted unmatched.
        state.pending.retain(|(_, s), _| !partners_matched.iter().any(|(_, seq)| seq == s));
        let other_side = match self.side {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        };
        state.changed[other_side as usize]
            .extend(partners_matched.into_iter().map(|(ts, seq)| (key.clone(), ts, seq)));
        state.changed[self.side as usize].push((key.clone(), t, seq));
        if emits_unmatched && !matched {
            state.pending.insert(
                (t.saturating_add(ahead).saturating_add(grace), seq),
                (key.clone(), self.side, headers),
            );
        }
        let (this, _) = buffers(state);
        this.entry(key).or_default().push(Buffered { timestamp: t, seq, value, matched });
    }

    /// Emits unmatched records whose window has closed, then forgets expired records.
    fn close_windows(&mut self, ctx: &mut Context<'_>, state: &mut JoinState<K, L, R>) {
        while let Some((&(closes, seq), _)) = state.pending.first_key_value() {
            // Kafka emits once stream time has passed the window's end plus grace.
            if closes >= state.observed {
                break;
            }
            let (key, side, headers) = state.pending.remove(&(closes, seq)).expect("first key");
            let out = match side {
                Side::Left => state
                    .left
                    .get(&key)
                    .and_then(|l| l.iter().find(|b| b.seq == seq))
                    .map(|b| ((self.joiner)(Some(b.value.clone()), None), b.timestamp)),
                Side::Right => state
                    .right
                    .get(&key)
                    .and_then(|r| r.iter().find(|b| b.seq == seq))
                    .map(|b| ((self.joiner)(None, Some(b.value.clone())), b.timestamp)),
            };
            if let Some((value, timestamp)) = out {
                self.next.process(ctx, Record { key, value, timestamp, headers });
            }
        }
        let w = state.windows;
        let horizon = state.observed.saturating_sub(w.before.saturating_add(w.after).saturating_add(w.grace));
        let pending_seqs: Vec<u64> = state.pending.keys().map(|(_, s)| *s).collect();
        let keep = |b_ts: i64, b_seq: u64| b_ts >= horizon || pending_seqs.contains(&b_seq);
        let JoinState { left, right, changed, .. } = state;
        expire(left, &keep, &mut changed[Side::Left as usize]);
        expire(right, &keep, &mut changed[Side::Right as usize]);
    }
}

/// Drops buffered records `keep` rejects, noting them for a changelog tombstone.
fn expire<K: StoreKey, V>(
    buffer: &mut FxHashMap<K, Vec<Buffered<V>>>,
    keep: &impl Fn(i64, u64) -> bool,
    changed: &mut Vec<(K, i64, u64)>,
) {
    for (key, list) in buffer.iter_mut() {
        list.retain(|b| {
            let kept = keep(b.timestamp, b.seq);
            if !kept {
                changed.push((key.clone(), b.timestamp, b.seq));
            }
            kept
        });
    }
    buffer.retain(|_, l| !l.is_empty());
}

/// The left input.
pub(crate) struct LeftInput<K, L, R, O>(pub(crate) JoinSideProc<K, L, R, O>);
/// The right input.
pub(crate) struct RightInput<K, L, R, O>(pub(crate) JoinSideProc<K, L, R, O>);

impl<K: StoreKey, L: Data, R: Data, O: Data> Processor<K, L> for LeftInput<K, L, R, O> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, L>) {
        let state = self.0.state.clone();
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let (before, after, emits) = (state.windows.before, state.windows.after, state.emit_left);
        self.0.on_record(
            ctx,
            record,
            &mut state,
            |s| (&mut s.left, &mut s.right),
            |p, l, r| (p.joiner)(Some(l), Some(r)),
            (before, after),
            emits,
        );
        self.0.close_windows(ctx, &mut state);
    }
}

impl<K: StoreKey, L: Data, R: Data, O: Data> Processor<K, R> for RightInput<K, L, R, O> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, R>) {
        let state = self.0.state.clone();
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let (before, after, emits) = (state.windows.before, state.windows.after, state.emit_right);
        self.0.on_record(
            ctx,
            record,
            &mut state,
            |s| (&mut s.right, &mut s.left),
            |p, r, l| (p.joiner)(Some(l), Some(r)),
            (after, before),
            emits,
        );
        self.0.close_windows(ctx, &mut state);
    }
}
