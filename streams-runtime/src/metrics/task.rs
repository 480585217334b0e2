//! Task- and processor-node-level metrics (Kafka's `TaskMetrics`, `ProcessorNodeMetrics`),
//! and `metrics.recording.level`.
//!
//! A task gathers its measurements in a [`TaskProbe`] it owns (no lock on the way of a
//! record: operators reach it through their `Context`) and merges them into its shared
//! [`TaskMetrics`] after each batch, under one lock. As in Kafka, every metric is listed at
//! every level; those of a level above the configured one are never recorded (rates and
//! totals stay 0, averages NaN).

use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use super::store::StoreSensors;
use super::{Acc, Metric, MetricName, MetricValue, Sampled};
use crate::error::StreamsError;

/// Task-level, tags `thread-id` and `task-id`.
pub const TASK_GROUP: &str = "stream-task-metrics";
/// Processor-node-level, tags `thread-id`, `task-id` and `processor-node-id`.
pub const NODE_GROUP: &str = "stream-processor-node-metrics";

/// Kafka's `metrics.recording.level`: which sensors record. `Info` (the default) keeps the
/// cheap ones; `Debug` adds those that cost per record (process latency, record lateness,
/// per-node process rates); `Trace` records what `Debug` does here (Kafka adds state-store
/// end-to-end latency, which this runtime does not measure yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordingLevel {
    /// `INFO`.
    #[default]
    Info,
    /// `DEBUG`.
    Debug,
    /// `TRACE`.
    Trace,
}

impl RecordingLevel {
    /// The level of `metrics.recording.level` = `value`; as Kafka's validator, exactly
    /// `INFO`, `DEBUG` or `TRACE`.
    pub fn parse(value: &str) -> Result<RecordingLevel, StreamsError> {
        match value {
            "INFO" => Ok(RecordingLevel::Info),
            "DEBUG" => Ok(RecordingLevel::Debug),
            "TRACE" => Ok(RecordingLevel::Trace),
            other => Err(StreamsError::Config(format!(
                "`metrics.recording.level` = `{other}`; expected `INFO`, `DEBUG` or `TRACE`"
            ))),
        }
    }
}

/// What a task measures while it processes, without a lock; merged by
/// [`TaskMetrics::merge`].
pub(crate) struct TaskProbe {
    /// Whether DEBUG sensors record.
    pub(crate) debug: bool,
    /// Wall-clock time minus record time where a record enters a source node or reaches a
    /// terminal node, by node slot (see [`TaskMetrics::nodes`]).
    e2e: Vec<Acc>,
    /// Per record, the time the task took (DEBUG).
    pub(crate) process_latency: Acc,
    /// Per record, how far behind stream time it was (DEBUG).
    pub(crate) lateness: Acc,
    /// Per punctuator call, the time it took (DEBUG).
    pub(crate) punctuate_latency: Acc,
}

impl TaskProbe {
    /// A record of time `timestamp` entered or reached node `slot` at `wall_clock`.
    pub(crate) fn e2e(&mut self, slot: usize, wall_clock: i64, timestamp: i64) {
        if let Some(acc) = self.e2e.get_mut(slot) {
            acc.add(wall_clock.saturating_sub(timestamp) as f64);
        }
    }
}

/// A task's sensors, read by [`KafkaStreams::metrics`](crate::KafkaStreams::metrics).
pub(crate) struct TaskMetrics {
    thread_id: String,
    /// (sub-topology, partition); Kafka's `TaskId` text is `<sub-topology>_<partition>`.
    key: (usize, u32),
    task_id: String,
    level: RecordingLevel,
    /// The nodes with an end-to-end latency sensor: the sources, then the terminal nodes.
    nodes: Vec<String>,
    /// How many of `nodes` are sources.
    sources: usize,
    /// Its stores' sensors.
    stores: Vec<Arc<StoreSensors>>,
    sensors: Mutex<TaskSensors>,
}

struct TaskSensors {
    process_latency: Sampled,
    punctuate_latency: Sampled,
    /// Records processed, one sample per batch (`process-rate`/`-total`, DEBUG).
    process: Sampled,
    /// Per source node, records it took (DEBUG).
    source_process: Vec<Sampled>,
    dropped: Sampled,
    lateness: Sampled,
    e2e: Vec<Sampled>,
    /// Kafka's `Value` stats: the last value recorded (0 before any).
    process_ratio: f64,
    buffered: f64,
    /// Records restored, one sample per batch (DEBUG).
    restore: Sampled,
    /// Changelog offsets left to restore (INFO).
    restore_remaining: f64,
}

impl TaskMetrics {
    pub(crate) fn new(
        thread_id: &str,
        key: (usize, u32),
        level: RecordingLevel,
        nodes: Vec<String>,
        sources: usize,
        stores: Vec<Arc<StoreSensors>>,
    ) -> Self {
        let now = Instant::now();
        let sampled = |n: usize| (0..n).map(|_| Sampled::new(now)).collect::<Vec<_>>();
        TaskMetrics {
            thread_id: thread_id.to_string(),
            key,
            task_id: format!("{}_{}", key.0, key.1),
            level,
            sources,
            stores,
            sensors: Mutex::new(TaskSensors {
                process_latency: Sampled::new(now),
                punctuate_latency: Sampled::new(now),
                process: Sampled::new(now),
                source_process: sampled(nodes.len()),
                dropped: Sampled::new(now),
                lateness: Sampled::new(now),
                e2e: sampled(nodes.len()),
                process_ratio: 0.0,
                buffered: 0.0,
                restore: Sampled::new(now),
                restore_remaining: 0.0,
            }),
            nodes,
        }
    }

    fn sensors(&self) -> std::sync::MutexGuard<'_, TaskSensors> {
        self.sensors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts `n` more dropped records (the global task's tables).
    fn add_dropped(&self, n: u64) {
        if n > 0 {
            let mut d = Acc::default();
            d.add_many(n, n as f64);
            self.sensors().dropped.merge(&d, Instant::now());
        }
    }

    /// A probe for this task, its node slots empty.
    pub(crate) fn probe(&self) -> TaskProbe {
        TaskProbe {
            debug: self.level >= RecordingLevel::Debug,
            e2e: vec![Acc::default(); self.nodes.len()],
            process_latency: Acc::default(),
            lateness: Acc::default(),
            punctuate_latency: Acc::default(),
        }
    }

    /// Records what `probe` gathered, and `dropped` records dropped since the last merge;
    /// empties the probe.
    pub(crate) fn merge(&self, probe: &mut TaskProbe, dropped: u64) {
        let now = Instant::now();
        let mut s = self.sensors();
        if dropped > 0 {
            let mut d = Acc::default();
            d.add_many(dropped, dropped as f64);
            s.dropped.merge(&d, now);
        }
        let mut processed = 0;
        for (slot, acc) in probe.e2e.iter_mut().enumerate() {
            if probe.debug && slot < self.sources && acc.count > 0 {
                processed += acc.count;
                let mut p = Acc::default();
                p.add_many(acc.count, acc.count as f64);
                s.source_process[slot].merge(&p, now);
            }
            s.e2e[slot].merge(acc, now);
            *acc = Acc::default();
        }
        if probe.debug {
            if processed > 0 {
                let mut p = Acc::default();
                p.add_many(1, processed as f64);
                s.process.merge(&p, now);
            }
            s.process_latency.merge(&probe.process_latency, now);
            s.lateness.merge(&probe.lateness, now);
            s.punctuate_latency.merge(&probe.punctuate_latency, now);
        }
        probe.process_latency = Acc::default();
        probe.lateness = Acc::default();
        probe.punctuate_latency = Acc::default();
    }

    /// A changelog of `remaining` offsets is about to be restored (Kafka's
    /// `StreamTask.recordRestoration` with `initRemaining`).
    pub(crate) fn restore_started(&self, remaining: u64) {
        self.sensors().restore_remaining += remaining as f64;
    }

    /// `records` more were restored. As Kafka's `TaskMetrics.restoreSensor`, `restore-rate`
    /// counts these calls (batches) per second while `restore-total` sums the records.
    pub(crate) fn restored(&self, records: u64) {
        if records == 0 {
            return;
        }
        let mut s = self.sensors();
        s.restore_remaining -= records as f64;
        if self.level >= RecordingLevel::Debug {
            let mut batch = Acc::default();
            batch.add_many(1, records as f64);
            s.restore.merge(&batch, Instant::now());
        }
    }

    /// The task's share of the thread's processing time in the last turn (INFO), and the
    /// records it has buffered (DEBUG): Kafka's `recordProcessTimeRatioAndBufferSize`.
    pub(crate) fn record_turn(&self, process_ratio: f64, buffered: usize) {
        let mut s = self.sensors();
        s.process_ratio = process_ratio;
        if self.level >= RecordingLevel::Debug {
            s.buffered = buffered as f64;
        }
    }

    /// The task's metrics and its nodes'.
    pub(crate) fn report(&self, out: &mut Vec<Metric>) {
        let now = Instant::now();
        let s = self.sensors();
        let tags = || vec![("thread-id", self.thread_id.clone()), ("task-id", self.task_id.clone())];
        let mut task = |name: &str, description: &str, value: f64| {
            out.push(Metric {
                name: MetricName { group: TASK_GROUP, name: name.to_string(), tags: tags() },
                description: description.to_string(),
                value: MetricValue::Number(value),
            })
        };
        task("process-latency-avg", "The average latency of calls to process", s.process_latency.avg(now));
        task("process-latency-max", "The maximum latency of calls to process", s.process_latency.max(now));
        task("process-rate", "The average number of calls to process per second", s.process.sum_rate(now));
        task("process-total", "The total number of calls to process", s.process.total_sum());
        let punctuate = &s.punctuate_latency;
        task("punctuate-latency-avg", "The average latency of calls to punctuate", punctuate.avg(now));
        task("punctuate-latency-max", "The maximum latency of calls to punctuate", punctuate.max(now));
        task(
            "punctuate-rate",
            "The average number of calls to punctuate per second",
            punctuate.count_rate(now),
        );
        task("punctuate-total", "The total number of calls to punctuate", punctuate.total_count());
        task(
            "dropped-records-rate",
            "The average number of dropped records per second",
            s.dropped.sum_rate(now),
        );
        task("dropped-records-total", "The total number of dropped records", s.dropped.total_sum());
        task(
            "active-process-ratio",
            "The fraction of time the thread spent on processing this task among all assigned active tasks",
            s.process_ratio,
        );
        task(
            "active-buffer-count",
            "The count of buffered records that are polled from consumer and not yet processed for this active task",
            s.buffered,
        );
        task("restore-rate", "The average number of records restored per second", s.restore.count_rate(now));
        task("restore-total", "The total number of records restored", s.restore.total_sum());
        task(
            "restore-remaining-records-total",
            "The total number of records remaining to be restored",
            s.restore_remaining,
        );
        let lateness = "lateness of records in milliseconds, measured by comparing the record timestamp with the current stream time";
        task("record-lateness-avg", &format!("The observed average {lateness}"), s.lateness.avg(now));
        task("record-lateness-max", &format!("The observed maximum {lateness}"), s.lateness.max(now));
        let e2e = "end-to-end latency of a record, measuring by comparing the record timestamp with the system time when it has been fully processed by the node";
        for (slot, node) in self.nodes.iter().enumerate() {
            let mut put = |name: &str, description: String, value: f64| {
                let mut tags = tags();
                tags.push(("processor-node-id", node.clone()));
                out.push(Metric {
                    name: MetricName { group: NODE_GROUP, name: name.to_string(), tags },
                    description,
                    value: MetricValue::Number(value),
                })
            };
            let stat = &s.e2e[slot];
            put("record-e2e-latency-avg", format!("The average {e2e}"), stat.avg(now));
            put("record-e2e-latency-min", format!("The minimum {e2e}"), stat.min(now));
            put("record-e2e-latency-max", format!("The maximum {e2e}"), stat.max(now));
            // Kafka's `processAtSourceSensor`: source nodes only.
            if slot < self.sources {
                let process = &s.source_process[slot];
                put(
                    "process-rate",
                    "The average number of calls to process per second".into(),
                    process.sum_rate(now),
                );
                put("process-total", "The total number of calls to process".into(), process.total_sum());
            }
        }
        drop(s);
        for store in &self.stores {
            store.report(&self.thread_id, &self.task_id, out);
        }
    }
}

/// The global task's metrics (Kafka's task `-1_-1`, which updates the global tables): the
/// records with a null key its tables dropped, as Kafka's `KTableSource` counts them.
pub(crate) struct GlobalTaskMetrics {
    metrics: TaskMetrics,
    /// Counted by the global stores.
    dropped: Arc<std::sync::atomic::AtomicU64>,
    reported: std::sync::atomic::AtomicU64,
}

impl GlobalTaskMetrics {
    pub(crate) fn new(
        thread_id: &str,
        level: RecordingLevel,
        dropped: Arc<std::sync::atomic::AtomicU64>,
    ) -> GlobalTaskMetrics {
        let mut metrics =
            TaskMetrics::new(thread_id, (usize::MAX, u32::MAX), level, Vec::new(), 0, Vec::new());
        metrics.task_id = "-1_-1".to_string();
        GlobalTaskMetrics { metrics, dropped, reported: Default::default() }
    }

    pub(crate) fn report(&self, out: &mut Vec<Metric>) {
        use std::sync::atomic::Ordering;
        let now = self.dropped.load(Ordering::Relaxed);
        let before = self.reported.swap(now, Ordering::Relaxed);
        self.metrics.add_dropped(now.saturating_sub(before));
        self.metrics.report(out);
    }
}

/// Where the tasks of one thread (or of the test driver) get their metrics, and where they
/// are listed while they live: a task's metrics go away with the task, as Kafka removes a
/// closed task's sensors.
pub(crate) struct TaskRegistry {
    thread_id: String,
    level: RecordingLevel,
    tasks: Mutex<Vec<Weak<TaskMetrics>>>,
}

impl TaskRegistry {
    pub(crate) fn new(thread_id: &str, level: RecordingLevel) -> TaskRegistry {
        TaskRegistry { thread_id: thread_id.to_string(), level, tasks: Mutex::default() }
    }

    /// The recording level of its tasks.
    pub(crate) fn level(&self) -> RecordingLevel {
        self.level
    }

    /// The metrics of a new task `key` whose first `sources` of `nodes` are its sources, and
    /// with `stores`.
    pub(crate) fn create(
        &self,
        key: (usize, u32),
        nodes: Vec<String>,
        sources: usize,
        stores: Vec<Arc<StoreSensors>>,
    ) -> Arc<TaskMetrics> {
        let task = Arc::new(TaskMetrics::new(&self.thread_id, key, self.level, nodes, sources, stores));
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| t.strong_count() > 0);
        tasks.push(Arc::downgrade(&task));
        task
    }

    /// The metrics of the global task, whose tables count their drops in `dropped`.
    pub(crate) fn global_task(&self, dropped: Arc<std::sync::atomic::AtomicU64>) -> GlobalTaskMetrics {
        GlobalTaskMetrics::new(&self.thread_id, self.level, dropped)
    }

    /// Every live task's metrics, in task order.
    pub(crate) fn report(&self, out: &mut Vec<Metric>) {
        let mut live: Vec<Arc<TaskMetrics>> =
            self.tasks.lock().unwrap_or_else(|p| p.into_inner()).iter().filter_map(Weak::upgrade).collect();
        live.sort_by_key(|t| t.key);
        for t in live {
            t.report(out);
        }
    }
}
