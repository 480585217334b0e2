//! State-store metrics (Kafka's `StateStoreMetrics`, recorded by its `Metered*Store` layers):
//! per operation, its rate and latency, at `DEBUG`; and for a store with a cache in front of
//! its disk, the cache's `hit-ratio` (Kafka's `NamedCacheMetrics`, also `DEBUG`).
//!
//! A store holds a [`Meter`]; the task attaches sensors to it when the recording level is
//! `DEBUG` or above, so at `INFO` an operation costs one atomic load more and measures
//! nothing (the metrics are listed, at 0 and NaN, as Kafka lists them).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use super::{Metric, MetricName, MetricValue, Sampled};

/// Store-level, tags `thread-id`, `task-id` and `<scope>-state-id`.
pub const STORE_GROUP: &str = "stream-state-metrics";
/// Record-cache level, tags `thread-id`, `task-id` and `record-cache-id` (the store's name).
pub const CACHE_GROUP: &str = "stream-record-cache-metrics";

/// An operation Kafka's metered stores measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreOp {
    Put,
    Get,
    Fetch,
    All,
    Delete,
    Remove,
    Flush,
}

impl StoreOp {
    fn name(self) -> &'static str {
        match self {
            StoreOp::Put => "put",
            StoreOp::Get => "get",
            StoreOp::Fetch => "fetch",
            StoreOp::All => "all",
            StoreOp::Delete => "delete",
            StoreOp::Remove => "remove",
            StoreOp::Flush => "flush",
        }
    }
}

/// What a kind of store measures: its metrics scope (the tag `<scope>-state-id`) and its
/// operations, as Kafka's in-memory stores of that kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreKind {
    pub(crate) scope: &'static str,
    pub(crate) ops: &'static [StoreOp],
    /// Whether reads go through a cache of the store's entries in memory (whose hits count).
    pub(crate) cached: bool,
}

const KEY_VALUE_OPS: &[StoreOp] =
    &[StoreOp::Put, StoreOp::Get, StoreOp::All, StoreOp::Delete, StoreOp::Flush];
/// Kafka's `MeteredKeyValueStore` over `Stores.inMemoryKeyValueStore`.
pub(crate) const KEY_VALUE: StoreKind = StoreKind { scope: "in-memory", ops: KEY_VALUE_OPS, cached: false };
/// `MeteredKeyValueStore` over a persistent store (Kafka's scope for RocksDB), whose reads
/// go through the entries it keeps in memory: a hit is a read the disk is not asked for.
pub(crate) const PERSISTENT_KEY_VALUE: StoreKind =
    StoreKind { scope: "rocksdb", ops: KEY_VALUE_OPS, cached: true };
/// `MeteredWindowStore` over `Stores.inMemoryWindowStore`.
pub(crate) const WINDOW: StoreKind = StoreKind {
    scope: "in-memory-window",
    ops: &[StoreOp::Put, StoreOp::Fetch, StoreOp::Flush],
    cached: false,
};
/// `MeteredSessionStore` over `Stores.inMemorySessionStore`.
pub(crate) const SESSION: StoreKind = StoreKind {
    scope: "in-memory-session",
    ops: &[StoreOp::Put, StoreOp::Fetch, StoreOp::Remove, StoreOp::Flush],
    cached: false,
};

/// A cache's reads: hits and misses since the task began, and the ratio recorded at each hit
/// (as Kafka's `NamedCache.getInternal`: `hits / (hits + misses)`, so its average, minimum and
/// maximum are over the hits).
struct CacheReads {
    hits: u64,
    misses: u64,
    ratio: Sampled,
}

/// One store's sensors: per operation of its kind, the latency of each call (ms).
pub(crate) struct StoreSensors {
    name: String,
    kind: StoreKind,
    calls: Mutex<Vec<Sampled>>,
    cache: Mutex<CacheReads>,
}

impl StoreSensors {
    pub(crate) fn new(name: &str, kind: StoreKind) -> StoreSensors {
        let now = Instant::now();
        StoreSensors {
            name: name.to_string(),
            kind,
            calls: Mutex::new(kind.ops.iter().map(|_| Sampled::new(now)).collect()),
            cache: Mutex::new(CacheReads { hits: 0, misses: 0, ratio: Sampled::new(now) }),
        }
    }

    fn cache_read(&self, hit: bool) {
        let mut reads = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if hit {
            reads.hits += 1;
            let ratio = reads.hits as f64 / (reads.hits + reads.misses) as f64;
            reads.ratio.record(ratio, Instant::now());
        } else {
            reads.misses += 1;
        }
    }

    fn record(&self, op: StoreOp, started: Instant) {
        let Some(i) = self.kind.ops.iter().position(|o| *o == op) else { return };
        let now = Instant::now();
        let ms = now.saturating_duration_since(started).as_secs_f64() * 1e3;
        self.calls.lock().unwrap_or_else(|p| p.into_inner())[i].record(ms, now);
    }

    /// The store's metrics, tagged with its task's.
    pub(crate) fn report(&self, thread_id: &str, task_id: &str, out: &mut Vec<Metric>) {
        let now = Instant::now();
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let tag = match self.kind.scope {
            "in-memory" => "in-memory-state-id",
            "rocksdb" => "rocksdb-state-id",
            "in-memory-window" => "in-memory-window-state-id",
            _ => "in-memory-session-state-id",
        };
        if self.kind.cached {
            let reads = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            let tags = vec![
                ("thread-id", thread_id.to_string()),
                ("task-id", task_id.to_string()),
                ("record-cache-id", self.name.clone()),
            ];
            let stats = [
                ("avg", "average", reads.ratio.avg(now)),
                ("min", "minimum", reads.ratio.min(now)),
                ("max", "maximum", reads.ratio.max(now)),
            ];
            for (stat, word, value) in stats {
                out.push(Metric {
                    name: MetricName {
                        group: CACHE_GROUP,
                        name: format!("hit-ratio-{stat}"),
                        tags: tags.clone(),
                    },
                    description: format!("The {word} cache hit ratio"),
                    value: MetricValue::Number(value),
                });
            }
        }
        for (op, stat) in self.kind.ops.iter().zip(calls.iter()) {
            let op = op.name();
            let mut put = |name: String, description: String, value: f64| {
                out.push(Metric {
                    name: MetricName {
                        group: STORE_GROUP,
                        name,
                        tags: vec![
                            ("thread-id", thread_id.to_string()),
                            ("task-id", task_id.to_string()),
                            (tag, self.name.clone()),
                        ],
                    },
                    description,
                    value: MetricValue::Number(value),
                })
            };
            put(
                format!("{op}-rate"),
                format!("The average number of calls to {op} per second"),
                stat.count_rate(now),
            );
            put(format!("{op}-latency-avg"), format!("The average latency of calls to {op}"), stat.avg(now));
            put(format!("{op}-latency-max"), format!("The maximum latency of calls to {op}"), stat.max(now));
        }
    }
}

/// Where a store's operations are measured: empty until its task attaches sensors.
#[derive(Default)]
pub(crate) struct Meter(OnceLock<Arc<StoreSensors>>);

impl Meter {
    pub(crate) fn attach(&self, sensors: Arc<StoreSensors>) {
        let _ = self.0.set(sensors);
    }

    /// Counts a read of the store's cache, if sensors are attached.
    #[inline]
    pub(crate) fn cache_read(&self, hit: bool) {
        if let Some(sensors) = self.0.get() {
            sensors.cache_read(hit);
        }
    }

    /// Measures one call of `op` until the returned guard is dropped, if sensors are
    /// attached.
    #[inline]
    pub(crate) fn measure(&self, op: StoreOp) -> Option<Measuring<'_>> {
        self.0.get().map(|sensors| Measuring { sensors, op, started: Instant::now() })
    }
}

/// One call being measured.
pub(crate) struct Measuring<'a> {
    sensors: &'a StoreSensors,
    op: StoreOp,
    started: Instant,
}

impl Drop for Measuring<'_> {
    fn drop(&mut self) {
        self.sensors.record(self.op, self.started);
    }
}
