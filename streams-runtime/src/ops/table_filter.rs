//! `filter` / `filter_not` on a table: a value the predicate rejects becomes a deletion.

use std::sync::Arc;

use super::{Context, Processor};
use crate::record::{Change, Record};

pub(crate) struct TableFilterProc<K, V> {
    pub(crate) predicate: Arc<dyn Fn(&K, &V) -> bool + Send + Sync>,
    pub(crate) negate: bool,
    /// When old values flow, an update where both sides are filtered out is dropped.
    pub(crate) send_old_values: bool,
    /// Whether the table filtered is versioned: then such an update flows on (Kafka's
    /// `KTableFilter` with versioned semantics).
    pub(crate) versioned: bool,
    pub(crate) next: Box<dyn Processor<K, Change<V>>>,
}

impl<K: Send, V: Send> Processor<K, Change<V>> for TableFilterProc<K, V> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<V>>) {
        let keep = |v: Option<V>| v.filter(|v| (self.predicate)(&record.key, v) != self.negate);
        let Change { new, old, is_latest } = record.value;
        // As Kafka's `KTableFilter`: old values only when they are sent.
        let (new, old) = (keep(new), keep(old.filter(|_| self.send_old_values)));
        if self.send_old_values && !self.versioned && new.is_none() && old.is_none() {
            return;
        }
        let change = Change { new, old, is_latest };
        self.next.process(
            ctx,
            Record { key: record.key, value: change, timestamp: record.timestamp, headers: record.headers },
        );
    }
}
