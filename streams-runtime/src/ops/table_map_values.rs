//! `map_values` on a table: new and old values mapped alike; deletions stay deletions.

use std::sync::Arc;

use super::{Context, Processor};
use crate::record::{Change, Record};

pub(crate) struct TableMapValuesProc<K, V, U> {
    pub(crate) f: Arc<dyn Fn(V) -> U + Send + Sync>,
    /// Whether old values are mapped and forwarded (Kafka's `sendOldValues`).
    pub(crate) send_old_values: bool,
    pub(crate) next: Box<dyn Processor<K, Change<U>>>,
}

impl<K: Send, V: Send, U: Send> Processor<K, Change<V>> for TableMapValuesProc<K, V, U> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<V>>) {
        let Change { new, old, is_latest } = record.value;
        let change = Change {
            new: new.map(|v| (self.f)(v)),
            old: old.filter(|_| self.send_old_values).map(|v| (self.f)(v)),
            is_latest,
        };
        self.next.process(
            ctx,
            Record { key: record.key, value: change, timestamp: record.timestamp, headers: record.headers },
        );
    }
}
