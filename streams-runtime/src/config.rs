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

/// What to do when processing a record fails: a user closure (or a codec encoding its
/// result) panics. Kafka's `processing.exception.handler` (KIP-1033), plus the dead-letter
/// queue of KIP-1034.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnProcessingError {
    /// Stop with an error naming the topic, partition and offset
    /// (`LogAndFailProcessingExceptionHandler`): the stream thread's uncaught-exception
    /// handler decides what happens next.
    #[default]
    Fail,
    /// Log it, count it in `skipped_records`, and go on with the next record
    /// (`LogAndContinueProcessingExceptionHandler`). What the record did before the failure
    /// (state updated, records forwarded) stays, as in Kafka Streams.
    SkipAndCount,
    /// Send the input record's original bytes to this topic, with headers saying why, count
    /// it, and go on.
    DeadLetter(String),
}

/// What to do when a record a topology produces cannot be serialized (Kafka's
/// `production.exception.handler`, whose `handleSerializationException` decides, apart from
/// the processing-error handler), plus the dead-letter queue of KIP-1034.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnProductionError {
    /// Stop with an error naming the input record's topic, partition and offset
    /// (`DefaultProductionExceptionHandler`).
    #[default]
    Fail,
    /// Log it, count it in `skipped_records`, and go on: what a custom handler answering
    /// `CONTINUE` does in Kafka Streams (`LogAndContinueProductionExceptionHandler` here).
    SkipAndCount,
    /// Send the input record's original bytes to this topic, with headers saying why, count
    /// it, and go on.
    DeadLetter(String),
}

/// How a task treats records it cannot take as they are.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordPolicy {
    pub(crate) decode: OnDecodeError,
    pub(crate) timestamps: OnInvalidTimestamp,
    pub(crate) processing: OnProcessingError,
    pub(crate) production: OnProductionError,
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

    /// Logs each key that no part of this runtime reads, as Kafka logs unused configs ("The
    /// configuration 'x' was supplied but isn't a known config."), with the known key it is
    /// closest to; and each Kafka Streams key this runtime does not act on. Returns the
    /// unknown keys.
    pub fn log_unknown_keys(&self) -> Vec<String> {
        let mut unknown = Vec::new();
        for key in self.values.keys() {
            if KNOWN.contains(&key.as_str()) || CLIENT_PREFIXES.iter().any(|p| key.starts_with(p)) {
                continue;
            }
            if IGNORED.contains(&key.as_str()) {
                tracing::warn!("The configuration '{key}' is a Kafka Streams config this runtime does not use; it has no effect.");
                continue;
            }
            match closest_known(key) {
                Some(close) => tracing::warn!(
                    "The configuration '{key}' was supplied but isn't a known config. Did you mean '{close}'?"
                ),
                None => tracing::warn!("The configuration '{key}' was supplied but isn't a known config."),
            }
            unknown.push(key.clone());
        }
        unknown
    }

    /// `application.id` (required): the consumer group and the prefix of internal topics.
    pub fn application_id(&self) -> Result<&str, StreamsError> {
        self.get("application.id").ok_or_else(|| StreamsError::Config("`application.id` is required".into()))
    }

    /// `bootstrap.servers`, if set (the embedded cluster is used otherwise).
    pub fn bootstrap_servers(&self) -> Option<&str> {
        self.get("bootstrap.servers").filter(|s| !s.is_empty())
    }

    /// `num.stream.threads` (default 1, at most [`MAX_STREAM_THREADS`]).
    pub fn num_stream_threads(&self) -> Result<usize, StreamsError> {
        let n: usize = self.parse("num.stream.threads", 1)?;
        if n == 0 || n > MAX_STREAM_THREADS {
            return Err(StreamsError::Config(format!(
                "`num.stream.threads` = {n}: it must be between 1 and {MAX_STREAM_THREADS}"
            )));
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

    /// `state.dir` (default `<temp dir>/kafka-streams`, as Kafka's
    /// `${java.io.tmpdir}/kafka-streams`): where persistent stores and their checkpoints live,
    /// under `<state.dir>/<application.id>/`.
    pub fn state_dir(&self) -> std::path::PathBuf {
        match self.get("state.dir") {
            Some(dir) => std::path::PathBuf::from(dir),
            None => std::env::temp_dir().join("kafka-streams"),
        }
    }

    /// Whether the DSL's key-value stores are persistent: `default.dsl.store` = `rocksDB`
    /// (Kafka's name for its persistent stores; here an LSM store in `state.dir`) or
    /// `in_memory`; or Kafka 3.7's `dsl.store.suppliers.class` naming
    /// `BuiltInDslStoreSuppliers$RocksDBDslStoreSuppliers` or `…$InMemoryDslStoreSuppliers`.
    /// The default is `in_memory` here (Kafka's is `rocksDB`). Window and session stores stay
    /// in memory either way.
    pub fn persistent_dsl_stores(&self) -> Result<bool, StreamsError> {
        if let Some(class) = self.get("dsl.store.suppliers.class") {
            return match class {
                c if c.ends_with("RocksDBDslStoreSuppliers") => Ok(true),
                c if c.ends_with("InMemoryDslStoreSuppliers") => Ok(false),
                other => Err(StreamsError::Config(format!(
                    "`dsl.store.suppliers.class` = `{other}`; expected `RocksDBDslStoreSuppliers` or `InMemoryDslStoreSuppliers`"
                ))),
            };
        }
        match self.get("default.dsl.store").unwrap_or("in_memory") {
            s if s.eq_ignore_ascii_case("rocksdb") => Ok(true),
            s if s.eq_ignore_ascii_case("in_memory") => Ok(false),
            other => Err(StreamsError::Config(format!(
                "`default.dsl.store` = `{other}`; expected `rocksDB` (persistent) or `in_memory`"
            ))),
        }
    }

    /// `repartition.purge.interval.ms` (default 30000): how often records of repartition
    /// topics below the committed offsets are deleted.
    pub fn repartition_purge_interval(&self) -> Result<Duration, StreamsError> {
        Ok(Duration::from_millis(self.parse("repartition.purge.interval.ms", 30_000)?))
    }

    /// `windowstore.changelog.additional.retention.ms` (default one day): added to a window
    /// or session store's retention for its changelog topic's `retention.ms`.
    pub fn window_changelog_additional_retention(&self) -> Result<i64, StreamsError> {
        self.parse("windowstore.changelog.additional.retention.ms", 86_400_000)
    }

    /// `topology.optimization` (default `none`): the optimizations
    /// [`crate::StreamsBuilder::build_with`] applies.
    pub fn topology_optimization(&self) -> Result<crate::graph::optimize::Optimizations, StreamsError> {
        crate::graph::optimize::Optimizations::parse(self.get("topology.optimization").unwrap_or("none"))
    }

    /// `metrics.recording.level` (default `INFO`): which sensors record.
    pub fn metrics_recording_level(&self) -> Result<crate::metrics::RecordingLevel, StreamsError> {
        crate::metrics::RecordingLevel::parse(self.get("metrics.recording.level").unwrap_or("INFO"))
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
        let bytes: usize = self.parse(key, DEFAULT_CACHE_MAX_BYTES)?;
        Ok(cache_capacity_of(bytes))
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

    /// The processing-error policy: `processing.exception.handler`
    /// (`LogAndFailProcessingExceptionHandler`, the default, or
    /// `LogAndContinueProcessingExceptionHandler`, with or without their package), and the
    /// dead-letter topic `errors.dead.letter.queue.topic.name`, which takes precedence.
    pub fn on_processing_error(&self) -> Result<OnProcessingError, StreamsError> {
        if let Some(topic) = self.get("errors.dead.letter.queue.topic.name").filter(|t| !t.is_empty()) {
            return Ok(OnProcessingError::DeadLetter(topic.to_string()));
        }
        match self.get("processing.exception.handler") {
            None => Ok(OnProcessingError::Fail),
            Some(h) if h.ends_with("LogAndFailProcessingExceptionHandler") => Ok(OnProcessingError::Fail),
            Some(h) if h.ends_with("LogAndContinueProcessingExceptionHandler") => {
                Ok(OnProcessingError::SkipAndCount)
            }
            Some(other) => Err(StreamsError::Config(format!(
                "`processing.exception.handler` = `{other}`; expected \
                 `LogAndFailProcessingExceptionHandler` or `LogAndContinueProcessingExceptionHandler`"
            ))),
        }
    }

    /// The serialization-error policy: `production.exception.handler`
    /// (`DefaultProductionExceptionHandler`, the default, or
    /// `LogAndContinueProductionExceptionHandler`, with or without a package), and the
    /// dead-letter topic `errors.dead.letter.queue.topic.name`, which takes precedence.
    pub fn on_production_error(&self) -> Result<OnProductionError, StreamsError> {
        if let Some(topic) = self.get("errors.dead.letter.queue.topic.name").filter(|t| !t.is_empty()) {
            return Ok(OnProductionError::DeadLetter(topic.to_string()));
        }
        match self.get("production.exception.handler") {
            None => Ok(OnProductionError::Fail),
            Some(h) if h.ends_with("DefaultProductionExceptionHandler") => Ok(OnProductionError::Fail),
            Some(h) if h.ends_with("LogAndContinueProductionExceptionHandler") => {
                Ok(OnProductionError::SkipAndCount)
            }
            Some(other) => Err(StreamsError::Config(format!(
                "`production.exception.handler` = `{other}`; expected \
                 `DefaultProductionExceptionHandler` or `LogAndContinueProductionExceptionHandler`"
            ))),
        }
    }

    /// The policies a task applies to records it cannot take as they are.
    pub(crate) fn record_policy(&self) -> Result<RecordPolicy, StreamsError> {
        Ok(RecordPolicy {
            decode: self.on_decode_error()?,
            timestamps: self.on_invalid_timestamp()?,
            processing: self.on_processing_error()?,
            production: self.on_production_error()?,
        })
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

/// The most stream threads one instance runs (each is an OS thread with its own clients).
pub const MAX_STREAM_THREADS: usize = 1_024;

/// Every key this runtime reads.
const KNOWN: &[&str] = &[
    "topology.optimization",
    "application.id",
    "application.server",
    "bootstrap.servers",
    "num.stream.threads",
    "processing.guarantee",
    "commit.interval.ms",
    "repartition.purge.interval.ms",
    "windowstore.changelog.additional.retention.ms",
    "metrics.recording.level",
    "statestore.cache.max.bytes",
    "cache.max.bytes.buffering",
    "default.timestamp.extractor",
    "deserialization.exception.handler",
    "default.deserialization.exception.handler",
    "processing.exception.handler",
    "production.exception.handler",
    "errors.dead.letter.queue.topic.name",
    "replication.factor",
    "state.dir",
    "default.dsl.store",
    "dsl.store.suppliers.class",
];

/// Prefixes of keys passed on to the Kafka clients.
const CLIENT_PREFIXES: &[&str] = &["consumer.", "producer.", "admin.", "security.", "sasl.", "ssl."];

/// Kafka Streams keys this runtime accepts but does not act on (yet).
const IGNORED: &[&str] = &[
    "client.id",
    "num.standby.replicas",
    "max.task.idle.ms",
    "task.timeout.ms",
    "default.key.serde",
    "default.value.serde",
    "acceptable.recovery.lag",
    "max.warmup.replicas",
    "probing.rebalance.interval.ms",
    "rack.aware.assignment.tags",
    "window.size.ms",
    "poll.ms",
    "buffered.records.per.partition",
    "state.cleanup.delay.ms",
];

/// The known key at the smallest edit distance from `key`, if it is close (a typo).
fn closest_known(key: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .chain(IGNORED)
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 5))
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_key_is_unknown_and_the_closest_known_key_is_named() {
        let mut c = StreamsConfig::new("app");
        c.set("comit.interval.ms", "100").set("consumer.fetch.max.bytes", "1").set("state.dir", "/tmp");
        c.set("colour", "blue");
        assert_eq!(c.log_unknown_keys(), vec!["colour".to_string(), "comit.interval.ms".to_string()]);
        assert_eq!(closest_known("comit.interval.ms"), Some("commit.interval.ms"));
        assert_eq!(closest_known("num.streams.threads"), Some("num.stream.threads"));
        assert_eq!(closest_known("colour"), None);
    }

    #[test]
    fn stream_threads_out_of_range_are_refused_with_a_message() {
        let mut c = StreamsConfig::new("app");
        c.set("num.stream.threads", "100000000");
        let e = c.num_stream_threads().unwrap_err().to_string();
        assert_eq!(e, "configuration: `num.stream.threads` = 100000000: it must be between 1 and 1024");
    }
}

/// Kafka's default `statestore.cache.max.bytes`: 10 MiB.
pub const DEFAULT_CACHE_MAX_BYTES: usize = 10 * 1024 * 1024;

/// How many keys a record cache of `bytes` holds (an estimated 128 bytes a key).
pub(crate) fn cache_capacity_of(bytes: usize) -> usize {
    bytes / 128
}
