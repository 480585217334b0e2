//! Persistent stores (`default.dsl.store = rocksDB`): state on disk under `state.dir`,
//! checkpointed, so that a restart reads only the changelog's tail — on the embedded
//! cluster here; on the broker in `tests/kafka.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use examples::wordcount;
use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::metrics::TASK_GROUP;
use streams_runtime::{Headers, KafkaStreams, RunMode, State, StreamsConfig};
use streams_tests::golden_counts;

const CHANGELOG: &str = "wc-disk-KSTREAM-AGGREGATE-STATE-STORE-0000000004-changelog";

fn state_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streams-state-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(dir: &Path) -> StreamsConfig {
    let mut config = StreamsConfig::new("wc-disk");
    config
        .set("default.dsl.store", "rocksDB")
        .set("state.dir", dir.to_str().unwrap())
        .set("metrics.recording.level", "DEBUG")
        .set("commit.interval.ms", "100");
    config
}

fn load(cluster: &MemoryCluster, lines: &[&str]) {
    for (i, line) in lines.iter().enumerate() {
        let value = Some(line.as_bytes().to_vec());
        cluster.produce(wordcount::INPUT, None, None, value, i as i64, Headers::new()).unwrap();
    }
}

fn new_cluster() -> MemoryCluster {
    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic(wordcount::INPUT, 2).unwrap();
    cluster
}

/// The last count of each word on the output topic.
fn counts(cluster: &MemoryCluster) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for r in cluster.records_in_order(wordcount::OUTPUT) {
        let n = i64::from_be_bytes(r.value.as_deref().unwrap().try_into().unwrap());
        counts.insert(String::from_utf8(r.key.unwrap()).unwrap(), n);
    }
    counts
}

fn changelog_end(cluster: &MemoryCluster) -> u64 {
    (0..2).map(|p| cluster.end_offset(CHANGELOG, p)).sum()
}

/// Runs until the output holds `expected`, then stops cleanly; returns the changelog records
/// the tasks restored (their `restore-total`, read once every task runs).
fn run_until(cluster: &MemoryCluster, config: StreamsConfig, expected: &BTreeMap<String, i64>) -> f64 {
    let streams = Arc::new(KafkaStreams::new(wordcount::topology(), config, Arc::new(cluster.clone())));
    let running = streams_tests::run_in_background(&streams, RunMode::UntilShutdown);
    let started = Instant::now();
    while streams.state() != State::Running || counts(cluster) != *expected {
        if streams.state() == State::Error {
            panic!("{:?}", running.join().unwrap());
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}: counts {:?}, expected {expected:?}",
            streams.state(),
            counts(cluster)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let restored: Vec<f64> = streams
        .metrics()
        .iter()
        .filter(|m| m.name.group == TASK_GROUP && m.name.name == "restore-total")
        .filter_map(|m| m.value.number())
        .collect();
    streams.shutdown();
    running.join().unwrap().unwrap();
    assert_eq!(restored.len(), 4, "two sub-topologies of two tasks each");
    restored.iter().sum()
}

/// Word count on `cluster`, running in the background until shut down, once every task runs.
fn start(
    cluster: &MemoryCluster,
    config: StreamsConfig,
) -> (Arc<KafkaStreams>, std::thread::JoinHandle<Result<(), streams_runtime::StreamsError>>) {
    let streams = Arc::new(KafkaStreams::new(wordcount::topology(), config, Arc::new(cluster.clone())));
    let running = streams_tests::run_in_background(&streams, RunMode::UntilShutdown);
    wait_running(&streams);
    (streams, running)
}

/// Waits until every task of `streams` runs.
fn wait_running(streams: &KafkaStreams) {
    let started = Instant::now();
    while streams.state() != State::Running {
        assert!(started.elapsed() < Duration::from_secs(60), "{:?}", streams.state());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn checkpoints(dir: &Path) -> Vec<(PathBuf, String)> {
    let app = dir.join("wc-disk");
    let mut found: Vec<_> = std::fs::read_dir(&app)
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path().join(".checkpoint");
            Some((path.clone(), std::fs::read_to_string(path).ok()?))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_clean_restart_restores_nothing_and_an_old_checkpoint_only_the_tail() {
    let dir = state_dir("restart");
    let cluster = new_cluster();
    let (first, second) = wordcount::SAMPLE.split_at(2);
    load(&cluster, first);
    assert_eq!(run_until(&cluster, config(&dir), &golden_counts(first)), 0.0, "nothing to restore yet");
    // Kafka's checkpoint files: version 0, one entry (the count's changelog partition).
    let saved = checkpoints(&dir);
    assert_eq!(saved.len(), 2, "{saved:?}");
    for (_, text) in &saved {
        assert!(
            text.starts_with("0\n1\nwc-disk-KSTREAM-AGGREGATE-STATE-STORE-0000000004-changelog "),
            "{text}"
        );
    }
    let logged_first = changelog_end(&cluster);
    assert!(logged_first > 0);

    // A clean restart reads nothing from the changelog: the stores on disk are up to date.
    load(&cluster, second);
    let restored = run_until(&cluster, config(&dir), &golden_counts(wordcount::SAMPLE));
    assert_eq!(restored, 0.0, "a clean restart restores nothing");
    let logged_both = changelog_end(&cluster);
    assert!(logged_both > logged_first);

    // As after a crash at-least-once: the checkpoints are older than the stores; a restart
    // reads the changelog from them on — the second run's records only — and the counts
    // stay right.
    for (path, text) in &saved {
        std::fs::write(path, text).unwrap();
    }
    let restored = run_until(&cluster, config(&dir), &golden_counts(wordcount::SAMPLE));
    assert_eq!(restored, (logged_both - logged_first) as f64, "only the tail since the checkpoints");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stores_whose_changelog_is_gone_are_wiped_and_rebuilt() {
    let dir = state_dir("gone");
    let (first, second) = wordcount::SAMPLE.split_at(2);
    let old = new_cluster();
    load(&old, first);
    run_until(&old, config(&dir), &golden_counts(first));
    // A new cluster (its changelogs empty) with the same state directory: the checkpoints
    // point past the changelogs' ends, so the stores are wiped; counts start from zero.
    let new = new_cluster();
    load(&new, second);
    run_until(&new, config(&dir), &golden_counts(second));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clean_up_deletes_the_local_state_and_is_refused_while_an_instance_runs() {
    let dir = state_dir("clean");
    let cluster = new_cluster();
    load(&cluster, wordcount::SAMPLE);
    run_until(&cluster, config(&dir), &golden_counts(wordcount::SAMPLE));
    assert!(dir.join("wc-disk").exists());
    let (running, handle) = start(&cluster, config(&dir));
    let refused = running.clean_up().expect_err("in use").to_string();
    assert!(refused.contains("in use by another instance"), "{refused}");
    running.shutdown();
    handle.join().unwrap().unwrap();
    running.clean_up().unwrap();
    assert!(!dir.join("wc-disk").exists());
    // The next start restores everything from the changelogs.
    let restored = run_until(&cluster, config(&dir), &golden_counts(wordcount::SAMPLE));
    assert!(restored > 0.0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_instances_cannot_share_a_state_directory() {
    let dir = state_dir("shared");
    let cluster = new_cluster();
    load(&cluster, wordcount::SAMPLE);
    let (first, running) = start(&cluster, config(&dir));
    let second = KafkaStreams::new(wordcount::topology(), config(&dir), Arc::new(cluster.clone()));
    let refused = tokio::runtime::Runtime::new().unwrap().block_on(second.run(RunMode::UntilDrained));
    let message = refused.expect_err("the directory is locked").to_string();
    assert!(message.contains("in use by another instance of `wc-disk`"), "{message}");
    first.shutdown();
    running.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exactly_once_a_running_task_has_no_checkpoint_so_a_crash_rebuilds_its_store() {
    let dir = state_dir("eos");
    let cluster = new_cluster();
    load(&cluster, wordcount::SAMPLE);
    let mut eos = config(&dir);
    eos.set("processing.guarantee", "exactly_once_v2");
    run_until(&cluster, eos.clone(), &golden_counts(wordcount::SAMPLE));
    assert_eq!(checkpoints(&dir).len(), 2, "a clean stop writes them");
    // Running again: each task read its checkpoint and deleted it, so a crash now would
    // leave none, and the next start would wipe the store (it may hold aborted writes).
    let (streams, running) = start(&cluster, eos);
    assert_eq!(checkpoints(&dir), [], "deleted while the tasks run");
    streams.shutdown();
    running.join().unwrap().unwrap();
    assert_eq!(checkpoints(&dir).len(), 2, "written again at the clean stop");
    let _ = std::fs::remove_dir_all(&dir);
}

// What a task commits with its offsets besides them (Kafka's `TopicPartitionMetadata`): the
// partition's time and the emit-on-close windowed aggregations' progress, read back by the
// next owner.

fn events(cluster: &MemoryCluster, records: &[(&str, i64)]) {
    for (key, timestamp) in records {
        let (key, value) = (Some(key.as_bytes().to_vec()), Some(1i64.to_be_bytes().to_vec()));
        cluster.produce("events", Some(0), key, value, *timestamp, Headers::new()).unwrap();
    }
}

fn run_drained(cluster: &MemoryCluster, topology: streams_runtime::Topology, app: &str) {
    let streams = KafkaStreams::new(topology, StreamsConfig::new(app), Arc::new(cluster.clone()));
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
}

#[test]
fn windows_emitted_on_close_before_a_restart_are_not_emitted_again() {
    use streams_runtime::prelude::*;
    let topology = || {
        let b = StreamsBuilder::new();
        b.stream::<String, i64>("events")
            .group_by_key()
            .window(TimeWindows::of(Duration::from_secs(5)).grace(Duration::from_secs(1)))
            .emit_on_close()
            .count()
            .to_stream()
            .to("counts");
        b.build()
    };
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic("events", 1).unwrap();
    // Closes [0, 5000): a=2, b=1.
    events(&cluster, &[("a", 1_000), ("b", 2_000), ("a", 3_000), ("b", 6_000)]);
    run_drained(&cluster, topology(), "eoc");
    // After the restart: [0, 5000) closed already; [5000, 10000) closes at 11000.
    events(&cluster, &[("b", 7_000), ("a", 8_000), ("b", 11_000)]);
    run_drained(&cluster, topology(), "eoc");
    let emitted: Vec<(String, i64, i64)> = cluster
        .records_in_order("counts")
        .into_iter()
        .map(|r| {
            let key = r.key.unwrap();
            let (name, start) = key.split_at(key.len() - 8);
            let start = i64::from_be_bytes(start.try_into().unwrap());
            (
                String::from_utf8(name.to_vec()).unwrap(),
                start,
                i64::from_be_bytes(r.value.unwrap().try_into().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        emitted,
        [("a".into(), 0, 2), ("b".into(), 0, 1), ("a".into(), 5_000, 1), ("b".into(), 5_000, 2)],
        "each window once, as one run would emit them"
    );
}

#[test]
fn stream_time_after_a_restart_starts_from_the_committed_partition_time() {
    use streams_runtime::processor::{Processor, ProcessorContext};
    use streams_runtime::Record;
    struct StreamTime;
    impl Processor<String, i64> for StreamTime {
        type KOut = String;
        type VOut = i64;
        fn process(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, record: Record<String, i64>) {
            let now = ctx.stream_time();
            ctx.forward(Record::new(record.key, now, record.timestamp));
        }
    }
    let topology = || {
        let b = streams_runtime::StreamsBuilder::new();
        b.stream::<String, i64>("events").process(|| StreamTime, &[]).to("times");
        b.build()
    };
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic("events", 1).unwrap();
    events(&cluster, &[("a", 1_000), ("b", 5_000)]);
    run_drained(&cluster, topology(), "times");
    // An earlier record after the restart: stream time stays at 5000 (Kafka's
    // `initializeTaskTimeAndProcessorMetadata`), as if there had been no restart.
    events(&cluster, &[("c", 2_000)]);
    run_drained(&cluster, topology(), "times");
    let times: Vec<i64> = cluster
        .records_in_order("times")
        .into_iter()
        .map(|r| i64::from_be_bytes(r.value.unwrap().try_into().unwrap()))
        .collect();
    assert_eq!(times, [1_000, 5_000, 5_000]);
}

// The Processor API's persistent store (Kafka's `Stores.persistentTimestampedKeyValueStore`).

mod processor_store {
    use super::*;
    use streams_runtime::processor::{
        InitContext, KeyValueStoreBuilder, KeyValueStoreRef, Processor, ProcessorContext, Stores,
    };
    use streams_runtime::Record;

    /// Counts values per key in store `counts`, forwarding each count.
    struct Counter {
        store: KeyValueStoreBuilder<String, i64>,
        counts: Option<KeyValueStoreRef<String, i64>>,
    }

    impl Processor<String, String> for Counter {
        type KOut = String;
        type VOut = i64;

        fn init(&mut self, ctx: &mut InitContext<'_>) {
            self.counts = Some(ctx.key_value_store(&self.store));
        }

        fn process(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, record: Record<String, String>) {
            let counts = self.counts.as_ref().unwrap();
            let n = counts.get(&record.key).unwrap_or(0) + 1;
            counts.put(record.key.clone(), n);
            let key = record.key.clone();
            ctx.forward(record.with(key, n));
        }
    }

    /// The counts written by two runs, and the end of the store's changelog.
    fn counts_after_a_restart(store: KeyValueStoreBuilder<String, i64>, dir: &Path) -> (Vec<i64>, u64) {
        let cluster = MemoryCluster::with_auto_create(Some(1));
        cluster.create_topic("in", 1).unwrap();
        let topology = || {
            let b = streams_runtime::StreamsBuilder::new();
            b.add_state_store(&store);
            let spec = store.clone();
            b.stream::<String, String>("in")
                .process(move || Counter { store: spec.clone(), counts: None }, &["counts"])
                .to("out");
            b.build()
        };
        let mut config = StreamsConfig::new("counter");
        config.set("state.dir", dir.to_str().unwrap());
        let write = |keys: &[&str]| {
            for key in keys {
                let value = Some(b"x".to_vec());
                cluster.produce("in", None, Some(key.as_bytes().to_vec()), value, 1, Headers::new()).unwrap();
            }
        };
        let run = || {
            let streams = KafkaStreams::new(topology(), config.clone(), Arc::new(cluster.clone()));
            tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
        };
        write(&["a", "a", "b"]);
        run();
        write(&["a", "b"]);
        run();
        let counts = cluster.records_in_order("out");
        let counts =
            counts.into_iter().map(|r| i64::from_be_bytes(r.value.unwrap().try_into().unwrap())).collect();
        (counts, cluster.end_offset("counter-counts-changelog", 0))
    }

    #[test]
    fn a_persistent_store_is_checkpointed_and_one_without_changelog_keeps_its_contents() {
        let dir = state_dir("processor");
        // Changelogged: after the restart the counts go on, and the checkpoint says where.
        let (logged, end) =
            counts_after_a_restart(Stores::persistent_key_value::<String, i64>("counts"), &dir);
        assert_eq!(logged, [1, 2, 1, 3, 2]);
        let checkpoint = std::fs::read_to_string(dir.join("counter/0_0/.checkpoint")).unwrap();
        assert!(end > 0);
        assert_eq!(checkpoint, format!("0\n1\ncounter-counts-changelog 0 {}\n", end - 1), "its last record");
        let _ = std::fs::remove_dir_all(&dir);
        // Without a changelog: kept on disk across the restart; in memory it starts empty.
        let unlogged = Stores::persistent_key_value::<String, i64>("counts").with_logging_disabled();
        assert_eq!(counts_after_a_restart(unlogged, &dir).0, [1, 2, 1, 3, 2]);
        let in_memory = Stores::key_value::<String, i64>("counts").with_logging_disabled();
        assert_eq!(counts_after_a_restart(in_memory, &dir).0, [1, 2, 1, 1, 1]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A persistent store's cache: a read answered from memory is a hit, one that asks the disk
/// a miss, and `hit-ratio` (`stream-record-cache-metrics`, `DEBUG`) is recorded at each hit as
/// Kafka's `NamedCache` records it, hits / reads so far.
#[test]
fn a_persistent_store_reports_its_cache_hit_ratio() {
    use streams_runtime::metrics::{Metric, CACHE_GROUP, STORE_GROUP};
    let dir = state_dir("hit-ratio");
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic(wordcount::INPUT, 1).unwrap();
    let store = "KSTREAM-AGGREGATE-STATE-STORE-0000000004";
    let ratio = |metrics: &[Metric], stat: &str| -> f64 {
        let found: Vec<&Metric> = metrics
            .iter()
            .filter(|m| m.name.group == CACHE_GROUP && m.name.name == format!("hit-ratio-{stat}"))
            .collect();
        assert_eq!(found.len(), 1, "one cached store, in task 1_0");
        let tags = &found[0].name.tags;
        assert!(tags.contains(&("record-cache-id", store.to_string())), "{tags:?}");
        assert!(tags.contains(&("task-id", "1_0".to_string())), "{tags:?}");
        found[0].value.number().unwrap()
    };
    let run = |lines: &[&str], expected: &BTreeMap<String, i64>| -> Vec<Metric> {
        load(&cluster, lines);
        let (streams, running) = start(&cluster, config(&dir));
        let started = Instant::now();
        while counts(&cluster) != *expected {
            assert!(started.elapsed() < Duration::from_secs(60), "{:?}", counts(&cluster));
            std::thread::sleep(Duration::from_millis(10));
        }
        let metrics = streams.metrics();
        streams.shutdown();
        running.join().unwrap().unwrap();
        metrics
    };
    // x: miss, hit (1/2), hit (2/3); y: miss, hit (3/5).
    let metrics = run(&["x x x y y"], &BTreeMap::from([("x".to_string(), 3), ("y".to_string(), 2)]));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(ratio(&metrics, "min"), 0.5), "{}", ratio(&metrics, "min"));
    assert!(close(ratio(&metrics, "max"), 2.0 / 3.0), "{}", ratio(&metrics, "max"));
    assert!(close(ratio(&metrics, "avg"), (0.5 + 2.0 / 3.0 + 0.6) / 3.0), "{}", ratio(&metrics, "avg"));
    // The store's own metrics are tagged as Kafka's persistent stores'.
    assert!(metrics.iter().any(
        |m| m.name.group == STORE_GROUP && m.name.tags.contains(&("rocksdb-state-id", store.to_string()))
    ));
    let text = streams_runtime::metrics::prometheus::render(&metrics);
    assert!(text.contains("kafka_streams_stream_record_cache_metrics_hit_ratio_avg{"), "{text}");
    if let Some(checked) = streams_tests::promtool_check(&text) {
        assert!(checked.status.success(), "promtool: {}", String::from_utf8_lossy(&checked.stderr));
    }
    // After a restart the memory is empty: the first read of x goes to the disk.
    // x: miss, hit (1/2).
    let metrics = run(&["x x"], &BTreeMap::from([("x".to_string(), 5), ("y".to_string(), 2)]));
    assert!(close(ratio(&metrics, "max"), 0.5), "{}", ratio(&metrics, "max"));
    assert!(close(ratio(&metrics, "min"), 0.5), "{}", ratio(&metrics, "min"));
}
