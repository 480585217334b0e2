//! Windowed aggregations (`count`, `reduce`, `aggregate` after `window(...)`): each record is
//! folded into every window it belongs to, unless the window has closed (stream time
//! `>= end + grace`), in which case it is dropped, counted and logged. Results are
//! forwarded on every update (through the record cache, as Kafka's caching window store:
//! a window's updates between two commits come out once), or once per window when it closes
//! ([`Emit`]; not through the cache, as Kafka's `fetchAndEmit` forwards them directly).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::aggregate::Aggregator;
use super::cache::SharedEmitter;
use super::{Context, Processor};
use crate::record::Data;
use crate::record::{Change, Record};
use crate::state::window::WindowStore;
use crate::state::StoreKey;
use crate::windows::{TimeWindows, Windowed};

/// When a windowed aggregation emits its results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Emit {
    /// On every update.
    EveryUpdate,
    /// Once per window when it closes, as Kafka's `EmitStrategy.onWindowClose()`: without the
    /// record cache, windows the store no longer shows when they close (stream time jumped
    /// past them by more than the retention) are never emitted; with it, they are (Kafka's
    /// caching window store still holds them, and its `fetchAll` reads the cache too).
    OnWindowClose,
    /// Once per window when it closes, as Kafka's `suppress(untilWindowCloses(unbounded()))`:
    /// every window's final result, however far stream time jumps.
    Suppressed,
}

pub(crate) struct WindowAggregateProc<K, V, A> {
    pub(crate) windows: TimeWindows,
    pub(crate) store: Arc<WindowStore<K, A>>,
    pub(crate) aggregator: Aggregator<K, V, A>,
    pub(crate) emit: Emit,
    /// The largest timestamp this operator has seen (Kafka's `observedStreamTime`).
    pub(crate) observed: i64,
    /// Windows starting before this were emitted on close already.
    pub(crate) emitted_before: i64,
    /// Emitting on close: where the last emitted window close time is kept across restarts
    /// (the task's processor metadata, under the store's name, as Kafka's
    /// `AbstractKStreamTimeWindowAggregateProcessor` keeps `lastEmitWindowCloseTime`), and
    /// whether it was read yet (a task's committed metadata arrives after it is built).
    pub(crate) progress: Option<(Arc<super::ProcessorMetadata>, String, bool)>,
    /// The largest window start written: the window store's own clock, as Kafka's window
    /// stores keep it; windows starting more than the retention (size + grace) before it
    /// are no longer seen.
    pub(crate) largest_start: i64,
    pub(crate) dropped: Arc<AtomicU64>,
    /// Where results go: through the record cache when emitting every update, straight
    /// on otherwise (an emitter of capacity 0).
    pub(crate) next: SharedEmitter<Windowed<K>, A>,
    /// With the record cache on: the windows to expire at its next flush. Until then the
    /// store keeps them, so that what reads it (a join's getter) sees a window whose last
    /// update is still in the cache, as it would through Kafka's caching window store.
    pub(crate) expire_at_flush: Arc<std::sync::atomic::AtomicI64>,
    /// Whether `next` caches (fixed when the task is built).
    pub(crate) cached: bool,
    /// Whether the record cache is on, so the store is a caching one even where results do
    /// not go through it (emitting on close).
    pub(crate) store_cached: bool,
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, V> for WindowAggregateProc<K, V, A> {
    /// Kafka's `KStreamWindowAggregate`: a null key (a null value goes to the aggregator).
    fn null_drops(&self) -> super::NullDrops {
        super::NullDrops::counted(false)
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        if let Some((metadata, store, read @ false)) = &mut self.progress {
            *read = true;
            // Windows with end <= the last close time were emitted before a restart.
            if let Some(closed) = metadata.get(store) {
                let closed_before = closed.saturating_sub(self.windows.size_ms()).saturating_add(1);
                self.emitted_before = self.emitted_before.max(closed_before);
            }
        }
        self.observed = self.observed.max(timestamp);
        let close = self.observed.saturating_sub(self.windows.grace_ms());
        for window in self.windows.windows_for(timestamp) {
            if window.end <= close {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    topic = ctx.topic(),
                    partition = ctx.partition(),
                    offset = ctx.offset(),
                    timestamp,
                    window_start = window.start,
                    window_end = window.end,
                    "dropping a record late for its window (stream time past window end + grace)"
                );
                continue;
            }
            self.largest_start = self.largest_start.max(window.start);
            let (new, ts) = self.store.update(&key, window.start, |old| {
                let (old, old_ts) = match old {
                    Some((a, ts)) => (Some(a), ts),
                    None => (None, i64::MIN),
                };
                ((self.aggregator)(&key, value.clone(), old), timestamp.max(old_ts))
            });
            if self.emit == Emit::EveryUpdate {
                let windowed = Windowed { key: key.clone(), window };
                let change = Change::new(Some(new), None);
                let record = Record { key: windowed, value: change, timestamp: ts, headers: headers.clone() };
                self.next.lock().unwrap_or_else(|p| p.into_inner()).emit(ctx, record);
            }
        }
        let visible = self.largest_start.saturating_sub(self.windows.retention_ms()).saturating_add(1);
        if self.emit != Emit::EveryUpdate {
            // Windows with end <= close have closed: start <= close - size. Under
            // `OnWindowClose`, as in Kafka's `KStreamWindowAggregate`, a closed window the store
            // no longer shows is never emitted.
            let closed_before = close.saturating_sub(self.windows.size_ms()).saturating_add(1);
            let from = match self.emit {
                Emit::OnWindowClose if !self.store_cached => self.emitted_before.max(visible),
                _ => self.emitted_before,
            };
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            for (windowed, value, ts) in self.store.windows_between_in_key_order(from, closed_before) {
                let change = Change::new(Some(value), None);
                next.emit(
                    ctx,
                    Record { key: windowed, value: change, timestamp: ts, headers: headers.clone() },
                );
            }
            if closed_before > self.emitted_before {
                self.emitted_before = closed_before;
                if let Some((metadata, store, _)) = &self.progress {
                    metadata.put(store, close);
                }
            }
        }
        // Suppressed windows are kept until emitted; so are windows emitted on close when the
        // store caches (Kafka's cache holds them until it evicts them: here, until emitted).
        let keep_until_emitted = match self.emit {
            Emit::EveryUpdate => false,
            Emit::OnWindowClose => self.store_cached,
            Emit::Suppressed => true,
        };
        let keep_from = if keep_until_emitted { visible.min(self.emitted_before) } else { visible };
        if self.cached {
            self.expire_at_flush.fetch_max(keep_from, Ordering::Relaxed);
        } else {
            self.store.expire_before(keep_from);
        }
    }
}
