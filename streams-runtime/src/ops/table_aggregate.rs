//! Aggregations of a grouped table, as Kafka's `KTableAggregate` and `KTableReduce`: the
//! subtractor takes the old value out of the group's aggregate (if the group has one), then
//! the adder folds the new value in (starting from the initializer, or for `reduce` from the
//! value itself), and the result is emitted once per change.

use std::sync::Arc;

use super::cache::SharedEmitter;
use super::{Context, Processor};
use crate::record::Data;
use crate::record::{Change, Record};
use crate::state::{KeyValueStore, StoreKey};

/// Adds a value to an aggregate (`None`: the group has none yet).
pub(crate) type Add<K, V, A> = Arc<dyn Fn(&K, V, Option<A>) -> A + Send + Sync>;
/// Takes a value out of an aggregate.
pub(crate) type Fold<K, V, A> = Arc<dyn Fn(&K, V, A) -> A + Send + Sync>;

pub(crate) struct TableAggregateProc<K, V, A> {
    pub(crate) store: Arc<KeyValueStore<K, A>>,
    pub(crate) add: Add<K, V, A>,
    pub(crate) subtract: Fold<K, V, A>,
    /// Whether the previous aggregate is forwarded too (Kafka's `sendOldValues`).
    pub(crate) send_old_values: bool,
    pub(crate) emitter: SharedEmitter<K, A>,
}

impl<K: StoreKey, V: Data, A: Data> Processor<K, Change<V>> for TableAggregateProc<K, V, A> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<V>>) {
        let Record { key, value: Change { new, old, .. }, timestamp, headers } = record;
        let previous = self.store.get(&key);
        let mut timestamp = timestamp;
        let mut agg = previous.as_ref().map(|(a, _)| a.clone());
        if let Some(old) = old {
            agg = agg.map(|a| (self.subtract)(&key, old, a));
        }
        if let Some(new) = new {
            agg = Some((self.add)(&key, new, agg));
        }
        if let Some((_, previous_ts)) = &previous {
            timestamp = timestamp.max(*previous_ts);
        }
        // No aggregate: a value taken out of a group that has none (a suppression upstream
        // emits old values it never emitted as new ones). Kafka's `KTableAggregate` then puts
        // null (deletes) and forwards the deletion; an aggregation's `to_stream` carries `V`,
        // so there it writes nothing where Kafka writes a null value.
        match &agg {
            Some(agg) => self.store.put(key.clone(), agg.clone(), timestamp),
            None => self.store.delete(&key),
        }
        let old = previous.map(|(a, _)| a).filter(|_| self.send_old_values);
        let change = Change::new(agg, old);
        let mut emitter = self.emitter.lock().unwrap_or_else(|p| p.into_inner());
        emitter.emit(ctx, Record { key, value: change, timestamp, headers });
    }
}
