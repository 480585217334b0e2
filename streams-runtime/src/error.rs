//! The crate's error type. Errors about a record name its topic, partition and offset.

use std::fmt;

/// A codec could not decode bytes; the caller adds where the bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    message: String,
}

impl CodecError {
    /// A decoding failure with a message that says what was expected.
    pub fn new(message: impl Into<String>) -> Self {
        CodecError { message: message.into() }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodecError {}

/// Which part of a record failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordPart {
    /// The key.
    Key,
    /// The value.
    Value,
}

impl fmt::Display for RecordPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordPart::Key => "key",
            RecordPart::Value => "value",
        })
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamsError {
    /// A record's key or value could not be decoded with the source's codec.
    #[error("cannot decode the {part} of the record at {topic}-{partition} offset {offset} with `{codec}`: {source}")]
    Deserialization {
        /// The topic the record came from.
        topic: String,
        /// Its partition.
        partition: u32,
        /// Its offset.
        offset: u64,
        /// Key or value.
        part: RecordPart,
        /// The codec that refused it.
        codec: String,
        /// What the codec said.
        source: CodecError,
    },
    /// A record's timestamp is negative (Kafka's `FailOnInvalidTimestamp`).
    #[error(
        "the record at {topic}-{partition} offset {offset} has an invalid (negative) timestamp {timestamp}; \
         set `default.timestamp.extractor` to `LogAndSkipOnInvalidTimestamp` or \
         `UsePartitionTimeOnInvalidTimestamp` to process such records"
    )]
    InvalidTimestamp {
        /// The topic the record came from.
        topic: String,
        /// Its partition.
        partition: u32,
        /// Its offset.
        offset: u64,
        /// The timestamp.
        timestamp: i64,
    },
    /// Processing a record failed: a user closure, or a codec encoding what it returned,
    /// panicked (Kafka's processing exceptions, KIP-1033).
    #[error(
        "processing the record at {topic}-{partition} offset {offset} failed: {message}; \
         set `processing.exception.handler` to `LogAndContinueProcessingExceptionHandler` to skip \
         such records, or `errors.dead.letter.queue.topic.name` to send them to a dead-letter topic"
    )]
    Processing {
        /// The topic the record came from.
        topic: String,
        /// Its partition.
        partition: u32,
        /// Its offset.
        offset: u64,
        /// What the panic said.
        message: String,
    },
    /// A punctuation of a processor (the Processor API) panicked, or forwarded a record that
    /// could not be written.
    #[error(
        "the punctuation of processor `{node}` at {timestamp} failed: {message}; \
         set `processing.exception.handler` to `LogAndContinueProcessingExceptionHandler` to go on"
    )]
    Punctuation {
        /// The processor's node.
        node: String,
        /// The time it punctuated at.
        timestamp: i64,
        /// What went wrong.
        message: String,
    },
    /// A record produced while processing an input record could not be serialized (Kafka's
    /// production exception handler decides what happens).
    #[error(
        "processing the record at {topic}-{partition} offset {offset} produced a record that cannot be \
         written: {message}; \
         set `production.exception.handler` to `LogAndContinueProductionExceptionHandler` to skip \
         such records, or `errors.dead.letter.queue.topic.name` to send them to a dead-letter topic"
    )]
    Production {
        /// The input record's topic.
        topic: String,
        /// Its partition.
        partition: u32,
        /// Its offset.
        offset: u64,
        /// What went wrong.
        message: String,
    },
    /// A key or value could not be written with its codec.
    #[error("cannot serialize the {part} for {target} with `{codec}`: {source}")]
    Serialization {
        /// Where it was to go: a topic, or a store's changelog.
        target: String,
        /// Key or value.
        part: RecordPart,
        /// The codec that refused it.
        codec: String,
        /// What the codec said.
        source: CodecError,
    },
    /// A stream thread panicked outside the processing of one record (flushing a cache, a
    /// commit).
    #[error("stream thread {thread} panicked: {message}")]
    ThreadPanicked {
        /// The thread's index, from 1 as in its name.
        thread: usize,
        /// What the panic said.
        message: String,
    },
    /// A topology is not valid (for example a topic read by two sources).
    #[error("invalid topology: {0}")]
    InvalidTopology(String),
    /// The configuration is missing a value or holds a wrong one.
    #[error("configuration: {0}")]
    Config(String),
    /// Another instance's uncaught-exception handler answered
    /// [`ShutdownApplication`](crate::ThreadResponse::ShutdownApplication): every instance stops.
    #[error(
        "the application was shut down at an instance's request (`ShutdownApplication`) after: {reason}"
    )]
    ApplicationShutdown {
        /// The error that made that instance request it.
        reason: String,
    },
    /// A command-line argument or input file is wrong.
    #[error("{0}")]
    Usage(String),
    /// A source topic does not exist (Kafka's `MissingSourceTopicException`).
    #[error("source topic `{0}` does not exist; create it first")]
    MissingSourceTopic(String),
    /// A sink topic does not exist on the Kafka cluster (it is not created for the user).
    #[error("sink topic `{0}` does not exist; create it first")]
    MissingSinkTopic(String),

    /// A Kafka client operation failed.
    #[error("kafka: {0}")]
    Kafka(String),
    /// A topic is not known to the cluster or the test driver.
    #[error("unknown topic `{0}`")]
    UnknownTopic(String),
    /// Topics that must have the same number of partitions do not.
    #[error("topics `{left}` ({left_partitions} partitions) and `{right}` ({right_partitions} partitions) must have the same partition count")]
    NotCopartitioned {
        /// One topic.
        left: String,
        /// Its partition count.
        left_partitions: u32,
        /// The other topic.
        right: String,
        /// Its partition count.
        right_partitions: u32,
    },
}

/// What a panic carried, as text.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
