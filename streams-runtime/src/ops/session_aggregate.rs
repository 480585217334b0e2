//! Session-windowed aggregations, as Kafka's `KStreamSessionWindowAggregate`: a record joins
//! every session of its key within the inactivity gap, merging them into one; each
//! merged-away session is deleted downstream (a tombstone) before the merged one is sent.
//! A record whose merged session has closed (its end before stream time − grace − gap) is
//! dropped and counted.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

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
    pub(crate) next: Box<dyn Processor<Windowed<K, SessionWindow>, Change<A>>>,
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
        for (w, a, _) in merged {
            aggregate = Some((self.merge)(&key, aggregate, a.clone()));
            // A record landing exactly on a one-point session overwrites it in place.
            if window != single {
                let gone = Windowed { key: key.clone(), window: w };
                let change = Change { new: None, old: Some(a) };
                self.next.process(
                    ctx,
                    Record { key: gone, value: change, timestamp: w.end, headers: headers.clone() },
                );
            }
        }
        let aggregate = (self.add)(&key, value, aggregate);
        self.store.put(key.clone(), window, aggregate.clone(), window.end);
        let windowed = Windowed { key, window };
        let change = Change { new: Some(aggregate), old: None };
        self.next.process(ctx, Record { key: windowed, value: change, timestamp: window.end, headers });
        // Kafka's in-memory session store keeps sessions ending after stream time − retention
        // (retention = gap + grace).
        self.store
            .expire_before(self.observed.saturating_sub(gap).saturating_sub(self.windows.grace_ms()) + 1);
    }
}
