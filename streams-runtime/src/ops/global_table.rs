//! Global tables: every partition of the topic in one store per application instance,
//! bootstrapped before processing and shared by all tasks; streams join it through a
//! function that extracts the table key from each record.

use std::marker::PhantomData;
use std::sync::Arc;

use super::stream_table_join::LookupNulls;
use super::{Context, Processor};
use crate::codec::Codec;
use crate::error::{RecordPart, StreamsError};
use crate::record::{RawRecord, Record};
use crate::state::{KeyValueStore, StateStore, StoreKey, StoreRegistry};

/// Applies a global topic's records to its store.
pub(crate) trait GlobalUpdater: Send + Sync {
    fn apply(&self, raw: &RawRecord) -> Result<(), StreamsError>;
}

pub(crate) struct GlobalTableUpdater<KC: Codec, VC: Codec> {
    pub(crate) store: Arc<KeyValueStore<KC::Value, VC::Value>>,
    pub(crate) _codecs: PhantomData<fn(KC, VC)>,
}

impl<KC: Codec, VC: Codec> GlobalUpdater for GlobalTableUpdater<KC, VC>
where
    KC::Value: StoreKey,
{
    fn apply(&self, raw: &RawRecord) -> Result<(), StreamsError> {
        let error = |part, codec, source| StreamsError::Deserialization {
            topic: raw.topic.to_string(),
            partition: raw.partition,
            offset: raw.offset,
            part,
            codec,
            source,
        };
        // A global table drops null keys, as Kafka's `KTableSource`.
        if raw.key.is_none() {
            return Ok(());
        }
        let key = KC::decode(raw.key.as_deref()).map_err(|e| error(RecordPart::Key, KC::name(), e))?;
        match raw.value.as_deref() {
            None => self.store.delete(&key),
            Some(bytes) => {
                let value = VC::decode(Some(bytes)).map_err(|e| error(RecordPart::Value, VC::name(), e))?;
                self.store.put(key, value, raw.timestamp);
            }
        }
        Ok(())
    }
}

/// An instance's global stores and the updaters of their topics.
#[derive(Default, Clone)]
pub(crate) struct GlobalStores {
    pub(crate) stores: StoreRegistry,
    pub(crate) updaters: Vec<(String, Arc<dyn GlobalUpdater>)>,
    /// Records the tables dropped for their null key (the global task's dropped records).
    pub(crate) dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl GlobalStores {
    /// Applies a record if its topic feeds a global table.
    pub(crate) fn apply(&self, raw: &RawRecord) -> Result<bool, StreamsError> {
        let mut applied = false;
        for (topic, updater) in &self.updaters {
            if **topic == *raw.topic {
                if raw.key.is_none() {
                    self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                updater.apply(raw)?;
                applied = true;
            }
        }
        Ok(applied)
    }

    pub(crate) fn add<S: StateStore + 'static>(
        &mut self,
        topic: &str,
        name: &str,
        store: impl FnOnce() -> S,
        updater: impl FnOnce(Arc<S>) -> Arc<dyn GlobalUpdater>,
    ) {
        let store = self.stores.get_or_create(name, store);
        self.updaters.push((topic.to_string(), updater(store)));
    }
}

/// Joins each stream record with the global table's value under `key_of(key, value)`.
pub(crate) struct GlobalJoinProc<K, V, GK, GV, R> {
    pub(crate) store: Arc<KeyValueStore<GK, GV>>,
    pub(crate) nulls: LookupNulls<K, V, GK>,
    pub(crate) key_of: Arc<dyn Fn(&K, &V) -> GK + Send + Sync>,
    pub(crate) joiner: Arc<dyn Fn(V, Option<GV>) -> Option<R> + Send + Sync>,
    pub(crate) next: Box<dyn Processor<K, R>>,
}

impl<K: Send, V: Send, GK: StoreKey, GV: crate::record::Data, R: Send> Processor<K, V>
    for GlobalJoinProc<K, V, GK, GV, R>
{
    fn null_drops(&self) -> super::NullDrops {
        self.nulls.null_drops()
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        let join_key = (self.key_of)(&key, &value);
        if self.nulls.drops(ctx, &key, &value, &join_key) {
            return;
        }
        let found = if (self.nulls.join_key)(&join_key) { None } else { self.store.value(&join_key) };
        if let Some(joined) = (self.joiner)(value, found) {
            self.next.process(ctx, Record { key, value: joined, timestamp, headers });
        }
    }
}
