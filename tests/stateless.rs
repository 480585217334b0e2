//! Every stateless operator, driven through the `TestDriver` and checked on its output.

use std::sync::{Arc, Mutex};

use streams_runtime::prelude::*;

fn words(line: &str) -> Vec<String> {
    line.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

#[test]
fn filter_and_filter_not_keep_and_drop() {
    let b = StreamsBuilder::new();
    let s = b.stream::<String, i64>("in");
    s.clone().filter(|_, v| v % 2 == 0).to("even");
    s.filter_not(|_, v| v % 2 == 0).to("odd");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, i64>("in");
    for (i, v) in [1, 2, 3, 4].into_iter().enumerate() {
        input.pipe(format!("k{i}"), v, i as i64);
    }
    let even = driver.output::<String, i64>("even").read_all();
    let odd = driver.output::<String, i64>("odd").read_all();
    assert_eq!(even, vec![("k1".into(), 2, 1), ("k3".into(), 4, 3)]);
    assert_eq!(odd, vec![("k0".into(), 1, 0), ("k2".into(), 3, 2)]);
}

#[test]
fn map_changes_key_and_value_types() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in").map(|k, v| (v, format!("{k}={v}"))).to("out");
    let driver = TestDriver::new(b.build());
    driver.input::<String, i64>("in").pipe("a".into(), 7, 100);
    assert_eq!(driver.output::<i64, String>("out").read_all(), vec![(7, "a=7".into(), 100)]);
}

#[test]
fn map_values_keeps_key_and_timestamp() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>("in").map_values(|v| v.len() as i32).to("out");
    let driver = TestDriver::new(b.build());
    driver.input::<String, String>("in").pipe("k".into(), "hello".into(), 5);
    assert_eq!(driver.output::<String, i32>("out").read_all(), vec![("k".into(), 5, 5)]);
}

#[test]
fn flat_map_emits_zero_or_more_records() {
    let b = StreamsBuilder::new();
    b.stream::<(), String>("in")
        .flat_map(|_, line| words(&line).into_iter().map(|w| (w.clone(), w.len() as i64)).collect::<Vec<_>>())
        .to("out");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<(), String>("in");
    input.pipe((), "Hello, big world".into(), 1);
    input.pipe((), "...".into(), 2);
    assert_eq!(
        driver.output::<String, i64>("out").read_all(),
        vec![("hello".into(), 5, 1), ("big".into(), 3, 1), ("world".into(), 5, 1)]
    );
}

#[test]
fn flat_map_values_keeps_the_key_for_each_value() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>("in").flat_map_values(|line| words(&line)).to("out");
    let driver = TestDriver::new(b.build());
    driver.input::<String, String>("in").pipe("doc1".into(), "to be".into(), 9);
    assert_eq!(
        driver.output::<String, String>("out").read_all(),
        vec![("doc1".into(), "to".into(), 9), ("doc1".into(), "be".into(), 9)]
    );
}

#[test]
fn select_key_rekeys_from_key_and_value() {
    let b = StreamsBuilder::new();
    b.stream::<(), String>("in").select_key(|_, v| v.to_uppercase()).to("out");
    let driver = TestDriver::new(b.build());
    driver.input::<(), String>("in").pipe((), "abc".into(), 0);
    assert_eq!(driver.output::<String, String>("out").read_key_values(), vec![("ABC".into(), "abc".into())]);
}

#[test]
fn peek_sees_every_record_and_passes_it_on() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in").peek(move |k, v| log.lock().unwrap().push((k.clone(), *v))).to("out");
    let driver = TestDriver::new(b.build());
    driver.input::<String, i64>("in").pipe_all([("a".into(), 1, 0), ("b".into(), 2, 0)]);
    assert_eq!(*seen.lock().unwrap(), vec![("a".to_string(), 1), ("b".to_string(), 2)]);
    assert_eq!(driver.output::<String, i64>("out").read_key_values().len(), 2);
}

#[test]
fn foreach_ends_the_stream() {
    let seen = Arc::new(Mutex::new(0i64));
    let sum = seen.clone();
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in").foreach(move |_, v| *sum.lock().unwrap() += v);
    let driver = TestDriver::new(b.build());
    driver.input::<String, i64>("in").pipe_all([("a".into(), 40, 0), ("b".into(), 2, 0)]);
    assert_eq!(*seen.lock().unwrap(), 42);
    assert!(driver.topics().iter().all(|t| t == "in"), "foreach writes no topic");
}

#[test]
fn merge_interleaves_both_inputs_in_processing_order() {
    let b = StreamsBuilder::new();
    let left = b.stream::<String, String>("left").map_values(|v| format!("L:{v}"));
    let right = b.stream::<String, String>("right");
    left.merge(right).map_values(|v| v.to_uppercase()).to("out");
    let driver = TestDriver::new(b.build());
    driver.input::<String, String>("left").pipe("k".into(), "a".into(), 1);
    driver.input::<String, String>("right").pipe("k".into(), "b".into(), 2);
    driver.input::<String, String>("left").pipe("k".into(), "c".into(), 3);
    assert_eq!(
        driver.output::<String, String>("out").read_all(),
        vec![("k".into(), "L:A".into(), 1), ("k".into(), "B".into(), 2), ("k".into(), "L:C".into(), 3)]
    );
}

#[test]
fn split_sends_each_record_to_the_first_matching_branch_or_the_default() {
    let b = StreamsBuilder::new();
    let mut branches = b
        .stream::<String, i64>("in")
        .split()
        .branch("negative", |_, v| *v < 0)
        .branch("small", |_, v| *v < 10)
        .default_branch("large");
    branches.take("negative").to("negative");
    branches.take("small").map_values(|v| v * 100).to("small");
    branches.take("large").to("large");
    let driver = TestDriver::new(b.build());
    driver.input::<String, i64>("in").pipe_all([
        ("a".into(), -5, 0),
        ("b".into(), 5, 1),
        ("c".into(), 50, 2),
    ]);
    assert_eq!(driver.output::<String, i64>("negative").read_key_values(), vec![("a".into(), -5)]);
    assert_eq!(driver.output::<String, i64>("small").read_key_values(), vec![("b".into(), 500)]);
    assert_eq!(driver.output::<String, i64>("large").read_key_values(), vec![("c".into(), 50)]);
}

#[test]
fn split_without_default_drops_unmatched_records() {
    let b = StreamsBuilder::new();
    let mut branches = b.stream::<String, i64>("in").split().branch("pos", |_, v| *v > 0).no_default_branch();
    branches.take("pos").to("pos");
    let driver = TestDriver::new(b.build());
    driver.input::<String, i64>("in").pipe_all([("a".into(), -1, 0), ("b".into(), 1, 0)]);
    assert_eq!(driver.output::<String, i64>("pos").read_key_values(), vec![("b".into(), 1)]);
}

#[test]
#[should_panic(expected = "no branch `nope` left")]
fn taking_an_unknown_branch_names_the_known_ones() {
    let b = StreamsBuilder::new();
    let mut branches = b.stream::<String, i64>("in").split().branch("pos", |_, v| *v > 0).no_default_branch();
    let _ = branches.take("nope");
}

#[test]
fn to_dynamic_chooses_the_topic_per_record() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>("in").to_dynamic(|k, _| format!("out-{k}"));
    let driver = TestDriver::new(b.build());
    driver.input::<String, String>("in").pipe_all([("x".into(), "1".into(), 0), ("y".into(), "2".into(), 0)]);
    assert_eq!(driver.output::<String, String>("out-x").read_key_values(), vec![("x".into(), "1".into())]);
    assert_eq!(driver.output::<String, String>("out-y").read_key_values(), vec![("y".into(), "2".into())]);
}

#[test]
fn a_shared_stream_feeds_several_pipelines_once() {
    let count = Arc::new(Mutex::new(0));
    let c = count.clone();
    let b = StreamsBuilder::new();
    let s = b.stream::<String, i64>("in").peek(move |_, _| *c.lock().unwrap() += 1).share();
    s.clone().to("a");
    s.map_values(|v| v + 1).to("b");
    let driver = TestDriver::new(b.build());
    driver.input::<String, i64>("in").pipe("k".into(), 1, 0);
    assert_eq!(*count.lock().unwrap(), 1, "the shared chain runs once per record");
    assert_eq!(driver.output::<String, i64>("a").read_key_values(), vec![("k".into(), 1)]);
    assert_eq!(driver.output::<String, i64>("b").read_key_values(), vec![("k".into(), 2)]);
}

#[test]
fn several_source_topics_and_a_pattern() {
    let b = StreamsBuilder::new();
    b.stream_topics::<String, String>(&["a", "b"]).map_values(|v| format!("ab:{v}")).to("out");
    b.stream_pattern::<String, String>("logs-.*").map_values(|v| format!("logs:{v}")).to("out");
    let driver = TestDriver::new(b.build());
    driver.input::<String, String>("a").pipe("k".into(), "1".into(), 0);
    driver.input::<String, String>("b").pipe("k".into(), "2".into(), 0);
    driver.input::<String, String>("logs-web").pipe("k".into(), "3".into(), 0);
    // A topic the pattern does not match as a whole is unknown, as in Kafka's driver.
    let unknown =
        driver.input::<String, String>("xlogs-web").try_pipe_record(Record::new("k".into(), "4".into(), 0));
    assert_eq!(
        unknown.unwrap_err().to_string(),
        "unknown topic `xlogs-web`: the topology reads `a`, `b`, the pattern `logs-.*`"
    );
    assert_eq!(
        driver.output::<String, String>("out").read_key_values(),
        vec![("k".into(), "ab:1".into()), ("k".into(), "ab:2".into()), ("k".into(), "logs:3".into())]
    );
}

#[test]
fn headers_travel_with_the_record() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>("in").map_values(|v| v + "!").to("out");
    let driver = TestDriver::new(b.build());
    let mut record = Record::new("k".to_string(), "v".to_string(), 3);
    record.headers.add("trace", Some(b"abc".to_vec()));
    driver.input::<String, String>("in").pipe_record(record);
    let out = driver.output::<String, String>("out").read_records();
    assert_eq!(out[0].headers.last("trace"), Some(Some(&b"abc"[..])));
    assert_eq!(out[0].value, "v!");
}

#[test]
fn null_keys_and_tombstones_are_values_of_option_codecs() {
    let b = StreamsBuilder::new();
    b.stream::<Option<String>, Option<String>>("in")
        .map_values(|v| v.map(|s| s.len() as i64))
        .to_with::<Option<String>, Option<i64>>("out");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<Option<String>, Option<String>>("in");
    input.pipe(None, Some("abc".into()), 0);
    input.pipe(Some("k".into()), None, 1);
    let out = driver.output::<Option<String>, Option<i64>>("out");
    let raw = out.raw();
    assert_eq!(raw[0].key, None);
    assert_eq!(raw[1].value, None, "a tombstone stays null on the wire");
    let mut out = out;
    assert_eq!(out.read_key_values(), vec![(None, Some(3)), (Some("k".into()), None)]);
}

#[test]
fn a_long_chain_of_every_stateless_operator() {
    let b = StreamsBuilder::new();
    b.stream::<(), String>("in")
        .flat_map_values(|line| words(&line))
        .filter(|_, w| w != "the")
        .filter_not(|_, w| w.len() < 2)
        .select_key(|_, w| w.clone())
        .map_values(|w| w.len() as i64)
        .map(|k, n| (k.to_uppercase(), n * 10))
        .flat_map(|k, n| vec![(k.clone(), n), (k, n + 1)])
        .peek(|_, _| {})
        .to("out");
    let driver = TestDriver::new(b.build());
    driver.input::<(), String>("in").pipe((), "The cat a dog".into(), 0);
    assert_eq!(
        driver.output::<String, i64>("out").read_key_values(),
        vec![("CAT".into(), 30), ("CAT".into(), 31), ("DOG".into(), 30), ("DOG".into(), 31)]
    );
}
