//! Stream aggregations (`count`, `reduce`, `aggregate` on a grouped stream): fold each record
//! into the key's aggregate in a store and emit the new aggregate. The result's timestamp is
//! the largest input timestamp of the key.

use std::sync::Arc;

use super::{Context, Processor};
use crate::graph::Data;
use crate::record::{Change, Record};
use crate::state::{KeyValueStore, StoreKey};

/// Folds `value` into the key's aggregate (`None` before the key's first record).
pub(crate) type Aggregator<K, V, A> = Arc<dyn Fn(&K, V, Option<A>) -> A + Send + Sync>;

pub(crate) struct StreamAggregateProc<K, V, A> {
    pub(crate) store: Arc<KeyValueStore<K, A>>,
    pub(crate) aggregator: Aggregator<K, V, A>,
    pub(crate) send_old_values: bool,
    pub(crate) next: Box<dyn Processor<K, Change<A>>>,
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, V> for StreamAggregateProc<K, V, A> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        let (old, old_ts) = match self.store.take(&key) {
            Some((a, ts)) => (Some(a), ts),
            None => (None, i64::MIN),
        };
        let old_out = if self.send_old_values { old.clone() } else { None };
        let new = (self.aggregator)(&key, value, old);
        let timestamp = timestamp.max(old_ts);
        self.store.put(key.clone(), new.clone(), timestamp);
        let change = Change { new: Some(new), old: old_out };
        self.next.process(ctx, Record { key, value: change, timestamp, headers });
    }
}
