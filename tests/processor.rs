//! The Processor API through the public API: processors with stores, punctuation by stream
//! time and by wall-clock time, record metadata, failures, close, and a restart that restores
//! a processor's store from its changelog. (Its differential cases against Kafka Streams are
//! `process_punctuate` and `process_then_count` in `tests/differential`.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::processor::{
    Cancellable, InitContext, KeyValueStoreRef, Processor, ProcessorContext, PunctuationType, RecordMetadata,
    Stores,
};
use streams_runtime::{
    Headers, KafkaStreams, OnProcessingError, Record, RunMode, StreamsBuilder, StreamsConfig, StreamsError,
    TestDriver, TestOutputTopic, Topology,
};

/// What the processors of a test saw, shared with the test.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Punctuates every `interval` of `kind`, forwarding `("tick", time)`; cancels itself after
/// `stop_after` punctuations. Forwards every record's value with its metadata.
struct Ticker {
    kind: PunctuationType,
    interval: Duration,
    stop_after: usize,
    ticks: usize,
    seen: Seen,
}

impl Processor<String, String> for Ticker {
    type KOut = String;
    type VOut = String;

    fn init(&mut self, ctx: &mut InitContext<'_>) {
        ctx.schedule(self.interval, self.kind);
    }

    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, String>, record: Record<String, String>) {
        let RecordMetadata { topic, partition, offset } =
            ctx.record_metadata().expect("a record is processed");
        self.seen.push(format!("{topic}-{partition}@{offset}"));
        ctx.forward(record);
    }

    fn punctuate(
        &mut self,
        ctx: &mut ProcessorContext<'_, String, String>,
        schedule: &Cancellable,
        now: i64,
    ) {
        assert!(ctx.record_metadata().is_none(), "no record during a punctuation");
        assert_eq!(schedule.kind(), self.kind);
        self.ticks += 1;
        ctx.forward(Record::new("tick".to_string(), now.to_string(), now));
        if self.ticks == self.stop_after {
            schedule.cancel();
        }
    }

    fn close(&mut self) {
        self.seen.push("closed".to_string());
    }
}

fn ticker(kind: PunctuationType, interval_ms: u64, stop_after: usize, seen: &Seen) -> Topology {
    let b = StreamsBuilder::new();
    let seen = seen.clone();
    b.stream::<String, String>("in")
        .process(
            move || Ticker {
                kind,
                interval: Duration::from_millis(interval_ms),
                stop_after,
                ticks: 0,
                seen: seen.clone(),
            },
            &[],
        )
        .to("out");
    b.build()
}

fn ticks(out: &mut TestOutputTopic<String, String>) -> Vec<i64> {
    out.read_all()
        .into_iter()
        .filter(|(k, _, _)| k == "tick")
        .map(|(_, v, ts)| {
            assert_eq!(v.parse::<i64>().unwrap(), ts, "a punctuation's record carries its time");
            ts
        })
        .collect()
}

#[test]
fn wall_clock_punctuations_start_one_interval_after_the_task_and_skip_what_they_missed() {
    let seen = Seen::default();
    let driver = TestDriver::new(ticker(PunctuationType::WallClockTime, 10_000, 3, &seen));
    let mut out = driver.output::<String, String>("out");
    driver.advance_wall_clock(Duration::from_secs(5));
    assert_eq!(ticks(&mut out), Vec::<i64>::new(), "5 s: not due");
    driver.advance_wall_clock(Duration::from_secs(5));
    assert_eq!(ticks(&mut out), [10_000]);
    // 25 s later: one punctuation, then the next at 40 s (Kafka's `PunctuationSchedule.next`).
    driver.advance_wall_clock(Duration::from_secs(25));
    assert_eq!(ticks(&mut out), [35_000]);
    driver.advance_wall_clock(Duration::from_secs(5));
    assert_eq!(ticks(&mut out), [40_000]);
    // The third cancelled the schedule.
    driver.advance_wall_clock(Duration::from_secs(60));
    assert_eq!(ticks(&mut out), Vec::<i64>::new());
    drop((out, driver));
    assert_eq!(seen.take(), ["closed"], "the processor is closed with its task");
}

#[test]
fn stream_time_punctuations_fire_with_the_first_record_then_at_each_multiple_of_the_interval() {
    let seen = Seen::default();
    let driver = TestDriver::new(ticker(PunctuationType::StreamTime, 100, 100, &seen));
    let mut out = driver.output::<String, String>("out");
    let input = driver.input::<String, String>("in");
    driver.advance_wall_clock(Duration::from_secs(3_600));
    assert_eq!(ticks(&mut out), Vec::<i64>::new(), "wall-clock time does not move stream time");
    input.pipe("a".into(), "x".into(), 250);
    assert_eq!(ticks(&mut out), [250], "due since 0: fires at once, at stream time");
    input.pipe("a".into(), "x".into(), 299);
    input.pipe("a".into(), "x".into(), 120); // out of order: stream time stays 299
    assert_eq!(ticks(&mut out), Vec::<i64>::new());
    input.pipe("a".into(), "x".into(), 300);
    input.pipe("a".into(), "x".into(), 650);
    assert_eq!(ticks(&mut out), [300, 650]);
    assert_eq!(seen.take(), ["in-0@0", "in-0@1", "in-0@2", "in-0@3", "in-0@4"]);
}

/// Counts values per key in its store and forwards the count; panics on the value "boom" and
/// in a punctuation once stream time reaches 1000.
struct Counter {
    counts: Option<KeyValueStoreRef<String, i64>>,
}

impl Processor<String, String> for Counter {
    type KOut = String;
    type VOut = i64;

    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.counts = Some(ctx.key_value_store(&Stores::key_value::<String, i64>("counts")));
        ctx.schedule(Duration::from_millis(1_000), PunctuationType::StreamTime);
    }

    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, record: Record<String, String>) {
        assert_ne!(record.value, "boom", "a processor failed");
        let counts = self.counts.as_ref().unwrap();
        let n = counts.get(&record.key).unwrap_or(0) + 1;
        counts.put(record.key.clone(), n);
        let key = record.key.clone();
        ctx.forward(record.with(key, n));
    }

    fn punctuate(&mut self, _: &mut ProcessorContext<'_, String, i64>, _: &Cancellable, now: i64) {
        assert!(now < 1_000, "a punctuation failed");
    }
}

fn counter() -> Topology {
    counter_with(Stores::key_value::<String, i64>("counts"))
}

fn counter_with(store: streams_runtime::processor::KeyValueStoreBuilder<String, i64>) -> Topology {
    let b = StreamsBuilder::new();
    b.add_state_store(&store);
    b.stream::<String, String>("in").process(|| Counter { counts: None }, &["counts"]).to("out");
    b.build()
}

#[test]
fn a_store_is_written_to_its_changelog_and_failures_follow_the_processing_policy() {
    let topology = counter();
    let describe = topology.describe().to_string();
    assert!(describe.contains("Processor: KSTREAM-PROCESSOR-0000000001 (stores: [counts])"), "{describe}");
    let driver = TestDriver::new(topology);
    let input = driver.input::<String, String>("in");
    input.pipe("a".into(), "x".into(), 10);
    input.pipe("a".into(), "y".into(), 20);
    input.pipe("b".into(), "z".into(), 30);
    assert_eq!(
        driver.output::<String, i64>("out").read_key_values(),
        [("a".into(), 1), ("a".into(), 2), ("b".into(), 1)]
    );
    let changelog = driver.output::<String, i64>("test-counts-changelog").read_all();
    assert_eq!(changelog, [("a".into(), 1, 10), ("a".into(), 2, 20), ("b".into(), 1, 30)]);
    assert_eq!(driver.key_value_store::<String, i64>("counts").unwrap().len(), 2);

    let error = input.try_pipe_record(Record::new("a".into(), "boom".into(), 40)).unwrap_err();
    assert!(matches!(&error, StreamsError::Processing { topic, offset: 3, .. } if topic == "in"), "{error}");
    let error = input.try_pipe_record(Record::new("a".into(), "late".into(), 1_000)).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("the punctuation of processor `KSTREAM-PROCESSOR-0000000001` at 1000 failed: a punctuation failed"), "{message}");

    // Told to go on, the driver skips and counts both.
    let driver = TestDriver::new(counter()).on_processing_error(OnProcessingError::SkipAndCount);
    let input = driver.input::<String, String>("in");
    input.pipe("a".into(), "boom".into(), 40);
    input.pipe("a".into(), "late".into(), 1_000);
    assert_eq!(driver.skipped_records(), 2);
    assert_eq!(driver.output::<String, i64>("out").read_key_values(), [("a".into(), 1)]);
}

#[test]
#[should_panic(expected = "processor `KSTREAM-PROCESSOR-0000000001` has no access to store `counts`")]
fn a_store_not_connected_to_the_processor_is_refused() {
    let b = StreamsBuilder::new();
    b.add_state_store(&Stores::key_value::<String, i64>("counts"));
    b.stream::<String, String>("in").process(|| Counter { counts: None }, &[]).to("out");
    TestDriver::new(b.build()).input::<String, String>("in").pipe("a".into(), "x".into(), 0);
}

#[test]
#[should_panic(expected = "`process` names store `counts`, which is not added")]
fn a_store_not_added_to_the_builder_is_refused_when_the_topology_is_built() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>("in").process(|| Counter { counts: None }, &["counts"]).to("out");
}

#[test]
fn a_processor_that_changes_keys_is_repartitioned_before_an_aggregation() {
    struct FirstLetter;
    impl Processor<String, String> for FirstLetter {
        type KOut = String;
        type VOut = String;
        fn process(&mut self, ctx: &mut ProcessorContext<'_, String, String>, r: Record<String, String>) {
            let (key, value) = (r.value[..1].to_string(), r.value.clone());
            ctx.forward(r.with(key, value));
        }
    }
    let b = StreamsBuilder::new();
    b.stream::<String, String>("in")
        .process(|| FirstLetter, &[])
        .group_by_key()
        .count()
        .to_stream()
        .to("out");
    let topology = b.build();
    assert_eq!(topology.describe().subtopology_count(), 2, "{}", topology.describe());
    let driver = TestDriver::new(topology);
    let input = driver.input::<String, String>("in");
    for w in ["apple", "avocado", "banana"] {
        input.pipe("k".into(), w.into(), 0);
    }
    assert_eq!(
        driver.output::<String, i64>("out").read_key_values(),
        [("a".into(), 1), ("a".into(), 2), ("b".into(), 1)]
    );
}

#[test]
fn a_restarted_application_restores_a_processors_store_from_its_changelog() {
    assert_eq!(
        counts_after_a_restart(counter()),
        [("a".to_string(), 6), ("b".to_string(), 3)].into_iter().collect()
    );
}

#[test]
fn a_store_without_logging_has_no_changelog_and_starts_empty_after_a_restart() {
    let unlogged = counter_with(Stores::key_value::<String, i64>("counts").with_logging_disabled());
    assert!(unlogged.internal_topic_configs("papi").is_empty());
    assert_eq!(
        counts_after_a_restart(unlogged),
        [("a".to_string(), 3), ("b".to_string(), 3)].into_iter().collect()
    );
}

/// Runs `topology` (a `Counter`) over three records of `a` and `b`, then again after three
/// more of `a`: the last count of each key.
fn counts_after_a_restart(topology: Topology) -> std::collections::BTreeMap<String, i64> {
    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic("in", 2).unwrap();
    let send = |key: &str, from: i64| {
        for i in 0..3 {
            let value = format!("v{i}").into_bytes();
            cluster
                .produce("in", None, Some(key.as_bytes().to_vec()), Some(value), from + i, Headers::new())
                .unwrap();
        }
    };
    let run = || {
        let streams =
            KafkaStreams::new(topology.clone(), StreamsConfig::new("papi"), Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    };
    send("a", 0);
    send("b", 0);
    run();
    send("a", 100);
    run();
    let mut last = std::collections::BTreeMap::new();
    for r in cluster.records_in_order("out") {
        let key = String::from_utf8(r.key.unwrap()).unwrap();
        last.insert(key, i64::from_be_bytes(r.value.unwrap().try_into().unwrap()));
    }
    last
}

#[test]
fn wall_clock_punctuations_run_on_the_embedded_runner() {
    struct Beat(Arc<AtomicUsize>);
    impl Processor<String, String> for Beat {
        type KOut = String;
        type VOut = String;
        fn init(&mut self, ctx: &mut InitContext<'_>) {
            ctx.schedule(Duration::from_millis(20), PunctuationType::WallClockTime);
        }
        fn process(&mut self, _: &mut ProcessorContext<'_, String, String>, _: Record<String, String>) {}
        fn punctuate(&mut self, _: &mut ProcessorContext<'_, String, String>, _: &Cancellable, _: i64) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let beats = Arc::new(AtomicUsize::new(0));
    let b = StreamsBuilder::new();
    let counter = beats.clone();
    b.stream::<String, String>("in").process(move || Beat(counter.clone()), &[]).to("out");
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic("in", 1).unwrap();
    cluster.produce("in", None, Some(b"k".to_vec()), Some(b"v".to_vec()), 0, Headers::new()).unwrap();
    let streams =
        Arc::new(KafkaStreams::new(b.build(), StreamsConfig::new("beat"), Arc::new(cluster.clone())));
    let handle = streams_tests::run_in_background(&streams, RunMode::UntilShutdown);
    let started = std::time::Instant::now();
    while beats.load(Ordering::Relaxed) < 3 {
        assert!(started.elapsed() < Duration::from_secs(30), "no wall-clock punctuation in 30 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    streams.shutdown();
    handle.join().unwrap().unwrap();
}

#[test]
fn the_dedupe_example_passes_each_id_once_and_forgets_ids_past_the_retention() {
    use examples::dedupe;
    let driver = TestDriver::new(dedupe::topology());
    let (input, mut out) =
        (driver.input::<String, String>(dedupe::INPUT), driver.output::<String, String>(dedupe::OUTPUT));
    for (id, ts) in [("e1", 0), ("e2", 10), ("e1", 20), ("e2", 30)] {
        input.pipe(id.into(), format!("{id}@{ts}"), ts);
    }
    assert_eq!(out.read_key_values(), [("e1".into(), "e1@0".into()), ("e2".into(), "e2@10".into())]);
    // Stream time moves past e1's retention (not e2's); the purge runs on the wall clock.
    input.pipe("e3".into(), "e3".into(), dedupe::RETENTION_MS + 5);
    input.pipe("e1".into(), "again".into(), dedupe::RETENTION_MS + 6);
    assert_eq!(out.read_key_values(), [("e3".into(), "e3".into())], "not purged before the punctuation");
    driver.advance_wall_clock(dedupe::PURGE_EVERY);
    input.pipe("e1".into(), "again".into(), dedupe::RETENTION_MS + 7);
    input.pipe("e2".into(), "again".into(), dedupe::RETENTION_MS + 8);
    assert_eq!(out.read_key_values(), [("e1".into(), "again".into())]);
    let mut seen = driver.key_value_store::<String, i64>("seen-ids").unwrap();
    seen.sort();
    assert_eq!(
        seen,
        [("e1".into(), dedupe::RETENTION_MS + 7), ("e2".into(), 10), ("e3".into(), dedupe::RETENTION_MS + 5)]
    );
}

#[test]
fn a_fixed_key_processor_keeps_keys_so_an_aggregation_after_it_reads_the_same_partitions() {
    use streams_runtime::processor::{FixedKeyContext, FixedKeyProcessor, FixedKeyRecord};
    /// Forwards each word's length under its key, the word's length stamped 1 ms later.
    struct Length;
    impl FixedKeyProcessor<String, String> for Length {
        type VOut = i64;
        fn process(&mut self, ctx: &mut FixedKeyContext<'_, String, i64>, r: FixedKeyRecord<String, String>) {
            assert!(ctx.record_metadata().is_some());
            let (len, at) = (r.value.len() as i64, r.timestamp + 1);
            ctx.forward(r.with_value(len).with_timestamp(at));
        }
    }
    let b = StreamsBuilder::new();
    b.stream::<String, String>("in")
        .process_values(|| Length, &[])
        .group_by_key()
        .reduce(|a, v| a + v)
        .to_stream()
        .to("out");
    let topology = b.build();
    let describe = topology.describe();
    assert_eq!(describe.subtopology_count(), 1, "{describe}");
    assert!(
        describe.to_string().contains("Processor: KSTREAM-PROCESSVALUES-0000000001 (stores: [])"),
        "{describe}"
    );
    let driver = TestDriver::new(topology);
    let input = driver.input::<String, String>("in");
    input.pipe_all([
        ("a".into(), "xyz".into(), 5),
        ("b".into(), "q".into(), 6),
        ("a".into(), "pq".into(), 7),
    ]);
    assert_eq!(
        driver.output::<String, i64>("out").read_all(),
        [("a".into(), 3, 6), ("b".into(), 1, 7), ("a".into(), 5, 8)]
    );
}

#[test]
fn each_punctuator_call_is_counted_in_the_tasks_debug_metrics() {
    let seen = Seen::default();
    let driver = TestDriver::new(ticker(PunctuationType::WallClockTime, 1_000, 100, &seen))
        .with_recording_level(streams_runtime::RecordingLevel::Debug);
    for _ in 0..4 {
        driver.advance_wall_clock(Duration::from_secs(1));
    }
    let metric = |name: &str| {
        let m = driver
            .metrics()
            .into_iter()
            .find(|m| m.name.group == "stream-task-metrics" && m.name.name == name);
        m.unwrap().value.number().unwrap()
    };
    assert_eq!(metric("punctuate-total"), 4.0);
    assert!(metric("punctuate-latency-avg") >= 0.0);
}

#[test]
fn a_window_store_keeps_its_retention_and_is_restored_after_a_restart() {
    use streams_runtime::processor::{WindowStoreBuilder, WindowStoreRef};
    fn store() -> WindowStoreBuilder<String, i64> {
        Stores::window::<String, i64>("per-second", Duration::from_secs(3), Duration::from_secs(1))
    }
    /// Counts each key's records per second; forwards the count of the record's second and
    /// how many seconds of the key the store still holds (as `count * 100 + live windows`).
    struct PerSecond(Option<WindowStoreRef<String, i64>>);
    impl Processor<String, String> for PerSecond {
        type KOut = String;
        type VOut = i64;
        fn init(&mut self, ctx: &mut InitContext<'_>) {
            self.0 = Some(ctx.window_store(&store()));
        }
        fn process(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, r: Record<String, String>) {
            let s = self.0.as_ref().unwrap();
            let start = r.timestamp - r.timestamp % 1_000;
            let n = s.fetch(&r.key, start).unwrap_or(0) + 1;
            s.put(r.key.clone(), Some(n), start);
            let live = s.fetch_range(&r.key, i64::MIN, i64::MAX).len() as i64;
            let key = r.key.clone();
            ctx.forward(r.with(key, n * 100 + live));
        }
    }
    let topology = || {
        let b = StreamsBuilder::new();
        b.add_state_store(&store());
        b.stream::<String, String>("in").process(|| PerSecond(None), &["per-second"]).to("out");
        b.build()
    };
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic("in", 1).unwrap();
    let send = |ts: i64| {
        cluster.produce("in", None, Some(b"k".to_vec()), Some(b"v".to_vec()), ts, Headers::new()).unwrap();
    };
    let run = || {
        let streams = KafkaStreams::new(topology(), StreamsConfig::new("windows"), Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    };
    for ts in [0, 500, 1_000, 2_000] {
        send(ts);
    }
    run();
    // Restored: second 2 counts on; at second 4 the live windows start after 4 s - 3 s, so
    // seconds 0 and 1 are gone.
    for ts in [2_500, 4_000, 100] {
        send(ts);
    }
    run();
    let out: Vec<i64> = cluster
        .records_in_order("out")
        .into_iter()
        .map(|r| i64::from_be_bytes(r.value.unwrap().try_into().unwrap()))
        .collect();
    // The record at 100 falls into an expired window: its fetch sees none (count 1), its put
    // is dropped (still two live windows).
    assert_eq!(out, [101, 201, 102, 103, 203, 102, 102]);
    let windows = topology().internal_topic_configs("windows");
    assert_eq!(windows[0].1["cleanup.policy"], "compact,delete");
    assert_eq!(windows[0].1["retention.ms"], (86_400_000 + 3_000).to_string());
}

#[test]
fn a_processors_stores_answer_interactive_queries() {
    use serde_json::json;
    use streams_runtime::StoreQuery;
    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic("in", 2).unwrap();
    for (key, n) in [("a", 3), ("b", 1)] {
        for i in 0..n {
            cluster
                .produce("in", None, Some(key.as_bytes().to_vec()), Some(b"v".to_vec()), i, Headers::new())
                .unwrap();
        }
    }
    let streams = KafkaStreams::new(counter(), StreamsConfig::new("papi-iq"), Arc::new(cluster.clone()));
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    assert_eq!(streams.query("counts", &StoreQuery::Get { key: json!("a") }).unwrap(), json!(3));
    assert_eq!(streams.query("counts", &StoreQuery::Get { key: json!("b") }).unwrap(), json!(1));
}

/// A table's value transformer: updates and lookups (a stream joined to the table) both see
/// transformed values; a transformer without state needs no store.
#[test]
fn a_tables_value_transformer_maps_updates_and_lookups() {
    struct Upper;
    impl streams_runtime::processor::ValueTransformerWithKey<String, String> for Upper {
        type VOut = String;
        fn transform(&mut self, key: &String, value: Option<&String>) -> Option<String> {
            value.map(|v| format!("{key}:{}", v.to_uppercase()))
        }
    }
    let b = StreamsBuilder::new();
    let names = b.table::<String, String>("names").transform_values(|| Upper, &[]);
    names.clone().to_stream().to("names-out");
    b.stream::<String, String>("visits").join(names, |visit, name| format!("{visit} by {name}")).to("joined");
    let topology = b.build();
    assert!(topology
        .describe()
        .to_string()
        .contains("Processor: KTABLE-TRANSFORMVALUES-0000000003 (stores: [])"));
    let driver = TestDriver::new(topology);
    driver.input::<String, String>("names").pipe_all([("u1".into(), "ann".into(), 0)]);
    driver
        .input::<String, String>("visits")
        .pipe_all([("u1".into(), "home".into(), 1), ("u2".into(), "cart".into(), 2)]);
    driver.input::<String, Option<String>>("names").pipe_all([("u1".into(), None, 3)]);
    assert_eq!(
        driver.output::<String, Option<String>>("names-out").read_key_values(),
        [("u1".to_string(), Some("u1:ANN".to_string())), ("u1".to_string(), None)]
    );
    assert_eq!(
        driver.output::<String, String>("joined").read_key_values(),
        [("u1".to_string(), "home by u1:ANN".to_string())]
    );
}

/// Sends each record to the child its value names.
struct ToNamedChild;

impl Processor<String, String> for ToNamedChild {
    type KOut = String;
    type VOut = String;

    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, String>, record: Record<String, String>) {
        let child = record.value.clone();
        ctx.forward_to(&child, record);
    }
}

#[test]
fn forward_to_reaches_one_child_by_name_and_an_unknown_name_fails_the_record() {
    let b = StreamsBuilder::new();
    let routed = b.stream::<String, String>("in").process(|| ToNamedChild, &[]);
    routed.clone().named("left").to("lefts");
    routed.named("right").map_values(|v| v.to_uppercase()).to("rights");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, String>("in");
    input.pipe("a".to_string(), "left".to_string(), 1);
    input.pipe("b".to_string(), "right".to_string(), 2);
    let lefts = driver.output::<String, String>("lefts").read_key_values();
    let rights = driver.output::<String, String>("rights").read_key_values();
    assert_eq!(lefts, [("a".to_string(), "left".to_string())]);
    assert_eq!(rights, [("b".to_string(), "RIGHT".to_string())]);
    let err = input
        .try_pipe_record(Record::new("c".to_string(), "nowhere".to_string(), 3))
        .expect_err("no child is named `nowhere`");
    assert!(err.to_string().contains("Unknown downstream node: nowhere"), "{err}");
}

/// Counts each key's records per session of 1 s inactivity, in a session store.
struct SessionCounter {
    sessions: Option<streams_runtime::processor::SessionStoreRef<String, i64>>,
}

fn session_counts() -> streams_runtime::processor::SessionStoreBuilder<String, i64> {
    Stores::session::<String, i64>("visits", Duration::from_secs(60))
}

impl Processor<String, String> for SessionCounter {
    type KOut = String;
    type VOut = i64;

    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.sessions = Some(ctx.session_store(&session_counts()));
    }

    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, record: Record<String, String>) {
        let sessions = self.sessions.as_ref().unwrap();
        let (key, t) = (record.key.clone(), record.timestamp);
        let (mut window, mut count) = (streams_runtime::SessionWindow { start: t, end: t }, 1);
        for (w, n) in sessions.find_sessions(&key, t - 1_000, t + 1_000) {
            window = streams_runtime::SessionWindow {
                start: window.start.min(w.start),
                end: window.end.max(w.end),
            };
            count += n;
            sessions.remove(&key, w);
        }
        sessions.put(key.clone(), window, Some(count));
        ctx.forward(record.with(key, count));
    }
}

#[test]
fn a_processors_session_store_is_restored_after_a_restart() {
    assert_eq!(session_counts_around_a_restart(session_counts()), [1, 2, 3, 1]);
    let topology = session_counter(session_counts());
    let changelog = topology.internal_topic_configs("sessions");
    assert_eq!(changelog.len(), 1);
    assert_eq!(changelog[0].1["cleanup.policy"], "compact,delete");
}

#[test]
fn a_session_store_without_logging_starts_empty_after_a_restart() {
    let unlogged = session_counts().with_logging_disabled();
    assert!(session_counter(unlogged.clone()).internal_topic_configs("sessions").is_empty());
    assert_eq!(session_counts_around_a_restart(unlogged), [1, 2, 1, 1]);
}

fn session_counter(store: streams_runtime::processor::SessionStoreBuilder<String, i64>) -> Topology {
    let b = StreamsBuilder::new();
    b.add_state_store(&store);
    b.stream::<String, String>("in").process(|| SessionCounter { sessions: None }, &["visits"]).to("out");
    b.build()
}

/// The counts `SessionCounter` forwards for hits at 1.0 s and 1.5 s, then, after a restart,
/// 2.0 s and 9.0 s.
fn session_counts_around_a_restart(
    store: streams_runtime::processor::SessionStoreBuilder<String, i64>,
) -> Vec<i64> {
    let topology = || session_counter(store.clone());
    let cluster = MemoryCluster::new();
    cluster.create_topic("in", 1).unwrap();
    let send = |ts: i64| {
        cluster.produce("in", None, Some(b"u".to_vec()), Some(b"hit".to_vec()), ts, Headers::new()).unwrap();
    };
    let run = || {
        let streams =
            KafkaStreams::new(topology(), StreamsConfig::new("sessions"), Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    };
    send(1_000);
    send(1_500);
    run();
    // After the restart, a hit within the session's second joins it if the store came back.
    send(2_000);
    send(9_000);
    run();
    cluster
        .records_in_order("out")
        .into_iter()
        .map(|r| i64::from_be_bytes(r.value.unwrap().try_into().unwrap()))
        .collect()
}
