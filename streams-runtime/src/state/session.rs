//! Session stores: per key, its sessions `[start, end]` and their aggregates. The changelog
//! key is Kafka's session layout `key ++ i64 BE end ++ i64 BE start`; a merged-away session
//! is deleted with a tombstone.

use std::sync::{Mutex, MutexGuard};

use super::resident::Resident;
use super::{ChangelogBatch, StateStore, StoreCodecs, StoreKey};
use crate::codec::Codec;
use crate::error::StreamsError;
use crate::metrics::store::{Meter, StoreKind, StoreOp};
use crate::record::Data;
use crate::windows::{SessionWindow, Windowed};

type FxBuild = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;

struct Inner<K, V> {
    /// Per key, sessions sorted by start: (window, aggregate, timestamp).
    sessions: hashbrown::HashMap<K, Vec<(SessionWindow, V, i64)>, FxBuild>,
    /// Changes since the last changelog write: `None` deletes.
    dirty: Vec<(K, SessionWindow, Option<(V, i64)>)>,
    /// The largest session end written or restored (Kafka's `observedStreamTime` of its
    /// in-memory session store).
    observed: i64,
    /// Keys by the end of each of their sessions, as Kafka's `InMemorySessionStore` indexes
    /// its sessions by end time: expiry visits only the keys with a session ending before the
    /// limit. One entry per stored session (a merged or removed session leaves it).
    by_end: std::collections::BTreeMap<i64, Vec<K>>,
    /// With the record cache on: the sessions the cache holds, found even after they expire.
    resident: Option<Resident<(K, SessionWindow)>>,
}

impl<K: StoreKey, V> Inner<K, V> {
    fn index(&mut self, key: &K, end: i64) {
        self.by_end.entry(end).or_default().push(key.clone());
    }

    /// Drops one session (its index entry, if any, is the caller's).
    fn drop_session(&mut self, key: &K, window: SessionWindow) {
        if let Some(list) = self.sessions.get_mut(key) {
            list.retain(|(w, _, _)| *w != window);
            if list.is_empty() {
                self.sessions.remove(key);
            }
        }
    }

    /// A session was written: resident now, and the expired sessions evicted go.
    fn written(&mut self, key: &K, window: SessionWindow) {
        let Some(resident) = &mut self.resident else { return };
        for (k, w) in resident.written(&(key.clone(), window)) {
            self.drop_session(&k, w);
        }
    }

    /// A session was deleted.
    fn deleted(&mut self, key: &K, window: SessionWindow) {
        if let Some(resident) = &mut self.resident {
            resident.deleted(&(key.clone(), window));
        }
    }

    fn unindex(&mut self, key: &K, end: i64) {
        if let std::collections::btree_map::Entry::Occupied(mut e) = self.by_end.entry(end) {
            if let Some(at) = e.get().iter().position(|k| k == key) {
                e.get_mut().swap_remove(at);
            }
            if e.get().is_empty() {
                e.remove();
            }
        }
    }
}

/// An in-memory session store.
pub struct SessionStore<K, V> {
    name: String,
    inner: Mutex<Inner<K, V>>,
    codecs: StoreCodecs<K, V>,
    meter: Meter,
    /// Whether it has a changelog (a Processor API store may be built without).
    logged: bool,
}

impl<K: StoreKey, V: Data> SessionStore<K, V> {
    /// The same store without a changelog: nothing written, nothing restored.
    pub(crate) fn unlogged(self) -> Self {
        SessionStore { logged: false, ..self }
    }

    pub(crate) fn new<KC: Codec<Value = K>, VC: Codec<Value = V>>(name: &str) -> Self {
        SessionStore {
            name: name.to_string(),
            inner: Mutex::new(Inner {
                sessions: Default::default(),
                dirty: Vec::new(),
                observed: i64::MIN,
                by_end: Default::default(),
                resident: None,
            }),
            codecs: StoreCodecs::of::<KC, VC>(),
            meter: Meter::default(),
            logged: true,
        }
    }

    /// The same store behind Kafka's caching layer, whose cache holds up to `capacity`
    /// sessions: those it holds are found after they expire (see [`Resident`]).
    pub(crate) fn cached(self, capacity: usize) -> Self {
        self.lock().resident = Some(Resident::new(capacity));
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Removes and returns the sessions of `key` that overlap `[from, to]`.
    /// Metered as the fetch of Kafka's `findSessions`, and a remove per session taken.
    pub(crate) fn take_overlapping(&self, key: &K, from: i64, to: i64) -> Vec<(SessionWindow, V, i64)> {
        let _m = self.meter.measure(StoreOp::Fetch);
        let mut inner = self.lock();
        let Some(list) = inner.sessions.get_mut(key) else { return Vec::new() };
        let (taken, kept): (Vec<_>, Vec<_>) =
            list.drain(..).partition(|(w, _, _)| w.end >= from && w.start <= to);
        *list = kept;
        for (w, _, _) in &taken {
            let _r = self.meter.measure(StoreOp::Remove);
            inner.dirty.push((key.clone(), *w, None));
            inner.unindex(key, w.end);
            inner.deleted(key, *w);
        }
        taken
    }

    pub(crate) fn put(&self, key: K, window: SessionWindow, value: V, timestamp: i64) {
        let _m = self.meter.measure(StoreOp::Put);
        let mut inner = self.lock();
        inner.observed = inner.observed.max(window.end);
        inner.dirty.push((key.clone(), window, Some((value.clone(), timestamp))));
        // One entry per session: a put replaces it (and its index entry stays).
        let replaced = inner.sessions.get_mut(&key).is_some_and(|list| {
            let before = list.len();
            list.retain(|(w, _, _)| *w != window);
            list.len() != before
        });
        if !replaced {
            inner.index(&key, window.end);
        }
        inner.written(&key, window);
        let list = inner.sessions.entry(key).or_default();
        let at = list.partition_point(|(w, _, _)| w.start < window.start);
        list.insert(at, (window, value, timestamp));
    }

    /// The largest session end written or restored so far (`i64::MIN` before any).
    pub(crate) fn observed(&self) -> i64 {
        self.lock().observed
    }

    /// Removes one session of `key`.
    pub(crate) fn remove(&self, key: &K, window: SessionWindow) {
        let _m = self.meter.measure(StoreOp::Remove);
        let mut inner = self.lock();
        let found = inner.sessions.get_mut(key).is_some_and(|list| {
            let before = list.len();
            list.retain(|(w, _, _)| *w != window);
            list.len() != before
        });
        if found {
            inner.dirty.push((key.clone(), window, None));
            inner.unindex(key, window.end);
            inner.deleted(key, window);
        }
    }

    /// The sessions of `key` ending at `earliest_end` or later and starting at `latest_start`
    /// or earlier, by end then start (Kafka's `findSessions`).
    pub(crate) fn find(&self, key: &K, earliest_end: i64, latest_start: i64) -> Vec<(SessionWindow, V)> {
        let _m = self.meter.measure(StoreOp::Fetch);
        let inner = self.lock();
        let mut found: Vec<(SessionWindow, V)> = inner
            .sessions
            .get(key)
            .into_iter()
            .flatten()
            .filter(|(w, _, _)| w.end >= earliest_end && w.start <= latest_start)
            .map(|(w, v, _)| (*w, v.clone()))
            .collect();
        found.sort_by_key(|(w, _)| (w.end, w.start));
        found
    }

    /// The aggregate and timestamp of one session of `key`.
    pub(crate) fn fetch_session(&self, key: &K, window: SessionWindow) -> Option<(V, i64)> {
        let _m = self.meter.measure(StoreOp::Fetch);
        let inner = self.lock();
        inner.sessions.get(key)?.iter().find(|(w, _, _)| *w == window).map(|(_, v, ts)| (v.clone(), *ts))
    }

    /// Drops sessions that ended before `end`.
    pub(crate) fn expire_before(&self, end: i64) {
        let mut inner = self.lock();
        if inner.by_end.first_key_value().is_none_or(|(first, _)| *first >= end) {
            return;
        }
        let live = inner.by_end.split_off(&end);
        let expired = std::mem::replace(&mut inner.by_end, live);
        let Inner { sessions, resident, .. } = &mut *inner;
        for key in expired.into_values().flatten() {
            if let Some(list) = sessions.get_mut(&key) {
                // Resident sessions stay (unindexed) until the cache evicts them.
                list.retain(|(w, _, _)| {
                    w.end >= end || resident.as_mut().is_some_and(|r| r.keeps_expired(&(key.clone(), *w)))
                });
                if list.is_empty() {
                    sessions.remove(&key);
                }
            }
        }
    }

    /// Every session with its key and aggregate.
    pub fn all(&self) -> Vec<(Windowed<K, SessionWindow>, V)> {
        let inner = self.lock();
        let mut out: Vec<_> = inner
            .sessions
            .iter()
            .flat_map(|(k, list)| {
                list.iter().map(move |(w, v, _)| (Windowed { key: k.clone(), window: *w }, v.clone()))
            })
            .collect();
        out.sort_by_key(|(w, _)| w.window);
        out
    }
}

impl<K: StoreKey, V: Data> StateStore for SessionStore<K, V> {
    fn name(&self) -> &str {
        &self.name
    }

    fn meter(&self) -> Option<(&Meter, StoreKind)> {
        Some((&self.meter, crate::metrics::store::SESSION))
    }

    fn logged(&self) -> bool {
        self.logged
    }

    fn take_changelog(&self) -> Result<ChangelogBatch, StreamsError> {
        let _m = self.meter.measure(StoreOp::Flush);
        let dirty = std::mem::take(&mut self.lock().dirty);
        if !self.logged {
            return Ok(Vec::new());
        }
        dirty
            .into_iter()
            .map(|(k, w, v)| {
                let mut key = self.codecs.key_bytes(&self.name, &k)?;
                key.extend_from_slice(&w.end.to_be_bytes());
                key.extend_from_slice(&w.start.to_be_bytes());
                Ok(match v {
                    Some((v, ts)) => (Some(key), self.codecs.value_bytes(&self.name, &v)?, ts),
                    None => (Some(key), None, w.end),
                })
            })
            .collect()
    }

    fn restore(&self, key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) {
        let Some(bytes) = key.filter(|k| k.len() >= 16) else { return };
        let (k, rest) = bytes.split_at(bytes.len() - 16);
        let end = i64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
        let start = i64::from_be_bytes(rest[8..].try_into().expect("8 bytes"));
        let Some(k) = (self.codecs.decode_key)(Some(k)) else { return };
        let window = SessionWindow { start, end };
        let mut inner = self.lock();
        inner.observed = inner.observed.max(end);
        let had = inner.sessions.get_mut(&k).is_some_and(|list| {
            let before = list.len();
            list.retain(|(w, _, _)| *w != window);
            list.len() != before
        });
        if had {
            inner.unindex(&k, end);
        }
        if let Some(v) = (self.codecs.decode_value)(value) {
            inner.index(&k, end);
            let list = inner.sessions.entry(k).or_default();
            let at = list.partition_point(|(w, _, _)| w.start < window.start);
            list.insert(at, (window, v, timestamp));
        }
    }

    fn json_key_bytes(&self, key: &serde_json::Value) -> Result<Option<Vec<u8>>, super::query::QueryError> {
        self.codecs.json_key_bytes(&self.name, key)
    }

    fn query(&self, query: &super::query::StoreQuery) -> Result<serde_json::Value, super::query::QueryError> {
        use super::query::{QueryError, StoreQuery};
        use serde_json::json;
        let json = &self.codecs.json;
        let row = |key: &K, w: &SessionWindow, v: &V| json!({"key": (json.key_to_json)(key), "start": w.start, "end": w.end, "value": (json.value_to_json)(v)});
        match query {
            // Kafka's `findSessions(key, earliestSessionEndTime, latestSessionStartTime)`.
            StoreQuery::Fetch { key, from, to } => {
                let key = json.key(key)?;
                let inner = self.lock();
                let list = inner.sessions.get(&key).map(Vec::as_slice).unwrap_or_default();
                Ok(list
                    .iter()
                    .filter(|(w, _, _)| w.end >= *from && w.start <= *to)
                    .map(|(w, v, _)| row(&key, w, v))
                    .collect())
            }
            StoreQuery::All => Ok(self.all().iter().map(|(w, v)| row(&w.key, &w.window, v)).collect()),
            StoreQuery::Get { .. } | StoreQuery::Range { .. } => Err(QueryError::unsupported(
                "session",
                query,
                "a fetch of a key's sessions (key, from, to) and all",
            )),
        }
    }
}
