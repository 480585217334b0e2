//! State stores a processor declares and uses (Kafka's `Stores` and `StoreBuilder`).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::codec::Codec;
use crate::graph::TaskBuild;
use crate::record::Data;
use crate::state::session::SessionStore;
use crate::state::window::WindowStore;
use crate::state::ChangelogKind;
use crate::state::{KeyValueStore, StoreKey};
use crate::windows::{SessionWindow, Window, Windowed};

/// Factories of the stores a processor can use (Kafka's `Stores`).
pub struct Stores;

impl Stores {
    /// An in-memory key-value store `name`, written to its changelog topic
    /// `<application.id>-<name>-changelog` with codecs `KC` and `VC` and restored from it
    /// (Kafka's `keyValueStoreBuilder(inMemoryKeyValueStore(name), keySerde, valueSerde)`).
    pub fn key_value<KC, VC>(name: &str) -> KeyValueStoreBuilder<KC::Value, VC::Value>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let create = make_store(name, KeyValueStore::new::<KC, VC>, KeyValueStore::unlogged);
        KeyValueStoreBuilder {
            name: name.to_string(),
            logged: true,
            persistent: false,
            create,
            _types: PhantomData,
        }
    }

    /// A persistent key-value store `name` (Kafka's
    /// `keyValueStoreBuilder(persistentTimestampedKeyValueStore(name), keySerde, valueSerde)`):
    /// on disk under `state.dir/<application.id>/`, whatever `default.dsl.store` says, with
    /// checkpoints, so a restart restores only what its disk lacks; changelogged as
    /// [`Stores::key_value`]. Built `with_logging_disabled`, it keeps its contents across
    /// restarts on the same instance (nothing else could rebuild them). On the `TestDriver`
    /// it lives in memory.
    pub fn persistent_key_value<KC, VC>(name: &str) -> KeyValueStoreBuilder<KC::Value, VC::Value>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let store = name.to_string();
        let create: MakeStore = Arc::new(move |tb, logged| {
            tb.persistent_key_value_store::<KC, VC>(&store, logged);
        });
        KeyValueStoreBuilder {
            name: name.to_string(),
            logged: true,
            persistent: true,
            create,
            _types: PhantomData,
        }
    }

    /// An in-memory window store `name` of windows `window_size` long, kept for `retention`
    /// of window starts behind the largest start put (Kafka's
    /// `windowStoreBuilder(inMemoryWindowStore(name, retention, windowSize, false), ..)`); its
    /// changelog is `compact,delete` with that retention plus
    /// `windowstore.changelog.additional.retention.ms`.
    ///
    /// # Panics
    /// If `retention` is shorter than `window_size`, as Kafka refuses it.
    pub fn window<KC, VC>(
        name: &str,
        retention: std::time::Duration,
        window_size: std::time::Duration,
    ) -> WindowStoreBuilder<KC::Value, VC::Value>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let millis = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let (retention_ms, size_ms) = (millis(retention), millis(window_size));
        assert!(
            retention_ms >= size_ms,
            "the retention of window store `{name}` ({retention_ms} ms) must not be shorter than its windows ({size_ms} ms)"
        );
        let create = make_store(name, move |n| WindowStore::new::<KC, VC>(n, size_ms), WindowStore::unlogged);
        WindowStoreBuilder {
            name: name.to_string(),
            retention_ms,
            size_ms,
            create,
            logged: true,
            _types: PhantomData,
        }
    }
}

impl Stores {
    /// An in-memory session store `name`, keeping sessions that ended less than `retention`
    /// before the latest session end put (Kafka's
    /// `sessionStoreBuilder(inMemorySessionStore(name, retention), ..)`); its changelog is
    /// `compact,delete` with that retention plus `windowstore.changelog.additional.retention.ms`.
    pub fn session<KC, VC>(
        name: &str,
        retention: std::time::Duration,
    ) -> SessionStoreBuilder<KC::Value, VC::Value>
    where
        KC: Codec,
        VC: Codec,
        KC::Value: StoreKey,
    {
        let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let create = make_store(name, SessionStore::new::<KC, VC>, SessionStore::unlogged);
        SessionStoreBuilder {
            name: name.to_string(),
            retention_ms,
            create,
            logged: true,
            _types: PhantomData,
        }
    }
}

/// A session store to add to a topology, and to look up, typed, in
/// [`InitContext::session_store`](super::InitContext::session_store).
pub struct SessionStoreBuilder<K, V> {
    name: String,
    retention_ms: i64,
    create: MakeStore,
    logged: bool,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for SessionStoreBuilder<K, V> {
    fn clone(&self) -> Self {
        SessionStoreBuilder {
            name: self.name.clone(),
            retention_ms: self.retention_ms,
            create: self.create.clone(),
            logged: self.logged,
            _types: PhantomData,
        }
    }
}

impl<K, V> SessionStoreBuilder<K, V> {
    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same store without a changelog topic (Kafka's `withLoggingDisabled`): a task that
    /// starts starts it empty.
    pub fn with_logging_disabled(self) -> Self {
        SessionStoreBuilder { logged: false, ..self }
    }

    pub(crate) fn retention_ms(&self) -> i64 {
        self.retention_ms
    }
}

impl<K, V> StoreSpec for SessionStoreBuilder<K, V> {
    fn store_name(&self) -> &str {
        &self.name
    }
}

impl<K, V> sealed::Factory for SessionStoreBuilder<K, V> {
    #[allow(private_interfaces)]
    fn factory(&self) -> StoreFactory {
        factory_of(&self.create, self.logged)
    }

    #[allow(private_interfaces)]
    fn changelog(&self) -> ChangelogKind {
        changelog_of(self.logged, ChangelogKind::Windowed { retention_ms: self.retention_ms })
    }
}

/// A processor's handle on one of its session stores (Kafka's `SessionStore`, in memory). As
/// Kafka's `InMemorySessionStore`, a session that ended `retention` or more before the latest
/// end put is expired: a put of it is dropped (and counted in the task's `dropped-records`),
/// lookups do not see it.
pub struct SessionStoreRef<K, V> {
    pub(crate) store: Arc<SessionStore<K, V>>,
    pub(crate) retention_ms: i64,
    pub(crate) now: Arc<AtomicI64>,
    pub(crate) dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl<K, V> Clone for SessionStoreRef<K, V> {
    fn clone(&self) -> Self {
        SessionStoreRef {
            store: self.store.clone(),
            retention_ms: self.retention_ms,
            now: self.now.clone(),
            dropped: self.dropped.clone(),
        }
    }
}

impl<K: StoreKey, V: Data> SessionStoreRef<K, V> {
    /// The earliest session end still live (Kafka's `minLiveTime`).
    fn min_live(&self) -> i64 {
        self.store.observed().saturating_sub(self.retention_ms).saturating_add(1).max(0)
    }

    /// Expires what the latest end no longer keeps, as Kafka's store does before each call.
    fn expire(&self) {
        self.store.expire_before(self.min_live());
    }

    /// Stores `value` as the aggregate of `key`'s session `window`, or removes that session
    /// with `None` (Kafka's `put(sessionKey, null)`).
    pub fn put(&self, key: K, window: SessionWindow, value: Option<V>) {
        self.expire();
        let observed = self.store.observed().max(window.end);
        if window.end <= observed.saturating_sub(self.retention_ms) {
            // Kafka's `expiredRecordSensor` is the task's dropped-records sensor.
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(store = %self.name(), end = window.end, "skipping a put of an expired session");
            return;
        }
        match value {
            Some(v) => self.store.put(key, window, v, self.now.load(Ordering::Relaxed)),
            None => self.store.remove(&key, window),
        }
    }

    /// Removes `key`'s session `window` (Kafka's `remove(sessionKey)`).
    pub fn remove(&self, key: &K, window: SessionWindow) {
        self.store.remove(key, window);
    }

    /// The aggregate of `key`'s session exactly `window` (Kafka's `fetchSession`).
    pub fn fetch_session(&self, key: &K, window: SessionWindow) -> Option<V> {
        self.expire();
        if window.end < self.min_live() {
            return None;
        }
        self.store.fetch_session(key, window).map(|(v, _)| v)
    }

    /// `key`'s sessions that end at `earliest_end` or later and start at `latest_start` or
    /// earlier, by end then start (Kafka's `findSessions`): the sessions a record at `t` with
    /// an inactivity gap `g` merges with are `find_sessions(key, t - g, t + g)`.
    pub fn find_sessions(&self, key: &K, earliest_end: i64, latest_start: i64) -> Vec<(SessionWindow, V)> {
        self.expire();
        self.store.find(key, earliest_end.max(self.min_live()), latest_start)
    }

    /// Every live session of `key` (Kafka's `fetch(key)`).
    pub fn fetch(&self, key: &K) -> Vec<(SessionWindow, V)> {
        self.find_sessions(key, 0, i64::MAX)
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        crate::state::StateStore::name(&*self.store)
    }
}

/// A window store to add to a topology, and to look up, typed, in
/// [`InitContext::window_store`](super::InitContext::window_store).
pub struct WindowStoreBuilder<K, V> {
    name: String,
    retention_ms: i64,
    size_ms: i64,
    create: MakeStore,
    logged: bool,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for WindowStoreBuilder<K, V> {
    fn clone(&self) -> Self {
        WindowStoreBuilder {
            name: self.name.clone(),
            retention_ms: self.retention_ms,
            size_ms: self.size_ms,
            create: self.create.clone(),
            logged: self.logged,
            _types: PhantomData,
        }
    }
}

impl<K, V> WindowStoreBuilder<K, V> {
    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same store without a changelog topic (Kafka's `withLoggingDisabled`): a task that
    /// starts starts it empty.
    pub fn with_logging_disabled(self) -> Self {
        WindowStoreBuilder { logged: false, ..self }
    }

    pub(crate) fn retention_ms(&self) -> i64 {
        self.retention_ms
    }

    pub(crate) fn size_ms(&self) -> i64 {
        self.size_ms
    }
}

impl<K, V> StoreSpec for WindowStoreBuilder<K, V> {
    fn store_name(&self) -> &str {
        &self.name
    }
}

impl<K, V> sealed::Factory for WindowStoreBuilder<K, V> {
    #[allow(private_interfaces)]
    fn factory(&self) -> StoreFactory {
        factory_of(&self.create, self.logged)
    }

    #[allow(private_interfaces)]
    fn changelog(&self) -> ChangelogKind {
        changelog_of(self.logged, ChangelogKind::Windowed { retention_ms: self.retention_ms })
    }
}

/// A processor's handle on one of its window stores (Kafka's `WindowStore`, in memory). As
/// Kafka's `InMemoryWindowStore`, a window that starts `retention` or more before the largest
/// start put so far is expired: a put into it is dropped (and counted in the task's
/// `dropped-records`), fetches do not see it.
pub struct WindowStoreRef<K, V> {
    pub(crate) store: Arc<WindowStore<K, V>>,
    pub(crate) retention_ms: i64,
    pub(crate) size_ms: i64,
    pub(crate) now: Arc<AtomicI64>,
    pub(crate) dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl<K, V> Clone for WindowStoreRef<K, V> {
    fn clone(&self) -> Self {
        WindowStoreRef {
            store: self.store.clone(),
            retention_ms: self.retention_ms,
            size_ms: self.size_ms,
            now: self.now.clone(),
            dropped: self.dropped.clone(),
        }
    }
}

impl<K: StoreKey, V: Data> WindowStoreRef<K, V> {
    /// The first window start still live.
    fn min_live(&self) -> i64 {
        self.store.max_start().saturating_sub(self.retention_ms).saturating_add(1)
    }

    /// Stores `value` under `key` in the window starting at `window_start`, or removes the
    /// key from that window with `None` (Kafka's `put(key, null, start)`).
    pub fn put(&self, key: K, value: Option<V>, window_start: i64) {
        // Kafka's `InMemoryWindowStore.put`: expire first, then judge this window against the
        // largest start including it.
        self.store.expire_before(self.min_live());
        let observed = self.store.max_start().max(window_start);
        if window_start <= observed.saturating_sub(self.retention_ms) {
            // Kafka's `expiredRecordSensor` is the task's dropped-records sensor.
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(store = %self.name(), window_start, "skipping a put into an expired window");
            return;
        }
        match value {
            Some(v) => self.store.put(key, window_start, v, self.now.load(Ordering::Relaxed)),
            None => self.store.delete(&key, window_start),
        }
    }

    /// The value of `key` in the window starting at `window_start`.
    pub fn fetch(&self, key: &K, window_start: i64) -> Option<V> {
        if window_start < self.min_live() {
            return None;
        }
        self.store.get(key, window_start).map(|(v, _)| v)
    }

    /// The windows of `key` starting from `from` to `to` (both included), by start.
    pub fn fetch_range(&self, key: &K, from: i64, to: i64) -> Vec<(i64, V)> {
        self.store
            .fetch(key, from.max(self.min_live()), to)
            .into_iter()
            .map(|(start, v, _)| (start, v))
            .collect()
    }

    /// Every live window, by start then by the key's bytes (Kafka's `all()`).
    pub fn all(&self) -> Vec<(Windowed<K>, V)> {
        self.store
            .windows_between_in_key_order(self.min_live(), i64::MAX)
            .into_iter()
            .map(|(w, v, _)| {
                (
                    Windowed {
                        key: w.key,
                        window: Window {
                            start: w.window.start,
                            end: w.window.start.saturating_add(self.size_ms),
                        },
                    },
                    v,
                )
            })
            .collect()
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        crate::state::StateStore::name(&*self.store)
    }
}

/// A key-value store to add to a topology with
/// [`StreamsBuilder::add_state_store`](crate::StreamsBuilder::add_state_store), and to look up,
/// typed, in [`InitContext::key_value_store`](super::InitContext::key_value_store).
pub struct KeyValueStoreBuilder<K, V> {
    name: String,
    logged: bool,
    persistent: bool,
    create: MakeStore,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for KeyValueStoreBuilder<K, V> {
    fn clone(&self) -> Self {
        KeyValueStoreBuilder {
            name: self.name.clone(),
            logged: self.logged,
            persistent: self.persistent,
            create: self.create.clone(),
            _types: PhantomData,
        }
    }
}

impl<K, V> KeyValueStoreBuilder<K, V> {
    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it has a changelog topic.
    pub fn is_logged(&self) -> bool {
        self.logged
    }

    /// The same store without a changelog topic (Kafka's `withLoggingDisabled`): nothing is
    /// written to one, and a task that starts (after a restart or a rebalance) starts it
    /// empty.
    pub fn with_logging_disabled(self) -> Self {
        KeyValueStoreBuilder { logged: false, ..self }
    }
}

/// A store a processor can be connected to, whatever its types: see
/// [`KStream::process_with_stores`](crate::KStream::process_with_stores).
/// Sealed: the stores are this crate's.
pub trait StoreSpec: sealed::Factory {
    /// The store's name.
    fn store_name(&self) -> &str;
}

pub(crate) mod sealed {
    /// How a task makes a store.
    pub trait Factory {
        #[allow(private_interfaces)]
        fn factory(&self) -> super::StoreFactory;
        /// How its changelog topic is configured.
        #[allow(private_interfaces)]
        fn changelog(&self) -> super::ChangelogKind;
        /// Whether it lives on disk.
        fn persistent(&self) -> bool {
            false
        }
    }
}

/// Makes a store among a task's.
pub(crate) type StoreFactory = Arc<dyn for<'g> Fn(&mut TaskBuild<'g>) + Send + Sync>;

/// Makes a store among a task's, with a changelog or without.
type MakeStore = Arc<dyn for<'g> Fn(&mut TaskBuild<'g>, bool) + Send + Sync>;

/// How a task makes store `name` with `new`, through `unlogged` when built without a
/// changelog: the one recipe of every store builder here.
fn make_store<S: crate::state::StateStore + 'static>(
    name: &str,
    new: impl Fn(&str) -> S + Send + Sync + 'static,
    unlogged: fn(S) -> S,
) -> MakeStore {
    let name = name.to_string();
    Arc::new(move |tb, logged| {
        tb.stores.get_or_create(&name, || if logged { new(&name) } else { unlogged(new(&name)) });
    })
}

/// A builder's store factory, logged or not as the builder says.
fn factory_of(create: &MakeStore, logged: bool) -> StoreFactory {
    let create = create.clone();
    Arc::new(move |tb| create(tb, logged))
}

/// A builder's changelog: `kind`, or none when built with logging disabled.
fn changelog_of(logged: bool, kind: ChangelogKind) -> ChangelogKind {
    if logged {
        kind
    } else {
        ChangelogKind::Disabled
    }
}

impl<K, V> StoreSpec for KeyValueStoreBuilder<K, V> {
    fn store_name(&self) -> &str {
        &self.name
    }
}

impl<K, V> sealed::Factory for KeyValueStoreBuilder<K, V> {
    #[allow(private_interfaces)]
    fn factory(&self) -> StoreFactory {
        factory_of(&self.create, self.logged)
    }

    #[allow(private_interfaces)]
    fn changelog(&self) -> ChangelogKind {
        changelog_of(self.logged, ChangelogKind::KeyValue)
    }

    fn persistent(&self) -> bool {
        self.persistent
    }
}

/// A processor's handle on one of its key-value stores (Kafka's `KeyValueStore` as
/// `context.getStateStore` returns it). A write carries the timestamp of the record being
/// processed, or of the punctuation running, into the changelog.
pub struct KeyValueStoreRef<K, V> {
    pub(crate) store: Arc<KeyValueStore<K, V>>,
    pub(crate) now: Arc<AtomicI64>,
}

impl<K, V> Clone for KeyValueStoreRef<K, V> {
    fn clone(&self) -> Self {
        KeyValueStoreRef { store: self.store.clone(), now: self.now.clone() }
    }
}

impl<K: StoreKey, V: Data> KeyValueStoreRef<K, V> {
    /// The value under `key`.
    pub fn get(&self, key: &K) -> Option<V> {
        self.store.value(key)
    }

    /// Stores `value` under `key`.
    pub fn put(&self, key: K, value: V) {
        self.store.put(key, value, self.now.load(Ordering::Relaxed));
    }

    /// Stores `value` under `key` unless it holds one; returns the value it held.
    pub fn put_if_absent(&self, key: K, value: V) -> Option<V> {
        let old = self.store.value(&key);
        if old.is_none() {
            self.put(key, value);
        }
        old
    }

    /// Removes `key`; returns the value it held.
    pub fn delete(&self, key: &K) -> Option<V> {
        let old = self.store.value(key);
        if old.is_some() {
            self.store.delete(key);
        }
        old
    }

    /// Every entry, in no particular order.
    pub fn all(&self) -> Vec<(K, V)> {
        self.store.all()
    }

    /// The number of entries (Kafka's `approximateNumEntries`, exact here).
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        crate::state::StateStore::name(&*self.store)
    }
}
