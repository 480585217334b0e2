//! Records: key, value, timestamp (ms since the epoch) and headers, as Kafka carries them.

/// Kafka record headers: ordered, repeatable keys, nullable values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, Option<Vec<u8>>)>);

impl Headers {
    /// No headers.
    pub const fn new() -> Self {
        Headers(Vec::new())
    }

    /// Appends a header (Kafka allows the same key more than once).
    pub fn add(&mut self, key: impl Into<String>, value: Option<Vec<u8>>) -> &mut Self {
        self.0.push((key.into(), value));
        self
    }

    /// The last value of `key`, as Kafka's `Headers.lastHeader`.
    pub fn last(&self, key: &str) -> Option<Option<&[u8]>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_deref())
    }

    /// All headers in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&[u8]>)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A typed record flowing through a topology.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<K, V> {
    /// The key (`()` or `None` for Kafka's null key, depending on the codec).
    pub key: K,
    /// The value.
    pub value: V,
    /// Event time in milliseconds since the epoch.
    pub timestamp: i64,
    /// Headers, carried through stateless operators unchanged.
    pub headers: Headers,
}

impl<K, V> Record<K, V> {
    /// A record without headers.
    pub fn new(key: K, value: V, timestamp: i64) -> Self {
        Record { key, value, timestamp, headers: Headers::new() }
    }

    /// The same record with another key and value, keeping timestamp and headers.
    pub fn with<K2, V2>(self, key: K2, value: V2) -> Record<K2, V2> {
        Record { key, value, timestamp: self.timestamp, headers: self.headers }
    }

    /// The same record with another value.
    pub fn with_value<V2>(self, value: V2) -> Record<K, V2> {
        Record { key: self.key, value, timestamp: self.timestamp, headers: self.headers }
    }

    /// The same record with another key.
    pub fn with_key<K2>(self, key: K2) -> Record<K2, V> {
        Record { key, value: self.value, timestamp: self.timestamp, headers: self.headers }
    }
}

/// A record as it sits in a topic partition: bytes, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// Topic (shared by every record of the topic).
    pub topic: std::sync::Arc<str>,
    /// Partition.
    pub partition: u32,
    /// Offset within the partition.
    pub offset: u64,
    /// Key bytes; `None` is null.
    pub key: Option<Vec<u8>>,
    /// Value bytes; `None` is null (a tombstone).
    pub value: Option<Vec<u8>>,
    /// Timestamp (ms).
    pub timestamp: i64,
    /// Headers.
    pub headers: Headers,
}

/// A table update: the new value and, where the table keeps them, the old one. `new: None`
/// deletes the key (a tombstone).
#[derive(Debug, Clone, PartialEq)]
pub struct Change<V> {
    /// The value after the update; `None` deletes.
    pub new: Option<V>,
    /// The value before the update, when known.
    pub old: Option<V>,
    /// Whether the update is the key's latest by timestamp: `false` only for an out-of-order
    /// update of a versioned table (Kafka's `Change.isLatest`, KIP-914), which joins and
    /// `group_by` skip.
    pub is_latest: bool,
}

impl<V> Change<V> {
    /// An update that is its key's latest.
    pub fn new(new: Option<V>, old: Option<V>) -> Self {
        Change { new, old, is_latest: true }
    }
}

/// Types that can flow through a topology.
pub trait Data: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> Data for T {}
