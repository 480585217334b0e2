//! Interactive queries in the codecs' JSON form: what a store answers whatever its types, for
//! [`KafkaStreams::query`](crate::KafkaStreams::query) and the HTTP endpoint.
//!
//! Kafka Streams' `ReadOnlyKeyValueStore` (`get`, `range`, `all`), `ReadOnlyWindowStore`
//! (`fetch(key, timeFrom, timeTo)`, `all`) and `ReadOnlySessionStore` (`fetch(key)`, `all`).
//! Keys are given and answered as the key codec's JSON; values as the value codec's.

use serde_json::{json, Value};

use super::StoreCodecs;
use crate::codec::Codec;
use crate::error::CodecError;

/// A query of one store.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreQuery {
    /// A key-value store's value of one key (Kafka's `get`).
    Get {
        /// The key, in the key codec's JSON form.
        key: Value,
    },
    /// A key-value store's entries with `from <= key <= to` in the key's byte order (a
    /// missing bound is open), as Kafka's `range`.
    Range {
        /// The smallest key, if any.
        from: Option<Value>,
        /// The largest key, if any.
        to: Option<Value>,
    },
    /// Every entry of the store (windows and sessions with their keys).
    All,
    /// A window store's windows of `key` starting in `[from, to]` (ms), or a session store's
    /// sessions of `key` overlapping it, as Kafka's `fetch`.
    Fetch {
        /// The key.
        key: Value,
        /// The earliest time (ms).
        from: i64,
        /// The latest time (ms).
        to: i64,
    },
}

impl StoreQuery {
    fn what(&self) -> &'static str {
        match self {
            StoreQuery::Get { .. } => "a key look-up",
            StoreQuery::Range { .. } => "a range",
            StoreQuery::All => "all",
            StoreQuery::Fetch { .. } => "a fetch of a key's windows",
        }
    }
}

/// Why a query has no answer.
#[allow(missing_docs)] // each variant's message says what its fields are
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// No store of this name on this instance (Kafka's `InvalidStateStoreException`).
    #[error("no store `{0}` on this instance")]
    UnknownStore(String),
    /// The key is not in the store.
    #[error("no such key")]
    NotFound,
    /// The key (or a bound) cannot be read by the store's key codec.
    #[error("the key cannot be read by the store's key codec {codec}: {reason}")]
    BadKey { codec: String, reason: String },
    /// The store does not answer this kind of query.
    #[error("a {kind} store does not answer {query}; it answers {answers}")]
    Unsupported { kind: &'static str, query: &'static str, answers: &'static str },
    /// The key belongs to a partition another instance owns.
    #[error("the key belongs to partition {partition}, owned by {owner}")]
    NotLocal { partition: u32, owner: String },
    /// The instance is rebalancing, or no instance owns the key's partition now.
    #[error("the key's partition {partition} has no owner now (rebalancing)")]
    Unavailable { partition: u32 },
}

impl QueryError {
    pub(crate) fn unsupported(kind: &'static str, query: &StoreQuery, answers: &'static str) -> Self {
        QueryError::Unsupported { kind, query: query.what(), answers }
    }
}

/// A store's codecs in JSON form.
pub(crate) struct JsonCodecs<K, V> {
    pub(crate) key_from_json: fn(&Value) -> Result<K, CodecError>,
    pub(crate) key_to_json: fn(&K) -> Value,
    pub(crate) value_to_json: fn(&V) -> Value,
    pub(crate) key_codec: fn() -> String,
}

impl<K, V> JsonCodecs<K, V> {
    pub(crate) fn of<KC: Codec<Value = K>, VC: Codec<Value = V>>() -> Self {
        JsonCodecs {
            key_from_json: KC::from_json,
            key_to_json: KC::to_json,
            value_to_json: VC::to_json,
            key_codec: KC::name,
        }
    }

    /// A key given as JSON, read by the key codec.
    pub(crate) fn key(&self, json: &Value) -> Result<K, QueryError> {
        (self.key_from_json)(json)
            .map_err(|e| QueryError::BadKey { codec: (self.key_codec)(), reason: e.to_string() })
    }
}

/// Key-value entries in the key's byte order (Kafka's in-memory store is a `TreeMap` of
/// bytes), within the query's bounds.
pub(crate) fn key_value_answer<K, V>(
    entries: Vec<(K, V)>,
    query: &StoreQuery,
    codecs: &StoreCodecs<K, V>,
    json: &JsonCodecs<K, V>,
) -> Result<Value, QueryError> {
    let bound = |b: &Option<Value>| -> Result<Option<Vec<u8>>, QueryError> {
        b.as_ref().map(|v| json.key(v).map(|k| codecs.key_order(&k).unwrap_or_default())).transpose()
    };
    let (from, to) = match query {
        StoreQuery::Range { from, to } => (bound(from)?, bound(to)?),
        _ => (None, None),
    };
    let mut rows: Vec<(Vec<u8>, K, V)> = entries
        .into_iter()
        .map(|(k, v)| (codecs.key_order(&k).unwrap_or_default(), k, v))
        .filter(|(b, _, _)| from.as_ref().is_none_or(|f| b >= f) && to.as_ref().is_none_or(|t| b <= t))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::Array(
        rows.iter()
            .map(|(_, k, v)| json!({"key": (json.key_to_json)(k), "value": (json.value_to_json)(v)}))
            .collect(),
    ))
}
