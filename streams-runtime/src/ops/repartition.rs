//! Repartitioning: records whose key changed are written to an internal topic
//! `<application.id>-<name>-repartition`, keyed anew, and read back by the next
//! sub-topology. Records with a null key are dropped on the way (they have no partition).

use std::marker::PhantomData;

use super::{Context, Processor};
use crate::codec::Codec;
use crate::error::CodecError;
use crate::record::{Change, Record};

/// Writes records to a repartition topic with codecs `KC`/`VC`.
pub(crate) struct RepartitionSinkProc<KC, VC> {
    pub(crate) topic: String,
    pub(crate) _codecs: PhantomData<fn(KC, VC)>,
}

impl<KC: Codec, VC: Codec> Processor<KC::Value, VC::Value> for RepartitionSinkProc<KC, VC> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<KC::Value, VC::Value>) {
        let Record { key, value, timestamp, headers } = record;
        let Some(key) = KC::encode_owned(key) else {
            tracing::debug!(topic = %self.topic, "dropping a record with a null key before repartitioning");
            return;
        };
        ctx.collector.send(&self.topic, Some(key), VC::encode_owned(value), timestamp, &headers);
    }
}

/// A table update on a repartition topic: a leading byte says whether the value is added
/// (`1`) or subtracted (`0`), then the value's bytes. Internal to this library.
pub(crate) struct ChangeCodec<C>(PhantomData<fn() -> C>);

impl<C: Codec> Codec for ChangeCodec<C> {
    type Value = Change<C::Value>;

    fn encode(value: &Change<C::Value>) -> Option<Vec<u8>> {
        let (tag, v) = match (&value.new, &value.old) {
            (Some(new), _) => (1u8, new),
            (None, Some(old)) => (0u8, old),
            (None, None) => return None,
        };
        let mut out = vec![tag];
        out.extend(C::encode(v).unwrap_or_default());
        Some(out)
    }

    fn decode(bytes: Option<&[u8]>) -> Result<Change<C::Value>, CodecError> {
        let Some((tag, rest)) = bytes.and_then(|b| b.split_first()) else {
            return Err(CodecError::new("empty table update on a repartition topic"));
        };
        let value = C::decode(Some(rest))?;
        Ok(match tag {
            1 => Change { new: Some(value), old: None },
            _ => Change { new: None, old: Some(value) },
        })
    }

    fn name() -> String {
        format!("ChangeCodec<{}>", C::name())
    }
}
