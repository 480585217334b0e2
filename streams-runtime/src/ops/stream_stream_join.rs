//! Stream-stream windowed joins: a left record at `t` joins the right records of its key in
//! `[t - before, t + after]`, and a right record at `t` the left records in
//! `[t - after, t + before]`. Results carry the larger timestamp of the two. For left and
//! outer joins, a record that found no partner is emitted with `None` only once its window
//! has closed (KIP-633), never eagerly. Buffers keep `before + after + grace` of records.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use super::{Context, Processor};
use crate::graph::Data;
use crate::record::{Headers, Record};
use crate::state::StoreKey;

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
}

impl<K: StoreKey, L: Data, R: Data> JoinState<K, L, R> {
    pub(crate) fn new(
        windows: JoinWindows,
        emit_left: bool,
        emit_right: bool,
        dropped: Arc<AtomicU64>,
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
        let mut partners_matched = Vec::new();
        {
            let (_, others) = buffers(state);
            if let Some(list) = others.get_mut(&key) {
                for other in list.iter_mut().filter(|o| o.timestamp >= t - back && o.timestamp <= t + ahead) {
                    matched = true;
                    if !other.matched {
                        other.matched = true;
                        partners_matched.push((other.timestamp.saturating_add(0), other.seq));
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
        for list in state.left.values_mut() {
            list.retain(|b| keep(b.timestamp, b.seq));
        }
        for list in state.right.values_mut() {
            list.retain(|b| keep(b.timestamp, b.seq));
        }
        state.left.retain(|_, l| !l.is_empty());
        state.right.retain(|_, r| !r.is_empty());
    }
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
