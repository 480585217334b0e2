//! A task: one partition of one sub-topology. It owns its processors and its stream time and
//! applies the decode-error policy to each record it is given.

use regex::Regex;

use crate::config::{
    dlq_headers, OnDecodeError, OnInvalidTimestamp, OnProcessingError, OnProductionError, RecordPolicy,
};
use crate::error::StreamsError;
use crate::graph::{Graph, SourceTopics, TaskBuild};
use crate::metrics::store::StoreSensors;
use crate::metrics::task::{TaskMetrics, TaskProbe, TaskRegistry};
use crate::metrics::RecordingLevel;
use crate::ops::cache::Flush;
use crate::ops::global_table::GlobalStores;
use crate::ops::process::Punctuate;
use crate::ops::source::RawProcessor;
use crate::ops::{Context, RecordCollector};
use crate::processor::PunctuationType;
use crate::record::RawRecord;
use crate::state::{ChangelogBatch, StoreRegistry};

enum Topics {
    Names(Vec<String>),
    Pattern(Regex),
}

impl Topics {
    fn matches(&self, topic: &str) -> bool {
        match self {
            Topics::Names(names) => names.iter().any(|t| t == topic),
            Topics::Pattern(re) => re.is_match(topic),
        }
    }
}

/// Compiles a source pattern so that it must match the whole topic name, as Java's
/// `Pattern.matcher(topic).matches()` does.
pub(crate) fn whole_match(pattern: &str) -> Regex {
    Regex::new(&format!("^(?:{pattern})$")).expect("patterns are checked when the source is added")
}

/// Whether a sub-topology's sources read `topic` (a run-time name).
pub(crate) fn reads(graph: &Graph, subtopology: usize, topic: &str, application_id: &str) -> bool {
    graph.sources_of(subtopology).any(|s| match graph.resolved_topics(s, application_id) {
        SourceTopics::Names(names) => names.iter().any(|t| t == topic),
        SourceTopics::Pattern(p) => whole_match(&p).is_match(topic),
    })
}

/// One partition of one sub-topology.
pub(crate) struct Task {
    /// Each source's topics and processor; its index is its node's slot in `probe`.
    sources: Vec<(Topics, Box<dyn RawProcessor>)>,
    stores: StoreRegistry,
    caches: Vec<Box<dyn Flush>>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
    partition: u32,
    stream_time: i64,
    skipped: u64,
    /// Per input topic, the largest valid timestamp read (Kafka's partition time).
    partition_times: rustc_hash::FxHashMap<std::sync::Arc<str>, i64>,
    /// Kept across restarts in the offset commits (Kafka's `ProcessorMetadata`).
    processor_metadata: std::sync::Arc<crate::ops::ProcessorMetadata>,
    metrics: std::sync::Arc<TaskMetrics>,
    /// Measurements since they were last merged into `metrics`.
    probe: TaskProbe,
    /// Dropped and skipped records already counted in `metrics`.
    dropped_reported: u64,
    /// The Processor API's nodes with punctuation schedules.
    punctuators: Vec<Box<dyn Punctuate>>,
    /// Punctuation calls (by clock) that ran something, and the time they took, since the
    /// thread last asked (its `punctuate` sensors).
    punctuated: (usize, std::time::Duration),
}

impl Task {
    /// Task `(subtopology, partition)`; aggregations cache up to `cache_capacity` keys
    /// between commits (0: none); its processors start at `wall_clock`.
    pub(crate) fn new(
        graph: &Graph,
        (subtopology, partition): (usize, u32),
        application_id: &str,
        cache_capacity: usize,
        globals: &GlobalStores,
        registry: &TaskRegistry,
        wall_clock: i64,
        state: Option<crate::state::persistent::TaskState>,
    ) -> Self {
        let mut build =
            TaskBuild::new(graph, application_id, cache_capacity, globals, partition, wall_clock, state);
        // The sources take the first probe slots, in the order of `sources`.
        for s in graph.sources_of(subtopology) {
            build.e2e_slot(s.node);
        }
        let sources: Vec<_> = graph
            .sources_of(subtopology)
            .map(|s| {
                let topics = match graph.resolved_topics(s, application_id) {
                    SourceTopics::Names(n) => Topics::Names(n),
                    SourceTopics::Pattern(p) => Topics::Pattern(whole_match(&p)),
                };
                (topics, (s.factory)(&mut build))
            })
            .collect();
        // Factories build downstream first, so reversing puts upstream caches first.
        let mut caches = build.caches;
        caches.reverse();
        // Each store's sensors, measuring from `DEBUG` on (Kafka's metered store layer).
        let stores = build
            .stores
            .iter()
            .filter_map(|s| {
                let (meter, kind) = s.meter()?;
                let sensors = std::sync::Arc::new(StoreSensors::new(s.name(), kind));
                if registry.level() >= RecordingLevel::Debug {
                    meter.attach(sensors.clone());
                }
                Some(sensors)
            })
            .collect();
        let metrics = registry.create((subtopology, partition), build.e2e_nodes, sources.len(), stores);
        Task {
            probe: metrics.probe(),
            metrics,
            dropped_reported: 0,
            punctuators: std::mem::take(&mut build.punctuators),
            punctuated: Default::default(),
            sources,
            stores: build.stores,
            caches,
            dropped: build.dropped,
            partition,
            stream_time: i64::MIN,
            skipped: 0,
            partition_times: Default::default(),
            processor_metadata: build.processor_metadata,
        }
    }

    /// Forwards everything the record caches hold (part of every commit). Fails if a
    /// record cannot be written (a codec refused it): the commit does not go through.
    pub(crate) fn flush(
        &mut self,
        wall_clock: i64,
        collector: &mut dyn RecordCollector,
    ) -> Result<(), StreamsError> {
        let mut ctx = Context {
            topic: "",
            partition: self.partition,
            offset: 0,
            stream_time: self.stream_time,
            wall_clock,
            collector,
            failed: None,
            probe: &mut self.probe,
        };
        for cache in &mut self.caches {
            cache.flush(&mut ctx);
        }
        let failed = ctx.failed.take();
        self.publish_metrics();
        failed.map_or(Ok(()), Err)
    }

    /// Merges what the task measured since the last call into its metrics.
    pub(crate) fn publish_metrics(&mut self) {
        let dropped = self.dropped() + self.skipped;
        self.metrics.merge(&mut self.probe, dropped - self.dropped_reported);
        self.dropped_reported = dropped;
    }

    /// The task's metrics.
    pub(crate) fn metrics(&self) -> &TaskMetrics {
        &self.metrics
    }

    /// The task's metrics, shared (for its restoration).
    pub(crate) fn metrics_handle(&self) -> std::sync::Arc<TaskMetrics> {
        self.metrics.clone()
    }

    /// Records dropped by windowed operators for arriving after their window closed.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The task's stores.
    pub(crate) fn stores(&self) -> &StoreRegistry {
        &self.stores
    }

    /// Writes every store's changes since the last commit to its changelog topic, in this
    /// task's partition (the changelog half of every commit, on any backend).
    pub(crate) fn write_changelogs(
        &self,
        application_id: &str,
        collector: &mut dyn RecordCollector,
    ) -> Result<(), StreamsError> {
        for (store, batch) in self.take_changelogs()? {
            let topic = crate::graph::changelog_topic(application_id, &store);
            for (key, value, timestamp) in batch {
                let placement = crate::ops::Placement::Partition(self.partition);
                collector.send_placed(
                    &topic,
                    placement,
                    key,
                    value,
                    timestamp,
                    &crate::record::Headers::new(),
                );
            }
        }
        Ok(())
    }

    /// The changelog offsets its persistent stores reflect, `written` telling the last one
    /// acknowledged per changelog partition (`None`: the task has no persistent store).
    pub(crate) fn checkpoint(
        &self,
        written: impl Fn(&str, u32) -> Option<u64>,
    ) -> Option<crate::state::persistent::Checkpoint> {
        let mut checkpoint = crate::state::persistent::Checkpoint::new();
        let mut persistent = false;
        for disk in self.stores.iter().filter_map(|s| s.disk()) {
            persistent = true;
            let (topic, partition) = disk.changelog();
            if let Some(offset) = written(topic, partition) {
                disk.advance(offset);
            }
            if let Some(offset) = disk.offset() {
                checkpoint.insert((topic.to_string(), partition), offset);
            }
        }
        persistent.then_some(checkpoint)
    }

    /// The metadata committed with the offset of input `topic` (Kafka's
    /// `TopicPartitionMetadata`: the partition's time and the processors' metadata).
    pub(crate) fn commit_metadata(&self, topic: &str) -> String {
        crate::runner::offset_metadata::OffsetMetadata {
            partition_time: self
                .partition_times
                .get(topic)
                .copied()
                .unwrap_or(crate::runner::offset_metadata::UNKNOWN_TIME),
            processors: self.processor_metadata.snapshot(),
        }
        .encode()
    }

    /// Starts from what was committed with its inputs' offsets (Kafka's
    /// `StreamTask.initializeTaskTimeAndProcessorMetadata`): each partition's time, stream
    /// time the largest of them, the processors' metadata merged.
    pub(crate) fn initialize(&mut self, committed: impl IntoIterator<Item = (std::sync::Arc<str>, String)>) {
        for (topic, text) in committed {
            let metadata = crate::runner::offset_metadata::OffsetMetadata::decode(&text);
            if metadata.partition_time != crate::runner::offset_metadata::UNKNOWN_TIME {
                self.partition_times.insert(topic, metadata.partition_time);
                self.stream_time = self.stream_time.max(metadata.partition_time);
            }
            self.processor_metadata.update(&metadata.processors);
        }
    }

    /// Every store's changes since the last commit, by store name.
    pub(crate) fn take_changelogs(&self) -> Result<Vec<(String, ChangelogBatch)>, StreamsError> {
        let mut all = Vec::new();
        for s in self.stores.iter() {
            let batch = s.take_changelog()?;
            if !batch.is_empty() {
                all.push((s.name().to_string(), batch));
            }
        }
        Ok(all)
    }

    /// Records skipped or dead-lettered by the decode-error policy.
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Processes one record of one of the task's input partitions, then runs the
    /// stream-time punctuations it made due (Kafka's `maybePunctuateStreamTime`).
    pub(crate) fn process(
        &mut self,
        raw: &RawRecord,
        wall_clock: i64,
        policy: &RecordPolicy,
        collector: &mut dyn RecordCollector,
    ) -> Result<(), StreamsError> {
        self.process_record(raw, wall_clock, policy, collector)?;
        if self.punctuators.is_empty() || self.stream_time == i64::MIN {
            return Ok(());
        }
        self.punctuate(PunctuationType::StreamTime, self.stream_time, wall_clock, policy, collector)
    }

    /// Whether the task has Processor API nodes (which may punctuate).
    pub(crate) fn has_punctuators(&self) -> bool {
        !self.punctuators.is_empty()
    }

    /// Runs the wall-clock punctuations due at `wall_clock` (Kafka's
    /// `maybePunctuateSystemTime`).
    pub(crate) fn punctuate_wall_clock(
        &mut self,
        wall_clock: i64,
        policy: &RecordPolicy,
        collector: &mut dyn RecordCollector,
    ) -> Result<(), StreamsError> {
        if self.punctuators.is_empty() {
            return Ok(());
        }
        self.punctuate(PunctuationType::WallClockTime, wall_clock, wall_clock, policy, collector)
    }

    /// Every punctuation of `kind` due at `now`. A punctuation that panics, or forwards a
    /// record that cannot be written, goes to the processing-error policy as Kafka's
    /// `StreamTask.punctuate` hands it to the processing exception handler (no record to
    /// dead-letter: it is logged and counted).
    fn punctuate(
        &mut self,
        kind: PunctuationType,
        now: i64,
        wall_clock: i64,
        policy: &RecordPolicy,
        collector: &mut dyn RecordCollector,
    ) -> Result<(), StreamsError> {
        let started = std::time::Instant::now();
        let mut ran = false;
        let result = self.punctuate_all(kind, now, wall_clock, policy, collector, &mut ran);
        if ran {
            self.punctuated.0 += 1;
            self.punctuated.1 += started.elapsed();
        }
        result
    }

    /// Punctuation calls that ran something since the last call, and their time.
    pub(crate) fn take_punctuated(&mut self) -> (usize, std::time::Duration) {
        std::mem::take(&mut self.punctuated)
    }

    fn punctuate_all(
        &mut self,
        kind: PunctuationType,
        now: i64,
        wall_clock: i64,
        policy: &RecordPolicy,
        collector: &mut dyn RecordCollector,
        ran: &mut bool,
    ) -> Result<(), StreamsError> {
        for p in &mut self.punctuators {
            loop {
                let mut ctx = Context {
                    topic: "",
                    partition: self.partition,
                    offset: 0,
                    stream_time: self.stream_time,
                    wall_clock,
                    collector: &mut *collector,
                    failed: None,
                    probe: &mut self.probe,
                };
                let outcome = p.punctuate(&mut ctx, kind, now);
                *ran |= outcome != Ok(false);
                let error = match (outcome, ctx.failed.take()) {
                    (Ok(_), None) => break,
                    (Err(message), _) => message,
                    (Ok(_), Some(failed)) => failed.to_string(),
                };
                let error = StreamsError::Punctuation { node: p.name(), timestamp: now, message: error };
                if matches!(policy.processing, OnProcessingError::Fail) {
                    return Err(error);
                }
                self.skipped += 1;
                tracing::warn!(%error, "skipping a punctuation that failed");
                // A panic stopped at one schedule: the rest of this node's run now.
            }
        }
        Ok(())
    }

    fn process_record(
        &mut self,
        raw: &RawRecord,
        wall_clock: i64,
        policy: &RecordPolicy,
        collector: &mut dyn RecordCollector,
    ) -> Result<(), StreamsError> {
        let retimed;
        let raw = if raw.timestamp >= 0 {
            let time = self.partition_times.entry(raw.topic.clone()).or_insert(raw.timestamp);
            *time = (*time).max(raw.timestamp);
            raw
        } else {
            let partition_time = self.partition_times.get(&raw.topic).copied();
            match (policy.timestamps, partition_time) {
                (OnInvalidTimestamp::UsePartitionTime, Some(t)) => {
                    retimed = RawRecord { timestamp: t, ..raw.clone() };
                    &retimed
                }
                (OnInvalidTimestamp::SkipAndCount, _) => {
                    self.skipped += 1;
                    tracing::warn!(
                        topic = %raw.topic, partition = raw.partition, offset = raw.offset, timestamp = raw.timestamp,
                        "skipping a record with an invalid (negative) timestamp"
                    );
                    return Ok(());
                }
                _ => {
                    return Err(StreamsError::InvalidTimestamp {
                        topic: raw.topic.to_string(),
                        partition: raw.partition,
                        offset: raw.offset,
                        timestamp: raw.timestamp,
                    })
                }
            }
        };
        let debug = self.probe.debug;
        if debug {
            // Kafka's `PartitionGroup.nextRecord`: how far behind stream time the record is.
            self.probe.lateness.add(self.stream_time.saturating_sub(raw.timestamp).max(0) as f64);
        }
        self.stream_time = self.stream_time.max(raw.timestamp);
        let Some(slot) = self.sources.iter().position(|(t, _)| t.matches(&raw.topic)) else {
            return Err(StreamsError::UnknownTopic(raw.topic.to_string()));
        };
        let source = &mut self.sources[slot].1;
        self.probe.e2e(slot, wall_clock, raw.timestamp);
        let started = debug.then(std::time::Instant::now);
        let mut ctx = Context {
            topic: &raw.topic,
            partition: raw.partition,
            offset: raw.offset,
            stream_time: self.stream_time,
            wall_clock,
            collector,
            failed: None,
            probe: &mut self.probe,
        };
        // A panic in a user closure (or a codec encoding what it returned) is this record's
        // processing error, as an exception thrown by a processor is in Kafka Streams.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            source.process_raw(&mut ctx, raw)?;
            ctx.failed.take().map_or(Ok(()), Err)
        }));
        if let Some(started) = started {
            self.probe.process_latency.add(started.elapsed().as_secs_f64() * 1e3);
        }
        let (error, handling) = match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error @ StreamsError::Deserialization { .. })) => {
                let handling = match &policy.decode {
                    OnDecodeError::Fail => Handling::Fail,
                    OnDecodeError::SkipAndCount => Handling::Skip,
                    OnDecodeError::DeadLetter(dlq) => Handling::DeadLetter(dlq),
                };
                (error, (handling, "DeserializationException", "cannot be decoded"))
            }
            // Kafka Streams' `RecordCollectorImpl` sends a serialization failure to the
            // production handler, not the processing one.
            Ok(Err(error @ StreamsError::Serialization { .. })) => {
                let handling = match &policy.production {
                    OnProductionError::Fail => Handling::Fail,
                    OnProductionError::SkipAndCount => Handling::Skip,
                    OnProductionError::DeadLetter(dlq) => Handling::DeadLetter(dlq),
                };
                let error = StreamsError::Production {
                    topic: raw.topic.to_string(),
                    partition: raw.partition,
                    offset: raw.offset,
                    message: error.to_string(),
                };
                (error, (handling, "SerializationException", "produced a record that cannot be serialized"))
            }
            Ok(Err(error)) => return Err(error),
            Err(panic) => {
                let message = crate::error::panic_message(panic.as_ref());
                (processing_error(raw, message), processing_handling(policy))
            }
        };
        let (handling, exception, why) = handling;
        match handling {
            Handling::Fail => Err(error),
            Handling::Skip => {
                self.skipped += 1;
                tracing::warn!(%error, "skipping a record that {why}");
                Ok(())
            }
            Handling::DeadLetter(dlq) => {
                self.skipped += 1;
                tracing::warn!(%error, dead_letter_topic = %dlq, "sending a record that {why} to the dead-letter topic");
                dead_letter(collector, dlq, raw, exception, &error);
                Ok(())
            }
        }
    }
}

/// What a task does with a record it could not take: the configured handler's answer.
enum Handling<'a> {
    Fail,
    Skip,
    DeadLetter(&'a str),
}

/// The processing-error handler's answer, the exception name for a dead letter, and why.
fn processing_handling(policy: &RecordPolicy) -> (Handling<'_>, &'static str, &'static str) {
    let handling = match &policy.processing {
        OnProcessingError::Fail => Handling::Fail,
        OnProcessingError::SkipAndCount => Handling::Skip,
        OnProcessingError::DeadLetter(dlq) => Handling::DeadLetter(dlq),
    };
    (handling, "ProcessingException", "failed processing")
}

fn processing_error(raw: &RawRecord, message: String) -> StreamsError {
    StreamsError::Processing {
        topic: raw.topic.to_string(),
        partition: raw.partition,
        offset: raw.offset,
        message,
    }
}

/// Sends `raw`'s original bytes to the dead-letter topic `dlq`, with KIP-1034's headers saying
/// what failed and where the record came from.
fn dead_letter(
    collector: &mut dyn RecordCollector,
    dlq: &str,
    raw: &RawRecord,
    exception: &str,
    error: &StreamsError,
) {
    let mut headers = raw.headers.clone();
    headers
        .add(dlq_headers::EXCEPTION, Some(exception.as_bytes().to_vec()))
        .add(dlq_headers::MESSAGE, Some(error.to_string().into_bytes()))
        .add(dlq_headers::TOPIC, Some(raw.topic.as_bytes().to_vec()))
        .add(dlq_headers::PARTITION, Some(raw.partition.to_string().into_bytes()))
        .add(dlq_headers::OFFSET, Some(raw.offset.to_string().into_bytes()));
    collector.send(dlq, raw.key.clone(), raw.value.clone(), raw.timestamp, &headers);
}
