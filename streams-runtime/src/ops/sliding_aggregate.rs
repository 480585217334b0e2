//! Sliding-window aggregations (Kafka's `SlidingWindows`): windows `[start, start +
//! difference]`, inclusive at both ends, one per distinct set of records close in time.
//!
//! This follows Kafka's `KStreamSlidingWindowAggregate` step by step (its reverse-iterator
//! path, which its default stores take): a record updates the windows it falls in, creates
//! its left window `[t - d, t]` from the aggregate of the window before it, its right window
//! `[t + 1, t + 1 + d]` from the aggregate of later records, and the previous record's right
//! window; records earlier than `d` share the window `[0, d]` (Kafka's `processEarly`). The
//! window store is the whole state, so a restored task goes on exactly where it stopped.
//! Kafka's window store hides windows starting before (largest start written) − retention
//! (2d + grace), so windows are looked up through the same horizon; with the record cache
//! on, updates go through it, and windows it holds are found beyond that horizon.

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::aggregate::{Aggregator, Nulls};
use super::cache::SharedEmitter;
use super::{Context, Processor};
use crate::record::Data;
use crate::record::{Change, Headers, Record};
use crate::state::window::WindowStore;
use crate::state::StoreKey;
use crate::windows::{SlidingWindows, Window, Windowed};

/// A window's aggregate and the largest timestamp in it (Kafka's `ValueAndTimestamp`).
type Agg<A> = (A, i64);

pub(crate) struct SlidingAggregateProc<K, V, A> {
    pub(crate) windows: SlidingWindows,
    pub(crate) store: Arc<WindowStore<K, A>>,
    pub(crate) aggregator: Aggregator<K, V, A>,
    /// Kafka's sliding aggregation drops records with a null key or value.
    pub(crate) nulls: Nulls<K, V>,
    pub(crate) observed: i64,
    /// The largest window start written: the store's own clock, as Kafka's segmented
    /// window stores keep it.
    pub(crate) largest_start: i64,
    pub(crate) dropped: Arc<AtomicU64>,
    /// Through the record cache (Kafka's `CachingWindowStore` forwards at its flush), or
    /// straight on (an emitter of capacity 0).
    pub(crate) next: SharedEmitter<Windowed<K>, A>,
    /// Whether the store caches: then the windows its cache holds are found after they
    /// expire, as `CachingWindowStore.backwardFetch` reads its cache too (see
    /// `state::resident`).
    pub(crate) cached: bool,
}

/// One record being processed: what every window update needs.
struct Step<'a, K, V> {
    key: &'a K,
    value: &'a V,
    t: i64,
    close: i64,
    headers: &'a Headers,
}

impl<K: StoreKey, V: Data, A: Data> SlidingAggregateProc<K, V, A> {
    fn d(&self) -> i64 {
        self.windows.difference_ms()
    }

    /// The key's windows with `from <= start <= to` that the store still shows.
    fn fetch(&self, key: &K, from: i64, to: i64) -> Vec<(i64, Agg<A>)> {
        let retention = 2 * self.d() + self.windows.grace_ms();
        let visible = self.largest_start.saturating_sub(retention).saturating_add(1);
        let from = if self.cached { from } else { from.max(visible) };
        self.store.fetch(key, from, to).into_iter().map(|(s, a, ts)| (s, (a, ts))).collect()
    }

    fn put(&mut self, key: &K, start: i64, agg: Agg<A>) {
        self.largest_start = self.largest_start.max(start);
        self.store.put(key.clone(), start, agg.0, agg.1);
    }

    fn forward(&mut self, ctx: &mut Context<'_>, step: &Step<'_, K, V>, start: i64, agg: A, timestamp: i64) {
        let window = Window { start, end: start.saturating_add(self.d()) };
        let change = Change::new(Some(agg), None);
        let key = Windowed { key: step.key.clone(), window };
        let record = Record { key, value: change, timestamp, headers: step.headers.clone() };
        self.next.lock().unwrap_or_else(|p| p.into_inner()).emit(ctx, record);
    }

    /// Kafka's `updateWindowAndForward`: adds the record to the window (`None`: a new one,
    /// from the initializer) unless the window has closed.
    fn update(&mut self, ctx: &mut Context<'_>, step: &Step<'_, K, V>, start: i64, old: Option<Agg<A>>) {
        if start.saturating_add(self.d()) < step.close {
            self.drop_late(ctx, step.t);
            return;
        }
        let timestamp = old.as_ref().map_or(step.t, |(_, ts)| step.t.max(*ts));
        let new = (self.aggregator)(step.key, step.value.clone(), old.map(|(a, _)| a));
        self.put(step.key, start, (new.clone(), timestamp));
        self.forward(ctx, step, start, new, timestamp);
    }

    /// Kafka's `createCurrentRecordRightWindow`: the later records' aggregate, as it is.
    fn create_right_window(&mut self, ctx: &mut Context<'_>, step: &Step<'_, K, V>, right: Agg<A>) {
        let start = step.t.saturating_add(1);
        self.put(step.key, start, right.clone());
        self.forward(ctx, step, start, right.0, right.1);
    }

    fn drop_late(&self, ctx: &Context<'_>, timestamp: i64) {
        super::drop_late(&self.dropped, ctx, timestamp, "sliding");
    }

    /// Kafka's `processReverse`: the windows from `t - 2d` to `t + 1`, newest first.
    fn process_reverse(&mut self, ctx: &mut Context<'_>, step: &Step<'_, K, V>) {
        let (t, d) = (step.t, self.d());
        let mut starts = HashSet::new();
        let (mut left, mut right): (Option<Agg<A>>, Option<Agg<A>>) = (None, None);
        let (mut left_created, mut right_created) = (false, false);
        let mut previous: Option<i64> = None;
        for (start, agg) in self
            .fetch(step.key, t.saturating_sub(d.saturating_mul(2)).max(0), t.saturating_add(1))
            .into_iter()
            .rev()
        {
            starts.insert(start);
            let end = start.saturating_add(d);
            let latest = agg.1;
            if start == t.saturating_add(1) {
                right_created = true;
            } else if end > t {
                if right.is_none() {
                    right = Some(agg.clone());
                }
                self.update(ctx, step, start, Some(agg));
            } else if end == t {
                left_created = true;
                self.update(ctx, step, start, Some(agg));
                if latest < t {
                    previous = Some(latest);
                } else {
                    return;
                }
            } else {
                left = Some(agg);
                previous = Some(latest);
                break;
            }
        }
        self.create_windows(ctx, step, &starts, (left, right), (left_created, right_created), previous);
    }

    /// Kafka's `createWindows`.
    fn create_windows(
        &mut self,
        ctx: &mut Context<'_>,
        step: &Step<'_, K, V>,
        starts: &HashSet<i64>,
        (left, right): (Option<Agg<A>>, Option<Agg<A>>),
        (left_created, right_created): (bool, bool),
        previous: Option<i64>,
    ) {
        let (t, d) = (step.t, self.d());
        if let Some(p) = previous {
            // The previous record's right window, if missing and holding this record.
            if !starts.contains(&(p + 1)) && (p + 1).saturating_add(d) >= t {
                self.update(ctx, step, p + 1, None);
            }
        }
        if !left_created {
            let from_left = match (previous, left) {
                (Some(p), Some((agg, _))) if t.saturating_sub(d) <= p => Some((agg, t)),
                _ => None,
            };
            self.update(ctx, step, t.saturating_sub(d), from_left);
        }
        if let Some(right) = right.filter(|(_, ts)| !right_created && *ts > t) {
            self.create_right_window(ctx, step, right);
        }
    }

    /// Kafka's `processEarly`: a record earlier than `d` goes into the window `[0, d]`.
    fn process_early(&mut self, ctx: &mut Context<'_>, step: &Step<'_, K, V>) {
        let t = step.t;
        let mut starts = HashSet::new();
        let (mut combined, mut right): (Option<Agg<A>>, Option<Agg<A>>) = (None, None);
        let mut right_created = false;
        let mut previous = None;
        for (start, agg) in self.fetch(step.key, 0, t.saturating_add(1)) {
            starts.insert(start);
            if start == 0 {
                if agg.1 < t {
                    previous = Some(agg.1);
                }
                combined = Some(agg);
            } else if start <= t {
                right = Some(agg.clone());
                self.update(ctx, step, start, Some(agg));
            } else if start == t.saturating_add(1) {
                right_created = true;
            }
        }
        if right.is_none() {
            right = combined.clone().filter(|(_, ts)| *ts > t);
        }
        if let Some(right) = right.filter(|(_, ts)| !right_created && *ts > t) {
            self.create_right_window(ctx, step, right);
        }
        if let Some(p) = previous.filter(|p| !starts.contains(&(p + 1))) {
            self.update(ctx, step, p + 1, None);
        }
        self.update(ctx, step, 0, combined);
    }
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, V> for SlidingAggregateProc<K, V, A> {
    /// Kafka's `KStreamSlidingWindowAggregate`: a null key or value.
    fn null_drops(&self) -> super::NullDrops {
        super::NullDrops::counted(true)
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        if self.nulls.drops(ctx, &record.key, Some(&record.value)) {
            return;
        }
        let Record { key, value, timestamp: t, headers } = record;
        self.observed = self.observed.max(t);
        let close = self.observed.saturating_sub(self.windows.grace_ms());
        if t.saturating_add(self.d()) < close {
            self.drop_late(ctx, t);
            return;
        }
        let step = Step { key: &key, value: &value, t, close, headers: &headers };
        if t < self.d() {
            self.process_early(ctx, &step);
        } else {
            self.process_reverse(ctx, &step);
        }
        let retention = 2 * self.d() + self.windows.grace_ms();
        self.store.expire_before(self.largest_start.saturating_sub(retention).saturating_add(1));
    }
}
