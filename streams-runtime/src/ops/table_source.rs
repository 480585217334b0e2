//! Table sources (`table(topic)`, `to_table()`): each record upserts its key (a null value
//! deletes it) and flows on as a `Change`. The table keeps a store only when something
//! downstream needs old values (a `group_by`, a join); otherwise `old` is unknown (`None`),
//! as in Kafka Streams.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Context, Processor};
use crate::record::Data;
use crate::record::{Change, Record};
use crate::state::{KeyValueStore, StoreKey};

pub(crate) struct TableSourceProc<K, V> {
    /// Present when the table is materialized.
    pub(crate) store: Option<Arc<KeyValueStore<K, V>>>,
    /// Whether updates carry the old value (Kafka's `sendOldValues`).
    pub(crate) send_old_values: bool,
    pub(crate) key_is_null: fn(&K) -> bool,
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) next: Box<dyn Processor<K, Change<V>>>,
}

impl<K: StoreKey, V: Data> Processor<K, Option<V>> for TableSourceProc<K, V> {
    /// Kafka's `KTableSource`: a null key (a null value deletes).
    fn null_drops(&self) -> super::NullDrops {
        super::NullDrops::counted(false)
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Option<V>>) {
        let Record { key, value, timestamp, headers } = record;
        if (self.key_is_null)(&key) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return tracing::debug!(
                topic = ctx.topic(),
                offset = ctx.offset(),
                "skipping a table update with a null key"
            );
        }
        let old = match &self.store {
            Some(store) => {
                let old = store.take(&key).map(|(v, _)| v);
                match &value {
                    Some(v) => store.put(key.clone(), v.clone(), timestamp),
                    None => store.delete(&key),
                }
                old.filter(|_| self.send_old_values)
            }
            None => None,
        };
        // As Kafka's `KTableSource`, every update is forwarded, even the deletion of a key
        // the table never had.
        self.next.process(ctx, Record { key, value: Change { new: value, old }, timestamp, headers });
    }
}

/// `to_table`: every stream record is an upsert.
pub(crate) struct UpsertProc<K, V>(pub(crate) TableSourceProc<K, V>);

impl<K: StoreKey, V: Data> Processor<K, V> for UpsertProc<K, V> {
    /// Kafka's `KTableSource`: a null key (a null value deletes).
    fn null_drops(&self) -> super::NullDrops {
        super::NullDrops::counted(false)
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        self.0.process(ctx, Record { key, value: Some(value), timestamp, headers });
    }
}
