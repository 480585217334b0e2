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

/// What to do with a record whose timestamp is negative (Kafka's
/// `default.timestamp.extractor`: such a timestamp means "none", from an old producer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnInvalidTimestamp {
    /// Stop with an error naming the topic, partition and offset (`FailOnInvalidTimestamp`).
    #[default]
    Fail,
    /// Log it, count it in `skipped_records`, and go on (`LogAndSkipOnInvalidTimestamp`).
    SkipAndCount,
    /// Give it the largest timestamp seen so far on its partition, or fail if there is none
    /// yet (`UsePartitionTimeOnInvalidTimestamp`).
    UsePartitionTime,
}

/// How a task treats records it cannot take as they are.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordPolicy {
    pub(crate) decode: OnDecodeError,
    pub(crate) timestamps: OnInvalidTimestamp,
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

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::StreamsError;

/// `processing.guarantee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingGuarantee {
    /// `at_least_once` (the default).
    AtLeastOnce,
    /// `exactly_once_v2`.
    ExactlyOnceV2,
}

/// Configuration with Kafka Streams' names, read from Java properties and `--set`.
///
/// Keys prefixed `consumer.`, `producer.` or `admin.` are kept for the Kafka backend.
#[derive(Debug, Clone, Default)]
pub struct StreamsConfig {
    values: BTreeMap<String, String>,
}

impl StreamsConfig {
    /// A configuration with only `application.id` set.
    pub fn new(application_id: &str) -> Self {
        let mut c = StreamsConfig::default();
        c.set("application.id", application_id);
        c
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.values.insert(key.trim().to_string(), value.into().trim().to_string());
        self
    }

    /// Reads a Java properties file (`key=value`, `key: value`, `#` comments).
    pub fn load_properties(&mut self, path: &std::path::Path) -> Result<&mut Self, StreamsError> {
        let file = std::fs::File::open(path)
            .map_err(|e| StreamsError::Config(format!("cannot read `{}`: {e}", path.display())))?;
        let map = java_properties::read(std::io::BufReader::new(file))
            .map_err(|e| StreamsError::Config(format!("`{}`: {e}", path.display())))?;
        for (k, v) in map {
            self.set(&k, v);
        }
        Ok(self)
    }

    /// A raw value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Every key and value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn parse<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, StreamsError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => {
                v.parse().map_err(|_| StreamsError::Config(format!("`{key}` = `{v}` is not a valid number")))
            }
        }
    }

    /// `application.id` (required): the consumer group and the prefix of internal topics.
    pub fn application_id(&self) -> Result<&str, StreamsError> {
        self.get("application.id").ok_or_else(|| StreamsError::Config("`application.id` is required".into()))
    }

    /// `bootstrap.servers`, if set (the embedded cluster is used otherwise).
    pub fn bootstrap_servers(&self) -> Option<&str> {
        self.get("bootstrap.servers").filter(|s| !s.is_empty())
    }

    /// `num.stream.threads` (default 1).
    pub fn num_stream_threads(&self) -> Result<usize, StreamsError> {
        let n: usize = self.parse("num.stream.threads", 1)?;
        if n == 0 {
            return Err(StreamsError::Config("`num.stream.threads` must be at least 1".into()));
        }
        Ok(n)
    }

    /// `processing.guarantee` (default `at_least_once`).
    pub fn processing_guarantee(&self) -> Result<ProcessingGuarantee, StreamsError> {
        match self.get("processing.guarantee").unwrap_or("at_least_once") {
            "at_least_once" => Ok(ProcessingGuarantee::AtLeastOnce),
            "exactly_once_v2" | "exactly_once" => Ok(ProcessingGuarantee::ExactlyOnceV2),
            other => Err(StreamsError::Config(format!(
                "`processing.guarantee` = `{other}`; expected `at_least_once` or `exactly_once_v2`"
            ))),
        }
    }

    /// `commit.interval.ms` (default 30000, or 100 under exactly-once).
    pub fn commit_interval(&self) -> Result<Duration, StreamsError> {
        let default = match self.processing_guarantee()? {
            ProcessingGuarantee::AtLeastOnce => 30_000,
            ProcessingGuarantee::ExactlyOnceV2 => 100,
        };
        Ok(Duration::from_millis(self.parse("commit.interval.ms", default)?))
    }

    /// How many keys each aggregation's record cache holds between commits: Kafka's
    /// `statestore.cache.max.bytes` (default 10 MiB; the older `cache.max.bytes.buffering`
    /// too) at an estimated 128 bytes a key. 0 forwards every update at once.
    pub fn cache_capacity(&self) -> Result<usize, StreamsError> {
        let key = if self.get("statestore.cache.max.bytes").is_some() {
            "statestore.cache.max.bytes"
        } else {
            "cache.max.bytes.buffering"
        };
        let bytes: usize = self.parse(key, 10 * 1024 * 1024)?;
        Ok(bytes / 128)
    }

    /// The invalid-timestamp policy: `default.timestamp.extractor` (`FailOnInvalidTimestamp`,
    /// the default; `LogAndSkipOnInvalidTimestamp`; `UsePartitionTimeOnInvalidTimestamp`;
    /// Kafka's class names, with or without their package).
    pub fn on_invalid_timestamp(&self) -> Result<OnInvalidTimestamp, StreamsError> {
        match self.get("default.timestamp.extractor") {
            None => Ok(OnInvalidTimestamp::Fail),
            Some(e) if e.ends_with("FailOnInvalidTimestamp") => Ok(OnInvalidTimestamp::Fail),
            Some(e) if e.ends_with("LogAndSkipOnInvalidTimestamp") => Ok(OnInvalidTimestamp::SkipAndCount),
            Some(e) if e.ends_with("UsePartitionTimeOnInvalidTimestamp") => {
                Ok(OnInvalidTimestamp::UsePartitionTime)
            }
            Some(other) => Err(StreamsError::Config(format!(
                "default.timestamp.extractor `{other}` is not one of `FailOnInvalidTimestamp`, \
                 `LogAndSkipOnInvalidTimestamp`, `UsePartitionTimeOnInvalidTimestamp`"
            ))),
        }
    }

    /// The decode-error policy: `deserialization.exception.handler` (`LogAndFail…`,
    /// `LogAndContinue…`, or `fail` / `continue`), and the dead-letter topic
    /// `errors.dead.letter.queue.topic.name`, which takes precedence.
    pub fn on_decode_error(&self) -> Result<OnDecodeError, StreamsError> {
        if let Some(topic) = self.get("errors.dead.letter.queue.topic.name").filter(|t| !t.is_empty()) {
            return Ok(OnDecodeError::DeadLetter(topic.to_string()));
        }
        let handler = self
            .get("deserialization.exception.handler")
            .or_else(|| self.get("default.deserialization.exception.handler"));
        match handler {
            None => Ok(OnDecodeError::Fail),
            Some(h) if h.ends_with("LogAndFailExceptionHandler") || h == "fail" => Ok(OnDecodeError::Fail),
            Some(h) if h.ends_with("LogAndContinueExceptionHandler") || h == "continue" => Ok(OnDecodeError::SkipAndCount),
            Some(other) => Err(StreamsError::Config(format!(
                "`deserialization.exception.handler` = `{other}`; expected `LogAndFailExceptionHandler` or `LogAndContinueExceptionHandler`"
            ))),
        }
    }
}
