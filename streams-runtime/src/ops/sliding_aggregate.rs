//! Sliding-window aggregations (Kafka's `SlidingWindows`): windows `[start, start +
//! difference]`, inclusive at both ends, one per distinct set of records close in time. A
//! record updates every window it falls in and creates its own left window `[t - d, t]`
//! and, when later records exist within `d`, its right window `[t + 1, t + 1 + d]`.
//!
//! Each changed window is re-aggregated from the key's buffered records, so the adder runs
//! over records in timestamp order. The buffer lives in memory: after a restart, windows
//! are rebuilt from records that arrive from then on (their earlier aggregates are in the
//! window store and its changelog).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::aggregate::Aggregator;
use super::{Context, Processor};
use crate::graph::Data;
use crate::record::{Change, Record};
use crate::state::window::WindowStore;
use crate::state::StoreKey;
use crate::windows::{SlidingWindows, Window, Windowed};

pub(crate) struct SlidingAggregateProc<K, V, A> {
    pub(crate) windows: SlidingWindows,
    pub(crate) store: Arc<WindowStore<K, A>>,
    pub(crate) aggregator: Aggregator<K, V, A>,
    pub(crate) observed: i64,
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) buffer: FxHashMap<K, Vec<(i64, V)>>,
    pub(crate) next: Box<dyn Processor<Windowed<K>, Change<A>>>,
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, V> for SlidingAggregateProc<K, V, A> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp: t, headers } = record;
        let d = self.windows.difference_ms();
        self.observed = self.observed.max(t);
        let close = self.observed.saturating_sub(self.windows.grace_ms());
        if t.saturating_add(1).saturating_add(d) <= close {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                topic = ctx.topic(),
                partition = ctx.partition(),
                offset = ctx.offset(),
                timestamp = t,
                "dropping a record late for every sliding window"
            );
            return;
        }
        let records = self.buffer.entry(key.clone()).or_default();
        let at = records.partition_point(|(ts, _)| *ts <= t);
        records.insert(at, (t, value));
        // The windows this record changes or creates, by start.
        let mut starts = vec![(t - d).max(0)];
        if records.iter().any(|(ts, _)| *ts > t && *ts <= t + 1 + d) {
            starts.push(t + 1);
        }
        for (ts, _) in records.iter() {
            if *ts > t && *ts <= t + d {
                starts.push((*ts - d).max(0));
            }
            if *ts < t && *ts >= t - 1 - d {
                starts.push(*ts + 1);
            }
        }
        starts.sort_unstable();
        starts.dedup();
        for start in starts {
            let end = start + d;
            if end <= close {
                continue;
            }
            let mut aggregate = None;
            let mut latest = i64::MIN;
            for (ts, v) in records.iter().filter(|(ts, _)| *ts >= start && *ts <= end) {
                aggregate = Some((self.aggregator)(&key, v.clone(), aggregate));
                latest = latest.max(*ts);
            }
            let Some(aggregate) = aggregate else { continue };
            self.store.put(key.clone(), start, aggregate.clone(), latest);
            let windowed = Windowed { key: key.clone(), window: Window { start, end } };
            let change = Change { new: Some(aggregate), old: None };
            self.next.process(
                ctx,
                Record { key: windowed, value: change, timestamp: latest, headers: headers.clone() },
            );
        }
        // Records older than this can no longer fall in an open window.
        let horizon = close.saturating_sub(2 * d + 1);
        records.retain(|(ts, _)| *ts >= horizon);
        self.store.expire_before(close.saturating_sub(d));
    }
}
