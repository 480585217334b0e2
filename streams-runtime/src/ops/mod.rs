//! Operators: one per file, behind two small traits.
//!
//! [`Processor`] receives typed records and pushes results downstream. Stateless operators are
//! [`Stage`]s: a stage wraps its downstream processor *by type* (`Filter` around `MapValues`
//! around the sink), so a chain of stateless operators compiles to one monomorphized
//! processor with no boxing or allocation between its steps. Boxing happens only where the
//! graph branches or joins (fan-out, merge, split) and at sources.

pub(crate) mod aggregate;
pub(crate) mod cache;
pub(crate) mod combine;
pub(crate) mod filter;
pub(crate) mod fk_join;
pub(crate) mod flat_map;
pub(crate) mod flat_map_values;
pub(crate) mod foreach;
pub(crate) mod global_table;
pub(crate) mod map;
pub(crate) mod map_values;
pub(crate) mod merge;
pub(crate) mod peek;
pub(crate) mod process;
pub(crate) mod repartition;
pub(crate) mod select_key;
pub(crate) mod session_aggregate;
pub(crate) mod sink;
pub(crate) mod sliding_aggregate;
pub(crate) mod source;
pub(crate) mod split;
pub(crate) mod stream_stream_join;
pub(crate) mod stream_table_join;
pub(crate) mod table_aggregate;
pub(crate) mod table_filter;
pub(crate) mod table_map_values;
pub(crate) mod table_select;
pub(crate) mod table_source;
pub(crate) mod table_suppress;
pub(crate) mod table_table_join;
pub(crate) mod table_transform_values;
pub(crate) mod to_stream;
pub(crate) mod window_aggregate;

use std::marker::PhantomData;

use crate::codec::Codec;
use crate::error::{RecordPart, StreamsError};
use crate::record::{Headers, Record};

/// How a produced record's partition is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// As Kafka's producer does: murmur2 of the key bytes (null keys round-robin).
    ByKey,
    /// murmur2 of the key's first `n` bytes (a windowed key's inner key, see
    /// [`Codec::partition_key`](crate::codec::Codec::partition_key)).
    ByKeyPrefix(usize),
    /// This partition (a changelog record goes to its task's partition).
    Partition(u32),
}

impl Placement {
    /// The partition to write to, `None` for the producer's own choice (murmur2 of the key);
    /// `count` gives the topic's partition count, asked only when needed.
    pub(crate) fn choose<E>(
        self,
        key: Option<&[u8]>,
        count: impl FnOnce() -> Result<u32, E>,
    ) -> Result<Option<u32>, E> {
        match self {
            Placement::ByKey => Ok(None),
            Placement::Partition(p) => Ok(Some(p)),
            Placement::ByKeyPrefix(n) => match key {
                None => Ok(None),
                Some(k) => Ok(Some(crate::partitioner::partition_for_key(&k[..n.min(k.len())], count()?))),
            },
        }
    }
}

/// Where produced records go: the test driver's topics, or a cluster's producer.
pub(crate) trait RecordCollector {
    /// Sends encoded bytes to `topic`, to the partition `placement` chooses.
    fn send_placed(
        &mut self,
        topic: &str,
        placement: Placement,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        headers: &Headers,
    );

    /// Sends encoded bytes to `topic`, placed by the key bytes.
    fn send(
        &mut self,
        topic: &str,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        headers: &Headers,
    ) {
        self.send_placed(topic, Placement::ByKey, key, value, timestamp, headers);
    }
}

/// A task's processor metadata (Kafka's `ProcessorMetadata`): values processors keep across
/// restarts in the task's offset commits, by key — an emit-on-close windowed aggregation's
/// last emitted window close time under its store's name. Merged by maximum.
#[derive(Default)]
pub(crate) struct ProcessorMetadata(std::sync::Mutex<std::collections::BTreeMap<String, i64>>);

impl ProcessorMetadata {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, i64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<i64> {
        self.lock().get(key).copied()
    }

    /// Sets `key` to `value`.
    pub(crate) fn put(&self, key: &str, value: i64) {
        let mut map = self.lock();
        match map.get_mut(key) {
            Some(v) => *v = value,
            None => {
                map.insert(key.to_string(), value);
            }
        }
    }

    /// Merges `other` in, keeping the larger value of a key in both.
    pub(crate) fn update(&self, other: &std::collections::BTreeMap<String, i64>) {
        let mut map = self.lock();
        for (key, value) in other {
            let v = map.entry(key.clone()).or_insert(*value);
            *v = (*v).max(*value);
        }
    }

    /// Every entry.
    pub(crate) fn snapshot(&self) -> std::collections::BTreeMap<String, i64> {
        self.lock().clone()
    }
}

/// A record's key and value bytes (`None`: null).
pub(crate) type EncodedPair = (Option<Vec<u8>>, Option<Vec<u8>>);

/// What an operator may know and do besides its record: the record's origin, time, output.
pub struct Context<'a> {
    pub(crate) topic: &'a str,
    pub(crate) partition: u32,
    pub(crate) offset: u64,
    pub(crate) stream_time: i64,
    pub(crate) wall_clock: i64,
    pub(crate) collector: &'a mut dyn RecordCollector,
    /// The first record this context could not write (a codec refused it): the record being
    /// processed failed, for the task's processing-error policy to decide.
    pub(crate) failed: Option<StreamsError>,
    /// The task's measurements (end-to-end latency at its terminal nodes).
    pub(crate) probe: &'a mut crate::metrics::task::TaskProbe,
}

impl Context<'_> {
    /// A record's key and value encoded for `topic`, or `None` after noting the failure.
    pub(crate) fn encoded<KC: Codec, VC: Codec>(
        &mut self,
        topic: &str,
        key: KC::Value,
        value: VC::Value,
    ) -> Option<EncodedPair> {
        let fail = |part, codec: String, source| StreamsError::Serialization {
            target: format!("topic `{topic}`"),
            part,
            codec,
            source,
        };
        let encoded = KC::encode_owned(key).map_err(|e| fail(RecordPart::Key, KC::name(), e)).and_then(|k| {
            Ok((k, VC::encode_owned(value).map_err(|e| fail(RecordPart::Value, VC::name(), e))?))
        });
        match encoded {
            Ok(kv) => Some(kv),
            Err(e) => {
                self.failed.get_or_insert(e);
                None
            }
        }
    }

    /// The topic of the source record being processed.
    pub fn topic(&self) -> &str {
        self.topic
    }
    /// Its partition.
    pub fn partition(&self) -> u32 {
        self.partition
    }
    /// Its offset.
    pub fn offset(&self) -> u64 {
        self.offset
    }
    /// The task's stream time: the largest timestamp it has seen.
    pub fn stream_time(&self) -> i64 {
        self.stream_time
    }
    /// Wall-clock time (ms), which the test driver lets a test advance.
    pub fn wall_clock(&self) -> i64 {
        self.wall_clock
    }
}

/// Receives typed records, one at a time, inside a task.
pub trait Processor<K, V>: Send {
    /// Handles one record.
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>);

    /// How Kafka Streams' node at the head of this processor counts a record with a null key
    /// or value in its dropped-records metric. A source whose codecs cannot hold that null
    /// drops the record before it gets here and counts it as Kafka's node would: an
    /// aggregation or a join counts it, user code (a `filter`, a `group_by` mapper) sees the
    /// null in Kafka and is not counted.
    #[doc(hidden)]
    fn null_drops(&self) -> NullDrops {
        NullDrops::default()
    }
}

/// How many times Kafka Streams counts a record with a null key, a null value, or both, as
/// dropped (see [`Processor::null_drops`]).
#[doc(hidden)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NullDrops {
    pub(crate) key: u64,
    pub(crate) value: u64,
    pub(crate) both: u64,
}

impl NullDrops {
    /// A node that drops and counts records with a null key, and with a null value if
    /// `value`.
    pub(crate) fn counted(value: bool) -> NullDrops {
        NullDrops { key: 1, value: value as u64, both: 1 }
    }
}

impl std::ops::Add for NullDrops {
    type Output = NullDrops;
    fn add(self, o: NullDrops) -> NullDrops {
        NullDrops { key: self.key + o.key, value: self.value + o.value, both: self.both + o.both }
    }
}

impl<K, V> Processor<K, V> for Box<dyn Processor<K, V>> {
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        (**self).process(ctx, record)
    }

    fn null_drops(&self) -> NullDrops {
        (**self).null_drops()
    }
}

/// A stateless step that can be fused with its downstream at compile time.
pub trait Stage: Clone + Send + Sync + 'static {
    /// Input key type.
    type KIn;
    /// Input value type.
    type VIn;
    /// Output key type.
    type KOut;
    /// Output value type.
    type VOut;
    /// The processor this stage becomes in front of downstream `D`.
    type Proc<D: Processor<Self::KOut, Self::VOut> + 'static>: Processor<Self::KIn, Self::VIn> + 'static;
    /// Puts this stage in front of `downstream`.
    fn wrap<D: Processor<Self::KOut, Self::VOut> + 'static>(&self, downstream: D) -> Self::Proc<D>;
}

/// A chain of stages giving `(K, V)` records from inputs that can flow through a topology:
/// the bound every operator taking another stream's chain needs, said once.
pub trait StageOf<K, V>:
    Stage<KOut = K, VOut = V, KIn: crate::record::Data, VIn: crate::record::Data>
{
}

impl<T, K, V> StageOf<K, V> for T
where
    T: Stage<KOut = K, VOut = V>,
    T::KIn: crate::record::Data,
    T::VIn: crate::record::Data,
{
}

/// Counts a record a windowed operator drops for arriving after its window closed, and says
/// where it came from.
pub(crate) fn drop_late(
    dropped: &std::sync::atomic::AtomicU64,
    ctx: &Context<'_>,
    timestamp: i64,
    window: &str,
) {
    dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(
        topic = ctx.topic(),
        partition = ctx.partition(),
        offset = ctx.offset(),
        timestamp,
        window,
        "dropping a record late for its window"
    );
}

/// A node that passes records on as they are (for nodes Kafka has and whose work happens
/// elsewhere here).
pub(crate) struct PassThrough<K, V> {
    pub(crate) next: Box<dyn Processor<K, V>>,
}

impl<K: Send, V: Send> Processor<K, V> for PassThrough<K, V> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        self.next.process(ctx, record);
    }
}

/// The empty chain: records pass as they are.
pub struct Nop<K, V>(PhantomData<fn(K, V)>);

impl<K, V> Nop<K, V> {
    pub(crate) fn new() -> Self {
        Nop(PhantomData)
    }
}

impl<K, V> Clone for Nop<K, V> {
    fn clone(&self) -> Self {
        Nop(PhantomData)
    }
}

impl<K: 'static, V: 'static> Stage for Nop<K, V> {
    type KIn = K;
    type VIn = V;
    type KOut = K;
    type VOut = V;
    type Proc<D: Processor<K, V> + 'static> = D;
    #[inline]
    fn wrap<D: Processor<K, V> + 'static>(&self, downstream: D) -> D {
        downstream
    }
}

/// Stage `A` then stage `B`.
#[derive(Clone)]
pub struct Then<A, B>(pub(crate) A, pub(crate) B);

impl<A, B> Stage for Then<A, B>
where
    A: Stage,
    B: Stage<KIn = A::KOut, VIn = A::VOut>,
{
    type KIn = A::KIn;
    type VIn = A::VIn;
    type KOut = B::KOut;
    type VOut = B::VOut;
    type Proc<D: Processor<B::KOut, B::VOut> + 'static> = A::Proc<B::Proc<D>>;
    #[inline]
    fn wrap<D: Processor<B::KOut, B::VOut> + 'static>(&self, downstream: D) -> Self::Proc<D> {
        self.0.wrap(self.1.wrap(downstream))
    }
}

/// Declares a stage holding one user function, and its running form holding the same
/// function in front of a downstream `next`.
macro_rules! fn_stage {
    ($(#[$doc:meta])* $stage:ident, $(#[$pdoc:meta])* $proc:ident) => {
        $(#[$doc])*
        // Public where a stream's type names it (the stages of fused chains); the stages
        // that end their chain (key changes) are not named by any.
        #[allow(unreachable_pub)]
        pub struct $stage<K, V, F> {
            f: std::sync::Arc<F>,
            _types: std::marker::PhantomData<fn(K, V)>,
        }

        impl<K, V, F> $stage<K, V, F> {
            pub(crate) fn new(f: F) -> Self {
                $stage { f: std::sync::Arc::new(f), _types: std::marker::PhantomData }
            }
        }

        impl<K, V, F> Clone for $stage<K, V, F> {
            fn clone(&self) -> Self {
                $stage { f: self.f.clone(), _types: std::marker::PhantomData }
            }
        }

        $(#[$pdoc])*
        #[allow(unreachable_pub)]
        pub struct $proc<F, D> {
            f: std::sync::Arc<F>,
            next: D,
        }

        impl<K, V, F> $stage<K, V, F> {
            fn running<D>(&self, next: D) -> $proc<F, D> {
                $proc { f: self.f.clone(), next }
            }
        }
    };
}
pub(crate) use fn_stage;

/// A node's children, each named after its first node (if known): all of them get a record,
/// or one by its name (the Processor API's `forward(record, child)`).
pub(crate) struct Children<K, V> {
    pub(crate) named: Vec<(Option<String>, Box<dyn Processor<K, V>>)>,
}

impl<K: Clone + Send, V: Clone + Send> Children<K, V> {
    /// Sends `record` to the child named `child`; `false` if there is none.
    pub(crate) fn process_to(&mut self, child: &str, ctx: &mut Context<'_>, record: Record<K, V>) -> bool {
        match self.named.iter_mut().find(|(name, _)| name.as_deref() == Some(child)) {
            Some((_, processor)) => {
                processor.process(ctx, record);
                true
            }
            None => false,
        }
    }

    /// The children's names, for errors.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.named.iter().filter_map(|(n, _)| n.as_deref()).collect()
    }
}

impl<K: Clone + Send, V: Clone + Send> Processor<K, V> for Children<K, V> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        if let Some(((_, last), rest)) = self.named.split_last_mut() {
            for (_, child) in rest {
                child.process(ctx, record.clone());
            }
            last.process(ctx, record);
        }
    }

    fn null_drops(&self) -> NullDrops {
        self.named.iter().map(|(_, c)| c.null_drops()).fold(NullDrops::default(), |a, b| a + b)
    }
}

/// Drops records: the downstream of a node nobody reads.
pub(crate) struct Discard;

/// A processor node that may be terminal (nothing downstream of it in the topology: a table
/// only looked up by a join, an aggregation only queried): records the end-to-end latency of
/// what reaches it, as Kafka's `ProcessorContextImpl.forward` does for a terminal child.
pub(crate) struct TerminalProbe<P> {
    /// The node's probe slot if it is terminal.
    pub(crate) slot: Option<usize>,
    pub(crate) inner: P,
}

impl<K, V, P: Processor<K, V>> Processor<K, V> for TerminalProbe<P> {
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        if let Some(slot) = self.slot {
            ctx.probe.e2e(slot, ctx.wall_clock, record.timestamp);
        }
        self.inner.process(ctx, record)
    }

    fn null_drops(&self) -> NullDrops {
        self.inner.null_drops()
    }
}

impl<K, V> Processor<K, V> for Discard {
    fn process(&mut self, _: &mut Context<'_>, _: Record<K, V>) {}
}
