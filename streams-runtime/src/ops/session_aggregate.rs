//! Session-windowed aggregations, as Kafka's `KStreamSessionWindowAggregate`: a record joins
//! every session of its key within the inactivity gap, merging them into one; each
//! merged-away session is deleted downstream (a tombstone) before the merged one is sent.
//! A record whose merged session has closed (its end before stream time − grace − gap) is
//! dropped and counted. With the record cache on, updates go through it, and sessions the
//! cache still holds are found after they expire (see `state::resident`).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::cache::{ForwardIf, SharedEmitter};
use super::{Context, Processor};
use crate::record::Data;
use crate::record::{Change, Record};
use crate::state::session::SessionStore;
use crate::state::StoreKey;
use crate::windows::{SessionWindow, SessionWindows, Windowed};

/// The first aggregate of a session: `Some(init())` for `aggregate`, `None` for `reduce`
/// (whose first value is the aggregate, as Kafka's reduce initializer returns null).
pub(crate) type SessionInit<A> = Arc<dyn Fn() -> Option<A> + Send + Sync>;
/// Adds a record's value to an aggregate.
pub(crate) type SessionAdd<K, V, A> = Arc<dyn Fn(&K, V, Option<A>) -> A + Send + Sync>;
/// Folds a found session's aggregate into the one being built.
pub(crate) type Merger<K, A> = Arc<dyn Fn(&K, Option<A>, A) -> A + Send + Sync>;

pub(crate) struct SessionAggregateProc<K, V, A> {
    pub(crate) windows: SessionWindows,
    pub(crate) store: Arc<SessionStore<K, A>>,
    pub(crate) init: SessionInit<A>,
    pub(crate) add: SessionAdd<K, V, A>,
    pub(crate) merge: Merger<K, A>,
    pub(crate) observed: i64,
    pub(crate) dropped: Arc<AtomicU64>,
    /// Through the record cache (Kafka's `CachingSessionStore` forwards at its flush, with
    /// `SessionCacheFlushListener`), or straight on (an emitter of capacity 0).
    pub(crate) next: SharedEmitter<Windowed<K, SessionWindow>, A>,
}

/// What a session aggregation's cache forwards at a flush, as Kafka's
/// `CachingSessionStore.putAndMaybeForward`: every session written, and the deletion of a
/// session only if the store beneath still has it, which a segmented store answers by its
/// own clock (the largest session end it was written, entry after entry of the flush), so a
/// session more than `retention` behind it is gone already, and its deletion never comes out.
pub(crate) fn forward_if<K: 'static>(retention: i64) -> ForwardIf<Windowed<K, SessionWindow>> {
    let mut clock = i64::MIN;
    Box::new(move |key: &Windowed<K, SessionWindow>, written: bool, existed: bool| {
        let end = key.window.end;
        let forward = written || (existed && end >= clock.saturating_sub(retention).saturating_add(1));
        if forward {
            clock = clock.max(end);
        }
        forward
    })
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, V> for SessionAggregateProc<K, V, A> {
    /// Kafka's `KStreamSessionWindowAggregate`: a null key.
    fn null_drops(&self) -> super::NullDrops {
        super::NullDrops::counted(false)
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        self.observed = self.observed.max(timestamp);
        let gap = self.windows.gap_ms();
        let close = self.observed.saturating_sub(self.windows.grace_ms()).saturating_sub(gap);
        let merged =
            self.store.take_overlapping(&key, timestamp.saturating_sub(gap), timestamp.saturating_add(gap));
        let single = SessionWindow { start: timestamp, end: timestamp };
        let mut window = single;
        for (w, _, _) in &merged {
            window.start = window.start.min(w.start);
            window.end = window.end.max(w.end);
        }
        if window.end < close {
            // Too late: put the sessions back untouched.
            for (w, a, ts) in merged {
                self.store.put(key.clone(), w, a, ts);
            }
            // Its end before stream time - grace - gap.
            return super::drop_late(&self.dropped, ctx, timestamp, "session");
        }
        let mut aggregate = (self.init)();
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let mut in_place = false;
        for (w, a, _) in merged {
            aggregate = Some((self.merge)(&key, aggregate, a.clone()));
            // A record landing exactly on a one-point session overwrites it in place.
            if window == single {
                in_place = true;
                continue;
            }
            in_place |= w == window;
            let gone = Windowed { key: key.clone(), window: w };
            let change = Change::new(None, Some(a));
            let record = Record { key: gone, value: change, timestamp: w.end, headers: headers.clone() };
            next.emit_update(ctx, record, true);
        }
        let aggregate = (self.add)(&key, value, aggregate);
        self.store.put(key.clone(), window, aggregate.clone(), window.end);
        let windowed = Windowed { key, window };
        let change = Change::new(Some(aggregate), None);
        let record = Record { key: windowed, value: change, timestamp: window.end, headers };
        next.emit_update(ctx, record, in_place);
        drop(next);
        // Kafka's in-memory session store keeps sessions ending after stream time − retention
        // (retention = gap + grace).
        self.store
            .expire_before(self.observed.saturating_sub(gap).saturating_sub(self.windows.grace_ms()) + 1);
    }
}
