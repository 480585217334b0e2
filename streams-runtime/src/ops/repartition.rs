//! Repartitioning: records whose key changed are written to an internal topic
//! `<application.id>-<name>-repartition`, keyed anew, and read back by the next
//! sub-topology. Records with a null key are dropped on the way, except before a left or
//! outer join, which joins them (KIP-962).

use std::marker::PhantomData;

use super::{Context, Processor};
use crate::codec::Codec;
use crate::error::CodecError;
use crate::record::{Change, Record};

/// Writes records to a repartition topic with codecs `KC`/`VC`.
pub(crate) struct RepartitionSinkProc<KC, VC> {
    pub(crate) topic: String,
    /// Whether null keys go through too (the repartition feeds a left or outer join).
    pub(crate) keep_null_keys: bool,
    /// Where it records end-to-end latency (a sink is a terminal node).
    pub(crate) e2e_slot: usize,
    pub(crate) _codecs: PhantomData<fn(KC, VC)>,
}

impl<KC: Codec, VC: Codec> Processor<KC::Value, VC::Value> for RepartitionSinkProc<KC, VC> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<KC::Value, VC::Value>) {
        ctx.probe.e2e(self.e2e_slot, ctx.wall_clock, record.timestamp);
        let Record { key, value, timestamp, headers } = record;
        let Some((key, value)) = ctx.encoded::<KC, VC>(&self.topic, key, value) else { return };
        if key.is_none() && !self.keep_null_keys {
            tracing::debug!(topic = %self.topic, "dropping a record with a null key before repartitioning");
            return;
        }
        ctx.collector.send(&self.topic, key, value, timestamp, &headers);
    }
}

/// A table update on a repartition topic, in Kafka's `ChangedSerializer` layout, so Java
/// and Rust instances of one application can share the topic: `old ++ 0x00` for a removal,
/// `new ++ 0x01` for an addition, and `varint(len(new)) ++ new ++ old ++ 0x02` for both
/// (the varint zigzag-encoded, as Kafka's `ByteUtils.writeVarint`). Reads flags 3–5 too
/// (the same with an `isLatest` byte before the flag).
pub(crate) struct ChangeCodec<C>(PhantomData<fn() -> C>);

fn write_varint(value: i32, out: &mut Vec<u8>) {
    let mut v = ((value << 1) ^ (value >> 31)) as u32;
    while v & !0x7f != 0 {
        out.push(((v & 0x7f) | 0x80) as u8);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(bytes: &[u8]) -> Result<(i32, usize), CodecError> {
    let mut value: u32 = 0;
    for (i, b) in bytes.iter().enumerate().take(5) {
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((((value >> 1) as i32) ^ -((value & 1) as i32), i + 1));
        }
    }
    Err(CodecError::new("a table update's length is not a valid varint"))
}

impl<C: Codec> Codec for ChangeCodec<C> {
    type Value = Change<C::Value>;

    fn encode(value: &Change<C::Value>) -> Result<Option<Vec<u8>>, CodecError> {
        let one = |v: &Option<C::Value>| -> Result<Option<Vec<u8>>, CodecError> {
            v.as_ref().map(|v| C::encode(v).map(Option::unwrap_or_default)).transpose()
        };
        let (new, old) = (one(&value.new)?, one(&value.old)?);
        let mut out = Vec::new();
        match (new, old) {
            (Some(new), Some(old)) => {
                write_varint(new.len() as i32, &mut out);
                out.extend(new);
                out.extend(old);
                out.push(2);
            }
            (Some(new), None) => {
                out.extend(new);
                out.push(1);
            }
            (None, Some(old)) => {
                out.extend(old);
                out.push(0);
            }
            (None, None) => return Ok(None),
        }
        Ok(Some(out))
    }

    fn decode(bytes: Option<&[u8]>) -> Result<Change<C::Value>, CodecError> {
        let Some((&flag, rest)) = bytes.and_then(|b| b.split_last()) else {
            return Err(CodecError::new("empty table update on a repartition topic"));
        };
        // Flags 3-5 carry an `isLatest` byte before the flag.
        let (is_latest, rest) = match (flag, rest.split_last()) {
            (3.., Some((&latest, rest))) => (latest != 0, rest),
            _ => (true, rest),
        };
        let one = |b: &[u8]| C::decode(Some(b)).map(Some);
        Ok(match flag {
            0 | 3 => Change { new: None, old: one(rest)?, is_latest },
            1 | 4 => Change { new: one(rest)?, old: None, is_latest },
            2 | 5 => {
                let (len, at) = read_varint(rest)?;
                let len =
                    usize::try_from(len).map_err(|_| CodecError::new("negative length in a table update"))?;
                let (new, old) = rest[at..]
                    .split_at_checked(len)
                    .ok_or_else(|| CodecError::new("a table update shorter than its length"))?;
                Change { new: one(new)?, old: one(old)?, is_latest }
            }
            other => return Err(CodecError::new(format!("unknown table update flag {other}"))),
        })
    }

    fn name() -> String {
        format!("ChangeCodec<{}>", C::name())
    }
}
