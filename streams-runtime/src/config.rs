//! Configuration shared by the test driver and the runners.

/// What to do with a record whose key or value cannot be decoded (Kafka's
/// `deserialization.exception.handler`, plus the dead-letter queue of KIP-1034).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnDecodeError {
    /// Stop with an error naming the topic, partition and offset (`LogAndFailExceptionHandler`).
    #[default]
    Fail,
    /// Log it, count it in `skipped_records`, and go on (`LogAndContinueExceptionHandler`).
    SkipAndCount,
    /// Send the record's original bytes to this topic, with headers saying why, count it,
    /// and go on.
    DeadLetter(String),
}

/// Header names on dead-lettered records (KIP-1034's names).
pub mod dlq_headers {
    /// The error's kind.
    pub const EXCEPTION: &str = "__streams.errors.exception";
    /// The error's message.
    pub const MESSAGE: &str = "__streams.errors.message";
    /// The topic the record came from.
    pub const TOPIC: &str = "__streams.errors.topic";
    /// Its partition, as decimal text.
    pub const PARTITION: &str = "__streams.errors.partition";
    /// Its offset, as decimal text.
    pub const OFFSET: &str = "__streams.errors.offset";
}
