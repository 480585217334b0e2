//! Stream aggregations (`count`, `reduce`, `aggregate` on a grouped stream): fold each record
//! into the key's aggregate in a store and emit the new aggregate. The result's timestamp is
//! the largest input timestamp of the key.

use std::sync::Arc;

use super::cache::SharedEmitter;
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
    pub(crate) emitter: SharedEmitter<K, A>,
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, V> for StreamAggregateProc<K, V, A> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        let mut old_out = None;
        let (new, timestamp) = self.store.update(&key, |old| {
            let (old, old_ts) = match old {
                Some((a, ts)) => (Some(a), ts),
                None => (None, i64::MIN),
            };
            if self.send_old_values {
                old_out = old.clone();
            }
            ((self.aggregator)(&key, value, old), timestamp.max(old_ts))
        });
        let change = Change { new: Some(new), old: old_out };
        let mut emitter = self.emitter.lock().unwrap_or_else(|p| p.into_inner());
        emitter.emit(ctx, Record { key, value: change, timestamp, headers });
    }
}

/// `reduce(f)` as an aggregator: the first value is the first aggregate.
pub(crate) fn reducer<K, V: 'static>(f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Aggregator<K, V, V> {
    Arc::new(move |_, v, agg| match agg {
        Some(agg) => f(agg, v),
        None => v,
    })
}
