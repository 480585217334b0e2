//! Codecs: how typed keys and values become Kafka bytes and back, byte-compatible with
//! Kafka's Java serializers.
//!
//! A codec is a type that names a wire format (`String`, `i64`, `Json<Trade>`, ...); its
//! [`Codec::Value`] is what closures see (`String`, `i64`, `Trade`). Kafka's null is `None`
//! at the byte level: `()` is the codec that is always null, and `Option<C>` accepts null
//! where `C` alone would reject it.

mod json;
mod primitive;
mod windowed;

pub use json::Json;
pub use primitive::Bytes;
pub use windowed::{SessionWindowed, TimeWindowed, TimeWindowedOf};

use crate::error::CodecError;

/// A wire format for keys or values, byte-compatible with a Kafka serializer.
///
/// `encode` returns `None` for Kafka's null; `decode` receives `None` for a null key or value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a codec, so it cannot be read from or written to a Kafka topic",
    label = "not a codec",
    note = "built-in codecs: `()`, `String`, `i32`, `i64`, `u32`, `u64`, `f64`, `bool`, `Bytes`, `Option<C>` (accepts null)",
    note = "for a serde type, write `Json<{Self}>`; or implement `streams_runtime::Codec` for your own format",
    note = "the keys of windowed output (`Windowed<K>`) are written with `TimeWindowed<KC>` (time and sliding windows) or `SessionWindowed<KC>` (sessions)"
)]
pub trait Codec: 'static {
    /// The plain type closures see.
    type Value: Clone + Send + Sync + 'static;

    /// Serializes `value`; `Ok(None)` is Kafka's null. An error (a `Serialize` impl that
    /// refuses the value, such as a map with non-string keys as JSON) is the record's
    /// processing error: the task's `processing.exception.handler` decides.
    fn encode(value: &Self::Value) -> Result<Option<Vec<u8>>, CodecError>;

    /// Serializes a value the caller gives up, which may reuse its memory (a `String`
    /// becomes its UTF-8 bytes without a copy).
    fn encode_owned(value: Self::Value) -> Result<Option<Vec<u8>>, CodecError> {
        Self::encode(&value)
    }

    /// Deserializes bytes (`None` for null).
    fn decode(bytes: Option<&[u8]>) -> Result<Self::Value, CodecError>;

    /// Whether `value` is Kafka's null (it encodes as `None`): operators that drop null keys
    /// or values, as Kafka's do, ask this. Only codecs that can hold null override it.
    fn is_null(value: &Self::Value) -> bool {
        let _ = value;
        false
    }

    /// The part of an encoded key that chooses its partition when it is written to a sink,
    /// if not the whole key: a windowed key's inner key, as Kafka's
    /// `WindowedStreamPartitioner` hashes it, so all windows of a key land together.
    fn partition_key(encoded: &[u8]) -> Option<&[u8]> {
        let _ = encoded;
        None
    }

    /// A human-readable name for messages, such as `String` or `Json<Trade>`.
    fn name() -> String {
        std::any::type_name::<Self>().to_string()
    }

    /// The value as JSON, for the command line's output. By default the encoded bytes, as
    /// a string when they are UTF-8 and as an array of numbers otherwise.
    fn to_json(value: &Self::Value) -> serde_json::Value {
        match Self::encode(value) {
            Err(e) => serde_json::Value::String(format!("<cannot serialize: {e}>")),
            Ok(None) => serde_json::Value::Null,
            Ok(Some(bytes)) => match String::from_utf8(bytes) {
                Ok(s) => serde_json::Value::String(s),
                Err(e) => serde_json::Value::from(e.into_bytes()),
            },
        }
    }

    /// A value from JSON, for the command line's input files.
    fn from_json(json: &serde_json::Value) -> Result<Self::Value, CodecError> {
        Err(CodecError::new(format!("`{}` cannot be read from JSON input (got `{json}`)", Self::name())))
    }
}

/// JSON of encoded bytes read with `C` (the bytes as text if `C` cannot read them).
pub(crate) fn bytes_to_json<C: Codec>(bytes: Option<&[u8]>) -> serde_json::Value {
    match C::decode(bytes) {
        Ok(v) => C::to_json(&v),
        Err(_) => match bytes {
            None => serde_json::Value::Null,
            Some(b) => serde_json::Value::String(String::from_utf8_lossy(b).into_owned()),
        },
    }
}

/// Bytes of a JSON value written with `C`.
pub(crate) fn json_to_bytes<C: Codec>(json: &serde_json::Value) -> Result<Option<Vec<u8>>, CodecError> {
    C::encode(&C::from_json(json)?)
}

/// The codec a value type is written with when a sink names none (`to(topic)`).
///
/// Built-in types have one; a serde type gets one with `#[derive(Json)]`
/// (from `streams_runtime::Json`), which makes it `Json<Self>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no default codec, so this stage cannot write it to a topic",
    label = "no default codec for `{Self}`",
    note = "for a serde type, add `#[derive(streams_runtime::Json)]` next to `Serialize, Deserialize`",
    note = "or name the codecs at the sink: `to_with::<KeyCodec, ValueCodec>(topic)`, e.g. `Json<{Self}>`",
    note = "a borrowed value (`&str`, `&T`) cannot be read back from a topic: return an owned one from the closure that made it (`.to_string()`, `.clone()`)"
)]
pub trait DefaultCodec: Sized + Clone + Send + Sync + 'static {
    /// The codec used for this type.
    type Codec: Codec<Value = Self>;
}

/// Asserts at compile time that codec `C` reads and writes `T`.
///
/// This is the bound sinks with explicit codecs carry, so that a mismatch names both types.
#[diagnostic::on_unimplemented(
    message = "the codec `{Self}` does not read and write `{T}`",
    label = "this codec does not match the stream's type `{T}`",
    note = "a codec's value type must be the stream's type: for `{T}`, use its own codec (or `Json<{T}>` for a serde type)",
    note = "the keys of windowed output (`Windowed<K>`) are written with `TimeWindowed<KC>` (time and sliding windows) or `SessionWindowed<KC>` (sessions)"
)]
pub trait CodecFor<T>: Codec<Value = T> {}

impl<C: Codec> CodecFor<C::Value> for C {}

/// Encodes with `C`, for callers that hold a value and a codec type.
pub fn encode<C: Codec>(value: &C::Value) -> Result<Option<Vec<u8>>, CodecError> {
    C::encode(value)
}
