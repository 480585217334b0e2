//! Windowed key codecs, byte-compatible with Kafka Streams: time windows as
//! `key ++ i64 BE start` (`TimeWindowedSerializer`), session windows as
//! `key ++ i64 BE end ++ i64 BE start` (`SessionKeySchema`).

use std::marker::PhantomData;

use serde_json::{json, Value};

use super::{Codec, DefaultCodec};
use crate::error::CodecError;
use crate::windows::{SessionWindow, Window, Windowed};

fn split_tail<'a, const N: usize>(
    bytes: Option<&'a [u8]>,
    what: &str,
) -> Result<(&'a [u8], [i64; N]), CodecError> {
    let bytes = bytes.ok_or_else(|| CodecError::new(format!("null where a {what} key expects data")))?;
    let tail = 8 * N;
    if bytes.len() < tail {
        return Err(CodecError::new(format!(
            "a {what} key needs at least {tail} bytes, got {}",
            bytes.len()
        )));
    }
    let (key, rest) = bytes.split_at(bytes.len() - tail);
    let mut out = [0i64; N];
    for (i, chunk) in rest.chunks_exact(8).enumerate() {
        out[i] = i64::from_be_bytes(chunk.try_into().expect("8 bytes"));
    }
    Ok((key, out))
}

/// A time-windowed key whose window size is not known to the reader: the end decodes as
/// `i64::MAX`, as Kafka's `TimeWindowedDeserializer` without a size. Use
/// [`TimeWindowedOf`] to read ends back.
pub struct TimeWindowed<KC>(PhantomData<fn() -> KC>);

/// A time-windowed key of windows `SIZE_MS` long: the end decodes as `start + SIZE_MS`.
pub struct TimeWindowedOf<KC, const SIZE_MS: i64>(PhantomData<fn() -> KC>);

fn encode_time<KC: Codec>(value: &Windowed<KC::Value>) -> Result<Option<Vec<u8>>, CodecError> {
    let mut out = KC::encode(&value.key)?.unwrap_or_default();
    out.extend_from_slice(&value.window.start.to_be_bytes());
    Ok(Some(out))
}

fn decode_time<KC: Codec>(
    bytes: Option<&[u8]>,
    size: Option<i64>,
) -> Result<Windowed<KC::Value>, CodecError> {
    let (key, [start]) = split_tail::<1>(bytes, "time-windowed")?;
    let end = size.map_or(i64::MAX, |s| start.saturating_add(s));
    Ok(Windowed { key: KC::decode(Some(key))?, window: Window { start, end } })
}

fn windowed_json<KC: Codec>(value: &Windowed<KC::Value>, end: Option<i64>) -> Value {
    json!({ "key": KC::to_json(&value.key), "start": value.window.start, "end": end })
}

impl<KC: Codec> Codec for TimeWindowed<KC>
where
    KC::Value: std::hash::Hash + Eq,
{
    type Value = Windowed<KC::Value>;
    fn encode(value: &Self::Value) -> Result<Option<Vec<u8>>, CodecError> {
        encode_time::<KC>(value)
    }
    fn decode(bytes: Option<&[u8]>) -> Result<Self::Value, CodecError> {
        decode_time::<KC>(bytes, None)
    }
    fn partition_key(encoded: &[u8]) -> Option<&[u8]> {
        encoded.len().checked_sub(8).map(|n| &encoded[..n])
    }
    fn name() -> String {
        format!("TimeWindowed<{}>", KC::name())
    }
    fn to_json(value: &Self::Value) -> Value {
        let end = (value.window.end != i64::MAX).then_some(value.window.end);
        windowed_json::<KC>(value, end)
    }
}

impl<KC: Codec, const SIZE_MS: i64> Codec for TimeWindowedOf<KC, SIZE_MS>
where
    KC::Value: std::hash::Hash + Eq,
{
    type Value = Windowed<KC::Value>;
    fn encode(value: &Self::Value) -> Result<Option<Vec<u8>>, CodecError> {
        encode_time::<KC>(value)
    }
    fn decode(bytes: Option<&[u8]>) -> Result<Self::Value, CodecError> {
        decode_time::<KC>(bytes, Some(SIZE_MS))
    }
    fn partition_key(encoded: &[u8]) -> Option<&[u8]> {
        encoded.len().checked_sub(8).map(|n| &encoded[..n])
    }
    fn name() -> String {
        format!("TimeWindowedOf<{}, {SIZE_MS}>", KC::name())
    }
    fn to_json(value: &Self::Value) -> Value {
        windowed_json::<KC>(value, Some(value.window.end))
    }
}

/// A session-windowed key: `key ++ end ++ start`.
pub struct SessionWindowed<KC>(PhantomData<fn() -> KC>);

impl<KC: Codec> Codec for SessionWindowed<KC>
where
    KC::Value: std::hash::Hash + Eq,
{
    type Value = Windowed<KC::Value, SessionWindow>;
    fn encode(value: &Self::Value) -> Result<Option<Vec<u8>>, CodecError> {
        let mut out = KC::encode(&value.key)?.unwrap_or_default();
        out.extend_from_slice(&value.window.end.to_be_bytes());
        out.extend_from_slice(&value.window.start.to_be_bytes());
        Ok(Some(out))
    }
    fn decode(bytes: Option<&[u8]>) -> Result<Self::Value, CodecError> {
        let (key, [end, start]) = split_tail::<2>(bytes, "session-windowed")?;
        Ok(Windowed { key: KC::decode(Some(key))?, window: SessionWindow { start, end } })
    }
    fn partition_key(encoded: &[u8]) -> Option<&[u8]> {
        encoded.len().checked_sub(16).map(|n| &encoded[..n])
    }
    fn name() -> String {
        format!("SessionWindowed<{}>", KC::name())
    }
    fn to_json(value: &Self::Value) -> Value {
        json!({ "key": KC::to_json(&value.key), "start": value.window.start, "end": value.window.end })
    }
}

/// Session keys are written in the session layout.
impl<K: DefaultCodec + std::hash::Hash + Eq> DefaultCodec for Windowed<K, SessionWindow> {
    type Codec = SessionWindowed<K::Codec>;
}

/// Windowed keys are written in the time-windowed layout unless a sink names another codec.
impl<K: DefaultCodec + std::hash::Hash + Eq> DefaultCodec for Windowed<K> {
    type Codec = TimeWindowed<K::Codec>;
}
