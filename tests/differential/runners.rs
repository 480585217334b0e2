//! The runners agree with the driver: each aggregation and table case, run on the embedded
//! cluster with 1 and 4 partitions and 1 and 2 stream threads (record caches on, so fewer
//! updates come out), ends with the same table per key as `TestDriver` with as many
//! partitions and its record cache on too (what a cache holds changes what a session or
//! a window emitted on close finds, as in Kafka). Within a task both see a partition's records in the same order, so windows,
//! grace and late records are judged alike; only the interleaving of tasks differs, which
//! the final tables of these cases do not depend on. Once more with persistent stores
//! (`default.dsl.store=rocksDB`, 4 partitions, 2 threads), no record cache and a commit
//! after every poll, so the stores' memory keeps nothing between commits and reads come
//! from disk: they must end the same.

use std::collections::BTreeMap;
use std::sync::Arc;

use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::record::RawRecord;
use streams_runtime::{Headers, KafkaStreams, RunMode, StreamsConfig, TestDriver};

use crate::cases::Case;
use crate::generate::InputRecord;
use crate::APPLICATION_ID;

/// Cases whose final table does not depend on how tasks interleave: aggregations and
/// tables. Joins of a stream with a table or another stream answer as of each record's
/// arrival, which differs between a driver and threads, and are left to the driver; so are
/// wall-clock punctuations, which a runner makes by the real clock; and suppressions by time
/// limit, whose last updates stay held at the end of the input, and which updates they hold
/// depends on the caches upstream (on in the runners, off in the driver). So are inner
/// foreign-key joins: a left row that keeps its foreign key re-subscribes with
/// `PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE`, and if the right row is deleted while that
/// subscription travels, the deletion answers the old subscription (dropped as stale) and
/// the new one gets no answer, so the old result stays (Kafka's `SubscriptionSendProcessorSupplier`
/// has the same race across tasks); a left join always answers, and is checked. So are the
/// `table_transform_values` cases, whose values count the transformer's calls: a task that
/// moves between threads while they start redoes, at-least-once, the records since its last
/// commit and calls it again (seen in CI, 1 run in 3 locally, at 4 partitions and 2 threads).
/// So are windowed aggregations behind a repartition: records from several upstream tasks
/// reach one partition in the order the tasks ran, and that order moves stream time, which
/// decides which records are too late. So are aggregations of a table-table join: with the
/// record caches on, a join update pairs the old value of one side (as of the last flush)
/// with the other side's latest value, which may differ from what was paired before, so the
/// aggregation may subtract a row it never added (Kafka's `KTableKTableInnerJoin` reads the
/// other side through its caching store the same way); the final table depends on where
/// the commits fall.
pub(crate) fn applies(case: &Case) -> bool {
    ![
        "filter_map_values",
        "stream_",
        "select_key_",
        "wall_clock_",
        "repartition_then_",
        "table_fk_join",
        "table_transform_values",
        "table_table_join_group_by",
        "optimized_select_key_",
        // stateless: the last record of a key (the null key of every partition) depends on
        // the order tasks ran
        "process_forward_",
        "optimized_flat_map_windowed_",
        "flat_map_repeated_key_windowed_",
    ]
    .iter()
    .any(|p| case.name.starts_with(p))
        && !["table_suppress_", "count_suppress_"].iter().any(|p| case.name.starts_with(p))
        // A store without a changelog starts empty wherever its task starts again: a task
        // that moves between threads while they start loses it, by design.
        && !case.name.ends_with("_unlogged")
}

/// Whether the runners run `case` with the record cache on. Not session aggregations: with
/// the cache, whether a merged session's deletion comes out depends on whether the store
/// beneath the cache has expired it when the cache flushes, which is at a commit in a runner
/// and after every record in a driver, so the final tables may differ (as they do between
/// Kafka Streams and its driver; the differential cases check the driver against Kafka's,
/// cache on and off).
///
/// Nor a join of a versioned table with a cached one: the versioned side is never cached, so
/// its updates come out at once while the cached side's come out at a commit, with their old
/// value as of the last flush; a filter drops a cached update whose new and old values it
/// both rejects (Kafka's `KTableFilter`), so whether the join sees the other side's deletion
/// depends on where the commits fall (in Kafka as here).
fn caches(case: &Case) -> bool {
    !case.name.starts_with("session_") && case.name != "versioned_table_table_outer_join"
}

/// The last value of each key on `out` (a tombstone removes the key).
fn final_table(records: impl IntoIterator<Item = RawRecord>) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut table = BTreeMap::new();
    for r in records {
        let key = r.key.clone().unwrap_or_default();
        match r.value {
            Some(v) => table.insert(key, v),
            None => table.remove(&key),
        };
    }
    table
}

fn on_driver(
    case: &Case,
    input: &[InputRecord],
    partitions: u32,
    cache_max_bytes: usize,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let driver = TestDriver::new((case.topology)())
        .with_application_id(APPLICATION_ID)
        .with_partitions(partitions)
        .with_cache_max_bytes(cache_max_bytes);
    for r in input {
        driver
            .input::<(), ()>(r.topic)
            .try_pipe_raw(r.key_bytes(), r.value_bytes(), r.timestamp, Headers::new())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    }
    final_table(driver.output::<(), ()>("out").raw())
}

fn on_runner(
    case: &Case,
    input: &[InputRecord],
    partitions: u32,
    threads: u32,
    persistent: bool,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let cluster = MemoryCluster::with_auto_create(Some(partitions));
    for i in case.inputs {
        cluster.create_topic(i.topic, partitions).expect("a new topic");
    }
    for r in input {
        cluster
            .produce(r.topic, None, r.key_bytes(), r.value_bytes(), r.timestamp, Headers::new())
            .expect("the embedded cluster takes every record");
    }
    let mut config = StreamsConfig::new(APPLICATION_ID);
    config.set("num.stream.threads", threads.to_string());
    let state_dir =
        std::env::temp_dir().join(format!("streams-differential-{}-{}", std::process::id(), case.name));
    if !caches(case) {
        config.set("statestore.cache.max.bytes", "0");
    }
    if persistent {
        config
            .set("default.dsl.store", "rocksDB")
            .set("statestore.cache.max.bytes", "0")
            .set("commit.interval.ms", "0")
            .set("state.dir", state_dir.to_str().expect("a UTF-8 path"));
    }
    let streams = KafkaStreams::new((case.topology)(), config, Arc::new(cluster.clone()));
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(streams.run(RunMode::UntilDrained)).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let _ = std::fs::remove_dir_all(&state_dir);
    final_table(cluster.records_in_order("out"))
}

/// Compares the runner with the driver for every partition and thread count: the number of
/// keys in the final table, or the first disagreement.
pub(crate) fn compare(case: &Case, input: &[InputRecord]) -> Result<usize, String> {
    let mut keys = 0;
    for partitions in [1, 4] {
        // The runners cache as Kafka does by default (10 MiB), except on persistent stores.
        let cached = on_driver(case, input, partitions, 10 * 1024 * 1024);
        let uncached = on_driver(case, input, partitions, 0);
        keys = cached.len();
        let persistent = (partitions == 4).then_some((2, true));
        for (threads, persistent) in [(1, false), (2, false)].into_iter().chain(persistent) {
            let expected = if persistent || !caches(case) { &uncached } else { &cached };
            let got = on_runner(case, input, partitions, threads, persistent);
            if got != *expected {
                let differing = expected
                    .keys()
                    .chain(got.keys())
                    .find(|k| expected.get(*k) != got.get(*k))
                    .map(|k| String::from_utf8_lossy(k).into_owned());
                let stores = if persistent { ", persistent stores" } else { "" };
                return Err(format!(
                    "{partitions} partitions, {threads} threads{stores}: {} keys on the driver, {} on the runner; first differing key {differing:?}",
                    expected.len(),
                    got.len()
                ));
            }
        }
    }
    Ok(keys)
}
