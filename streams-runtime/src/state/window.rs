//! Window stores: aggregates per key and window start, expired once older than the
//! retention (window size + grace). The changelog key is Kafka's window-store layout,
//! `key ++ i64 BE window start ++ i32 BE sequence number (0)`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::resident::Resident;
use super::{update_in_place, ChangelogBatch, FxBuild, StateStore, StoreCodecs, StoreKey};
use crate::codec::Codec;
use crate::error::StreamsError;
use crate::metrics::store::{Meter, StoreKind, StoreOp};
use crate::record::Data;
use crate::windows::{Window, Windowed};

/// One window start: keys in the order they first arrived, their values, and the keys
/// changed since the changelog was last written (they expire with the window).
struct Slot<K, V> {
    order: Vec<K>,
    values: hashbrown::HashMap<K, (V, i64), FxBuild>,
    dirty: hashbrown::HashSet<K, FxBuild>,
}

impl<K: StoreKey, V> Slot<K, V> {
    fn new() -> Self {
        Slot { order: Vec::new(), values: Default::default(), dirty: Default::default() }
    }

    fn mark(&mut self, key: &K) {
        if !self.dirty.contains(key) {
            self.dirty.insert(key.clone());
        }
    }
}

struct Inner<K, V> {
    slots: BTreeMap<i64, Slot<K, V>>,
    /// With the record cache on: the windows the cache holds, kept after they expire.
    resident: Option<Resident<(K, i64)>>,
    /// Windows starting before this have been expired (those kept are resident).
    expired_to: i64,
}

impl<K: StoreKey, V> Inner<K, V> {
    /// `key`'s window `start` was written: resident now, and the expired windows evicted go.
    fn written(&mut self, key: &K, start: i64) {
        let Some(resident) = &mut self.resident else { return };
        for (k, s) in resident.written(&(key.clone(), start)) {
            if let Some(slot) = self.slots.get_mut(&s) {
                slot.values.remove(&k);
                slot.order.retain(|o| *o != k);
                slot.dirty.remove(&k);
                if slot.values.is_empty() && slot.dirty.is_empty() {
                    self.slots.remove(&s);
                }
            }
        }
    }
}

/// An in-memory window store.
pub struct WindowStore<K, V> {
    name: String,
    size: i64,
    /// The largest window start put (Kafka's `observedStreamTime` of an in-memory window
    /// store), for the Processor API's retention.
    max_start: std::sync::atomic::AtomicI64,
    inner: Mutex<Inner<K, V>>,
    codecs: StoreCodecs<K, V>,
    meter: Meter,
    /// Whether it has a changelog (a Processor API store may be built without).
    logged: bool,
}

impl<K: StoreKey, V: Data> WindowStore<K, V> {
    /// The same store without a changelog: nothing written, nothing restored.
    pub(crate) fn unlogged(self) -> Self {
        WindowStore { logged: false, ..self }
    }

    pub(crate) fn new<KC: Codec<Value = K>, VC: Codec<Value = V>>(name: &str, size: i64) -> Self {
        WindowStore {
            name: name.to_string(),
            size,
            max_start: std::sync::atomic::AtomicI64::new(i64::MIN),
            inner: Mutex::new(Inner { slots: BTreeMap::new(), resident: None, expired_to: i64::MIN }),
            codecs: StoreCodecs::of::<KC, VC>(),
            meter: Meter::default(),
            logged: true,
        }
    }

    /// The same store behind Kafka's caching layer, whose cache holds up to `capacity`
    /// windows: those it holds are kept after they expire (see [`Resident`]).
    pub(crate) fn cache(&self, capacity: usize) {
        let mut inner = self.lock();
        if inner.resident.is_none() {
            inner.resident = Some(Resident::new(capacity));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value and timestamp of `key` in the window starting at `start`.
    pub fn get(&self, key: &K, start: i64) -> Option<(V, i64)> {
        let _m = self.meter.measure(StoreOp::Fetch);
        self.lock().slots.get(&start).and_then(|s| s.values.get(key)).cloned()
    }

    pub(crate) fn put(&self, key: K, start: i64, value: V, timestamp: i64) {
        let _m = self.meter.measure(StoreOp::Put);
        self.lock().written(&key, start);
        self.put_beneath(key, start, value, timestamp);
    }

    /// A put that bypasses the cache (restoration).
    fn put_beneath(&self, key: K, start: i64, value: V, timestamp: i64) {
        self.max_start.fetch_max(start, std::sync::atomic::Ordering::Relaxed);
        let mut inner = self.lock();
        let slot = inner.slots.entry(start).or_insert_with(Slot::new);
        slot.mark(&key);
        if !slot.values.contains_key(&key) {
            slot.order.push(key.clone());
        }
        slot.values.insert(key, (value, timestamp));
    }

    /// Replaces the value of `key` in window `start` with `f(old)` in one lookup; returns a
    /// copy of the new value and timestamp.
    pub(crate) fn update(
        &self,
        key: &K,
        start: i64,
        f: impl FnOnce(Option<(V, i64)>) -> (V, i64),
    ) -> (V, i64) {
        // Metered as the fetch and the put of Kafka's windowed aggregations.
        let (_f, _p) = (self.meter.measure(StoreOp::Fetch), self.meter.measure(StoreOp::Put));
        let mut inner = self.lock();
        inner.written(key, start);
        let slot = inner.slots.entry(start).or_insert_with(Slot::new);
        slot.mark(key);
        let (new, inserted) = update_in_place(&mut slot.values, key, f);
        if inserted {
            slot.order.push(key.clone());
        }
        new
    }

    /// The windows of `key` with `from <= start <= to`, by start: (start, value, timestamp).
    pub(crate) fn fetch(&self, key: &K, from: i64, to: i64) -> Vec<(i64, V, i64)> {
        if from > to {
            return Vec::new();
        }
        let _m = self.meter.measure(StoreOp::Fetch);
        let inner = self.lock();
        inner
            .slots
            .range(from..=to)
            .filter_map(|(&start, slot)| slot.values.get(key).map(|(v, ts)| (start, v.clone(), *ts)))
            .collect()
    }

    /// The largest window start put so far (`i64::MIN`: none).
    pub(crate) fn max_start(&self) -> i64 {
        self.max_start.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Removes `key` from window `start` (written to the changelog as a tombstone).
    pub(crate) fn delete(&self, key: &K, start: i64) {
        let _m = self.meter.measure(StoreOp::Put);
        self.max_start.fetch_max(start, std::sync::atomic::Ordering::Relaxed);
        let mut inner = self.lock();
        if let Some(resident) = &mut inner.resident {
            resident.deleted(&(key.clone(), start));
        }
        if let Some(slot) = inner.slots.get_mut(&start) {
            if slot.values.remove(key).is_some() {
                slot.order.retain(|k| k != key);
                slot.mark(key);
            }
        }
    }

    /// Drops windows starting before `start` (but those the cache holds, if cached).
    pub(crate) fn expire_before(&self, start: i64) {
        let mut inner = self.lock();
        if inner.resident.is_some() {
            let from = inner.expired_to;
            if start <= from {
                return;
            }
            inner.expired_to = start;
            let Inner { slots, resident, .. } = &mut *inner;
            let resident = resident.as_mut().expect("checked above");
            let starts: Vec<i64> = slots.range(from..start).map(|(s, _)| *s).collect();
            for s in starts {
                let slot = slots.get_mut(&s).expect("listed above");
                slot.order.retain(|k| resident.keeps_expired(&(k.clone(), s)));
                {
                    let kept: hashbrown::HashSet<&K, FxBuild> = slot.order.iter().collect();
                    slot.values.retain(|k, _| kept.contains(k));
                }
                if slot.values.is_empty() {
                    slots.remove(&s);
                }
            }
            return;
        }
        while let Some(entry) = inner.slots.first_entry() {
            if *entry.key() >= start {
                break;
            }
            entry.remove();
        }
    }

    /// Every window with its key and value, by window start then arrival.
    pub fn all(&self) -> Vec<(Windowed<K>, V)> {
        self.windows_between(i64::MIN, i64::MAX).into_iter().map(|(w, v, _)| (w, v)).collect()
    }

    /// Windows with `from <= start < to`, by start then arrival, with their timestamps.
    pub(crate) fn windows_between(&self, from: i64, to: i64) -> Vec<(Windowed<K>, V, i64)> {
        let inner = self.lock();
        let mut out = Vec::new();
        if from >= to {
            return out;
        }
        for (&start, slot) in inner.slots.range(from..to) {
            let window = Window { start, end: start.saturating_add(self.size) };
            for key in &slot.order {
                if let Some((v, ts)) = slot.values.get(key) {
                    out.push((Windowed { key: key.clone(), window }, v.clone(), *ts));
                }
            }
        }
        out
    }

    /// Windows with `from <= start < to`, by start then by the key's bytes: the order of
    /// Kafka's window-store `fetchAll`, in which `KStreamWindowAggregate` emits closed windows
    /// (and `suppress(untilWindowCloses)` releases them, by window end then key bytes).
    pub(crate) fn windows_between_in_key_order(&self, from: i64, to: i64) -> Vec<(Windowed<K>, V, i64)> {
        let mut out: Vec<_> = self
            .windows_between(from, to)
            .into_iter()
            .map(|(w, v, ts)| ((w.window.start, self.codecs.key_order(&w.key)), (w, v, ts)))
            .collect();
        out.sort_by(|(a, _), (b, _)| a.cmp(b));
        out.into_iter().map(|(_, w)| w).collect()
    }
}

impl<K: StoreKey, V: Data> StateStore for WindowStore<K, V> {
    fn name(&self) -> &str {
        &self.name
    }

    fn meter(&self) -> Option<(&Meter, StoreKind)> {
        Some((&self.meter, crate::metrics::store::WINDOW))
    }

    fn logged(&self) -> bool {
        self.logged
    }

    fn take_changelog(&self) -> Result<ChangelogBatch, StreamsError> {
        let _m = self.meter.measure(StoreOp::Flush);
        let mut inner = self.lock();
        if !self.logged {
            inner.slots.values_mut().for_each(|slot| slot.dirty.clear());
            return Ok(Vec::new());
        }
        let mut batch = Vec::new();
        for (&start, slot) in inner.slots.iter_mut() {
            for k in std::mem::take(&mut slot.dirty) {
                let mut key = self.codecs.key_bytes(&self.name, &k)?;
                key.extend_from_slice(&start.to_be_bytes());
                key.extend_from_slice(&0i32.to_be_bytes());
                match slot.values.get(&k) {
                    Some((v, ts)) => batch.push((Some(key), self.codecs.value_bytes(&self.name, v)?, *ts)),
                    // Deleted (`delete`): a tombstone.
                    None => batch.push((Some(key), None, start)),
                }
            }
        }
        Ok(batch)
    }

    fn restore(&self, key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) {
        let Some(bytes) = key.filter(|k| k.len() >= 12) else { return };
        let (k, rest) = bytes.split_at(bytes.len() - 12);
        let start = i64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
        match ((self.codecs.decode_key)(Some(k)), (self.codecs.decode_value)(value)) {
            (Some(k), _) if value.is_none() => {
                self.delete(&k, start);
                if let Some(slot) = self.lock().slots.get_mut(&start) {
                    slot.dirty.remove(&k);
                }
            }
            (Some(k), Some(v)) => {
                self.put_beneath(k.clone(), start, v, timestamp);
                if let Some(slot) = self.lock().slots.get_mut(&start) {
                    slot.dirty.remove(&k);
                }
            }
            _ => tracing::warn!(store = %self.name, "skipping a changelog record that cannot be decoded"),
        }
    }

    fn json_key_bytes(&self, key: &serde_json::Value) -> Result<Option<Vec<u8>>, super::query::QueryError> {
        self.codecs.json_key_bytes(&self.name, key)
    }

    fn query(&self, query: &super::query::StoreQuery) -> Result<serde_json::Value, super::query::QueryError> {
        use super::query::{QueryError, StoreQuery};
        use serde_json::json;
        let json = &self.codecs.json;
        match query {
            StoreQuery::Fetch { key, from, to } => {
                let key = json.key(key)?;
                let windows = self.fetch(&key, *from, *to);
                Ok(windows
                    .iter()
                    .map(|(start, v, _)| {
                        json!({"start": start, "end": start.saturating_add(self.size), "value": (json.value_to_json)(v)})
                    })
                    .collect())
            }
            StoreQuery::All => Ok(self
                .windows_between_in_key_order(i64::MIN, i64::MAX)
                .iter()
                .map(|(w, v, _)| {
                    json!({"key": (json.key_to_json)(&w.key), "start": w.window.start, "end": w.window.end, "value": (json.value_to_json)(v)})
                })
                .collect()),
            StoreQuery::Get { .. } | StoreQuery::Range { .. } => {
                Err(QueryError::unsupported("window", query, "a fetch of a key's windows (key, from, to) and all"))
            }
        }
    }
}
