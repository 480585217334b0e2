//! `KTable::suppress(Suppressed::until_time_limit(..))`: Kafka's `KTableSuppressProcessor`
//! over its `InMemoryTimeOrderedKeyValueChangeBuffer`. Each key's update waits in a buffer
//! ordered by (buffer time, key bytes); a later update of a buffered key replaces its value in
//! place (the key keeps its first buffer time: Kafka's "non-resetting" semantics). After every
//! record, updates whose buffer time is at most the processor's observed stream time minus the
//! limit are emitted, oldest first; then, over capacity, the buffer emits early or fails.
//!
//! The buffer's source of truth is a logged key-value store (its changelog restores it); the
//! time order is an index rebuilt from the store before the first record.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use super::repartition::ChangeCodec;
use super::{Context, Processor};
use crate::codec::Codec;
use crate::error::{CodecError, StreamsError};
use crate::record::{Change, Headers, Record};
use crate::state::{KeyValueStore, StoreKey};

/// What the buffer does when it holds more than its limit (Kafka's `BufferFullStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhenFull {
    /// Emit the oldest updates early (`emitEarlyWhenFull`).
    EmitEarly,
    /// Fail the task (`shutDownWhenFull`).
    ShutDown,
}

/// A buffered update: when it entered the buffer, the latest change with its timestamp, and
/// the value before the first buffered change (what the table showed last: Kafka's
/// `BufferValue.priorValue`, read by lookups).
#[derive(Debug, Clone)]
pub(crate) struct Buffered<V> {
    pub(crate) time: i64,
    pub(crate) timestamp: i64,
    pub(crate) change: Change<V>,
    pub(crate) prior: Option<V>,
}

/// The changelog layout of a buffered update: buffer time and record timestamp (8 bytes
/// each, big-endian), the change's length (4 bytes) and the change in Kafka's
/// `ChangedSerializer` layout, then 0 (no prior value) or 1 and the prior value in that
/// layout as a change's new value.
/// (Kafka's own buffer changelog, `BufferValue` with a record context, is not this.)
pub(crate) struct BufferedCodec<C>(PhantomData<fn() -> C>);

impl<C: Codec> Codec for BufferedCodec<C> {
    type Value = Buffered<C::Value>;

    fn encode(value: &Self::Value) -> Result<Option<Vec<u8>>, CodecError> {
        let change = ChangeCodec::<C>::encode(&value.change)?.unwrap_or_default();
        let prior = match &value.prior {
            Some(prior) => {
                ChangeCodec::<C>::encode(&Change::new(Some(prior.clone()), None))?.unwrap_or_default()
            }
            None => Vec::new(),
        };
        let mut out = Vec::with_capacity(21 + change.len() + prior.len());
        out.extend(value.time.to_be_bytes());
        out.extend(value.timestamp.to_be_bytes());
        out.extend((change.len() as u32).to_be_bytes());
        out.extend(change);
        out.push(u8::from(value.prior.is_some()));
        out.extend(prior);
        Ok(Some(out))
    }

    fn decode(bytes: Option<&[u8]>) -> Result<Self::Value, CodecError> {
        let bytes = bytes.ok_or_else(|| CodecError::new("a suppression buffer entry is null"))?;
        let short = || CodecError::new("a suppression buffer entry is cut short");
        let (head, rest) = bytes.split_at_checked(20).ok_or_else(short)?;
        let time = i64::from_be_bytes(head[..8].try_into().expect("8 bytes"));
        let timestamp = i64::from_be_bytes(head[8..16].try_into().expect("8 bytes"));
        let length = u32::from_be_bytes(head[16..20].try_into().expect("4 bytes")) as usize;
        let (change, rest) = rest.split_at_checked(length).ok_or_else(short)?;
        let prior = match rest.split_first() {
            Some((0, _)) => None,
            Some((1, prior)) => ChangeCodec::<C>::decode(Some(prior))?.new,
            _ => return Err(short()),
        };
        Ok(Buffered { time, timestamp, change: ChangeCodec::<C>::decode(Some(change))?, prior })
    }
}

/// Where a buffered key sits in time order.
type Slot = (i64, Vec<u8>);

pub(crate) struct SuppressProc<KC: Codec, VC: Codec> {
    pub(crate) node: String,
    pub(crate) store: Arc<KeyValueStore<KC::Value, Buffered<VC::Value>>>,
    pub(crate) time_limit_ms: i64,
    /// At most this many keys buffered (`None`: unbounded).
    pub(crate) max_records: Option<usize>,
    pub(crate) when_full: WhenFull,
    /// The largest timestamp this node has seen (Kafka's `observedStreamTime`, not kept
    /// across restarts either).
    pub(crate) observed: i64,
    /// Time order over the store's keys, with each key's latest headers; built from the
    /// store before the first record.
    pub(crate) index: Option<BTreeMap<Slot, (KC::Value, Headers)>>,
    pub(crate) next: Box<dyn Processor<KC::Value, Change<VC::Value>>>,
}

impl<KC, VC> SuppressProc<KC, VC>
where
    KC: Codec,
    KC::Value: StoreKey,
    VC: Codec,
{
    fn key_bytes(key: &KC::Value) -> Vec<u8> {
        // A key the upstream store or topic took encodes; a refusal orders it first.
        KC::encode(key).ok().flatten().unwrap_or_default()
    }

    fn index(&mut self) -> &mut BTreeMap<Slot, (KC::Value, Headers)> {
        let store = &self.store;
        self.index.get_or_insert_with(|| {
            store
                .all()
                .into_iter()
                .map(|(k, b)| ((b.time, Self::key_bytes(&k)), (k, Headers::new())))
                .collect()
        })
    }

    /// Emits the oldest buffered update.
    fn emit_first(&mut self, ctx: &mut Context<'_>) {
        let Some((_, (key, headers))) = self.index().pop_first() else { return };
        let Some((buffered, _)) = self.store.take(&key) else { return };
        self.store.delete(&key);
        let Buffered { timestamp, change, .. } = buffered;
        self.next.process(ctx, Record { key, value: change, timestamp, headers });
    }
}

impl<KC, VC> Processor<KC::Value, Change<VC::Value>> for SuppressProc<KC, VC>
where
    KC: Codec,
    KC::Value: StoreKey,
    VC: Codec,
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<KC::Value, Change<VC::Value>>) {
        let Record { key, value, timestamp, headers } = record;
        self.observed = self.observed.max(timestamp);
        let bytes = Self::key_bytes(&key);
        self.index();
        let (time, prior) = match self.store.get(&key) {
            // Buffered already: replaced in place, at its first buffer time.
            Some((b, _)) => {
                if let Some((_, h)) = self.index().get_mut(&(b.time, bytes)) {
                    *h = headers;
                }
                (b.time, b.prior)
            }
            None => {
                self.index().insert((timestamp, bytes), (key.clone(), headers));
                (timestamp, value.old.clone())
            }
        };
        self.store.put(key, Buffered { time, timestamp, change: value, prior }, timestamp);
        // Kafka's `enforceConstraints`.
        let expiry = self.observed.saturating_sub(self.time_limit_ms);
        while self.index().first_key_value().is_some_and(|((t, _), _)| *t <= expiry) {
            self.emit_first(ctx);
        }
        let Some(max) = self.max_records else { return };
        if self.index().len() > max {
            match self.when_full {
                WhenFull::EmitEarly => {
                    while self.index().len() > max {
                        self.emit_first(ctx);
                    }
                }
                WhenFull::ShutDown => {
                    let held = self.index().len();
                    ctx.failed.get_or_insert(StreamsError::Processing {
                        topic: ctx.topic.to_string(),
                        partition: ctx.partition,
                        offset: ctx.offset,
                        message: format!(
                            "{} buffer exceeded its max capacity. Currently [{held}/{max}] records \
                             (the suppression is configured to shut down when full: \
                             `BufferConfig::max_records(..).shut_down_when_full()`)",
                            self.node
                        ),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffered_updates_read_back_as_written() {
        type C = BufferedCodec<String>;
        let s = |v: &str| Some(v.to_string());
        for b in [
            Buffered { time: 5, timestamp: 9, change: Change::new(s("new"), s("old")), prior: s("prior") },
            Buffered { time: -1, timestamp: 0, change: Change::new(None, s("old")), prior: None },
            Buffered { time: i64::MAX, timestamp: 1, change: Change::new(s(""), None), prior: s("") },
        ] {
            let bytes = C::encode(&b).unwrap();
            let back = C::decode(bytes.as_deref()).unwrap();
            assert_eq!(
                (back.time, back.timestamp, back.change, back.prior),
                (b.time, b.timestamp, b.change, b.prior)
            );
        }
        assert!(C::decode(Some(&[0; 19])).is_err());
        assert!(C::decode(None).is_err());
    }
}
