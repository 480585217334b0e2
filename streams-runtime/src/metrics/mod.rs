//! Kafka Streams' built-in metrics, with its names, groups and tags
//! (`StreamsMetricsImpl`, `ClientMetrics`, `ThreadMetrics`): what [`KafkaStreams::metrics`]
//! returns and what the Prometheus endpoint ([`prometheus`]) serves.
//!
//! As in Kafka, rates, averages and maxima are over two samples of 30 s each
//! (`metrics.num.samples`, `metrics.sample.window.ms`); totals are over the instance's life.
//! Latencies are in milliseconds.
//!
//! [`KafkaStreams::metrics`]: crate::KafkaStreams::metrics

pub mod prometheus;
pub(crate) mod store;
pub(crate) mod task;

pub use store::{CACHE_GROUP, STORE_GROUP};
pub use task::{RecordingLevel, NODE_GROUP, TASK_GROUP};

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Kafka's `MetricName`: a name in a group, with tags (`thread-id`, `client-id`, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricName {
    /// `stream-metrics`, `stream-thread-metrics`, ...
    pub group: &'static str,
    /// `process-rate`, `state`, ...
    pub name: String,
    /// `client-id`, `thread-id`, ... with their values.
    pub tags: Vec<(&'static str, String)>,
}

/// A metric's value: a measure, or a text (Kafka's `Gauge<String>`: state, version, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// A measure (NaN where Kafka's is: an average of no samples).
    Number(f64),
    /// A text.
    Text(String),
}

impl MetricValue {
    /// The number, if it is one.
    pub fn number(&self) -> Option<f64> {
        match self {
            MetricValue::Number(n) => Some(*n),
            MetricValue::Text(_) => None,
        }
    }
}

/// One metric as [`KafkaStreams::metrics`](crate::KafkaStreams::metrics) reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Its name.
    pub name: MetricName,
    /// Kafka's description of it.
    pub description: String,
    /// Its value when read.
    pub value: MetricValue,
}

/// Kafka Streams' metric groups.
/// Client-level: `KafkaStreams` as a whole.
pub const CLIENT_GROUP: &str = "stream-metrics";
/// Thread-level, tag `thread-id`.
pub const THREAD_GROUP: &str = "stream-thread-metrics";
/// A stream thread's consumer (tag `client-id`: `<thread-id>-consumer`), as the Kafka
/// consumer reports it.
pub const CONSUMER_FETCH_GROUP: &str = "consumer-fetch-manager-metrics";

/// Kafka's defaults: `metrics.num.samples` = 2, `metrics.sample.window.ms` = 30000.
const SAMPLES: usize = 2;
const WINDOW: Duration = Duration::from_secs(30);

/// One sample window of a [`Sampled`] stat.
#[derive(Clone, Copy)]
struct Sample {
    start: Instant,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Sample {
    fn new(start: Instant) -> Sample {
        Sample { start, count: 0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }
}

/// Values gathered without a lock (by a task while it processes a batch), merged into a
/// [`Sampled`] afterwards as if each had been recorded then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Acc {
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Default for Acc {
    fn default() -> Acc {
        Acc { count: 0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }
}

impl Acc {
    pub(crate) fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Adds `count` occurrences summing to `sum` (records processed, dropped).
    pub(crate) fn add_many(&mut self, count: u64, sum: f64) {
        self.count += count;
        self.sum += sum;
    }
}

/// A sensor's measurements: Kafka's `SampledStat`s (`Avg`, `Max`, `Rate` of a count or of a
/// sum, `WindowedCount`) over the last samples, and `CumulativeSum`/`CumulativeCount`.
pub(crate) struct Sampled {
    samples: [Sample; SAMPLES],
    current: usize,
    total_count: u64,
    total_sum: f64,
}

impl Sampled {
    pub(crate) fn new(now: Instant) -> Sampled {
        Sampled { samples: [Sample::new(now); SAMPLES], current: 0, total_count: 0, total_sum: 0.0 }
    }

    /// Records one value (a latency, a number of records).
    pub(crate) fn record(&mut self, value: f64, now: Instant) {
        let mut one = Acc::default();
        one.add(value);
        self.merge(&one, now);
    }

    /// Records what `acc` gathered, at `now`; nothing if it is empty.
    pub(crate) fn merge(&mut self, acc: &Acc, now: Instant) {
        if acc.count == 0 {
            return;
        }
        if now.saturating_duration_since(self.samples[self.current].start) >= WINDOW {
            self.current = (self.current + 1) % SAMPLES;
            self.samples[self.current] = Sample::new(now);
        }
        let s = &mut self.samples[self.current];
        s.count += acc.count;
        s.sum += acc.sum;
        s.min = s.min.min(acc.min);
        s.max = s.max.max(acc.max);
        self.total_count += acc.count;
        self.total_sum += acc.sum;
    }

    /// The samples not yet obsolete (Kafka's `purgeObsoleteSamples`: older than
    /// samples × window).
    fn live(&self, now: Instant) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(move |s| now.saturating_duration_since(s.start) < WINDOW * SAMPLES as u32)
    }

    /// The average of the values recorded in the live samples; NaN without any (Kafka's `Avg`).
    pub(crate) fn avg(&self, now: Instant) -> f64 {
        let (count, sum) = self.live(now).fold((0, 0.0), |(c, s), x| (c + x.count, s + x.sum));
        if count == 0 {
            f64::NAN
        } else {
            sum / count as f64
        }
    }

    /// The largest value in the live samples; NaN without any (Kafka's `Max`).
    pub(crate) fn max(&self, now: Instant) -> f64 {
        let max = self.live(now).filter(|s| s.count > 0).map(|s| s.max).fold(f64::NEG_INFINITY, f64::max);
        if max == f64::NEG_INFINITY {
            f64::NAN
        } else {
            max
        }
    }

    /// The smallest value in the live samples; NaN without any (Kafka's `Min`).
    pub(crate) fn min(&self, now: Instant) -> f64 {
        let min = self.live(now).filter(|s| s.count > 0).map(|s| s.min).fold(f64::INFINITY, f64::min);
        if min == f64::INFINITY {
            f64::NAN
        } else {
            min
        }
    }

    /// Values recorded per second (Kafka's `Rate` of a `WindowedCount`: invocations).
    pub(crate) fn count_rate(&self, now: Instant) -> f64 {
        self.live(now).map(|s| s.count as f64).sum::<f64>() / self.elapsed(now)
    }

    /// Their sum per second (Kafka's `Rate` of a `WindowedSum`: records processed).
    pub(crate) fn sum_rate(&self, now: Instant) -> f64 {
        self.live(now).map(|s| s.sum).sum::<f64>() / self.elapsed(now)
    }

    pub(crate) fn total_count(&self) -> f64 {
        self.total_count as f64
    }

    pub(crate) fn total_sum(&self) -> f64 {
        self.total_sum
    }

    /// Kafka's `Rate.windowSize`: the time since the oldest live sample began, counted as at
    /// least `samples - 1` full windows (a rate right after start is not inflated).
    fn elapsed(&self, now: Instant) -> f64 {
        let oldest = self.live(now).map(|s| s.start).min().unwrap_or(now);
        let elapsed = now.saturating_duration_since(oldest);
        let full = (elapsed.as_nanos() / WINDOW.as_nanos()) as u32;
        let min_full = SAMPLES as u32 - 1;
        let elapsed = if full < min_full { elapsed + WINDOW * (min_full - full) } else { elapsed };
        elapsed.as_secs_f64()
    }
}

/// A stream thread's sensors (Kafka's `ThreadMetrics`), recorded by its loop.
pub(crate) struct ThreadMetrics {
    pub(crate) thread_id: String,
    started_ms: i64,
    /// Cleared when the thread's loop ends for good (`alive-stream-threads`).
    pub(crate) alive: std::sync::atomic::AtomicBool,
    sensors: Mutex<ThreadSensors>,
    /// Its tasks' metrics.
    pub(crate) tasks: task::TaskRegistry,
}

struct ThreadSensors {
    /// Latency of each call to poll, ms.
    poll: Sampled,
    /// Records per poll that returned some.
    poll_records: Sampled,
    /// Latency per record of each processing round, ms (Kafka: `processLatency / processed`).
    process: Sampled,
    /// Records per processing round that processed some (its sum: `process-rate`/`-total`).
    process_records: Sampled,
    /// Latency of each commit, ms.
    commit: Sampled,
    /// Per turn that punctuated, its punctuation time over the punctuation calls, ms.
    punctuate: Sampled,
    task_created: Sampled,
    task_closed: Sampled,
    /// The consumer's lag, sampled (`records-lag-max`).
    records_lag: Sampled,
    /// Share of each loop turn spent polling, processing, committing.
    poll_ratio: Sampled,
    process_ratio: Sampled,
    commit_ratio: Sampled,
    punctuate_ratio: Sampled,
    /// The whole time spent polling, processing (punctuation left out), punctuating and
    /// committing since the thread started.
    totals: [Duration; 4],
}

/// Where one turn of a stream thread's loop spent its time.
#[derive(Default)]
pub(crate) struct LoopTurn {
    pub(crate) poll: Duration,
    pub(crate) polled: usize,
    pub(crate) process: Duration,
    pub(crate) processed: usize,
    pub(crate) commit: Option<Duration>,
    /// Punctuation calls that ran something (tasks × clocks), and their time (part of
    /// `process`, which leaves it out when recorded).
    pub(crate) punctuate: Duration,
    pub(crate) punctuated: usize,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl ThreadMetrics {
    pub(crate) fn new(thread_id: String, started_ms: i64, level: RecordingLevel) -> ThreadMetrics {
        let now = Instant::now();
        let s = || Sampled::new(now);
        ThreadMetrics {
            tasks: task::TaskRegistry::new(&thread_id, level),
            thread_id,
            started_ms,
            alive: std::sync::atomic::AtomicBool::new(true),
            sensors: Mutex::new(ThreadSensors {
                poll: s(),
                poll_records: s(),
                process: s(),
                process_records: s(),
                commit: s(),
                punctuate: s(),
                task_created: s(),
                task_closed: s(),
                records_lag: s(),
                poll_ratio: s(),
                process_ratio: s(),
                commit_ratio: s(),
                punctuate_ratio: s(),
                totals: [Duration::ZERO; 4],
            }),
        }
    }

    fn sensors(&self) -> std::sync::MutexGuard<'_, ThreadSensors> {
        self.sensors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one turn of the loop, as `StreamThread.runOnce` does.
    pub(crate) fn record_turn(&self, turn: &LoopTurn, took: Duration) {
        let now = Instant::now();
        let mut s = self.sensors();
        s.poll.record(ms(turn.poll), now);
        if turn.polled > 0 {
            s.poll_records.record(turn.polled as f64, now);
        }
        let process = turn.process.saturating_sub(turn.punctuate);
        if turn.processed > 0 {
            s.process_records.record(turn.processed as f64, now);
            s.process.record(ms(process) / turn.processed as f64, now);
        }
        // As `StreamThread.runOnce`: one sample per turn that punctuated, of the time per call.
        if turn.punctuated > 0 {
            s.punctuate.record(ms(turn.punctuate) / turn.punctuated as f64, now);
        }
        if let Some(commit) = turn.commit {
            s.commit.record(ms(commit), now);
        }
        let took = took.as_secs_f64().max(f64::MIN_POSITIVE);
        s.poll_ratio.record(turn.poll.as_secs_f64() / took, now);
        s.process_ratio.record(process.as_secs_f64() / took, now);
        s.punctuate_ratio.record(turn.punctuate.as_secs_f64() / took, now);
        s.commit_ratio.record(turn.commit.unwrap_or_default().as_secs_f64() / took, now);
        for (total, spent) in
            s.totals.iter_mut().zip([turn.poll, process, turn.punctuate, turn.commit.unwrap_or_default()])
        {
            *total += spent;
        }
    }

    /// Logs where the thread's time went since it started (at `info`, when it stops): where
    /// it waits for the broker (polling, committing) and where it works.
    pub(crate) fn log_time_spent(&self) {
        let [poll, process, punctuate, commit] = self.sensors().totals.map(|d| d.as_secs_f64());
        tracing::info!(
            thread = %self.thread_id,
            poll_s = format!("{poll:.3}"),
            process_s = format!("{process:.3}"),
            punctuate_s = format!("{punctuate:.3}"),
            commit_s = format!("{commit:.3}"),
            "stream thread time spent"
        );
    }

    /// A sample of the consumer's largest lag over its partitions.
    pub(crate) fn record_lag(&self, lag: u64) {
        self.sensors().records_lag.record(lag as f64, Instant::now());
    }

    pub(crate) fn tasks_created(&self, n: usize) {
        let now = Instant::now();
        let mut s = self.sensors();
        (0..n).for_each(|_| s.task_created.record(1.0, now));
    }

    pub(crate) fn tasks_closed(&self, n: usize) {
        let now = Instant::now();
        let mut s = self.sensors();
        (0..n).for_each(|_| s.task_closed.record(1.0, now));
    }

    /// The thread's metrics, in group `stream-thread-metrics` with tag `thread-id`.
    pub(crate) fn report(&self, out: &mut Vec<Metric>) {
        let now = Instant::now();
        let s = self.sensors();
        let mut put = |name: &str, description: &str, value: f64| {
            out.push(Metric {
                name: MetricName {
                    group: THREAD_GROUP,
                    name: name.to_string(),
                    tags: vec![("thread-id", self.thread_id.clone())],
                },
                description: description.to_string(),
                value: MetricValue::Number(value),
            })
        };
        for (op, stat, calls) in [
            ("poll", &s.poll, "calls to poll"),
            ("commit", &s.commit, "calls to commit"),
            ("punctuate", &s.punctuate, "calls to punctuate"),
        ] {
            put(&format!("{op}-latency-avg"), &format!("The average {op} latency"), stat.avg(now));
            put(&format!("{op}-latency-max"), &format!("The maximum {op} latency"), stat.max(now));
            put(
                &format!("{op}-rate"),
                &format!("The average per-second number of {calls}"),
                stat.count_rate(now),
            );
            put(&format!("{op}-total"), &format!("The total number of {calls}"), stat.total_count());
        }
        put("process-latency-avg", "The average process latency", s.process.avg(now));
        put("process-latency-max", "The maximum process latency", s.process.max(now));
        put(
            "process-rate",
            "The average per-second number of calls to process",
            s.process_records.sum_rate(now),
        );
        put("process-total", "The total number of calls to process", s.process_records.total_sum());
        put(
            "poll-records-avg",
            "The average number of records polled from consumer within an iteration",
            s.poll_records.avg(now),
        );
        put(
            "poll-records-max",
            "The maximum number of records polled from consumer within an iteration",
            s.poll_records.max(now),
        );
        put(
            "process-records-avg",
            "The average number of records processed within an iteration",
            s.process_records.avg(now),
        );
        put(
            "process-records-max",
            "The maximum number of records processed within an iteration",
            s.process_records.max(now),
        );
        for (op, stat, what) in [
            ("task-created", &s.task_created, "newly created tasks"),
            ("task-closed", &s.task_closed, "closed tasks"),
        ] {
            put(
                &format!("{op}-rate"),
                &format!("The average per-second number of {what}"),
                stat.count_rate(now),
            );
            put(&format!("{op}-total"), &format!("The total number of {what}"), stat.total_count());
        }
        for (op, stat) in
            [("poll", &s.poll_ratio), ("process", &s.process_ratio), ("commit", &s.commit_ratio)]
        {
            put(
                &format!("{op}-ratio"),
                &format!("The fraction of time the thread spent on {op}ing records"),
                stat.avg(now),
            );
        }
        put(
            "punctuate-ratio",
            "The fraction of time the thread spent on punctuating active tasks",
            s.punctuate_ratio.avg(now),
        );
        put("thread-start-time", "The time that the thread was started", self.started_ms as f64);
        // KIP-761: time blocked on Kafka; here the loop's polls and commits (a commit's flush
        // of the producer included).
        put(
            "blocked-time-ns-total",
            "The total time the thread spent blocked on kafka in nanoseconds",
            (s.totals[0] + s.totals[3]).as_nanos() as f64,
        );
        // The thread's consumer's (Kafka's `FetchMetricsManager`), under its client id.
        out.push(Metric {
            name: MetricName {
                group: CONSUMER_FETCH_GROUP,
                name: "records-lag-max".into(),
                tags: vec![("client-id", format!("{}-consumer", self.thread_id))],
            },
            description: "The maximum lag in terms of number of records for any partition in this window"
                .into(),
            value: MetricValue::Number(s.records_lag.max(now)),
        });
        drop(s);
        self.tasks.report(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_and_maxima_are_over_the_live_samples_and_totals_over_all_time() {
        let t0 = Instant::now();
        let mut s = Sampled::new(t0);
        assert!(s.avg(t0).is_nan() && s.max(t0).is_nan());
        s.record(2.0, t0);
        s.record(4.0, t0 + Duration::from_secs(1));
        assert_eq!((s.avg(t0 + Duration::from_secs(2)), s.max(t0 + Duration::from_secs(2))), (3.0, 4.0));
        // A second window, then a third that replaces the first.
        s.record(10.0, t0 + Duration::from_secs(31));
        s.record(1.0, t0 + Duration::from_secs(62));
        let later = t0 + Duration::from_secs(63);
        assert_eq!((s.avg(later), s.max(later)), (5.5, 10.0));
        assert_eq!((s.total_count(), s.total_sum()), (4.0, 17.0));
        // Two minutes of nothing: every sample obsolete.
        let quiet = t0 + Duration::from_secs(200);
        assert!(s.avg(quiet).is_nan());
        assert_eq!(s.count_rate(quiet), 0.0);
    }

    #[test]
    fn a_rate_right_after_start_counts_at_least_one_full_window() {
        let t0 = Instant::now();
        let mut s = Sampled::new(t0);
        for _ in 0..60 {
            s.record(5.0, t0);
        }
        let now = t0 + Duration::from_secs(1);
        // 60 calls, 300 records, over 1 s + one full window of 30 s.
        assert!((s.count_rate(now) - 60.0 / 31.0).abs() < 1e-9);
        assert!((s.sum_rate(now) - 300.0 / 31.0).abs() < 1e-9);
    }
}
