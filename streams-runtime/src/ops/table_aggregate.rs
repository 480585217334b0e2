//! Aggregations of a grouped table: the adder folds new values in, the subtractor takes old
//! values out, so a row moving between groups leaves the old group's aggregate.

use std::sync::Arc;

use super::cache::SharedEmitter;
use super::{Context, Processor};
use crate::graph::Data;
use crate::record::{Change, Record};
use crate::state::{KeyValueStore, StoreKey};

/// Adds or subtracts one value: `(key, value, aggregate) -> aggregate`.
pub(crate) type Fold<K, V, A> = Arc<dyn Fn(&K, V, A) -> A + Send + Sync>;

pub(crate) struct TableAggregateProc<K, V, A> {
    pub(crate) store: Arc<KeyValueStore<K, A>>,
    pub(crate) init: Arc<dyn Fn() -> A + Send + Sync>,
    pub(crate) add: Fold<K, V, A>,
    pub(crate) subtract: Fold<K, V, A>,
    pub(crate) emitter: SharedEmitter<K, A>,
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, Change<V>> for TableAggregateProc<K, V, A> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<V>>) {
        let Record { key, value: Change { new, old }, timestamp, headers } = record;
        let (previous, previous_ts) = match self.store.get(&key) {
            Some((a, ts)) => (Some(a), ts),
            None => (None, i64::MIN),
        };
        let mut agg = previous.clone().unwrap_or_else(|| (self.init)());
        if let Some(old) = old {
            agg = (self.subtract)(&key, old, agg);
        }
        if let Some(new) = new {
            agg = (self.add)(&key, new, agg);
        }
        let timestamp = timestamp.max(previous_ts);
        self.store.put(key.clone(), agg.clone(), timestamp);
        let change = Change { new: Some(agg), old: previous };
        let mut emitter = self.emitter.lock().unwrap_or_else(|p| p.into_inner());
        emitter.emit(ctx, Record { key, value: change, timestamp, headers });
    }
}
