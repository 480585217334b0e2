//! State stores a processor declares and uses (Kafka's `Stores` and `StoreBuilder`).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::codec::Codec;
use crate::graph::Data;
use crate::state::{KeyValueStore, StoreKey, StoreRegistry};

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
        let store_name = name.to_string();
        let create: MakeStore = Arc::new(move |registry, logged| {
            registry.get_or_create(&store_name, || {
                let store = KeyValueStore::new::<KC, VC>(&store_name);
                if logged {
                    store
                } else {
                    store.unlogged()
                }
            });
        });
        KeyValueStoreBuilder { name: name.to_string(), logged: true, create, _types: PhantomData }
    }
}

/// A key-value store to add to a topology with
/// [`StreamsBuilder::add_state_store`](crate::StreamsBuilder::add_state_store), and to look up,
/// typed, in [`InitContext::key_value_store`](super::InitContext::key_value_store).
pub struct KeyValueStoreBuilder<K, V> {
    name: String,
    logged: bool,
    create: MakeStore,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for KeyValueStoreBuilder<K, V> {
    fn clone(&self) -> Self {
        KeyValueStoreBuilder {
            name: self.name.clone(),
            logged: self.logged,
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
    /// Whether it has a changelog topic.
    fn store_logged(&self) -> bool;
}

pub(crate) mod sealed {
    /// How a task makes a store.
    pub trait Factory {
        #[allow(private_interfaces)]
        fn factory(&self) -> super::StoreFactory;
    }
}

/// Makes a store in a task's registry.
pub(crate) type StoreFactory = Arc<dyn Fn(&mut StoreRegistry) + Send + Sync>;

/// Makes a store in a task's registry, with a changelog or without.
type MakeStore = Arc<dyn Fn(&mut StoreRegistry, bool) + Send + Sync>;

impl<K, V> StoreSpec for KeyValueStoreBuilder<K, V> {
    fn store_name(&self) -> &str {
        &self.name
    }

    fn store_logged(&self) -> bool {
        self.logged
    }
}

impl<K, V> sealed::Factory for KeyValueStoreBuilder<K, V> {
    #[allow(private_interfaces)]
    fn factory(&self) -> StoreFactory {
        let (create, logged) = (self.create.clone(), self.logged);
        Arc::new(move |registry| create(registry, logged))
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
