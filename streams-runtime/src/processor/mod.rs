//! The Processor API (Kafka's `org.apache.kafka.streams.processor.api`): a processor of your
//! own, with state stores and punctuation, placed in a topology with [`KStream::process`].
//!
//! ```
//! use std::time::Duration;
//! use streams_runtime::prelude::*;
//! use streams_runtime::processor::{
//!     Cancellable, InitContext, KeyValueStoreRef, Processor, ProcessorContext, PunctuationType, Stores,
//! };
//!
//! /// Forwards a key's value only when it changed; every 10 s of wall-clock time, forwards
//! /// how many keys it remembers under the key `"keys"`.
//! struct Dedupe {
//!     seen: Option<KeyValueStoreRef<String, String>>,
//! }
//!
//! impl Processor<String, String> for Dedupe {
//!     type KOut = String;
//!     type VOut = String;
//!
//!     fn init(&mut self, ctx: &mut InitContext<'_>) {
//!         self.seen = Some(ctx.key_value_store(&Stores::key_value::<String, String>("seen")));
//!         ctx.schedule(Duration::from_secs(10), PunctuationType::WallClockTime);
//!     }
//!
//!     fn process(&mut self, ctx: &mut ProcessorContext<'_, String, String>, record: Record<String, String>) {
//!         let seen = self.seen.as_ref().unwrap();
//!         if seen.get(&record.key).as_ref() != Some(&record.value) {
//!             seen.put(record.key.clone(), record.value.clone());
//!             ctx.forward(record);
//!         }
//!     }
//!
//!     fn punctuate(&mut self, ctx: &mut ProcessorContext<'_, String, String>, _: &Cancellable, now: i64) {
//!         let keys = self.seen.as_ref().unwrap().len();
//!         ctx.forward(Record::new("keys".to_string(), keys.to_string(), now));
//!     }
//! }
//!
//! let builder = StreamsBuilder::new();
//! builder.add_state_store(&Stores::key_value::<String, String>("seen"));
//! builder
//!     .stream::<String, String>("in")
//!     .process(|| Dedupe { seen: None }, &["seen"])
//!     .to("out");
//! let driver = TestDriver::new(builder.build());
//! let (input, mut output) = (driver.input::<String, String>("in"), driver.output::<String, String>("out"));
//! input.pipe("a".into(), "1".into(), 0);
//! input.pipe("a".into(), "1".into(), 1);
//! input.pipe("b".into(), "2".into(), 2);
//! driver.advance_wall_clock(Duration::from_secs(10));
//! let out: Vec<(String, String, i64)> = output.read_all();
//! assert_eq!(out, [("a".into(), "1".into(), 0), ("b".into(), "2".into(), 2), ("keys".into(), "2".into(), 10_000)]);
//! ```
//!
//! [`KStream::process`]: crate::KStream::process

mod schedule;
pub(crate) mod store;

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use schedule::Schedules;
pub use schedule::{Cancellable, PunctuationType};
pub use store::{
    KeyValueStoreBuilder, KeyValueStoreRef, SessionStoreBuilder, SessionStoreRef, StoreSpec, Stores,
    WindowStoreBuilder, WindowStoreRef,
};

use crate::ops::Context;
use crate::record::Data;
use crate::record::Record;

/// A processor of records of keys `KIn` and values `VIn` (Kafka's `api.Processor`). One
/// instance per task, made by the supplier given to [`KStream::process`](crate::KStream::process).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a processor of records with `{KIn}` keys and `{VIn}` values",
    label = "the stream here carries `{KIn}` keys and `{VIn}` values",
    note = "a processor is `impl Processor<K, V> for ..` with the key and value types of the stream it is placed on"
)]
pub trait Processor<KIn, VIn>: Send + 'static {
    /// The key type of the records it forwards.
    type KOut: Data;
    /// The value type of the records it forwards.
    type VOut: Data;

    /// Called once when its task is created, before any record: look up the stores it was
    /// connected to and schedule punctuations here.
    fn init(&mut self, ctx: &mut InitContext<'_>) {
        let _ = ctx;
    }

    /// Handles one record; forwards any number of records through `ctx`.
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Self::KOut, Self::VOut>, record: Record<KIn, VIn>);

    /// Called for each punctuation `schedule` that is due (see [`InitContext::schedule`]),
    /// with the time it fires at: stream time or wall-clock time, by the schedule's type.
    fn punctuate(
        &mut self,
        ctx: &mut ProcessorContext<'_, Self::KOut, Self::VOut>,
        schedule: &Cancellable,
        timestamp: i64,
    ) {
        let _ = (ctx, schedule, timestamp);
    }

    /// Called when its task closes (the processor is dropped right after).
    fn close(&mut self) {}
}

/// Where the record being processed was read (Kafka's `RecordMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// Its topic.
    pub topic: String,
    /// Its partition.
    pub partition: u32,
    /// Its offset.
    pub offset: u64,
}

/// A processor that keeps every record's key (Kafka's `api.FixedKeyProcessor`), placed with
/// [`KStream::process_values`](crate::KStream::process_values): a stateful operator after it
/// needs no repartition. It forwards [`FixedKeyRecord`]s, made only from the records it is
/// given, so the key cannot change (and a punctuation, having no record, cannot forward).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a fixed-key processor of records with `{K}` keys and `{VIn}` values",
    label = "the stream here carries `{K}` keys and `{VIn}` values",
    note = "a fixed-key processor is `impl FixedKeyProcessor<K, V> for ..` with the key and value types of the stream it is placed on"
)]
pub trait FixedKeyProcessor<K, VIn>: Send + 'static {
    /// The value type of the records it forwards.
    type VOut: Data;

    /// As [`Processor::init`].
    fn init(&mut self, ctx: &mut InitContext<'_>) {
        let _ = ctx;
    }

    /// Handles one record; forwards records made from it through `ctx`.
    fn process(&mut self, ctx: &mut FixedKeyContext<'_, K, Self::VOut>, record: FixedKeyRecord<K, VIn>);

    /// As [`Processor::punctuate`].
    fn punctuate(
        &mut self,
        ctx: &mut FixedKeyContext<'_, K, Self::VOut>,
        schedule: &Cancellable,
        timestamp: i64,
    ) {
        let _ = (ctx, schedule, timestamp);
    }

    /// As [`Processor::close`].
    fn close(&mut self) {}
}

/// A record whose key a processor cannot change (Kafka's `api.FixedKeyRecord`).
#[derive(Debug, Clone, PartialEq)]
pub struct FixedKeyRecord<K, V> {
    key: K,
    /// The value.
    pub value: V,
    /// Event time in milliseconds since the epoch.
    pub timestamp: i64,
    /// Headers.
    pub headers: crate::record::Headers,
}

impl<K, V> FixedKeyRecord<K, V> {
    pub(crate) fn from(record: Record<K, V>) -> Self {
        FixedKeyRecord {
            key: record.key,
            value: record.value,
            timestamp: record.timestamp,
            headers: record.headers,
        }
    }

    /// The key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The same record with another value.
    pub fn with_value<V2>(self, value: V2) -> FixedKeyRecord<K, V2> {
        FixedKeyRecord { key: self.key, value, timestamp: self.timestamp, headers: self.headers }
    }

    /// The same record at another time.
    pub fn with_timestamp(self, timestamp: i64) -> Self {
        FixedKeyRecord { timestamp, ..self }
    }

    /// The record as a plain one.
    pub fn into_record(self) -> Record<K, V> {
        Record { key: self.key, value: self.value, timestamp: self.timestamp, headers: self.headers }
    }
}

/// [`ProcessorContext`]'s mode for a [`Processor`]: it forwards any [`Record`].
pub enum AnyKey {}
/// [`ProcessorContext`]'s mode for a [`FixedKeyProcessor`]: it forwards [`FixedKeyRecord`]s.
pub enum FixedKey {}

/// The context of a [`FixedKeyProcessor`] (Kafka's `api.FixedKeyProcessorContext`).
pub type FixedKeyContext<'a, K, V> = ProcessorContext<'a, K, V, FixedKey>;

/// What a processor can see and do while it processes a record or punctuates (Kafka's
/// `api.ProcessorContext`).
pub struct ProcessorContext<'a, K, V, M = AnyKey> {
    pub(crate) ctx: Context<'a>,
    pub(crate) next: &'a mut crate::ops::Children<K, V>,
    pub(crate) schedules: &'a mut Schedules,
    /// Whether a record is being processed (not a punctuation).
    pub(crate) in_record: bool,
    pub(crate) application_id: &'a str,
    pub(crate) _mode: std::marker::PhantomData<M>,
}

impl<K: Clone + Send, V: Clone + Send> ProcessorContext<'_, K, V, AnyKey> {
    /// Sends `record` to every child of this processor.
    pub fn forward(&mut self, record: Record<K, V>) {
        crate::ops::Processor::process(self.next, &mut self.ctx, record);
    }

    /// Sends `record` to the child named `child` only (Kafka's `forward(record, childName)`):
    /// the operator added right after this processor under that name (`.named("evens")`).
    ///
    /// # Panics
    /// If no child has that name (Kafka's "Unknown downstream node"); the processing-error
    /// policy then decides about the record.
    pub fn forward_to(&mut self, child: &str, record: Record<K, V>) {
        if !self.next.process_to(child, &mut self.ctx, record) {
            panic!(
                "Unknown downstream node: {child} either does not exist or is not connected to this processor \
                 (its children: {:?})",
                self.next.names()
            );
        }
    }
}

impl<K: Clone + Send, V: Clone + Send> ProcessorContext<'_, K, V, FixedKey> {
    /// Sends `record` to every child of this processor.
    pub fn forward(&mut self, record: FixedKeyRecord<K, V>) {
        crate::ops::Processor::process(self.next, &mut self.ctx, record.into_record());
    }

    /// Sends `record` to the child named `child` only (Kafka's `forward(record, childName)`).
    ///
    /// # Panics
    /// If no child has that name (Kafka's "Unknown downstream node").
    pub fn forward_to(&mut self, child: &str, record: FixedKeyRecord<K, V>) {
        if !self.next.process_to(child, &mut self.ctx, record.into_record()) {
            panic!(
                "Unknown downstream node: {child} either does not exist or is not connected to this processor \
                 (its children: {:?})",
                self.next.names()
            );
        }
    }
}

impl<K, V, M> ProcessorContext<'_, K, V, M> {
    /// Where the record being processed was read; `None` during a punctuation.
    pub fn record_metadata(&self) -> Option<RecordMetadata> {
        self.in_record.then(|| RecordMetadata {
            topic: self.ctx.topic.to_string(),
            partition: self.ctx.partition,
            offset: self.ctx.offset,
        })
    }

    /// The task's stream time: the largest timestamp it has read.
    pub fn stream_time(&self) -> i64 {
        self.ctx.stream_time
    }

    /// The wall-clock time (ms) as the task sees it (the test driver's own clock).
    pub fn current_system_time_ms(&self) -> i64 {
        self.ctx.wall_clock
    }

    /// The task's partition.
    pub fn partition(&self) -> u32 {
        self.ctx.partition
    }

    /// The application's `application.id`.
    pub fn application_id(&self) -> &str {
        self.application_id
    }

    /// Schedules a punctuation, as [`InitContext::schedule`].
    pub fn schedule(&mut self, interval: Duration, kind: PunctuationType) -> Cancellable {
        self.schedules.add(interval, kind, self.ctx.wall_clock)
    }
}

/// A stateful mapping of a table's values (Kafka's `ValueTransformerWithKey`, for
/// [`KTable::transform_values`](crate::dsl::KTable::transform_values)): each update's new
/// value, and its old value when old values are sent, goes through [`Self::transform`], and
/// so do lookups (a join) through an instance of their own. A missing value (a deletion) is
/// `None`, and `None` out deletes.
pub trait ValueTransformerWithKey<K, V>: Send + 'static {
    /// The values it gives.
    type VOut: Data;

    /// Called once when its task starts: its stores are reached here. (Punctuations are not
    /// available to a table's transformer here; scheduling one panics.)
    fn init(&mut self, ctx: &mut InitContext<'_>) {
        let _ = ctx;
    }

    /// The value for `value` (`None`: the key has none) of `key`.
    fn transform(&mut self, key: &K, value: Option<&V>) -> Option<Self::VOut>;

    /// Called when its task closes.
    fn close(&mut self) {}
}

/// What a processor can do when its task starts (Kafka's `ProcessorContext` in `init`):
/// reach its stores and schedule punctuations.
pub struct InitContext<'a> {
    pub(crate) registry: &'a crate::state::StoreRegistry,
    pub(crate) wall_clock: i64,
    pub(crate) partition: u32,
    pub(crate) application_id: &'a str,
    pub(crate) node: &'a str,
    /// The stores connected to the processor.
    pub(crate) stores: &'a [String],
    pub(crate) schedules: &'a mut Schedules,
    /// The timestamp a store write carries (the record's, or the punctuation's).
    pub(crate) now: &'a Arc<AtomicI64>,
    /// The task's dropped records (a window store's expired puts count there).
    pub(crate) dropped: &'a Arc<std::sync::atomic::AtomicU64>,
}

impl InitContext<'_> {
    /// The key-value store `spec` names, typed as `spec` says.
    ///
    /// # Panics
    /// If the store is not connected to this processor (name it in
    /// [`KStream::process`](crate::KStream::process)), or was added with other types.
    pub fn key_value_store<K, V>(&mut self, spec: &KeyValueStoreBuilder<K, V>) -> KeyValueStoreRef<K, V>
    where
        K: crate::state::StoreKey,
        V: Data,
    {
        let store = self.connected::<crate::state::KeyValueStore<K, V>>(spec.name());
        KeyValueStoreRef { store, now: self.now.clone() }
    }

    /// The window store `spec` names, typed as `spec` says.
    ///
    /// # Panics
    /// As [`Self::key_value_store`].
    pub fn window_store<K, V>(&mut self, spec: &WindowStoreBuilder<K, V>) -> WindowStoreRef<K, V>
    where
        K: crate::state::StoreKey,
        V: Data,
    {
        let store = self.connected::<crate::state::window::WindowStore<K, V>>(spec.name());
        WindowStoreRef {
            store,
            retention_ms: spec.retention_ms(),
            size_ms: spec.size_ms(),
            now: self.now.clone(),
            dropped: self.dropped.clone(),
        }
    }

    /// The session store `spec` names, typed as `spec` says.
    ///
    /// # Panics
    /// If the store is not connected to this processor, or was added with other types.
    pub fn session_store<K, V>(&mut self, spec: &SessionStoreBuilder<K, V>) -> SessionStoreRef<K, V>
    where
        K: crate::state::StoreKey,
        V: Data,
    {
        let store = self.connected::<crate::state::session::SessionStore<K, V>>(spec.name());
        SessionStoreRef {
            store,
            retention_ms: spec.retention_ms(),
            now: self.now.clone(),
            dropped: self.dropped.clone(),
        }
    }

    /// The store `name` connected to this processor, as an `S`.
    fn connected<S: crate::state::StateStore>(&self, name: &str) -> Arc<S> {
        assert!(
            self.stores.iter().any(|s| s == name),
            "processor `{}` has no access to store `{name}`: name it in `process(.., &[\"{name}\"])`",
            self.node
        );
        self.registry.find::<S>(name).unwrap_or_else(|| {
            panic!(
                "store `{name}` of processor `{}` is not a `{}`",
                self.node,
                std::any::type_name::<S>().rsplit("::").next().unwrap_or_default()
            )
        })
    }

    /// Schedules a punctuation every `interval`: by stream time (first as soon as the task
    /// has read a record, then each time stream time passes the next multiple of `interval`)
    /// or by wall-clock time (first `interval` after now). Each calls
    /// [`Processor::punctuate`] with the returned handle, which can cancel it.
    ///
    /// # Panics
    /// If `interval` is shorter than 1 ms, as Kafka refuses it.
    pub fn schedule(&mut self, interval: Duration, kind: PunctuationType) -> Cancellable {
        self.schedules.add(interval, kind, self.wall_clock)
    }

    /// The task's partition of its input topics.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The application's `application.id`.
    pub fn application_id(&self) -> &str {
        self.application_id
    }

    /// The name of this processor's node.
    pub fn name(&self) -> &str {
        self.node
    }
}
