//! Codecs for Kafka's built-in serializers: Void, String, Integer, Long, Double, Boolean,
//! ByteArray, and nullable wrappers.

use super::{Codec, DefaultCodec};
use serde_json::Value;

use crate::error::CodecError;

fn non_null<'a>(bytes: Option<&'a [u8]>, codec: &'static str) -> Result<&'a [u8], CodecError> {
    bytes.ok_or_else(|| {
        CodecError::new(format!("null where `{codec}` expects data; use `Option<{codec}>` to accept null"))
    })
}

fn fixed<const N: usize>(bytes: Option<&[u8]>, codec: &'static str) -> Result<[u8; N], CodecError> {
    let bytes = non_null(bytes, codec)?;
    bytes.try_into().map_err(|_| CodecError::new(format!("`{codec}` expects {N} bytes, got {}", bytes.len())))
}

/// Kafka's `VoidSerializer`: always null.
impl Codec for () {
    type Value = ();
    fn encode(_: &()) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(None)
    }
    fn is_null(_: &()) -> bool {
        true
    }
    fn decode(bytes: Option<&[u8]>) -> Result<(), CodecError> {
        match bytes {
            None => Ok(()),
            Some(b) => Err(CodecError::new(format!(
                "the `()` codec expects null, got {} bytes; use `Option<String>` or `Bytes` to read them",
                b.len()
            ))),
        }
    }
    fn name() -> String {
        "()".into()
    }
    fn to_json(_: &()) -> Value {
        Value::Null
    }
    fn from_json(json: &Value) -> Result<(), CodecError> {
        match json {
            Value::Null => Ok(()),
            other => Err(CodecError::new(format!("the `()` codec expects null, got `{other}`"))),
        }
    }
}

/// Kafka's `StringSerializer` (UTF-8).
impl Codec for String {
    type Value = String;
    fn encode(v: &String) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(Some(v.as_bytes().to_vec()))
    }
    fn encode_owned(v: String) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(Some(v.into_bytes()))
    }
    fn decode(bytes: Option<&[u8]>) -> Result<String, CodecError> {
        let bytes = non_null(bytes, "String")?;
        String::from_utf8(bytes.to_vec()).map_err(|e| CodecError::new(format!("invalid UTF-8: {e}")))
    }
    fn name() -> String {
        "String".into()
    }
    fn to_json(v: &String) -> Value {
        Value::String(v.clone())
    }
    fn from_json(json: &Value) -> Result<String, CodecError> {
        match json {
            Value::String(s) => Ok(s.clone()),
            Value::Null => Err(CodecError::new("null where `String` expects text; use `Option<String>`")),
            other => Ok(other.to_string()),
        }
    }
}

macro_rules! big_endian {
    ($($t:ty => $java:literal),*) => {$(
        #[doc = concat!("Kafka's `", $java, "`: big-endian.")]
        impl Codec for $t {
            type Value = $t;
            fn encode(v: &$t) -> Result<Option<Vec<u8>>, CodecError> {
                Ok(Some(v.to_be_bytes().to_vec()))
            }
            fn decode(bytes: Option<&[u8]>) -> Result<$t, CodecError> {
                Ok(<$t>::from_be_bytes(fixed(bytes, stringify!($t))?))
            }
            fn name() -> String {
                stringify!($t).into()
            }
            fn to_json(v: &$t) -> Value {
                serde_json::json!(v)
            }
            fn from_json(json: &Value) -> Result<$t, CodecError> {
                let parsed = match json {
                    Value::String(s) => s.trim().parse::<$t>().ok(),
                    other => serde_json::from_value::<$t>(other.clone()).ok(),
                };
                parsed.ok_or_else(|| CodecError::new(format!("`{json}` is not a `{}`", stringify!($t))))
            }
        }
        impl DefaultCodec for $t {
            type Codec = $t;
        }
    )*};
}

big_endian!(
    i32 => "IntegerSerializer",
    i64 => "LongSerializer",
    u32 => "IntegerSerializer (same bits, unsigned)",
    u64 => "LongSerializer (same bits, unsigned)",
    f64 => "DoubleSerializer"
);

/// Kafka's `BooleanSerializer`: one byte, 1 or 0.
impl Codec for bool {
    type Value = bool;
    fn encode(v: &bool) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(Some(vec![u8::from(*v)]))
    }
    fn decode(bytes: Option<&[u8]>) -> Result<bool, CodecError> {
        match fixed::<1>(bytes, "bool")? {
            [0] => Ok(false),
            [1] => Ok(true),
            [b] => Err(CodecError::new(format!("`bool` expects 0 or 1, got {b}"))),
        }
    }
    fn name() -> String {
        "bool".into()
    }
    fn to_json(v: &bool) -> Value {
        Value::Bool(*v)
    }
    fn from_json(json: &Value) -> Result<bool, CodecError> {
        json.as_bool().ok_or_else(|| CodecError::new(format!("`{json}` is not a `bool`")))
    }
}

/// Kafka's `ByteArraySerializer`: the bytes as they are. Its value type is `Vec<u8>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bytes;

impl Codec for Bytes {
    type Value = Vec<u8>;
    fn encode(v: &Vec<u8>) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(Some(v.clone()))
    }
    fn encode_owned(v: Vec<u8>) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(Some(v))
    }
    fn decode(bytes: Option<&[u8]>) -> Result<Vec<u8>, CodecError> {
        Ok(non_null(bytes, "Bytes")?.to_vec())
    }
    fn name() -> String {
        "Bytes".into()
    }
    fn from_json(json: &Value) -> Result<Vec<u8>, CodecError> {
        match json {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            other => serde_json::from_value(other.clone())
                .map_err(|_| CodecError::new(format!("`{other}` is neither text nor an array of bytes"))),
        }
    }
}

/// Any codec, plus Kafka's null as `None`.
impl<C: Codec> Codec for Option<C> {
    type Value = Option<C::Value>;
    fn encode(v: &Option<C::Value>) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(match v {
            Some(v) => C::encode(v)?,
            None => None,
        })
    }
    fn encode_owned(v: Option<C::Value>) -> Result<Option<Vec<u8>>, CodecError> {
        Ok(match v {
            Some(v) => C::encode_owned(v)?,
            None => None,
        })
    }
    fn decode(bytes: Option<&[u8]>) -> Result<Option<C::Value>, CodecError> {
        bytes.map(|b| C::decode(Some(b))).transpose()
    }
    fn is_null(v: &Option<C::Value>) -> bool {
        v.as_ref().is_none_or(C::is_null)
    }
    fn name() -> String {
        format!("Option<{}>", C::name())
    }
    fn to_json(v: &Option<C::Value>) -> Value {
        v.as_ref().map_or(Value::Null, C::to_json)
    }
    fn from_json(json: &Value) -> Result<Option<C::Value>, CodecError> {
        match json {
            Value::Null => Ok(None),
            other => C::from_json(other).map(Some),
        }
    }
}

impl DefaultCodec for () {
    type Codec = ();
}
impl DefaultCodec for String {
    type Codec = String;
}
impl DefaultCodec for bool {
    type Codec = bool;
}
impl DefaultCodec for Vec<u8> {
    type Codec = Bytes;
}
impl<T: DefaultCodec> DefaultCodec for Option<T> {
    type Codec = Option<T::Codec>;
}
