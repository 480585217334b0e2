//! Session-windowed aggregations: a record joins every session of its key within the gap,
//! merging them into one (the merged-away sessions are deleted downstream), unless the
//! merged session has already closed (stream time `> end + grace`), in which case the record
//! is dropped and counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Context, Processor};
use crate::graph::Data;
use crate::record::{Change, Record};
use crate::state::session::SessionStore;
use crate::state::StoreKey;
use crate::windows::{SessionWindow, SessionWindows, Windowed};

/// Merges two sessions' aggregates.
pub(crate) type Merger<K, A> = Arc<dyn Fn(&K, A, A) -> A + Send + Sync>;

pub(crate) struct SessionAggregateProc<K, V, A> {
    pub(crate) windows: SessionWindows,
    pub(crate) store: Arc<SessionStore<K, A>>,
    pub(crate) init: Arc<dyn Fn() -> A + Send + Sync>,
    pub(crate) add: Arc<dyn Fn(&K, V, A) -> A + Send + Sync>,
    pub(crate) merge: Merger<K, A>,
    pub(crate) observed: i64,
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) next: Box<dyn Processor<Windowed<K, SessionWindow>, Change<A>>>,
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, V> for SessionAggregateProc<K, V, A> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        self.observed = self.observed.max(timestamp);
        let close = self.observed.saturating_sub(self.windows.grace_ms());
        let gap = self.windows.gap_ms();
        let merged =
            self.store.take_overlapping(&key, timestamp.saturating_sub(gap), timestamp.saturating_add(gap));
        let mut window = SessionWindow { start: timestamp, end: timestamp };
        for (w, _, _) in &merged {
            window.start = window.start.min(w.start);
            window.end = window.end.max(w.end);
        }
        if window.end < close {
            // Too late: put the sessions back untouched.
            for (w, a, ts) in merged {
                self.store.put(key.clone(), w, a, ts);
            }
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                topic = ctx.topic(),
                partition = ctx.partition(),
                offset = ctx.offset(),
                timestamp,
                "dropping a record late for its session (stream time past session end + grace)"
            );
            return;
        }
        let mut aggregate = (self.init)();
        let mut ts = timestamp;
        for (w, a, a_ts) in merged {
            aggregate = (self.merge)(&key, aggregate, a.clone());
            ts = ts.max(a_ts);
            if w != window {
                let gone = Windowed { key: key.clone(), window: w };
                let change = Change { new: None, old: Some(a) };
                self.next.process(
                    ctx,
                    Record { key: gone, value: change, timestamp: a_ts, headers: headers.clone() },
                );
            }
        }
        aggregate = (self.add)(&key, value, aggregate);
        self.store.put(key.clone(), window, aggregate.clone(), ts);
        let windowed = Windowed { key, window };
        self.next.process(
            ctx,
            Record {
                key: windowed,
                value: Change { new: Some(aggregate), old: None },
                timestamp: ts,
                headers,
            },
        );
        self.store.expire_before(self.observed.saturating_sub(gap).saturating_sub(self.windows.grace_ms()));
    }
}
