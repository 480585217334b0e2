//! `Json<T>`: any serde type as UTF-8 JSON, the format of Kafka's `JsonSerializer`s.

use std::fmt;
use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Serialize};

use super::Codec;
use crate::error::CodecError;

/// The JSON codec for a serde type `T`: closures see `T`, the topic holds UTF-8 JSON.
pub struct Json<T>(PhantomData<fn() -> T>);

impl<T> fmt::Debug for Json<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json<{}>", std::any::type_name::<T>())
    }
}

impl<T> Codec for Json<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn encode(value: &T) -> Result<Option<Vec<u8>>, CodecError> {
        // Fails when the `Serialize` impl reports an error: a map whose keys are not strings,
        // a custom impl that refuses the value.
        serde_json::to_vec(value)
            .map(Some)
            .map_err(|e| CodecError::new(format!("`{}` cannot be written as JSON: {e}", Self::name())))
    }

    fn decode(bytes: Option<&[u8]>) -> Result<T, CodecError> {
        let bytes = bytes.ok_or_else(|| {
            CodecError::new(format!(
                "null where `{}` expects JSON; use `Option<{}>` to accept null",
                Self::name(),
                Self::name()
            ))
        })?;
        serde_json::from_slice(bytes).map_err(|e| CodecError::new(format!("invalid JSON: {e}")))
    }

    fn name() -> String {
        let full = std::any::type_name::<T>();
        format!("Json<{}>", full.rsplit("::").next().unwrap_or(full))
    }

    fn to_json(value: &T) -> serde_json::Value {
        serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
    }

    fn from_json(json: &serde_json::Value) -> Result<T, CodecError> {
        serde_json::from_value(json.clone())
            .map_err(|e| CodecError::new(format!("invalid JSON for {}: {e}", Self::name())))
    }
}
