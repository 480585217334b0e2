//! `KTable<K, V>`: a changelog stream seen as a table, one current value per key.
//!
//! Updates flow as [`Change`]s. Whether a table can delete keys is part of its type: a table
//! read from a topic or filtered can (`MayDelete`, and `to_stream` gives `Option<V>`); an
//! aggregation never does (`NeverDeletes`, and `to_stream` gives `V`).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{KGroupedTable, KStream};
use crate::codec::DefaultCodec;
use crate::graph::Data;
use crate::ops::table_filter::TableFilterProc;
use crate::ops::table_map_values::TableMapValuesProc;
use crate::ops::table_select::TableSelectProc;
use crate::ops::to_stream::ToStreamProc;
use crate::record::Change;
use crate::state::StoreKey;

/// Whether a table can delete keys, and so what `to_stream` gives.
pub trait Tombstones: 'static {
    /// The value type of the table's stream.
    type Value<V: Data>: Data;
    /// The stream value for a table's new value, or nothing.
    fn emit<V: Data>(new: Option<V>) -> Option<Self::Value<V>>;
}

/// A table that can delete keys: its stream carries `Option<V>`, `None` for a deletion.
pub struct MayDelete;

impl Tombstones for MayDelete {
    type Value<V: Data> = Option<V>;
    fn emit<V: Data>(new: Option<V>) -> Option<Option<V>> {
        Some(new)
    }
}

/// A table that never deletes (an aggregation): its stream carries `V`.
pub struct NeverDeletes;

impl Tombstones for NeverDeletes {
    type Value<V: Data> = V;
    fn emit<V: Data>(new: Option<V>) -> Option<V> {
        new
    }
}

/// A table (Kafka's `KTable`).
pub struct KTable<K, V, T = MayDelete> {
    stream: KStream<K, Change<V>>,
    /// Set when something downstream needs old values: the source then keeps a store.
    materialized: Arc<AtomicBool>,
    /// The node and store name of the source, listed in `describe()` once materialized.
    source_store: Option<(usize, String)>,
    _t: PhantomData<fn(T)>,
}

impl<K: Data, V: Data, T: Tombstones> KTable<K, V, T> {
    pub(crate) fn new(
        stream: KStream<K, Change<V>>,
        materialized: Arc<AtomicBool>,
        source_store: Option<(usize, String)>,
    ) -> Self {
        KTable { stream, materialized, source_store, _t: PhantomData }
    }

    /// Names the next operator (Kafka's `Named.as`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.stream = self.stream.named(name);
        self
    }

    fn next_name(&mut self, prefix: &str) -> String {
        let given = self.stream.take_name();
        self.stream.builder().graph.borrow_mut().name_or(given, prefix)
    }

    fn derived<V2: Data, T2: Tombstones>(&self, stream: KStream<K, Change<V2>>) -> KTable<K, V2, T2> {
        KTable::new(stream, self.materialized.clone(), self.source_store.clone())
    }

    fn filter_with<P>(mut self, predicate: P, negate: bool) -> KTable<K, V, MayDelete>
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        let name = self.next_name("KTABLE-FILTER-");
        let predicate: Arc<dyn Fn(&K, &V) -> bool + Send + Sync> = Arc::new(predicate);
        let flag = self.materialized.clone();
        let stream = self.stream.clone().processor(name, vec![], move |_, next| TableFilterProc {
            predicate: predicate.clone(),
            negate,
            send_old_values: flag.load(Ordering::Relaxed),
            next,
        });
        self.derived(stream)
    }

    /// Keeps the rows `predicate` accepts; a rejected update deletes its key downstream.
    pub fn filter<P>(self, predicate: P) -> KTable<K, V, MayDelete>
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        self.filter_with(predicate, false)
    }

    /// Drops the rows `predicate` accepts.
    pub fn filter_not<P>(self, predicate: P) -> KTable<K, V, MayDelete>
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        self.filter_with(predicate, true)
    }

    /// A new value for each row.
    pub fn map_values<U: Data, F>(mut self, f: F) -> KTable<K, U, T>
    where
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        let name = self.next_name("KTABLE-MAPVALUES-");
        let f: Arc<dyn Fn(V) -> U + Send + Sync> = Arc::new(f);
        let stream = self
            .stream
            .clone()
            .processor(name, vec![], move |_, next| TableMapValuesProc { f: f.clone(), next });
        self.derived(stream)
    }

    /// The table's updates as a stream of new values.
    pub fn to_stream(mut self) -> KStream<K, T::Value<V>> {
        let name = self.next_name("KTABLE-TOSTREAM-");
        self.stream.processor(name, vec![], |_, next| ToStreamProc::<K, V, T> { next, _t: PhantomData })
    }

    /// Regroups the rows by `f(&key, &value) -> (new_key, new_value)` for an aggregation
    /// with an adder and a subtractor (Kafka's `KTable.groupBy`).
    pub fn group_by<K2, V2, F>(mut self, f: F) -> KGroupedTable<K2, V2>
    where
        K2: DefaultCodec + StoreKey,
        V2: DefaultCodec,
        F: Fn(&K, &V) -> (K2, V2) + Send + Sync + 'static,
    {
        self.materialized.store(true, Ordering::Relaxed);
        if let Some((node, store)) = &self.source_store {
            self.stream.builder().graph.borrow_mut().add_store(*node, store);
        }
        let name = self.next_name("KTABLE-SELECT-");
        let f: Arc<dyn Fn(&K, &V) -> (K2, V2) + Send + Sync> = Arc::new(f);
        let stream =
            self.stream.processor(name, vec![], move |_, next| TableSelectProc { f: f.clone(), next });
        KGroupedTable::new(stream)
    }
}

impl<K: Data, V: Data, T: Tombstones> Clone for KTable<K, V, T> {
    fn clone(&self) -> Self {
        KTable::new(self.stream.clone(), self.materialized.clone(), self.source_store.clone())
    }
}
