//! A versioned key-value store (KIP-889): every value a key had over the last `history
//! retention` of stream time, each valid from its timestamp until the next one's, so a lookup
//! can ask for a key's value *as of* a time (Kafka's `VersionedKeyValueStore`, whose one
//! implementation is `RocksDBVersionedStore`).
//!
//! The store's stream time is the largest timestamp it was given. A write older than stream
//! time minus the history retention is refused ([`Put::NotPut`]); a look-up as of such a time
//! answers only the latest value, and only if it is older than that time. Versions that stopped
//! being valid before that horizon are dropped as their key is written. Kept in memory and
//! restored from its changelog, one changelog record per write with the write's timestamp (the
//! value's bytes as its codec writes them, not Kafka's timestamped layout).

use std::sync::{Mutex, MutexGuard};

use super::{query, ChangelogBatch, StateStore, StoreCodecs, StoreKey};
use crate::codec::Codec;
use crate::error::StreamsError;
use crate::record::Data;

/// What a write did (Kafka's `put` return codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// Older than the history the store keeps: not written (`PUT_RETURN_CODE_NOT_PUT`).
    NotPut,
    /// The key's latest version now (`PUT_RETURN_CODE_VALID_TO_UNDEFINED`).
    Latest,
    /// A version older than the key's latest, valid until the next one's timestamp.
    Historical,
}

/// One key's versions, oldest first: each timestamp with its value (`None`: deleted then).
type Versions<V> = Vec<(i64, Option<V>)>;

struct Inner<K, V> {
    keys: hashbrown::HashMap<K, Versions<V>, super::FxBuild>,
    /// The largest timestamp written (Kafka's `observedStreamTime`).
    stream_time: i64,
    /// Writes since the changelog was last taken, in order.
    pending: Vec<(K, Option<V>, i64)>,
}

/// A key-value store keeping each key's values over time (Kafka's versioned store).
pub struct VersionedKeyValueStore<K, V> {
    name: String,
    /// Whether writes go to a changelog.
    logged: bool,
    history_retention_ms: i64,
    inner: Mutex<Inner<K, V>>,
    codecs: StoreCodecs<K, V>,
}

impl<K: StoreKey, V: Data> VersionedKeyValueStore<K, V> {
    /// An empty store keeping `history_retention_ms` of history, changelogged with `KC`/`VC`.
    pub(crate) fn new<KC: Codec<Value = K>, VC: Codec<Value = V>>(
        name: &str,
        history_retention_ms: i64,
    ) -> Self {
        VersionedKeyValueStore {
            name: name.to_string(),
            logged: true,
            history_retention_ms,
            inner: Mutex::new(Inner {
                keys: hashbrown::HashMap::default(),
                stream_time: i64::MIN,
                pending: Vec::new(),
            }),
            codecs: StoreCodecs::of::<KC, VC>(),
        }
    }

    /// The same store without a changelog: no write is tracked, nothing is restored.
    pub(crate) fn unlogged(self) -> Self {
        VersionedKeyValueStore { logged: false, ..self }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The oldest time the store answers for: stream time minus the history retention.
    fn horizon(&self, stream_time: i64) -> i64 {
        stream_time.saturating_sub(self.history_retention_ms)
    }

    /// Writes `value` (`None`: a deletion) for `key` as of `timestamp` (Kafka's
    /// `RocksDBVersionedStore.put`): refused if older than the history kept; a write at the
    /// timestamp of an existing version replaces it.
    pub(crate) fn put(&self, key: K, value: Option<V>, timestamp: i64) -> Put {
        let mut inner = self.lock();
        // The changelog keeps its own copy only when there is a changelog.
        let logged = self.logged.then(|| (key.clone(), value.clone()));
        let put = Self::write(&mut inner, self.history_retention_ms, key, value, timestamp);
        if let (Some((key, value)), true) = (logged, put != Put::NotPut) {
            inner.pending.push((key, value, timestamp));
        }
        put
    }

    fn write(inner: &mut Inner<K, V>, retention: i64, key: K, value: Option<V>, timestamp: i64) -> Put {
        if timestamp < inner.stream_time.saturating_sub(retention) {
            tracing::debug!("skipping a write older than the versioned store's history");
            return Put::NotPut;
        }
        inner.stream_time = inner.stream_time.max(timestamp);
        let horizon = inner.stream_time.saturating_sub(retention);
        let versions = inner.keys.entry(key).or_default();
        let at = versions.partition_point(|(t, _)| *t < timestamp);
        match versions.get_mut(at) {
            Some((t, v)) if *t == timestamp => *v = value,
            _ => versions.insert(at, (timestamp, value)),
        }
        // The latest version now: appended, or replacing the latest one.
        let latest = at + 1 == versions.len();
        // Versions valid only before the horizon (the next one starts at or before it) go.
        let expired = versions.windows(2).take_while(|w| w[1].0 <= horizon).count();
        versions.drain(..expired);
        if latest {
            Put::Latest
        } else {
            Put::Historical
        }
    }

    /// The key's latest value and its timestamp (`None` if it has none or was deleted last).
    pub fn get(&self, key: &K) -> Option<(V, i64)> {
        let inner = self.lock();
        let (t, v) = inner.keys.get(key)?.last()?;
        v.clone().map(|v| (v, *t))
    }

    /// The key's value as of `as_of`: the version with the largest timestamp not after it
    /// (Kafka's `get(key, asOfTimestamp)`). Before the history kept, only the latest version
    /// answers, and only if it is not after `as_of`.
    pub fn get_as_of(&self, key: &K, as_of: i64) -> Option<(V, i64)> {
        let inner = self.lock();
        let versions = inner.keys.get(key)?;
        if as_of < self.horizon(inner.stream_time) {
            let (t, v) = versions.last()?;
            return if *t <= as_of { v.clone().map(|v| (v, *t)) } else { None };
        }
        let at = versions.partition_point(|(t, _)| *t <= as_of);
        let (t, v) = versions.get(at.checked_sub(1)?)?;
        v.clone().map(|v| (v, *t))
    }

    /// Every key's latest value, in no particular order.
    pub fn all(&self) -> Vec<(K, V)> {
        let inner = self.lock();
        inner
            .keys
            .iter()
            .filter_map(|(k, versions)| versions.last()?.1.clone().map(|v| (k.clone(), v)))
            .collect()
    }
}

impl<K: StoreKey, V: Data> StateStore for VersionedKeyValueStore<K, V> {
    fn name(&self) -> &str {
        &self.name
    }

    fn logged(&self) -> bool {
        self.logged
    }

    fn take_changelog(&self) -> Result<ChangelogBatch, StreamsError> {
        let pending = std::mem::take(&mut self.lock().pending);
        pending
            .into_iter()
            .map(|(k, v, ts)| {
                let value = match &v {
                    Some(v) => self.codecs.value_bytes(&self.name, v)?,
                    None => None,
                };
                Ok((self.codecs.key(&self.name, &k)?, value, ts))
            })
            .collect()
    }

    fn restore(&self, key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) {
        let Some((k, v)) = self.codecs.changelog_record(&self.name, key, value) else { return };
        Self::write(&mut self.lock(), self.history_retention_ms, k, v, timestamp);
    }

    fn json_key_bytes(&self, key: &serde_json::Value) -> Result<Option<Vec<u8>>, query::QueryError> {
        self.codecs.json_key_bytes(&self.name, key)
    }

    fn query(&self, query: &query::StoreQuery) -> Result<serde_json::Value, query::QueryError> {
        use query::{QueryError, StoreQuery};
        let json = &self.codecs.json;
        match query {
            StoreQuery::Get { key } => {
                let key = json.key(key)?;
                self.get(&key).map(|(v, _)| (json.value_to_json)(&v)).ok_or(QueryError::NotFound)
            }
            StoreQuery::Range { .. } | StoreQuery::All => {
                query::key_value_answer(self.all(), query, &self.codecs, json)
            }
            StoreQuery::Fetch { .. } => Err(QueryError::unsupported(
                "versioned key-value",
                query,
                "a key look-up (its latest value), a range and all",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> VersionedKeyValueStore<String, i64> {
        VersionedKeyValueStore::new::<String, i64>("v", 100)
    }

    #[test]
    fn a_lookup_as_of_a_time_finds_the_version_valid_then() {
        let s = store();
        let k = || "k".to_string();
        assert_eq!(s.put(k(), Some(1), 10), Put::Latest);
        assert_eq!(s.put(k(), Some(3), 30), Put::Latest);
        assert_eq!(s.put(k(), Some(2), 20), Put::Historical);
        assert_eq!(s.put(k(), None, 25), Put::Historical);
        assert_eq!(s.get_as_of(&k(), 9), None);
        assert_eq!(s.get_as_of(&k(), 10), Some((1, 10)));
        assert_eq!(s.get_as_of(&k(), 24), Some((2, 20)));
        assert_eq!(s.get_as_of(&k(), 27), None, "deleted at 25");
        assert_eq!(s.get_as_of(&k(), 1_000), Some((3, 30)));
        assert_eq!(s.get(&k()), Some((3, 30)));
        // The same timestamp replaces its version.
        assert_eq!(s.put(k(), Some(4), 30), Put::Latest);
        assert_eq!(s.get(&k()), Some((4, 30)));
    }

    #[test]
    fn history_older_than_the_retention_is_neither_written_nor_answered() {
        let s = store();
        let k = || "k".to_string();
        s.put(k(), Some(1), 10);
        s.put(k(), Some(2), 50);
        s.put("other".to_string(), Some(9), 200); // stream time 200: the horizon is 100
        assert_eq!(s.put(k(), Some(0), 99), Put::NotPut);
        assert_eq!(s.get_as_of(&k(), 60), Some((2, 50)), "the latest version never expires");
        assert_eq!(s.put(k(), Some(3), 150), Put::Latest);
        assert_eq!(s.get_as_of(&k(), 99), None, "before the horizon and before the latest");
        assert_eq!(s.get_as_of(&k(), 120), Some((2, 50)), "valid at the horizon: kept");
        let changelog = s.take_changelog().unwrap();
        assert_eq!(changelog.len(), 4, "one record per write that was written");
        assert_eq!(changelog[3].2, 150);
    }

    #[test]
    fn a_restore_replays_every_version() {
        let s = store();
        for (v, ts) in [(1, 10), (3, 30), (2, 20)] {
            s.put("k".to_string(), Some(v), ts);
        }
        let restored = store();
        for (k, v, ts) in s.take_changelog().unwrap() {
            restored.restore(k.as_deref(), v.as_deref(), ts);
        }
        assert_eq!(restored.get_as_of(&"k".to_string(), 25), Some((2, 20)));
        assert_eq!(restored.get(&"k".to_string()), Some((3, 30)));
        assert!(restored.take_changelog().unwrap().is_empty(), "a restore writes no changelog");
    }
}
