//! The `TestDriver` itself: partitions, ordering, wall clock, topics between sub-topologies,
//! and what happens to records that cannot be decoded.

use std::time::Duration;

use streams_runtime::partitioner::partition_for_key;
use streams_runtime::prelude::*;
use streams_runtime::{RawRecord, StreamsConfig, StreamsError};

fn passthrough() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>("in").map_values(|v| v.to_uppercase()).to("out");
    b.build()
}

#[test]
fn keyed_records_land_in_the_partition_murmur2_gives_their_key() {
    let driver = TestDriver::new(passthrough()).with_partitions(4);
    let input = driver.input::<String, String>("in");
    let keys = ["MMM", "ABT", "ABBV", "ACN", "ATVI", "AYI", "ADBE", "AAP"];
    for k in keys {
        input.pipe(k.to_string(), k.to_lowercase(), 0);
    }
    let mut out = driver.output::<String, String>("out");
    let mut seen = 0;
    for p in 0..4 {
        for r in out.partition(p) {
            assert_eq!(partition_for_key(r.key.as_bytes(), 4), p, "{} in partition {p}", r.key);
            assert_eq!(r.value, r.key);
            seen += 1;
        }
    }
    assert_eq!(seen, keys.len());
    // Several partitions are used, and reading everything keeps the order of writing.
    let used: std::collections::BTreeSet<u32> = out.raw().iter().map(|r| r.partition).collect();
    assert!(used.len() > 1, "{used:?}");
    let order: Vec<String> = out.read_key_values().into_iter().map(|(k, _)| k).collect();
    assert_eq!(order, keys.map(String::from).to_vec());
}

#[test]
fn null_keys_are_spread_round_robin() {
    let b = StreamsBuilder::new();
    b.stream::<(), String>("in").to("out");
    let driver = TestDriver::new(b.build()).with_partitions(3);
    driver.input::<(), String>("in").pipe_all((0..6).map(|i| ((), i.to_string(), i)));
    let parts: Vec<u32> = driver.output::<(), String>("out").raw().iter().map(|r| r.partition).collect();
    assert_eq!(parts, vec![0, 1, 2, 0, 1, 2]);
}

#[test]
fn output_reads_consume_and_offsets_count_per_partition() {
    let driver = TestDriver::new(passthrough());
    let input = driver.input::<String, String>("in");
    let mut out = driver.output::<String, String>("out");
    input.pipe("a".into(), "x".into(), 1);
    assert_eq!(out.read_all(), vec![("a".into(), "X".into(), 1)]);
    assert!(out.is_empty());
    input.pipe("a".into(), "y".into(), 2);
    assert!(!out.is_empty());
    assert_eq!(out.read_all(), vec![("a".into(), "Y".into(), 2)]);
    let offsets: Vec<u64> = out.raw().iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![0, 1]);
}

#[test]
fn records_written_to_a_topic_read_by_another_subtopology_are_processed_too() {
    let b = StreamsBuilder::new();
    b.stream::<(), String>("lines")
        .flat_map_values(|l| l.split(' ').map(String::from).collect::<Vec<_>>())
        .select_key(|_, w| w.clone())
        .to("words");
    b.stream::<String, String>("words").map_values(|w| w.len() as i64).to("lengths");
    let topology = b.build();
    assert_eq!(topology.describe().subtopology_count(), 2);
    let driver = TestDriver::new(topology).with_partitions(2);
    driver.input::<(), String>("lines").pipe((), "hello big world".into(), 7);
    let mut lengths = driver.output::<String, i64>("lengths").read_all();
    lengths.sort();
    assert_eq!(lengths, vec![("big".into(), 3, 7), ("hello".into(), 5, 7), ("world".into(), 5, 7)]);
}

#[test]
fn wall_clock_starts_at_zero_and_advances_on_demand() {
    let driver = TestDriver::new(passthrough());
    assert_eq!(driver.wall_clock(), 0);
    driver.advance_wall_clock(Duration::from_secs(90));
    assert_eq!(driver.wall_clock(), 90_000);
}

fn corrupt_then_good(driver: &TestDriver) -> Result<(), StreamsError> {
    let input = driver.input::<String, i64>("in");
    input.pipe("a".into(), 1, 0);
    let bad = input.try_pipe_raw(Some(b"b".to_vec()), Some(b"not a long".to_vec()), 1, Headers::new());
    input.pipe("c".into(), 3, 2);
    bad
}

fn longs() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in").map_values(|v| v * 10).to("out");
    b.build()
}

#[test]
fn by_default_a_record_that_cannot_be_decoded_stops_with_its_position() {
    let driver = TestDriver::new(longs());
    let err = corrupt_then_good(&driver).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("value of the record at in-0 offset 1")
            && text.contains("`i64`")
            && text.contains("expects 8 bytes"),
        "{text}"
    );
    match err {
        StreamsError::Deserialization { topic, partition, offset, .. } => {
            assert_eq!((topic.as_str(), partition, offset), ("in", 0, 1));
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn skip_and_count_goes_on_and_counts() {
    let driver = TestDriver::new(longs()).on_decode_error(OnDecodeError::SkipAndCount);
    corrupt_then_good(&driver).unwrap();
    assert_eq!(driver.skipped_records(), 1);
    let out = driver.output::<String, i64>("out").read_key_values();
    assert_eq!(out, vec![("a".into(), 10), ("c".into(), 30)]);
}

#[test]
fn dead_letter_keeps_the_original_bytes_and_says_why() {
    let driver = TestDriver::new(longs()).on_decode_error(OnDecodeError::DeadLetter("in-dlq".into()));
    corrupt_then_good(&driver).unwrap();
    assert_eq!(driver.skipped_records(), 1);
    assert_eq!(driver.output::<String, i64>("out").read_key_values().len(), 2);
    let dlq: Vec<RawRecord> = driver.output::<Bytes, Bytes>("in-dlq").raw();
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].key.as_deref(), Some(&b"b"[..]));
    assert_eq!(dlq[0].value.as_deref(), Some(&b"not a long"[..]));
    let header = |k: &str| String::from_utf8(dlq[0].headers.last(k).unwrap().unwrap().to_vec()).unwrap();
    assert_eq!(header("__streams.errors.topic"), "in");
    assert_eq!(header("__streams.errors.partition"), "0");
    assert_eq!(header("__streams.errors.offset"), "1");
    assert!(header("__streams.errors.message").contains("expects 8 bytes"));
}

#[test]
fn sources_of_one_subtopology_must_be_copartitioned() {
    let b = StreamsBuilder::new();
    let left = b.stream::<String, String>("left");
    left.merge(b.stream::<String, String>("right")).to("out");
    let driver =
        TestDriver::new(b.build()).with_topic_partitions("left", 2).with_topic_partitions("right", 3);
    let err = driver
        .input::<String, String>("left")
        .try_pipe_record(Record::new("k".into(), "v".into(), 0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "topics `left` (2 partitions) and `right` (3 partitions) must have the same partition count"
    );
}

fn doubled() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in").map_values(|v| v * 2).to("out");
    b.build()
}

/// A negative timestamp means "none" (an old producer): as Kafka's `FailOnInvalidTimestamp`,
/// an error naming the record, unless another extractor is configured.
#[test]
fn a_negative_timestamp_fails_unless_an_extractor_says_otherwise() {
    let driver = TestDriver::new(doubled());
    driver.input::<String, i64>("in").pipe("a".into(), 1, 5);
    let error =
        driver.input::<String, i64>("in").try_pipe_record(Record::new("b".into(), 2, -1)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the record at in-0 offset 1 has an invalid (negative) timestamp -1; set `default.timestamp.extractor` \
         to `LogAndSkipOnInvalidTimestamp` or `UsePartitionTimeOnInvalidTimestamp` to process such records"
    );

    let driver = TestDriver::new(doubled()).on_invalid_timestamp(OnInvalidTimestamp::SkipAndCount);
    let input = driver.input::<String, i64>("in");
    input.pipe_all([("a".into(), 1, 5), ("b".into(), 2, -1), ("c".into(), 3, 7)]);
    assert_eq!(driver.output::<String, i64>("out").read_all(), vec![("a".into(), 2, 5), ("c".into(), 6, 7)]);
    assert_eq!(driver.skipped_records(), 1);

    let driver = TestDriver::new(doubled()).on_invalid_timestamp(OnInvalidTimestamp::UsePartitionTime);
    let input = driver.input::<String, i64>("in");
    assert!(input.try_pipe_record(Record::new("z".into(), 0, -5)).is_err(), "no partition time yet");
    input.pipe_all([("a".into(), 1, 9), ("b".into(), 2, 4), ("c".into(), 3, -1)]);
    let out = driver.output::<String, i64>("out").read_all();
    assert_eq!(out, vec![("a".into(), 2, 9), ("b".into(), 4, 4), ("c".into(), 6, 9)]);
}

#[test]
fn the_timestamp_extractor_is_configured_by_kafkas_class_names() {
    let mut config = StreamsConfig::new("app");
    assert_eq!(config.on_invalid_timestamp().unwrap(), OnInvalidTimestamp::Fail);
    config.set(
        "default.timestamp.extractor",
        "org.apache.kafka.streams.processor.LogAndSkipOnInvalidTimestamp",
    );
    assert_eq!(config.on_invalid_timestamp().unwrap(), OnInvalidTimestamp::SkipAndCount);
    config.set("default.timestamp.extractor", "UsePartitionTimeOnInvalidTimestamp");
    assert_eq!(config.on_invalid_timestamp().unwrap(), OnInvalidTimestamp::UsePartitionTime);
    config.set("default.timestamp.extractor", "WallclockTimestampExtractor");
    assert!(config.on_invalid_timestamp().is_err());
}

/// Divides 100 by the value: a zero makes the closure panic (an `ArithmeticException` in Java).
fn dividing() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in").map_values(|v| 100 / v).to("out");
    b.build()
}

fn records_with_a_zero() -> Vec<(String, i64, i64)> {
    vec![("a".into(), 5, 1), ("b".into(), 0, 2), ("c".into(), 4, 3)]
}

/// A panicking closure is a processing error of its record (KIP-1033): by default it fails
/// naming the record; `LogAndContinue` skips and counts it; a dead-letter topic gets its bytes.
#[test]
fn a_panicking_closure_fails_its_record_or_is_skipped_or_dead_lettered_as_configured() {
    let driver = TestDriver::new(dividing());
    let input = driver.input::<String, i64>("in");
    input.pipe("a".into(), 5, 1);
    let error = input.try_pipe_record(Record::new("b".into(), 0, 2)).unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("processing the record at in-0 offset 1 failed: attempt to divide by zero;")
            && text.contains("`processing.exception.handler`"),
        "{text}"
    );
    input.pipe("c".into(), 4, 3);
    assert_eq!(
        driver.output::<String, i64>("out").read_key_values(),
        vec![("a".into(), 20), ("c".into(), 25)]
    );

    let driver = TestDriver::new(dividing()).on_processing_error(OnProcessingError::SkipAndCount);
    driver.input::<String, i64>("in").pipe_all(records_with_a_zero());
    assert_eq!(driver.skipped_records(), 1);
    assert_eq!(
        driver.output::<String, i64>("out").read_key_values(),
        vec![("a".into(), 20), ("c".into(), 25)]
    );

    let driver = TestDriver::new(dividing()).on_processing_error(OnProcessingError::DeadLetter("dlq".into()));
    driver.input::<String, i64>("in").pipe_all(records_with_a_zero());
    assert_eq!(driver.output::<String, i64>("out").read_key_values().len(), 2);
    let dlq = driver.output::<Bytes, Bytes>("dlq").raw();
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].value.as_deref(), Some(&0i64.to_be_bytes()[..]));
    let header = |k: &str| String::from_utf8(dlq[0].headers.last(k).unwrap().unwrap().to_vec()).unwrap();
    assert_eq!(header("__streams.errors.exception"), "ProcessingException");
    assert_eq!(header("__streams.errors.offset"), "1");
    assert!(header("__streams.errors.message").contains("divide by zero"));
}

#[test]
fn the_processing_exception_handler_is_configured_by_kafkas_class_names() {
    let mut config = StreamsConfig::new("app");
    assert_eq!(config.on_processing_error().unwrap(), OnProcessingError::Fail);
    config.set(
        "processing.exception.handler",
        "org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler",
    );
    assert_eq!(config.on_processing_error().unwrap(), OnProcessingError::SkipAndCount);
    config.set("errors.dead.letter.queue.topic.name", "dlq");
    assert_eq!(config.on_processing_error().unwrap(), OnProcessingError::DeadLetter("dlq".into()));
    config.set("errors.dead.letter.queue.topic.name", "").set("processing.exception.handler", "Ignore");
    assert!(config.on_processing_error().is_err());
}

/// Kafka's `TopologyTestDriver` throws "Unknown topic: …" for a record piped into a topic the
/// topology does not read (`TestTopicsTest`); a misspelt input topic must not pass silently
/// with empty output.
#[test]
fn piping_into_a_topic_the_topology_does_not_read_is_refused() {
    let driver = TestDriver::new(passthrough());
    let refused =
        driver.input::<String, String>("inn").try_pipe_record(Record::new("k".into(), "v".into(), 0));
    match refused {
        Err(StreamsError::Usage(message)) => {
            assert_eq!(message, "unknown topic `inn`: the topology reads `in`");
        }
        other => panic!("expected a usage error, got {other:?}"),
    }
    // An output topic is not an input either, and nothing was written to either topic.
    assert!(driver
        .input::<String, String>("out")
        .try_pipe_record(Record::new("k".into(), "v".into(), 0))
        .is_err());
    assert!(driver.topics().is_empty(), "{:?}", driver.topics());
    // The topic it reads still works.
    driver.input::<String, String>("in").pipe("k".into(), "v".into(), 0);
    assert_eq!(
        driver.output::<String, String>("out").read_key_values(),
        vec![("k".to_string(), "V".to_string())]
    );
}

/// Per user, how many items their records listed (`flat_map_values` keeps the key, so no
/// repartition: one record's items reach the count within the record).
fn items_per_user() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>("lists")
        .flat_map_values(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .group_by_key()
        .count()
        .to_stream()
        .to("counts");
    b.build()
}

#[test]
fn with_the_record_cache_a_record_updates_each_key_once_as_kafkas_driver_does() {
    let counts = |driver: TestDriver| {
        let lists = driver.input::<String, String>("lists");
        lists.pipe("ann".to_string(), "a b c".to_string(), 5);
        lists.pipe("bob".to_string(), "d".to_string(), 6);
        lists.pipe("ann".to_string(), "e".to_string(), 7);
        driver.output::<String, i64>("counts").read_all()
    };
    let owned =
        |rows: &[(&str, i64, i64)]| rows.iter().map(|(k, n, t)| (k.to_string(), *n, *t)).collect::<Vec<_>>();
    // With the cache (on by default, 10 MiB, as in Kafka's driver), the updates one record
    // makes come out once: the driver flushes after every record, as Kafka's
    // `TopologyTestDriver` commits.
    let cached = counts(TestDriver::new(items_per_user()));
    assert_eq!(cached, owned(&[("ann", 3, 5), ("bob", 1, 6), ("ann", 4, 7)]));
    // Without it, every update comes out.
    let uncached = counts(TestDriver::new(items_per_user()).with_cache_max_bytes(0));
    assert_eq!(uncached, owned(&[("ann", 1, 5), ("ann", 2, 5), ("ann", 3, 5), ("bob", 1, 6), ("ann", 4, 7)]));
}
