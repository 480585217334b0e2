//! State stores: typed key-value stores owned by tasks, recording their changes for the
//! changelog topic `<application.id>-<store>-changelog`.

pub(crate) mod persistent;
pub mod query;
pub(crate) mod resident;
pub mod session;
pub(crate) mod time_ordered;
pub mod versioned;
pub mod window;

use std::any::Any;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::codec::Codec;
use crate::error::{CodecError, RecordPart, StreamsError};
use crate::metrics::store::{Meter, StoreKind, StoreOp};
use crate::record::Data;

/// Encoded changelog entries: key bytes, value bytes (`None` deletes), timestamp.
pub(crate) type ChangelogBatch = Vec<(Option<Vec<u8>>, Option<Vec<u8>>, i64)>;

/// What a task needs of any store: its name, its changelog, restoring, and typed access.
pub(crate) trait StateStore: Any + Send + Sync {
    /// The store's name.
    fn name(&self) -> &str;
    /// Changes since the last call, encoded for the changelog (an error if a codec refuses
    /// a key or value).
    fn take_changelog(&self) -> Result<ChangelogBatch, StreamsError>;
    /// Applies one changelog record (restoration).
    fn restore(&self, key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64);
    /// Whether it has a changelog (a store built with logging disabled has none: it is
    /// neither written to one nor restored).
    fn logged(&self) -> bool {
        true
    }
    /// Answers an interactive query in the codecs' JSON form.
    fn query(&self, query: &query::StoreQuery) -> Result<serde_json::Value, query::QueryError> {
        Err(query::QueryError::unsupported("internal", query, "no queries"))
    }
    /// A key given as JSON, as the store's key codec writes it (`None`: null, or a store that
    /// answers no queries); it decides the key's partition.
    fn json_key_bytes(&self, _key: &serde_json::Value) -> Result<Option<Vec<u8>>, query::QueryError> {
        Ok(None)
    }
    /// Where its operations are measured, and what kind of store it is (`None`: a store
    /// Kafka does not meter, or not yet here).
    fn meter(&self) -> Option<(&Meter, StoreKind)> {
        None
    }
    /// The store on disk, for a persistent store (its checkpointed changelog offset).
    fn disk(&self) -> Option<&persistent::DiskStore> {
        None
    }
}

/// A store's codecs, as plain functions so that the store's type names only `K` and `V`
/// (the test driver and interactive queries find stores by those).
pub(crate) struct StoreCodecs<K, V> {
    pub(crate) encode_key: fn(&K) -> Result<Option<Vec<u8>>, CodecError>,
    pub(crate) encode_value: fn(&V) -> Result<Option<Vec<u8>>, CodecError>,
    /// The codecs' names, for errors.
    pub(crate) key_codec: fn() -> String,
    pub(crate) value_codec: fn() -> String,
    pub(crate) decode_key: fn(Option<&[u8]>) -> Option<K>,
    pub(crate) decode_value: fn(Option<&[u8]>) -> Option<V>,
    /// Whether a key is Kafka's null ([`Codec::is_null`]).
    pub(crate) key_is_null: fn(&K) -> bool,
    /// Whether a value is Kafka's null.
    pub(crate) value_is_null: fn(&V) -> bool,
    /// The JSON forms, for interactive queries.
    pub(crate) json: query::JsonCodecs<K, V>,
}

impl<K, V> StoreCodecs<K, V> {
    pub(crate) fn of<KC: Codec<Value = K>, VC: Codec<Value = V>>() -> Self {
        StoreCodecs {
            encode_key: KC::encode,
            encode_value: VC::encode,
            key_codec: KC::name,
            value_codec: VC::name,
            decode_key: |b| KC::decode(b).ok(),
            decode_value: |b| VC::decode(b).ok(),
            key_is_null: KC::is_null,
            value_is_null: VC::is_null,
            json: query::JsonCodecs::of::<KC, VC>(),
        }
    }
}

impl<K, V> StoreCodecs<K, V> {
    /// A key's changelog bytes (`None`: null), or an error naming the store.
    pub(crate) fn key(&self, store: &str, key: &K) -> Result<Option<Vec<u8>>, StreamsError> {
        (self.encode_key)(key).map_err(|e| changelog_error(store, RecordPart::Key, (self.key_codec)(), e))
    }

    /// The changelog bytes of a key given in the key codec's JSON form (interactive queries).
    pub(crate) fn json_key_bytes(
        &self,
        store: &str,
        key: &serde_json::Value,
    ) -> Result<Option<Vec<u8>>, query::QueryError> {
        let key = self.json.key(key)?;
        self.key(store, &key)
            .map_err(|e| query::QueryError::BadKey { codec: (self.json.key_codec)(), reason: e.to_string() })
    }

    /// A key's changelog bytes with null as empty (the prefix of a windowed key).
    pub(crate) fn key_bytes(&self, store: &str, key: &K) -> Result<Vec<u8>, StreamsError> {
        self.key(store, key).map(Option::unwrap_or_default)
    }

    /// A value's changelog bytes, or an error naming the store.
    pub(crate) fn value_bytes(&self, store: &str, value: &V) -> Result<Option<Vec<u8>>, StreamsError> {
        (self.encode_value)(value)
            .map_err(|e| changelog_error(store, RecordPart::Value, (self.value_codec)(), e))
    }

    /// A changelog record decoded for a restore: the key and its value (`None`: a deletion);
    /// `None`, logged naming `store`, if either cannot be decoded.
    pub(crate) fn changelog_record(
        &self,
        store: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Option<(K, Option<V>)> {
        let decoded = (self.decode_key)(key).and_then(|k| match value {
            None => Some((k, None)),
            Some(_) => (self.decode_value)(value).map(|v| (k, Some(v))),
        });
        if decoded.is_none() {
            tracing::warn!(store, "skipping a changelog record that cannot be decoded");
        }
        decoded
    }

    /// A key's bytes where they only order keys in memory (a key that cannot be encoded
    /// sorts first; writing it anywhere fails on its own).
    pub(crate) fn key_order(&self, key: &K) -> Option<Vec<u8>> {
        (self.encode_key)(key).ok().flatten()
    }
}

fn changelog_error(store: &str, part: RecordPart, codec: String, source: CodecError) -> StreamsError {
    StreamsError::Serialization { target: format!("the changelog of store `{store}`"), part, codec, source }
}

/// Keys a store can hold.
pub trait StoreKey: Data + Hash + Eq {}
impl<T: Data + Hash + Eq> StoreKey for T {}

pub(crate) type FxBuild = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;

struct Inner<K, V> {
    /// Every entry of an in-memory store; of a persistent one, the entries changed since the
    /// last commit and a bounded cache of decoded ones.
    map: hashbrown::HashMap<K, (V, i64), FxBuild>,
    /// Keys changed since the changelog was last written; their values are read then. A
    /// dirty key missing from `map` was deleted.
    dirty: hashbrown::HashSet<K, FxBuild>,
}

impl<K: StoreKey, V> Inner<K, V> {
    fn mark(&mut self, key: &K) {
        if !self.dirty.contains(key) {
            self.dirty.insert(key.clone());
        }
    }
}

/// A key-value store of typed values with their timestamps: in memory (Kafka's
/// `InMemoryKeyValueStore`), or persistent (Kafka's `RocksDBTimestampedStore`): on disk, with
/// the entries changed since the last commit and a bounded cache of decoded ones in memory.
pub struct KeyValueStore<K, V> {
    name: String,
    /// Whether changes are tracked for the changelog.
    logged: bool,
    inner: Mutex<Inner<K, V>>,
    codecs: StoreCodecs<K, V>,
    meter: Meter,
    /// A persistent store's disk, and how many clean entries its cache keeps.
    disk: Option<(persistent::DiskStore, usize)>,
}

impl<K: StoreKey, V: Data> KeyValueStore<K, V> {
    /// An empty store whose changelog is written with codecs `KC` and `VC`.
    pub(crate) fn new<KC: Codec<Value = K>, VC: Codec<Value = V>>(name: &str) -> Self {
        KeyValueStore {
            name: name.to_string(),
            logged: true,
            inner: Mutex::new(Inner {
                map: hashbrown::HashMap::default(),
                dirty: hashbrown::HashSet::default(),
            }),
            codecs: StoreCodecs::of::<KC, VC>(),
            meter: Meter::default(),
            disk: None,
        }
    }

    /// The same store without a changelog: no change is tracked, nothing is restored.
    pub(crate) fn unlogged(self) -> Self {
        KeyValueStore { logged: false, ..self }
    }

    /// The same store on `disk`, caching up to `cache` clean entries in memory.
    pub(crate) fn persistent(self, disk: persistent::DiskStore, cache: usize) -> Self {
        KeyValueStore { disk: Some((disk, cache)), ..self }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // A task uses its stores from one thread at a time; readers only copy values out.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store's contents under `key`, read into memory (from disk, for a persistent store
    /// whose memory does not have it).
    fn load(&self, key: &K) -> MutexGuard<'_, Inner<K, V>> {
        let mut inner = self.lock();
        if let Some((disk, _)) = &self.disk {
            let hit = inner.map.contains_key(key) || inner.dirty.contains(key);
            self.meter.cache_read(hit);
            if !hit {
                let stored = self.codecs.key_order(key).and_then(|k| disk.get(&k));
                if let Some(entry) = stored.and_then(|bytes| self.decode_entry(&bytes)) {
                    inner.map.insert(key.clone(), entry);
                }
            }
        }
        inner
    }

    /// A value as a persistent store keeps it: its timestamp, then the value codec's bytes.
    fn decode_entry(&self, bytes: &[u8]) -> Option<(V, i64)> {
        let (ts, value) = bytes.split_first_chunk::<8>()?;
        let value = (self.codecs.decode_value)(Some(value))?;
        Some((value, i64::from_be_bytes(*ts)))
    }

    /// Whether changes are tracked (for the changelog, or for the disk).
    fn tracked(&self) -> bool {
        self.logged || self.disk.is_some()
    }

    /// The value and timestamp under `key`.
    pub fn get(&self, key: &K) -> Option<(V, i64)> {
        let _m = self.meter.measure(StoreOp::Get);
        self.load(key).map.get(key).cloned()
    }

    /// The value under `key`.
    pub fn value(&self, key: &K) -> Option<V> {
        let _m = self.meter.measure(StoreOp::Get);
        self.load(key).map.get(key).map(|(v, _)| v.clone())
    }

    /// Takes the value out (for an update that consumes it); `put` or `delete` follows.
    pub(crate) fn take(&self, key: &K) -> Option<(V, i64)> {
        let _m = self.meter.measure(StoreOp::Get);
        self.load(key).map.remove(key)
    }

    /// Stores `value` under `key`.
    pub(crate) fn put(&self, key: K, value: V, timestamp: i64) {
        let _m = self.meter.measure(StoreOp::Put);
        let mut inner = self.lock();
        if self.tracked() {
            inner.mark(&key);
        }
        inner.map.insert(key, (value, timestamp));
    }

    /// Replaces the value under `key` with `f(old)` in one lookup; returns a copy of the
    /// new value and its timestamp. Metered as the get and the put Kafka's aggregations make.
    pub(crate) fn update(&self, key: &K, f: impl FnOnce(Option<(V, i64)>) -> (V, i64)) -> (V, i64) {
        let (_g, _p) = (self.meter.measure(StoreOp::Get), self.meter.measure(StoreOp::Put));
        let mut inner = self.load(key);
        if self.tracked() {
            inner.mark(key);
        }
        update_in_place(&mut inner.map, key, f).0
    }

    /// Removes `key`.
    pub(crate) fn delete(&self, key: &K) {
        let _m = self.meter.measure(StoreOp::Delete);
        let mut inner = self.lock();
        inner.map.remove(key);
        if self.tracked() {
            inner.mark(key);
        }
    }

    /// Every entry, in no particular order.
    pub fn all(&self) -> Vec<(K, V)> {
        let _m = self.meter.measure(StoreOp::All);
        let inner = self.lock();
        let mut all: Vec<(K, V)> = inner.map.iter().map(|(k, (v, _))| (k.clone(), v.clone())).collect();
        if let Some((disk, _)) = &self.disk {
            for (k, bytes) in disk.entries() {
                let Some(key) = (self.codecs.decode_key)(Some(&k)) else { continue };
                if inner.map.contains_key(&key) || inner.dirty.contains(&key) {
                    continue;
                }
                if let Some((value, _)) = self.decode_entry(&bytes) {
                    all.push((key, value));
                }
            }
        }
        all
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        match &self.disk {
            None => self.lock().map.len(),
            Some(_) => self.all().len(),
        }
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: StoreKey, V: Data> StateStore for KeyValueStore<K, V> {
    fn name(&self) -> &str {
        &self.name
    }

    fn logged(&self) -> bool {
        self.logged
    }

    fn take_changelog(&self) -> Result<ChangelogBatch, StreamsError> {
        let _m = self.meter.measure(StoreOp::Flush);
        let mut inner = self.lock();
        let dirty = std::mem::take(&mut inner.dirty);
        let codecs = &self.codecs;
        let batch: ChangelogBatch = dirty
            .into_iter()
            .map(|k| {
                let key = codecs.key(&self.name, &k)?;
                Ok(match inner.map.get(&k) {
                    Some((v, ts)) => (key, codecs.value_bytes(&self.name, v)?, *ts),
                    None => (key, None, 0),
                })
            })
            .collect::<Result<_, StreamsError>>()?;
        let Some((disk, cache)) = &self.disk else { return Ok(batch) };
        // Kafka's caching layer flushes into the store at every commit; so does this one.
        disk.write(batch.iter().filter_map(|(key, value, ts)| {
            Some((key.clone()?, value.as_ref().map(|v| stored_value(*ts, v))))
        }));
        if inner.map.len() > *cache {
            // Every entry is clean now: keep at most half the budget (any half: not LRU).
            let mut keep = cache / 2;
            inner.map.retain(|_, _| {
                keep = keep.saturating_sub(1);
                keep > 0
            });
        }
        Ok(if self.logged { batch } else { Vec::new() })
    }

    fn disk(&self) -> Option<&persistent::DiskStore> {
        self.disk.as_ref().map(|(disk, _)| disk)
    }

    fn restore(&self, key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) {
        if let Some((disk, _)) = &self.disk {
            // Straight to disk, as Kafka's RocksDB restore (memory holds nothing yet).
            if let Some(key) = key {
                disk.restore(key.to_vec(), value.map(|v| stored_value(timestamp, v)));
            }
            return;
        }
        let Some((k, v)) = self.codecs.changelog_record(&self.name, key, value) else { return };
        let mut inner = self.lock();
        match v {
            Some(v) => inner.map.insert(k, (v, timestamp)),
            None => inner.map.remove(&k),
        };
    }

    fn json_key_bytes(&self, key: &serde_json::Value) -> Result<Option<Vec<u8>>, query::QueryError> {
        self.codecs.json_key_bytes(&self.name, key)
    }

    fn meter(&self) -> Option<(&Meter, StoreKind)> {
        use crate::metrics::store::{KEY_VALUE, PERSISTENT_KEY_VALUE};
        Some((&self.meter, if self.disk.is_some() { PERSISTENT_KEY_VALUE } else { KEY_VALUE }))
    }

    fn query(&self, query: &query::StoreQuery) -> Result<serde_json::Value, query::QueryError> {
        use query::{QueryError, StoreQuery};
        let json = &self.codecs.json;
        match query {
            StoreQuery::Get { key } => {
                let key = json.key(key)?;
                self.value(&key).map(|v| (json.value_to_json)(&v)).ok_or(QueryError::NotFound)
            }
            StoreQuery::Range { .. } | StoreQuery::All => {
                query::key_value_answer(self.all(), query, &self.codecs, json)
            }
            StoreQuery::Fetch { .. } => {
                Err(QueryError::unsupported("key-value", query, "a key look-up, a range and all"))
            }
        }
    }
}

/// A value as a persistent store writes it (Kafka's timestamped format): the timestamp as 8
/// big-endian bytes, then the value's.
fn stored_value(timestamp: i64, value: &[u8]) -> Vec<u8> {
    let mut stored = Vec::with_capacity(8 + value.len());
    stored.extend_from_slice(&timestamp.to_be_bytes());
    stored.extend_from_slice(value);
    stored
}

/// Replaces `map[key]` with `f(old)` in one lookup (inserting when absent); returns a copy
/// of the new value and whether the key was new.
pub(crate) fn update_in_place<K: StoreKey, V: Clone>(
    map: &mut hashbrown::HashMap<K, V, FxBuild>,
    key: &K,
    f: impl FnOnce(Option<V>) -> V,
) -> (V, bool) {
    let mut f = Some(f);
    let mut result = None;
    if let hashbrown::hash_map::EntryRef::Occupied(entry) = map.entry_ref(key) {
        entry.replace_entry_with(|_, old| {
            let new = (f.take().expect("called once"))(Some(old));
            result = Some(new.clone());
            Some(new)
        });
    }
    match result {
        Some(r) => (r, false),
        None => {
            let new = (f.take().expect("not called yet"))(None);
            map.insert(key.clone(), new.clone());
            (new, true)
        }
    }
}

/// The stores of one task, by name.
#[derive(Default, Clone)]
pub(crate) struct StoreRegistry {
    stores: Vec<Arc<dyn StateStore>>,
}

impl StoreRegistry {
    /// The store `name`, created by `make` the first time.
    pub(crate) fn get_or_create<S: StateStore + 'static>(
        &mut self,
        name: &str,
        make: impl FnOnce() -> S,
    ) -> Arc<S> {
        if let Some(existing) = self.stores.iter().find(|s| s.name() == name) {
            let any: Arc<dyn StateStore> = existing.clone();
            return downcast_arc::<S>(any).expect("one store name, one store type");
        }
        let store = Arc::new(make());
        self.stores.push(store.clone());
        store
    }

    /// The store `name`, if this task has it and it is an `S`.
    pub(crate) fn find<S: StateStore + 'static>(&self, name: &str) -> Option<Arc<S>> {
        let store = self.stores.iter().find(|s| s.name() == name)?.clone();
        downcast_arc::<S>(store)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn StateStore>> {
        self.stores.iter()
    }

    /// The stores a restoration reads: those with a changelog, and those `from_source` says
    /// are restored from their table's source topic.
    pub(crate) fn restorable(&self, from_source: impl Fn(&str) -> bool) -> StoreRegistry {
        StoreRegistry {
            stores: self.stores.iter().filter(|s| s.logged() || from_source(s.name())).cloned().collect(),
        }
    }
}

fn downcast_arc<S: StateStore + 'static>(store: Arc<dyn StateStore>) -> Option<Arc<S>> {
    let any: Arc<dyn Any + Send + Sync> = store;
    any.downcast::<S>().ok()
}

/// How a store's changelog topic is configured, as Kafka's `InternalTopicConfig` kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangelogKind {
    /// A key-value store: compacted (`UnwindowedUnversionedChangelogTopicConfig`).
    KeyValue,
    /// A window or session store: compacted and deleted after the store's retention
    /// (`WindowedChangelogTopicConfig`).
    Windowed { retention_ms: i64 },
    /// A window store that keeps duplicates (a stream-stream join's buffer): deleted after
    /// its retention, never compacted (duplicates would be lost).
    WindowedDuplicates { retention_ms: i64 },
    /// A versioned key-value store: compacted no sooner than its history retention plus a
    /// day (`VersionedChangelogTopicConfig`).
    Versioned { history_retention_ms: i64 },
    /// A store built with logging disabled: no changelog topic.
    Disabled,
}
