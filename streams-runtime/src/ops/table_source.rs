//! Table sources (`table(topic)`, `to_table()`): each record upserts its key (a null value
//! deletes it) and flows on as a `Change`. The table keeps a store only when something
//! downstream needs old values (a `group_by`, a join); otherwise `old` is unknown (`None`),
//! as in Kafka Streams.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::cache::SharedEmitter;
use super::{Context, Processor};
use crate::codec::Codec;
use crate::graph::TaskBuild;
use crate::record::Data;
use crate::record::{Change, Record};
use crate::state::versioned::{Put, VersionedKeyValueStore};
use crate::state::{KeyValueStore, StoreKey};

pub(crate) struct TableSourceProc<K, V> {
    /// Present when the table is materialized.
    store: Option<Store<K, V>>,
    /// Whether updates carry the old value (Kafka's `sendOldValues`).
    send_old_values: bool,
    key_is_null: fn(&K) -> bool,
    dropped: Arc<AtomicU64>,
    next: Out<K, V>,
}

/// A materialized table's store: one value per key, or every value over the store's history.
enum Store<K, V> {
    Latest(Arc<KeyValueStore<K, V>>),
    Versioned(Arc<VersionedKeyValueStore<K, V>>),
}

/// Where a table's updates go: through the record cache (a materialized table), or on.
enum Out<K, V> {
    Direct(Box<dyn Processor<K, Change<V>>>),
    Cached(SharedEmitter<K, V>),
}

impl<K: StoreKey, V: Data> TableSourceProc<K, V> {
    /// Table `table` of the graph, materialized in `store` if it keeps one: then its updates
    /// go through the task's record cache, as Kafka's `KTableSource` leaves forwarding to its
    /// caching store's flush (`TimestampedTupleForwarder`); an unmaterialized table has no
    /// cache and forwards every update at once, and so does a versioned one (Kafka never
    /// caches a versioned store).
    pub(crate) fn new<KC: Codec<Value = K>, VC: Codec<Value = V>>(
        tb: &mut TaskBuild<'_>,
        table: usize,
        store: &str,
        next: Box<dyn Processor<K, Change<V>>>,
    ) -> Self {
        let store = match (tb.keeps_store(table), tb.is_versioned(table)) {
            (_, true) => Some(Store::Versioned(tb.versioned_store::<KC, VC>(store))),
            (true, false) => Some(Store::Latest(tb.key_value_store::<KC, VC>(store))),
            (false, false) => None,
        };
        let next = match store {
            Some(Store::Latest(_)) => Out::Cached(tb.emitter(next)),
            _ => Out::Direct(next),
        };
        TableSourceProc {
            store,
            send_old_values: tb.sends_old_values(table),
            key_is_null: KC::is_null,
            dropped: tb.dropped.clone(),
            next,
        }
    }
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
        let mut is_latest = true;
        let (old, existed) = match &self.store {
            Some(Store::Latest(store)) => {
                let old = store.take(&key).map(|(v, _)| v);
                match &value {
                    Some(v) => store.put(key.clone(), v.clone(), timestamp),
                    None => store.delete(&key),
                }
                let existed = old.is_some();
                (old.filter(|_| self.send_old_values), existed)
            }
            // Kafka's `KTableSource` over a versioned store: the old value is the key's
            // latest; an update older than the store's history is neither stored nor
            // forwarded; one older than the key's latest flows on as not the latest.
            Some(Store::Versioned(store)) => {
                let old = store.get(&key).map(|(v, _)| v);
                match store.put(key.clone(), value.clone(), timestamp) {
                    // `RocksDBVersionedStore` counts the refused write as dropped.
                    Put::NotPut => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Put::Latest => {}
                    Put::Historical => is_latest = false,
                }
                (old.filter(|_| self.send_old_values), true)
            }
            None => (None, true),
        };
        // As Kafka's `KTableSource`, every update is forwarded, even the deletion of a key
        // the table never had (unless the record cache holds it: see `Emitter`).
        let record = Record { key, value: Change { new: value, old, is_latest }, timestamp, headers };
        match &mut self.next {
            Out::Direct(next) => next.process(ctx, record),
            Out::Cached(emitter) => {
                emitter.lock().unwrap_or_else(|p| p.into_inner()).emit_update(ctx, record, existed)
            }
        }
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
