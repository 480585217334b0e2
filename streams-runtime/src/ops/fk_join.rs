//! The foreign-key table join (KIP-213, Kafka's `KTable.join(other, foreignKeyExtractor,
//! joiner)`): each row of the left table subscribes to the row of the right table its
//! foreign key names, across two internal topics.
//!
//! 1. `SubscriptionSendProc` (left task): a left update becomes subscription records keyed
//!    by the foreign key, with an instruction, the primary key, its partition and a hash of
//!    the new left value, written to `…-SUBSCRIPTION-REGISTRATION-…-topic` (partitioned like
//!    the right table).
//! 2. `SubscriptionJoinProc` (right task): stores the subscription under (foreign key,
//!    primary key) and answers it with the right row, if the instruction says so, on
//!    `…-SUBSCRIPTION-RESPONSE-…-topic`, to the left row's partition.
//!    `ForeignJoinProc` (right task): a right update answers every subscriber of its key.
//! 3. `ResponseJoinProc` (left task): a response whose hash is the current left value's is
//!    joined with it; a stale one (the left row changed since) is dropped.
//!
//! Record layouts are Kafka's (`SubscriptionWrapperSerde` v1, `SubscriptionResponseWrapperSerde`
//! v0, `CombinedKeySchema`, Murmur3 128 with Kafka's seed), so the topics and the subscription
//! store's changelog read the same as a Java instance's.

use std::collections::{BTreeMap, HashSet};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::stream_table_join::Getter;
use super::{Context, Placement, Processor};
use crate::codec::Codec;
use crate::error::{CodecError, RecordPart, StreamsError};
use crate::record::Data;
use crate::record::{Change, Headers, Record};
use crate::state::{ChangelogBatch, StateStore};

/// What the right side does with a subscription (Kafka's `SubscriptionWrapper.Instruction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Instruction {
    /// Unsubscribe; answer nothing (the left row moved to another foreign key).
    DeleteKeyNoPropagate = 0,
    /// Unsubscribe; answer with no right row (the left row was deleted).
    DeleteKeyAndPropagate = 1,
    /// Subscribe; answer with the right row, or with none if there is none.
    PropagateNullIfNoFkValAvailable = 2,
    /// Subscribe; answer only if there is a right row (a new left row).
    PropagateOnlyIfFkValAvailable = 3,
}

impl Instruction {
    fn from_byte(b: u8) -> Result<Self, CodecError> {
        Ok(match b {
            0 => Instruction::DeleteKeyNoPropagate,
            1 => Instruction::DeleteKeyAndPropagate,
            2 => Instruction::PropagateNullIfNoFkValAvailable,
            3 => Instruction::PropagateOnlyIfFkValAvailable,
            other => return Err(CodecError::new(format!("unknown subscription instruction {other}"))),
        })
    }
}

/// A left row's subscription to a right row (Kafka's `SubscriptionWrapper`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Subscription<K> {
    /// Murmur3 of the left value's bytes when it was sent (`None`: deleted).
    pub(crate) hash: Option<[u64; 2]>,
    pub(crate) instruction: Instruction,
    pub(crate) primary_key: K,
    /// The left row's partition, where the response goes.
    pub(crate) primary_partition: u32,
}

/// Kafka's `SubscriptionWrapperSerde`, version 1: `version | 0x80 if no hash`, the
/// instruction, the hash (two big-endian longs), the primary key's bytes, the partition.
pub(crate) struct SubscriptionCodec<KC>(PhantomData<fn() -> KC>);

const SUBSCRIPTION_VERSION: u8 = 1;

impl<KC: Codec> Codec for SubscriptionCodec<KC> {
    type Value = Subscription<KC::Value>;

    fn encode(s: &Self::Value) -> Result<Option<Vec<u8>>, CodecError> {
        let key = KC::encode(&s.primary_key)?.unwrap_or_default();
        let mut out = Vec::with_capacity(2 + 16 + key.len() + 4);
        out.push(if s.hash.is_some() { SUBSCRIPTION_VERSION } else { SUBSCRIPTION_VERSION | 0x80 });
        out.push(s.instruction as u8);
        if let Some([a, b]) = s.hash {
            out.extend(a.to_be_bytes());
            out.extend(b.to_be_bytes());
        }
        out.extend(key);
        out.extend((s.primary_partition as i32).to_be_bytes());
        Ok(Some(out))
    }

    fn decode(bytes: Option<&[u8]>) -> Result<Self::Value, CodecError> {
        let short = || CodecError::new("a subscription shorter than its layout");
        let bytes = bytes.ok_or_else(|| CodecError::new("a null subscription"))?;
        let (&head, rest) = bytes.split_first().ok_or_else(short)?;
        let (&instruction, mut rest) = rest.split_first().ok_or_else(short)?;
        let version = head & 0x7f;
        let hash = if head & 0x80 == 0 {
            let (h, r) = rest.split_at_checked(16).ok_or_else(short)?;
            rest = r;
            Some(hash_from(h))
        } else {
            None
        };
        let (key, partition) = if version > 0 {
            let (k, p) =
                rest.split_at_checked(rest.len().checked_sub(4).ok_or_else(short)?).ok_or_else(short)?;
            (k, i32::from_be_bytes(p.try_into().expect("four bytes")) as u32)
        } else {
            (rest, 0)
        };
        Ok(Subscription {
            hash,
            instruction: Instruction::from_byte(instruction)?,
            primary_key: KC::decode(Some(key))?,
            primary_partition: partition,
        })
    }

    fn name() -> String {
        format!("SubscriptionCodec<{}>", KC::name())
    }
}

fn hash_from(bytes: &[u8]) -> [u64; 2] {
    let a = u64::from_be_bytes(bytes[..8].try_into().expect("eight bytes"));
    let b = u64::from_be_bytes(bytes[8..16].try_into().expect("eight bytes"));
    [a, b]
}

/// The right side's answer (Kafka's `SubscriptionResponseWrapper`): the hash the
/// subscription carried and the right row's value, if any.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response<VO> {
    pub(crate) hash: Option<[u64; 2]>,
    pub(crate) foreign: Option<VO>,
    /// Where it goes (not written: the topic's partition says it).
    pub(crate) primary_partition: u32,
}

/// Kafka's `SubscriptionResponseWrapperSerde`, version 0: `0x80 if no hash`, the hash, the
/// value's bytes (none: no value; so an empty value reads as none, as in Kafka).
pub(crate) struct ResponseCodec<VC>(PhantomData<fn() -> VC>);

impl<VC: Codec> Codec for ResponseCodec<VC> {
    type Value = Response<VC::Value>;

    fn encode(r: &Self::Value) -> Result<Option<Vec<u8>>, CodecError> {
        let value = match &r.foreign {
            Some(v) => VC::encode(v)?.unwrap_or_default(),
            None => Vec::new(),
        };
        let mut out = Vec::with_capacity(17 + value.len());
        match r.hash {
            Some([a, b]) => {
                out.push(0);
                out.extend(a.to_be_bytes());
                out.extend(b.to_be_bytes());
            }
            None => out.push(0x80),
        }
        out.extend(value);
        Ok(Some(out))
    }

    fn decode(bytes: Option<&[u8]>) -> Result<Self::Value, CodecError> {
        let short = || CodecError::new("a subscription response shorter than its layout");
        let bytes = bytes.ok_or_else(|| CodecError::new("a null subscription response"))?;
        let (&head, mut rest) = bytes.split_first().ok_or_else(short)?;
        let hash = if head & 0x80 == 0 {
            let (h, r) = rest.split_at_checked(16).ok_or_else(short)?;
            rest = r;
            Some(hash_from(h))
        } else {
            None
        };
        let foreign = if rest.is_empty() { None } else { Some(VC::decode(Some(rest))?) };
        Ok(Response { hash, foreign, primary_partition: 0 })
    }

    fn name() -> String {
        format!("ResponseCodec<{}>", VC::name())
    }
}

/// The subscriptions a right task holds, by foreign key bytes, each foreign key's
/// subscribers in primary key byte order (the order of Kafka's prefix scan over
/// `CombinedKeySchema` keys). Its changelog keys are Kafka's combined keys:
/// `len(fk) as i32 ++ fk ++ pk`.
pub(crate) struct SubscriptionStore<K> {
    name: String,
    inner: Mutex<Subscriptions<K>>,
    encode: fn(&Subscription<K>) -> Result<Option<Vec<u8>>, CodecError>,
    decode: fn(Option<&[u8]>) -> Result<Subscription<K>, CodecError>,
}

type Subscribers<K> = BTreeMap<Vec<u8>, (Subscription<K>, i64)>;

struct Subscriptions<K> {
    by_foreign_key: hashbrown::HashMap<Vec<u8>, Subscribers<K>>,
    /// (foreign key, primary key) changed since the last changelog write.
    dirty: HashSet<(Vec<u8>, Vec<u8>)>,
}

impl<K: Data> SubscriptionStore<K> {
    pub(crate) fn new<KC: Codec<Value = K>>(name: &str) -> Self {
        SubscriptionStore {
            name: name.to_string(),
            inner: Mutex::new(Subscriptions { by_foreign_key: Default::default(), dirty: HashSet::new() }),
            encode: SubscriptionCodec::<KC>::encode,
            decode: SubscriptionCodec::<KC>::decode,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Subscriptions<K>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn put(&self, fk: &[u8], pk: Vec<u8>, subscription: Subscription<K>, timestamp: i64) {
        let mut inner = self.lock();
        inner.dirty.insert((fk.to_vec(), pk.clone()));
        inner.by_foreign_key.entry(fk.to_vec()).or_default().insert(pk, (subscription, timestamp));
    }

    fn delete(&self, fk: &[u8], pk: Vec<u8>) {
        let mut inner = self.lock();
        if let Some(subscribers) = inner.by_foreign_key.get_mut(fk) {
            subscribers.remove(&pk);
            if subscribers.is_empty() {
                inner.by_foreign_key.remove(fk);
            }
        }
        inner.dirty.insert((fk.to_vec(), pk));
    }

    /// The subscribers of a foreign key, in primary key byte order.
    fn subscribers(&self, fk: &[u8]) -> Vec<Subscription<K>> {
        let inner = self.lock();
        inner.by_foreign_key.get(fk).map(|s| s.values().map(|(s, _)| s.clone()).collect()).unwrap_or_default()
    }
}

fn combined_key(fk: &[u8], pk: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + fk.len() + pk.len());
    key.extend((fk.len() as i32).to_be_bytes());
    key.extend(fk);
    key.extend(pk);
    key
}

impl<K: Data> StateStore for SubscriptionStore<K> {
    fn name(&self) -> &str {
        &self.name
    }

    fn take_changelog(&self) -> Result<ChangelogBatch, StreamsError> {
        let mut inner = self.lock();
        let dirty = std::mem::take(&mut inner.dirty);
        let mut batch = ChangelogBatch::with_capacity(dirty.len());
        for (fk, pk) in dirty {
            let entry = inner.by_foreign_key.get(&fk).and_then(|s| s.get(&pk));
            let (value, timestamp) = match entry {
                Some((s, ts)) => {
                    let bytes = (self.encode)(s).map_err(|source| StreamsError::Serialization {
                        target: format!("the changelog of store `{}`", self.name),
                        part: RecordPart::Value,
                        codec: "SubscriptionCodec".into(),
                        source,
                    })?;
                    (bytes, *ts)
                }
                None => (None, 0),
            };
            batch.push((Some(combined_key(&fk, &pk)), value, timestamp));
        }
        Ok(batch)
    }

    fn restore(&self, key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) {
        let Some(key) = key.filter(|k| k.len() >= 4) else { return };
        let len = i32::from_be_bytes(key[..4].try_into().expect("four bytes")).max(0) as usize;
        let Some((fk, pk)) = key[4..].split_at_checked(len) else { return };
        let mut inner = self.lock();
        match value.map(|v| (self.decode)(Some(v))) {
            Some(Ok(s)) => {
                inner.by_foreign_key.entry(fk.to_vec()).or_default().insert(pk.to_vec(), (s, timestamp));
            }
            Some(Err(e)) => {
                tracing::warn!(store = %self.name, error = %e, "skipping an unreadable subscription")
            }
            None => {
                if let Some(subscribers) = inner.by_foreign_key.get_mut(fk) {
                    subscribers.remove(pk);
                    if subscribers.is_empty() {
                        inner.by_foreign_key.remove(fk);
                    }
                }
            }
        }
    }
}

/// Bytes of a value, or the failure noted on the context.
fn bytes_of<C: Codec>(
    ctx: &mut Context<'_>,
    target: &str,
    part: RecordPart,
    value: &C::Value,
) -> Option<Vec<u8>> {
    match C::encode(value) {
        Ok(bytes) => Some(bytes.unwrap_or_default()),
        Err(source) => {
            ctx.failed.get_or_insert(StreamsError::Serialization {
                target: target.to_string(),
                part,
                codec: C::name(),
                source,
            });
            None
        }
    }
}

/// Sends an encoded record, or notes why it could not be.
#[allow(clippy::too_many_arguments)]
fn send<KC: Codec, VC: Codec>(
    ctx: &mut Context<'_>,
    topic: &str,
    placement: Placement,
    key: KC::Value,
    value: VC::Value,
    timestamp: i64,
    headers: &Headers,
) {
    if let Some((key, value)) = ctx.encoded::<KC, VC>(topic, key, value) {
        ctx.collector.send_placed(topic, placement, key, value, timestamp, headers);
    }
}

/// Left task: a left update into subscriptions (Kafka's `SubscriptionSendProcessorSupplier`).
pub(crate) struct SubscriptionSendProc<KC: Codec, VC: Codec, KOC: Codec> {
    pub(crate) foreign_key: Arc<dyn Fn(&VC::Value) -> Option<KOC::Value> + Send + Sync>,
    pub(crate) left_join: bool,
    pub(crate) topic: String,
    pub(crate) dropped: Arc<AtomicU64>,
    /// The sink's end-to-end latency slot.
    pub(crate) e2e_slot: usize,
    pub(crate) _codecs: PhantomData<fn(KC)>,
}

impl<KC: Codec, VC: Codec, KOC: Codec> SubscriptionSendProc<KC, VC, KOC> {
    fn foreign_key_bytes(&self, ctx: &mut Context<'_>, fk: &Option<KOC::Value>) -> Option<Option<Vec<u8>>> {
        match fk {
            None => Some(None),
            Some(fk) => bytes_of::<KOC>(ctx, &self.topic, RecordPart::Key, fk).map(Some),
        }
    }

    /// Kafka 4.4's `leftJoinInstructions` / `defaultJoinInstructions`; `None` if a key could
    /// not be encoded (noted on the context).
    fn instructions(
        &self,
        ctx: &mut Context<'_>,
        change: &Change<VC::Value>,
    ) -> Option<Vec<(Option<KOC::Value>, Instruction)>> {
        use Instruction::*;
        let fk_of = |v: &Option<VC::Value>| v.as_ref().and_then(|v| (self.foreign_key)(v));
        let (old_fk, new_fk) = (fk_of(&change.old), fk_of(&change.new));
        let mut out = Vec::new();
        if self.left_join {
            if change.old.is_none() && change.new.is_none() {
                return Some(out);
            }
            if old_fk.is_some() && self.foreign_key_changed(ctx, &new_fk, &old_fk)? {
                out.push((old_fk, DeleteKeyNoPropagate));
            }
            out.push((new_fk, PropagateNullIfNoFkValAvailable));
            return Some(out);
        }
        match (&change.new, new_fk, old_fk) {
            (Some(_), None, old_fk) => {
                self.skip_null_foreign_key(ctx);
                if old_fk.is_some() {
                    out.push((old_fk, DeleteKeyAndPropagate));
                }
            }
            (Some(_), Some(new_fk), Some(old_fk)) => {
                let (new_fk, old_fk) = (Some(new_fk), Some(old_fk));
                if self.foreign_key_changed(ctx, &new_fk, &old_fk)? {
                    out.push((old_fk, DeleteKeyNoPropagate));
                    out.push((new_fk, PropagateNullIfNoFkValAvailable));
                } else {
                    out.push((new_fk, PropagateOnlyIfFkValAvailable));
                }
            }
            (Some(_), Some(new_fk), None) => out.push((Some(new_fk), PropagateOnlyIfFkValAvailable)),
            (None, _, Some(old_fk)) => out.push((Some(old_fk), DeleteKeyAndPropagate)),
            (None, _, None) => {}
        }
        Some(out)
    }

    /// Whether the foreign key's bytes changed (a null key's are none).
    fn foreign_key_changed(
        &self,
        ctx: &mut Context<'_>,
        new: &Option<KOC::Value>,
        old: &Option<KOC::Value>,
    ) -> Option<bool> {
        Some(self.foreign_key_bytes(ctx, new)? != self.foreign_key_bytes(ctx, old)?)
    }

    fn skip_null_foreign_key(&self, ctx: &Context<'_>) {
        tracing::warn!(
            topic = ctx.topic(),
            partition = ctx.partition(),
            offset = ctx.offset(),
            "skipping a record whose foreign key is null"
        );
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

impl<KC: Codec, VC: Codec, KOC: Codec> Processor<KC::Value, Change<VC::Value>>
    for SubscriptionSendProc<KC, VC, KOC>
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<KC::Value, Change<VC::Value>>) {
        let Record { key, value, timestamp, headers } = record;
        // Kafka's `SubscriptionSendProcessorSupplier` drops an out-of-order update of a
        // versioned table (KIP-914), counted as dropped.
        if !value.is_latest {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Some(instructions) = self.instructions(ctx, &value) else { return };
        let hash = match &value.new {
            Some(v) => match bytes_of::<VC>(ctx, &self.topic, RecordPart::Value, v) {
                Some(bytes) => Some(murmur3_128(&bytes)),
                None => return,
            },
            None => None,
        };
        for (fk, instruction) in instructions {
            ctx.probe.e2e(self.e2e_slot, ctx.wall_clock, timestamp);
            let subscription = Subscription {
                hash,
                instruction,
                primary_key: key.clone(),
                primary_partition: ctx.partition(),
            };
            let topic = self.topic.clone();
            send::<Option<KOC>, SubscriptionCodec<KC>>(
                ctx,
                &topic,
                Placement::ByKey,
                fk,
                subscription,
                timestamp,
                &headers,
            );
        }
    }
}

/// Right task: a subscription stored (or removed) and answered (Kafka's
/// `SubscriptionReceiveProcessorSupplier` and `SubscriptionJoinProcessorSupplier`).
pub(crate) struct SubscriptionJoinProc<KC: Codec, KOC: Codec, VOC: Codec> {
    pub(crate) store: Arc<SubscriptionStore<KC::Value>>,
    pub(crate) foreign: Getter<KOC::Value, VOC::Value>,
    pub(crate) topic: String,
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) e2e_slot: usize,
}

impl<KC: Codec, KOC: Codec, VOC: Codec> Processor<Option<KOC::Value>, Subscription<KC::Value>>
    for SubscriptionJoinProc<KC, KOC, VOC>
{
    fn process(
        &mut self,
        ctx: &mut Context<'_>,
        record: Record<Option<KOC::Value>, Subscription<KC::Value>>,
    ) {
        use Instruction::*;
        let Record { key: fk, value: subscription, timestamp, headers } = record;
        if fk.is_none() && subscription.instruction != PropagateNullIfNoFkValAvailable {
            tracing::warn!(
                topic = ctx.topic(),
                offset = ctx.offset(),
                "skipping a subscription with a null foreign key"
            );
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Some(fk) = &fk {
            let topic = self.topic.clone();
            let Some(fk_bytes) = bytes_of::<KOC>(ctx, &topic, RecordPart::Key, fk) else { return };
            let Some(pk_bytes) = bytes_of::<KC>(ctx, &topic, RecordPart::Key, &subscription.primary_key)
            else {
                return;
            };
            match subscription.instruction {
                DeleteKeyAndPropagate | DeleteKeyNoPropagate => self.store.delete(&fk_bytes, pk_bytes),
                _ => self.store.put(&fk_bytes, pk_bytes, subscription.clone(), timestamp),
            }
        }
        let foreign = fk.as_ref().and_then(|fk| (self.foreign)(fk, None));
        let at = foreign.as_ref().map_or(timestamp, |(_, t)| timestamp.max(*t));
        let foreign = match subscription.instruction {
            DeleteKeyNoPropagate => return,
            DeleteKeyAndPropagate => None,
            PropagateNullIfNoFkValAvailable => foreign.map(|(v, _)| v),
            PropagateOnlyIfFkValAvailable => match foreign {
                Some((v, _)) => Some(v),
                None => return,
            },
        };
        ctx.probe.e2e(self.e2e_slot, ctx.wall_clock, at);
        let Subscription { hash, primary_key, primary_partition, .. } = subscription;
        let response = Response { hash, foreign, primary_partition };
        let topic = self.topic.clone();
        let placement = Placement::Partition(primary_partition);
        send::<KC, ResponseCodec<VOC>>(ctx, &topic, placement, primary_key, response, at, &headers);
    }
}

/// Right task: a right update answers every subscriber of its key (Kafka's
/// `ForeignTableJoinProcessorSupplier`).
pub(crate) struct ForeignJoinProc<KC: Codec, KOC: Codec, VOC: Codec> {
    pub(crate) store: Arc<SubscriptionStore<KC::Value>>,
    pub(crate) topic: String,
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) e2e_slot: usize,
    pub(crate) _codecs: PhantomData<fn(KOC, VOC)>,
}

impl<KC: Codec, KOC: Codec, VOC: Codec> Processor<KOC::Value, Change<VOC::Value>>
    for ForeignJoinProc<KC, KOC, VOC>
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<KOC::Value, Change<VOC::Value>>) {
        let Record { key, value, timestamp, headers } = record;
        // A null key, or an out-of-order update of a versioned table (Kafka's
        // `ForeignTableJoinProcessorSupplier`, KIP-914): dropped and counted.
        if KOC::is_null(&key) || !value.is_latest {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let topic = self.topic.clone();
        let Some(fk) = bytes_of::<KOC>(ctx, &topic, RecordPart::Key, &key) else { return };
        for subscription in self.store.subscribers(&fk) {
            ctx.probe.e2e(self.e2e_slot, ctx.wall_clock, timestamp);
            let Subscription { hash, primary_key, primary_partition, .. } = subscription;
            let response = Response { hash, foreign: value.new.clone(), primary_partition };
            let placement = Placement::Partition(primary_partition);
            send::<KC, ResponseCodec<VOC>>(
                ctx,
                &topic,
                placement,
                primary_key,
                response,
                timestamp,
                &headers,
            );
        }
    }
}

/// Left task: a response joined with the current left row, if it answers that row's
/// current value (Kafka's `ResponseJoinProcessorSupplier`); the result goes on as a table
/// update (`None` deletes).
pub(crate) struct ResponseJoinProc<KC: Codec, VC: Codec, VO, R> {
    pub(crate) current: Getter<KC::Value, VC::Value>,
    pub(crate) joiner: Arc<dyn Fn(VC::Value, Option<VO>) -> R + Send + Sync>,
    pub(crate) left_join: bool,
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) next: Box<dyn Processor<KC::Value, Option<R>>>,
}

impl<KC: Codec, VC: Codec, VO: Data, R: Data> Processor<KC::Value, Response<VO>>
    for ResponseJoinProc<KC, VC, VO, R>
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<KC::Value, Response<VO>>) {
        let Record { key, value: response, timestamp, headers } = record;
        let current = (self.current)(&key, None).map(|(v, _)| v);
        let hash = match &current {
            Some(v) => match bytes_of::<VC>(ctx, "the foreign-key join's response", RecordPart::Value, v) {
                Some(bytes) => Some(murmur3_128(&bytes)),
                None => return,
            },
            None => None,
        };
        if hash != response.hash {
            // The left row changed since: a newer response is on its way.
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let result = match current {
            Some(v) if response.foreign.is_some() || self.left_join => {
                Some((self.joiner)(v, response.foreign))
            }
            _ => None,
        };
        self.next.process(ctx, Record { key, value: result, timestamp, headers });
    }
}

/// Kafka's `Murmur3.hash128` (MurmurHash3 x64 128 with seed 104729).
pub(crate) fn murmur3_128(data: &[u8]) -> [u64; 2] {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    const SEED: u64 = 104_729;
    fn fmix(mut k: u64) -> u64 {
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    }
    let mix1 = |k: u64| k.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    let mix2 = |k: u64| k.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    let (mut h1, mut h2) = (SEED, SEED);
    let blocks = data.chunks_exact(16);
    let tail = blocks.remainder();
    for block in blocks {
        let k1 = u64::from_le_bytes(block[..8].try_into().expect("eight bytes"));
        let k2 = u64::from_le_bytes(block[8..].try_into().expect("eight bytes"));
        h1 ^= mix1(k1);
        h1 = h1.rotate_left(27).wrapping_add(h2).wrapping_mul(5).wrapping_add(0x52dc_e729);
        h2 ^= mix2(k2);
        h2 = h2.rotate_left(31).wrapping_add(h1).wrapping_mul(5).wrapping_add(0x3849_5ab5);
    }
    let le = |bytes: &[u8]| bytes.iter().rev().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if tail.len() > 8 {
        h2 ^= mix2(le(&tail[8..]));
    }
    if !tail.is_empty() {
        h1 ^= mix1(le(&tail[..tail.len().min(8)]));
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    [h1, h2]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures from Kafka's own `Murmur3.hash128` (kafka-streams 4.4.0), as unsigned longs.
    #[test]
    fn murmur3_is_kafkas() {
        for (input, a, b) in [
            ("", 11324130426821486914, 10105219602051204376),
            ("a", 3702349557448790408, 16845676620377109099),
            ("\"x13\"", 7171870390063366802, 1184263151519029478),
            ("0123456789abcdef", 1904622552327088487, 15553225332059657905),
            ("0123456789abcdefXYZ", 13488841724175064334, 3628389848199853365),
            ("the quick brown fox jumps", 2379593775518829407, 13252177885200296986),
        ] {
            assert_eq!(murmur3_128(input.as_bytes()), [a, b], "{input}");
        }
    }

    #[test]
    fn subscriptions_and_responses_read_back() {
        let s = Subscription {
            hash: Some(murmur3_128(b"x1")),
            instruction: Instruction::PropagateNullIfNoFkValAvailable,
            primary_key: "k1".to_string(),
            primary_partition: 3,
        };
        let bytes = SubscriptionCodec::<String>::encode(&s).unwrap().unwrap();
        assert_eq!((bytes[0], bytes[1], bytes.len()), (1, 2, 2 + 16 + 2 + 4));
        assert_eq!(SubscriptionCodec::<String>::decode(Some(&bytes)).unwrap(), s);
        let deleted = Subscription { hash: None, ..s };
        let bytes = SubscriptionCodec::<String>::encode(&deleted).unwrap().unwrap();
        assert_eq!(bytes[0], 0x81);
        assert_eq!(SubscriptionCodec::<String>::decode(Some(&bytes)).unwrap(), deleted);
        let r = Response { hash: Some([1, 2]), foreign: Some("v".to_string()), primary_partition: 0 };
        let bytes = ResponseCodec::<String>::encode(&r).unwrap().unwrap();
        assert_eq!(ResponseCodec::<String>::decode(Some(&bytes)).unwrap(), r);
    }
}
